//! The configuration: Pyruse's JSON format, read and compiled.
//!
//! Two stages, as ripgrep turns low-level flags into high-level ones: the
//! file is parsed into an order- and duplicate-preserving JSON tree
//! ([`json`]), then every key, chain and step is validated and compiled into
//! runtime types: a [`Settings`] and a linked [`Workflow`]. Compilation never
//! stops at the first problem; [`ConfigError::Invalid`] lists them all, each
//! with its place ([`problem`]).

pub mod api;
pub mod args;
mod comments;
pub mod control;
pub mod dropins;
pub mod fleet;
pub mod json;
pub mod lint;
mod locate;
pub mod problem;
pub mod settings;
pub mod steps;
pub mod trust;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::actions::State;
use crate::fields::FieldTable;
use crate::workflow::link::{self, ChainShape, LinkError, StepShape};
use crate::workflow::{Step, StepKind, Workflow};
use args::Args;
use json::{dedup_pairs, Json};
pub use locate::ConfigFile;
pub use problem::{Location, Problem, Problems};
pub use settings::{EmailSettings, Settings};

pub const DEFAULT_PATH: &str = "/etc/banwarden/banwarden.json";

/// A compiled configuration, ready to judge entries.
#[derive(Debug)]
pub struct Config {
    pub settings: Settings,
    pub workflow: Workflow,
    pub warnings: Vec<Problem>,
    pub stats: Stats,
    /// Every firewall set a ban action writes to, for the startup check.
    pub sets: Vec<SetUse>,
    /// The drop-ins read with the main file, in order ([`dropins`]).
    pub dropins: Vec<PathBuf>,
}

/// A firewall set named by a ban action, and what the action needs of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetUse {
    pub set: crate::vocab::SetRef,
    /// The set is the action's IPv6 one.
    pub ipv6: bool,
    /// The action bans for a time (`banSeconds`), so the set needs timeouts.
    pub timeout: bool,
    pub location: Location,
    /// The action's set for the other address family.
    pub pair: Option<crate::vocab::SetRef>,
    /// The field the action bans.
    pub field: crate::fields::FieldId,
    /// That field holds networks (an `action_network` writes it), so the
    /// set must take them.
    pub networks: bool,
}

impl Config {
    /// Each set the rules use for one address family, with the action's
    /// set for the other: where a stored address of the wrong family
    /// belongs. A set used for both families is left out (no answer).
    pub fn set_pairs(&self) -> Vec<crate::bans::SetPair> {
        let mut pairs: Vec<crate::bans::SetPair> = Vec::new();
        for u in &self.sets {
            let Some(pair) = &u.pair else { continue };
            if self.sets.iter().any(|other| other.set == u.set && other.ipv6 != u.ipv6) {
                continue;
            }
            let p = crate::bans::SetPair { set: u.set.clone(), ipv6: u.ipv6, pair: pair.clone() };
            if !pairs.contains(&p) {
                pairs.push(p);
            }
        }
        pairs
    }
}

impl SetUse {
    /// What the kernel check needs to know of this use.
    pub fn need(&self) -> crate::firewall::check::SetNeed {
        crate::firewall::check::SetNeed {
            set: self.set.clone(),
            ipv6: self.ipv6,
            timeout: self.timeout,
            networks: self.networks,
            place: Some(self.location.to_string()),
        }
    }
}

/// Sizes, for `check`'s summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub chains: usize,
    pub steps: usize,
    pub nodes: usize,
    pub regexes: usize,
    pub backtracking_regexes: usize,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} chains, {} steps ({} linked nodes), {} regexes ({} backtracking)",
            self.chains, self.steps, self.nodes, self.regexes, self.backtracking_regexes
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: line {line}, column {column}: {message}")]
    Syntax { path: String, line: usize, column: usize, message: String },
    #[error("{path}: {} problem(s)", errors.len())]
    Invalid { path: String, errors: Vec<Problem>, warnings: Vec<Problem> },
}

/// Reads and compiles the configuration file at `path`, with its drop-ins
/// ([`dropins`]).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    let origin = path.display().to_string();
    let mut root = parse(&text, &origin)?;
    let files = dropins::list(path)?;
    let mut problems = Problems::default();
    let origins = dropins::merge(&mut root, &files, &mut problems)?;
    let mut config = compile_tree(&root, &origin, problems, &origins);
    if let Ok(config) = &mut config {
        config.dropins = files;
    }
    config
}

/// Compiles configuration text; `origin` names it in errors.
pub fn compile(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let root = parse(text, origin)?;
    compile_tree(&root, origin, Problems::default(), &dropins::Origins::default())
}

/// Parses one file's text (comments allowed: [`comments`]).
fn parse(text: &str, origin: &str) -> Result<Json, ConfigError> {
    let syntax = |line, column, message| ConfigError::Syntax { path: origin.to_owned(), line, column, message };
    let text = comments::blank(text)
        .map_err(|at| syntax(at.line, at.column, "a comment opened with /* is never closed".to_owned()))?;
    serde_json::from_str(&text).map_err(|e| syntax(e.line(), e.column(), strip_position(&e.to_string())))
}

fn compile_tree(
    root: &Json,
    origin: &str,
    mut problems: Problems,
    origins: &dropins::Origins,
) -> Result<Config, ConfigError> {
    let compiled = compile_root(root, &mut problems);
    origins.mark(&mut problems);
    match compiled {
        Some((settings, workflow, stats, sets)) if problems.errors.is_empty() => {
            Ok(Config { settings, workflow, warnings: problems.warnings, stats, sets, dropins: Vec::new() })
        }
        _ => {
            Err(ConfigError::Invalid { path: origin.to_owned(), errors: problems.errors, warnings: problems.warnings })
        }
    }
}

/// serde_json appends " at line L column C"; we print the position first.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn compile_root(root: &Json, problems: &mut Problems) -> Option<(Settings, Workflow, Stats, Vec<SetUse>)> {
    let Json::Object(pairs) = root else {
        problems.error(&Location::default(), format!("expected an object, found {}", root.type_name()));
        return None;
    };
    let (top, duplicates) = dedup_pairs(pairs);
    for key in duplicates {
        problems.warn(&Location::key(key), "key given twice; the last value is used");
    }
    let settings = settings::read(&top, problems);
    let chains = match top.iter().find(|(k, _)| *k == "actions") {
        Some((_, Json::Object(chains))) => chains,
        Some((_, other)) => {
            problems
                .error(&Location::key("actions"), format!("expected an object of chains, found {}", other.type_name()));
            return None;
        }
        None => {
            problems.error(&Location::default(), "missing the \"actions\" key: there are no chains");
            return None;
        }
    };
    let (workflow, stats, sets) = compile_chains(chains, &settings, problems)?;
    Some((settings, workflow, stats, sets))
}

/// One step's raw parts, before linking.
struct RawStep<'a> {
    location: Location,
    is_filter: bool,
    then: Option<&'a str>,
    else_: Option<&'a str>,
    step: u32,
}

fn compile_chains(
    pairs: &[(String, Json)],
    settings: &Settings,
    problems: &mut Problems,
) -> Option<(Workflow, Stats, Vec<SetUse>)> {
    let (chains, duplicates) = dedup_pairs(pairs);
    for label in duplicates {
        problems.warn(
            &Location::chain(label),
            "chain defined twice; the last definition is used, at the place of the first",
        );
    }
    let labels: Vec<&str> = chains.iter().map(|(label, _)| *label).collect();
    let mut fields = FieldTable::new();
    let mut state = State {
        never_ban: settings.never_ban.clone(),
        counters: crate::actions::Counters::with_max_keys(settings.counter_max_keys),
        ..State::default()
    };
    let mut steps: Vec<Step> = Vec::new();
    let mut raw: Vec<Vec<RawStep>> = Vec::with_capacity(chains.len());
    let mut cx = steps::Context {
        fields: &mut fields,
        state: &mut state,
        problems,
        regexes: 0,
        backtracking: 0,
        sets: Vec::new(),
        network_fields: std::collections::HashMap::new(),
    };

    for (chain_index, &(label, value)) in chains.iter().enumerate() {
        let Json::Array(list) = value else {
            cx.problems
                .error(&Location::chain(label), format!("expected a list of steps, found {}", value.type_name()));
            raw.push(Vec::new());
            continue;
        };
        if list.is_empty() {
            cx.problems
                .warn(&Location::chain(label), "chain has no steps; entries reaching it go on to the next chain");
        }
        let mut chain_steps = Vec::new();
        for (index, step_json) in list.iter().enumerate() {
            let location = Location::step(label, index);
            if let Some((mut raw_step, compiled)) = compile_step(step_json, location, &mut cx) {
                // A step whose module did not compile still takes part in
                // label checks and loop detection; no workflow is built then.
                if let Some((kind, module)) = compiled {
                    raw_step.step = steps.len() as u32;
                    steps.push(Step { chain: chain_index as u32, index: index as u32, module, kind });
                }
                let explicit_then = raw_step.then.is_some();
                chain_steps.push(raw_step);
                if explicit_then && index + 1 < list.len() {
                    cx.problems.warn(
                        &Location::step(label, index + 1),
                        "never reached: the step before has an explicit \"then\", which ends the chain",
                    );
                    break;
                }
            }
        }
        raw.push(chain_steps);
    }
    let (regexes, backtracking, mut sets) = (cx.regexes, cx.backtracking, cx.sets);
    // A set takes networks when its action bans a field that an
    // `action_network` writes networks to (for that family).
    for u in &mut sets {
        if let Some(&(v4, v6)) = cx.network_fields.get(&u.field) {
            u.networks = if u.ipv6 { v6 } else { v4 };
        }
    }
    // One use per set, family, timeout, networks and pair (the first place says where):
    // what uses them is quadratic in their number, and 100,000 ban actions
    // naming the same two sets are two uses.
    let mut seen = HashSet::new();
    sets.retain(|u| seen.insert((u.set.clone(), u.ipv6, u.timeout, u.networks, u.pair.clone())));

    // Resolve labels to chain indices.
    let index: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, &l)| (l, i)).collect();
    let mut shapes: Vec<ChainShape> = Vec::with_capacity(raw.len());
    for chain_steps in &raw {
        let mut shape = ChainShape::default();
        for rs in chain_steps {
            let mut resolve = |target: Option<&str>, key: &str| -> Option<usize> {
                let target = target?;
                let found = index.get(target).copied();
                if found.is_none() {
                    let hint = problem::suggestion(target, labels.iter().copied());
                    problems.error(&rs.location.with_arg(key), format!("no chain is labelled {target:?}{hint}"));
                }
                found
            };
            let then = resolve(rs.then, "then");
            let else_ = resolve(rs.else_, "else");
            shape.steps.push(StepShape { step: rs.step, is_filter: rs.is_filter, then, else_ });
        }
        shapes.push(shape);
    }

    let graph = match link::link(&shapes) {
        Ok(graph) => graph,
        Err(LinkError::Loops(loops)) => {
            for path in loops {
                let names: Vec<String> = path.iter().map(|&c| format!("{:?}", labels[c])).collect();
                problems.error(&Location::chain(labels[path[0]]), format!("loop: {}", names.join(" -> ")));
            }
            return None;
        }
        Err(LinkError::TooLarge) => {
            problems.error(
                &Location::key("actions"),
                format!(
                    "the linked rules would have more than {} steps: jump chains whose unmatched entries fall \
                     through to their caller are copied once per calling top-level chain; end such a jump \
                     chain with an action, or give its filters an \"else\"",
                    link::MAX_NODES
                ),
            );
            return None;
        }
    };
    if !problems.errors.is_empty() {
        return None;
    }
    let stats = Stats {
        chains: labels.len(),
        steps: steps.len(),
        nodes: graph.nodes.len(),
        regexes,
        backtracking_regexes: backtracking,
    };
    let labels = labels.into_iter().map(str::to_owned).collect();
    let tops: Vec<_> = graph.top_level.iter().copied().zip(graph.top_entries.iter().copied()).collect();
    let workflow = Workflow::new(fields, labels, steps, &shapes, graph, state);
    trust::warn_unguarded_bans(&workflow, problems);
    lint::warn(&workflow, &tops, settings, problems);
    Some((workflow, stats, sets))
}

const STEP_KEYS: [&str; 5] = ["filter", "action", "args", "then", "else"];

/// Validates one step object and compiles its module. `None` when the step
/// is not even a step; the module part is `None` when it did not compile.
fn compile_step<'a>(
    value: &'a Json,
    location: Location,
    cx: &mut steps::Context,
) -> Option<(RawStep<'a>, Option<(StepKind, &'static str)>)> {
    let Json::Object(pairs) = value else {
        cx.problems.error(&location, format!("expected a step object, found {}", value.type_name()));
        return None;
    };
    let (keys, duplicates) = dedup_pairs(pairs);
    for key in duplicates {
        cx.problems.warn(&location.with_arg(key), "key given twice; the last value is used");
    }
    let get = |name: &str| keys.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let (is_filter, name) = match (get("filter"), get("action")) {
        (Some(Json::String(f)), None) => (true, f.as_str()),
        (None, Some(Json::String(a))) => (false, a.as_str()),
        (Some(_), Some(_)) => {
            cx.problems.error(&location, "a step has either \"filter\" or \"action\", not both");
            return None;
        }
        (None, None) => {
            cx.problems.error(&location, "a step needs a \"filter\" or an \"action\" name");
            return None;
        }
        (Some(other), None) | (None, Some(other)) => {
            cx.problems.error(&location, format!("the module name must be a string, found {}", other.type_name()));
            return None;
        }
    };
    let location = location.with_module(name);
    for (key, _) in &keys {
        if !STEP_KEYS.contains(key) {
            let hint = problem::suggestion(key, STEP_KEYS);
            cx.problems.warn(&location, format!("unknown step key {key:?}, ignored{hint}"));
        }
    }
    let label_of = |key: &str, problems: &mut Problems| -> Option<&'a str> {
        match get(key)? {
            Json::String(label) => Some(label.as_str()),
            other => {
                problems.error(&location.with_arg(key), format!("expected a chain label, found {}", other.type_name()));
                None
            }
        }
    };
    let then = label_of("then", cx.problems);
    let mut else_ = label_of("else", cx.problems);
    if !is_filter && else_.is_some() {
        cx.problems.warn(&location.with_arg("else"), "only filters have an \"else\"; ignored on an action");
        else_ = None;
    }

    let mut args = Args::new(get("args"), location.clone(), cx.problems);
    let compiled = if is_filter {
        steps::filter(name, &mut args, cx).map(|(m, f)| (m, StepKind::Filter(f)))
    } else {
        steps::action(name, &mut args, cx).map(|(m, a)| (m, StepKind::Action(a)))
    };
    if compiled.is_none() {
        unknown_module(name, is_filter, &location, cx.problems);
    }
    args.finish(cx.problems);
    let compiled = compiled.map(|(module, kind)| (kind, module));
    Some((RawStep { location, is_filter, then, else_, step: u32::MAX }, compiled))
}

/// Records an unknown module name, suggesting the nearest known ones.
fn unknown_module(name: &str, is_filter: bool, location: &Location, problems: &mut Problems) {
    let (own, other, kind, wrong) = match is_filter {
        true => (
            &crate::filters::NAMES[..],
            &crate::actions::NAMES[..],
            "filter",
            "an action, not a filter: write \"action\"",
        ),
        false => (
            &crate::actions::NAMES[..],
            &crate::filters::NAMES[..],
            "action",
            "a filter, not an action: write \"filter\"",
        ),
    };
    if own.contains(&name) {
        return; // known module whose arguments were wrong: already reported
    }
    if other.contains(&name) {
        problems.error(location, format!("{name:?} is {wrong}: {name:?}"));
        return;
    }
    let hint = problem::suggestion(name, own.iter().copied());
    problems.error(location, format!("unknown {kind} {name:?}{hint}"));
}

#[cfg(test)]
mod tests;
