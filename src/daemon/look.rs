//! The wait for the journal when its online files can be watched: the
//! descriptors polled a slice at a time, and between two slices a look at
//! the files' headers (`JournalReader::tail_moved`), so that an entry is
//! read within a slice of being written, however long the journal was
//! quiet, without waiting for journald's notification (up to 250 ms late)
//! and without asking libsystemd on every look.
//!
//! A look costs a wake-up from `poll` and two loads per watched file. The
//! wake-up is the price: 3 to 18 µs of CPU on the development machine (a
//! virtual machine; the more its cores are shared, the more), so the slice
//! is [`LOOK_FLOWING`] for `ACTIVE_FOR` after an entry, when the next one
//! is likely and the flowing case's latency is at stake, and
//! [`LOOK_QUIET`] after that: about 100 wake-ups a second, about a tenth
//! of a percent of a core here, barely more than a thread that only sleeps
//! as often (doc/performance.md, "quiet, then one attacker"), for a lone
//! line read within 10 ms. The loop's step that waits is here too.

use std::time::Duration;

use super::{Daemon, TAIL_RESCAN_EVERY};
use crate::journal::sd::JournalReader;
use crate::time::Clock;

/// The slice while entries flow (and for `ACTIVE_FOR` after the last).
pub(super) const LOOK_FLOWING: Duration = Duration::from_millis(5);
/// The slice once the journal is quiet: a lone entry waits at most this
/// long (plus judging and the ban) to be read, within the 20 ms the lone
/// ban's latency must stay under (issue 17).
pub(super) const LOOK_QUIET: Duration = Duration::from_millis(10);

/// Why the wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Woke {
    /// A descriptor is ready (or a signal came).
    Descriptor,
    /// An online journal file has gained an entry.
    Tail,
    /// The time given is over.
    Timeout,
}

/// Waits up to `timeout` for one of `fds` or for the journal's tail to move,
/// looking at it every `every` (and first: entries appended since the
/// reader last asked libsystemd end the wait at once).
pub(super) fn wait(
    fds: &mut [libc::pollfd],
    reader: &JournalReader,
    _clock: &dyn Clock,
    timeout: Duration,
    every: Duration,
) -> Woke {
    // Slices counted, not the clock read: an injected clock (a fixed one in
    // tests) need not move while `poll` sleeps, and the wait must end.
    let every_ms = every.as_millis().max(1);
    let mut left_ms = timeout.as_micros().div_ceil(1000);
    loop {
        if reader.tail_moved() == Some(true) {
            return Woke::Tail;
        }
        if left_ms == 0 {
            return Woke::Timeout;
        }
        let ms = left_ms.min(every_ms);
        left_ms -= ms;
        // SAFETY: live pollfds, their count passed.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms as libc::c_int) } != 0 {
            return Woke::Descriptor;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Entry;
    use crate::fields::{FieldTable, MESSAGE};
    use crate::journal::sd::Source;
    use crate::journal::tail::tests::append;
    use crate::time::SystemClock;

    /// An entry appended while the loop waits ends the wait through the
    /// file's header alone: no descriptor is polled here, so neither
    /// journald's nor libsystemd's notification can.
    #[test]
    fn an_entry_written_during_the_wait_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("system.journal");
        if !append(&file, 0, 2) {
            return;
        }
        let mut fields = FieldTable::new();
        fields.intern("MESSAGE");
        let source = Source::Directory(dir.path().to_owned());
        let mut reader = JournalReader::open(&source, &fields, Default::default()).unwrap();
        assert_eq!(reader.tail_files(), [file.clone()]);
        let mut entry = Entry::new(&fields);
        while reader.next_into(&mut entry).unwrap() {}
        let clock = SystemClock;
        assert_eq!(reader.tail_moved(), Some(false), "drained: nothing new");
        assert_eq!(wait(&mut [], &reader, &clock, Duration::from_millis(20), LOOK_QUIET), Woke::Timeout);
        let writer = std::thread::spawn(move || append(&file, 2, 1));
        // The bound only ends a broken test; the writer takes milliseconds.
        let woke = wait(&mut [], &reader, &clock, Duration::from_secs(60), LOOK_QUIET);
        writer.join().unwrap();
        assert_eq!(woke, Woke::Tail);
        assert!(reader.next_into(&mut entry).unwrap());
        assert_eq!(entry.get(MESSAGE), Some("entry 2"));
        assert!(!reader.next_into(&mut entry).unwrap());
        assert_eq!(reader.tail_moved(), Some(false));
    }
}

impl Daemon {
    /// Step: wait for the journal (see the module doc for how long), and
    /// for the firewall's and the addresses' news: their descriptors are
    /// polled with the journal's, so a firewall reload or a new address is
    /// acted on at once, not at the next wake-up. An interrupted wait (a
    /// signal) or a journal in flux (rotation, vacuum) only means: look again.
    pub(super) fn wait(&mut self) {
        let now = self.clock.instant();
        if now >= self.due.tail_rescan {
            // Rotation is also told by libsystemd's notification (see
            // `process`); this only bounds a miss.
            self.due.tail_rescan = now + TAIL_RESCAN_EVERY;
            self.reader.rescan_tail();
        }
        let looking = self.reader.tail_moved().is_some();
        let mut timeout = self.notifier.cap_wait(self.due.wait(now, looking));
        if let Some(t) = self.queue.bans().next_uncover() {
            timeout = timeout.min(Duration::from_micros(t.saturating_sub(self.clock.now_us())));
        }
        if self.door.has_work() {
            return;
        }
        let addresses = self.addresses.as_ref().map(|a| a.fd());
        let journal = self.reader.fd();
        if journal.is_none() && !looking {
            let _ = self.reader.wait(timeout);
            return;
        }
        // Absent descriptors are -1, which poll(2) skips.
        let pollfd = |fd: Option<libc::c_int>| libc::pollfd { fd: fd.unwrap_or(-1), events: libc::POLLIN, revents: 0 };
        let door = Some(self.door.fd());
        let mut fds = [pollfd(journal), pollfd(self.firewall_fd), pollfd(addresses), pollfd(door)];
        if looking {
            let every = self.due.look_every(self.clock.instant());
            wait(&mut fds, &self.reader, self.clock.as_ref(), timeout, every);
        } else {
            let ms = timeout.as_micros().div_ceil(1000).min(libc::c_int::MAX as u128) as libc::c_int;
            // SAFETY: four live pollfds, their count passed.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        }
        if fds[1].revents != 0 {
            self.due.firewall = self.clock.instant();
        }
        if fds[2].revents != 0 {
            self.due.addresses = self.clock.instant();
        }
        // What sd_journal_wait(3) does after its own poll, readable or not.
        let _ = self.reader.process();
    }
}
