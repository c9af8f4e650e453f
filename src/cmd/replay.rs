//! `banwarden replay`: a dry run of recorded entries through the rules.
//!
//! Entries come from a journal (a namespace, a directory, files, read with
//! libsystemd) or from a stream in journal export format or JSON lines,
//! optionally limited to a time window. Every effect is
//! printed on stdout as one JSON object per line, in order. What
//! `action_log` writes is fed back as a new entry right after the entry that
//! caused it, the way the journal would deliver it to the daemon running as
//! banwarden.service (with the trusted fields journald adds), so that
//! recidive chains can be tried offline. For the same reason the lines a
//! banwarden daemon wrote into the journal being replayed (identifier
//! `syslogIdentifier`, written with the native protocol, by no other unit
//! than banwarden.service) are left out: the replay makes its own, from
//! the rules being tried, and counting both would escalate twice. Time is each entry's own
//! `__REALTIME_TIMESTAMP`, which makes a replay deterministic.
//!
//! Input that holds no record (plain log lines, say) ends the replay with
//! exit 1 and what it expects; a single line typed by hand is the job of
//! `banwarden test`. With no input named and a terminal on stdin, replay
//! refuses (exit 2) rather than wait for records nobody types; `--input -`
//! reads stdin all the same.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal as _, Read, Write};
use std::rc::Rc;

use anyhow::Context as _;

use super::{load_config, Exit};
use crate::cli::ReplayArgs;
use crate::config::ConfigFile;
use crate::config::Settings;
use crate::diag::StepErrors;
use crate::effect::{Effect, Level};
use crate::entry::Entry;
use crate::fields::{FieldId, MESSAGE, PRIORITY, SYSLOG_IDENTIFIER};
use crate::journal::sd::JournalReader;
use crate::journal::{RecordError, RecordReader};
use crate::progress::{Measure, Progress};
use crate::time::parse_time;
use crate::workflow::Workflow;

/// How many times a logged message may trigger another logged message
/// before replay (or test) decides the configuration logs in a loop.
pub(super) const MAX_FEEDBACK_DEPTH: u32 = 16;

/// Entries judged: those at or after `since` and before `until`.
#[derive(Clone, Copy, Default)]
struct Window {
    since: Option<u64>,
    until: Option<u64>,
}

impl Window {
    fn contains(&self, time_us: u64) -> bool {
        self.since.is_none_or(|s| time_us >= s) && self.until.is_none_or(|u| time_us < u)
    }
}

pub fn run(file: &ConfigFile, args: &ReplayArgs) -> anyhow::Result<Exit> {
    let Some(config) = load_config(file) else { return Ok(Exit::Invalid) };
    let now = super::clock().now_us();
    let parse = |text: &Option<String>| text.as_deref().map(|t| parse_time(t, now)).transpose();
    let window = match (parse(&args.since), parse(&args.until)) {
        (Ok(since), Ok(until)) => Window { since, until },
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Ok(Exit::Invalid);
        }
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let mut replay = Replay::new(config.workflow, config.settings, args.trace);
    let clock = super::clock();
    let started = clock.instant();
    if args.journal.given() {
        let source = args.journal.source();
        let mut reader = JournalReader::open(&source, replay.workflow.fields(), replay.settings.decoder)?;
        // A journal's size in entries is not known before reading it.
        replay.progress = Some((Progress::new("replay", "entries", Measure::Items, None), Rc::new(Cell::new(0))));
        match window.since {
            Some(since) => reader.seek_time(since)?,
            None => reader.seek_head()?,
        }
        replay.read_journal(&mut reader, window, &mut out)?;
    } else {
        let stdin = args.input.as_deref().is_none_or(|path| path.as_os_str() == "-");
        if args.input.is_none() && io::stdin().is_terminal() {
            eprintln!(
                "error: replay reads recorded entries: give --input FILE (journalctl -o export or -o json), \
                 a journal (--journal-dir, --journal-file, --journal-namespace), or pipe them in \
                 (journalctl -o export | banwarden replay); --input - reads them from this terminal; \
                 to try log lines by hand, use banwarden test"
            );
            return Ok(Exit::Invalid);
        }
        let (input, size): (Box<dyn Read>, Option<u64>) = match &args.input {
            _ if stdin => (Box::new(io::stdin().lock()), None),
            Some(path) => {
                let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
                let size = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
                (Box::new(file), size)
            }
            None => (Box::new(io::stdin().lock()), None),
        };
        let read = Rc::new(Cell::new(0));
        let counted = BufReader::with_capacity(1 << 16, Counted { inner: input, read: read.clone() });
        replay.progress = Some((Progress::new("replay", "entries", Measure::Bytes, size), read));
        replay.read_all(counted, window, &mut out)?;
    }
    if let Some((progress, _)) = &mut replay.progress {
        progress.finish();
    }
    out.flush().context("writing effects")?;
    eprintln!("{}", replay.summary((clock.instant() - started).as_secs_f64()));
    let c = &replay.counts;
    if c.records == 0 && (c.malformed > 0 || c.not_records.is_some()) {
        let why = c.not_records.clone().unwrap_or_else(|| "every record was malformed".to_owned());
        eprintln!(
            "error: no entry read: {why}; replay reads the journal export format (journalctl -o export) or \
             JSON lines (journalctl -o json), or a journal (--journal-dir, --journal-file, --journal-namespace); \
             to run plain log lines through the rules, use banwarden test (banwarden test --unit sshd.service \
             'Failed password for root from 203.0.113.7 port 22 ssh2', or one line each on its stdin)"
        );
        return Ok(Exit::Failure);
    }
    Ok(Exit::Success)
}

/// Counts the bytes read through it, for the progress line.
struct Counted<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// A message `action_log` wrote, waiting to be read back.
struct Logged {
    level: Level,
    message: String,
    time_us: u64,
    generation: u32,
}

#[derive(Default)]
struct Counts {
    records: u64,
    malformed: u64,
    outside_window: u64,
    unreadable_fields: u64,
    fed_back: u64,
    /// banwarden's own lines found in the input, left out.
    own_lines: u64,
    /// The input was in neither format: why (nothing was read).
    not_records: Option<String>,
    effects: HashMap<&'static str, u64>,
}

struct Replay {
    workflow: Workflow,
    settings: Settings,
    entry: Entry,
    effects: Vec<Effect>,
    pending: VecDeque<Logged>,
    feedback: Feedback,
    /// `_TRANSPORT` and `_SYSTEMD_UNIT`, read whether rules name them or
    /// not, to recognise banwarden's own recorded lines.
    transport: FieldId,
    unit: FieldId,
    /// The progress line, and the bytes read so far (files and stdin).
    progress: Option<(Progress, Rc<Cell<u64>>)>,
    observer: StepErrors,
    counts: Counts,
}

/// What journald adds to a line banwarden.service writes with the native
/// protocol. Fed-back lines carry them, so that a recidive route on these
/// trusted fields (as in /etc/banwarden/banwarden.json) escalates in a
/// replay as it would in the service.
const AS_THE_SERVICE: [(&str, &str); 3] =
    [("_SYSTEMD_UNIT", "banwarden.service"), ("_TRANSPORT", "journal"), ("_COMM", "banwarden")];

/// Makes the entry the journal would give back for a line `action_log`
/// wrote: what replay and test judge after the entry that logged it.
pub(super) struct Feedback {
    /// The trusted fields journald gives the lines banwarden.service logs,
    /// for those the rules name (see [`AS_THE_SERVICE`]).
    service_fields: Vec<(FieldId, &'static str)>,
}

impl Feedback {
    pub(super) fn new(workflow: &Workflow) -> Feedback {
        let service_fields =
            AS_THE_SERVICE.iter().filter_map(|&(name, value)| Some((workflow.fields().get(name)?, value))).collect();
        Feedback { service_fields }
    }

    /// Fills `entry` (cleared) with the line logged at `level`, as read back.
    pub(super) fn fill(&self, entry: &mut Entry, level: Level, message: &str, time_us: u64, identifier: &str) {
        entry.clear();
        entry.set_time_us(time_us);
        entry.set(MESSAGE, message);
        entry.set_with(PRIORITY, |b| b.push(char::from(b'0' + level.priority())));
        entry.set(SYSLOG_IDENTIFIER, identifier);
        for &(id, value) in &self.service_fields {
            entry.set(id, value);
        }
    }
}

impl Replay {
    fn new(mut workflow: Workflow, settings: Settings, trace: bool) -> Replay {
        let transport = workflow.intern_field("_TRANSPORT");
        let unit = workflow.intern_field("_SYSTEMD_UNIT");
        let entry = workflow.new_entry();
        Replay {
            feedback: Feedback::new(&workflow),
            transport,
            unit,
            progress: None,
            workflow,
            settings,
            entry,
            effects: Vec::new(),
            pending: VecDeque::new(),
            observer: StepErrors { trace, ..StepErrors::default() },
            counts: Counts::default(),
        }
    }

    fn read_all(&mut self, input: impl BufRead, window: Window, out: &mut impl Write) -> anyhow::Result<()> {
        let mut reader = RecordReader::new(input);
        loop {
            self.entry.clear();
            let (entry, fields, decoder) = (&mut self.entry, self.workflow.fields(), &self.settings.decoder);
            let read = reader.next_record(&mut |name, value| {
                // Only the fields some rule names are kept; of a field given
                // several times, the first value.
                if let Some(id) = fields.get_bytes(name) {
                    if !entry.is_present(id) {
                        entry.set_bytes(id, value, decoder);
                    }
                }
            });
            match read {
                Ok(false) => return Ok(()),
                Ok(true) if !window.contains(self.entry.time_us()) => self.counts.outside_window += 1,
                Ok(true) => self.judge_read_entry(out)?,
                Err(err @ RecordError::Malformed { .. }) => {
                    self.counts.malformed += 1;
                    eprintln!("warning: skipped: {err}");
                }
                Err(err @ RecordError::NotRecords(_)) => {
                    self.counts.not_records = Some(err.to_string());
                    return Ok(());
                }
                Err(RecordError::Io(err)) => return Err(err).context("reading entries"),
            }
        }
    }

    /// Reads a journal from the reader's position to the window's end.
    fn read_journal(&mut self, reader: &mut JournalReader, window: Window, out: &mut impl Write) -> anyhow::Result<()> {
        while reader.next_into(&mut self.entry)? {
            if window.until.is_some_and(|until| self.entry.time_us() >= until) {
                break;
            }
            if window.contains(self.entry.time_us()) {
                self.judge_read_entry(out)?;
            } else {
                self.counts.outside_window += 1;
            }
        }
        self.counts.unreadable_fields = reader.take_unreadable();
        Ok(())
    }

    /// Judges the entry just read, then what it logged.
    fn judge_read_entry(&mut self, out: &mut impl Write) -> anyhow::Result<()> {
        self.counts.records += 1;
        if self.counts.records % 4096 == 0 {
            if let Some((progress, read)) = &mut self.progress {
                let records = self.counts.records;
                progress.update(if read.get() > 0 { read.get() } else { records }, records);
            }
        }
        if self.is_own_line() {
            self.counts.own_lines += 1;
            return Ok(());
        }
        let label = format!("entry {}", self.counts.records);
        self.judge(&label, 0, out)?;
        self.feed_back(out)
    }

    /// Whether the current entry is a line a banwarden daemon logged (see
    /// the module doc). A line of the same name from another unit, or sent
    /// through syslog, is someone else's and is judged.
    fn is_own_line(&self) -> bool {
        self.entry.get(SYSLOG_IDENTIFIER) == Some(self.settings.syslog_identifier.as_str())
            && self.entry.get(self.transport) == Some("journal")
            && self.entry.get(self.unit).is_none_or(|unit| unit == "banwarden.service")
    }

    /// Runs the current entry and prints its effects. `generation` is 0 for
    /// an entry read from the input, n+1 for one logged by generation n.
    fn judge(&mut self, label: &str, generation: u32, out: &mut impl Write) -> anyhow::Result<()> {
        self.observer.path.clear();
        self.workflow.run(&mut self.entry, &mut self.effects, &mut self.observer);
        if self.observer.trace {
            eprintln!("{label}: {}", self.observer.path);
        }
        for effect in self.effects.drain(..) {
            serde_json::to_writer(&mut *out, &effect.to_json())?;
            out.write_all(b"\n")?;
            *self.counts.effects.entry(action_name(&effect)).or_default() += 1;
            if let Effect::Log { level, message, .. } = effect {
                let time_us = self.entry.time_us();
                self.pending.push_back(Logged { level, message, time_us, generation: generation + 1 });
            }
        }
        Ok(())
    }

    /// Judges the messages logged by the last entry, and what they log in turn.
    fn feed_back(&mut self, out: &mut impl Write) -> anyhow::Result<()> {
        while let Some(logged) = self.pending.pop_front() {
            if logged.generation > MAX_FEEDBACK_DEPTH {
                eprintln!(
                    "warning: action_log output triggered {MAX_FEEDBACK_DEPTH} more log lines in a row; \
                     not feeding back {:?} (does a chain log every line it reads?)",
                    logged.message
                );
                self.pending.clear();
                break;
            }
            self.counts.fed_back += 1;
            let identifier = &self.settings.syslog_identifier;
            self.feedback.fill(&mut self.entry, logged.level, &logged.message, logged.time_us, identifier);
            let label = format!("entry {} (logged)", self.counts.records);
            self.judge(&label, logged.generation, out)?;
        }
        Ok(())
    }

    fn summary(&self, seconds: f64) -> String {
        let c = &self.counts;
        let mut effects: Vec<_> = c.effects.iter().collect();
        effects.sort();
        let effect_list: Vec<String> = effects.iter().map(|(name, n)| format!("{n} {name}")).collect();
        let total: u64 = c.effects.values().sum();
        let judged = c.records + c.fed_back;
        let rate = if seconds > 0.0 { judged as f64 / seconds } else { 0.0 };
        let mut text = format!(
            "replay: {} entries read, {} malformed skipped, {} outside the time window, {} fed back from action_log; {} effects{}; {:.3} s, {:.0} entries/s",
            c.records,
            c.malformed,
            c.outside_window,
            c.fed_back,
            total,
            if effect_list.is_empty() { String::new() } else { format!(" ({})", effect_list.join(", ")) },
            seconds,
            rate
        );
        if c.own_lines > 0 {
            text.push_str(&format!("; {} lines banwarden had logged left out (the replay logs its own)", c.own_lines));
        }
        if c.unreadable_fields > 0 {
            text.push_str(&format!("; {} fields unreadable (corrupted journal objects)", c.unreadable_fields));
        }
        let errors = self.observer.total();
        if errors > 0 {
            text.push_str(&format!("; {errors} step errors"));
        }
        text
    }
}

fn action_name(effect: &Effect) -> &'static str {
    match effect {
        Effect::Log { .. } => "action_log",
        Effect::Ban(ban) => ban.set.backend().action_name(),
        Effect::Email { .. } => "action_email",
        Effect::Report { .. } => "action_dailyReport",
    }
}
