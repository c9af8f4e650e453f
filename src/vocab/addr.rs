//! Addresses and networks, typed once at the edge.
//!
//! [`Network`] keeps a network as an integer prefix, so a membership test is
//! a few integer operations. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`,
//! as sshd logs on a dual-stack socket) stands for the IPv4 address it maps:
//! [`normalize`] turns it into that address before anything compares or bans
//! it, so an IPv4 allow-list or set catches it. Python's `ipaddress` did not,
//! which let such an attacker through Pyruse's IPv4 checks.
//!
//! A ban's target is a [`Network`] too: a single address is the network of
//! its full length (/32, /128) and is written as the bare address, so a
//! store of addresses reads and writes exactly as Pyruse's did.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP network as integer address and prefix length. Ordered by family,
/// then address, then length: the networks inside another one follow it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

    /// Parses a ban's target: an address or a network, with the tolerance
    /// of [`parse_address`] (blanks, brackets, mapped IPv6 addresses), but
    /// no host bits below the prefix: `203.0.113.5/24` is more likely a
    /// typo than a wish to ban the /24, so it is refused with the network
    /// it would be.
    pub fn target(text: &str) -> Result<Network, String> {
        let t = text.trim();
        let t = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(t);
        let net =
            Network::parse(t).map_err(|e| if t.contains('/') { format!("{text:?}: {e}") } else { e })?.normalized();
        if net.has_host_bits() {
            return Err(format!("{text:?} has bits set after the prefix: the network is {}", net.masked()));
        }
        Ok(net)
    }

    /// The network of `len` bits around `ip` (a length beyond the family's
    /// is its full length): what a rule bans or counts by for `ip`.
    pub fn of(ip: IpAddr, len: u8) -> Network {
        let host = Network::host(ip);
        Network::with_len(host, len.min(host.max_len()))
    }

    fn with_len(self, len: u8) -> Network {
        match self {
            Network::V4 { addr, .. } => Network::V4 { addr: addr & mask32(len), len },
            Network::V6 { addr, .. } => Network::V6 { addr: addr & mask128(len), len },
        }
    }

    /// The same network with the bits after the prefix cleared.
    pub fn masked(self) -> Network {
        self.with_len(self.prefix_len())
    }

    /// An IPv4-mapped IPv6 network (`::ffff:192.0.2.0/120`) as the IPv4
    /// network it maps; others unchanged.
    fn normalized(self) -> Network {
        match self {
            Network::V6 { addr, len } if len >= 96 && addr >> 32 == 0xffff => {
                Network::V4 { addr: addr as u32, len: len - 96 }
            }
            other => other,
        }
    }

    pub fn prefix_len(&self) -> u8 {
        match *self {
            Network::V4 { len, .. } | Network::V6 { len, .. } => len,
        }
    }

    /// 32 or 128: the length of a single address of the family.
    pub fn max_len(&self) -> u8 {
        match self {
            Network::V4 { .. } => 32,
            Network::V6 { .. } => 128,
        }
    }

    pub fn is_ipv6(&self) -> bool {
        matches!(self, Network::V6 { .. })
    }

    /// The address, when this is a single one.
    pub fn as_host(&self) -> Option<IpAddr> {
        (self.prefix_len() == self.max_len()).then(|| self.first())
    }

    pub fn is_host(&self) -> bool {
        self.prefix_len() == self.max_len()
    }

    /// The network's first address.
    pub fn first(&self) -> IpAddr {
        match self.masked() {
            Network::V4 { addr, .. } => IpAddr::V4(Ipv4Addr::from(addr)),
            Network::V6 { addr, .. } => IpAddr::V6(Ipv6Addr::from(addr)),
        }
    }

    /// The network's last address.
    pub fn last(&self) -> IpAddr {
        match *self {
            Network::V4 { addr, len } => IpAddr::V4(Ipv4Addr::from(addr | !mask32(len))),
            Network::V6 { addr, len } => IpAddr::V6(Ipv6Addr::from(addr | !mask128(len))),
        }
    }

    /// Whether every address of `other` is in this network.
    pub fn covers(&self, other: &Network) -> bool {
        self.prefix_len() <= other.prefix_len() && self.is_ipv6() == other.is_ipv6() && self.contains(other.first())
    }

    /// Whether the two networks share an address: one covers the other
    /// (prefixes never overlap in part).
    pub fn overlaps(&self, other: &Network) -> bool {
        self.covers(other) || other.covers(self)
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

impl From<IpAddr> for Network {
    fn from(ip: IpAddr) -> Network {
        Network::host(ip)
    }
}

/// Reads a ban's target (see [`Network::target`]).
impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Network, String> {
        Network::target(text)
    }
}

/// A single address is written bare (as Pyruse's store and every log line
/// have it), a network as `address/length`. Width and alignment are
/// honoured, as `IpAddr`'s are (`list` pads its columns with them).
impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.as_host(), f.width()) {
            (Some(ip), None) => write!(f, "{ip}"),
            (None, None) => write!(f, "{}/{}", self.first(), self.prefix_len()),
            (Some(ip), Some(_)) => f.pad(&ip.to_string()),
            (None, Some(_)) => f.pad(&format!("{}/{}", self.first(), self.prefix_len())),
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
    fn ban_targets_are_canonical() {
        let net = Network::target("203.0.113.0/24").unwrap();
        assert_eq!(net.to_string(), "203.0.113.0/24");
        assert_eq!(net.first(), ip("203.0.113.0"));
        assert_eq!(net.last(), ip("203.0.113.255"));
        assert!(!net.is_host());
        let host = Network::target(" [2001:db8::1] ").unwrap();
        assert_eq!(host.to_string(), "2001:db8::1");
        assert_eq!(host.as_host(), Some(ip("2001:db8::1")));
        assert_eq!(Network::target("::ffff:192.0.2.0/120").unwrap().to_string(), "192.0.2.0/24");
        assert_eq!(Network::target("192.0.2.7/32").unwrap().to_string(), "192.0.2.7");
        // Padded like an IpAddr, for list's columns.
        assert_eq!(format!("{:<16}|", Network::target("192.0.2.0/24").unwrap()), "192.0.2.0/24    |");
        assert_eq!(format!("{:>12}|", Network::target("192.0.2.7").unwrap()), "   192.0.2.7|");
        let err = Network::target("203.0.113.5/24").unwrap_err();
        assert!(err.contains("the network is 203.0.113.0/24"), "{err}");
        assert!(Network::target("203.0.113.0/33").is_err());
        assert!(Network::target("example.org").is_err());
    }

    #[test]
    fn networks_around_addresses_cover_and_overlap() {
        let n64 = Network::of(ip("2001:db8:1:2:aaaa::7"), 64);
        assert_eq!(n64.to_string(), "2001:db8:1:2::/64");
        assert_eq!(Network::of(ip("192.0.2.77"), 64).to_string(), "192.0.2.77", "a length beyond the family's");
        assert_eq!(Network::of(ip("::ffff:192.0.2.77"), 24).to_string(), "192.0.2.0/24");
        let host = Network::host(ip("2001:db8:1:2::99"));
        assert!(n64.covers(&host) && !host.covers(&n64));
        assert!(n64.overlaps(&host) && host.overlaps(&n64));
        assert!(n64.covers(&n64));
        assert!(!n64.overlaps(&Network::of(ip("2001:db8:1:3::1"), 64)));
        assert!(!Network::target("0.0.0.0/0").unwrap().covers(&host), "families never overlap");
        let mut sorted = vec![host, Network::target("192.0.2.0/24").unwrap(), n64];
        sorted.sort();
        assert_eq!(sorted[0].to_string(), "192.0.2.0/24");
        assert_eq!(sorted[1], n64, "a network sorts before the addresses inside it");
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
