//! A kernel for unit tests: sets in memory that record every call, and can
//! be made to refuse (missing, full, wrong type) the way the real ones do,
//! with the same error values. Sets flushed, deleted or created through it
//! are announced as the real kernel's notifications would be, once watched. Shared through a handle, so a test keeps one
//! while the code under test owns the other.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::ipset::IpsetError;
use super::nft::{KeyType, NftError};
use super::watch::{Change, Removed};
use super::{FirewallError, Held, Kernel, KernelBan, KernelResult, SetShape};
use crate::vocab::{Network, SetRef};

/// One call, as the fake saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Add(Vec<KernelBan>),
    Delete(SetRef, Vec<Network>),
    List(SetRef),
    Shape(SetRef),
    Count(SetRef),
    Lookup(SetRef, Network),
}

/// A set of the fake kernel.
#[derive(Clone, Debug, Default)]
pub struct FakeSet {
    pub elements: BTreeMap<Network, Option<Duration>>,
    /// Refuse elements past this many (ipset's maxelem, nft's size).
    pub capacity: Option<usize>,
    /// The set's type holds no addresses: refuse every element.
    pub wrong_type: bool,
    /// It holds IPv6 addresses (else IPv4 ones), as `shape` says.
    pub ipv6: bool,
    /// Acknowledge this many more elements without keeping them (the
    /// kernel once did so in testing; restore reads sets back for it).
    pub lose: usize,
    /// Takes single addresses only (no `flags interval`, not `hash:net`).
    pub hosts_only: bool,
}

/// Called with each batch of elements or removal, before the fake takes it:
/// where a test looks at what was on disk at that instant.
pub type AddHook = Box<dyn FnMut(&[KernelBan]) + Send>;
pub type DeleteHook = Box<dyn FnMut(&SetRef, &[Network]) + Send>;

#[derive(Default)]
pub struct State {
    pub sets: HashMap<SetRef, FakeSet>,
    pub calls: Vec<Call>,
    pub on_add: Option<AddHook>,
    pub on_delete: Option<DeleteHook>,
    /// `watch` was called: changes are queued for `changes`.
    pub watching: bool,
    /// What the next `changes` returns (see [`FakeKernel::flush`] and the like).
    pub changes: Vec<Change>,
}

#[derive(Clone, Default)]
pub struct FakeKernel(Arc<Mutex<State>>);

impl FakeKernel {
    /// A kernel holding these (empty) sets.
    pub fn with_sets(sets: &[&SetRef]) -> FakeKernel {
        let fake = FakeKernel::default();
        for set in sets {
            fake.state().sets.insert((*set).clone(), FakeSet::default());
        }
        fake
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().expect("the fake kernel's lock")
    }

    /// The addresses in a set (none when it does not exist).
    pub fn held(&self, set: &SetRef) -> Vec<Network> {
        self.state().sets.get(set).map(|s| s.elements.keys().copied().collect()).unwrap_or_default()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Empties a set, as `nft flush set` or `ipset flush` would, and (for
    /// nftables, when watched) announces it.
    pub fn flush(&self, set: &SetRef) {
        let mut state = self.state();
        let removed: Vec<Network> = match state.sets.get_mut(set) {
            Some(held) => std::mem::take(&mut held.elements).into_keys().collect(),
            None => return,
        };
        if let (Some(nft), true) = (set.as_nft(), state.watching && !removed.is_empty()) {
            let starts = removed.iter().map(Network::first).collect();
            state.changes.push(Change::ElementsRemoved { set: nft.clone(), removed: Removed::Some(starts) });
        }
    }

    /// Deletes a set, and (for nftables, when watched) announces it.
    pub fn delete_set(&self, set: &SetRef) {
        let mut state = self.state();
        state.sets.remove(set);
        if let (Some(nft), true) = (set.as_nft(), state.watching) {
            state.changes.push(Change::SetGone(nft.clone()));
        }
    }

    /// Creates an empty set, and (for nftables, when watched) announces it.
    pub fn create_set(&self, set: &SetRef) {
        let mut state = self.state();
        state.sets.insert(set.clone(), FakeSet::default());
        if let (Some(nft), true) = (set.as_nft(), state.watching) {
            state.changes.push(Change::SetCreated(nft.clone()));
        }
    }
}

fn missing(set: &SetRef) -> FirewallError {
    match set.as_nft() {
        Some(nft) => NftError::NoSuchSet { set: nft.clone() }.into(),
        None => IpsetError::NoSuchSet { set: set.to_string() }.into(),
    }
}

fn full(set: &SetRef, ip: Network) -> FirewallError {
    match set.as_nft() {
        Some(nft) => NftError::SetFull { set: nft.clone() }.into(),
        None => IpsetError::SetFull { set: set.to_string(), ip }.into(),
    }
}

fn no_networks(set: &SetRef, net: Network) -> FirewallError {
    match set.as_nft() {
        Some(nft) => NftError::NoIntervals { set: nft.clone(), net }.into(),
        None => IpsetError::NoNetworks { set: set.to_string(), type_name: "hash:ip".into(), net }.into(),
    }
}

fn wrong_type(set: &SetRef, ip: Network) -> FirewallError {
    match set.as_nft() {
        Some(nft) => NftError::WrongKey { set: nft.clone(), key: KeyType::Other(9), ip }.into(),
        None => IpsetError::WrongFamily { set: set.to_string(), set_family: 0, ip }.into(),
    }
}

impl Kernel for FakeKernel {
    fn add(&mut self, bans: &[KernelBan]) -> Vec<KernelResult> {
        let mut state = self.state();
        state.calls.push(Call::Add(bans.to_vec()));
        if let Some(hook) = &mut state.on_add {
            hook(bans);
        }
        bans.iter()
            .map(|ban| {
                let Some(set) = state.sets.get_mut(&ban.set) else { return Err(Arc::new(missing(&ban.set))) };
                if set.wrong_type {
                    return Err(Arc::new(wrong_type(&ban.set, ban.net)));
                }
                if set.hosts_only && !ban.net.is_host() {
                    return Err(Arc::new(no_networks(&ban.set, ban.net)));
                }
                // An nftables interval set refuses an element that overlaps
                // another one (EEXIST, as kernel 6.18 answers for an address
                // inside a banned network: nft's kernel_tests); ipset's
                // hash:net takes it.
                let overlap = set.elements.keys().any(|held| *held != ban.net && held.overlaps(&ban.net));
                if overlap && ban.set.as_nft().is_some() {
                    let source = std::io::Error::from_raw_os_error(libc::EEXIST);
                    let nft = ban.set.as_nft().expect("checked").clone();
                    return Err(Arc::new(NftError::Kernel { set: nft, op: "add", source, message: None }.into()));
                }
                let new = !set.elements.contains_key(&ban.net);
                if new && set.capacity.is_some_and(|cap| set.elements.len() >= cap) {
                    return Err(Arc::new(full(&ban.set, ban.net)));
                }
                if set.lose > 0 {
                    set.lose -= 1;
                } else {
                    set.elements.insert(ban.net, ban.timeout);
                }
                Ok(())
            })
            .collect()
    }

    fn delete(&mut self, set: &SetRef, ips: &[Network]) -> Result<(), FirewallError> {
        let mut state = self.state();
        state.calls.push(Call::Delete(set.clone(), ips.to_vec()));
        if let Some(hook) = &mut state.on_delete {
            hook(set, ips);
        }
        let held = state.sets.get_mut(set).ok_or_else(|| missing(set))?;
        ips.iter().for_each(|ip| {
            held.elements.remove(ip);
        });
        Ok(())
    }

    fn list(&mut self, set: &SetRef) -> Result<Vec<(Network, Option<Duration>)>, FirewallError> {
        let mut state = self.state();
        state.calls.push(Call::List(set.clone()));
        let held = state.sets.get(set).ok_or_else(|| missing(set))?;
        Ok(held.elements.iter().map(|(ip, t)| (*ip, *t)).collect())
    }

    fn lookup(&mut self, set: &SetRef, net: Network) -> Result<Held, FirewallError> {
        let mut state = self.state();
        state.calls.push(Call::Lookup(set.clone(), net));
        let held = state.sets.get(set).ok_or_else(|| missing(set))?;
        // As the kernel answers: ipset only whether it matches, nftables
        // the element that holds it with its time left.
        let by = held.elements.iter().find(|(element, _)| element.covers(&net));
        Ok(match (by, set.as_nft()) {
            (None, _) => Held::No,
            (Some(_), None) => Held::Matched,
            (Some((element, left)), Some(_)) => Held::By { element: *element, left: *left },
        })
    }

    fn shape(&mut self, set: &SetRef) -> Result<Option<SetShape>, FirewallError> {
        let mut state = self.state();
        state.calls.push(Call::Shape(set.clone()));
        Ok(state.sets.get(set).map(|s| SetShape {
            holds_ipv6: (!s.wrong_type).then_some(s.ipv6),
            timeout: true,
            default_timeout_ms: None,
            unsuitable: s.wrong_type.then(|| "has a type that holds no addresses".to_owned()),
            networks: !s.hosts_only,
        }))
    }

    fn count(&mut self, set: &SetRef) -> Result<Option<usize>, FirewallError> {
        let mut state = self.state();
        state.calls.push(Call::Count(set.clone()));
        Ok(state.sets.get(set).map(|s| s.elements.len()))
    }

    fn watch(&mut self) -> Result<Option<RawFd>, FirewallError> {
        self.state().watching = true;
        Ok(None)
    }

    fn changes(&mut self) -> Result<Vec<Change>, FirewallError> {
        Ok(std::mem::take(&mut self.state().changes))
    }
}
