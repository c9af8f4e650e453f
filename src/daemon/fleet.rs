//! The loop's side of the fleet: what other hosts decided, carried out
//! through the same ban path as the journal's bans (never-ban list, allow
//! sets, the no-shrink rule, store, kernel), and the stream position saved
//! with the journal's cursor once it is durable.
//!
//! Bans of one command go out in one batch; an unban waits for the bans
//! before it. What this host decides is told to the fleet from the queue
//! (`queue.rs`), never from here: a ban applied from the fleet is not
//! published again.

use std::sync::{Arc, Mutex};

use super::*;
use crate::bans::UnbanFrom;
use crate::diag::About;
use crate::door::{Applied, FleetOp, Reply};
use crate::effect::Level;
use crate::journal::ids;
use crate::vocab::{BanRequest, SetRef};

impl Daemon {
    /// The fleet's stream position saved with the cursor at the last
    /// start (where the fleet resumes).
    pub fn fleet_position(&self) -> Option<String> {
        self.fleet_position.clone()
    }

    /// The sets this daemon knows (its rules', the APIs', `fleet.map`'s),
    /// published for the fleet, which maps the fleet's set names to them.
    pub fn known_sets(&self) -> Arc<crate::door::KnownSets> {
        self.known_sets.clone()
    }

    /// Hands the decisions the fleet settings share to `announce`.
    pub fn on_decisions(mut self, announce: crate::door::Announce) -> Daemon {
        if let Some(fleet) = self.settings.fleet.clone() {
            self.queue.share(fleet, announce);
        }
        self
    }

    /// Carries out a command of the fleet: ops in order, then its position
    /// kept for the next save of the cursor.
    pub(super) fn apply_fleet(&mut self, ops: Vec<FleetOp>, position: Option<String>, reply: Reply<Vec<Applied>>) {
        let results: Arc<Mutex<Vec<Option<Applied>>>> = Arc::new(Mutex::new(vec![None; ops.len()]));
        // A ban the set can never hold is refused before it is stored, as
        // one by hand: stored, it would fail again at every restore.
        let requests = ops.iter().filter_map(|op| if let FleetOp::Ban(r) = op { Some(r) } else { None });
        let mut fits = self.queue.bans().fit_all(requests).into_iter();
        let mut bans: Vec<(usize, BanRequest)> = Vec::new();
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                FleetOp::Ban(request) => match fits.next() {
                    Some(Err(why)) => results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(Applied::Unfit(why)),
                    _ => bans.push((i, request)),
                },
                FleetOp::Unban { net, set, origin } => {
                    self.queue_fleet_bans(std::mem::take(&mut bans), &results);
                    self.flush_bans();
                    let done =
                        self.queue.bans().unban(net, UnbanFrom::Set(set.clone()), &mut |w| diag!(Warning, "{w}"));
                    let applied = match done {
                        Ok(lifted) => {
                            self.listing.remove(&set, net);
                            let stored = lifted.iter().any(|l| l.was_stored);
                            if stored {
                                let about =
                                    About { id: Some(ids::UNBANNED), net: Some(net), set: Some(&set), chain: None };
                                diag::emit_about(
                                    Level::Info,
                                    about,
                                    format_args!("{net} lifted from {set} at the request of {origin}"),
                                );
                            }
                            Applied::Unban(Ok(stored))
                        }
                        Err(e) => Applied::Unban(Err(e.to_string())),
                    };
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(applied);
                }
                FleetOp::Forget { sets, keep } => {
                    self.queue_fleet_bans(std::mem::take(&mut bans), &results);
                    self.flush_bans();
                    let forgot = self.forget(&sets, &keep);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(Applied::Forgot(forgot));
                }
            }
        }
        self.queue_fleet_bans(bans, &results);
        // Answered after every ban above (replies go in order).
        self.queue.push_with_reply(
            Vec::new(),
            Box::new(move |_| {
                let results = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
                let results = results.into_iter().map(|r| r.unwrap_or(Applied::Forgot(Ok(0)))).collect();
                reply(results)
            }),
        );
        self.flush_bans();
        if position.is_some() {
            self.fleet_position = position;
            self.due.unsaved = true;
        }
    }

    fn queue_fleet_bans(&mut self, bans: Vec<(usize, BanRequest)>, results: &Arc<Mutex<Vec<Option<Applied>>>>) {
        if bans.is_empty() {
            return;
        }
        let (indexes, requests): (Vec<usize>, Vec<BanRequest>) = bans.into_iter().unzip();
        self.totals.requests += requests.len() as u64;
        let results = results.clone();
        let full = self.queue.push_with_reply(
            requests,
            Box::new(move |outcomes| {
                let mut results = results.lock().unwrap_or_else(|e| e.into_inner());
                for (i, outcome) in indexes.into_iter().zip(outcomes) {
                    results[i] = Some(Applied::Ban(outcome));
                }
            }),
        );
        if full {
            self.flush_bans();
        }
    }

    /// Lifts the bans of `sets` that came from the fleet and that `keep`
    /// does not hold.
    fn forget(
        &mut self,
        sets: &[SetRef],
        keep: &std::collections::HashSet<(SetRef, crate::vocab::Network)>,
    ) -> Result<usize, String> {
        let records = self.queue.bans().live_in(sets, &mut |w| diag!(Warning, "{w}")).map_err(|e| e.to_string())?;
        let mut lifted = 0;
        for r in records {
            let from_fleet = r.by.as_deref().is_some_and(|by| by.starts_with("fleet "));
            if !from_fleet || keep.contains(&(r.set.clone(), r.net)) {
                continue;
            }
            self.queue
                .bans()
                .unban(r.net, UnbanFrom::Set(r.set.clone()), &mut |w| diag!(Warning, "{w}"))
                .map_err(|e| e.to_string())?;
            self.listing.remove(&r.set, r.net);
            lifted += 1;
        }
        if lifted > 0 {
            diag!(Info, "fleet: {lifted} bans from other hosts lifted here: the fleet's snapshot no longer holds them (unbanned while this host was behind)");
        }
        Ok(lifted)
    }
}
