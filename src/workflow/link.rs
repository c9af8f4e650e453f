//! Linking chains into one static graph, with Pyruse's rules.
//!
//! Input is the shape of each chain: its steps, whether each is a filter,
//! and its explicit `then`/`else` jumps (already resolved to chain indices;
//! steps after an explicit `then` already cut off). Output is a vector of
//! nodes, each pointing at a step and at the nodes that follow on pass and
//! on fail. At run time an entry only follows these links.
//!
//! The rules (see `doc/configuration.md`):
//! 1. a step's `then` is the next step of its chain;
//! 2. a filter's missing `else`, and the missing `then` of a chain's last
//!    step when it is a filter, are *dangling*: they lead to the next chain
//!    that is linked by default; the last action of a chain ends the entry;
//! 3. an explicit `then`/`else` leads to the first step of the named chain;
//! 4. default linking walks chains in file order and skips every chain
//!    already reached through an explicit jump while walking an earlier
//!    chain (a *jump chain*). A jump chain's dangling links go where the
//!    dangling links of the top-level chain that reached it go, so a jump
//!    chain reached from two top-level chains exists once per fall-through:
//!    Pyruse built it once per caller. One without dangling links, directly
//!    or through its own jumps, does not depend on its caller and is shared;
//! 5. every entry starts at the first default-linked chain.
//!
//! A jump back into a chain already on the current path is a loop, refused.
//! An empty chain is transparent: reaching it means reaching its fall-through.
//! The graph built is acyclic, so every entry takes a bounded path.

use std::collections::HashMap;

/// The shape of one step, as linking sees it.
#[derive(Clone, Debug)]
pub struct StepShape {
    /// Index of the compiled step this node runs.
    pub step: u32,
    pub is_filter: bool,
    /// Explicit `then`: index of the target chain.
    pub then: Option<usize>,
    /// Explicit `else` (filters only): index of the target chain.
    pub else_: Option<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct ChainShape {
    pub steps: Vec<StepShape>,
}

/// Where an entry goes next: a node, or the end of processing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Link(u32);

impl Link {
    pub const END: Link = Link(u32::MAX);

    pub fn node(self) -> Option<usize> {
        (self != Link::END).then_some(self.0 as usize)
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub step: u32,
    /// Where to go when the filter passes, or after the action.
    pub then: Link,
    /// Where to go when the filter fails (unused for actions).
    pub else_: Link,
}

#[derive(Debug)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub start: Link,
    /// The default-linked (top-level) chains, in order.
    pub top_level: Vec<usize>,
    /// The entry link of each top-level chain, in the same order.
    pub top_entries: Vec<Link>,
}

/// A loop: the chain indices along the path, the first repeated at the end.
pub type LoopPath = Vec<usize>;

/// Links the chains, or returns every loop found.
pub fn link(chains: &[ChainShape]) -> Result<Graph, Vec<LoopPath>> {
    let top_level = default_linked_chains(chains)?;
    let needs_context = needs_context(chains);
    let mut builder = Builder { chains, needs_context, nodes: Vec::new(), memo: HashMap::new() };
    let mut next_entry = Link::END;
    let mut top_entries = vec![Link::END; top_level.len()];
    // Build from the last top-level chain back, so each one's fall-through
    // (the entry of the next) already exists.
    for (i, &chain) in top_level.iter().enumerate().rev() {
        next_entry = builder.build(chain, next_entry);
        top_entries[i] = next_entry;
    }
    Ok(Graph { nodes: builder.nodes, start: next_entry, top_level, top_entries })
}

/// The explicit jump targets of a chain, in step order.
fn jumps(chain: &ChainShape) -> impl Iterator<Item = usize> + '_ {
    chain.steps.iter().flat_map(|s| s.then.into_iter().chain(s.else_))
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum Mark {
    Unvisited,
    OnPath,
    Done,
}

/// Rule 4 and loop detection: walks chains in file order; each chain not
/// yet reached is top-level, and everything reachable from it is marked
/// reached. A depth-first walk with an on-path mark finds every loop.
fn default_linked_chains(chains: &[ChainShape]) -> Result<Vec<usize>, Vec<LoopPath>> {
    let mut marks = vec![Mark::Unvisited; chains.len()];
    let mut reached = vec![false; chains.len()];
    let mut loops = Vec::new();
    let mut top_level = Vec::new();
    for chain in 0..chains.len() {
        if reached[chain] {
            continue;
        }
        top_level.push(chain);
        let mut path = Vec::new();
        visit(chains, chain, &mut marks, &mut reached, &mut path, &mut loops);
    }
    if loops.is_empty() {
        Ok(top_level)
    } else {
        Err(loops)
    }
}

fn visit(
    chains: &[ChainShape],
    chain: usize,
    marks: &mut [Mark],
    reached: &mut [bool],
    path: &mut Vec<usize>,
    loops: &mut Vec<LoopPath>,
) {
    marks[chain] = Mark::OnPath;
    path.push(chain);
    for target in jumps(&chains[chain]) {
        reached[target] = true;
        match marks[target] {
            Mark::OnPath => {
                let from = path.iter().position(|&c| c == target).expect("on path");
                let mut cycle = path[from..].to_vec();
                cycle.push(target);
                if !loops.contains(&cycle) {
                    loops.push(cycle);
                }
            }
            Mark::Unvisited => visit(chains, target, marks, reached, path, loops),
            Mark::Done => {}
        }
    }
    path.pop();
    marks[chain] = Mark::Done;
}

/// Whether each chain has dangling links, itself or through its jumps, so
/// that its nodes depend on the caller's fall-through. Needs no loops.
fn needs_context(chains: &[ChainShape]) -> Vec<bool> {
    fn compute(chains: &[ChainShape], chain: usize, memo: &mut [Option<bool>]) -> bool {
        if let Some(known) = memo[chain] {
            return known;
        }
        let steps = &chains[chain].steps;
        let last_dangles = steps.last().is_none_or(|s| s.is_filter && s.then.is_none());
        let else_dangles = steps.iter().any(|s| s.is_filter && s.else_.is_none());
        let mut needs = last_dangles || else_dangles;
        for target in jumps(&chains[chain]) {
            // Evaluate every target so the memo fills; `|` does not short-circuit.
            needs |= compute(chains, target, memo);
        }
        memo[chain] = Some(needs);
        needs
    }
    let mut memo = vec![None; chains.len()];
    (0..chains.len()).map(|c| compute(chains, c, &mut memo)).collect()
}

struct Builder<'a> {
    chains: &'a [ChainShape],
    needs_context: Vec<bool>,
    nodes: Vec<Node>,
    /// (chain, fall-through or END when independent of it) -> entry link.
    memo: HashMap<(usize, Link), Link>,
}

impl Builder<'_> {
    /// The entry of `chain` when its dangling links lead to `fall`.
    fn build(&mut self, chain: usize, fall: Link) -> Link {
        let key = (chain, if self.needs_context[chain] { fall } else { Link::END });
        if let Some(&entry) = self.memo.get(&key) {
            return entry;
        }
        let steps = &self.chains[chain].steps;
        if steps.is_empty() {
            self.memo.insert(key, fall);
            return fall;
        }
        // Reserve the chain's nodes first so they are contiguous, which keeps
        // the common walk (one step to the next) in the same cache lines.
        let base = self.nodes.len();
        let placeholder = Node { step: 0, then: Link::END, else_: Link::END };
        self.nodes.resize(base + steps.len(), placeholder);
        let last = steps.len() - 1;
        for (i, shape) in steps.iter().enumerate() {
            let then = match shape.then {
                Some(target) => self.build(target, fall),
                None if i < last => link_to(base + i + 1),
                None if shape.is_filter => fall,
                None => Link::END,
            };
            let else_ = match (shape.is_filter, shape.else_) {
                (false, _) => Link::END,
                (true, Some(target)) => self.build(target, fall),
                (true, None) => fall,
            };
            self.nodes[base + i] = Node { step: shape.step, then, else_ };
        }
        let entry = link_to(base);
        self.memo.insert(key, entry);
        entry
    }
}

fn link_to(node: usize) -> Link {
    Link(u32::try_from(node).expect("fewer than 2^32 nodes"))
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
