//! The loop's side of the [`Door`]: what the APIs ask for (bans, accepts,
//! unbans) and the reload a SIGHUP asks for, carried out between two
//! entries of the journal.
//!
//! Every command waiting is taken at once: their bans join the journal's in
//! the queue and go out in one batch (one store write, one netlink
//! transaction), after which each reply hears its outcomes. Unbans are
//! carried out after the bans queued before them, in order. The bans of the
//! sets the APIs serve are published in the [`Listing`], read by the
//! servers without a round trip; it starts from the store at start and at
//! each reload, and forgets what ended once a minute.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::*;
use crate::bans::UnbanFrom;
use crate::diag::About;
use crate::door::{Command, Decision, Door, Listed, Listing};
use crate::effect::Level;
use crate::journal::ids;
use crate::vocab::{Network, Origin, SetRef};

impl Daemon {
    /// The door the servers hand their work through.
    pub fn door(&self) -> Arc<Door> {
        self.door.clone()
    }

    /// The live bans of the APIs' sets, as the loop publishes them.
    pub fn listing(&self) -> Arc<Listing> {
        self.listing.clone()
    }

    /// Called with the new settings after each reload that took (the API
    /// servers put them in force).
    pub fn on_reload(mut self, hook: ReloadHook) -> Daemon {
        self.reload_hook = Some(hook);
        self
    }

    /// Step: the commands waiting at the door, and a reload asked for by
    /// SIGHUP (whose handler wakes the door's descriptor).
    pub(super) fn outside_work(&mut self) {
        if signals::take_reload() {
            self.reload();
        }
        if !self.door.has_work() {
            return;
        }
        let mut reload = false;
        for command in self.door.take() {
            match command {
                Command::Ban { requests, reply } => {
                    self.totals.requests += requests.len() as u64;
                    if self.queue.push_with_reply(requests, reply) {
                        self.flush_bans();
                    }
                }
                Command::Unban { net, sets, origin, reply } => {
                    // After the bans asked for before it.
                    self.flush_bans();
                    let done = self.unban_for(net, sets.clone(), &origin);
                    if done.is_ok() {
                        let decided = sets.into_iter().map(|set| Decision::Unban { net, set, origin: origin.clone() });
                        self.queue.announce_unbans(decided);
                    }
                    reply(done);
                }
                Command::Fleet { ops, position, reply } => self.apply_fleet(ops, position, reply),
                Command::Reload => reload = true,
                Command::Snapshot { top, reply } => self.answer_snapshot(top, reply),
            }
        }
        // The replies wait for nothing else.
        self.flush_bans();
        if reload {
            self.reload();
        }
    }

    fn unban_for(
        &mut self,
        net: Network,
        sets: Vec<SetRef>,
        origin: &Origin,
    ) -> Result<Vec<crate::bans::Lifted>, String> {
        let mut lifted = Vec::new();
        for set in sets {
            let done = self.queue.bans().unban(net, UnbanFrom::Set(set.clone()), &mut |w| diag!(Warning, "{w}"));
            match done {
                Ok(some) => {
                    self.listing.remove(&set, net);
                    if some.iter().any(|l| l.was_stored) {
                        let about = About { id: Some(ids::UNBANNED), net: Some(net), set: Some(&set), chain: None };
                        diag::emit_about(
                            Level::Info,
                            about,
                            format_args!("{net} lifted from {set} at the request of {origin}"),
                        );
                    }
                    lifted.extend(some);
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(lifted)
    }

    /// The sets the APIs serve, followed by the listing and the ban
    /// service (allow sets) from now on, and what the store holds of them.
    pub(super) fn serve_sets(&mut self) {
        let sets = self.settings.api_set_refs(None);
        self.queue.bans().set_allow_sets(self.settings.allow_sets());
        let mut held: HashMap<SetRef, BTreeMap<Network, Listed>> =
            sets.iter().map(|s| (s.clone(), BTreeMap::new())).collect();
        if !sets.is_empty() {
            match self.queue.bans().live_in(&sets, &mut |w| diag!(Warning, "{w}")) {
                Ok(records) => {
                    for r in records {
                        let origin = r.by.clone().unwrap_or_else(|| "".into());
                        let listed = Listed { until: r.until, origin, start: r.start };
                        held.entry(r.set).or_default().insert(r.net, listed);
                    }
                }
                Err(e) => diag!(Err, "reading the API's sets from the store: {e}; their listing starts empty"),
            }
        }
        self.listing.reset(held);
        self.queue.publish(self.listing.clone(), sets);
    }

    /// Starts the listing over when someone else changed the store (an
    /// `unban` or `ban` by hand while the daemon runs), so that the APIs
    /// show what the store holds. Looked at once a second.
    pub(super) fn store_changed(&mut self) {
        self.due.store_check = self.clock.instant() + STORE_CHECK_EVERY;
        let changed = self.queue.bans().refresh(&mut |w| diag!(Warning, "{w}"));
        if changed && self.settings.serves_api() {
            self.serve_sets();
        }
    }

    /// Forgets the listing's ended bans (once a minute).
    pub(super) fn purge_listing(&mut self) {
        self.listing.purge(self.clock.now_us());
    }
}
