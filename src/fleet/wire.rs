//! The fleet's entries as the stream holds them, and the strict reading
//! of what another host (or anyone with write access to the stream) wrote.
//!
//! An entry is a flat map of short text fields (`v`, `op`, `host`, `set`,
//! `net`, `end`, `by`). Reading is strict because the stream is input
//! from the network: every field has a size limit, names are a small
//! alphabet, an address must be written in its canonical form (so that
//! text such as `1.2.3.4/32; flush ruleset` never passes), networks wider
//! than [`WIDEST_V4`]/[`WIDEST_V6`] are refused (a `0.0.0.0/0` from a
//! compromised host must not ban the world), and ends must be plausible.
//! A refused entry is logged with its ID and skipped; nothing of it goes
//! further.

use crate::config::fleet::{is_name, NAME_MAX};
use crate::vocab::{Network, Until};

/// The format's version, written in each entry (`v`).
pub const VERSION: &str = "1";
/// Longest field value read (bytes); longer is refused.
pub const FIELD_MAX: usize = 256;
/// Most fields an entry may have.
pub const FIELDS_MAX: usize = 16;
/// Longest `by` (who decided, on the origin host).
pub const BY_MAX: usize = 200;
/// The widest networks the fleet applies.
pub const WIDEST_V4: u8 = 8;
pub const WIDEST_V6: u8 = 32;
/// The latest end accepted (seconds since the epoch: the year 9999).
pub const END_MAX: u64 = 253_402_300_799;

/// An entry's fields as read: (name, value), in order.
pub type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// What an entry asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Ban { until: Until },
    Unban,
}

/// One entry of the stream, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wire {
    pub op: Op,
    /// The host that decided it.
    pub host: String,
    /// The set's shared name.
    pub set: String,
    pub net: Network,
    /// Who decided it on that host (`rule sshd#3`, `api alice`...).
    pub by: String,
}

impl Wire {
    /// The fields to write, in order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let (op, end) = match self.op {
            Op::Ban { until } => ("ban", end_secs(until).to_string()),
            Op::Unban => ("unban", String::new()),
        };
        let mut fields = vec![
            ("v", VERSION.to_owned()),
            ("op", op.to_owned()),
            ("host", self.host.clone()),
            ("set", self.set.clone()),
            ("net", self.net.to_string()),
        ];
        if matches!(self.op, Op::Ban { .. }) {
            fields.push(("end", end));
        }
        fields.push(("by", self.by.clone()));
        fields
    }

    /// Reads an entry's fields; why it is refused otherwise (never with
    /// the raw bytes in full: a line in the log is bounded).
    pub fn read(fields: &[(Vec<u8>, Vec<u8>)]) -> Result<Wire, String> {
        if fields.len() > FIELDS_MAX {
            return Err(format!("{} fields (at most {FIELDS_MAX})", fields.len()));
        }
        let get = |name: &str| -> Result<Option<&str>, String> {
            let Some((_, value)) = fields.iter().find(|(k, _)| k == name.as_bytes()) else { return Ok(None) };
            if value.len() > FIELD_MAX {
                return Err(format!("field {name:?} is {} bytes long (at most {FIELD_MAX})", value.len()));
            }
            std::str::from_utf8(value).map(Some).map_err(|_| format!("field {name:?} is not UTF-8"))
        };
        let need = |name: &str| get(name)?.ok_or_else(|| format!("no field {name:?}"));
        match need("v")? {
            VERSION => {}
            other => return Err(format!("version {:?} is not {VERSION:?}", shorten(other))),
        }
        let host = need("host")?;
        if !is_name(host) {
            return Err(format!(
                "host {:?} is not a name (1 to {NAME_MAX} letters, digits, '.', '_', '-')",
                shorten(host)
            ));
        }
        let set = need("set")?;
        if !is_name(set) {
            return Err(format!(
                "set {:?} is not a name (1 to {NAME_MAX} letters, digits, '.', '_', '-')",
                shorten(set)
            ));
        }
        let net_text = need("net")?;
        let net = match Network::parse(net_text) {
            Ok(net) if net.to_string() == net_text => net,
            Ok(net) => return Err(format!("net {:?} is not written as {net}", shorten(net_text))),
            Err(e) => return Err(format!("net {:?}: {e}", shorten(net_text))),
        };
        let widest = if net.is_ipv6() { WIDEST_V6 } else { WIDEST_V4 };
        if net.prefix_len() < widest {
            return Err(format!("net {net} is wider than the fleet applies (/{widest} at most)"));
        }
        let by = get("by")?.unwrap_or_default();
        if by.len() > BY_MAX || by.chars().any(char::is_control) {
            return Err(format!("by {:?} is longer than {BY_MAX} bytes or holds control characters", shorten(by)));
        }
        let op = match need("op")? {
            "ban" => {
                let end = need("end")?;
                match end.parse::<u64>() {
                    Ok(0) => Op::Ban { until: Until::Forever },
                    Ok(s) if s <= END_MAX && end.bytes().all(|b| b.is_ascii_digit()) => {
                        Op::Ban { until: Until::At(s * 1_000_000) }
                    }
                    _ => return Err(format!("end {:?} is not 0 or seconds since the epoch", shorten(end))),
                }
            }
            "unban" => Op::Unban,
            other => return Err(format!("op {:?} is not \"ban\" nor \"unban\"", shorten(other))),
        };
        Ok(Wire { op, host: host.to_owned(), set: set.to_owned(), net, by: by.to_owned() })
    }
}

/// An end as the stream writes it: seconds since the epoch, rounded up
/// (never shorter), `0` for good.
pub fn end_secs(until: Until) -> u64 {
    match until {
        Until::Forever => 0,
        Until::At(t) => t.div_ceil(1_000_000).max(1),
    }
}

/// At most 40 characters of a refused value, for the log line.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
    }

    fn ban(net: &str) -> Vec<(&'static str, String)> {
        vec![
            ("v", "1".into()),
            ("op", "ban".into()),
            ("host", "web-1".into()),
            ("set", "ban4".into()),
            ("net", net.into()),
            ("end", "1765000000".into()),
            ("by", "rule sshd#3".into()),
        ]
    }

    fn read(fields: &[(&str, String)]) -> Result<Wire, String> {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Wire::read(&entry(&pairs))
    }

    #[test]
    fn written_entries_read_back() {
        for op in [Op::Ban { until: Until::At(1_765_000_000_000_001) }, Op::Ban { until: Until::Forever }, Op::Unban] {
            let wire = Wire {
                op,
                host: "web-1".into(),
                set: "ban4".into(),
                net: "198.51.100.0/24".parse().unwrap(),
                by: "api alice".into(),
            };
            let fields: Vec<(&str, String)> = wire.fields();
            let back = read(&fields).unwrap();
            let expected = match wire.op {
                // Rounded up to the second: never shorter.
                Op::Ban { until: Until::At(_) } => {
                    Wire { op: Op::Ban { until: Until::At(1_765_000_001_000_000) }, ..wire }
                }
                _ => wire,
            };
            assert_eq!(back, expected);
        }
    }

    #[test]
    fn hostile_entries_are_refused_with_a_reason() {
        let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
            (ban("1.2.3.4; flush ruleset"), "is not an IP address"),
            (ban("1.2.3.4/32 "), "is not written as"),
            (ban(" 1.2.3.4"), "is not written as"),
            (ban("0.0.0.0/0"), "wider than the fleet applies"),
            (ban("2001::/16"), "wider than the fleet applies"),
            (ban("2001:db8::/16"), "is not written as 2001::/16"),
            (ban("999.1.1.1"), "is not an IP address"),
            (ban(&"1".repeat(300)), "bytes long"),
        ];
        for (fields, why) in cases {
            let e = read(&fields).unwrap_err();
            assert!(e.contains(why), "{fields:?}: {e}");
        }
        let mut f = ban("1.2.3.4");
        f[3].1 = "ban4 } ; drop".into();
        assert!(read(&f).unwrap_err().contains("is not a name"));
        let mut f = ban("1.2.3.4");
        f[5].1 = "-5".into();
        assert!(read(&f).unwrap_err().contains("end"));
        let mut f = ban("1.2.3.4");
        f[5].1 = "99999999999999999".into();
        assert!(read(&f).unwrap_err().contains("end"));
        let mut f = ban("1.2.3.4");
        f[0].1 = "2".into();
        assert!(read(&f).unwrap_err().contains("version"));
        let mut f = ban("1.2.3.4");
        f.retain(|(k, _)| *k != "host");
        assert!(read(&f).unwrap_err().contains("no field \"host\""));
        let mut f = ban("1.2.3.4");
        f[1].1 = "flush".into();
        assert!(read(&f).unwrap_err().contains("op"));
        let many: Vec<(&str, String)> = (0..20).map(|_| ("x", String::new())).collect();
        assert!(read(&many).unwrap_err().contains("fields"));
        let mut f = ban("1.2.3.4");
        f[6].1 = "a\nb".into();
        assert!(read(&f).unwrap_err().contains("control"));
    }

    #[test]
    fn canonical_addresses_pass() {
        for net in ["192.0.2.7", "192.0.2.0/24", "2001:db8::1", "2001:db8::/48", "10.0.0.0/8"] {
            assert_eq!(read(&ban(net)).unwrap().net, net.parse().unwrap(), "{net}");
        }
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "x".repeat(100);
        assert_eq!(shorten(&long).len(), 43);
    }
}
