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
            report(
                format!("takes single addresses only, but it receives networks here; make it with: {create}"),
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
