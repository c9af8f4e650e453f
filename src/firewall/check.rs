//! Checking, before the first ban, that the sets the configuration names
//! exist in the kernel and can take what the rules will put in them.
//!
//! Nothing here is fatal: a set may be created after the daemon starts (the
//! bans meanwhile are stored, and `banwarden boot` applies them). But a
//! missing or unsuitable set is a rule that silently bans nobody, so each
//! problem says what is wrong, which actions are concerned, and the commands
//! that make a suitable set.

use std::collections::BTreeMap;

use super::{ipset, nft, Kernel};
use crate::vocab::SetRef;

/// A set as the rules (or a command) will use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetNeed {
    pub set: SetRef,
    /// It receives IPv6 addresses (else IPv4 ones).
    pub ipv6: bool,
    /// It receives bans with a timeout, so it needs timeout support.
    pub timeout: bool,
    /// It receives networks, not only single addresses.
    pub networks: bool,
    /// Where the configuration names it (`None`: the command line).
    pub place: Option<String>,
}

/// The problems found, one message each, naming the set and the places in
/// the configuration concerned.
pub fn check_sets(kernel: &mut dyn Kernel, needs: &[SetNeed]) -> Vec<String> {
    let mut sets: BTreeMap<&SetRef, Vec<&SetNeed>> = BTreeMap::new();
    for need in needs {
        sets.entry(&need.set).or_default().push(need);
    }
    let mut problems = Vec::new();
    for (set, uses) in &sets {
        let ipv6 = uses.iter().any(|u| u.ipv6);
        let timeout = uses.iter().any(|u| u.timeout);
        let networks = uses.iter().any(|u| u.networks);
        let name = set.describe();
        let create = match (set.as_nft(), set.as_ipset()) {
            (Some(nft), _) => nft::creation_commands(nft, ipv6, timeout, networks),
            (_, Some(name)) => ipset::creation_command(name, ipv6, networks),
            _ => unreachable!("a set is of one backend"),
        };
        let probe = kernel.shape(set);
        let mut report = |message: String, concerned: &mut dyn Iterator<Item = &&SetNeed>| {
            // A use with no place comes from the command line, not the file.
            let places: Vec<&str> = concerned.filter_map(|u| u.place.as_deref()).collect();
            match places.is_empty() {
                true => problems.push(format!("{name} {message}")),
                false => problems.push(format!("{name} {message} (used at {})", places.join("; "))),
            }
        };
        let mixed = uses.iter().any(|u| u.ipv6) && uses.iter().any(|u| !u.ipv6);
        let shape = match probe {
            Ok(Some(shape)) => shape,
            Ok(None) if mixed => {
                report(
                    "does not exist, and is named for both IPv4 and IPv6 addresses: make one of each".into(),
                    &mut uses.iter(),
                );
                continue;
            }
            Ok(None) => {
                report(format!("does not exist; create it with: {create}"), &mut uses.iter());
                continue;
            }
            Err(e) => {
                report(format!("cannot be checked: {e}"), &mut uses.iter());
                continue;
            }
        };
        if let Some(why) = shape.unsuitable {
            report(format!("{why}; make one with: {create}"), &mut uses.iter());
            continue;
        }
        for wanted_v6 in [false, true] {
            if shape.holds_ipv6 != Some(wanted_v6) && uses.iter().any(|u| u.ipv6 == wanted_v6) {
                let (holds, gets) = if wanted_v6 { ("IPv4", "IPv6") } else { ("IPv6", "IPv4") };
                report(
                    format!("holds {holds} addresses, but it receives {gets} ones here"),
                    &mut uses.iter().filter(|u| u.ipv6 == wanted_v6),
                );
            }
        }
        if let Some(ms) = shape.default_timeout_ms.filter(|_| uses.iter().any(|u| !u.timeout)) {
            report(
                format!(
                    "has a default timeout of {} s, so its permanent bans would be lifted after that; \
                     remove the set's `timeout` (keep `flags timeout`)",
                    ms / 1000
                ),
                &mut uses.iter().filter(|u| !u.timeout),
            );
        }
        if !shape.networks && networks {
            // The set exists: its type or flags cannot change in place
            // (nft refuses to declare it again with other flags), so the
            // advice is a set of its own for networks.
            let other = network_set_name(set);
            let make = match (set.as_nft(), set.as_ipset()) {
                (Some(nft), _) => {
                    let alt = nft::NftSet { name: other.clone(), ..nft.clone() };
                    nft::creation_commands(&alt, ipv6, timeout, true)
                }
                (_, Some(_)) => ipset::creation_command(&other, ipv6, true),
                _ => unreachable!("a set is of one backend"),
            };
            report(
                format!(
                    "takes single addresses only, but it receives networks here; its type cannot change while it \
                     exists: ban networks into a set of their own, e.g. {other:?} made with: {make}"
                ),
                &mut uses.iter().filter(|u| u.networks),
            );
        }
        if !shape.timeout && timeout {
            report(
                format!("has no timeout support, so bans with banSeconds will be refused; make it with: {create}"),
                &mut uses.iter().filter(|u| u.timeout),
            );
        }
    }
    problems
}

/// A name for the network set beside `set`: `ssh_ban6` gives `ssh_net6`,
/// any other name gets `_net` appended.
fn network_set_name(set: &SetRef) -> String {
    let name = match (set.as_nft(), set.as_ipset()) {
        (Some(nft), _) => nft.name.as_str(),
        (_, Some(name)) => name,
        _ => unreachable!("a set is of one backend"),
    };
    match name.rfind("ban") {
        Some(at) if name[at + 3..].chars().all(|c| c.is_ascii_digit()) => {
            format!("{}net{}", &name[..at], &name[at + 3..])
        }
        _ => format!("{name}_net"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::fake::FakeKernel;

    #[test]
    fn a_set_of_addresses_given_networks_points_to_a_set_of_their_own() {
        let set = SetRef::parse_nft("inet banwarden ssh_ban6").unwrap();
        let mut kernel = FakeKernel::with_sets(&[&set]);
        {
            let mut state = kernel.state();
            let held = state.sets.get_mut(&set).unwrap();
            (held.ipv6, held.hosts_only) = (true, true);
        }
        let need = SetNeed { set: set.clone(), ipv6: true, timeout: true, networks: true, place: None };
        let problems = check_sets(&mut kernel, &[need.clone()]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("\"ssh_net6\" made with: nft add table inet banwarden; nft add set inet banwarden ssh_net6 '{ type ipv6_addr; flags interval,timeout; }'"), "{}", problems[0]);
        let no_networks = SetNeed { networks: false, ..need };
        assert!(check_sets(&mut kernel, &[no_networks]).is_empty());
        let ipset = SetRef::parse_ipset("blocked").unwrap();
        assert_eq!(network_set_name(&ipset), "blocked_net");
    }
}
