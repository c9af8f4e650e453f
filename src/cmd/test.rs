//! `banwarden test`: log lines run through the rules as if a service had
//! logged them, showing the way each took (every step: chain, index,
//! module, verdict and why), what the filters captured, the counters after
//! the line and what would be done, without doing any of it: no store, no
//! kernel, no mail, no journal.
//!
//! The line is `MESSAGE` of an entry made with the fields journald would
//! give it ([`fake::Sender`]); `--field` adds or replaces any of them. The
//! workflow is the daemon's own, built from the same configuration, so a
//! line takes here the way it would take there. Lines from stdin run one
//! after the other through the same workflow, so counters add up and the
//! line that reaches a threshold shows its ban; the counters start empty,
//! or with `--counters saved` from the daemon's last save (read only).
//! A line `action_log` writes is read back and judged next, as the daemon
//! would read it from the journal (recidive chains), with replay's
//! [`Feedback`].
//!
//! Exit status, as `fail2ban-regex`'s: 0 once every line was run, whatever
//! the rules made of it (the output says); 1 when a saved-counter file or
//! stdin could not be read; 2 for a bad configuration or argument.

mod fake;
mod show;

use std::io::{self, BufRead, IsTerminal as _, Write};

use anyhow::Context as _;

use super::replay::{Feedback, MAX_FEEDBACK_DEPTH};
use super::{clock, load_config, Exit};
use crate::actions::counter::CategoryId;
use crate::actions::Action;
use crate::cli::{CountersFrom, TestArgs};
use crate::config::{ConfigFile, Settings};
use crate::effect::{Effect, Level};
use crate::entry::Entry;
use crate::fields::{FieldId, MESSAGE};
use crate::filters::{Filter, Number, Op, Operand};
use crate::workflow::{Observer, Outcome, Step, StepKind, Workflow};
use show::Shown;

pub fn run(file: &ConfigFile, args: &TestArgs) -> anyhow::Result<Exit> {
    let Some(config) = load_config(file) else { return Ok(Exit::Invalid) };
    let (mut workflow, settings) = (config.workflow, config.settings);
    let sender = match fake::Sender::new(args) {
        Ok(sender) => sender,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(Exit::Invalid);
        }
    };
    for (name, _) in &args.fields {
        if workflow.fields().get(name).is_none() {
            eprintln!("warning: --field {name}: no rule reads {name:?}, so it changes nothing");
        }
    }
    if args.counters == CountersFrom::Saved {
        let path = crate::counters_file::path(&settings.storage);
        if let Err(e) = restore_counters(&mut workflow, &path) {
            eprintln!("error: {e:#}");
            return Ok(Exit::Failure);
        }
    }
    let mut tester = Tester::new(workflow, settings, sender);
    let mut out = io::stdout().lock();
    let show = if args.json { Shown::Json } else { Shown::Text };
    if let Some(line) = &args.line {
        let judged = tester.judge_line(1, line);
        show.write(&mut out, &judged)?;
        return Ok(Exit::Success);
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprintln!("banwarden test: reading log lines from standard input, one entry per line; Ctrl-D to end");
    }
    let mut number = 0;
    for line in stdin.lock().lines() {
        let line = line.context("reading lines from standard input")?;
        // A line from a file with Windows line ends, or a blank one.
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if line.trim().is_empty() {
            continue;
        }
        number += 1;
        let judged = tester.judge_line(number, line);
        show.write(&mut out, &judged)?;
        // Each line's verdict as soon as it is typed or piped.
        out.flush()?;
    }
    Ok(Exit::Success)
}

/// Takes back the counters the daemon saved, reading the file only (the
/// daemon, not a test, moves a damaged one aside).
fn restore_counters(workflow: &mut Workflow, path: &std::path::Path) -> anyhow::Result<()> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("banwarden test: no saved counters at {}: starting from none", path.display());
            return Ok(());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read the saved counters {}", path.display())),
    };
    let now = clock().now_us();
    let restored = workflow
        .counters_mut()
        .restore(io::BufReader::new(file), now)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    eprintln!("banwarden test: {} counter keys taken from {}", restored.keys, path.display());
    Ok(())
}

/// One step an entry went through, as shown.
#[derive(Debug)]
pub struct Taken {
    pub chain: String,
    pub index: u32,
    pub module: &'static str,
    /// passed, failed, error, acted, stopped.
    pub verdict: &'static str,
    pub reason: Option<String>,
    /// Fields the step wrote, with their values after it.
    pub captures: Vec<(String, String)>,
}

/// A counter a line raised or reset, after the line.
#[derive(Debug)]
pub struct CounterShown {
    pub counter: String,
    pub key: String,
    pub count: usize,
    /// The highest value a raise saved during the line, when above
    /// `count` (a reset followed, as after a ban).
    pub reached: Option<usize>,
    /// The least number a `filter_greaterOrEquals` compares the counter's
    /// `save` field with.
    pub threshold: Option<f64>,
}

/// One entry judged: the input line, or a line read back.
#[derive(Debug, Default)]
pub struct Judged {
    pub number: usize,
    pub message: String,
    /// The fields the rules read, as the entry had them.
    pub fields: Vec<(String, String)>,
    pub path: Vec<Taken>,
    pub effects: Vec<Effect>,
    pub counters: Vec<CounterShown>,
    /// The lines `action_log` wrote, judged in turn when read back.
    pub read_back: Vec<Judged>,
    /// The read-back chain was cut: the rules log in a loop.
    pub loop_cut: bool,
}

impl Judged {
    /// Whether this entry or a line read back because of it bans.
    pub fn bans(&self) -> bool {
        self.effects.iter().any(|e| matches!(e, Effect::Ban(_))) || self.read_back.iter().any(Judged::bans)
    }
}

/// Records what each step did, for [`Judged::path`].
#[derive(Default)]
struct Recorder {
    path: Vec<Taken>,
    /// What the step just reported reads and writes, to describe it once
    /// the entry as it left it is known: the filter (field, its test), the
    /// fields written, a counter step.
    tested: Option<(String, FieldId, String)>,
    writes: Vec<(String, FieldId)>,
    counter: Option<(CategoryId, FieldId, Option<FieldId>)>,
    /// Counter steps taken, with their key's value and the value a raise
    /// saved.
    counters: Vec<(CategoryId, String, Option<usize>)>,
}

impl Observer for Recorder {
    fn step(&mut self, workflow: &Workflow, step: &Step, outcome: &Outcome<'_>) {
        let (verdict, reason) = match outcome {
            Outcome::Passed => ("passed", None),
            Outcome::Failed => ("failed", None),
            Outcome::FilterError(e) => ("error", Some(format!("{e}; taken as failed"))),
            Outcome::Acted => ("acted", None),
            Outcome::ActionError(e) => ("stopped", Some(format!("{e}; the entry stops here"))),
        };
        let fields = workflow.fields();
        let name = |id: FieldId| fields.name(id).to_owned();
        let passed = matches!(outcome, Outcome::Passed | Outcome::Acted);
        self.tested = None;
        self.writes.clear();
        self.counter = None;
        match &step.kind {
            StepKind::Filter(filter) => {
                self.tested = Some((name(filter.field()), filter.field(), test_of(filter, passed)));
                if passed {
                    self.writes = filter.writes().into_iter().map(|id| (name(id), id)).collect();
                }
            }
            StepKind::Action(action) if passed => {
                self.writes = action.writes().into_iter().map(|id| (name(id), id)).collect();
                self.counter = match action {
                    Action::CounterRaise(a) => Some(a.parts()),
                    Action::CounterReset(a) => Some((a.parts().0, a.parts().1, None)),
                    _ => None,
                };
            }
            StepKind::Action(_) => {}
        }
        self.path.push(Taken {
            chain: workflow.label(step.chain).to_owned(),
            index: step.index,
            module: step.module,
            verdict,
            reason,
            captures: Vec::new(),
        });
    }

    fn entry(&mut self, entry: &Entry) {
        let Some(taken) = self.path.last_mut() else { return };
        if let Some((name, id, test)) = self.tested.take() {
            // The line itself is shown once, above the path.
            let value = match (id, entry.get(id)) {
                (MESSAGE, Some(_)) => "MESSAGE".to_owned(),
                (_, Some(value)) => format!("{name} is {:?}", shorten(value)),
                (_, None) => format!("{name} is absent"),
            };
            if taken.reason.is_none() {
                taken.reason = Some(format!("{value}{test}"));
            }
        }
        for (name, id) in self.writes.drain(..) {
            if let Some(value) = entry.get(id) {
                taken.captures.push((name, value.to_owned()));
            }
        }
        if let Some((counter, key, saved)) = self.counter.take() {
            if let Some(key) = entry.get(key) {
                let value = saved.and_then(|id| entry.get(id)?.parse().ok());
                self.counters.push((counter, key.to_owned(), value));
            }
        }
    }
}

/// What a filter tests, after the value: ", not >= 5", " (in the list)".
fn test_of(filter: &Filter, passed: bool) -> String {
    let not = if passed { "" } else { "not " };
    match filter {
        Filter::Compare(c) => {
            let op = match c.op() {
                Op::Equals => "=",
                Op::LowerOrEquals => "<=",
                Op::GreaterOrEquals => ">=",
            };
            let value = match c.value() {
                Operand::Text(t) => format!("{t:?}"),
                Operand::Number(Number::Int(i)) => i.to_string(),
                Operand::Number(Number::Float(f)) => f.to_string(),
            };
            format!(": {not}{op} {value}")
        }
        Filter::In(list) => format!(": {not}one of its {} values", list.texts().len() + list.numbers().len()),
        Filter::InNetworks(_) => format!(": {not}in its networks"),
        Filter::Pcre(_) | Filter::PcreAny(_) => format!(": {}", if passed { "matched" } else { "no match" }),
        Filter::UserExists(_) => format!(": {not}a user of this system"),
    }
}

/// A value cut for a one-line reason.
fn shorten(value: &str) -> String {
    const SHOWN: usize = 80;
    match value.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_owned(),
    }
}

/// The workflow, and what judging a line needs around it.
struct Tester {
    workflow: Workflow,
    settings: Settings,
    sender: fake::Sender,
    entry: Entry,
    feedback: Feedback,
    /// Per counter: the least threshold the rules compare its value with.
    thresholds: Vec<(CategoryId, f64)>,
}

impl Tester {
    fn new(workflow: Workflow, settings: Settings, sender: fake::Sender) -> Tester {
        let entry = workflow.new_entry();
        let feedback = Feedback::new(&workflow);
        let thresholds = thresholds(&workflow);
        Tester { workflow, settings, sender, entry, feedback, thresholds }
    }

    fn judge_line(&mut self, number: usize, line: &str) -> Judged {
        let now = clock().now_us();
        self.sender.fill(&mut self.entry, self.workflow.fields(), line, now);
        let mut judged = self.judge(number);
        self.read_back(&mut judged, 1);
        judged
    }

    /// Runs the entry in hand through the workflow.
    fn judge(&mut self, number: usize) -> Judged {
        let fields = self.workflow.fields();
        let shown: Vec<(String, String)> = fields
            .iter()
            .filter_map(|(id, name)| Some((name.to_owned(), self.entry.get(id)?.to_owned())))
            .filter(|(name, _)| name != "MESSAGE")
            .collect();
        let message = self.entry.get(MESSAGE).unwrap_or_default().to_owned();
        let mut recorder = Recorder::default();
        let mut effects = Vec::new();
        self.workflow.run(&mut self.entry, &mut effects, &mut recorder);
        let now = self.entry.time_us();
        let state = &self.workflow.state().counters;
        let mut counters: Vec<CounterShown> = Vec::new();
        for (id, key, saved) in &recorder.counters {
            let name = state.name(*id);
            // A raise then a reset of one key: shown once, with both.
            if let Some(shown) = counters.iter_mut().find(|c| c.counter == name && &c.key == key) {
                shown.reached = shown.reached.max(*saved);
                continue;
            }
            counters.push(CounterShown {
                counter: name.to_owned(),
                key: key.clone(),
                count: state.value(*id, key, now),
                reached: *saved,
                threshold: self.thresholds.iter().find(|(c, _)| c == id).map(|&(_, t)| t),
            });
        }
        for c in &mut counters {
            c.reached = c.reached.filter(|&r| r > c.count);
        }
        Judged { number, message, fields: shown, path: recorder.path, effects, counters, ..Judged::default() }
    }

    /// Judges the lines `judged` logged, as the daemon reads them back.
    fn read_back(&mut self, judged: &mut Judged, depth: u32) {
        let logged: Vec<(Level, String)> = judged
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Log { level, message, .. } => Some((*level, message.clone())),
                _ => None,
            })
            .collect();
        if logged.is_empty() {
            return;
        }
        if depth > MAX_FEEDBACK_DEPTH {
            judged.loop_cut = true;
            return;
        }
        let time = clock().now_us();
        for (level, message) in logged {
            let identifier = &self.settings.syslog_identifier;
            self.feedback.fill(&mut self.entry, level, &message, time, identifier);
            let mut again = self.judge(judged.number);
            self.read_back(&mut again, depth + 1);
            judged.read_back.push(again);
        }
    }
}

/// For each counter whose value a raise saves in a field, the least number
/// a `filter_greaterOrEquals` on that field compares it with.
fn thresholds(workflow: &Workflow) -> Vec<(CategoryId, f64)> {
    let steps = workflow.steps();
    let mut found: Vec<(CategoryId, f64)> = Vec::new();
    for step in steps {
        let StepKind::Action(Action::CounterRaise(raise)) = &step.kind else { continue };
        let (counter, _, Some(save)) = raise.parts() else { continue };
        for other in steps {
            let StepKind::Filter(Filter::Compare(c)) = &other.kind else { continue };
            let (true, Operand::Number(n)) = (c.field() == save && c.op() == Op::GreaterOrEquals, c.value()) else {
                continue;
            };
            let n = n.as_f64();
            match found.iter_mut().find(|(id, _)| *id == counter) {
                Some((_, least)) => *least = least.min(n),
                None => found.push((counter, n)),
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    const RULES: &str = r#"{"storage": "/nonexistent", "actions": {
        "Route": [{"filter": "filter_equals", "args": {"field": "_SYSTEMD_UNIT", "value": "sshd.service"}, "then": "sshd"}],
        "Own": [{"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "banwarden"}, "then": "again"}],
        "Rest": [{"action": "action_noop"}],
        "sshd": [
            {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed from (?P<ip>\\S+)$"}},
            {"action": "action_counterRaise", "args": {"counter": "c", "for": "ip", "save": "n"}},
            {"filter": "filter_greaterOrEquals", "args": {"field": "n", "value": 2}},
            {"action": "action_counterReset", "args": {"counter": "c", "for": "ip"}},
            {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "inet t s4", "nftSetIPv6": "inet t s6"}},
            {"action": "action_log", "args": {"message": "Banned {ip}"}}],
        "again": [{"action": "action_log", "args": {"message": "again {MESSAGE}"}}]
    }}"#;

    fn tester(args: &[&str]) -> Tester {
        let config = crate::config::compile(RULES, "test.json").unwrap_or_else(|e| panic!("{e:?}"));
        let cli = Cli::try_parse_from([&["banwarden", "test"][..], args].concat()).unwrap();
        let Command::Test(args) = cli.command else { panic!("not test") };
        Tester::new(config.workflow, config.settings, fake::Sender::new(&args).unwrap())
    }

    fn path(judged: &Judged) -> Vec<String> {
        judged.path.iter().map(|t| format!("{}[{}] {}", t.chain, t.index, t.verdict)).collect()
    }

    #[test]
    fn the_second_line_bans_and_its_log_line_is_read_back() {
        let mut t = tester(&["--unit", "sshd"]);
        assert_eq!(t.thresholds.len(), 1);
        let first = t.judge_line(1, "Failed from 192.0.2.7");
        assert_eq!(
            path(&first),
            ["Route[0] passed", "sshd[0] passed", "sshd[1] acted", "sshd[2] failed", "Own[0] failed", "Rest[0] acted"]
        );
        assert_eq!(first.path[1].captures, [("ip".to_owned(), "192.0.2.7".to_owned())]);
        assert_eq!(first.path[3].reason.as_deref(), Some(r#"n is "1": not >= 2"#));
        assert_eq!(first.path[0].reason.as_deref(), Some(r#"_SYSTEMD_UNIT is "sshd.service": = "sshd.service""#));
        let c = &first.counters[0];
        assert_eq!(
            (c.counter.as_str(), c.key.as_str(), c.count, c.reached, c.threshold),
            ("c", "192.0.2.7", 1, None, Some(2.0))
        );
        assert!(!first.bans());

        let second = t.judge_line(2, "Failed from 192.0.2.7");
        assert!(second.bans());
        let c = &second.counters[0];
        assert_eq!((c.count, c.reached), (0, Some(2)), "raised to 2, then reset");
        assert!(matches!(&second.effects[0], Effect::Ban(ban) if ban.net.to_string() == "192.0.2.7"));
        // "Banned 192.0.2.7" read back: the own route logs it again, and
        // that line once more, until the loop is cut.
        let back = &second.read_back[0];
        assert_eq!(back.message, "Banned 192.0.2.7");
        assert_eq!(path(back)[..2], ["Route[0] failed", "Own[0] passed"]);
        let mut depth = 1;
        let mut at = back;
        while let Some(next) = at.read_back.first() {
            at = next;
            depth += 1;
        }
        assert!(at.loop_cut && depth == MAX_FEEDBACK_DEPTH as usize, "{depth}");
    }

    #[test]
    fn a_forged_line_and_an_error_are_shown_with_their_reason() {
        let mut t = tester(&["--identifier", "sshd"]);
        let judged = t.judge_line(1, "Failed from 192.0.2.7");
        assert_eq!(path(&judged)[0], "Route[0] failed");
        assert_eq!(
            judged.path[0].reason.as_deref(),
            Some(r#"_SYSTEMD_UNIT is "session-1.scope": not = "sshd.service""#)
        );
        // An address the ban refuses: the step stops the entry, and says why.
        let mut t = tester(&["--unit", "sshd"]);
        t.judge_line(1, "Failed from 0.0.0.0");
        let judged = t.judge_line(2, "Failed from 0.0.0.0");
        let ban = judged.path.iter().find(|s| s.verdict == "stopped").expect("the ban stopped");
        assert!(ban.reason.as_deref().unwrap().contains("never a peer's address"), "{:?}", ban.reason);
        assert!(!judged.bans());
    }
}
