//! The firewall's side of the loop: hearing nf_tables' notifications, and
//! acting on the changes someone else made (`reconcile` puts back the bans
//! they took out), for the rules' sets and the APIs'.

use std::time::Instant;

use super::*;

impl Daemon {
    /// Starts hearing nf_tables' notifications, if nftables sets are
    /// concerned and it has not started yet (at start, and after a reload
    /// whose rules name one). Without them (no permission to join the
    /// group), nftables sets are only looked at when the daemon starts.
    /// Whether it started now.
    pub(super) fn watch_firewall(&mut self) -> bool {
        if self.watching || !self.reconciler.wants_nft(self.queue.bans(), &mut log) {
            return false;
        }
        match self.queue.bans().watch() {
            Ok(fd) => {
                self.watching = true;
                self.firewall_fd = fd;
                true
            }
            Err(e) => {
                diag!(
                    Warning,
                    "cannot hear nftables changes ({e}): bans a firewall reload takes out of nftables sets come \
                     back only when banwarden starts again or `banwarden boot` runs"
                );
                false
            }
        }
    }

    /// Step: the firewall changed (or it is time to look): the bans someone
    /// else took out go back (`reconcile`). The bans gathered so far go out
    /// first, so that what is put back is what the store holds now.
    pub(super) fn firewall_changed(&mut self, now: Instant) {
        self.due.firewall = now + FIREWALL_EVERY;
        if !self.watching {
            return;
        }
        match self.queue.bans().changes() {
            Ok(changes) if changes.is_empty() => {}
            Ok(changes) => {
                self.flush_bans();
                self.reconciler.changes(self.queue.bans(), changes, &mut log);
            }
            // The socket itself failed (the kernel closed it): said once;
            // a reload of the configuration listens again.
            Err(e) => {
                diag!(
                    Err,
                    "{e}; no longer listening to nftables changes until the configuration is reloaded: bans a \
                     firewall reload takes out come back when banwarden starts again or `banwarden boot` runs"
                );
                self.watching = false;
                self.firewall_fd = None;
            }
        }
    }
}

/// The sets whose bans are put back when someone else takes them out: the
/// rules' and the APIs'.
pub(super) fn watched(sets: &[crate::config::SetUse], settings: &Settings) -> Vec<crate::vocab::SetRef> {
    let api = settings.api_set_refs(None);
    let fleet = settings.fleet.iter().flat_map(|f| f.map.values().cloned());
    let mut all: Vec<crate::vocab::SetRef> = sets.iter().map(|u| u.set.clone()).chain(api).chain(fleet).collect();
    all.sort();
    all.dedup();
    all
}
