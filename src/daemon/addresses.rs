//! Following this host's addresses while the daemon runs (`neverBanLocal`):
//! a DHCP lease renewed with another address, a SLAAC privacy address
//! rotated, a VPN come up are on the never-ban list as soon as the kernel
//! announces them, without a reload.
//!
//! The kernel's notifications arrive on a socket polled with the journal
//! ([`crate::localaddr::Follow`]); they are applied when the wait sees them,
//! and at most every 50 ms while entries flow (the loop does not wait
//! then). Each change is logged once. The never-ban list is then made again
//! (the configured networks, the addresses known now) and the new value is
//! handed to the rules and to the ban service, which both read it from then
//! on; bans already queued are checked against it when they go out.
//!
//! If the socket cannot be opened, or fails later, the addresses read when
//! the configuration was last loaded stay on the list, and a reload tries
//! again.

use std::time::Instant;

use super::{Daemon, ADDRESSES_EVERY};
use crate::diag;
use crate::localaddr::Follow;
use crate::vocab::NeverBan;

impl Daemon {
    /// Follows the host's addresses if `wanted` (and it does not already),
    /// stops following them if not; already following, catches up.
    pub(super) fn follow_addresses(&mut self, wanted: bool) {
        if !wanted {
            self.addresses = None;
            return;
        }
        if self.addresses.is_some() {
            self.addresses_changed(self.clock.instant());
            return;
        }
        match Follow::open() {
            Ok(follow) => {
                diag!(Info, "following this host's {} addresses for the never-ban list", follow.addresses().len());
                self.addresses = Some(follow);
            }
            Err(e) => diag!(
                Warning,
                "{e}: this host's addresses are read only when the configuration is loaded; one that appears later \
                 is not on the never-ban list until a reload"
            ),
        }
    }

    /// `never_ban` with the addresses known now, if they are followed.
    pub(super) fn with_addresses(&self, never_ban: &NeverBan) -> NeverBan {
        match &self.addresses {
            Some(follow) => never_ban.with_local(&follow.addresses()),
            None => never_ban.clone(),
        }
    }

    /// Makes the never-ban list again from the addresses known now, and
    /// hands it to the rules and to the ban service.
    pub(super) fn share_never_ban(&mut self) {
        self.settings.never_ban = self.with_addresses(&self.settings.never_ban);
        self.workflow.set_never_ban(self.settings.never_ban.clone());
        self.queue.bans().set_never_ban(self.settings.never_ban.clone());
    }

    /// Step: the host's addresses may have changed (the wait saw news, or
    /// it is time to look).
    pub(super) fn addresses_changed(&mut self, now: Instant) {
        self.due.addresses = now + ADDRESSES_EVERY;
        let Some(follow) = &mut self.addresses else { return };
        match follow.apply() {
            Ok(changes) => {
                if changes.dumped_again {
                    diag!(
                        Notice,
                        "address notifications were lost (receive buffer full); this host's addresses were read again"
                    );
                }
                for ip in &changes.appeared {
                    diag!(Info, "{ip} is now one of this host's addresses: never banned while it is");
                }
                for ip in &changes.gone {
                    diag!(Info, "{ip} is no longer one of this host's addresses");
                }
                if !changes.is_empty() {
                    self.share_never_ban();
                }
            }
            Err(e) => {
                diag!(
                    Err,
                    "{e}; this host's addresses are no longer followed until the configuration is reloaded (those \
                     known last stay on the never-ban list)"
                );
                self.addresses = None;
            }
        }
    }
}
