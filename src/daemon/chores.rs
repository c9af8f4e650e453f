//! The loop's chores around the ban service: carrying out what the rules
//! decided (log lines, mail, report lines, bans into the queue), saving
//! the counters, and the ban service's own schedule (long ipset bans
//! renewed, covered bans let in when their network ends, bans the store
//! refused offered again). The loop in `mod.rs` says when; this says how.

use super::*;
use crate::diag::About;
use crate::effect::Level;
use crate::journal::ids;
use crate::vocab::{Network, SetRef};

/// The address and set of an entry's first ban, which its `action_log`
/// lines carry as structured fields.
pub(super) fn ban_of(effects: &[Effect]) -> Option<(Network, SetRef)> {
    effects.iter().find_map(|e| match e {
        Effect::Ban(r) => Some((r.net, r.set.clone())),
        _ => None,
    })
}

impl Daemon {
    #[cfg(test)]
    pub(super) fn carry_out(&mut self, effect: Effect) {
        self.carry_out_for(effect, None);
    }

    /// Carries out one effect of an entry whose ban (if any) is `ban`.
    pub(super) fn carry_out_for(&mut self, effect: Effect, ban: Option<&(Network, SetRef)>) {
        match effect {
            Effect::Log { level, message, chain } => {
                let (ip, set) = (ban.map(|b| b.0.to_string()), ban.map(|b| b.1.to_string()));
                let mut extra: Vec<(&str, &[u8])> = vec![("MESSAGE_ID", ids::ACTION_LOG.id.as_bytes())];
                extra.extend(chain.as_deref().map(|c| (ids::CHAIN, c.as_bytes())));
                extra.extend(ip.as_deref().map(|ip| (ids::IP, ip.as_bytes())));
                extra.extend(set.as_deref().map(|set| (ids::SET, set.as_bytes())));
                if let Err(e) = self.writer.log_with(&self.settings.syslog_identifier, level, &message, &extra) {
                    diag!(Err, "cannot write to the journal socket {}: {e}", self.writer.path().display());
                }
            }
            Effect::Ban(mut request) => {
                self.figures.banned();
                self.add_entry_to_reason(&mut request);
                if self.queue.push(request) {
                    self.flush_bans();
                }
            }
            Effect::Email { subject, message } => self.outbox.email(subject.as_deref(), &message, self.clock.now_us()),
            report @ Effect::Report { .. } => {
                if let Some(line) = Line::from_effect(&report) {
                    self.outbox.report_line(line);
                }
            }
        }
    }

    /// A rule's ban gets the cursor of the entry that triggered it (the
    /// one just judged), and its `MESSAGE` when the rules did not read it:
    /// asked of the reader only now, as reading a cursor for every entry
    /// would halve the journal's throughput.
    fn add_entry_to_reason(&mut self, request: &mut crate::vocab::BanRequest) {
        use crate::vocab::reason::{Reason, MESSAGE_MAX};
        if !matches!(request.origin, crate::vocab::Origin::Rule { .. }) {
            return;
        }
        // Fresh from the action, the reason is not shared yet: no copy.
        let reason = std::sync::Arc::make_mut(request.reason.get_or_insert_with(Default::default));
        reason.cursor = self.reader.cursor().ok().and_then(|c| Reason::cursor_checked(&c));
        if reason.message.is_none() {
            let message = self.reader.current_field(c"MESSAGE");
            reason.message = message.map(|m| Reason::shorten(&m, MESSAGE_MAX));
        }
    }

    /// Starts a save of the live counters, so that a restart does not
    /// forgive anyone; the loop writes it in slices (`counters_file`). If
    /// the last one is still being written, it is tried again at the next
    /// save of the position.
    pub(super) fn save_counters(&mut self) {
        if self.counters_saver.start(&self.workflow, self.clock.now_us()) {
            self.due.counters = self.clock.instant() + COUNTERS_EVERY;
        }
    }

    pub(super) fn renew_long_ipset_bans(&mut self) {
        self.due.renewal = self.clock.instant() + RENEW_EVERY;
        match self.queue.bans().renew_long_ipset_bans(&mut |warning| diag!(Warning, "{warning}")) {
            Ok((renewed, errors)) => {
                if renewed > 0 {
                    diag!(Info, "renewed {renewed} ipset bans longer than the kernel's longest timeout");
                }
                for error in errors.iter().take(10) {
                    diag!(Err, "renewing long ipset bans: {error}");
                }
            }
            Err(e) => diag!(Err, "renewing long ipset bans: {e}"),
        }
    }

    /// Lets into the kernel the bans inside a network that has just ended
    /// (see `bans::cover`), when one is due.
    pub(super) fn uncover(&mut self) {
        let bans = self.queue.bans();
        if bans.next_uncover().is_none_or(|t| t > bans.now_us()) {
            return;
        }
        self.flush_bans();
        match self.queue.bans().uncover(&mut |warning| diag!(Warning, "{warning}")) {
            Ok(0) => {}
            Ok(n) => diag!(Info, "{n} bans inside networks whose ban ended are in the kernel on their own now"),
            Err(e) => diag!(Err, "letting in bans covered by an ended network: {e}"),
        }
    }

    /// Stores and sends the bans gathered so far, after the ones the store
    /// refused before, if it takes them now.
    pub(super) fn flush_bans(&mut self) {
        self.store_unstored();
        let mut error = |line: String, net: Network, set: &SetRef| {
            let about = About { id: Some(ids::BAN_FAILED), net: Some(net), set: Some(set), chain: None };
            diag::emit_about(Level::Err, about, format_args!("{line}"));
        };
        self.queue.flush(&mut error, &mut |warning| diag!(Warning, "{warning}"));
        self.figures.flushed(&*self.clock);
    }

    pub(super) fn store_unstored(&mut self) {
        self.queue.store_unstored(&mut |line| diag!(Info, "{line}"), &mut |warning| diag!(Warning, "{warning}"));
    }
}
