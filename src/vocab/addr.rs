//! Addresses and networks, typed once at the edge.
//!
//! [`Network`] keeps a network as an integer prefix, so a membership test is
//! a few integer operations. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`,
//! as sshd logs on a dual-stack socket) stands for the IPv4 address it maps:
//! [`normalize`] turns it into that address before anything compares or bans
//! it, so an IPv4 allow-list or set catches it. Python's `ipaddress` did not,
//! which let such an attacker through Pyruse's IPv4 checks.

use std::net::IpAddr;

/// An IP network as integer address and prefix length.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Network {
    V4 { addr: u32, len: u8 },
    V6 { addr: u128, len: u8 },
}

impl Network {
    /// Parses `addr/len` or a bare address. Host bits below the prefix are
    /// ignored (Python's `strict=False`); [`Network::has_host_bits`] tells.
    pub fn parse(text: &str) -> Result<Network, String> {
        let (addr_text, len_text) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.trim().parse().map_err(|_| format!("{addr_text:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len_text {
            None => max,
            Some(l) => match l.trim().parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("prefix length {l:?} is not a number from 0 to {max}")),
            },
        };
        Ok(match addr {
            IpAddr::V4(a) => Network::V4 { addr: u32::from(a), len },
            IpAddr::V6(a) => Network::V6 { addr: u128::from(a), len },
        })
    }

    /// The network of one address.
    pub fn host(ip: IpAddr) -> Network {
        match normalize(ip) {
            IpAddr::V4(a) => Network::V4 { addr: u32::from(a), len: 32 },
            IpAddr::V6(a) => Network::V6 { addr: u128::from(a), len: 128 },
        }
    }

    pub fn has_host_bits(&self) -> bool {
        match *self {
            Network::V4 { addr, len } => addr & !mask32(len) != 0,
            Network::V6 { addr, len } => addr & !mask128(len) != 0,
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (*self, normalize(ip)) {
            (Network::V4 { addr, len }, IpAddr::V4(ip)) => (u32::from(ip) ^ addr) & mask32(len) == 0,
            (Network::V6 { addr, len }, IpAddr::V6(ip)) => (u128::from(ip) ^ addr) & mask128(len) == 0,
            _ => false,
        }
    }
}

fn mask32(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// The address an IPv4-mapped IPv6 address stands for; others unchanged.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// Whether any of the networks holds `ip`: the one test of the never-ban
/// list, wherever it is made.
pub fn any_contains(nets: &[Network], ip: IpAddr) -> bool {
    nets.iter().any(|net| net.contains(ip))
}

/// Whether `ip` can be the address of a peer, hence worth a ban: not the
/// unspecified address (0.0.0.0, ::), a broadcast, multicast or reserved
/// (240.0.0.0/4) one. A ban of those would stop nothing and could block
/// the host's own traffic (DHCP, mDNS).
pub fn is_peer(ip: IpAddr) -> bool {
    match normalize(ip) {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_multicast() || v4.octets()[0] >= 240),
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

/// Parses a log field as an address: surrounding blanks and brackets
/// (`[2001:db8::1]`) are tolerated, mapped IPv6 addresses are normalised.
pub fn parse_address(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    let t = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(t);
    t.parse::<IpAddr>().ok().map(normalize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_prefixes() {
        let n = Network::parse("192.168.0.0/16").unwrap();
        assert!(n.contains(ip("192.168.255.1")));
        assert!(!n.contains(ip("192.169.0.1")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
        let host = Network::parse("10.0.0.1").unwrap();
        assert!(host.contains(ip("10.0.0.1")));
        assert!(!host.contains(ip("10.0.0.2")));
    }

    #[test]
    fn ipv6_prefixes_and_families_do_not_mix() {
        let n = Network::parse("2001:db8::/32").unwrap();
        assert!(n.contains(ip("2001:db8:ffff::1")));
        assert!(!n.contains(ip("2001:db9::1")));
        assert!(!n.contains(ip("192.0.2.1")));
        assert!(Network::parse("::/0").unwrap().contains(ip("::1")));
        assert!(!Network::parse("::/0").unwrap().contains(ip("127.0.0.1")));
        assert!(Network::parse("::1").unwrap().contains(ip("::1")));
    }

    #[test]
    fn mapped_addresses_are_judged_as_ipv4() {
        let n = Network::parse("192.0.2.0/24").unwrap();
        assert!(n.contains(ip("::ffff:192.0.2.9")));
        assert_eq!(parse_address("::ffff:192.0.2.9"), Some(ip("192.0.2.9")));
        assert_eq!(parse_address(" [2001:db8::1] "), Some(ip("2001:db8::1")));
        assert_eq!(parse_address("192.0.2.300"), None);
    }

    #[test]
    fn peers_and_addresses_that_never_are() {
        for peer in ["192.0.2.1", "10.0.0.1", "127.0.0.1", "2001:db8::1", "::1", "::ffff:192.0.2.1"] {
            assert!(is_peer(ip(peer)), "{peer}");
        }
        for never in ["0.0.0.0", "::", "255.255.255.255", "240.0.0.1", "224.0.0.251", "ff02::1", "::ffff:224.0.0.1"] {
            assert!(!is_peer(ip(never)), "{never}");
        }
    }

    #[test]
    fn bad_networks_are_refused() {
        assert!(Network::parse("192.0.2.0/33").unwrap_err().contains("0 to 32"));
        assert!(Network::parse("2001:db8::/129").unwrap_err().contains("0 to 128"));
        assert!(Network::parse("example.org/24").is_err());
        assert!(Network::parse("10.0.0.0/x").is_err());
        assert!(Network::parse("192.0.2.1/24").unwrap().has_host_bits());
        assert!(!Network::parse("192.0.2.0/24").unwrap().has_host_bits());
    }
}
