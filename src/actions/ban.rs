//! `action_nftBan` and `action_ipsetBan`: an address for a firewall set.
//!
//! The address is parsed from the field here, once: from this point on it is
//! an `IpAddr`, never text from the log, and its family (not the presence of
//! a colon, as in Pyruse) picks the IPv4 or the IPv6 set. An IPv4-mapped IPv6
//! address is banned as the IPv4 address it stands for.

use super::ActionError;
use crate::effect::Effect;
use crate::entry::Entry;
use crate::fields::{FieldId, FieldTable};
use crate::vocab::{parse_address, refusal, BanRequest, Lifetime, Network, Origin, Refusal, SetRef};

#[derive(Debug)]
pub struct Ban {
    ip: FieldId,
    set_v4: SetRef,
    set_v6: SetRef,
    lifetime: Lifetime,
    /// This step's place, which every ban it makes carries.
    origin: Origin,
}

impl Ban {
    /// The two sets are of the same backend (the configuration sees to it).
    pub fn new(ip: FieldId, set_v4: SetRef, set_v6: SetRef, lifetime: Lifetime, origin: Origin) -> Ban {
        Ban { ip, set_v4, set_v6, lifetime, origin }
    }

    /// The field holding the address to ban.
    pub fn field(&self) -> FieldId {
        self.ip
    }

    pub fn effect(&self, entry: &Entry, fields: &FieldTable, never_ban: &[Network]) -> Result<Effect, ActionError> {
        let text = entry.get(self.ip).ok_or_else(|| ActionError::missing(fields, self.ip))?;
        // An address as logged, or a network that `action_network` wrote.
        let net = match parse_address(text) {
            Some(ip) => Network::host(ip),
            None => Network::target(text).map_err(|_| ActionError::NotAnAddress {
                field: fields.name(self.ip).to_owned(),
                value: text.to_owned(),
            })?,
        };
        match refusal(never_ban, net) {
            Some(Refusal::NeverBan) => return Err(ActionError::NeverBan(net)),
            Some(Refusal::NotAPeer) => return Err(ActionError::NotAPeer(net)),
            // Only the ban service knows the allow sets.
            Some(Refusal::Allowed) | None => {}
        }
        let set = if net.is_ipv6() { &self.set_v6 } else { &self.set_v4 };
        let (lifetime, origin) = (self.lifetime, self.origin.clone());
        Ok(Effect::Ban(BanRequest { net, set: set.clone(), lifetime, origin, replace: false }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_comes_from_the_parsed_address() {
        let mut fields = FieldTable::new();
        let ip = fields.intern("thatIP");
        let set = |p: &str| SetRef::parse_nft(p).unwrap();
        let origin = Origin::Rule { chain: "c".into(), step: 2 };
        let ban = Ban::new(ip, set("ip t v4"), set("ip6 t v6"), Lifetime::from_seconds(Some(60)), origin.clone());
        let mut e = Entry::new(&fields);
        e.set(ip, "::ffff:192.0.2.7");
        match ban.effect(&e, &fields, &[]).unwrap() {
            Effect::Ban(ban) => {
                assert_eq!(ban.net.to_string(), "192.0.2.7");
                assert_eq!(ban.set.to_string(), "ip t v4");
                assert_eq!(ban.lifetime.seconds(), Some(60));
                assert_eq!(ban.origin, origin);
            }
            other => panic!("{other:?}"),
        }
        e.set(ip, "2001:db8::7");
        assert!(matches!(ban.effect(&e, &fields, &[]).unwrap(), Effect::Ban(b) if b.set.to_string() == "ip6 t v6"));
        e.set(ip, "1.2.3.4; nft flush ruleset");
        let err = ban.effect(&e, &fields, &[]).unwrap_err();
        assert!(err.to_string().contains("not an IP address"), "{err}");
        e.remove(ip);
        assert_eq!(ban.effect(&e, &fields, &[]).unwrap_err().to_string(), r#"field "thatIP" is absent"#);
        e.set(ip, "0.0.0.0");
        assert!(ban.effect(&e, &fields, &[]).unwrap_err().to_string().contains("never a peer's address"));
        e.set(ip, "::ffff:127.0.0.1");
        let never = [Network::parse("127.0.0.0/8").unwrap()];
        let err = ban.effect(&e, &fields, &never).unwrap_err();
        assert_eq!(
            err.to_string(),
            "127.0.0.1 is on the never-ban list (neverBan, or one of this host's addresses): not banned"
        );
    }
}
