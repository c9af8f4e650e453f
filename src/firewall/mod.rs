//! The firewall: nftables sets and ipset sets, both spoken to over netlink,
//! behind one type that the daemon and the commands share.
//!
//! Addresses arrive typed (`IpAddr`) and leave as netlink attributes: no
//! string built from a log line reaches the kernel or a command line. Bans
//! that arrive together go out together: all the nftables bans of a burst in
//! one call (the client packs them in transactions), the ipset bans of each
//! set in one call. The netlink sockets are opened on first use, in the
//! network namespace of the calling thread. What the two backends share of the
//! protocol (the NETLINK_NETFILTER socket, splitting messages and attributes)
//! is in `netlink`, which depends on neither.

pub mod check;
pub mod ipset;
mod netlink;
pub mod nft;
#[cfg(test)]
mod test_netns;

use std::collections::HashMap;
use std::net::IpAddr;

use crate::effect::Backend;
use ipset::{IpsetClient, IpsetElement};
use nft::{Element, NftClient, NftSet};

/// ipset's longest timeout (`IPSET_MAX_TIMEOUT`, about 24.8 days). The
/// kernel would shorten a longer one silently; banwarden sends this much and
/// renews long bans before it runs out (see `Bans::renew_long_ipset_bans`).
pub const IPSET_MAX_TIMEOUT_SECS: u64 = 2_147_483;

/// One ban to send: an address for a set, with a timeout or forever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ban {
    pub backend: Backend,
    pub ip: IpAddr,
    /// `family table set` for nftables, the set name for ipset.
    pub set: String,
    pub timeout_ms: Option<u64>,
}

#[derive(Default)]
pub struct Firewall {
    nft: Option<NftClient>,
    ipset: Option<IpsetClient>,
}

impl Firewall {
    pub fn new() -> Firewall {
        Firewall::default()
    }

    pub(crate) fn nft(&mut self) -> Result<&mut NftClient, String> {
        if self.nft.is_none() {
            self.nft = Some(NftClient::open().map_err(|e| e.to_string())?);
        }
        Ok(self.nft.as_mut().expect("opened above"))
    }

    pub(crate) fn ipset(&mut self) -> Result<&mut IpsetClient, String> {
        if self.ipset.is_none() {
            self.ipset = Some(IpsetClient::open().map_err(|e| e.to_string())?);
        }
        Ok(self.ipset.as_mut().expect("opened above"))
    }

    /// Sends the bans; one result per ban, `Err` saying why (naming the set).
    pub fn ban(&mut self, bans: &[Ban]) -> Vec<Result<(), String>> {
        let mut results: Vec<Result<(), String>> = vec![Ok(()); bans.len()];
        // Group by (backend, set), keeping the order of first appearance.
        let mut groups: Vec<(Backend, &str, Vec<usize>)> = Vec::new();
        let mut index: HashMap<(Backend, &str), usize> = HashMap::new();
        for (i, ban) in bans.iter().enumerate() {
            let g = *index.entry((ban.backend, ban.set.as_str())).or_insert_with(|| {
                groups.push((ban.backend, ban.set.as_str(), Vec::new()));
                groups.len() - 1
            });
            groups[g].2.push(i);
        }
        self.ban_nft(bans, &groups, &mut results);
        self.ban_ipset(bans, &groups, &mut results);
        results
    }

    fn ban_nft(&mut self, bans: &[Ban], groups: &[(Backend, &str, Vec<usize>)], results: &mut [Result<(), String>]) {
        let mut sets: Vec<(NftSet, Vec<Element>, &Vec<usize>)> = Vec::new();
        for (backend, set, members) in groups {
            if *backend != Backend::Nft {
                continue;
            }
            match NftSet::parse(set) {
                Ok(parsed) => {
                    let elements =
                        members.iter().map(|&i| Element { ip: bans[i].ip, timeout_ms: bans[i].timeout_ms }).collect();
                    sets.push((parsed, elements, members));
                }
                Err(e) => members.iter().for_each(|&i| results[i] = Err(e.clone())),
            }
        }
        if sets.is_empty() {
            return;
        }
        let client = match self.nft() {
            Ok(client) => client,
            Err(e) => {
                sets.iter().flat_map(|(_, _, m)| m.iter()).for_each(|&i| results[i] = Err(e.clone()));
                return;
            }
        };
        let adds: Vec<(&NftSet, &[Element])> = sets.iter().map(|(s, e, _)| (s, e.as_slice())).collect();
        for ((_, _, members), outcome) in sets.iter().zip(client.add(&adds)) {
            if let Err(e) = outcome {
                let message = e.to_string();
                members.iter().for_each(|&i| results[i] = Err(message.clone()));
            }
        }
    }

    fn ban_ipset(&mut self, bans: &[Ban], groups: &[(Backend, &str, Vec<usize>)], results: &mut [Result<(), String>]) {
        for (backend, set, members) in groups {
            if *backend != Backend::Ipset {
                continue;
            }
            let client = match self.ipset() {
                Ok(client) => client,
                Err(e) => {
                    members.iter().for_each(|&i| results[i] = Err(e.clone()));
                    continue;
                }
            };
            // Without a timeout an element gets the set's default one, if
            // the set has one: a permanent ban must say 0 ("never") then.
            // Asked only when needed: permanent bans are rare.
            let permanent = match members.iter().any(|&i| bans[i].timeout_ms.is_none()) {
                true => client.info(set).ok().filter(|info| info.timeout_support).map(|_| 0),
                false => None,
            };
            // ipset counts in seconds; round up so a ban is never shorter.
            let elements: Vec<IpsetElement> = members
                .iter()
                .map(|&i| IpsetElement {
                    ip: bans[i].ip,
                    timeout_secs: match bans[i].timeout_ms {
                        Some(ms) => Some(ms.div_ceil(1000).min(IPSET_MAX_TIMEOUT_SECS) as u32),
                        None => permanent,
                    },
                })
                .collect();
            match client.add(set, &elements) {
                Ok(failures) => {
                    for (j, e) in failures {
                        results[members[j]] = Err(e.to_string());
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    members.iter().for_each(|&i| results[i] = Err(message.clone()));
                }
            }
        }
    }

    /// Removes addresses from a set; absent ones are not an error.
    pub fn unban(&mut self, backend: Backend, set: &str, ips: &[IpAddr]) -> Result<(), String> {
        match backend {
            Backend::Nft => {
                let set = NftSet::parse(set)?;
                self.nft()?.delete(&set, ips).map(|_| ()).map_err(|e| e.to_string())
            }
            Backend::Ipset => self.ipset()?.delete(set, ips).map_err(|e| e.to_string()),
        }
    }

    /// The addresses in a set, with the milliseconds left (None: no timeout).
    pub fn list(&mut self, backend: Backend, set: &str) -> Result<Vec<(IpAddr, Option<u64>)>, String> {
        match backend {
            Backend::Nft => {
                let set = NftSet::parse(set)?;
                self.nft()?.list(&set).map_err(|e| e.to_string())
            }
            Backend::Ipset => Ok(self
                .ipset()?
                .list(set)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|(ip, secs)| (ip, secs.map(|s| u64::from(s) * 1000)))
                .collect()),
        }
    }
}
