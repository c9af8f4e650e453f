//! The event loop of `banwarden run`: the only owner of the journal, its
//! position, and the sockets effects go out through.
//!
//! It reads entries as they are appended, judges each, carries out the
//! effects, and keeps the cursor of the last entry it fully judged on disk.
//!
//! Waiting: journald tells readers about new entries up to 250 ms late, yet
//! an entry can be read as soon as it is written (shared/notes). So once the
//! journal is drained the loop looks at the online journal files' headers
//! (`look.rs`, `journal::tail`: two memory loads a file, no call into
//! libsystemd) every 5 ms for ten seconds after the last entry, then every
//! 10 ms, and asks libsystemd for the next entry only when one moved: a
//! lone line after any silence is read within 10 ms, for about a tenth of
//! a percent of a core (the price of the wake-ups, doc/performance.md). The descriptors (journal, firewall, addresses,
//! door) are polled meanwhile; the files are found again when libsystemd
//! reports files added or removed, and every second. Where no file can be
//! watched (none found yet), the loop asks libsystemd every 5 ms for ten
//! seconds after the last entry, then waits for journald's notification, at
//! most a second at a time.
//!
//! Bans: gathered while entries come, stored then sent in one batch as soon
//! as the journal is drained (or every 1,024 bans in a burst, and always
//! before the position is saved), through the ban service ([`Bans`]); their
//! failures are logged by cause, not by address (`queue`). Mail and the
//! daily report go through the [`Outbox`]; counters are saved with the
//! position at most every ten seconds, and at shutdown (`counters_file`):
//! a save is written a slice of keys per turn of the loop (which does not
//! wait for the journal meanwhile) and put on disk by a thread, so judging
//! never stops for more than a millisecond or so. A counter that starts
//! forgetting keys to stay under its limit is logged once per episode.
//!
//! The loop body is a handful of named steps (judge an entry, the journal
//! drained, the firewall changed, save the position, wait, shut down) under
//! one set of deadlines (`Due`), read from the injected [`Clock`].
//!
//! Firewall reloads: bans someone else takes out of the kernel go back
//! (`reconcile.rs`). nf_tables announces its changes on a socket the wait
//! polls beside the journal, so a set flushed or created again is refilled
//! as soon as the kernel says so (and at most every 50 ms while entries
//! flow); ipset sets are counted every two seconds. Every watched set is
//! looked at once at start.
//!
//! The host's own addresses (`neverBanLocal`) are followed through the
//! kernel's notifications, on a socket polled with the journal too
//! (`addresses.rs`): the never-ban list changes with them, without a reload.
//!
//! Work from outside the journal (the APIs' bans, accepts and unbans, and
//! the other hosts' entries of the fleet) comes through the
//! [`crate::door::Door`], whose eventfd is polled with the journal too and
//! whose flag is looked at between two entries: it is carried out in the
//! next batch, answered once durable, and the bans of the APIs' sets are
//! published for their servers (`outside.rs`). The fleet's stream position
//! is saved with the cursor, and the bans this host decides that the fleet
//! shares are handed to its hook once durable (`fleet.rs`, `queue.rs`).
//!
//! Service: SIGTERM/SIGINT stop it and SIGHUP loads the configuration again
//! ([`signals`], `reload.rs`; SIGHUP wakes the door too); systemd hears READY, STATUS, RELOADING and
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

mod addresses;
mod chores;
mod due;
mod figures;
mod fleet;
#[cfg(test)]
mod fleet_tests;
mod look;
mod outside;
mod owner;
mod queue;
mod reconcile;
mod reload;
pub mod signals;
#[cfg(test)]
mod tests;
mod watch;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::actions::News;
use crate::bans::Bans;
use crate::config::{Config, ConfigFile, Settings};
use crate::diag;
use crate::diag::StepErrors;
use crate::effect::Effect;
use crate::entry::Entry;
use crate::firewall::check::SetNeed;
use crate::firewall::Kernel;
use crate::journal::cursor::CursorFile;
use crate::journal::native::JournalWriter;
use crate::journal::sd::{release_mapped_journal_pages, JournalError, JournalReader, Resume, Source};
use crate::notify::Notifier;
use crate::outbox::Outbox;
use crate::report::Line;
use crate::time::Clock;
use crate::workflow::Workflow;
use due::Due;
pub use owner::holder as lock_holder;
use queue::BanQueue;
use reconcile::{Occasion, Reconciler, IPSET_CHECK_EVERY};

/// Longest time entries are judged without the cursor being saved.
pub const SAVE_EVERY: Duration = Duration::from_secs(1);
/// When no journal file's header can be watched (`look.rs`: none found
/// yet), how often to ask libsystemd for new entries while they flow: a
/// lone ban waits for this, at worst, before it is read (journald's own
/// wake-up comes up to 250 ms late). Each such look costs about 20 µs: 0.4 %
/// of a core at this pace. With headers watched, the loop looks at them
/// instead (`look.rs`).
const POLL_ACTIVE: Duration = Duration::from_millis(5);
/// Without watched headers, how long after the last entry the loop keeps
/// asking libsystemd every [`POLL_ACTIVE`]; after that it waits for
/// journald's notification. With watched headers, they are looked at every
/// `look::LOOK_FLOWING` for this long, then every `look::LOOK_QUIET`.
pub const ACTIVE_FOR: Duration = Duration::from_secs(10);
/// How often the online journal files are found again besides libsystemd's
/// notice of files added or removed (a directory listing and a `stat` per
/// online file: a few tens of µs).
const TAIL_RESCAN_EVERY: Duration = Duration::from_secs(1);
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
/// How often long ipset bans are renewed (see `Bans::renew_long_ipset_bans`).
const RENEW_EVERY: Duration = Duration::from_secs(crate::bans::RENEW_EVERY_SECS);
/// Longest wait when idle, so that a stop request is seen promptly.
const POLL_IDLE: Duration = Duration::from_secs(1);
/// How often bans the store refused (a full disk) are offered to it again,
/// besides every flush.
const STORE_RETRY_EVERY: Duration = Duration::from_secs(60);
/// While entries flow (no wait, hence no wake-up by the kernel's news), how
/// often the firewall's changes are looked at: one `recv` that finds nothing
/// costs a microsecond.
const FIREWALL_EVERY: Duration = Duration::from_millis(50);
/// How often the store's files are looked at for what others wrote (two
/// `stat`s), so that the APIs' listing follows a `ban` or `unban` by hand.
const STORE_CHECK_EVERY: Duration = Duration::from_secs(1);
/// While entries flow, how often the kernel's address notifications are
/// looked at (the same price: one `recv`).
const ADDRESSES_EVERY: Duration = Duration::from_millis(50);

/// What the daemon calls with the new settings after a reload that took.
pub type ReloadHook = Box<dyn FnMut(&Settings)>;

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
    #[error(transparent)]
    Storage(#[from] owner::LockError),
    #[error("cannot make the loop's door (eventfd): {0}")]
    Door(std::io::Error),
}

/// What a run did, for the final log line.
#[derive(Debug, Default)]
pub struct Totals {
    pub judged: u64,
    pub effects: u64,
    pub bans: u64,
    pub step_errors: u64,
    /// Ban and accept requests that came through the door.
    pub requests: u64,
}

pub struct Daemon {
    workflow: Workflow,
    settings: Settings,
    reader: JournalReader,
    writer: JournalWriter,
    cursor_file: CursorFile,
    observer: StepErrors,
    totals: Totals,
    queue: BanQueue,
    due: Due,
    /// Mail and the daily report.
    outbox: Outbox,
    /// The counters' save in progress, if any.
    counters_saver: crate::counters_file::Saver,
    /// READY, STATUS and keep-alives for systemd.
    notifier: Notifier,
    /// Puts bans back when someone else takes them out of the kernel.
    reconciler: Reconciler,
    /// nf_tables' notifications are heard (see [`Daemon::watch_firewall`]).
    watching: bool,
    /// The descriptor of those notifications, waited on with the journal's.
    firewall_fd: Option<std::os::fd::RawFd>,
    /// This host's addresses, followed while `neverBanLocal` holds.
    addresses: Option<crate::localaddr::Follow>,
    config_file: Option<ConfigFile>,
    clock: Arc<dyn Clock>,
    /// Work from outside the journal (see [`crate::door`]).
    door: Arc<crate::door::Door>,
    /// The live bans of the APIs' sets, published for their servers.
    listing: Arc<crate::door::Listing>,
    /// Reloads that took, so far.
    reloads: u64,
    /// Told of each reload that took (see `outside.rs`).
    reload_hook: Option<ReloadHook>,
    /// The fleet's stream position, saved with the cursor.
    fleet_position: Option<String>,
    /// The cursor last saved or loaded: saved again with a new fleet
    /// position when the journal has none to give.
    last_cursor: Option<String>,
    /// The sets the loop knows, for the fleet's names.
    known_sets: Arc<crate::door::KnownSets>,
    /// What `status` and the metrics show (see `figures.rs`).
    figures: figures::Figures,
    /// What is read, in words.
    reader_source: String,
    /// This daemon's hold on the storage directory (see `owner`).
    _storage: owner::StorageLock,
}

impl Daemon {
    /// Opens the journal and positions the reader (see the module doc);
    /// bans go to the real kernel.
    pub fn open(config: Config, options: &Options, clock: Arc<dyn Clock>) -> Result<Daemon, DaemonError> {
        let mut bans = Bans::new(&config.settings.storage, config.settings.never_ban.clone(), clock.clone());
        bans.set_pairs(config.set_pairs());
        Daemon::open_with(config, options, bans, clock)
    }

    /// [`open`](Self::open) over another kernel (a fake one in tests).
    pub fn open_with_kernel(
        config: Config,
        options: &Options,
        kernel: Box<dyn Kernel>,
        clock: Arc<dyn Clock>,
    ) -> Result<Daemon, DaemonError> {
        let bans =
            Bans::with_kernel(&config.settings.storage, config.settings.never_ban.clone(), clock.clone(), kernel);
        Daemon::open_with(config, options, bans, clock)
    }

    fn open_with(
        config: Config,
        options: &Options,
        mut bans: Bans,
        clock: Arc<dyn Clock>,
    ) -> Result<Daemon, DaemonError> {
        let Config { mut workflow, settings, sets, .. } = config;
        let storage_lock = owner::StorageLock::take(&settings.storage)?;
        crate::counters_file::restore(&mut workflow, &settings.storage, clock.now_us());
        let mut reader = JournalReader::open(&options.source, workflow.fields(), settings.decoder)?;
        let cursor_file = CursorFile::new(&settings.storage, &options.source);
        let (loaded, fleet_position) = cursor_file.load_all().unwrap_or_else(|e| {
            diag!(Warning, "cannot read the saved position {}: {e}; starting at the end", cursor_file.path().display());
            (None, None)
        });
        let saved = if options.from_tail { None } else { loaded };
        let mut last_cursor = saved.clone();
        match saved {
            None => {
                reader.seek_tail()?;
                diag!(Info, "reading {} from its end", options.source.describe());
                // Keep that decision at once: a crash in the first second
                // must not make the next start skip to a later end.
                if let Ok(cursor) = reader.cursor() {
                    if let Err(e) = cursor_file.save_with(&cursor, fleet_position.as_deref()) {
                        diag!(Err, "cannot save the journal position to {}: {e}", cursor_file.path().display());
                    }
                    last_cursor = Some(cursor);
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
        let mut needs: Vec<SetNeed> = sets.iter().map(|u| u.need()).collect();
        needs.extend(settings.api_set_needs());
        for problem in bans.check_sets(&needs) {
            diag!(Warning, "{problem}");
        }
        let watched = watch::watched(&sets, &settings);
        let known_sets = Arc::new(crate::door::KnownSets::default());
        known_sets.replace(watched.clone());
        let reconciler = Reconciler::new(watched, clock.clone());
        let door = crate::door::Door::new(crate::door::CAPACITY).map_err(DaemonError::Door)?;
        let figures = figures::Figures::new(clock.now_us(), &workflow);
        signals::wake_with(door.fd());
        let mut daemon = Daemon {
            queue: BanQueue::new(bans),
            reconciler,
            watching: false,
            firewall_fd: None,
            addresses: None,
            due: Due::new(clock.instant()),
            outbox: Outbox::open(&settings.storage, settings.email.clone(), clock.clone()),
            counters_saver: crate::counters_file::Saver::new(&settings.storage),
            workflow,
            settings,
            reader,
            writer,
            cursor_file,
            observer: StepErrors::default(),
            totals: Totals::default(),
            notifier: Notifier::none(),
            config_file: options.config.clone(),
            clock,
            door,
            listing: Arc::default(),
            reload_hook: None,
            reloads: 0,
            fleet_position,
            last_cursor,
            known_sets,
            figures,
            reader_source: options.source.describe(),
            _storage: storage_lock,
        };
        // Before any ban: accepts protect, and the listing starts full.
        daemon.serve_sets();
        // Before any ban is judged or put back: the addresses as they are now.
        daemon.follow_addresses(daemon.settings.never_ban_local);
        daemon.share_never_ban();
        // Listening first, so that no change made from now on is missed;
        // then every watched set looked at once: the firewall may have been
        // reloaded while the daemon was down, or the boot unit may have
        // restored with a wrong clock.
        let _ = daemon.watch_firewall();
        daemon.reconciler.all(daemon.queue.bans(), None, Occasion::Start, &mut log);
        // Before the first entry: a long ipset ban lost while the daemon was
        // down is back in the set by the time it says it has started.
        daemon.renew_long_ipset_bans();
        // Bans inside a network that outlive it, decided before this start.
        if let Err(e) = daemon.queue.bans().scan_deferred(&mut |warning| diag!(Warning, "{warning}")) {
            diag!(Err, "looking for bans covered by a network: {e}");
        }
        Ok(daemon)
    }

    /// Reports to the service manager through `notifier` (see [`Notifier`]).
    pub fn with_notifier(mut self, notifier: Notifier) -> Daemon {
        self.notifier = notifier;
        self
    }

    /// What `systemctl status` shows.
    fn status_line(&self) -> String {
        let mut status = format!(
            "{} entries judged, {} bans, {} ban failures",
            self.totals.judged,
            self.queue.banned(),
            self.queue.failed()
        );
        match self.queue.unstored() {
            (0, 0) => {}
            (kept, 0) => status.push_str(&format!(", {kept} bans not stored yet (disk full?)")),
            (kept, dropped) => status.push_str(&format!(", {} bans not stored (disk full?)", kept as u64 + dropped)),
        }
        status
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
        self.notifier.ready(&self.status_line());
        while !stop.load(Ordering::Relaxed) {
            let now = self.clock.instant();
            self.notifier.keep_alive(now);
            let reloads = self.reloads;
            self.outside_work();
            if self.reloads != reloads {
                // The new rules may name other fields.
                entry = self.workflow.new_entry();
            }
            if now >= self.due.renewal {
                self.renew_long_ipset_bans();
            }
            if now >= self.due.store_retry {
                self.due.store_retry = now + STORE_RETRY_EVERY;
                self.store_unstored();
                // (The same minute's pace suits the listing's cleaning.)
                self.purge_listing();
            }
            if now >= self.due.store_check {
                self.store_changed();
            }
            if now >= self.due.firewall {
                self.firewall_changed(now);
            }
            if now >= self.due.addresses {
                self.addresses_changed(now);
            }
            if now >= self.due.ipset_check {
                self.due.ipset_check = now + IPSET_CHECK_EVERY;
                self.reconciler.check_ipsets(self.queue.bans(), &mut log);
            }
            self.uncover();
            if self.counters_saver.is_walking() {
                self.counters_saver.step(&self.workflow);
            }
            match self.reader.next_into(&mut entry) {
                Ok(true) => {
                    self.judge(&mut entry, &mut effects);
                    judged(&entry);
                    self.entry_judged();
                }
                Ok(false) => {
                    self.drained();
                    // A save being written goes on at once.
                    if !self.counters_saver.is_walking() {
                        self.wait();
                    }
                }
                Err(e) => {
                    diag!(Err, "{e}; skipping ahead");
                    std::thread::sleep(POLL_ACTIVE);
                }
            }
        }
        self.shut_down()
    }

    /// Step: one entry through the rules, its effects carried out.
    fn judge(&mut self, entry: &mut Entry, effects: &mut Vec<Effect>) {
        self.workflow.run(entry, effects, &mut self.observer);
        self.figures.judged(entry.time_us(), self.clock.now_us());
        self.totals.judged += 1;
        let ban = chores::ban_of(effects);
        for effect in effects.drain(..) {
            self.totals.effects += 1;
            self.carry_out_for(effect, ban.as_ref());
        }
        if self.workflow.state().counters.has_news() {
            for news in self.workflow.counters_mut().take_news() {
                match news {
                    News::Evicting { .. } => diag!(Warning, "{news}"),
                    News::Evicted { .. } => diag!(Notice, "{news}"),
                }
            }
        }
        if self.totals.judged % RELEASE_EVERY == 0 {
            release_mapped_journal_pages();
            self.outbox.tick(self.clock.now_us());
        }
    }

    /// Step: after an entry, the position saved if a second has passed.
    fn entry_judged(&mut self) {
        let now = self.clock.instant();
        self.due.unsaved = true;
        self.due.last_entry = now;
        if now >= self.due.position {
            self.save_position();
        }
    }

    /// Step: the journal has no more entries for now. The bans go out, the
    /// report lines are written, a day over sends its report (at most a
    /// second late), and the position is saved once the flow has paused or
    /// after a second of steady flow (one fsync a second at most).
    fn drained(&mut self) {
        self.figures.drained();
        self.flush_bans();
        self.outbox.flush();
        self.outbox.tick(self.clock.now_us());
        let now = self.clock.instant();
        let paused = now.saturating_duration_since(self.due.last_entry) >= PAUSE;
        if self.due.unsaved && (paused || now >= self.due.position) {
            self.save_position();
        }
    }

    /// Step: stopping. What is pending goes out and everything is saved.
    fn shut_down(mut self) -> Totals {
        self.notifier.stopping();
        // What came through the door before the stop is carried out and
        // answered.
        self.outside_work();
        self.flush_bans();
        self.outbox.flush();
        if self.due.unsaved {
            self.save_position();
        }
        self.counters_saver.finish(&self.workflow, self.clock.now_us());
        self.outbox.shutdown();
        self.totals.step_errors += self.observer.total();
        self.totals.bans = self.queue.banned();
        self.totals
    }

    /// Saves the cursor of the entry last judged. Its bans, and those of the
    /// entries before it, are carried out first: after a crash, reading
    /// resumes past them, so they must not be left pending.
    fn save_position(&mut self) {
        self.flush_bans();
        self.outbox.flush();
        let now = self.clock.instant();
        if now >= self.due.counters {
            self.save_counters();
        }
        release_mapped_journal_pages();
        let unreadable = self.reader.take_unreadable();
        if unreadable > 0 {
            diag!(Warning, "{unreadable} fields could not be read (corrupted journal objects?); those entries were judged without them");
        }
        // With no entry read yet, the journal has no cursor to give: the
        // last one saved goes with a new fleet position.
        let cursor = match self.reader.cursor() {
            Ok(cursor) => Some(cursor),
            Err(e) if self.last_cursor.is_none() => {
                diag!(Err, "{e}");
                None
            }
            Err(_) => self.last_cursor.clone(),
        };
        if let Some(cursor) = cursor {
            if let Err(e) = self.cursor_file.save_with(&cursor, self.fleet_position.as_deref()) {
                diag!(Err, "cannot save the journal position to {}: {e}", self.cursor_file.path().display());
            }
            self.last_cursor = Some(cursor);
        }
        self.due.unsaved = false;
        self.due.position = self.clock.instant() + SAVE_EVERY;
        let status = self.status_line();
        self.notifier.status(&status);
    }
}

/// The reconciler's lines, to the diagnostics.
fn log(level: crate::effect::Level, line: String) {
    diag::emit(level, format_args!("{line}"));
}
