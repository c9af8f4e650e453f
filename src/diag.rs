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
//! hostile lines cannot flood the log in turn.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use crate::effect::Level;
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
                emit(
                    Level::Err,
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
