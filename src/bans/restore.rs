//! Putting stored bans back in the kernel: all of them with read-back
//! verification (`boot`; fleet resync will reuse it), those of one set
//! after someone else emptied or re-created it (the daemon's
//! reconciliation, [`Bans::put_back`]), and the periodic renewal of ipset
//! bans longer than ipset's longest timeout. A ban goes back with the time
//! it has left, rounded up, so doing it twice changes nothing; nothing here
//! deletes an element.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use super::{cover, refusal, Bans};
use crate::firewall::{FirewallError, KernelBan, IPSET_MAX_TIMEOUT_SECS};
use crate::store::{BanStore, BulkStore, Record, StoreError, Until};
use crate::vocab::{Backend, Network, SetRef};

/// Bans sent per kernel call; the client splits them into transactions
/// of 128 kB anyway. What a slice costs on the way (its elements, their
/// wire form, the results) exists once at a time: 16,384 keep it to a few
/// MB (65,536 cost 10 MB of `boot`'s peak for 1,000,000 bans).
const RESTORE_SLICE: usize = 16_384;
/// Largest set read back after the bans are sent. Reading a set back costs
/// the kernel time quadratic in its size (each dump chunk walks the hash
/// table from its start: 0.4 s for 100,000 elements, 80 s for 1,000,000).
const VERIFY_MAX: usize = 200_000;

/// Records not restored that a report lists one by one.
pub const UNRESTORED_LISTED: usize = 100;

/// How often the daemon renews long ipset bans (see
/// [`Bans::renew_long_ipset_bans`]).
pub const RENEW_EVERY_SECS: u64 = 3600;

/// What a restore did.
#[derive(Debug, Default)]
pub struct RestoreReport {
    pub restored: usize,
    /// By set: how many were not restored, and the first reason.
    pub failed: BTreeMap<SetRef, (usize, String)>,
    /// The records not restored, each with its reason (the first
    /// [`UNRESTORED_LISTED`] of them).
    pub unrestored: Vec<(Network, SetRef, String)>,
    /// Stored bans of addresses on the never-ban list (or never a peer's):
    /// left in the store for the admin to unban, never put in the kernel.
    pub refused: Vec<(Network, SetRef)>,
    /// Bans inside a banned network of their set: the network's element
    /// holds them (see `cover`).
    pub covered: usize,
    /// Sets too large to read back, with their size.
    pub unchecked: Vec<(SetRef, usize)>,
    /// Sets that could not be read back.
    pub unverified: Vec<(SetRef, FirewallError)>,
    /// Sets that missed acknowledged bans and were sent them again, with
    /// how many.
    pub resent: Vec<(SetRef, usize)>,
    /// Stores whose files could not be rewritten afterwards (a full or
    /// read-only disk): the bans were restored all the same.
    pub not_compacted: Vec<StoreError>,
    /// Records of an address of the other family than their set's (an
    /// IPv4-mapped address in a Pyruse store's IPv6 set), moved to the
    /// action's set for that family: (address, from, to).
    pub moved: Vec<(Network, SetRef, SetRef)>,
    /// Stores with a snapshot that cannot be read: its bans are not
    /// restored (the log's are), and the file is left as it is.
    pub unreadable: Vec<StoreError>,
}

/// What [`Bans::put_back`] did.
#[derive(Debug, Default)]
pub struct PutBack {
    /// Live stored bans of the set (of those asked for, when only some were).
    pub stored: usize,
    /// Back in the kernel (the kernel acknowledged them).
    pub restored: usize,
    /// Refused by the kernel, with the first reason.
    pub failed: usize,
    pub error: Option<Arc<FirewallError>>,
    /// Stored bans of addresses on the never-ban list (or never a peer's):
    /// left out, as `boot` leaves them out.
    pub refused: usize,
}

/// The element that puts a stored record back with the time it has left.
pub(super) fn restoring(r: &Record, now_us: u64) -> KernelBan {
    KernelBan { net: r.net, set: r.set.clone(), timeout: r.time_left(now_us) }
}

impl Bans {
    /// Puts every live stored ban back in the kernel, then reads the sets
    /// back (those of up to `VERIFY_MAX` bans) and sends again what an
    /// acknowledged batch left out (seen once in testing: a few thousand of
    /// 50,000). Expired records are dropped from the files on the way.
    /// `progress` hears (bans sent, bans to send) of each backend.
    pub fn restore_all(
        &mut self,
        progress: &mut dyn FnMut(Backend, u64, u64),
        warn: &mut dyn FnMut(String),
    ) -> Result<RestoreReport, StoreError> {
        let now = self.now_us();
        let mut report = RestoreReport::default();
        for backend in Backend::ALL {
            if let Some(bulk) = self.bulk_store(backend)? {
                self.restore_bulk(backend, bulk, now, progress, &mut report);
                continue;
            }
            let Some(store) = self.existing_store(backend, warn)? else { continue };
            store.hold()?;
            let mut records = match store.live_unsorted(now) {
                Ok(records) => records,
                Err(e) => {
                    store.release();
                    return Err(e);
                }
            };
            if let Err(e) = self.move_to_their_family(backend, &mut records, now, &mut report) {
                report.not_compacted.push(e);
            }
            self.send_restored(backend, records.iter(), records.len(), now, progress, &mut report);
            let store = self.stores.get_mut(&backend).expect("opened above");
            match store.compact(now, false) {
                Ok(()) => {}
                Err(e @ StoreError::Unreadable { .. }) => report.unreadable.push(e),
                Err(e) => report.not_compacted.push(e),
            }
            store.release();
        }
        Ok(report)
    }

    /// The store of `backend` read in one pass without its index (see
    /// `store::BulkStore`: a fraction of the memory), when it has not been
    /// opened yet and holds only what that path takes: no record to move to
    /// the other family's set either.
    fn bulk_store(&mut self, backend: Backend) -> Result<Option<BulkStore>, StoreError> {
        if self.stores.contains_key(&backend) || !BanStore::exists(&self.storage, backend) {
            return Ok(None);
        }
        let Some(bulk) = BulkStore::open(&self.storage, backend)? else { return Ok(None) };
        let misplaced = |r: &Record| self.pairs.get(&r.set).is_some_and(|pair| r.net.is_ipv6() != pair.ipv6);
        Ok((!bulk.records.iter().any(misplaced)).then_some(bulk))
    }

    /// [`restore_all`](Self::restore_all) of one store read by
    /// [`bulk_store`](Self::bulk_store); rewrites it if its log held lines.
    fn restore_bulk(
        &mut self,
        backend: Backend,
        mut bulk: BulkStore,
        now: u64,
        progress: &mut dyn FnMut(Backend, u64, u64),
        report: &mut RestoreReport,
    ) {
        let live = bulk.records.iter().filter(|r| r.until.is_live(now));
        self.send_restored(backend, live, bulk.records.len(), now, progress, report);
        if bulk.dirty {
            if let Err(e) = bulk.rewrite() {
                report.not_compacted.push(e);
            }
        }
    }

    /// Sends the live records (at most `most` of them) that the never-ban
    /// list allows and no other record covers, in slices, then reads the
    /// sets back. One list of references, made once at its full size.
    fn send_restored<'a>(
        &mut self,
        backend: Backend,
        records: impl Iterator<Item = &'a Record>,
        most: usize,
        now: u64,
        progress: &mut dyn FnMut(Backend, u64, u64),
        report: &mut RestoreReport,
    ) {
        let mut allowed: Vec<&Record> = Vec::with_capacity(most);
        for r in records {
            match refusal(&self.never_ban, r.net) {
                None => allowed.push(r),
                Some(_) => report.refused.push((r.net, r.set.clone())),
            }
        }
        let plan = cover::plan(allowed);
        report.covered += plan.covered;
        self.deferred.add(plan.deferred);
        let wanted = plan.send;
        // In slices, so that only one slice of elements exists at a time.
        let mut sent = 0;
        for slice in wanted.chunks(RESTORE_SLICE) {
            let elements: Vec<KernelBan> = slice.iter().map(|r| restoring(r, now)).collect();
            for (r, result) in slice.iter().zip(self.kernel.add(&elements)) {
                match result {
                    Ok(()) => report.restored += 1,
                    Err(e) => {
                        report.failed.entry(r.set.clone()).or_insert((0, e.to_string())).0 += 1;
                        if report.unrestored.len() < UNRESTORED_LISTED {
                            report.unrestored.push((r.net, r.set.clone(), e.to_string()));
                        }
                    }
                }
            }
            sent += slice.len() as u64;
            progress(backend, sent, wanted.len() as u64);
        }
        self.verify(&wanted, report);
    }

    /// Records whose address is of the other family than their set's (as
    /// the configuration pairs them) go to the action's set for that
    /// family, in the store (a later end there stays) and in `records`.
    fn move_to_their_family(
        &mut self,
        backend: Backend,
        records: &mut [Record],
        now: u64,
        report: &mut RestoreReport,
    ) -> Result<(), StoreError> {
        let mut moving: Vec<(usize, Record)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let Some(pair) = self.pairs.get(&r.set) else { continue };
            if r.net.is_ipv6() != pair.ipv6 && pair.pair.backend() == backend {
                moving.push((i, Record { set: pair.pair.clone(), ..r.clone() }));
            }
        }
        if moving.is_empty() {
            return Ok(());
        }
        let store = self.stores.get_mut(&backend).expect("opened by the caller");
        let moved: Vec<Record> = moving.iter().map(|(_, r)| r.clone()).collect();
        store.settle(&moved, now, &mut |current, j| current.map_or(moved[j].until, |end| end.later(moved[j].until)))?;
        let keys: Vec<(Network, SetRef)> =
            moving.iter().map(|&(i, _)| (records[i].net, records[i].set.clone())).collect();
        store.unban(&keys, now)?;
        for (i, to) in moving {
            report.moved.push((to.net, records[i].set.clone(), to.set.clone()));
            records[i] = to;
        }
        Ok(())
    }

    /// Puts the live stored bans of one set back in the kernel, each with
    /// the time it has left: all of them, or only those starting at the
    /// addresses in `only` (what a notification said was removed). It only
    /// adds (the outermost bans: see `cover`): what the set holds without a record (added by
    /// hand) stays as it is. The store is held from the read to the kernel's
    /// answer, so an unban meanwhile cannot be undone by it. One kernel call
    /// (the client packs it in as few transactions as it can), no read-back:
    /// this runs while the daemon judges entries, and reading a large set
    /// back costs more than sending it (see [`VERIFY_MAX`]).
    pub fn put_back(
        &mut self,
        set: &SetRef,
        only: Option<&HashSet<IpAddr>>,
        warn: &mut dyn FnMut(String),
    ) -> Result<PutBack, StoreError> {
        let now = self.now_us();
        let mut report = PutBack::default();
        let Some(store) = self.existing_store(set.backend(), warn)? else { return Ok(report) };
        store.hold()?;
        let records = match store.live_unsorted(now) {
            Ok(records) => records,
            Err(e) => {
                store.release();
                return Err(e);
            }
        };
        let allowed: Vec<&Record> = records
            .iter()
            .filter(|r| r.set == *set)
            .filter(|r| {
                let allowed = refusal(&self.never_ban, r.net).is_none();
                report.refused += usize::from(!allowed);
                allowed
            })
            .collect();
        let plan = cover::plan(allowed);
        let elements: Vec<KernelBan> = plan
            .send
            .iter()
            .filter(|r| only.is_none_or(|only| only.contains(&r.net.first())))
            .map(|r| restoring(r, now))
            .collect();
        self.deferred.add(plan.deferred);
        drop(records);
        report.stored = elements.len() + report.refused;
        if !elements.is_empty() {
            for result in self.kernel.add(&elements) {
                match result {
                    Ok(()) => report.restored += 1,
                    Err(e) => {
                        report.failed += 1;
                        report.error.get_or_insert(e);
                    }
                }
            }
        }
        self.stores.values_mut().for_each(BanStore::release);
        Ok(report)
    }

    /// The sets that hold live stored bans of `backend`, with how many
    /// elements the kernel should hold for them (the outermost: see `cover`).
    pub fn stored_sets(
        &mut self,
        backend: Backend,
        warn: &mut dyn FnMut(String),
    ) -> Result<BTreeMap<SetRef, usize>, StoreError> {
        let now = self.now_us();
        let mut sets = BTreeMap::new();
        if let Some(store) = self.existing_store(backend, warn)? {
            let live = store.live_unsorted(now)?;
            for r in cover::plan(live.iter().collect()).send {
                *sets.entry(r.set.clone()).or_insert(0) += 1;
            }
        }
        Ok(sets)
    }

    /// Reads back the sets `wanted` went to; sends again what is missing,
    /// up to three times.
    fn verify(&mut self, wanted: &[&Record], report: &mut RestoreReport) {
        let mut sizes: BTreeMap<&SetRef, usize> = BTreeMap::new();
        for r in wanted.iter().filter(|r| !report.failed.contains_key(&r.set)) {
            *sizes.entry(&r.set).or_default() += 1;
        }
        for (set, size) in sizes {
            if size > VERIFY_MAX {
                report.unchecked.push((set.clone(), size));
                continue;
            }
            for attempt in 0..3 {
                let held: HashSet<Network> = match self.kernel.list(set) {
                    Ok(elements) => elements.into_iter().map(|(ip, _)| ip).collect(),
                    Err(e) => {
                        report.unverified.push((set.clone(), e));
                        break;
                    }
                };
                // A ban that ended since it was sent is rightly gone (the
                // kernel dropped it): not a failure. A second of margin for
                // the kernel's own clock.
                let now = self.now_us();
                let missing: Vec<KernelBan> = wanted
                    .iter()
                    .filter(|r| r.set == *set && !held.contains(&r.net) && r.until.is_live(now + 1_000_000))
                    .map(|r| restoring(r, now))
                    .collect();
                if missing.is_empty() {
                    break;
                }
                if attempt == 2 {
                    report.failed.entry(set.clone()).or_insert((missing.len(), "missing after three tries".into()));
                    break;
                }
                report.resent.push((set.clone(), missing.len()));
                let _ = self.kernel.add(&missing);
            }
        }
    }

    /// Re-sends the stored ipset bans that may outlast the timeout the
    /// kernel holds for them. ipset caps a timeout at about 24.8 days
    /// ([`IPSET_MAX_TIMEOUT_SECS`]), so a 30-day ban would end early. Run at
    /// least every [`RENEW_EVERY_SECS`], this keeps every such element in the
    /// kernel until its stored end: a ban with more than the cap less two
    /// periods left is re-sent with `min(left, cap)`, and one with less than
    /// that was last sent when its whole remainder fitted, or is re-sent now.
    /// Returns how many were re-sent, and the errors (one per set and kind).
    pub fn renew_long_ipset_bans(
        &mut self,
        warn: &mut dyn FnMut(String),
    ) -> Result<(usize, Vec<Arc<FirewallError>>), StoreError> {
        let now = self.now_us();
        let threshold_us = (IPSET_MAX_TIMEOUT_SECS - 2 * RENEW_EVERY_SECS) * 1_000_000;
        let Some(store) = self.existing_store(Backend::Ipset, warn)? else { return Ok((0, Vec::new())) };
        let live = store.live_unsorted(now)?;
        let renew: Vec<KernelBan> = cover::plan(live.iter().collect())
            .send
            .into_iter()
            .filter(|r| matches!(r.until, Until::At(end) if end - now > threshold_us))
            .map(|r| restoring(r, now))
            .collect();
        let mut errors: Vec<Arc<FirewallError>> = Vec::new();
        let mut seen = HashSet::new();
        let mut renewed = 0;
        for (ban, result) in renew.iter().zip(self.kernel.add(&renew)) {
            match result {
                Ok(()) => renewed += 1,
                Err(e) => {
                    if seen.insert((ban.set.clone(), e.kind())) {
                        errors.push(e);
                    }
                }
            }
        }
        Ok((renewed, errors))
    }
}
