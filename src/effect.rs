//! Effects: what actions ask of the outside world.
//!
//! Actions never write to the journal, the kernel or a mailer themselves: they
//! push an [`Effect`] that the caller drains. The daemon executes effects in
//! batches (one netlink batch for a burst of bans); `replay` prints them as JSON
//! lines. This keeps every action testable without root and without I/O.

use std::fmt;

use serde_json::{json, Value};

use crate::vocab::{Backend, BanRequest};

/// Syslog severity, as `action_log`'s `level` names it (RFC 5424 numbers).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

impl Level {
    pub const NAMES: [&'static str; 8] = ["EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG"];

    pub fn from_name(name: &str) -> Option<Level> {
        use Level::*;
        let all = [Emerg, Alert, Crit, Err, Warning, Notice, Info, Debug];
        Self::NAMES.iter().position(|n| *n == name).map(|i| all[i])
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The journal's `PRIORITY` value.
    pub fn priority(self) -> u8 {
        self as u8
    }
}

/// `action_dailyReport` sections.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReportLevel {
    Warn,
    Info,
    Other,
}

impl ReportLevel {
    pub const NAMES: [&'static str; 3] = ["WARN", "INFO", "OTHER"];

    pub fn from_name(name: &str) -> Option<ReportLevel> {
        match name {
            "WARN" => Some(ReportLevel::Warn),
            "INFO" => Some(ReportLevel::Info),
            "OTHER" => Some(ReportLevel::Other),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Which occurrence times a daily-report row keeps.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Details {
    All,
    None,
    First,
    Last,
    FirstLast,
}

impl Details {
    pub const NAMES: [&'static str; 5] = ["ALL", "NONE", "FIRST", "LAST", "FIRSTLAST"];

    pub fn from_name(name: &str) -> Option<Details> {
        use Details::*;
        let all = [All, None, First, Last, FirstLast];
        Self::NAMES.iter().position(|n| *n == name).map(|i| all[i])
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Something the outside world should see happen.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Write `message` to the journal at `level`; `chain`: the label of
    /// the rule's chain (given to the journal as `BANWARDEN_CHAIN`).
    Log { level: Level, message: String, chain: Option<std::sync::Arc<str>> },
    /// Ban an address (see [`crate::bans`]).
    Ban(BanRequest),
    /// Send a mail with the configured `email` settings.
    Email { subject: Option<String>, message: String },
    /// Add a line to the pending daily report, at the entry's time.
    Report { level: ReportLevel, details: Details, message: String, time_us: u64 },
}

impl Effect {
    /// The JSON object `replay` prints for this effect.
    pub fn to_json(&self) -> Value {
        match self {
            Effect::Log { level, message, .. } => {
                json!({"action": "action_log", "level": level.name(), "message": message})
            }
            Effect::Ban(ban) => {
                let backend = ban.set.backend();
                let set_key = match backend {
                    Backend::Nft => "set",
                    Backend::Ipset => "ipset",
                };
                // banSeconds is null for a permanent ban.
                json!({
                    "action": backend.action_name(),
                    "IP": ban.net.to_string(),
                    set_key: ban.set.to_string(),
                    "banSeconds": ban.lifetime.seconds(),
                })
            }
            Effect::Email { subject, message } => {
                json!({"action": "action_email", "subject": subject, "message": message})
            }
            Effect::Report { level, details, message, time_us } => json!({
                "action": "action_dailyReport",
                "level": level.name(),
                "details": details.name(),
                "message": message,
                "time": crate::time::format_local(*time_us),
            }),
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_names_and_priorities() {
        assert_eq!(Level::from_name("WARNING"), Some(Level::Warning));
        assert_eq!(Level::from_name("warning"), None, "Pyruse's level names are upper case");
        assert_eq!(Level::Info.priority(), 6);
        assert_eq!(Level::Emerg.name(), "EMERG");
        assert_eq!(Details::from_name("FIRSTLAST"), Some(Details::FirstLast));
        assert_eq!(ReportLevel::from_name("OTHER"), Some(ReportLevel::Other));
    }

    use crate::vocab::{Lifetime, Origin, SetRef};

    #[test]
    fn ban_json_matches_the_documented_shape() {
        let origin = Origin::Rule { chain: "c".into(), step: 0 };
        let e = Effect::Ban(BanRequest {
            net: "192.0.2.7".parse().unwrap(),
            set: SetRef::parse_nft("ip Inet4 ssh_ban").unwrap(),
            lifetime: Lifetime::from_seconds(Some(86400)),
            origin: origin.clone(),
            replace: false,
            reason: None,
        });
        assert_eq!(
            e.to_json().to_string(),
            r#"{"action":"action_nftBan","IP":"192.0.2.7","set":"ip Inet4 ssh_ban","banSeconds":86400}"#
        );
        let permanent = Effect::Ban(BanRequest {
            net: "2001:db8::1".parse().unwrap(),
            set: SetRef::parse_ipset("ssh_ban6").unwrap(),
            lifetime: Lifetime::Forever,
            origin,
            replace: false,
            reason: None,
        });
        assert_eq!(
            permanent.to_json().to_string(),
            r#"{"action":"action_ipsetBan","IP":"2001:db8::1","ipset":"ssh_ban6","banSeconds":null}"#
        );
    }

    #[test]
    fn log_json() {
        let e = Effect::Log { level: Level::Notice, message: "Ban from SSH for 192.0.2.7".into(), chain: None };
        assert_eq!(
            e.to_json().to_string(),
            r#"{"action":"action_log","level":"NOTICE","message":"Ban from SSH for 192.0.2.7"}"#
        );
    }
}
