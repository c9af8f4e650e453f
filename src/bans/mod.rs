//! The ban service: the one path every ban and unban takes, whoever asks
//! (the rules, the command line, and later the APIs and the fleet).
//!
//! It owns the stores and the kernel (the firewall is private to it) and
//! holds four rules:
//!
//! - **never-ban first**: an address on the never-ban list (configured, or
//!   one of this host's) is refused before anything is written;
//! - **a ban never shrinks**: a new ban of an address already banned in
//!   that set extends it if it ends later, and otherwise changes nothing
//!   (permanent beats all); only a request that says `replace` shortens one.
//!   Within one batch, the requests for one address and set are settled in
//!   order, so queued requests of an attacker cannot undo its longest ban;
//! - **store, then kernel, for bans**: a ban is durable before the kernel
//!   has it, so every ban the kernel acknowledged is on disk and a crash in
//!   between leaves a stored ban that the next restore puts in place. A ban
//!   the kernel refuses (no such set, set full) stays stored, so it takes
//!   effect once the set is fixed; `list` shows the gap. A ban the store
//!   cannot record (disk full) is still sent: stopping the attacker now
//!   matters more than remembering it after a reboot;
//! - **store, then kernel, for unbans too**: the store is the truth the
//!   kernel follows. Forgetting first means a crash in between leaves an
//!   element with no record, which `list` shows as "not in the store" and
//!   which ends with its timeout or at reboot; the other order would leave
//!   a record that the next restore silently puts back, undoing an unban
//!   the admin was told had happened.
//!
//! Every operation takes a batch: one store append and one netlink call for
//! many bans is what makes a flood cheap. Time comes from the injected
//! [`Clock`], the kernel from the injected [`Kernel`], so all of it is
//! tested without root.

pub mod cover;
mod inventory;
mod overlap;
mod restore;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_list;
#[cfg(test)]
mod tests_networks;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use inventory::{Inventory, KernelRead, Look, Row, Size, CHEAP_IPSET, CHEAP_NFT};
pub use restore::{PutBack, RestoreReport, RENEW_EVERY_SECS};

use crate::firewall::check::{check_sets, SetNeed};
use crate::firewall::{Change, ErrorKind, Firewall, FirewallError, Held, Kernel, KernelBan};
use crate::store::{BanStore, Record, StoreError, Until};
use crate::time::Clock;
use crate::vocab::{Backend, BanRequest, Network, NeverBan, SetRef};

pub(crate) use crate::vocab::refusal;
pub use crate::vocab::Refusal;

/// What became of a ban request.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Banned until then (stored, and in the kernel).
    Banned(Until),
    /// A ban in place ends later (then): it stays as it was, and the kernel
    /// was given that end again.
    Kept(Until),
    /// Refused before anything was stored or sent.
    Refused(Refusal),
    /// In the kernel, but the store could not record it: lost at reboot.
    NotStored(Arc<StoreError>),
    /// Stored, but the kernel refused it.
    KernelFailed(Arc<FirewallError>),
    /// Neither stored nor in the kernel.
    Failed { store: Arc<StoreError>, kernel: Arc<FirewallError> },
}

/// The kind of a failed [`Outcome`], with no address in it: what callers
/// count and throttle their messages by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    Refused(Refusal),
    Store(std::io::ErrorKind),
    Kernel(ErrorKind),
    Both(std::io::ErrorKind, ErrorKind),
}

impl Outcome {
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Outcome::Banned(_) | Outcome::Kept(_) => None,
            Outcome::Refused(why) => Some(Failure::Refused(*why)),
            Outcome::NotStored(store) => Some(Failure::Store(store.kind())),
            Outcome::KernelFailed(kernel) => Some(Failure::Kernel(kernel.kind())),
            Outcome::Failed { store, kernel } => Some(Failure::Both(store.kind(), kernel.kind())),
        }
    }
}

/// A set the rules use for one address family, and the same action's set
/// for the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetPair {
    pub set: SetRef,
    /// `set` holds IPv6 addresses (`pair` IPv4 ones), or the other way round.
    pub ipv6: bool,
    pub pair: SetRef,
}

/// Where to lift a ban from.
pub enum UnbanFrom<'a> {
    /// This set only.
    Set(SetRef),
    /// Every set the store has the address in, and those of `named` (the
    /// sets the rules use) whose kernel set holds it without a record.
    Anywhere { named: &'a [SetRef] },
}

/// A ban lifted from one set.
#[derive(Debug)]
pub struct Lifted {
    pub set: SetRef,
    /// It had a record in the store (now forgotten).
    pub was_stored: bool,
    /// A live ban of a network of the same set that still holds it (the
    /// kernel element is that network's, so it stays).
    pub still_covered: Option<Record>,
    /// Bans inside the lifted network that went into the kernel in its place.
    pub let_in: usize,
    /// How the kernel took the removal.
    pub kernel: Result<(), FirewallError>,
}

pub struct Bans {
    storage: PathBuf,
    /// The same value the rules read (see [`NeverBan`]).
    never_ban: NeverBan,
    stores: HashMap<Backend, BanStore>,
    kernel: Box<dyn Kernel>,
    clock: Arc<dyn Clock>,
    /// Where a stored address of the wrong family for its set belongs.
    pairs: HashMap<SetRef, SetPair>,
    /// Networks whose end lets covered bans into the kernel (see [`cover`]).
    deferred: cover::Deferred,
    /// The allow sets (API accepts): what they hold is never banned while
    /// it is there, and requests into them skip the never-ban list.
    allow: Vec<SetRef>,
    /// Others' writes to the stores taken in, as of the last `refresh`.
    others_seen: u64,
}

impl Bans {
    /// The service over the real kernel.
    pub fn new(storage: &Path, never_ban: impl Into<NeverBan>, clock: Arc<dyn Clock>) -> Bans {
        Bans::with_kernel(storage, never_ban, clock, Box::new(Firewall::new()))
    }

    /// The service over any kernel (a fake one in tests).
    pub fn with_kernel(
        storage: &Path,
        never_ban: impl Into<NeverBan>,
        clock: Arc<dyn Clock>,
        kernel: Box<dyn Kernel>,
    ) -> Bans {
        let never_ban = never_ban.into();
        Bans {
            storage: storage.to_owned(),
            never_ban,
            stores: HashMap::new(),
            kernel,
            clock,
            pairs: HashMap::new(),
            deferred: cover::Deferred::default(),
            allow: Vec::new(),
            others_seen: 0,
        }
    }

    /// The sets of each ban action of the configuration, for restores (see
    /// [`SetPair`]).
    pub fn set_pairs(&mut self, pairs: Vec<SetPair>) {
        self.pairs = pairs.into_iter().map(|p| (p.set.clone(), p)).collect();
    }

    /// The allow sets of the configuration (`api.sets` accepts).
    pub fn set_allow_sets(&mut self, sets: Vec<SetRef>) {
        self.allow = sets;
    }

    /// Whether `set` is an allow set.
    pub fn is_allow_set(&self, set: &SetRef) -> bool {
        self.allow.contains(set)
    }

    /// Whether a live accept overlaps `net` (see [`Refusal::Allowed`]).
    fn allowed(&mut self, net: Network, now: u64, warn: &mut dyn FnMut(String)) -> bool {
        if self.allow.is_empty() {
            return false;
        }
        for backend in Backend::ALL {
            if !self.allow.iter().any(|s| s.backend() == backend) {
                continue;
            }
            let allow = std::mem::take(&mut self.allow);
            let found =
                matches!(self.existing_store(backend, warn), Ok(Some(store)) if store.overlaps_known(net, &allow, now));
            self.allow = allow;
            if found {
                return true;
            }
        }
        false
    }

    /// The never-ban list of a reloaded configuration, or of this host's
    /// addresses changed.
    pub fn set_never_ban(&mut self, never_ban: impl Into<NeverBan>) {
        self.never_ban = never_ban.into();
    }

    /// The time by the service's clock, in µs since the epoch.
    pub fn now_us(&self) -> u64 {
        self.clock.now_us()
    }

    /// The problems of the sets named (missing, wrong type...), one message each.
    pub fn check_sets(&mut self, needs: &[SetNeed]) -> Vec<String> {
        check_sets(self.kernel.as_mut(), needs)
    }

    /// Whether the set exists in the kernel.
    pub fn set_exists(&mut self, set: &SetRef) -> Result<bool, FirewallError> {
        self.kernel.shape(set).map(|shape| shape.is_some())
    }

    /// How many elements the kernel's set holds (`None`: it does not
    /// exist); cheap for an ipset only (see [`Kernel::count`]).
    pub fn kernel_count(&mut self, set: &SetRef) -> Result<Option<usize>, FirewallError> {
        self.kernel.count(set)
    }

    /// Starts hearing of changes others make to the kernel's sets; the
    /// descriptor to wait on, if any (see [`Kernel::watch`]).
    pub fn watch(&mut self) -> Result<Option<std::os::fd::RawFd>, FirewallError> {
        self.kernel.watch()
    }

    /// The changes heard since the last call (see [`Kernel::changes`]).
    pub fn changes(&mut self) -> Result<Vec<Change>, FirewallError> {
        self.kernel.changes()
    }

    /// Why the kernel's set cannot hold this ban at all (it does not exist,
    /// holds no addresses or the other family, or has no timeouts for a
    /// timed ban), asked of the kernel before anything is stored: a ban
    /// stored for a set that can never take it would be a ghost that every
    /// restore fails on. `Ok` when it fits, or when the kernel cannot be
    /// asked (the ban path then says what went wrong).
    pub fn fits(&mut self, request: &BanRequest) -> Result<(), String> {
        let shape = self.kernel.shape(&request.set).map_err(drop);
        fits_shape(request, shape)
    }

    /// [`fits`](Self::fits) for many requests, the kernel asked once per
    /// set (a flood from the fleet is thousands of bans into a few sets).
    pub fn fit_all<'r>(&mut self, requests: impl IntoIterator<Item = &'r BanRequest>) -> Vec<Result<(), String>> {
        let mut shapes: HashMap<SetRef, Result<Option<crate::firewall::SetShape>, ()>> = HashMap::new();
        requests
            .into_iter()
            .map(|r| {
                let shape = shapes.entry(r.set.clone()).or_insert_with(|| self.kernel.shape(&r.set).map_err(drop));
                fits_shape(r, shape.clone())
            })
            .collect()
    }

    /// The store of a backend, opened on first use; what it found wrong in
    /// the files is handed to `warn`.
    fn store(&mut self, backend: Backend, warn: &mut dyn FnMut(String)) -> Result<&mut BanStore, StoreError> {
        if !self.stores.contains_key(&backend) {
            let mut store = BanStore::open(&self.storage, backend)?;
            store.warnings.drain(..).for_each(&mut *warn);
            self.stores.insert(backend, store);
        }
        Ok(self.stores.get_mut(&backend).expect("inserted above"))
    }

    /// [`store`](Self::store), but only when the backend has a store
    /// already: reading must not create files for a backend never used.
    fn existing_store(
        &mut self,
        backend: Backend,
        warn: &mut dyn FnMut(String),
    ) -> Result<Option<&mut BanStore>, StoreError> {
        if !self.stores.contains_key(&backend) && !BanStore::exists(&self.storage, backend) {
            return Ok(None);
        }
        self.store(backend, warn).map(Some)
    }

    /// Makes the bans: never-ban list, then one store write per backend,
    /// then one kernel call for all. A ban only ever extends one in place
    /// (unless the request says `replace`): the store settles each end
    /// under its lock (see [`BanStore::settle`]), and the kernel gets the
    /// end settled, once per address and set. One outcome per request, in
    /// order.
    pub fn ban(&mut self, requests: &[BanRequest], warn: &mut dyn FnMut(String)) -> Vec<Outcome> {
        let now = self.now_us();
        // An accept is refused nothing; a ban, what the never-ban list or
        // a live accept holds.
        let refusals: Vec<Option<Refusal>> = requests
            .iter()
            .map(|r| match self.allow.contains(&r.set) {
                true => None,
                false => refusal(&self.never_ban, r.net)
                    .or_else(|| self.allowed(r.net, now, warn).then_some(Refusal::Allowed)),
            })
            .collect();
        // The refused keep this outcome; every other one is settled below.
        let mut outcomes: Vec<Outcome> =
            refusals.iter().map(|why| Outcome::Refused(why.unwrap_or(Refusal::NeverBan))).collect();
        let mut settled: Vec<Option<Until>> = vec![None; requests.len()];
        for backend in Backend::ALL {
            let mine: Vec<usize> = (0..requests.len())
                .filter(|&i| requests[i].set.backend() == backend && refusals[i].is_none())
                .collect();
            if mine.is_empty() {
                continue;
            }
            let asked: Vec<Record> = mine
                .iter()
                .map(|&i| {
                    let r = &requests[i];
                    Record {
                        net: r.net,
                        set: r.set.clone(),
                        until: r.lifetime.end(now),
                        start: now,
                        by: r.origin.tag(),
                        why: r.reason.clone(),
                    }
                })
                .collect();
            let mut decide = |current: Option<Until>, j: usize| match current {
                Some(end) if !requests[mine[j]].replace => end.later(asked[j].until),
                _ => asked[j].until,
            };
            // Held until the kernel has the bans: an unban in between would
            // be undone by the send.
            let settle = |store: &mut BanStore| store.hold().and_then(|()| store.settle(&asked, now, &mut decide));
            let ends = match self.store(backend, warn).and_then(settle) {
                Ok(ends) => {
                    for (j, &i) in mine.iter().enumerate() {
                        outcomes[i] = match ends[j] == asked[j].until {
                            true => Outcome::Banned(ends[j]),
                            false => Outcome::Kept(ends[j]),
                        };
                    }
                    ends
                }
                Err(e) => {
                    let e = Arc::new(e);
                    mine.iter().for_each(|&i| outcomes[i] = Outcome::NotStored(e.clone()));
                    // Not stored, but sent all the same: settled within the batch.
                    crate::store::settle_ends(&asked, now, &mut decide, |_, _| None).0
                }
            };
            for (j, &i) in mine.iter().enumerate() {
                settled[i] = Some(ends[j]);
            }
        }
        // One element per address and set, with the end settled last.
        let mut elements: Vec<KernelBan> = Vec::new();
        let mut ends: Vec<Until> = Vec::new();
        let mut element_of: Vec<Option<usize>> = vec![None; requests.len()];
        let mut index: HashMap<(Network, &SetRef), usize> = HashMap::new();
        for (i, end) in settled.iter().enumerate() {
            let Some(end) = end else { continue };
            let r = &requests[i];
            let e = *index.entry((r.net, &r.set)).or_insert_with(|| {
                elements.push(KernelBan { net: r.net, set: r.set.clone(), timeout: None });
                ends.push(*end);
                elements.len() - 1
            });
            elements[e].timeout = end.left(now);
            ends[e] = *end;
            element_of[i] = Some(e);
        }
        // Covered elements stay out of the kernel, what a new network
        // covers comes out of it (see `cover`).
        let (sent, removals) = self.cover_elements(&elements, &ends, now);
        let results = self.send_covering(&elements, &sent, &removals);
        self.stores.values_mut().for_each(BanStore::release);
        for (i, e) in element_of.iter().enumerate() {
            let Some(Err(kernel)) = e.map(|e| &results[e]) else { continue };
            outcomes[i] = match &outcomes[i] {
                Outcome::NotStored(store) => Outcome::Failed { store: store.clone(), kernel: kernel.clone() },
                _ => Outcome::KernelFailed(kernel.clone()),
            };
        }
        outcomes
    }

    /// Lifts the bans of `ip` (an address or network): from the store
    /// first, then from the kernel (see the module doc for why). A set the
    /// store had no record for is still cleared in the kernel (an element
    /// added by hand). An address inside a banned network stays banned by
    /// it (the kernel element is the network's: `still_covered` says so);
    /// a lifted network lets in the bans inside it that outlive it.
    pub fn unban(
        &mut self,
        ip: Network,
        from: UnbanFrom,
        warn: &mut dyn FnMut(String),
    ) -> Result<Vec<Lifted>, StoreError> {
        let now = self.now_us();
        let targets: Vec<SetRef> = match from {
            UnbanFrom::Set(set) => vec![set],
            UnbanFrom::Anywhere { named } => {
                let mut targets: Vec<SetRef> = self.lookup(ip, warn)?.into_iter().map(|(set, _)| set).collect();
                targets.sort();
                // And the sets the rules name that hold it without a record
                // (added by hand with nft, or a record lost with its file):
                // one element looked up, never the set dumped.
                for set in named {
                    if targets.contains(set) {
                        continue;
                    }
                    let held = match self.kernel.lookup(set, ip) {
                        Ok(Held::By { element, .. }) => element == ip,
                        // ipset says only that the set matches it.
                        Ok(Held::Matched) => true,
                        Ok(Held::No) | Err(_) => false,
                    };
                    if held {
                        targets.push(set.clone());
                    }
                }
                targets
            }
        };
        let mut lifted = Vec::with_capacity(targets.len());
        for set in targets {
            // Held until the kernel has let it go: a ban or a restore in
            // between would otherwise put back what the store forgot.
            let was_stored = match self.existing_store(set.backend(), warn)? {
                Some(store) => {
                    store.hold()?;
                    match store.unban(&[(ip, set.clone())], now) {
                        Ok(removed) => !removed.is_empty(),
                        Err(e) => {
                            store.release();
                            return Err(e);
                        }
                    }
                }
                None => false,
            };
            let still_covered = match self.stores.get(&set.backend()) {
                Some(store) => store
                    .covering_known(ip, now)
                    .into_iter()
                    .filter(|r| r.set == set)
                    .min_by_key(|r| r.net.prefix_len()),
                None => None,
            };
            let (kernel, let_in) = match still_covered {
                Some(_) => (Ok(()), 0),
                None => {
                    let kernel = self.kernel.delete(&set, &[ip]);
                    let let_in = match ip.is_host() {
                        true => 0,
                        false => self.let_in(&set, ip, now, warn).unwrap_or(0),
                    };
                    (kernel, let_in)
                }
            };
            self.stores.values_mut().for_each(BanStore::release);
            lifted.push(Lifted { set, was_stored, still_covered, kernel, let_in });
        }
        Ok(lifted)
    }

    /// Records bans in the store without sending them (an import: `boot`
    /// sends them). A ban already stored to end later keeps its end: an
    /// import never shortens a ban. Returns how many now end as imported
    /// (new, extended, or stored with that end already).
    pub fn import(&mut self, records: &[Record], warn: &mut dyn FnMut(String)) -> Result<usize, StoreError> {
        let now = self.now_us();
        let mut imported = 0;
        for backend in Backend::ALL {
            let mine: Vec<Record> = records.iter().filter(|r| r.set.backend() == backend).cloned().collect();
            if mine.is_empty() {
                continue;
            }
            let store = self.store(backend, warn)?;
            let ends = store
                .settle(&mine, now, &mut |current, j| current.map_or(mine[j].until, |end| end.later(mine[j].until)))?;
            imported += ends.iter().zip(&mine).filter(|(end, r)| **end == r.until).count();
        }
        Ok(imported)
    }

    /// Takes in what others wrote to the open stores; whether anything
    /// changed (see [`BanStore::refresh`]).
    pub fn refresh(&mut self, warn: &mut dyn FnMut(String)) -> bool {
        let mut others = 0;
        for store in self.stores.values_mut() {
            match store.refresh() {
                Ok(n) => others += n,
                Err(e) => warn(e.to_string()),
            }
        }
        std::mem::replace(&mut self.others_seen, others) != others
    }

    /// The live records of `sets` in the store (what the APIs' listing
    /// starts from).
    pub fn live_in(&mut self, sets: &[SetRef], warn: &mut dyn FnMut(String)) -> Result<Vec<Record>, StoreError> {
        let now = self.now_us();
        let mut found = Vec::new();
        for backend in Backend::ALL {
            if !sets.iter().any(|s| s.backend() == backend) {
                continue;
            }
            if let Some(store) = self.existing_store(backend, warn)? {
                found.extend(store.live_in(sets, now)?);
            }
        }
        Ok(found)
    }

    /// The live bans of `ip` (the address or network itself) in the store,
    /// by set.
    pub fn lookup(&mut self, ip: Network, warn: &mut dyn FnMut(String)) -> Result<Vec<(SetRef, Until)>, StoreError> {
        let now = self.now_us();
        let mut found = Vec::new();
        for backend in Backend::ALL {
            if let Some(store) = self.existing_store(backend, warn)? {
                found.extend(store.lookup(ip, now)?);
            }
        }
        Ok(found)
    }
}

/// Whether a set of this shape can hold the request (see [`Bans::fits`]).
fn fits_shape(
    request: &BanRequest,
    // `Err`: the kernel could not be asked.
    shape: Result<Option<crate::firewall::SetShape>, ()>,
) -> Result<(), String> {
    let set = &request.set;
    let shape = match shape {
        Ok(Some(shape)) => shape,
        Ok(None) => return Err(format!("{} does not exist", set.describe())),
        Err(_) => return Ok(()),
    };
    if let Some(why) = shape.unsuitable {
        return Err(format!("{} {why}", set.describe()));
    }
    let (family, other) = if request.net.is_ipv6() { ("IPv6", "IPv4") } else { ("IPv4", "IPv6") };
    if shape.holds_ipv6 != Some(request.net.is_ipv6()) {
        return Err(format!("{} holds {other} addresses, not {family} ones like {}", set.describe(), request.net));
    }
    if !request.net.is_host() && !shape.networks {
        let how = match set.backend() {
            Backend::Nft => "it has no \"flags interval\"",
            Backend::Ipset => "it is not of type hash:net",
        };
        return Err(format!(
            "{} takes single addresses only, not a network like {} ({how})",
            set.describe(),
            request.net
        ));
    }
    if !shape.timeout && request.lifetime != crate::vocab::Lifetime::Forever {
        return Err(format!("{} has no timeout support, so it cannot hold a ban for a time", set.describe()));
    }
    Ok(())
}
