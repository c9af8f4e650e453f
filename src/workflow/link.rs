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

/// Most loops reported at once: a configuration with thousands of them is
/// fixed one mistake at a time, and collecting them all could take
/// memory quadratic in its size.
pub const MAX_LOOPS_REPORTED: usize = 10;

/// Most nodes a linked graph may have. A jump chain with dangling links is
/// copied once per fall-through (rule 4), so a large jump chain reached from
/// many top-level chains multiplies: 50,000 callers of a 50,000-step chain
/// would be 2.5 billion nodes. Real configurations have thousands; this is
/// 48 MB of nodes.
pub const MAX_NODES: usize = 4_000_000;

/// Why chains could not be linked.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Jumps that lead back into a chain on their own path (at most
    /// [`MAX_LOOPS_REPORTED`]).
    Loops(Vec<LoopPath>),
    /// The graph would have more than [`MAX_NODES`] nodes.
    TooLarge,
}

/// Links the chains, or says why not. Every walk here is iterative, with
/// its own stack on the heap: a configuration's depth (a chain of 50,000
/// jumps) must not overflow the thread's stack; and each is linear in the
/// size of the configuration (plus the copies of rule 4).
pub fn link(chains: &[ChainShape]) -> Result<Graph, LinkError> {
    let jumps: Vec<Vec<usize>> = chains.iter().map(|c| jumps(c).collect()).collect();
    let top_level = default_linked_chains(&jumps).map_err(LinkError::Loops)?;
    let needs_context = needs_context(chains, &jumps);
    let mut builder = Builder { chains, needs_context, nodes: Vec::new(), memo: HashMap::new() };
    let mut next_entry = Link::END;
    let mut top_entries = vec![Link::END; top_level.len()];
    // Build from the last top-level chain back, so each one's fall-through
    // (the entry of the next) already exists.
    for (i, &chain) in top_level.iter().enumerate().rev() {
        next_entry = builder.build(chain, next_entry)?;
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
/// reached. A depth-first walk with an on-path mark finds the loops.
fn default_linked_chains(jumps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<LoopPath>> {
    let mut marks = vec![Mark::Unvisited; jumps.len()];
    let mut reached = vec![false; jumps.len()];
    // Where each chain on the current path stands in it, for loop paths.
    let mut path_index = vec![usize::MAX; jumps.len()];
    let mut loops = Vec::new();
    let mut top_level = Vec::new();
    // The path: (chain, how many of its jumps are walked).
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..jumps.len() {
        if reached[root] {
            continue;
        }
        top_level.push(root);
        marks[root] = Mark::OnPath;
        path_index[root] = 0;
        path.push((root, 0));
        while let Some(&mut (chain, ref mut next)) = path.last_mut() {
            let Some(&target) = jumps[chain].get(*next) else {
                marks[chain] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            reached[target] = true;
            match marks[target] {
                Mark::OnPath if loops.len() < MAX_LOOPS_REPORTED => {
                    let mut cycle: LoopPath = path[path_index[target]..].iter().map(|&(c, _)| c).collect();
                    cycle.push(target);
                    if !loops.contains(&cycle) {
                        loops.push(cycle);
                    }
                }
                Mark::OnPath | Mark::Done => {}
                Mark::Unvisited => {
                    marks[target] = Mark::OnPath;
                    path_index[target] = path.len();
                    path.push((target, 0));
                }
            }
        }
    }
    if loops.is_empty() {
        Ok(top_level)
    } else {
        Err(loops)
    }
}

/// Whether each chain has dangling links, itself or through its jumps, so
/// that its nodes depend on the caller's fall-through. Needs no loops: a
/// post-order walk, each chain decided once its targets are.
fn needs_context(chains: &[ChainShape], jumps: &[Vec<usize>]) -> Vec<bool> {
    let own = |chain: &ChainShape| {
        let steps = &chain.steps;
        let last_dangles = steps.last().is_none_or(|s| s.is_filter && s.then.is_none());
        last_dangles || steps.iter().any(|s| s.is_filter && s.else_.is_none())
    };
    let mut memo: Vec<Option<bool>> = vec![None; chains.len()];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in 0..chains.len() {
        if memo[root].is_some() {
            continue;
        }
        stack.push((root, 0));
        while let Some(&mut (chain, ref mut next)) = stack.last_mut() {
            match jumps[chain].get(*next) {
                Some(&target) => {
                    *next += 1;
                    if memo[target].is_none() {
                        stack.push((target, 0));
                    }
                }
                None => {
                    let needs = own(&chains[chain]) || jumps[chain].iter().any(|&t| memo[t] == Some(true));
                    memo[chain] = Some(needs);
                    stack.pop();
                }
            }
        }
    }
    memo.into_iter().map(|m| m.expect("every chain decided")).collect()
}

struct Builder<'a> {
    chains: &'a [ChainShape],
    needs_context: Vec<bool>,
    nodes: Vec<Node>,
    /// (chain, fall-through or END when independent of it) -> entry link.
    memo: HashMap<(usize, Link), Link>,
}

/// A chain being built: its nodes start at `base`; steps before `step` are
/// done, and `then` is the current step's pass link once known.
struct Frame {
    chain: usize,
    fall: Link,
    base: usize,
    step: usize,
    then: Option<Link>,
}

impl Builder<'_> {
    fn key(&self, chain: usize, fall: Link) -> (usize, Link) {
        (chain, if self.needs_context[chain] { fall } else { Link::END })
    }

    /// The entry of `chain` with fall-through `fall`, if it is known without
    /// building anything (built already, or an empty chain: transparent).
    fn known(&self, chain: usize, fall: Link) -> Option<Link> {
        if self.chains[chain].steps.is_empty() {
            return Some(fall);
        }
        self.memo.get(&self.key(chain, fall)).copied()
    }

    /// Reserves the chain's nodes, contiguous so that the common walk (one
    /// step to the next) stays in the same cache lines.
    fn open(&mut self, chain: usize, fall: Link) -> Result<Frame, LinkError> {
        let base = self.nodes.len();
        let len = self.chains[chain].steps.len();
        if base + len > MAX_NODES {
            return Err(LinkError::TooLarge);
        }
        let placeholder = Node { step: 0, then: Link::END, else_: Link::END };
        self.nodes.resize(base + len, placeholder);
        Ok(Frame { chain, fall, base, step: 0, then: None })
    }

    /// The entry of `chain` when its dangling links lead to `fall`. A jump
    /// to a chain not built yet suspends the current chain (its frame stays
    /// on the stack) until the target is built.
    fn build(&mut self, chain: usize, fall: Link) -> Result<Link, LinkError> {
        if let Some(entry) = self.known(chain, fall) {
            return Ok(entry);
        }
        let chains = self.chains;
        let mut stack = vec![self.open(chain, fall)?];
        loop {
            let frame = stack.last_mut().expect("a chain is being built");
            let (chain, fall, base, i) = (frame.chain, frame.fall, frame.base, frame.step);
            let steps = &chains[chain].steps;
            if i == steps.len() {
                let entry = link_to(base);
                let key = self.key(chain, fall);
                self.memo.insert(key, entry);
                stack.pop();
                if stack.is_empty() {
                    return Ok(entry);
                }
                continue;
            }
            let shape = &steps[i];
            let then = match (frame.then, shape.then) {
                (Some(then), _) => then,
                (None, Some(target)) => match self.known(target, fall) {
                    Some(entry) => entry,
                    None => {
                        let target = self.open(target, fall)?;
                        stack.push(target);
                        continue;
                    }
                },
                (None, None) if i + 1 < steps.len() => link_to(base + i + 1),
                (None, None) if shape.is_filter => fall,
                (None, None) => Link::END,
            };
            let else_ = match (shape.is_filter, shape.else_) {
                (false, _) => Link::END,
                (true, None) => fall,
                (true, Some(target)) => match self.known(target, fall) {
                    Some(entry) => entry,
                    None => {
                        stack.last_mut().expect("the current chain").then = Some(then);
                        let target = self.open(target, fall)?;
                        stack.push(target);
                        continue;
                    }
                },
            };
            self.nodes[base + i] = Node { step: shape.step, then, else_ };
            let frame = stack.last_mut().expect("the current chain");
            frame.step += 1;
            frame.then = None;
        }
    }
}

fn link_to(node: usize) -> Link {
    Link(u32::try_from(node).expect("fewer than 2^32 nodes"))
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
