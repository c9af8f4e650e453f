//! The ban service's side of [`cover`](super::cover): which elements of a
//! batch the kernel gets, what a new network takes out of it, and the
//! covered bans let in when their network ends or is lifted.

use std::collections::BTreeMap;

use super::cover::{self, Deferral};
use super::restore::restoring;
use super::Bans;
use crate::firewall::{KernelBan, KernelResult};
use crate::store::{Record, StoreError, Until};
use crate::vocab::{Backend, Network, SetRef};

/// Elements to take out of sets before (nftables) or after (ipset) a batch.
pub(super) type Removals = BTreeMap<SetRef, Vec<Network>>;

impl Bans {
    /// For each element (its settled end in `ends`): whether the kernel gets
    /// it (not when a live network of its set covers it), and what the
    /// networks among them cover that the kernel holds now. Read from the
    /// stores as the caller's settle left them (held).
    pub(super) fn cover_elements(&mut self, elements: &[KernelBan], ends: &[Until], now: u64) -> (Vec<bool>, Removals) {
        let mut send = vec![true; elements.len()];
        let mut removals = Removals::new();
        let mut deferrals: Vec<Deferral> = Vec::new();
        for (k, e) in elements.iter().enumerate() {
            let Some(store) = self.stores.get(&e.set.backend()) else { continue };
            let outer = store
                .covering_known(e.net, now)
                .into_iter()
                .filter(|r| r.set == e.set)
                .min_by_key(|r| r.net.prefix_len());
            if let Some(outer) = outer {
                send[k] = false;
                if cover::outlives(ends[k], outer.until) {
                    deferrals.extend(cover::deferral(&outer));
                }
                continue;
            }
            if e.net.is_host() {
                continue;
            }
            let inside: Vec<Record> = store.inside_known(e.net, now).into_iter().filter(|r| r.set == e.set).collect();
            if inside.is_empty() {
                continue;
            }
            let held_now = cover::plan(inside.iter().collect());
            removals.entry(e.set.clone()).or_default().extend(held_now.send.iter().map(|r| r.net));
            if let (true, Until::At(t)) = (inside.iter().any(|r| cover::outlives(r.until, ends[k])), ends[k]) {
                deferrals.push((t, e.set.clone(), e.net));
            }
        }
        self.deferred.add(deferrals);
        (send, removals)
    }

    /// Sends the elements marked in `send`, taking `removals` out of their
    /// sets: first for nftables (an interval set refuses an element that
    /// overlaps one it holds, and the deletion and the addition follow
    /// each other within microseconds), after for ipset (which takes
    /// overlaps, so the addresses are never out of a set meanwhile). One
    /// result per element; those not sent are `Ok`.
    pub(super) fn send_covering(
        &mut self,
        elements: &[KernelBan],
        send: &[bool],
        removals: &Removals,
    ) -> Vec<KernelResult> {
        let remove = |bans: &mut Bans, backend: Backend| {
            for (set, nets) in removals.iter().filter(|(set, _)| set.backend() == backend) {
                // A failure shows in the addition that follows (an overlap).
                let _ = bans.kernel.delete(set, nets);
            }
        };
        remove(self, Backend::Nft);
        let results = if send.iter().all(|s| *s) {
            self.kernel.add(elements)
        } else {
            let picked: Vec<usize> = (0..elements.len()).filter(|&k| send[k]).collect();
            let subset: Vec<KernelBan> = picked.iter().map(|&k| elements[k].clone()).collect();
            let mut results: Vec<KernelResult> = vec![Ok(()); elements.len()];
            for (k, result) in picked.into_iter().zip(self.kernel.add(&subset)) {
                results[k] = result;
            }
            results
        };
        remove(self, Backend::Ipset);
        results
    }

    /// When the next network ends that covers a ban outliving it.
    pub fn next_uncover(&self) -> Option<u64> {
        self.deferred.next()
    }

    /// Puts in the kernel the covered bans whose network has ended (see
    /// [`cover`]); returns how many were sent.
    pub fn uncover(&mut self, warn: &mut dyn FnMut(String)) -> Result<usize, StoreError> {
        let now = self.now_us();
        let due = self.deferred.take_due(now);
        let mut sent = 0;
        for (_, set, net) in due {
            sent += self.let_in(&set, net, now, warn)?;
        }
        Ok(sent)
    }

    /// Sends what the kernel should hold of `set` inside `net` (`net`
    /// included, if still live) now that `net` may have ended or been
    /// lifted; registers the deferrals this makes. Nothing when a larger
    /// live network covers `net`: its own end will do it.
    pub(super) fn let_in(
        &mut self,
        set: &SetRef,
        net: Network,
        now: u64,
        warn: &mut dyn FnMut(String),
    ) -> Result<usize, StoreError> {
        let Some(store) = self.existing_store(set.backend(), warn)? else { return Ok(0) };
        if store.covering(net, now)?.iter().any(|r| r.set == *set) {
            return Ok(0);
        }
        let mut records: Vec<Record> = store.inside_known(net, now).into_iter().filter(|r| r.set == *set).collect();
        let itself: Vec<Record> = store
            .lookup(net, now)?
            .into_iter()
            .filter(|(s, _)| s == set)
            .map(|(set, until)| Record { net, set, until, start: 0, by: None, why: None })
            .collect();
        if itself.is_empty() && !records.is_empty() {
            // Ended by the store's clock, maybe not yet by the kernel's (its
            // timeout was rounded up): out first, or an interval set would
            // refuse what it covers.
            let _ = self.kernel.delete(set, &[net]);
        }
        records.extend(itself);
        let plan = cover::plan(records.iter().collect());
        let elements: Vec<KernelBan> = plan
            .send
            .iter()
            .filter(|r| super::refusal(&self.never_ban, r.net).is_none())
            .map(|r| restoring(r, now))
            .collect();
        self.deferred.add(plan.deferred);
        let sent = self.kernel.add(&elements).iter().filter(|r| r.is_ok()).count();
        Ok(sent)
    }

    /// Finds, in the stores, the networks that cover bans outliving them,
    /// so that a daemon started after them lets those bans in on time.
    pub fn scan_deferred(&mut self, warn: &mut dyn FnMut(String)) -> Result<usize, StoreError> {
        let now = self.now_us();
        let mut found = Vec::new();
        for backend in Backend::ALL {
            if let Some(store) = self.existing_store(backend, warn)? {
                let records = store.live_unsorted(now)?;
                found.extend(cover::plan(records.iter().collect()).deferred);
            }
        }
        let n = found.len();
        self.deferred.add(found);
        Ok(n)
    }

    /// The live bans of networks that hold `net` (itself excluded), in
    /// every set.
    pub fn covering(&mut self, net: Network, warn: &mut dyn FnMut(String)) -> Result<Vec<Record>, StoreError> {
        let now = self.now_us();
        let mut found = Vec::new();
        for backend in Backend::ALL {
            if let Some(store) = self.existing_store(backend, warn)? {
                found.extend(store.covering(net, now)?);
            }
        }
        Ok(found)
    }
}
