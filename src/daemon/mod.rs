//! The event loop of `banwarden run`: the only owner of the journal, its
//! position, and the sockets effects go out through.
//!
//! It reads entries as they are appended, judges each, carries out the
//! effects, and keeps the cursor of the last entry it fully judged on disk.
//!
//! Waiting: journald tells readers about new entries up to 250 ms late, yet
//! an entry can be read as soon as it is written (shared/notes). So while
//! entries flow the loop looks again every 5 ms, and after ten quiet
//! seconds it waits for journald's notification, at most a second at a time
//! (to notice a stop request): a few wake-ups a second when idle.
//!
//! Bans: gathered while entries come, stored then sent in one batch as soon
//! as the journal is drained (or every 1,024 bans in a burst, and always
//! before the position is saved); see [`Bans`]. Mail and the daily report
//! go through the [`Outbox`]; counters are saved with the position at most
//! every ten seconds, and at shutdown.
//!
//! Service: SIGTERM/SIGINT stop it and SIGHUP loads the configuration again
//! ([`signals`], `reload.rs`); systemd hears READY, STATUS, RELOADING and
//! watchdog keep-alives from the loop through the [`Notifier`], and the
//! loop never waits longer than the keep-alive period allows.
//!
//! Memory: the journal pages libsystemd maps are let go every 2,048 entries
//! and at each save, so the process's RSS is its own memory, a few MB.
//!
//! Position: the first run starts at the end of the journal (and saves that
//! place at once). The cursor is
//! saved (crash-safely, see [`CursorFile`]) at least once a second while
//! entries are judged, 100 ms after they stop coming, and at shutdown;
//! a restart resumes right after it. So a clean stop and start misses no
//! entry and judges none twice, and after a crash (kill -9, power loss)
//! the entries judged during at most the last second before it are judged
//! again, none missed.

mod reload;
pub mod signals;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::bans::{Bans, Outcome, Request, RENEW_EVERY_SECS};
use crate::config::{Config, ConfigFile, Settings};
use crate::diag;
use crate::diag::StepErrors;
use crate::effect::Effect;
use crate::entry::Entry;
use crate::firewall::check::check_sets;
use crate::journal::cursor::CursorFile;
use crate::journal::native::JournalWriter;
use crate::journal::sd::{release_mapped_journal_pages, JournalError, JournalReader, Resume, Source};
use crate::notify::Notifier;
use crate::outbox::Outbox;
use crate::report::Line;
use crate::time::{Clock, SystemClock};
use crate::workflow::Workflow;

/// Longest time entries are judged without the cursor being saved.
pub const SAVE_EVERY: Duration = Duration::from_secs(1);
/// While entries flow, how often to look for new ones: a lone ban waits
/// for this, at worst, before it is read (journald's own wake-up comes up to
/// 250 ms late). Each look costs about 20 µs: 0.4 % of a core at this pace.
const POLL_ACTIVE: Duration = Duration::from_millis(5);
/// How long after the last entry the loop keeps polling fast. A server's
/// journal rarely pauses this long; a quiet one costs next to nothing.
pub const ACTIVE_FOR: Duration = Duration::from_secs(10);
/// A quiet time after which the flow counts as paused (and the position
/// is saved at once).
const PAUSE: Duration = Duration::from_millis(100);
/// Entries read between two releases of the journal pages libsystemd maps
/// (see [`release_mapped_journal_pages`]): a few MiB of journal.
const RELEASE_EVERY: u64 = 2048;
/// Longest time between two saves of the counters while entries flow
/// (they are saved with the position, at most this often, and at shutdown):
/// after a crash, the raises of at most this long are forgotten.
const COUNTERS_EVERY: Duration = Duration::from_secs(10);
/// The counters' file in the storage directory.
const COUNTERS_FILE: &str = "counters.json";
/// Bans gathered before they are sent anyway (a burst goes out in batches
/// this large; otherwise they leave as soon as the journal is drained, so a
/// lone ban waits for nothing).
const BAN_BATCH: usize = 1024;
/// Longest wait when idle, so that a stop request is seen promptly.
const POLL_IDLE: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct Options {
    pub source: Source,
    /// Start at the end of the journal even if a cursor was saved.
    pub from_tail: bool,
    /// The configuration file, loaded again on SIGHUP (none: SIGHUP is
    /// ignored with a warning).
    pub config: Option<ConfigFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("cannot open the journal socket {path}: {error}")]
    Socket { path: String, error: std::io::Error },
}

/// What a run did, for the final log line.
#[derive(Debug, Default)]
pub struct Totals {
    pub judged: u64,
    pub effects: u64,
    pub bans: u64,
    pub step_errors: u64,
}

pub struct Daemon {
    workflow: Workflow,
    settings: Settings,
    reader: JournalReader,
    writer: JournalWriter,
    cursor_file: CursorFile,
    observer: StepErrors,
    totals: Totals,
    bans: Bans,
    pending: Vec<Request>,
    /// Ban failures by cause, so each cause is logged once, then counted.
    failures: HashMap<String, u64>,
    /// When long ipset bans were last renewed (see `renew_long_ipset_bans`).
    last_renewal: Instant,
    last_counters_save: Instant,
    /// Mail and the daily report.
    outbox: Outbox,
    /// READY, STATUS and keep-alives for systemd.
    notifier: Notifier,
    config_file: Option<ConfigFile>,
}

impl Daemon {
    /// Opens the journal and positions the reader (see the module doc).
    pub fn open(config: Config, options: &Options) -> Result<Daemon, DaemonError> {
        let Config { mut workflow, settings, sets, .. } = config;
        restore_counters(&mut workflow, &settings.storage.join(COUNTERS_FILE));
        let mut reader = JournalReader::open(&options.source, workflow.fields(), settings.decoder)?;
        let cursor_file = CursorFile::new(&settings.storage, &options.source);
        let saved = if options.from_tail {
            None
        } else {
            cursor_file.load().unwrap_or_else(|e| {
                diag!(
                    Warning,
                    "cannot read the saved position {}: {e}; starting at the end",
                    cursor_file.path().display()
                );
                None
            })
        };
        match saved {
            None => {
                reader.seek_tail()?;
                diag!(Info, "reading {} from its end", options.source.describe());
                // Keep that decision at once: a crash in the first second
                // must not make the next start skip to a later end.
                if let Ok(cursor) = reader.cursor() {
                    if let Err(e) = cursor_file.save(&cursor) {
                        diag!(Err, "cannot save the journal position to {}: {e}", cursor_file.path().display());
                    }
                }
            }
            Some(cursor) => match reader.seek_after_cursor(&cursor)? {
                Resume::AfterCursor => diag!(Info, "reading {} from the saved position", options.source.describe()),
                Resume::CursorGone => diag!(
                    Warning,
                    "the saved position in {} is gone (journal vacuumed?); resuming at the first entry after it",
                    options.source.describe()
                ),
            },
        }
        // Finding the position maps journal pages (20 MB on a large
        // journal) that an idle daemon would otherwise keep until its
        // first entry.
        release_mapped_journal_pages();
        let writer = JournalWriter::for_source(&options.source)
            .map_err(|error| DaemonError::Socket { path: "(unbound)".into(), error })?;
        let mut bans = Bans::new(&settings.storage, settings.never_ban.clone());
        for problem in check_sets(bans.firewall(), &sets) {
            diag!(Warning, "{problem}");
        }
        let mut daemon = Daemon {
            bans,
            last_renewal: Instant::now(),
            last_counters_save: Instant::now(),
            outbox: Outbox::open(&settings.storage, settings.email.clone()),
            pending: Vec::new(),
            failures: HashMap::new(),
            workflow,
            settings,
            reader,
            writer,
            cursor_file,
            observer: StepErrors::default(),
            totals: Totals::default(),
            notifier: Notifier::none(),
            config_file: options.config.clone(),
        };
        // Before the first entry: a long ipset ban lost while the daemon was
        // down is back in the set by the time it says it has started.
        daemon.renew_long_ipset_bans();
        Ok(daemon)
    }

    /// Reports to the service manager through `notifier` (see [`Notifier`]).
    pub fn with_notifier(mut self, notifier: Notifier) -> Daemon {
        self.notifier = notifier;
        self
    }

    /// What `systemctl status` shows.
    fn status_line(&self) -> String {
        format!(
            "{} entries judged, {} bans, {} ban failures",
            self.totals.judged,
            self.totals.bans,
            self.failures.values().sum::<u64>()
        )
    }

    /// Runs until `stop` is set, then saves the position.
    pub fn run(self, stop: &AtomicBool) -> Totals {
        self.run_observed(stop, |_| {})
    }

    /// [`run`](Self::run), calling `judged` after each entry is judged and its
    /// effects carried out (the latency benchmark's clock stops there).
    pub fn run_observed(mut self, stop: &AtomicBool, mut judged: impl FnMut(&Entry)) -> Totals {
        let mut entry = self.workflow.new_entry();
        let mut effects = Vec::new();
        let mut unsaved = false;
        let mut last_save = Instant::now();
        // Start as if an entry had just come: a daemon (re)started during an
        // attack sees the next lines within milliseconds, not on journald's
        // late notification.
        let mut last_entry = Instant::now();
        self.notifier.ready(&self.status_line());
        while !stop.load(Ordering::Relaxed) {
            self.notifier.keep_alive();
            if signals::take_reload() {
                self.reload();
                // The new rules may name other fields.
                entry = self.workflow.new_entry();
            }
            if self.last_renewal.elapsed() >= Duration::from_secs(RENEW_EVERY_SECS) {
                self.renew_long_ipset_bans();
            }
            match self.reader.next_into(&mut entry) {
                Ok(true) => {
                    self.workflow.run(&mut entry, &mut effects, &mut self.observer);
                    self.totals.judged += 1;
                    for effect in effects.drain(..) {
                        self.totals.effects += 1;
                        self.carry_out(effect);
                    }
                    if self.pending.len() >= BAN_BATCH {
                        self.flush_bans();
                    }
                    judged(&entry);
                    if self.totals.judged % RELEASE_EVERY == 0 {
                        release_mapped_journal_pages();
                        self.outbox.tick(SystemClock.now_us());
                    }
                    unsaved = true;
                    last_entry = Instant::now();
                    if last_save.elapsed() >= SAVE_EVERY {
                        self.save_position();
                        (unsaved, last_save) = (false, Instant::now());
                    }
                }
                Ok(false) => {
                    self.flush_bans();
                    // A day over: its report goes out (at most a second late).
                    self.outbox.tick(SystemClock.now_us());
                    // Drained: save once the flow has paused, or after a
                    // second of steady flow (one fsync a second at most).
                    let paused = last_entry.elapsed() >= PAUSE;
                    if unsaved && (paused || last_save.elapsed() >= SAVE_EVERY) {
                        self.save_position();
                        (unsaved, last_save) = (false, Instant::now());
                    }
                    let timeout = if last_entry.elapsed() < ACTIVE_FOR { POLL_ACTIVE } else { POLL_IDLE };
                    let timeout = self.notifier.cap_wait(timeout);
                    // An interrupted wait (a signal) or a journal in flux
                    // (rotation, vacuum) only means: look again.
                    let _ = self.reader.wait(timeout);
                }
                Err(e) => {
                    diag!(Err, "{e}; skipping ahead");
                    std::thread::sleep(POLL_ACTIVE);
                }
            }
        }
        self.notifier.stopping();
        self.flush_bans();
        if unsaved {
            self.save_position();
        }
        self.save_counters();
        self.outbox.shutdown();
        self.totals.step_errors += self.observer.total();
        self.totals
    }

    /// Saves the cursor of the entry last judged. Its bans, and those of the
    /// entries before it, are carried out first: after a crash, reading
    /// resumes past them, so they must not be left pending.
    fn save_position(&mut self) {
        self.flush_bans();
        if self.last_counters_save.elapsed() >= COUNTERS_EVERY {
            self.save_counters();
        }
        release_mapped_journal_pages();
        let unreadable = self.reader.take_unreadable();
        if unreadable > 0 {
            diag!(Warning, "{unreadable} fields could not be read (corrupted journal objects?); those entries were judged without them");
        }
        match self.reader.cursor() {
            Ok(cursor) => {
                if let Err(e) = self.cursor_file.save(&cursor) {
                    diag!(Err, "cannot save the journal position to {}: {e}", self.cursor_file.path().display());
                }
            }
            Err(e) => diag!(Err, "{e}"),
        }
        let status = self.status_line();
        self.notifier.status(&status);
    }
}

impl Daemon {
    fn carry_out(&mut self, effect: Effect) {
        match effect {
            Effect::Log { level, message } => {
                if let Err(e) = self.writer.log(&self.settings.syslog_identifier, level, &message) {
                    diag!(Err, "cannot write to the journal socket {}: {e}", self.writer.path().display());
                }
            }
            Effect::Ban { backend, ip, set, ban_seconds } => {
                self.pending.push(Request { backend, ip, set, ban_seconds })
            }
            Effect::Email { subject, message } => self.outbox.email(subject.as_deref(), &message, SystemClock.now_us()),
            report @ Effect::Report { .. } => {
                if let Some(line) = Line::from_effect(&report) {
                    self.outbox.report_line(line);
                }
            }
        }
    }

    /// Saves the live counters, so that a restart does not forgive anyone.
    fn save_counters(&mut self) {
        self.last_counters_save = Instant::now();
        let bytes = self.workflow.counters_mut().save(SystemClock.now_us());
        let path = self.settings.storage.join(COUNTERS_FILE);
        if let Err(e) = crate::durable::replace_file(&path, &bytes) {
            diag!(Err, "cannot save the counters to {}: {e}", path.display());
        }
        drop(bytes);
        // The save builds a copy of every key and the whole file in memory:
        // with a million keys, hundreds of MB that glibc would otherwise
        // keep (benches/live.rs measured 225 MB before a save, 413 MB after).
        // SAFETY: malloc_trim only returns free heap memory to the system.
        unsafe { libc::malloc_trim(0) };
    }

    fn renew_long_ipset_bans(&mut self) {
        self.last_renewal = Instant::now();
        let now = SystemClock.now_us();
        let (renewed, errors) = self.bans.renew_long_ipset_bans(now, &mut |warning| diag!(Warning, "{warning}"));
        if renewed > 0 {
            diag!(Info, "renewed {renewed} ipset bans longer than the kernel's longest timeout");
        }
        for error in errors.iter().take(10) {
            diag!(Err, "renewing long ipset bans: {error}");
        }
    }

    /// Stores and sends the bans gathered so far, and writes the report
    /// lines.
    fn flush_bans(&mut self) {
        self.outbox.flush();
        if self.pending.is_empty() {
            return;
        }
        let requests = std::mem::take(&mut self.pending);
        let now = SystemClock.now_us();
        let outcomes = self.bans.apply(&requests, now, &mut |warning| diag!(Warning, "{warning}"));
        for (request, outcome) in requests.iter().zip(outcomes) {
            let (cause, what) = match outcome {
                Outcome::Banned => {
                    self.totals.bans += 1;
                    continue;
                }
                Outcome::Refused => (format!("{} is on the never-ban list", request.ip), "refused"),
                Outcome::NotStored(e) => (e, "in the kernel but not stored: it will not survive a reboot"),
                Outcome::Failed(e) => (e, "not banned"),
                Outcome::KernelFailed(e) => {
                    (e, "stored (banwarden boot applies it once this is fixed), not in the kernel")
                }
            };
            let count = self.failures.entry(cause.clone()).or_default();
            *count += 1;
            // The first of each cause in full, then at 10, 100, 1000...
            if is_power_of_ten(*count) {
                diag!(Err, "ban of {} in {}: {cause}; {what} ({} so far)", request.ip, request.set, count);
            }
        }
    }
}

fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

/// Takes back the counters saved by the last run; a damaged file is moved
/// aside (`.bad`) for the administrator, and the counters start empty.
fn restore_counters(workflow: &mut Workflow, path: &std::path::Path) {
    let bytes = match crate::durable::read_if_exists(path) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return,
        Err(e) => {
            diag!(Err, "cannot read the saved counters {}: {e}; starting without them", path.display());
            return;
        }
    };
    match workflow.counters_mut().restore(&bytes, SystemClock.now_us()) {
        Ok(restored) => {
            diag!(
                Info,
                "restored {} counter keys from {} ({} expired meanwhile)",
                restored.keys,
                path.display(),
                restored.expired
            );
            if !restored.dropped_categories.is_empty() {
                diag!(
                    Notice,
                    "counters no rule uses any more were dropped: {}",
                    restored.dropped_categories.join(", ")
                );
            }
        }
        Err(e) => {
            let aside = path.with_extension("json.bad");
            let _ = std::fs::rename(path, &aside);
            diag!(Err, "{}: {e}; moved to {}, starting without saved counters", path.display(), aside.display());
        }
    }
}
