//! `action_nftBan` and `action_ipsetBan`: an address for a firewall set.
//!
//! The address is parsed from the field here, once: from this point on it is
//! an `IpAddr`, never text from the log, and its family (not the presence of
//! a colon, as in Pyruse) picks the IPv4 or the IPv6 set. An IPv4-mapped IPv6
//! address is banned as the IPv4 address it stands for.

use super::{ActionError, State};
use crate::effect::Effect;
use crate::entry::Entry;
use crate::fields::{FieldId, FieldTable};
use crate::vocab::reason::MESSAGE_MAX;
use crate::vocab::{parse_address, refusal, BanRequest, Lifetime, Network, Origin, Reason, Refusal, SetRef};

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

    /// The ban of the address in the entry, with its reason: the entry's
    /// time and `MESSAGE` (when the rules read it; the daemon adds the
    /// cursor, and the message when the rules did not read it), and the
    /// counter raised for this entry, if any (see `counter::LastRaise`).
    pub fn effect(&self, entry: &Entry, fields: &FieldTable, state: &State) -> Result<Effect, ActionError> {
        let never_ban: &[Network] = &state.never_ban;
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
        let message = fields.get("MESSAGE").and_then(|id| entry.get(id));
        let reason = Reason {
            time_us: Some(entry.time_us()).filter(|&t| t > 0),
            message: message.map(|m| Reason::shorten(m, MESSAGE_MAX)),
            counter: state.counters.last_raise(),
            ..Reason::default()
        };
        let request = BanRequest::new(net, set.clone(), self.lifetime, self.origin.clone());
        Ok(Effect::Ban(request.with_reason(reason)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::NeverBan;

    #[test]
    fn family_comes_from_the_parsed_address() {
        let mut fields = FieldTable::new();
        let ip = fields.intern("thatIP");
        let set = |p: &str| SetRef::parse_nft(p).unwrap();
        let origin = Origin::Rule { chain: "c".into(), step: 2 };
        let ban = Ban::new(ip, set("ip t v4"), set("ip6 t v6"), Lifetime::from_seconds(Some(60)), origin.clone());
        let mut e = Entry::new(&fields);
        e.set(ip, "::ffff:192.0.2.7");
        let state = State::default();
        match ban.effect(&e, &fields, &state).unwrap() {
            Effect::Ban(ban) => {
                assert_eq!(ban.net.to_string(), "192.0.2.7");
                assert_eq!(ban.set.to_string(), "ip t v4");
                assert_eq!(ban.lifetime.seconds(), Some(60));
                assert_eq!(ban.origin, origin);
            }
            other => panic!("{other:?}"),
        }
        e.set(ip, "2001:db8::7");
        assert!(matches!(ban.effect(&e, &fields, &state).unwrap(), Effect::Ban(b) if b.set.to_string() == "ip6 t v6"));
        e.set(ip, "1.2.3.4; nft flush ruleset");
        let err = ban.effect(&e, &fields, &state).unwrap_err();
        assert!(err.to_string().contains("not an IP address"), "{err}");
        e.remove(ip);
        assert_eq!(ban.effect(&e, &fields, &state).unwrap_err().to_string(), r#"field "thatIP" is absent"#);
        e.set(ip, "0.0.0.0");
        assert!(ban.effect(&e, &fields, &state).unwrap_err().to_string().contains("never a peer's address"));
        e.set(ip, "::ffff:127.0.0.1");
        let never = NeverBan::new(vec![Network::parse("127.0.0.0/8").unwrap()], &[]);
        let err = ban.effect(&e, &fields, &State { never_ban: never, ..State::default() }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "127.0.0.1 is on the never-ban list (neverBan, or one of this host's addresses): not banned"
        );
    }
}

#[cfg(test)]
mod reason_tests {
    use super::*;
    use crate::actions::CounterRaise;

    #[test]
    fn the_reason_names_the_entry_and_the_counter_raised_for_it() {
        let mut fields = FieldTable::new();
        let (ip, message) = (fields.intern("thatIP"), fields.intern("MESSAGE"));
        let set = SetRef::parse_nft("ip t v4").unwrap();
        let origin = Origin::Rule { chain: "sshd".into(), step: 3 };
        let ban = Ban::new(ip, set.clone(), set, Lifetime::Forever, origin);
        let mut state = State::default();
        let category = state.counters.category("sshd");
        let raise = CounterRaise::new(category, ip, None, None);
        let mut e = Entry::new(&fields);
        e.set_time_us(1_733_600_000_000_000);
        e.set(ip, "192.0.2.7");
        e.set(message, &format!("Failed password\u{1b}[2J {}", "x".repeat(500)));
        raise.run(&mut e, &fields, &mut state.counters).unwrap();
        raise.run(&mut e, &fields, &mut state.counters).unwrap();
        let Effect::Ban(request) = ban.effect(&e, &fields, &state).unwrap() else { panic!("a ban") };
        let reason = request.reason.expect("a reason");
        assert_eq!(reason.time_us, Some(1_733_600_000_000_000));
        let text = reason.message.as_deref().unwrap();
        assert!(text.starts_with("Failed password\\u{1b}[2J xx") && text.ends_with('…'), "{text}");
        let counter = reason.counter.as_ref().unwrap();
        assert_eq!((&*counter.name, &*counter.key, counter.count), ("sshd", "192.0.2.7", 2));
        // The next entry, banned without a raise, names no counter.
        state.counters.new_entry();
        let Effect::Ban(request) = ban.effect(&e, &fields, &state).unwrap() else { panic!("a ban") };
        assert_eq!(request.reason.unwrap().counter, None);
    }
}
