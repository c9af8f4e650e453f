//! The workflow: every step of the configuration, linked into one static
//! graph (see [`link`]), and the loop that runs an entry through it.
//!
//! The workflow owns the state that actions keep between entries (counters,
//! DNAT captures). Running an entry does no I/O and allocates nothing on the
//! path of an entry that no rule matches: what actions want done comes back
//! as [`Effect`]s, and what happened at each step is told to an [`Observer`]
//! (tracing, error logging), which costs nothing when it ignores it.
//! Runs of routing chains are answered by one table lookup ([`dispatch`])
//! unless the observer wants to see every step.

pub mod dispatch;
pub mod link;
pub mod tally;

use crate::actions::{Action, ActionError, State};
use crate::effect::Effect;
use crate::entry::Entry;
use crate::fields::FieldTable;
use crate::filters::{Filter, FilterError};

pub use link::{ChainShape, Link, Node, StepShape};

#[derive(Debug)]
pub enum StepKind {
    Filter(Filter),
    Action(Action),
}

/// A compiled step and where it came from.
#[derive(Debug)]
pub struct Step {
    /// Index of the chain in the configuration.
    pub chain: u32,
    /// Index of the step in its chain's list, from 0.
    pub index: u32,
    /// The filter or action name, e.g. `filter_pcre`.
    pub module: &'static str,
    pub kind: StepKind,
}

/// What a step did with an entry.
#[derive(Debug)]
pub enum Outcome<'a> {
    Passed,
    Failed,
    /// The filter could not judge the entry: counts as failed.
    FilterError(&'a FilterError),
    Acted,
    /// The action failed: the entry stops here.
    ActionError(&'a ActionError),
}

/// Told about the steps an entry goes through.
pub trait Observer {
    fn step(&mut self, _workflow: &Workflow, _step: &Step, _outcome: &Outcome<'_>) {}

    /// Called right after [`step`](Self::step) with the entry as that step
    /// left it (its captures written): what `banwarden test` shows.
    fn entry(&mut self, _entry: &Entry) {}

    /// Whether routing filters answered by a dispatch table must still be
    /// walked and reported one by one (they cannot fail with an error, so
    /// an observer that only wants errors can say no).
    fn wants_every_step(&self) -> bool {
        true
    }
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {
    fn wants_every_step(&self) -> bool {
        false
    }
}

#[derive(Debug)]
pub struct Workflow {
    fields: FieldTable,
    labels: Vec<String>,
    steps: Vec<Step>,
    nodes: Vec<Node>,
    start: Link,
    shortcuts: dispatch::Shortcuts,
    state: State,
    /// Entries that reached and passed each node (see [`tally`]).
    tally: tally::Tally,
}

impl Workflow {
    /// Assembles a workflow from compiled parts; `config` does the compiling.
    pub fn new(
        fields: FieldTable,
        labels: Vec<String>,
        steps: Vec<Step>,
        shapes: &[ChainShape],
        graph: link::Graph,
        state: State,
    ) -> Workflow {
        let shortcuts = dispatch::Shortcuts::build(&graph, shapes, &steps);
        let tally = tally::Tally::new(graph.nodes.len(), &shortcuts);
        Workflow { fields, labels, steps, nodes: graph.nodes, start: graph.start, shortcuts, state, tally }
    }

    /// Makes entries carry a field no rule names (`replay` reads a few to
    /// recognise banwarden's own recorded lines). Entries made before do
    /// not have room for it.
    pub fn intern_field(&mut self, name: &str) -> crate::fields::FieldId {
        self.fields.intern(name)
    }

    pub fn fields(&self) -> &FieldTable {
        &self.fields
    }

    pub fn label(&self, chain: u32) -> &str {
        &self.labels[chain as usize]
    }

    pub fn chains(&self) -> usize {
        self.labels.len()
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Number of nodes in the linked graph (steps of jump chains reached
    /// from several fall-throughs count once per copy).
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The linked graph: its nodes and where every entry starts (for
    /// analyses of the paths entries can take, such as `config::trust`).
    pub fn graph(&self) -> (&[Node], Link) {
        (&self.nodes, self.start)
    }

    /// Number of routing chains answered by dispatch tables.
    pub fn dispatched_chains(&self) -> usize {
        self.shortcuts.covered()
    }

    /// What entries did at each step since this workflow was made.
    pub fn step_figures(&self) -> Vec<tally::StepFigures> {
        self.tally.steps(self.nodes.iter().map(|n| n.step), self.steps.len())
    }

    /// What entries did in each chain since this workflow was made.
    pub fn chain_figures(&self) -> Vec<tally::ChainFigures> {
        tally::chains(&self.steps, &self.step_figures(), self.labels.len())
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// The counters, to save them and take them back across restarts.
    pub fn counters_mut(&mut self) -> &mut crate::actions::Counters {
        &mut self.state.counters
    }

    /// The never-ban list the ban actions check from now on (this host's
    /// addresses changed).
    pub fn set_never_ban(&mut self, never_ban: crate::vocab::NeverBan) {
        self.state.never_ban = never_ban;
    }

    /// A fresh entry sized for this workflow's fields.
    pub fn new_entry(&self) -> Entry {
        Entry::new(&self.fields)
    }

    /// Runs one entry through the graph, pushing what actions want done.
    pub fn run<O: Observer>(&mut self, entry: &mut Entry, effects: &mut Vec<Effect>, observer: &mut O) {
        let shortcuts = !observer.wants_every_step();
        // A ban's reason names a counter raised for this entry only.
        self.state.counters.new_entry();
        let mut at = self.start;
        while let Some(n) = at.node() {
            if shortcuts {
                if let Some((target, walked)) = self.shortcuts.jump(n, entry) {
                    self.tally.walked(walked);
                    at = target;
                    continue;
                }
            }
            let node = self.nodes[n];
            let step = &self.steps[node.step as usize];
            self.tally.visit(n);
            at = match &step.kind {
                StepKind::Filter(filter) => match filter.test(entry) {
                    Ok(true) => {
                        self.tally.pass(n);
                        observer.step(self, step, &Outcome::Passed);
                        observer.entry(entry);
                        node.then
                    }
                    Ok(false) => {
                        observer.step(self, step, &Outcome::Failed);
                        observer.entry(entry);
                        node.else_
                    }
                    Err(err) => {
                        observer.step(self, step, &Outcome::FilterError(&err));
                        observer.entry(entry);
                        node.else_
                    }
                },
                StepKind::Action(action) => match action.run(entry, &self.fields, &mut self.state, effects) {
                    Ok(()) => {
                        self.tally.pass(n);
                        observer.step(self, step, &Outcome::Acted);
                        observer.entry(entry);
                        node.then
                    }
                    Err(err) => {
                        observer.step(self, step, &Outcome::ActionError(&err));
                        observer.entry(entry);
                        Link::END
                    }
                },
            };
        }
    }
}
