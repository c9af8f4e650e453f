//! Warnings about rules that load and link but cannot work as written: what
//! `check` prints after "valid", and the daemon logs at start and reload.
//!
//! Four analyses, all on the linked graph (never on paths: a configuration
//! may have 100,000 chains), each linear in its nodes and links:
//! - a top-level chain that no entry reaches, because every chain before it
//!   ends every entry (an action at the end of a chain ends the entry: two
//!   example files pasted together, the first's catch-all hides the second);
//! - a field a step reads that nothing can have written on any way to it:
//!   journald only writes names of upper-case letters, digits and `_`
//!   ([`is_journal_field`]), so any other name must come from a regex
//!   capture, a counter's `save` or an action on the way (`"IP": "thatIPP"`);
//! - the same for a placeholder of a message template, which would render
//!   as `None`;
//! - a route on `SYSLOG_IDENTIFIER` naming Pyruse's own lines (`pyruse`,
//!   `python…`) while banwarden writes its own under another identifier
//!   (`syslogIdentifier`), so that a recidive chain copied from Pyruse never
//!   counts a ban.
//!
//! "May have been written" is a union over the ways in: a field written on
//! one way to a step and not on another is not warned about (a chain shared
//! by two routes, one capturing it), only one written on none.

use std::collections::{HashMap, VecDeque};

use super::problem::{suggestion, Location, Problems};
use super::Settings;
use crate::actions::Action;
use crate::fields::{FieldId, SYSLOG_IDENTIFIER};
use crate::filters::{Filter, Op, Operand};
use crate::journal::sd::is_journal_field;
use crate::workflow::{Link, Node, Step, StepKind, Workflow};

/// Fields followed at once: one bit each in a node's mask. More candidate
/// fields take more passes over the graph, each linear.
const BATCH: usize = 64;

/// Unset fields warned about one by one; the rest are counted in one last
/// warning (a generated configuration may repeat one mistake 10,000 times).
const MAX_UNSET_WARNINGS: usize = 100;

/// Identifiers whose lines were Pyruse's own (its unit ran the Python
/// interpreter; its lines said `pyruse`).
fn is_pyruse_identifier(value: &str) -> bool {
    let value = value.to_ascii_lowercase();
    value == "pyruse" || value.starts_with("python")
}

/// Adds the warnings of every analysis. `tops` are the top-level chains
/// with their entry links, in file order.
pub fn warn(workflow: &Workflow, tops: &[(usize, Link)], settings: &Settings, problems: &mut Problems) {
    let (nodes, start) = workflow.graph();
    let reached = reachable(nodes, start);
    unreachable_chains(workflow, tops, &reached, problems);
    unset_fields(workflow, &reached, problems);
    pyruse_routes(workflow, &reached, &settings.syslog_identifier, problems);
}

/// Which nodes the start reaches (a breadth-first walk).
fn reachable(nodes: &[Node], start: Link) -> Vec<bool> {
    let mut reached = vec![false; nodes.len()];
    let mut queue: VecDeque<usize> = start.node().into_iter().collect();
    if let Some(first) = start.node() {
        reached[first] = true;
    }
    while let Some(n) = queue.pop_front() {
        for next in [nodes[n].then, nodes[n].else_].into_iter().filter_map(Link::node) {
            if !reached[next] {
                reached[next] = true;
                queue.push_back(next);
            }
        }
    }
    reached
}

fn location(workflow: &Workflow, step: &Step) -> Location {
    Location::step(workflow.label(step.chain), step.index as usize).with_module(step.module)
}

/// Warning (a): top-level chains whose first step no entry reaches.
fn unreachable_chains(workflow: &Workflow, tops: &[(usize, Link)], reached: &[bool], problems: &mut Problems) {
    let (nodes, _) = workflow.graph();
    let steps = workflow.steps();
    let mut last_reached: Option<usize> = None;
    for &(chain, entry) in tops {
        let Some(n) = entry.node() else { continue };
        // An empty chain's entry is its fall-through's: warned about already.
        if steps[nodes[n].step as usize].chain as usize != chain {
            continue;
        }
        if reached[n] {
            last_reached = Some(chain);
            continue;
        }
        let before = match last_reached {
            Some(c) => format!(
                "the chains before it end every entry (the last one tried is {:?}, and an action at the end of a \
                 chain ends the entry)",
                workflow.label(c as u32)
            ),
            None => "the chains before it end every entry".to_owned(),
        };
        problems.warn(
            &Location::chain(workflow.label(chain as u32)),
            format!(
                "no entry can reach this chain: {before}; move it before them, or jump to it with \"then\" \
                 (two example files pasted together need one catch-all, at the end)"
            ),
        );
    }
}

/// The fields a step reads, each with the argument that names it (for the
/// warning's place), and whether it is a template's placeholder.
fn reads(step: &Step) -> Vec<(FieldId, &'static str, bool)> {
    match &step.kind {
        StepKind::Filter(filter) => vec![(filter.field(), "field", false)],
        StepKind::Action(action) => {
            let (arg, template) = match action {
                Action::Log(_) | Action::Email(_) | Action::DailyReport(_) => ("message", true),
                Action::CounterRaise(_) | Action::CounterReset(_) => ("for", false),
                Action::Ban(_) | Action::Network(_) => ("IP", false),
                Action::DnatCapture(_) | Action::DnatReplace(_) | Action::Noop => ("", false),
            };
            action.reads().into_iter().map(|f| (f, arg, template)).collect()
        }
    }
}

fn writes(step: &Step) -> Vec<FieldId> {
    match &step.kind {
        StepKind::Filter(filter) => filter.writes(),
        StepKind::Action(action) => action.writes(),
    }
}

/// The reachable nodes in an order where each comes after every node
/// linking to it (the graph is acyclic: Kahn's algorithm).
fn topological(nodes: &[Node], reached: &[bool]) -> Vec<usize> {
    let links = |n: usize| [nodes[n].then, nodes[n].else_].into_iter().filter_map(Link::node);
    let mut incoming = vec![0u32; nodes.len()];
    for n in (0..nodes.len()).filter(|&n| reached[n]) {
        for next in links(n) {
            incoming[next] += 1;
        }
    }
    let mut order: Vec<usize> = (0..nodes.len()).filter(|&n| reached[n] && incoming[n] == 0).collect();
    let mut i = 0;
    while i < order.len() {
        let n = order[i];
        i += 1;
        for next in links(n) {
            incoming[next] -= 1;
            if incoming[next] == 0 {
                order.push(next);
            }
        }
    }
    order
}

/// Warnings (b) and (c): fields read that no way to the reading step can
/// have written.
fn unset_fields(workflow: &Workflow, reached: &[bool], problems: &mut Problems) {
    let (nodes, _) = workflow.graph();
    let (steps, fields) = (workflow.steps(), workflow.fields());
    // Candidates: names journald cannot write, read by a reachable step;
    // each step's reads and writes of them, as candidate numbers.
    let mut candidate_of: HashMap<FieldId, usize> = HashMap::new();
    let mut candidates: Vec<FieldId> = Vec::new();
    let mut step_reached = vec![false; steps.len()];
    for n in (0..nodes.len()).filter(|&n| reached[n]) {
        step_reached[nodes[n].step as usize] = true;
    }
    let step_reads: Vec<Vec<usize>> = steps
        .iter()
        .zip(&step_reached)
        .map(|(step, &reached)| match reached {
            false => Vec::new(),
            true => reads(step)
                .into_iter()
                .filter(|&(field, _, _)| !is_journal_field(fields.name(field)))
                .map(|(field, _, _)| {
                    *candidate_of.entry(field).or_insert_with(|| {
                        candidates.push(field);
                        candidates.len() - 1
                    })
                })
                .collect(),
        })
        .collect();
    if candidates.is_empty() {
        return;
    }
    let step_writes: Vec<Vec<usize>> = steps
        .iter()
        .map(|step| writes(step).into_iter().filter_map(|f| candidate_of.get(&f).copied()).collect())
        .collect();
    // Only candidates some step writes need following through the graph
    // (a typo is written nowhere, and unset wherever it is read): their
    // number among those, which gives their bit.
    let mut traced: Vec<Option<usize>> = vec![None; candidates.len()];
    let mut count = 0;
    for &c in step_writes.iter().flatten() {
        if traced[c].is_none() {
            traced[c] = Some(count);
            count += 1;
        }
    }
    // Whether each read of each step is unset on every way to every copy
    // of the step (copies of a jump chain are one step).
    let mut unset: Vec<Vec<bool>> = step_reads.iter().map(|r| vec![true; r.len()]).collect();
    let order = topological(nodes, reached);
    let mut before = vec![0u64; nodes.len()];
    for batch in 0..count.div_ceil(BATCH) {
        let bit = |c: usize| match traced[c] {
            Some(t) if t / BATCH == batch => 1u64 << (t % BATCH),
            _ => 0,
        };
        before.iter_mut().for_each(|m| *m = 0);
        for &n in &order {
            let (node, mask) = (nodes[n], before[n]);
            let s = node.step as usize;
            for (k, &c) in step_reads[s].iter().enumerate() {
                if mask & bit(c) != 0 {
                    unset[s][k] = false;
                }
            }
            let written = step_writes[s].iter().fold(0, |m, &c| m | bit(c));
            if let Some(next) = node.then.node() {
                before[next] |= mask | written;
            }
            if let Some(next) = node.else_.node() {
                before[next] |= mask;
            }
        }
    }
    // Where each field is written at all, for the message.
    let mut written_at: HashMap<FieldId, &Step> = HashMap::new();
    for step in steps {
        for field in writes(step) {
            written_at.entry(field).or_insert(step);
        }
    }
    let mut found: Vec<(usize, FieldId)> = Vec::new();
    for (s, reads) in step_reads.iter().enumerate() {
        for (k, &c) in reads.iter().enumerate() {
            if unset[s][k] {
                found.push((s, candidates[c]));
            }
        }
    }
    // A step reading a field twice (a template naming it twice) says it once.
    found.sort_unstable();
    found.dedup();
    if found.len() > MAX_UNSET_WARNINGS {
        let (step, field) = found[MAX_UNSET_WARNINGS];
        let more = found.len() - MAX_UNSET_WARNINGS;
        problems.warn(
            &location(workflow, &steps[step]),
            format!(
                "{more} more fields read and never set, from {:?} here on (the first {MAX_UNSET_WARNINGS} are listed \
                 one by one)",
                fields.name(field)
            ),
        );
        found.truncate(MAX_UNSET_WARNINGS);
    }
    for (step_index, field) in found {
        let step = &steps[step_index];
        let (_, arg, template) =
            reads(step).into_iter().find(|&(f, _, _)| f == field).expect("the field is one the step reads");
        let name = fields.name(field);
        let why = match written_at.get(&field) {
            Some(writer) => format!("it is only set at {}, on no way that leads here", location(workflow, writer)),
            None => {
                let set: Vec<&str> = written_at.keys().map(|&f| fields.name(f)).collect();
                format!(
                    "no filter captures it and no action writes it, and journald only writes upper-case names{}",
                    suggestion(name, set)
                )
            }
        };
        let place = match arg {
            "" => location(workflow, step),
            arg => location(workflow, step).with_arg(arg),
        };
        let what = match template {
            true => format!("placeholder {{{name}}} can never be set here, so it renders as \"None\": {why}"),
            false => format!("field {name:?} is read here but can never be set: {why}"),
        };
        problems.warn(&place, what);
    }
}

/// Warning (d): a route on `SYSLOG_IDENTIFIER` for Pyruse's own lines,
/// which banwarden writes under another identifier.
fn pyruse_routes(workflow: &Workflow, reached: &[bool], own: &str, problems: &mut Problems) {
    let (nodes, _) = workflow.graph();
    let steps = workflow.steps();
    // Steps in file order, each once however many copies linking made.
    let mut step_reached = vec![false; steps.len()];
    for n in (0..nodes.len()).filter(|&n| reached[n]) {
        step_reached[nodes[n].step as usize] = true;
    }
    for step in steps.iter().zip(step_reached).filter(|(_, r)| *r).map(|(s, _)| s) {
        let StepKind::Filter(filter) = &step.kind else { continue };
        if filter.field() != SYSLOG_IDENTIFIER {
            continue;
        }
        let named: Option<(&str, String)> = match filter {
            Filter::Compare(c) if c.op() == Op::Equals => match c.value() {
                Operand::Text(v) if is_pyruse_identifier(v) && v != own => Some(("value", v.clone())),
                _ => None,
            },
            Filter::In(list) => list
                .texts()
                .iter()
                .find(|v| is_pyruse_identifier(v))
                .filter(|_| !list.texts().iter().any(|v| v == own))
                .map(|v| ("values", v.clone())),
            Filter::Pcre(p) => pyruse_regex([p.regex()], own).map(|v| ("re", v)),
            Filter::PcreAny(p) => pyruse_regex(p.regexes(), own).map(|v| ("re", v)),
            _ => None,
        };
        let Some((arg, value)) = named else { continue };
        problems.warn(
            &location(workflow, step).with_arg(arg),
            format!(
                "routes on SYSLOG_IDENTIFIER {value:?}, which Pyruse's own lines carried, but banwarden writes its \
                 lines as {own:?} (the \"syslogIdentifier\" setting): this route never sees them; set \
                 \"syslogIdentifier\": {value:?} at the top level, or route on {own:?}"
            ),
        );
    }
}

/// The Pyruse identifier regexes match, when they match one and neither
/// banwarden's own nor an unrelated one (a catch-all such as `.*` routes
/// everything, not Pyruse's lines).
fn pyruse_regex<'a>(
    regexes: impl IntoIterator<Item = &'a crate::filters::pyregex::PyRegex>,
    own: &str,
) -> Option<String> {
    let matches = |re: &crate::filters::pyregex::PyRegex, s: &str| re.is_match(s).unwrap_or(false);
    regexes.into_iter().find_map(|re| {
        let named = ["pyruse", "python3", "python"].into_iter().find(|name| matches(re, name))?;
        (!matches(re, own) && !matches(re, "unrelated-service")).then(|| named.to_owned())
    })
}

#[cfg(test)]
#[path = "lint_tests.rs"]
mod tests;
