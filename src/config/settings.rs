//! The top-level keys other than `actions`: where state goes, how to decode
//! 8-bit text, mail settings, the old tools' commands.
//!
//! Unknown top-level keys are allowed (Pyruse kept them for modules); one
//! that looks like a misspelt known key gets a warning.

use std::path::PathBuf;

use super::args::Args;
use super::json::Json;
use super::problem::{nearest, nearest_distance, Location, Problems};
use crate::entry::TextDecoder;
use crate::vocab::{Network, NeverBan};

pub const DEFAULT_STORAGE: &str = "/var/lib/banwarden";
pub const DEFAULT_IDENTIFIER: &str = "banwarden";

/// Keys this module reads; `actions` is read by the workflow compiler.
pub const KNOWN_KEYS: [&str; 17] = [
    "api",
    "resp",
    "fleet",
    "control",
    "metrics",
    "actions",
    "storage",
    "debug",
    "8bit-message-encoding",
    "email",
    "nftBan",
    "ipsetBan",
    "syslogIdentifier",
    "neverBan",
    "neverBanLocal",
    "journalOtherMachines",
    "counterMaxKeys",
];

/// Networks never banned unless the configuration says otherwise.
pub const DEFAULT_NEVER_BAN: [&str; 2] = ["127.0.0.0/8", "::1/128"];

#[derive(Clone, Debug, PartialEq)]
pub struct EmailSettings {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// Program and arguments; the message is written to its standard input.
    pub sendmail: Vec<String>,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            from: "banwarden".into(),
            to: vec!["hostmaster".into()],
            subject: "banwarden notification".into(),
            sendmail: vec!["/usr/sbin/sendmail".into(), "-t".into()],
        }
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// Directory for ban stores, counters, the pending report, the cursor.
    pub storage: PathBuf,
    /// `storage` was in the file (otherwise it is the default).
    pub storage_given: bool,
    pub debug: bool,
    /// Decodes values that are not UTF-8 (`8bit-message-encoding`).
    pub decoder: TextDecoder,
    pub encoding_name: String,
    /// `SYSLOG_IDENTIFIER` of what `action_log` writes. A Pyruse user whose
    /// recidive chains match `pyruse` sets this to `pyruse`.
    pub syslog_identifier: String,
    pub email: EmailSettings,
    /// Addresses no ban may touch (`neverBan`, plus with `neverBanLocal` the
    /// host's own addresses, read once when the configuration is loaded; a
    /// daemon then follows them, see [`crate::localaddr`]).
    pub never_ban: NeverBan,
    /// `neverBanLocal`.
    pub never_ban_local: bool,
    /// `journalOtherMachines`: the system journal source also reads the
    /// journals of other machines (containers linked in by systemd-nspawn,
    /// files gathered by systemd-journal-remote), whose trusted fields
    /// their own root writes. Off by default, as with journalctl.
    pub journal_other_machines: bool,
    /// Most keys each counter holds (`counterMaxKeys`); `None`: an equal
    /// share of `actions::counter::DEFAULT_TOTAL_KEYS`.
    pub counter_max_keys: Option<usize>,
    /// `api`: the REST servers (see [`super::api`]); `None`: none run.
    pub api: Option<super::api::ApiSettings>,
    /// `resp`: the Redis-protocol servers; `None`: none run.
    pub resp: Option<super::api::RespSettings>,
    /// `fleet`: the bans shared with other hosts through Redis (see
    /// [`super::fleet`]); `None`: none are.
    pub fleet: Option<super::fleet::FleetSettings>,
    /// `control`: the socket `banwarden status` asks (see [`super::control`]).
    pub control: super::control::ControlSettings,
    /// `metrics`: the OpenMetrics endpoint; `None`: none.
    pub metrics: Option<super::control::MetricsSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            storage: PathBuf::from(DEFAULT_STORAGE),
            storage_given: false,
            debug: false,
            decoder: TextDecoder::Latin1,
            encoding_name: "iso-8859-1".into(),
            syslog_identifier: DEFAULT_IDENTIFIER.into(),
            email: EmailSettings::default(),
            never_ban: NeverBan::from(default_never_ban()),
            never_ban_local: true,
            journal_other_machines: false,
            counter_max_keys: None,
            api: None,
            resp: None,
            fleet: None,
            control: super::control::ControlSettings::default(),
            metrics: None,
        }
    }
}

/// Reads the settings from the resolved top-level pairs.
pub fn read(top: &[(&str, &Json)], problems: &mut Problems) -> Settings {
    let mut s = Settings::default();
    let mut never_ban = default_never_ban();
    for &(key, value) in top {
        let here = Location::key(key);
        match key {
            "actions" => {}
            "storage" => match value {
                Json::String(dir) if !dir.is_empty() => {
                    s.storage = PathBuf::from(dir);
                    s.storage_given = true;
                }
                other => problems.error(&here, format!("expected a directory path, found {}", other.type_name())),
            },
            "debug" => match value {
                Json::Bool(b) => s.debug = *b,
                other => problems.error(&here, format!("expected true or false, found {}", other.type_name())),
            },
            "journalOtherMachines" => match value {
                Json::Bool(b) => s.journal_other_machines = *b,
                other => problems.error(&here, format!("expected true or false, found {}", other.type_name())),
            },
            "8bit-message-encoding" => match value.as_str().map(|n| (n, TextDecoder::for_label(n))) {
                Some((name, Some(decoder))) => {
                    s.decoder = decoder;
                    s.encoding_name = name.to_owned();
                }
                Some((name, None)) => problems.error(&here, format!("unknown encoding {name:?}")),
                None => problems.error(&here, format!("expected an encoding name, found {}", value.type_name())),
            },
            "syslogIdentifier" => match value {
                Json::String(id) if !id.is_empty() && !id.contains(['\n', '\0']) => s.syslog_identifier = id.clone(),
                _ => problems.error(&here, "expected a non-empty one-line string"),
            },
            "email" => s.email = read_email(value, here, problems),
            "neverBan" => match value {
                Json::Array(items) => {
                    never_ban.clear();
                    for (i, item) in items.iter().enumerate() {
                        match item.as_str().map(Network::parse) {
                            Some(Ok(net)) => never_ban.push(net),
                            Some(Err(e)) => problems.error(&here, format!("item {i}: {e}")),
                            None => problems
                                .error(&here, format!("item {i}: expected a network, found {}", item.type_name())),
                        }
                    }
                }
                other => problems.error(&here, format!("expected a list of networks, found {}", other.type_name())),
            },
            "neverBanLocal" => match value {
                Json::Bool(b) => s.never_ban_local = *b,
                other => problems.error(&here, format!("expected true or false, found {}", other.type_name())),
            },
            "counterMaxKeys" => match value {
                Json::Number(n) if n.as_u64().is_some_and(|n| n > 0) => {
                    s.counter_max_keys = n.as_u64().map(|n| usize::try_from(n).unwrap_or(usize::MAX));
                }
                other => problems
                    .error(&here, format!("expected a whole number of keys greater than 0, found {}", describe(other))),
            },
            "api" => s.api = super::api::read_api(value, here, problems),
            "resp" => s.resp = super::api::read_resp(value, here, problems),
            "fleet" => s.fleet = super::fleet::read_fleet(value, here, problems),
            "control" => s.control = super::control::read_control(value, here, problems),
            "metrics" => s.metrics = super::control::read_metrics(value, here, problems),
            "nftBan" => {
                problems.warn(&here, "banwarden writes nftables sets through netlink; the \"nft\" command is not used")
            }
            "ipsetBan" => {
                problems.warn(&here, "banwarden writes ipset sets through netlink; the \"ipset\" command is not used")
            }
            other => {
                let near = nearest(other, KNOWN_KEYS, 1);
                if let Some(near) = near.first().filter(|n| close(other, n)) {
                    problems.warn(&here, format!("unknown key, kept for modules; did you mean {near:?}?"));
                }
            }
        }
    }
    let local = match s.never_ban_local {
        true => crate::localaddr::current().unwrap_or_else(|e| {
            problems.warn(
                &Location::key("neverBanLocal"),
                format!("{e}: this host's own addresses are not on the never-ban list"),
            );
            Vec::new()
        }),
        false => Vec::new(),
    };
    s.never_ban = NeverBan::new(never_ban, &local);
    s
}

pub(super) fn describe(value: &Json) -> String {
    match value {
        Json::Number(n) => n.to_string(),
        other => other.type_name().to_owned(),
    }
}

fn default_never_ban() -> Vec<Network> {
    DEFAULT_NEVER_BAN.iter().map(|n| Network::parse(n).expect("valid default")).collect()
}

/// Whether an unknown key is a likely misspelling of a known one.
fn close(a: &str, b: &str) -> bool {
    nearest_distance(a, b) <= 2
}

fn read_email(value: &Json, here: Location, problems: &mut Problems) -> EmailSettings {
    let mut email = EmailSettings::default();
    let mut args = Args::new(Some(value), here, problems);
    if let Some(from) = args.opt_string("from", problems) {
        email.from = from.to_owned();
    }
    if let Some(to) = args.opt_string_list("to", problems) {
        email.to = to.iter().map(|t| t.to_string()).collect();
    }
    if let Some(subject) = args.opt_string("subject", problems) {
        email.subject = subject.to_owned();
    }
    if let Some(cmd) = args.opt_string_list("sendmail", problems) {
        match cmd.is_empty() {
            true => problems.error(&args.at("sendmail"), "the command must not be empty"),
            false => email.sendmail = cmd.iter().map(|c| c.to_string()).collect(),
        }
    }
    args.finish(problems);
    email
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::json::dedup_pairs;

    fn settings(text: &str) -> (Settings, Problems) {
        let json: Json = serde_json::from_str(text).unwrap();
        let Json::Object(pairs) = &json else { panic!() };
        let (top, _) = dedup_pairs(pairs);
        let mut p = Problems::default();
        (read(&top, &mut p), p)
    }

    #[test]
    fn defaults() {
        let (s, p) = settings("{}");
        assert!(p.errors.is_empty() && p.warnings.is_empty());
        assert_eq!(s.storage, PathBuf::from("/var/lib/banwarden"));
        assert_eq!(s.syslog_identifier, "banwarden");
        assert_eq!(s.email.sendmail, ["/usr/sbin/sendmail", "-t"]);
    }

    #[test]
    fn pyruse_top_level_keys() {
        let (s, p) = settings(
            r#"{"storage": "/var/lib/pyruse", "debug": true, "8bit-message-encoding": "cp1252",
                "email": {"from": "pyruse@example.org", "to": ["a@example.org", "b@example.org"],
                          "subject": "Pyruse", "sendmail": ["/usr/bin/sendmail", "-t"]},
                "nftBan": {"nft": ["/usr/bin/nft"]}, "ipsetBan": {"ipset": ["/sbin/ipset", "-exist"]},
                "syslogIdentifier": "pyruse", "my_module_setting": {"x": 1}}"#,
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.warnings.len(), 2, "only the nft and ipset commands are worth a warning: {:?}", p.warnings);
        assert_eq!(s.storage, PathBuf::from("/var/lib/pyruse"));
        assert!(s.debug);
        assert_eq!(s.decoder.decode(b"\x80"), "\u{20ac}");
        assert_eq!(s.email.to, ["a@example.org", "b@example.org"]);
        assert_eq!(s.syslog_identifier, "pyruse");
    }

    #[test]
    fn bad_values_are_all_reported() {
        let (_, p) = settings(
            r#"{"storage": 5, "debug": "yes", "8bit-message-encoding": "klingon",
                "email": {"to": "root"}, "storge": "/x"}"#,
        );
        let errors: Vec<String> = p.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[2].contains("unknown encoding \"klingon\""));
        assert!(errors[3].contains(r#"key "email", arg "to": expected a list of strings, found a string"#));
        assert!(p.warnings[0].to_string().contains(r#"did you mean "storage"?"#));
    }

    #[test]
    fn counter_max_keys() {
        assert_eq!(settings("{}").0.counter_max_keys, None);
        let (s, p) = settings(r#"{"counterMaxKeys": 50000}"#);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(s.counter_max_keys, Some(50_000));
        for bad in ["0", "-1", "1.5", "\"many\""] {
            let (_, p) = settings(&format!(r#"{{"counterMaxKeys": {bad}}}"#));
            assert_eq!(p.errors.len(), 1, "{bad}");
            assert!(
                p.errors[0].to_string().contains("expected a whole number of keys greater than 0"),
                "{:?}",
                p.errors
            );
        }
    }

    #[test]
    fn never_ban_list_and_local_addresses() {
        let (s, p) = settings(r#"{"neverBan": ["10.0.0.0/8", "2001:db8::/32"], "neverBanLocal": false}"#);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(*s.never_ban, [Network::parse("10.0.0.0/8").unwrap(), Network::parse("2001:db8::/32").unwrap()]);
        assert!(!s.never_ban_local);
        // By default: loopback, and this host's own addresses.
        let (s, _) = settings("{}");
        assert!(s.never_ban_local);
        assert!(s.never_ban.iter().any(|n| n.contains("127.0.0.1".parse().unwrap())));
        for local in crate::localaddr::current().unwrap() {
            assert!(s.never_ban.iter().any(|n| n.contains(local)), "{local}");
        }
        let (_, p) = settings(r#"{"neverBan": ["10.0.0.0/33", 5], "neverBanLocal": "yes"}"#);
        assert_eq!(p.errors.len(), 3, "{:?}", p.errors);
    }

    #[test]
    fn other_machines_journals_are_read_only_when_asked() {
        let (s, _) = settings("{}");
        assert!(!s.journal_other_machines);
        let (s, p) = settings(r#"{"journalOtherMachines": true}"#);
        assert!(p.errors.is_empty() && p.warnings.is_empty(), "{:?} {:?}", p.errors, p.warnings);
        assert!(s.journal_other_machines);
        let (_, p) = settings(r#"{"journalOtherMachines": "yes"}"#);
        let errors: Vec<String> = p.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("journalOtherMachines") && errors[0].contains("expected true or false"),
            "{errors:?}"
        );
    }
}
