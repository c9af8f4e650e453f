//! `action_network`: the network an address field belongs to, written to
//! another field, so that the steps after it count and ban by network.
//!
//! An attacker with an IPv6 /64 (what every VPS gets) has 2^64 addresses:
//! counting failures per address, it never reaches a threshold by rotating
//! through them. `{"IP": "thatIP", "save": "thatNet"}` writes the /64 of an
//! IPv6 address (`2001:db8:1:2::/64`) and an IPv4 address as itself; a
//! counter `for` `thatNet` then counts per network, and a ban of `thatNet`
//! bans the network (its set must take networks). `ipv4Prefix` and
//! `ipv6Prefix` choose other lengths (`ipv4Prefix: 24` for a /24). A full
//! length writes the bare address, so the field reads as the address
//! itself in messages and in the store.

use super::ActionError;
use crate::entry::Entry;
use crate::fields::{FieldId, FieldTable};
use crate::vocab::{parse_address, Network};

/// What most admins want: an IPv4 address is one host, an IPv6 /64 is one
/// subscriber.
pub const DEFAULT_IPV4_PREFIX: u8 = 32;
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

#[derive(Debug)]
pub struct NetworkOf {
    ip: FieldId,
    save: FieldId,
    ipv4_prefix: u8,
    ipv6_prefix: u8,
}

impl NetworkOf {
    pub fn new(ip: FieldId, save: FieldId, ipv4_prefix: u8, ipv6_prefix: u8) -> NetworkOf {
        NetworkOf { ip, save, ipv4_prefix, ipv6_prefix }
    }

    pub fn run(&self, entry: &mut Entry, fields: &FieldTable) -> Result<(), ActionError> {
        let text = entry.get(self.ip).ok_or_else(|| ActionError::missing(fields, self.ip))?;
        let ip = parse_address(text).ok_or_else(|| ActionError::NotAnAddress {
            field: fields.name(self.ip).to_owned(),
            value: text.to_owned(),
        })?;
        let net = match ip.is_ipv4() {
            true => Network::of(ip, self.ipv4_prefix),
            false => Network::of(ip, self.ipv6_prefix),
        };
        entry.set_with(self.save, |buf| {
            use std::fmt::Write;
            let _ = write!(buf, "{net}");
        });
        Ok(())
    }

    /// The field holding the address.
    pub fn reads(&self) -> FieldId {
        self.ip
    }

    /// The field it writes, and whether it writes networks (not single
    /// addresses) for IPv4 and for IPv6.
    pub fn writes(&self) -> (FieldId, bool, bool) {
        (self.save, self.ipv4_prefix < 32, self.ipv6_prefix < 128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(prefixes: (u8, u8), value: &str) -> Result<String, ActionError> {
        let mut fields = FieldTable::new();
        let (ip, save) = (fields.intern("thatIP"), fields.intern("thatNet"));
        let mut entry = Entry::new(&fields);
        entry.set(ip, value);
        NetworkOf::new(ip, save, prefixes.0, prefixes.1).run(&mut entry, &fields)?;
        Ok(entry.get(save).unwrap().to_owned())
    }

    #[test]
    fn addresses_become_their_networks() {
        let default = (DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX);
        assert_eq!(run(default, "2001:db8:1:2:3:4:5:6").unwrap(), "2001:db8:1:2::/64");
        assert_eq!(run(default, "203.0.113.9").unwrap(), "203.0.113.9", "a /32 is the address itself");
        assert_eq!(run(default, "::ffff:203.0.113.9").unwrap(), "203.0.113.9", "mapped: judged as IPv4");
        assert_eq!(run((24, 48), "203.0.113.9").unwrap(), "203.0.113.0/24");
        assert_eq!(run((24, 48), "[2001:db8:1:2::9]").unwrap(), "2001:db8:1::/48");
        assert!(matches!(run(default, "example.org"), Err(ActionError::NotAnAddress { .. })));
    }
}
