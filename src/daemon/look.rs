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
//! [`LOOK_QUIET`] after that: about 100 wake-ups a second, a few
//! hundredths of a percent of a core (doc/performance.md, "quiet, then one
//! attacker"), for a lone line read within 10 ms.

use std::time::Duration;

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
