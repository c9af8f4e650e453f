//! The ban service: the one path every ban and unban takes, whoever asks
//! (the rules, the command line, and later the APIs and the fleet).
//!
//! It owns the stores and the kernel (the firewall is private to it) and
//! holds three rules:
//!
//! - **never-ban first**: an address on the never-ban list (configured, or
//!   one of this host's) is refused before anything is written;
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

mod inventory;
mod restore;
#[cfg(test)]
mod tests;

/// Whether `a` ends after `b` (forever is the latest).
fn later(a: Until, b: Until) -> bool {
    match (a, b) {
        (Until::Forever, Until::Forever) => false,
        (Until::Forever, _) => true,
        (_, Until::Forever) => false,
        (Until::At(a), Until::At(b)) => a > b,
    }
}

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use inventory::{Inventory, Row};
pub use restore::{RestoreReport, RENEW_EVERY_SECS};

use crate::firewall::check::{check_sets, SetNeed};
use crate::firewall::{ErrorKind, Firewall, FirewallError, Kernel, KernelBan};
use crate::store::{BanStore, Record, StoreError, Until};
use crate::time::Clock;
use crate::vocab::{Backend, BanRequest, Network, SetRef};

/// What became of a ban request.
#[derive(Clone, Debug)]
pub enum Outcome {
    Banned,
    /// On the never-ban list: nothing stored, nothing sent.
    Refused,
    /// In the kernel, but the store could not record it: lost at reboot.
    NotStored(Arc<StoreError>),
    /// Stored, but the kernel refused it.
    KernelFailed(Arc<FirewallError>),
    /// Neither stored nor in the kernel.
    Failed {
        store: Arc<StoreError>,
        kernel: Arc<FirewallError>,
    },
}

/// The kind of a failed [`Outcome`], with no address in it: what callers
/// count and throttle their messages by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    NeverBan,
    Store(std::io::ErrorKind),
    Kernel(ErrorKind),
    Both(std::io::ErrorKind, ErrorKind),
}

impl Outcome {
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Outcome::Banned => None,
            Outcome::Refused => Some(Failure::NeverBan),
            Outcome::NotStored(store) => Some(Failure::Store(store.kind())),
            Outcome::KernelFailed(kernel) => Some(Failure::Kernel(kernel.kind())),
            Outcome::Failed { store, kernel } => Some(Failure::Both(store.kind(), kernel.kind())),
        }
    }
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
    /// How the kernel took the removal.
    pub kernel: Result<(), FirewallError>,
}

pub struct Bans {
    storage: PathBuf,
    never_ban: Vec<Network>,
    stores: HashMap<Backend, BanStore>,
    kernel: Box<dyn Kernel>,
    clock: Arc<dyn Clock>,
}

impl Bans {
    /// The service over the real kernel.
    pub fn new(storage: &Path, never_ban: Vec<Network>, clock: Arc<dyn Clock>) -> Bans {
        Bans::with_kernel(storage, never_ban, clock, Box::new(Firewall::new()))
    }

    /// The service over any kernel (a fake one in tests).
    pub fn with_kernel(
        storage: &Path,
        never_ban: Vec<Network>,
        clock: Arc<dyn Clock>,
        kernel: Box<dyn Kernel>,
    ) -> Bans {
        Bans { storage: storage.to_owned(), never_ban, stores: HashMap::new(), kernel, clock }
    }

    /// The never-ban list of a reloaded configuration.
    pub fn set_never_ban(&mut self, never_ban: Vec<Network>) {
        self.never_ban = never_ban;
    }

    pub fn is_never_banned(&self, ip: IpAddr) -> bool {
        crate::vocab::any_contains(&self.never_ban, ip)
    }

    /// The time by the service's clock, in µs since the epoch.
    pub fn now_us(&self) -> u64 {
        self.clock.now_us()
    }

    /// The problems of the sets named (missing, wrong type...), one message each.
    pub fn check_sets(&mut self, needs: &[SetNeed]) -> Vec<String> {
        check_sets(self.kernel.as_mut(), needs)
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

    /// Makes the bans: never-ban list, one store write per backend, then one
    /// kernel call for all. One outcome per request, in order.
    pub fn ban(&mut self, requests: &[BanRequest], warn: &mut dyn FnMut(String)) -> Vec<Outcome> {
        let now = self.now_us();
        let mut outcomes: Vec<Outcome> = vec![Outcome::Banned; requests.len()];
        let mut to_send: Vec<usize> = Vec::with_capacity(requests.len());
        for backend in Backend::ALL {
            let mine: Vec<usize> = (0..requests.len())
                .filter(|&i| requests[i].set.backend() == backend)
                .filter(|&i| {
                    let refused = self.is_never_banned(requests[i].ip);
                    if refused {
                        outcomes[i] = Outcome::Refused;
                    }
                    !refused
                })
                .collect();
            if mine.is_empty() {
                continue;
            }
            let records: Vec<Record> = mine
                .iter()
                .map(|&i| {
                    let r = &requests[i];
                    Record { ip: r.ip, set: r.set.clone(), until: r.lifetime.end(now) }
                })
                .collect();
            if let Err(e) = self.store(backend, warn).and_then(|store| store.ban(&records, now)) {
                let e = Arc::new(e);
                mine.iter().for_each(|&i| outcomes[i] = Outcome::NotStored(e.clone()));
            }
            to_send.extend(mine);
        }
        let bans: Vec<KernelBan> = to_send
            .iter()
            .map(|&i| {
                let r = &requests[i];
                KernelBan { ip: r.ip, set: r.set.clone(), timeout: r.lifetime.end(now).left(now) }
            })
            .collect();
        for (&i, result) in to_send.iter().zip(self.kernel.add(&bans)) {
            if let Err(kernel) = result {
                outcomes[i] = match &outcomes[i] {
                    Outcome::NotStored(store) => Outcome::Failed { store: store.clone(), kernel },
                    _ => Outcome::KernelFailed(kernel),
                };
            }
        }
        outcomes
    }

    /// Lifts the bans of `ip`: from the store first, then from the kernel
    /// (see the module doc for why). A set the store had no record for is
    /// still cleared in the kernel (an element added by hand).
    pub fn unban(
        &mut self,
        ip: IpAddr,
        from: UnbanFrom,
        warn: &mut dyn FnMut(String),
    ) -> Result<Vec<Lifted>, StoreError> {
        let now = self.now_us();
        let targets: Vec<SetRef> = match from {
            UnbanFrom::Set(set) => vec![set],
            UnbanFrom::Anywhere { named } => {
                let mut targets: Vec<SetRef> = Vec::new();
                for backend in Backend::ALL {
                    if let Some(store) = self.existing_store(backend, warn)? {
                        targets.extend(store.lookup(ip, now)?.into_iter().map(|(set, _)| set));
                    }
                }
                targets.sort();
                // And the sets the rules name that hold it without a record
                // (added by hand with nft, or a record lost with its file).
                for set in named {
                    if targets.contains(set) {
                        continue;
                    }
                    let held = self.kernel.list(set);
                    if held.is_ok_and(|elements| elements.iter().any(|(found, _)| *found == ip)) {
                        targets.push(set.clone());
                    }
                }
                targets
            }
        };
        let mut lifted = Vec::with_capacity(targets.len());
        for set in targets {
            let was_stored = match self.existing_store(set.backend(), warn)? {
                Some(store) => !store.unban(&[(ip, set.clone())], now)?.is_empty(),
                None => false,
            };
            let kernel = self.kernel.delete(&set, &[ip]);
            lifted.push(Lifted { set, was_stored, kernel });
        }
        Ok(lifted)
    }

    /// Records bans in the store without sending them (an import: `boot`
    /// sends them). Where the store already ends a ban later, that end
    /// stays: an import never shortens a ban. Returns how many were recorded.
    pub fn import(&mut self, records: &[Record], warn: &mut dyn FnMut(String)) -> Result<usize, StoreError> {
        let now = self.now_us();
        let mut imported = 0;
        for backend in Backend::ALL {
            let mut mine: Vec<Record> = records.iter().filter(|r| r.set.backend() == backend).cloned().collect();
            if mine.is_empty() {
                continue;
            }
            let store = self.store(backend, warn)?;
            let stored: HashMap<(IpAddr, SetRef), Until> = mine
                .iter()
                .flat_map(|r| store.lookup(r.ip, now).ok().into_iter().flatten().map(move |(s, u)| ((r.ip, s), u)))
                .collect();
            mine.retain(|r| stored.get(&(r.ip, r.set.clone())).is_none_or(|&end| !later(end, r.until)));
            store.ban(&mine, now)?;
            imported += mine.len();
        }
        Ok(imported)
    }

    /// The live bans of `ip` in the store, by set.
    pub fn lookup(&mut self, ip: IpAddr, warn: &mut dyn FnMut(String)) -> Result<Vec<(SetRef, Until)>, StoreError> {
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
