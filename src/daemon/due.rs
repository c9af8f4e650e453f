//! The loop's deadlines, in one place: what is due when, all on the
//! monotonic clock the daemon is given (so a test moves them with a fake
//! clock), and how long the loop may wait for the journal without missing
//! one of them.

use std::time::{Duration, Instant};

use super::{
    ACTIVE_FOR, ADDRESSES_EVERY, COUNTERS_EVERY, FIREWALL_EVERY, IPSET_CHECK_EVERY, POLL_ACTIVE, POLL_IDLE,
    RENEW_EVERY, SAVE_EVERY, STORE_CHECK_EVERY, STORE_RETRY_EVERY, TAIL_RESCAN_EVERY,
};

/// The loop's deadlines, all on the monotonic clock.
pub(super) struct Due {
    /// Entries judged since the position was last saved.
    pub(super) unsaved: bool,
    /// Save the position by then while entries flow.
    pub(super) position: Instant,
    /// The counters may be saved again (with the position) from then.
    pub(super) counters: Instant,
    /// Renew long ipset bans then.
    pub(super) renewal: Instant,
    /// Offer the store the bans it refused then.
    pub(super) store_retry: Instant,
    /// Look at the firewall's changes (nf_tables' notifications) then; set
    /// to now when the wait sees them queued.
    pub(super) firewall: Instant,
    /// Look at the kernel's address notifications then; set to now when
    /// the wait sees them queued.
    pub(super) addresses: Instant,
    /// Look for what others wrote to the store then.
    pub(super) store_check: Instant,
    /// Count the ipset sets against the store then.
    pub(super) ipset_check: Instant,
    /// When the last entry came: the loop saves the position once
    /// [`PAUSE`] has passed; for [`ACTIVE_FOR`] after it the journal is
    /// looked at more often (its headers, or without them libsystemd every
    /// [`POLL_ACTIVE`]).
    pub(super) last_entry: Instant,
    /// Find the online journal files again then.
    pub(super) tail_rescan: Instant,
}

impl Due {
    pub(super) fn new(now: Instant) -> Due {
        Due {
            unsaved: false,
            position: now + SAVE_EVERY,
            counters: now + COUNTERS_EVERY,
            renewal: now + RENEW_EVERY,
            store_retry: now + STORE_RETRY_EVERY,
            firewall: now + FIREWALL_EVERY,
            ipset_check: now + IPSET_CHECK_EVERY,
            store_check: now + STORE_CHECK_EVERY,
            addresses: now + ADDRESSES_EVERY,
            // Start as if an entry had just come: a daemon (re)started
            // during an attack sees the next lines within milliseconds, not
            // on journald's late notification.
            last_entry: now,
            tail_rescan: now + TAIL_RESCAN_EVERY,
        }
    }

    /// How often the wait looks at the journal files' headers (`look.rs`).
    pub(super) fn look_every(&self, now: Instant) -> Duration {
        if now.saturating_duration_since(self.last_entry) < ACTIVE_FOR {
            super::look::LOOK_FLOWING
        } else {
            super::look::LOOK_QUIET
        }
    }

    /// How long to wait for the journal when it is drained. `looking`: the
    /// wait looks at the journal files' headers itself (`look.rs`), so it
    /// needs no short timeout to notice entries, quiet or not.
    pub(super) fn wait(&self, now: Instant, looking: bool) -> Duration {
        let active = !looking && now.saturating_duration_since(self.last_entry) < ACTIVE_FOR;
        let wait = if active { POLL_ACTIVE } else { POLL_IDLE };
        wait.min(self.renewal.saturating_duration_since(now))
            .min(self.store_retry.saturating_duration_since(now))
            .min(self.ipset_check.saturating_duration_since(now))
            .min(self.store_check.saturating_duration_since(now))
            .min(self.tail_rescan.saturating_duration_since(now))
    }
}
