//! Dispatch tables: a run of routing chains answered by one lookup.
//!
//! Real configurations start with many top-level chains of one step each,
//! `filter_equals` (or `filter_in`) on the same field with an explicit
//! `then`: "entries of unit X go to chain X". Walked one by one, an entry of
//! a unit near the end, or of no listed unit, is compared with every value.
//! A run of such chains is equivalent to a table from value to target: the
//! first chain of the run (in file order) whose value equals the field is the
//! one the walk would take, and an entry matching none, or lacking the field,
//! leaves the run by the last chain's `else`. Entering the run in its middle
//! (a fall-through from a jump chain) only considers the chains from there.
//!
//! Only text comparisons qualify (a configured number compares numerically:
//! "03" equals 3) and only filters that cannot fail with an error, so a
//! shortcut changes nothing but the time taken. The nodes of the run stay in
//! the graph: an observer that wants every step (`--trace`) walks them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::link::{ChainShape, Graph, Link};
use super::{Step, StepKind};
use crate::entry::Entry;
use crate::fields::FieldId;
use crate::filters::{Filter, Op, Operand};

/// Shortest run worth a table.
const MIN_RUN: usize = 3;

/// A multiply-rotate hash (as rustc's FxHash) for the tables' keys. No
/// keyed hash is needed: tables are built once from the configuration and
/// only read, so crafted values cannot make them degrade; SipHash cost a
/// tenth of the engine's time here.
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[derive(Debug)]
struct Table {
    field: FieldId,
    /// Value -> (position in the run, target), positions ascending.
    targets: FastMap<Box<str>, Vec<(u32, Link)>>,
    /// Where an entry matching no chain of the run goes.
    exit: Link,
    /// The entry node of each chain of the run, by position (to count the
    /// steps a jump stands for, see [`Walked`]).
    nodes: Vec<u32>,
}

/// The walk a shortcut stood for: the routing chains of table `table` at
/// positions `from..=to` were entered, and the last one passed or not.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Walked {
    pub table: u32,
    pub from: u32,
    pub to: u32,
    pub passed: bool,
}

/// The shortcuts of a graph, by node.
#[derive(Debug, Default)]
pub struct Shortcuts {
    /// For each node: (table, position of the node in the table's run).
    at_node: Vec<Option<(u32, u32)>>,
    tables: Vec<Table>,
}

/// A top-level chain that only routes: its entry node, the field and values
/// it tests, and where it sends a matching entry.
struct Route<'a> {
    node: usize,
    field: FieldId,
    values: Vec<&'a str>,
    then: Link,
}

/// The field and values of a routing step, if it is one.
fn routing_values(step: &Step) -> Option<(FieldId, Vec<&str>)> {
    match &step.kind {
        StepKind::Filter(Filter::Compare(c)) if c.op() == Op::Equals => match c.value() {
            Operand::Text(value) => Some((c.field(), vec![value.as_str()])),
            Operand::Number(_) => None,
        },
        StepKind::Filter(Filter::In(list)) if list.numbers().is_empty() => {
            Some((list.field(), list.texts().iter().map(String::as_str).collect()))
        }
        _ => None,
    }
}

impl Shortcuts {
    pub fn build(graph: &Graph, shapes: &[ChainShape], steps: &[Step]) -> Shortcuts {
        let mut shortcuts = Shortcuts { at_node: vec![None; graph.nodes.len()], tables: Vec::new() };
        let routing: Vec<Option<Route>> = graph
            .top_level
            .iter()
            .zip(&graph.top_entries)
            .map(|(&chain, entry)| {
                let [shape] = &shapes[chain].steps[..] else { return None };
                if shape.then.is_none() || shape.else_.is_some() {
                    return None;
                }
                let node = entry.node()?;
                let (field, values) = routing_values(&steps[shape.step as usize])?;
                Some(Route { node, field, values, then: graph.nodes[node].then })
            })
            .collect();

        let mut i = 0;
        while i < routing.len() {
            let Some(Route { field, .. }) = routing[i] else {
                i += 1;
                continue;
            };
            let mut end = i + 1;
            while end < routing.len() && routing[end].as_ref().is_some_and(|r| r.field == field) {
                end += 1;
            }
            if end - i >= MIN_RUN {
                shortcuts.add_run(graph, field, &routing[i..end]);
            }
            i = end;
        }
        shortcuts
    }

    fn add_run(&mut self, graph: &Graph, field: FieldId, run: &[Option<Route>]) {
        let table_index = self.tables.len() as u32;
        let mut targets: FastMap<Box<str>, Vec<(u32, Link)>> = FastMap::default();
        let mut last_node = 0;
        let mut nodes = Vec::new();
        for (position, route) in run.iter().flatten().enumerate() {
            nodes.push(route.node as u32);
            for value in &route.values {
                let list = targets.entry((*value).into()).or_default();
                // Within one chain a repeated value changes nothing.
                if list.last().is_none_or(|&(p, _)| p != position as u32) {
                    list.push((position as u32, route.then));
                }
            }
            self.at_node[route.node] = Some((table_index, position as u32));
            last_node = route.node;
        }
        // The chains of a run are consecutive top-level chains, so each one's
        // else is the next one's entry and the run's exit is the last else.
        self.tables.push(Table { field, targets, exit: graph.nodes[last_node].else_, nodes });
    }

    /// Where an entry at `node` goes, if the node starts a shortcut, and
    /// the walk that stands for (for the per-step figures).
    #[inline]
    pub fn jump(&self, node: usize, entry: &Entry) -> Option<(Link, Walked)> {
        let (table_index, position) = (*self.at_node.get(node)?)?;
        let table = &self.tables[table_index as usize];
        let found = entry
            .get(table.field)
            .and_then(|value| table.targets.get(value))
            // Positions ascend: the first chain at or after this one, found
            // in log time (one value may be tested by thousands of chains).
            .and_then(|list| list.get(list.partition_point(|&(p, _)| p < position)));
        Some(match found {
            Some(&(to, target)) => (target, Walked { table: table_index, from: position, to, passed: true }),
            None => {
                let to = table.nodes.len() as u32 - 1;
                (table.exit, Walked { table: table_index, from: position, to, passed: false })
            }
        })
    }

    /// The entry node of each chain of each table's run, by position.
    pub fn table_nodes(&self) -> impl Iterator<Item = &[u32]> {
        self.tables.iter().map(|t| t.nodes.as_slice())
    }

    /// Number of routing chains covered by tables.
    pub fn covered(&self) -> usize {
        self.at_node.iter().flatten().count()
    }
}
