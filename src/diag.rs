//! banwarden's own diagnostics: what went wrong, for the administrator.
//!
//! They go to stderr. Under systemd stderr is a journal stream
//! (`$JOURNAL_STREAM` names it), and a `<N>` prefix gives each line its
//! priority (sd-daemon(3)); in a terminal lines read `banwarden: error: ...`.
//! What banwarden logs it also reads back: these lines carry its identifier,
//! so rules must match its ban messages precisely (they do in the examples).
//!
//! [`StepErrors`] is the observer that reports run-time step errors (a filter
//! that could not judge, an action that failed) with their chain and step,
//! the first few of each step in full and the rest counted, so a flood of
//! hostile lines cannot flood the log in turn. [`Throttle`] does the same
//! for counted causes (ban failures, the fleet's refusals): the first of a
//! kind logged, then its 10th, 100th..., over a bounded number of kinds.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::hash::Hash;
use std::sync::{Mutex, OnceLock};

use crate::actions::ActionError;
use crate::effect::Level;
use crate::journal::ids::{self, MessageId};
use crate::journal::native::JournalWriter;
use crate::vocab::{Network, SetRef};
use crate::workflow::{Observer, Outcome, Step, Workflow};

/// Run-time errors printed per step before they are only counted.
pub const ERRORS_SHOWN_PER_STEP: u64 = 5;

fn to_journal() -> bool {
    static STREAM: OnceLock<bool> = OnceLock::new();
    *STREAM.get_or_init(|| std::env::var("JOURNAL_STREAM").is_ok_and(|stream| stderr_is(&stream)))
}

/// Whether stderr is the stream `$JOURNAL_STREAM` names ("device:inode"):
/// a program started from a service inherits the variable with another
/// stderr (systemd.exec(5) asks to compare both before trusting it).
fn stderr_is(stream: &str) -> bool {
    let Some((dev, ino)) = stream.split_once(':') else { return false };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else { return false };
    // SAFETY: fstat fills the zeroed struct it is given, or fails.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(libc::STDERR_FILENO, &mut stat) } != 0 {
        return false;
    }
    stat.st_dev == dev && stat.st_ino == ino
}

/// Writes one diagnostic line.
pub fn emit(level: Level, message: fmt::Arguments<'_>) {
    if to_journal() {
        eprintln!("<{}>{message}", level.priority());
    } else {
        let word = match level {
            Level::Emerg | Level::Alert | Level::Crit | Level::Err => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        };
        eprintln!("banwarden: {word}: {message}");
    }
}

/// What a diagnostic line is about, given to the journal as structured
/// fields (see [`crate::journal::ids`]) beside the unchanged `MESSAGE`.
#[derive(Clone, Copy, Default)]
pub struct About<'a> {
    pub id: Option<MessageId>,
    pub net: Option<Network>,
    pub set: Option<&'a SetRef>,
    pub chain: Option<&'a str>,
}

impl About<'_> {
    /// The fields, as text.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = Vec::with_capacity(4);
        if let Some(id) = self.id {
            fields.push(("MESSAGE_ID", id.id.to_owned()));
        }
        if let Some(net) = self.net {
            fields.push((ids::IP, net.to_string()));
        }
        if let Some(set) = self.set {
            fields.push((ids::SET, set.to_string()));
        }
        if let Some(chain) = self.chain {
            fields.push((ids::CHAIN, chain.to_owned()));
        }
        fields
    }
}

/// The native socket of the journal stderr goes to, when it goes to one
/// (a stream has no fields: a line with fields goes by the native
/// protocol, to the same journal or namespace).
fn native() -> Option<&'static Mutex<JournalWriter>> {
    static NATIVE: OnceLock<Option<Mutex<JournalWriter>>> = OnceLock::new();
    NATIVE
        .get_or_init(|| {
            let socket = crate::journal::native::socket_of_stream(libc::STDERR_FILENO)?;
            JournalWriter::new(socket).ok().map(Mutex::new)
        })
        .as_ref()
}

/// Writes one diagnostic line with structured fields: natively to the
/// journal under systemd, else (or if that fails) as [`emit`] does.
pub fn emit_about(level: Level, about: About<'_>, message: fmt::Arguments<'_>) {
    if to_journal() {
        if let Some(writer) = native() {
            let text = message.to_string();
            let fields = about.fields();
            let extra: Vec<(&str, &[u8])> = fields.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
            let mut writer = writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if writer.log_with(ids::DIAG_IDENTIFIER, level, &text, &extra).is_ok() {
                return;
            }
        }
    }
    emit(level, message);
}

#[macro_export]
macro_rules! diag {
    ($level:ident, $($arg:tt)*) => {
        $crate::diag::emit($crate::effect::Level::$level, format_args!($($arg)*))
    };
}

/// Reports step errors, and with `trace` records the path of each entry.
#[derive(Default)]
pub struct StepErrors {
    pub trace: bool,
    /// The path of the current entry, when tracing.
    pub path: String,
    /// Run-time errors per (chain, step).
    pub counts: HashMap<(u32, u32), u64>,
}

impl StepErrors {
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

impl Observer for StepErrors {
    fn wants_every_step(&self) -> bool {
        self.trace
    }

    fn step(&mut self, workflow: &Workflow, step: &Step, outcome: &Outcome<'_>) {
        let (error, consequence): (Option<&dyn fmt::Display>, &str) = match outcome {
            Outcome::FilterError(e) => (Some(e), "took else"),
            Outcome::ActionError(e) => (Some(e), "entry stopped"),
            _ => (None, ""),
        };
        if let Some(error) = error {
            let seen = self.counts.entry((step.chain, step.index)).or_default();
            *seen += 1;
            if *seen <= ERRORS_SHOWN_PER_STEP {
                let more =
                    if *seen == ERRORS_SHOWN_PER_STEP { " (further errors of this step are only counted)" } else { "" };
                let net = match outcome {
                    Outcome::ActionError(ActionError::NeverBan(net) | ActionError::NotAPeer(net)) => Some(*net),
                    _ => None,
                };
                let chain = Some(workflow.label(step.chain));
                emit_about(
                    Level::Err,
                    About { id: Some(ids::STEP_ERROR), net, chain, set: None },
                    format_args!(
                        "chain {:?}, step {} ({}): {error}; {consequence}{more}",
                        workflow.label(step.chain),
                        step.index,
                        step.module
                    ),
                );
            }
        }
        if self.trace {
            let verdict = match outcome {
                Outcome::Passed => "pass",
                Outcome::Failed => "fail",
                Outcome::FilterError(_) => "error->else",
                Outcome::Acted => "done",
                Outcome::ActionError(_) => "error->stop",
            };
            if !self.path.is_empty() {
                self.path.push_str(" -> ");
            }
            let _ = write!(self.path, "{:?}[{}] {} {}", workflow.label(step.chain), step.index, step.module, verdict);
        }
    }
}

/// Kinds a [`Throttle`] counts apart; past them, the rest are counted
/// together (it takes hundreds of broken sets, or a stream of every kind
/// of hostile entry, to get there).
pub const THROTTLE_KINDS: usize = 256;

/// Counts occurrences by kind and says when one should be logged: the
/// first of its kind, then at its 10th, 100th, 1,000th... The kind never
/// holds an address, so 10,000 attackers against one broken set are one
/// kind. What banwarden logs, it reads back: an unbounded stream of lines
/// would be a flood it feeds itself.
pub struct Throttle<K> {
    counts: HashMap<K, u64>,
    /// Occurrences whose kind came after [`THROTTLE_KINDS`] others.
    others: u64,
}

impl<K> Default for Throttle<K> {
    fn default() -> Self {
        Throttle { counts: HashMap::new(), others: 0 }
    }
}

impl<K: Hash + Eq> Throttle<K> {
    /// Counts one occurrence of `kind`; the count when it should be logged.
    pub fn count(&mut self, kind: K) -> Option<u64> {
        let count = if self.counts.contains_key(&kind) || self.counts.len() < THROTTLE_KINDS {
            self.counts.entry(kind).or_default()
        } else {
            &mut self.others
        };
        *count += 1;
        is_power_of_ten(*count).then_some(*count)
    }

    /// Occurrences counted, of every kind.
    pub fn total(&self) -> u64 {
        self.counts.values().sum::<u64>() + self.others
    }

    /// Each kind counted apart and its count, then those counted together
    /// past [`THROTTLE_KINDS`] (`None`), if any.
    pub fn counts(&self) -> impl Iterator<Item = (Option<&K>, u64)> + '_ {
        let others = (self.others > 0).then_some((None, self.others));
        self.counts.iter().map(|(k, n)| (Some(k), *n)).chain(others)
    }

    /// Kinds counted apart.
    pub fn kinds(&self) -> usize {
        self.counts.len()
    }
}

fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

#[cfg(test)]
mod throttle_tests {
    use super::*;

    #[test]
    fn a_kind_is_logged_at_powers_of_ten() {
        let logged: Vec<u64> = (1..=2000).filter(|&n| is_power_of_ten(n)).collect();
        assert_eq!(logged, [1, 10, 100, 1000]);
        let mut t = Throttle::default();
        let logged: Vec<u64> = (0..1000).filter_map(|_| t.count("bad net")).collect();
        assert_eq!(logged, [1, 10, 100, 1000]);
        assert_eq!(t.count("other"), Some(1));
        assert_eq!(t.total(), 1001);
    }

    #[test]
    fn the_kinds_are_bounded() {
        let mut t = Throttle::default();
        for i in 0..2 * THROTTLE_KINDS {
            t.count(i);
        }
        assert_eq!(t.kinds(), THROTTLE_KINDS);
        assert_eq!(t.total(), 2 * THROTTLE_KINDS as u64);
    }
}

// ------------------------------------------------------------ the `log` crate

/// Where a library's log line was written: its crate (the target), file
/// and line. The [`Throttle`] kind of [`LogBridge`]: a call site, never the
/// text, which may hold an address or a length that differs every time.
type CallSite = (String, &'static str, u32, log::Level);

/// Forwards the records of the `log` crate, through which nftnl, mnl,
/// libsystemd's binding, redis and redis-protocol report, to banwarden's
/// diagnostics: `error` as Err, `warn` as Warning, `info` as Info, `debug`
/// as Debug; `trace` (per set element, per frame) is never let through.
/// Each line names its crate. A call site is written the first time, then
/// at its 10th, 100th... time ([`Throttle`]), so a chatty library cannot
/// flood the journal that banwarden reads back.
pub struct LogBridge<S> {
    sink: S,
    throttle: std::sync::Mutex<Throttle<CallSite>>,
}

impl<S: Fn(Level, fmt::Arguments<'_>) + Send + Sync> LogBridge<S> {
    pub fn new(sink: S) -> LogBridge<S> {
        LogBridge { sink, throttle: std::sync::Mutex::default() }
    }
}

impl<S: Fn(Level, fmt::Arguments<'_>) + Send + Sync> log::Log for LogBridge<S> {
    /// The verbosity is `log`'s own maximum level, which its macros check
    /// before calling here; trace is refused whatever it is.
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() < log::Level::Trace
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let site = (
            record.target().to_owned(),
            record.file_static().unwrap_or(""),
            record.line().unwrap_or(0),
            record.level(),
        );
        // A poisoned lock only means a sink panicked once; the counts are
        // still counts.
        let count = self.throttle.lock().unwrap_or_else(|e| e.into_inner()).count(site);
        let Some(count) = count else { return };
        let level = match record.level() {
            log::Level::Error => Level::Err,
            log::Level::Warn => Level::Warning,
            log::Level::Info => Level::Info,
            log::Level::Debug | log::Level::Trace => Level::Debug,
        };
        let again = match count {
            1 => String::new(),
            n => format!(" (the {n}th time; this line is written at its 1st, 10th, 100th... time)"),
        };
        (self.sink)(level, format_args!("{}: {}{again}", record.target(), record.args()));
    }

    fn flush(&self) {}
}

/// Installs the [`LogBridge`] to [`emit`] as the process's logger, at
/// verbosity Info (see [`log_debug`]). Only the first call installs it.
pub fn install_log_bridge() {
    if log::set_boxed_logger(Box::new(LogBridge::new(emit))).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// Lets the libraries' debug lines through, or not: the configuration's
/// `debug` key.
pub fn log_debug(debug: bool) {
    log::set_max_level(if debug { log::LevelFilter::Debug } else { log::LevelFilter::Info });
}

#[cfg(test)]
mod log_bridge_tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    type Seen = Arc<Mutex<Vec<(Level, String)>>>;

    fn bridge() -> (Seen, LogBridge<impl Fn(Level, fmt::Arguments<'_>) + Send + Sync>) {
        let seen: Seen = Arc::default();
        let sink = Arc::clone(&seen);
        (
            seen,
            LogBridge::new(move |level, args: fmt::Arguments<'_>| sink.lock().unwrap().push((level, args.to_string()))),
        )
    }

    /// The one test that installs a global logger in this test binary; its
    /// target is its own, so that the libraries' lines of parallel tests
    /// are told apart.
    #[test]
    fn log_warn_reaches_the_sink() {
        let (seen, bridge) = bridge();
        log::set_boxed_logger(Box::new(bridge)).expect("no other test installs a logger");
        log::set_max_level(log::LevelFilter::Info);
        log::warn!(target: "bw_bridge_test", "netlink said {}", "no");
        log::debug!(target: "bw_bridge_test", "below the verbosity");
        let mine = |seen: &Seen| -> Vec<(Level, String)> {
            seen.lock().unwrap().iter().filter(|(_, line)| line.starts_with("bw_bridge_test: ")).cloned().collect()
        };
        assert_eq!(mine(&seen), [(Level::Warning, "bw_bridge_test: netlink said no".to_owned())]);
        log_debug(true);
        log::debug!(target: "bw_bridge_test", "now shown");
        log::trace!(target: "bw_bridge_test", "never shown");
        log_debug(false);
        assert_eq!(mine(&seen).last().unwrap(), &(Level::Debug, "bw_bridge_test: now shown".to_owned()));
        assert_eq!(mine(&seen).len(), 2);
    }

    #[test]
    fn levels_are_mapped_and_a_call_site_is_throttled() {
        let (seen, bridge) = bridge();
        let record = |level, line| {
            let args = format_args!("message {line}");
            let record = log::Record::builder()
                .level(level)
                .target("nftnl")
                .file_static(Some("src/table.rs"))
                .line(Some(line))
                .args(args)
                .build();
            log::Log::log(&bridge, &record);
        };
        record(log::Level::Error, 1);
        record(log::Level::Warn, 2);
        record(log::Level::Info, 3);
        assert_eq!(
            *seen.lock().unwrap(),
            [
                (Level::Err, "nftnl: message 1".to_owned()),
                (Level::Warning, "nftnl: message 2".to_owned()),
                (Level::Info, "nftnl: message 3".to_owned()),
            ]
        );
        seen.lock().unwrap().clear();
        for _ in 0..99 {
            record(log::Level::Error, 1);
        }
        let lines = seen.lock().unwrap().clone();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].1.starts_with("nftnl: message 1 (the 10th time"), "{lines:?}");
        assert!(lines[1].1.starts_with("nftnl: message 1 (the 100th time"), "{lines:?}");
    }
}
