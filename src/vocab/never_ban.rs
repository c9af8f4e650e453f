//! The never-ban list as one value: the networks the configuration names
//! (`neverBan`) followed by this host's own addresses (`neverBanLocal`).
//!
//! The host's addresses change while the daemon runs (a DHCP lease, SLAAC
//! privacy addresses, a VPN), so the list is not fixed at load: the daemon
//! makes a new value when they change and hands it to the rules and to the
//! ban service, which then read the same list. A value is never changed in
//! place; cloning it clones an `Arc`, and reading it takes no lock. It reads
//! as the slice of all its networks, so every never-ban test made on a slice
//! ([`super::any_contains`]) takes it as it is.

use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;

use super::Network;

/// Why a ban is refused outright, whoever asks for it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// On the never-ban list (configured, or one of this host's addresses).
    NeverBan,
    /// Never a peer's address (see [`super::is_peer`]).
    NotAPeer,
    /// An allow set holds it (or part of it) for now: the ban service
    /// refuses bans of what an API `accept` let in, until that ends.
    Allowed,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::NeverBan => "is on the never-ban list (neverBan, or one of this host's addresses)",
            Refusal::NotAPeer => "is never a peer's address",
            Refusal::Allowed => "is allowed (an allow set holds it)",
        })
    }
}

/// Why `net` may not be banned at all, if so: the one test that a rule's
/// ban, every request to the ban service and every restore go through. A
/// network is refused when it holds any address of the never-ban list, not
/// only when the list holds it whole.
pub fn refusal(never_ban: &[Network], net: Network) -> Option<Refusal> {
    if never_ban.iter().any(|never| never.overlaps(&net)) {
        Some(Refusal::NeverBan)
    } else if !super::is_peer(net.first()) {
        Some(Refusal::NotAPeer)
    } else {
        None
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NeverBan {
    /// The configured networks, then one host network per local address.
    all: Arc<[Network]>,
    /// How many of `all` are configured.
    configured: usize,
}

impl NeverBan {
    /// The configured networks and this host's addresses. A local address
    /// that a configured network already holds (127.0.0.1 in 127.0.0.0/8)
    /// is not listed twice.
    pub fn new(configured: Vec<Network>, local: &[IpAddr]) -> NeverBan {
        let count = configured.len();
        let mut all = configured;
        let mut hosts: Vec<IpAddr> =
            local.iter().map(|&ip| super::normalize(ip)).filter(|&ip| !super::any_contains(&all, ip)).collect();
        hosts.sort_unstable();
        hosts.dedup();
        all.extend(hosts.into_iter().map(Network::host));
        NeverBan { all: all.into(), configured: count }
    }

    /// The same configured networks with other local addresses.
    pub fn with_local(&self, local: &[IpAddr]) -> NeverBan {
        NeverBan::new(self.configured().to_vec(), local)
    }

    /// What `neverBan` named.
    pub fn configured(&self) -> &[Network] {
        &self.all[..self.configured]
    }

    /// The host networks of this host's addresses.
    pub fn local(&self) -> &[Network] {
        &self.all[self.configured..]
    }
}

impl Deref for NeverBan {
    type Target = [Network];

    fn deref(&self) -> &[Network] {
        &self.all
    }
}

impl From<Vec<Network>> for NeverBan {
    /// Configured networks only.
    fn from(configured: Vec<Network>) -> NeverBan {
        NeverBan::new(configured, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn configured_then_local_and_swapped_whole() {
        let configured = vec![Network::parse("127.0.0.0/8").unwrap(), Network::parse("10.0.0.0/8").unwrap()];
        let list = NeverBan::new(configured.clone(), &[ip("127.0.0.1"), ip("198.51.100.7"), ip("2001:db8::7")]);
        assert_eq!(list.configured(), &configured[..]);
        assert_eq!(list.local(), [Network::host(ip("198.51.100.7")), Network::host(ip("2001:db8::7"))]);
        assert!(super::super::any_contains(&list, ip("198.51.100.7")));
        assert!(list.iter().any(|n| n.contains(ip("::ffff:10.1.2.3"))));

        let shared = list.clone();
        let moved = list.with_local(&[ip("203.0.113.9")]);
        assert_eq!(moved.configured(), &configured[..]);
        assert!(!super::super::any_contains(&moved, ip("198.51.100.7")));
        assert!(super::super::any_contains(&moved, ip("203.0.113.9")));
        // The old value is untouched: whoever still holds it sees what it saw.
        assert!(super::super::any_contains(&shared, ip("198.51.100.7")));
        assert_eq!(NeverBan::from(configured.clone()).local(), []);
    }

    #[test]
    fn a_ban_that_would_touch_the_list_or_no_peer_is_refused() {
        let list = NeverBan::new(vec![Network::parse("10.0.0.0/8").unwrap()], &[ip("198.51.100.7")]);
        let net = |s: &str| Network::target(s).unwrap();
        assert_eq!(refusal(&list, net("10.1.2.3")), Some(Refusal::NeverBan));
        assert_eq!(refusal(&list, net("198.51.100.0/24")), Some(Refusal::NeverBan), "holds a local address");
        assert_eq!(refusal(&list, net("0.0.0.0/0")), Some(Refusal::NeverBan));
        assert_eq!(refusal(&list, net("224.0.0.251")), Some(Refusal::NotAPeer));
        assert_eq!(refusal(&list, net("198.51.101.0/24")), None);
        assert_eq!(refusal(&list, net("2001:db8::/64")), None, "families never overlap");
    }
}
