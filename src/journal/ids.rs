//! The structured fields banwarden puts on the lines it writes to the
//! journal, beside `MESSAGE` (which never changes: recidive rules read it).
//!
//! Each kind of line has a `MESSAGE_ID`, a 128-bit ID made once with
//! `systemd-id128 new` as systemd's own catalog IDs are, and never changed:
//! `journalctl MESSAGE_ID=…` finds every line of that kind whatever its
//! wording. Lines about one ban also carry `BANWARDEN_IP` (the address or
//! network, as `list` prints it), `BANWARDEN_SET` (the set's path) and,
//! when a rule is behind them, `BANWARDEN_CHAIN` (the chain's label), so
//! `journalctl BANWARDEN_IP=192.0.2.7` tells an address's story.
//! doc/journal-fields.md lists every ID with its meaning (a test holds the
//! two together).

/// One kind of line, by its `MESSAGE_ID`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MessageId {
    pub id: &'static str,
    /// A short name, for the documentation's table.
    pub name: &'static str,
}

/// A line a rule's `action_log` wrote.
pub const ACTION_LOG: MessageId = MessageId { id: "6ee2896be58a4fab998dfb227dd50419", name: "action_log" };
/// A ban the daemon could not make, or made only in part (refused,
/// not stored, not in the kernel).
pub const BAN_FAILED: MessageId = MessageId { id: "5d015e01b1094a01928f24f7482f8627", name: "ban failed" };
/// A ban lifted at the request of the API or of another host of the fleet.
pub const UNBANNED: MessageId = MessageId { id: "78ab898cfed143bc8d35e29f493eeb0e", name: "unbanned" };
/// A step of a rule that failed on an entry (a filter that could not
/// judge, an action that failed, such as a ban of a never-ban address).
pub const STEP_ERROR: MessageId = MessageId { id: "a22c0ba1dce04910a4f49ffe4da67032", name: "step error" };
/// A ban an API client asked for, with the reason it gave.
pub const API_BAN: MessageId = MessageId { id: "2918af3cd76b44ab8656514481fb9ca9", name: "API ban" };

/// Every ID, for the documentation's test.
pub const ALL: [MessageId; 5] = [ACTION_LOG, BAN_FAILED, UNBANNED, STEP_ERROR, API_BAN];

/// The `SYSLOG_IDENTIFIER` of the diagnostics sent natively (with fields).
/// Not `banwarden`: rules that read banwarden's own `action_log` lines back
/// pick them by `SYSLOG_IDENTIFIER=banwarden` and `_TRANSPORT=journal` (as
/// examples/recidive.json does), and a diagnostic, which may quote text
/// from a log line or an API client, must never pass for one of them.
pub const DIAG_IDENTIFIER: &str = "banwarden-diag";

pub const IP: &str = "BANWARDEN_IP";
pub const SET: &str = "BANWARDEN_SET";
pub const CHAIN: &str = "BANWARDEN_CHAIN";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_128_bit_hex() {
        for (i, m) in ALL.iter().enumerate() {
            assert_eq!(m.id.len(), 32, "{}", m.name);
            assert!(m.id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{}", m.name);
            assert!(ALL[..i].iter().all(|o| o.id != m.id && o.name != m.name), "{} twice", m.name);
        }
    }

    #[test]
    fn every_id_is_documented() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/journal-fields.md")).unwrap();
        for m in ALL {
            assert!(doc.contains(&format!("`{}`", m.id)), "doc/journal-fields.md lacks {} ({})", m.id, m.name);
        }
        for field in [IP, SET, CHAIN, DIAG_IDENTIFIER] {
            assert!(doc.contains(field), "doc/journal-fields.md lacks {field}");
        }
    }
}
