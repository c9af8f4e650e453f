//! Checking, before the first ban, that the sets the configuration names
//! exist in the kernel and can take what the rules will put in them.
//!
//! Nothing here is fatal: a set may be created after the daemon starts (the
//! bans meanwhile are stored, and `banwarden boot` applies them). But a
//! missing or unsuitable set is a rule that silently bans nobody, so each
//! problem says what is wrong, which actions are concerned, and the commands
//! that make a suitable set.

use std::collections::BTreeMap;

use super::ipset::{self, IpsetError, NFPROTO_IPV6};
use super::nft::{self, KeyType, NftError, NftSet};
use super::Firewall;
use crate::config::SetUse;
use crate::effect::Backend;

/// What the kernel says a set is, as far as bans care.
struct Shape {
    /// The family of addresses it holds; `None` when it holds neither.
    holds_ipv6: Option<bool>,
    timeout: bool,
    /// A default timeout, which an nftables set gives every element added
    /// without one: its permanent bans would not be.
    default_timeout_ms: Option<u64>,
    /// Why it cannot hold plain addresses at all (its type), if so.
    unsuitable: Option<String>,
}

enum Probe {
    Found(Shape),
    Missing,
    Failed(String),
}

/// The problems found, one message each, naming the set and the places in
/// the configuration concerned.
pub fn check_sets(firewall: &mut Firewall, uses: &[SetUse]) -> Vec<String> {
    let mut sets: BTreeMap<(Backend, &str), Vec<&SetUse>> = BTreeMap::new();
    for set_use in uses {
        sets.entry((set_use.backend, set_use.set.as_str())).or_default().push(set_use);
    }
    let mut problems = Vec::new();
    for ((backend, set), uses) in &sets {
        let ipv6 = uses.iter().any(|u| u.ipv6);
        let timeout = uses.iter().any(|u| u.timeout);
        let (name, probe, create) = match backend {
            Backend::Nft => match NftSet::parse(set) {
                Ok(parsed) => (
                    format!("nftables set \"{parsed}\""),
                    probe_nft(firewall, &parsed),
                    nft::creation_commands(&parsed, ipv6, timeout),
                ),
                Err(e) => (format!("nftables set {set:?}"), Probe::Failed(e), String::new()),
            },
            Backend::Ipset => {
                (format!("ipset {set:?}"), probe_ipset(firewall, set), ipset::creation_command(set, ipv6))
            }
        };
        let mut report = |message: String, concerned: &mut dyn Iterator<Item = &&SetUse>| {
            // A use with no place comes from the command line, not the file.
            let places: Vec<String> =
                concerned.filter(|u| u.location != Default::default()).map(|u| u.location.to_string()).collect();
            match places.is_empty() {
                true => problems.push(format!("{name} {message}")),
                false => problems.push(format!("{name} {message} (used at {})", places.join("; "))),
            }
        };
        let mixed = uses.iter().any(|u| u.ipv6) && uses.iter().any(|u| !u.ipv6);
        let shape = match probe {
            Probe::Found(shape) => shape,
            Probe::Missing if mixed => {
                report(
                    "does not exist, and is named for both IPv4 and IPv6 addresses: make one of each".into(),
                    &mut uses.iter(),
                );
                continue;
            }
            Probe::Missing => {
                report(format!("does not exist; create it with: {create}"), &mut uses.iter());
                continue;
            }
            Probe::Failed(e) => {
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
        if !shape.timeout && timeout {
            report(
                format!("has no timeout support, so bans with banSeconds will be refused; make it with: {create}"),
                &mut uses.iter().filter(|u| u.timeout),
            );
        }
    }
    problems
}

fn probe_nft(firewall: &mut Firewall, set: &NftSet) -> Probe {
    let client = match firewall.nft() {
        Ok(client) => client,
        Err(e) => return Probe::Failed(e),
    };
    match client.set_info(set) {
        Ok(info) => Probe::Found(Shape {
            holds_ipv6: match info.key {
                KeyType::Ipv4Addr => Some(false),
                KeyType::Ipv6Addr => Some(true),
                KeyType::Other(_) => None,
            },
            timeout: info.timeout_flag,
            default_timeout_ms: info.default_timeout_ms,
            unsuitable: matches!(info.key, KeyType::Other(_))
                .then(|| format!("has type {}, which does not hold addresses", info.key)),
        }),
        Err(NftError::NoSuchSet { .. }) => Probe::Missing,
        Err(e) => Probe::Failed(e.to_string()),
    }
}

fn probe_ipset(firewall: &mut Firewall, set: &str) -> Probe {
    let client = match firewall.ipset() {
        Ok(client) => client,
        Err(e) => return Probe::Failed(e),
    };
    match client.info(set) {
        Ok(info) => {
            // hash:net takes plain addresses too (as /32 or /128 networks);
            // hash:ip,port and the like want more than an address.
            let plain = matches!(info.type_name.as_str(), "hash:ip" | "hash:net");
            Probe::Found(Shape {
                holds_ipv6: Some(info.family == NFPROTO_IPV6),
                timeout: info.timeout_support,
                // banwarden adds permanent bans to it with timeout 0.
                default_timeout_ms: None,
                unsuitable: (!plain)
                    .then(|| format!("is of type {}, which does not hold plain addresses", info.type_name)),
            })
        }
        Err(IpsetError::NoSuchSet { .. }) => Probe::Missing,
        Err(e) => Probe::Failed(e.to_string()),
    }
}
