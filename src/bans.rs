//! Carrying out bans: refuse what must never be banned, record the rest in
//! the store durably, then put them in the kernel sets.
//!
//! The order is what makes a crash harmless: a ban is in the store before
//! the kernel has it, so every ban the kernel acknowledged is on disk; a
//! crash in between leaves a stored ban the next `boot` puts in place. A ban
//! the kernel refuses (no such set, set full) stays stored, so it takes
//! effect at the next `boot` once the set exists; `list` shows the gap.
//! A ban the store cannot record (disk full, say) is still sent: stopping
//! the attacker now matters more than remembering it after a reboot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::effect::Backend;
use crate::filters::networks::Network;
use crate::firewall::{Ban, Firewall, IPSET_MAX_TIMEOUT_SECS};
use crate::store::{BanStore, Record, StoreError, Until};

/// A ban to make: `ban_seconds` from now, or forever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub backend: Backend,
    pub ip: IpAddr,
    pub set: String,
    pub ban_seconds: Option<u64>,
}

/// What became of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Banned,
    /// On the never-ban list: nothing stored, nothing sent.
    Refused,
    /// In the kernel, but the store could not record it: lost at reboot.
    NotStored(String),
    /// Stored, but the kernel refused it.
    KernelFailed(String),
    /// Neither stored nor in the kernel (both errors).
    Failed(String),
}

pub struct Bans {
    storage: PathBuf,
    never_ban: Vec<Network>,
    stores: HashMap<Backend, BanStore>,
    firewall: Firewall,
}

impl Bans {
    pub fn new(storage: &Path, never_ban: Vec<Network>) -> Bans {
        Bans { storage: storage.to_owned(), never_ban, stores: HashMap::new(), firewall: Firewall::new() }
    }

    /// The never-ban list of a reloaded configuration.
    pub fn set_never_ban(&mut self, never_ban: Vec<Network>) {
        self.never_ban = never_ban;
    }

    pub fn is_never_banned(&self, ip: IpAddr) -> bool {
        self.never_ban.iter().any(|net| net.contains(ip))
    }

    /// The store of a backend, opened on first use; what it found wrong in
    /// the files is handed to `warn`.
    pub fn store(&mut self, backend: Backend, warn: &mut dyn FnMut(String)) -> Result<&mut BanStore, StoreError> {
        if !self.stores.contains_key(&backend) {
            let mut store = BanStore::open(&self.storage, backend)?;
            store.warnings.drain(..).for_each(&mut *warn);
            self.stores.insert(backend, store);
        }
        Ok(self.stores.get_mut(&backend).expect("inserted above"))
    }

    /// [`store`](Self::store), but only when the backend has a store
    /// already: reading must not create files for a backend never used.
    pub fn existing_store(
        &mut self,
        backend: Backend,
        warn: &mut dyn FnMut(String),
    ) -> Result<Option<&mut BanStore>, StoreError> {
        if !self.stores.contains_key(&backend) && !BanStore::exists(&self.storage, backend) {
            return Ok(None);
        }
        self.store(backend, warn).map(Some)
    }

    pub fn firewall(&mut self) -> &mut Firewall {
        &mut self.firewall
    }

    /// Makes the bans, as one store write and one firewall call per backend.
    pub fn apply(&mut self, requests: &[Request], now_us: u64, warn: &mut dyn FnMut(String)) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = vec![Outcome::Banned; requests.len()];
        let mut to_send: Vec<(usize, Ban)> = Vec::new();
        for backend in [Backend::Nft, Backend::Ipset] {
            let mine: Vec<usize> = (0..requests.len())
                .filter(|&i| requests[i].backend == backend)
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
                    let until = r
                        .ban_seconds
                        .map_or(Until::Forever, |s| Until::At(now_us.saturating_add(s.saturating_mul(1_000_000))));
                    Record { ip: r.ip, set: r.set.clone(), until }
                })
                .collect();
            let stored = self.store(backend, warn).and_then(|store| store.ban(&records, now_us));
            if let Err(e) = stored {
                mine.iter().for_each(|&i| outcomes[i] = Outcome::NotStored(e.to_string()));
            }
            to_send.extend(mine.iter().map(|&i| {
                let r = &requests[i];
                (
                    i,
                    Ban {
                        backend,
                        ip: r.ip,
                        set: r.set.clone(),
                        timeout_ms: r.ban_seconds.map(|s| s.saturating_mul(1000)),
                    },
                )
            }));
        }
        let bans: Vec<Ban> = to_send.iter().map(|(_, b)| b.clone()).collect();
        for ((i, _), result) in to_send.iter().zip(self.firewall.ban(&bans)) {
            if let Err(e) = result {
                outcomes[*i] = match &outcomes[*i] {
                    Outcome::NotStored(store) => Outcome::Failed(format!("{e}; and not stored: {store}")),
                    _ => Outcome::KernelFailed(e),
                };
            }
        }
        outcomes
    }
}

/// The ban that puts a stored record back in the kernel with the time it
/// has left (`boot`, and the renewal of long ipset bans).
pub fn restoring(backend: Backend, r: &Record, now_us: u64) -> Ban {
    let timeout_ms = match r.until {
        Until::Forever => None,
        // Round up: a ban is never lifted early.
        Until::At(t) => Some(t.saturating_sub(now_us).div_ceil(1000).max(1)),
    };
    Ban { backend, ip: r.ip, set: r.set.clone(), timeout_ms }
}

/// How often the daemon renews long ipset bans (see
/// [`Bans::renew_long_ipset_bans`]).
pub const RENEW_EVERY_SECS: u64 = 3600;

impl Bans {
    /// Re-sends the stored ipset bans that may outlast the timeout the
    /// kernel holds for them. ipset caps a timeout at about 24.8 days
    /// ([`IPSET_MAX_TIMEOUT_SECS`]), so a 30-day ban would end early. Run at
    /// least every [`RENEW_EVERY_SECS`], this keeps every such element in the
    /// kernel until its stored end: a ban with more than the cap less two
    /// periods left is re-sent with `min(left, cap)`, and one with less than
    /// that was last sent when its whole remainder fitted, or is re-sent now.
    /// Returns how many were re-sent, and the errors (one per set).
    pub fn renew_long_ipset_bans(&mut self, now_us: u64, warn: &mut dyn FnMut(String)) -> (usize, Vec<String>) {
        let threshold_us = (IPSET_MAX_TIMEOUT_SECS - 2 * RENEW_EVERY_SECS) * 1_000_000;
        let records = match self.existing_store(Backend::Ipset, warn) {
            Ok(None) => return (0, Vec::new()),
            Ok(Some(store)) => match store.live(now_us) {
                Ok(records) => records,
                Err(e) => return (0, vec![e.to_string()]),
            },
            Err(e) => return (0, vec![e.to_string()]),
        };
        let renew: Vec<Ban> = records
            .iter()
            .filter(|r| matches!(r.until, Until::At(end) if end - now_us > threshold_us))
            .map(|r| restoring(Backend::Ipset, r, now_us))
            .collect();
        let mut errors: Vec<String> = Vec::new();
        let mut renewed = 0;
        for result in self.firewall.ban(&renew) {
            match result {
                Ok(()) => renewed += 1,
                Err(e) if !errors.contains(&e) => errors.push(e),
                Err(_) => {}
            }
        }
        (renewed, errors)
    }
}
