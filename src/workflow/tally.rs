//! The workflow's own figures: how many entries reached each node of the
//! graph and how many passed it (a filter that passed, an action that was
//! carried out), for `banwarden status` and the metrics.
//!
//! Counting happens in [`super::Workflow::run`] itself rather than in an
//! [`super::Observer`]: an observer that wants every step turns the
//! dispatch tables off, which would cost far more than the count. A node
//! walked costs two increments of arrays indexed by node; a run of routing
//! chains answered by a dispatch table costs three, whatever its length: the
//! chains it stands for (positions `from..=to`) are noted as a difference
//! array per table (+1 at `from`, -1 after `to`), summed only when the
//! figures are read. Figures start at zero with each workflow, so a reload
//! starts them again.

use super::dispatch::{Shortcuts, Walked};
use super::{Step, StepKind};
use crate::actions::Action;

#[derive(Debug, Default)]
pub struct Tally {
    /// Entries that reached each node.
    visits: Vec<u64>,
    /// Entries that passed each node (filters), or actions carried out.
    passes: Vec<u64>,
    /// Per dispatch table, the difference array of the chains its jumps
    /// entered (one more slot than the run has chains).
    runs: Vec<Vec<i64>>,
    /// Per dispatch table, the node of each chain of its run.
    run_nodes: Vec<Vec<u32>>,
}

/// What entries did at one step of the configuration (over every copy of
/// its node, see `link`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct StepFigures {
    pub visits: u64,
    pub passes: u64,
}

/// What entries did in one chain.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainFigures {
    /// Entries that reached its first step.
    pub entered: u64,
    /// Entries that passed its last filter (reached its actions); for a
    /// chain without filters, those that entered it.
    pub passed: u64,
    /// Bans its ban actions asked for.
    pub bans: u64,
}

impl Tally {
    pub fn new(nodes: usize, shortcuts: &Shortcuts) -> Tally {
        Tally {
            visits: vec![0; nodes],
            passes: vec![0; nodes],
            runs: shortcuts.table_nodes().map(|nodes| vec![0; nodes.len() + 1]).collect(),
            run_nodes: shortcuts.table_nodes().map(<[u32]>::to_vec).collect(),
        }
    }

    #[inline]
    pub fn visit(&mut self, node: usize) {
        if let Some(v) = self.visits.get_mut(node) {
            *v += 1;
        }
    }

    #[inline]
    pub fn pass(&mut self, node: usize) {
        if let Some(p) = self.passes.get_mut(node) {
            *p += 1;
        }
    }

    /// A run of routing chains answered by a table, counted as if walked.
    #[inline]
    pub fn walked(&mut self, walked: Walked) {
        let (table, from, to) = (walked.table as usize, walked.from as usize, walked.to as usize);
        let Some(run) = self.runs.get_mut(table) else { return };
        if to + 1 < run.len() && from <= to {
            run[from] += 1;
            run[to + 1] -= 1;
        }
        if walked.passed {
            if let Some(&node) = self.run_nodes.get(table).and_then(|nodes| nodes.get(to)) {
                self.pass(node as usize);
            }
        }
    }

    /// Entries that reached each node, and passed it.
    fn nodes(&self) -> (Vec<u64>, &[u64]) {
        let mut visits = self.visits.clone();
        for (run, nodes) in self.runs.iter().zip(&self.run_nodes) {
            let mut entered = 0i64;
            for (delta, &node) in run.iter().zip(nodes) {
                entered += delta;
                visits[node as usize] += entered.max(0) as u64;
            }
        }
        (visits, &self.passes)
    }

    /// The figures of each step, indexed as the workflow's steps.
    pub fn steps(&self, node_steps: impl Iterator<Item = u32>, steps: usize) -> Vec<StepFigures> {
        let mut out = vec![StepFigures::default(); steps];
        let (visits, passes) = self.nodes();
        for ((step, visits), passes) in node_steps.zip(visits).zip(passes) {
            let figures = &mut out[step as usize];
            figures.visits += visits;
            figures.passes += passes;
        }
        out
    }
}

/// The figures of each chain, from those of the steps.
pub fn chains(steps: &[Step], figures: &[StepFigures], chains: usize) -> Vec<ChainFigures> {
    let mut out = vec![ChainFigures::default(); chains];
    // The last filter of each chain, to count the entries that got past it.
    let mut last_filter: Vec<Option<usize>> = vec![None; chains];
    for (i, step) in steps.iter().enumerate() {
        let chain = step.chain as usize;
        if step.index == 0 {
            out[chain].entered += figures[i].visits;
        }
        match &step.kind {
            StepKind::Filter(_) => last_filter[chain] = Some(i),
            StepKind::Action(Action::Ban(_)) => out[chain].bans += figures[i].passes,
            StepKind::Action(_) => {}
        }
    }
    for (chain, last) in last_filter.into_iter().enumerate() {
        out[chain].passed = match last {
            Some(i) => figures[i].passes,
            None => out[chain].entered,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Observer, Quiet};

    /// Walks every step: the dispatch tables are not used.
    struct Walk;
    impl Observer for Walk {}

    /// Three routing chains on one field (a dispatch table), a counting
    /// chain, and a chain the entries of no unit reach.
    const RULES: &str = r#"{"actions": {
        "route a": [{"filter": "filter_equals", "args": {"field": "U", "value": "a"}, "then": "a"}],
        "route b": [{"filter": "filter_equals", "args": {"field": "U", "value": "b"}, "then": "b"}],
        "route c": [{"filter": "filter_equals", "args": {"field": "U", "value": "c"}, "then": "b"}],
        "rest": [{"action": "action_noop"}],
        "a": [
            {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^bad (?P<ip>\\S+)$"}},
            {"action": "action_counterRaise", "args": {"counter": "c", "for": "ip", "save": "n"}},
            {"filter": "filter_greaterOrEquals", "args": {"field": "n", "value": 2}},
            {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "ip t s4", "nftSetIPv6": "ip6 t s6"}}
        ],
        "b": [{"action": "action_noop"}]
    }}"#;

    fn figures(observer: &mut impl Observer) -> (Vec<StepFigures>, Vec<ChainFigures>) {
        let mut workflow = crate::config::compile(RULES, "test").unwrap().workflow;
        assert_eq!(workflow.dispatched_chains(), 3, "the routing chains make a table");
        let (unit, message) = (workflow.intern_field("U"), workflow.intern_field("MESSAGE"));
        let mut effects = Vec::new();
        for (u, m) in [("a", "bad 192.0.2.1"), ("a", "bad 192.0.2.1"), ("a", "good"), ("b", ""), ("c", ""), ("z", "")] {
            let mut entry = workflow.new_entry();
            entry.set(unit, u);
            entry.set(message, m);
            workflow.run(&mut entry, &mut effects, observer);
        }
        assert_eq!(effects.len(), 1, "one ban");
        (workflow.step_figures(), workflow.chain_figures())
    }

    #[test]
    fn a_dispatch_table_counts_as_the_walk_it_stands_for() {
        let (walked_steps, walked) = figures(&mut Walk);
        let (dispatched_steps, dispatched) = figures(&mut Quiet);
        assert_eq!(walked_steps, dispatched_steps);
        assert_eq!(walked, dispatched);
        let chain = |entered, passed, bans| ChainFigures { entered, passed, bans };
        // route a: all 6 enter, 3 pass; a: those 3, one at the threshold;
        // the two that fail in a fall through to route b (Pyruse's linking),
        // with the 3 others: 5 enter route b, 4 route c, 3 reach rest.
        assert_eq!(
            dispatched,
            [chain(6, 3, 0), chain(5, 1, 0), chain(4, 1, 0), chain(3, 3, 0), chain(3, 1, 1), chain(2, 2, 0)]
        );
    }
}
