//! `action_nftBan` and `action_ipsetBan`: an address for a firewall set.
//!
//! The address is parsed from the field here, once: from this point on it is
//! an `IpAddr`, never text from the log, and its family (not the presence of
//! a colon, as in Pyruse) picks the IPv4 or the IPv6 set. An IPv4-mapped IPv6
//! address is banned as the IPv4 address it stands for.

use std::net::IpAddr;

use super::ActionError;
use crate::effect::{Backend, Effect};
use crate::entry::Entry;
use crate::fields::{FieldId, FieldTable};
use crate::filters::networks::{parse_address, Network};
use crate::firewall::nft::NftSet;

#[derive(Debug)]
pub struct Ban {
    backend: Backend,
    ip: FieldId,
    set_v4: String,
    set_v6: String,
    ban_seconds: Option<u64>,
}

impl Ban {
    /// `set_v4`/`set_v6` are already normalised (see [`nft_set_path`]).
    pub fn new(backend: Backend, ip: FieldId, set_v4: String, set_v6: String, ban_seconds: Option<u64>) -> Ban {
        Ban { backend, ip, set_v4, set_v6, ban_seconds }
    }

    pub fn effect(&self, entry: &Entry, fields: &FieldTable, never_ban: &[Network]) -> Result<Effect, ActionError> {
        let text = entry.get(self.ip).ok_or_else(|| ActionError::missing(fields, self.ip))?;
        let ip = parse_address(text).ok_or_else(|| ActionError::NotAnAddress {
            field: fields.name(self.ip).to_owned(),
            value: text.to_owned(),
        })?;
        if never_ban.iter().any(|net| net.contains(ip)) {
            return Err(ActionError::NeverBan(ip));
        }
        let set = match ip {
            IpAddr::V4(_) => &self.set_v4,
            IpAddr::V6(_) => &self.set_v6,
        };
        Ok(Effect::Ban { backend: self.backend, ip, set: set.clone(), ban_seconds: self.ban_seconds })
    }
}

/// Normalises an nft set path to `family table set`. A two-word path means
/// family `ip`, as nft assumes. The same parse the firewall uses, so that a
/// path the configuration accepts is one the kernel can be asked about.
pub fn nft_set_path(path: &str) -> Result<String, String> {
    NftSet::parse(path).map(|set| set.to_string())
}

/// A warning when a set of that family cannot filter the address family it
/// is meant for. Not an error: an `ip` table may hold an IPv6 set (it only
/// never sees IPv6 packets), and Pyruse's documentation wrote the IPv6 set of
/// an `ip6` table as a two-word path, which nft reads as family `ip`.
pub fn nft_family_warning(normalised: &str, for_ipv6: bool) -> Option<String> {
    let family = normalised.split(' ').next()?;
    match (family, for_ipv6) {
        ("ip", true) => Some(format!(
            "{normalised:?} is an IPv6 set in a table of family \"ip\", which only sees IPv4 packets; \
             a two-word path means family ip: write \"ip6 ...\" if the table is ip6"
        )),
        ("ip6", false) => {
            Some(format!("{normalised:?} is an IPv4 set in a table of family \"ip6\", which only sees IPv6 packets"))
        }
        _ => None,
    }
}

/// Checks an ipset set name (ipset(8): at most 31 characters).
pub fn ipset_name(name: &str) -> Result<String, String> {
    if name.is_empty() || name.len() > 31 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{name:?} is not an ipset name: 1 to 31 characters, no blanks"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_paths() {
        assert_eq!(nft_set_path("Inet4 mail_ban").unwrap(), "ip Inet4 mail_ban");
        assert_eq!(nft_set_path("ip6  Inet6 mail_ban").unwrap(), "ip6 Inet6 mail_ban");
        assert_eq!(nft_set_path("inet filter ban6").unwrap(), "inet filter ban6");
        assert!(nft_set_path("bogus t s").unwrap_err().contains("unknown nftables family"));
        assert!(nft_set_path("one").is_err());
        assert!(nft_set_path("a b c d").is_err());
        assert!(nft_family_warning("ip Inet6 mail_ban", true).unwrap().contains("only sees IPv4"));
        assert!(nft_family_warning("ip6 t s", false).is_some());
        assert!(nft_family_warning("inet t s", false).is_none());
        assert!(nft_family_warning("ip6 t s", true).is_none());
        assert!(ipset_name("ssh_ban").is_ok());
        assert!(ipset_name("has space").is_err());
        assert!(ipset_name(&"x".repeat(32)).is_err());
    }

    #[test]
    fn family_comes_from_the_parsed_address() {
        let mut fields = FieldTable::new();
        let ip = fields.intern("thatIP");
        let ban = Ban::new(Backend::Nft, ip, "ip t v4".into(), "ip6 t v6".into(), Some(60));
        let mut e = Entry::new(&fields);
        e.set(ip, "::ffff:192.0.2.7");
        match ban.effect(&e, &fields, &[]).unwrap() {
            Effect::Ban { ip, set, ban_seconds, .. } => {
                assert_eq!(ip.to_string(), "192.0.2.7");
                assert_eq!(set, "ip t v4");
                assert_eq!(ban_seconds, Some(60));
            }
            other => panic!("{other:?}"),
        }
        e.set(ip, "2001:db8::7");
        assert!(matches!(ban.effect(&e, &fields, &[]).unwrap(), Effect::Ban { set, .. } if set == "ip6 t v6"));
        e.set(ip, "1.2.3.4; nft flush ruleset");
        let err = ban.effect(&e, &fields, &[]).unwrap_err();
        assert!(err.to_string().contains("not an IP address"), "{err}");
        e.remove(ip);
        assert_eq!(ban.effect(&e, &fields, &[]).unwrap_err().to_string(), r#"field "thatIP" is absent"#);
        e.set(ip, "::ffff:127.0.0.1");
        let never = [Network::parse("127.0.0.0/8").unwrap()];
        let err = ban.effect(&e, &fields, &never).unwrap_err();
        assert_eq!(
            err.to_string(),
            "127.0.0.1 is on the never-ban list (neverBan, or one of this host's addresses): not banned"
        );
    }
}
