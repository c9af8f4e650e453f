//! Tests of each linking rule on chain shapes. Steps are named "c.i" (chain
//! c, step i); a walk lists the steps an entry visits given which filters pass.

use super::*;

/// Builds shapes from a compact description: one string per chain, steps
/// separated by spaces: `f` filter, `a` action, optionally followed by
/// `>N` (explicit then to chain N) and `!N` (explicit else to chain N).
fn shapes(desc: &[&str]) -> (Vec<ChainShape>, Vec<String>) {
    let mut names = Vec::new();
    let chains = desc
        .iter()
        .enumerate()
        .map(|(c, text)| {
            let mut steps = Vec::new();
            for (i, word) in text.split_whitespace().enumerate() {
                let is_filter = word.starts_with('f');
                let mut then = None;
                let mut else_ = None;
                let mut rest = &word[1..];
                while let Some(kind) = rest.chars().next() {
                    let end = rest[1..].find(['>', '!']).map_or(rest.len(), |p| p + 1);
                    let target: usize = rest[1..end].parse().unwrap();
                    if kind == '>' {
                        then = Some(target);
                    } else {
                        else_ = Some(target);
                    }
                    rest = &rest[end..];
                }
                steps.push(StepShape { step: names.len() as u32, is_filter, then, else_ });
                names.push(format!("{c}.{i}"));
                if then.is_some() {
                    break; // steps after an explicit then are cut off by the caller
                }
            }
            ChainShape { steps }
        })
        .collect();
    (chains, names)
}

/// The steps visited, with filters passing when `pass` says so.
fn walk(desc: &[&str], pass: &[&str]) -> Vec<String> {
    let (chains, names) = shapes(desc);
    let graph = link(&chains).expect("no loop");
    let mut visited = Vec::new();
    let mut at = graph.start;
    while let Some(n) = at.node() {
        let node = graph.nodes[n];
        let name = names[node.step as usize].clone();
        let is_filter = chains.iter().flat_map(|c| &c.steps).any(|s| s.step == node.step && s.is_filter);
        at = if !is_filter || pass.contains(&name.as_str()) { node.then } else { node.else_ };
        visited.push(name);
        assert!(visited.len() < 10_000, "walk does not end");
    }
    visited
}

#[test]
fn rule1_steps_follow_each_other() {
    assert_eq!(walk(&["f f a"], &["0.0", "0.1"]), ["0.0", "0.1", "0.2"]);
}

#[test]
fn rule2_failing_filter_falls_to_next_chain() {
    assert_eq!(walk(&["f a", "a"], &[]), ["0.0", "1.0"]);
}

#[test]
fn rule2_last_action_ends_the_entry() {
    assert_eq!(walk(&["f a", "a"], &["0.0"]), ["0.0", "0.1"]);
}

#[test]
fn rule2_trailing_filter_falls_through_on_pass_too() {
    assert_eq!(walk(&["a f", "a"], &["0.1"]), ["0.0", "0.1", "1.0"]);
    assert_eq!(walk(&["a f", "a"], &[]), ["0.0", "0.1", "1.0"]);
}

#[test]
fn rule2_dangling_in_last_chain_ends() {
    assert_eq!(walk(&["f"], &[]), ["0.0"]);
}

#[test]
fn rule3_explicit_then_and_else() {
    // 0: filter then->2 else->1 ; 1: action ; 2: action
    let desc = ["f>2!1", "a", "a"];
    assert_eq!(walk(&desc, &["0.0"]), ["0.0", "2.0"]);
    assert_eq!(walk(&desc, &[]), ["0.0", "1.0"]);
}

#[test]
fn rule3_explicit_then_cuts_the_chain() {
    let (chains, _) = shapes(&["a>1 a a", "a"]);
    assert_eq!(chains[0].steps.len(), 1);
    assert_eq!(walk(&["a>1 a a", "a"], &[]), ["0.0", "1.0"]);
}

#[test]
fn rule4_jump_chains_are_skipped_by_default_linking() {
    // Chain 1 is a jump chain of chain 0: entries failing chain 0's filter go to 2.
    let desc = ["f>1", "a", "a"];
    assert_eq!(walk(&desc, &[]), ["0.0", "2.0"]);
    let (chains, _) = shapes(&desc);
    assert_eq!(link(&chains).unwrap().top_level, [0, 2]);
}

#[test]
fn rule4_dangling_of_a_jump_chain_follows_its_caller() {
    // 0 jumps to 2 on pass; 2's filter dangles: it goes to 1, the chain after 0.
    let desc = ["f>2", "a", "f a"];
    assert_eq!(walk(&desc, &["0.0"]), ["0.0", "2.0", "1.0"]);
    assert_eq!(walk(&desc, &["0.0", "2.0"]), ["0.0", "2.0", "2.1"]);
}

#[test]
fn rule4_nested_jump_chains_fall_to_the_top_level_successor() {
    // 0 -> 3 -> 4; 4's dangling goes to 1 (after top-level 0), not to 2 or 5.
    let desc = ["f>3", "a", "a", "f>4", "f a", "a"];
    assert_eq!(walk(&desc, &["0.0", "3.0"]), ["0.0", "3.0", "4.0", "1.0"]);
    let (chains, _) = shapes(&desc);
    assert_eq!(link(&chains).unwrap().top_level, [0, 1, 2, 5]);
}

#[test]
fn rule4_shared_jump_chain_keeps_each_callers_fall_through() {
    // Top-level 0 and 2 both jump to 4, whose filter dangles.
    let desc = ["f>4", "f", "f>4", "a", "f a"];
    // From 0: 4 falls to 1. From 2: 4 falls to 3.
    assert_eq!(walk(&desc, &["0.0"]), ["0.0", "4.0", "1.0", "2.0", "3.0"]);
    assert_eq!(walk(&desc, &["2.0"]), ["0.0", "1.0", "2.0", "4.0", "3.0"]);
    assert_eq!(walk(&desc, &["2.0", "4.0"]), ["0.0", "1.0", "2.0", "4.0", "4.1"]);
    let (chains, _) = shapes(&desc);
    let graph = link(&chains).unwrap();
    assert_eq!(graph.top_level, [0, 1, 2, 3]);
    // Chain 4 exists twice in the graph, once per fall-through.
    let first_step_of_4 = chains[4].steps[0].step;
    assert_eq!(graph.nodes.iter().filter(|n| n.step == first_step_of_4).count(), 2);
}

#[test]
fn rule4_shared_jump_chain_from_second_caller() {
    // 1 is reached from 0 when 0.0 fails (else), 2 jumps to 4 on pass.
    let desc = ["f>4", "f>4 a", "a", "f a", "f a"];
    // 0.0 fails -> 1.0; passes -> 4 (shared), whose dangling goes to 1 here
    assert_eq!(walk(&desc, &["0.0"]), ["0.0", "4.0", "1.0", "2.0"]);
    assert_eq!(walk(&desc, &["1.0"]), ["0.0", "1.0", "4.0", "2.0"]);
}

#[test]
fn rule4_chain_without_dangling_links_is_shared() {
    // 3 ends in an action and has no filter: no dangling link, so one copy
    // serves both callers although their fall-throughs differ.
    let desc = ["f>3", "f", "f>3", "a"];
    let (chains, _) = shapes(&desc);
    let graph = link(&chains).unwrap();
    let copies = graph.nodes.iter().filter(|n| n.step == chains[3].steps[0].step).count();
    assert_eq!(copies, 1);
    assert_eq!(walk(&desc, &["0.0"]), ["0.0", "3.0"]);
    assert_eq!(walk(&desc, &["2.0"]), ["0.0", "1.0", "2.0", "3.0"]);
}

#[test]
fn rule4_jump_to_a_dangling_chain_makes_the_caller_context_dependent() {
    // 3 has no dangling link of its own but jumps to 4, which does: 3 must
    // exist once per fall-through too.
    let desc = ["f>3", "f", "f>3", "a>4", "f"];
    let (chains, _) = shapes(&desc);
    let graph = link(&chains).unwrap();
    assert_eq!(graph.nodes.iter().filter(|n| n.step == chains[3].steps[0].step).count(), 2);
    assert_eq!(walk(&desc, &["0.0"]), ["0.0", "3.0", "4.0", "1.0", "2.0"]);
    assert_eq!(walk(&desc, &["2.0"]), ["0.0", "1.0", "2.0", "3.0", "4.0"]);
}

#[test]
fn rule4_chain_named_only_later_is_default_linked_first() {
    // 1 appears before 2, which jumps to it: when the walk reaches 1 it has not
    // been reached yet, so it is top-level, and 2 gets its own copy.
    let desc = ["f", "f a", "f>1", "a"];
    let (chains, _) = shapes(&desc);
    assert_eq!(link(&chains).unwrap().top_level, [0, 1, 2, 3]);
    // Everything fails: 0 -> 1 -> 2 -> 3.
    assert_eq!(walk(&desc, &[]), ["0.0", "1.0", "2.0", "3.0"]);
    // 2 passes: jumps to its copy of 1, which falls through to 3.
    assert_eq!(walk(&desc, &["2.0"]), ["0.0", "1.0", "2.0", "1.0", "3.0"]);
}

#[test]
fn rule4_jump_back_to_an_earlier_top_level_chain_is_not_a_loop() {
    let desc = ["f a", "f!0 a", "a"];
    // 1.0 fails -> copy of 0 in 1's context, whose dangling goes to 2.
    assert_eq!(walk(&desc, &[]), ["0.0", "1.0", "0.0", "2.0"]);
}

#[test]
fn rule5_start_is_the_first_chain() {
    assert_eq!(walk(&["a", "a"], &[]), ["0.0"]);
    let (chains, _) = shapes(&[]);
    assert_eq!(link(&chains).unwrap().start, Link::END);
}

#[test]
fn empty_chains_are_transparent() {
    assert_eq!(walk(&["f", "", "a"], &[]), ["0.0", "2.0"]);
    assert_eq!(walk(&["f>1", "", "a"], &["0.0"]), ["0.0", "2.0"]);
}

#[test]
fn loops_are_found_with_their_path() {
    let (chains, _) = shapes(&["f>1", "f>2", "f!0"]);
    assert_eq!(loops(&chains), vec![vec![0, 1, 2, 0]]);
    let (chains, _) = shapes(&["f>0"]);
    assert_eq!(loops(&chains), vec![vec![0, 0]]);
    // Two separate loops are both reported.
    let (chains, _) = shapes(&["f>1", "f>0", "f>3", "f>2"]);
    assert_eq!(loops(&chains).len(), 2);
}

#[test]
fn diamond_is_not_a_loop() {
    // 0 -> 1 and 0 -> 2 (else), both -> 3.
    let desc = ["f>1!2", "f>3", "f>3", "a"];
    assert_eq!(walk(&desc, &["0.0", "1.0"]), ["0.0", "1.0", "3.0"]);
    assert_eq!(walk(&desc, &["2.0"]), ["0.0", "2.0", "3.0"]);
}

#[test]
fn graph_is_acyclic_on_a_wide_config() {
    // 200 chains, each top-level one jumping to the same two shared chains.
    let mut desc: Vec<String> = (0..198).map(|_| "f>198!199 a".to_string()).collect();
    desc.push("f a".into());
    desc.push("f".into());
    let refs: Vec<&str> = desc.iter().map(String::as_str).collect();
    // All fail: 0 -> else 199 -> falls to 1 (top-level after 0)...
    let path = walk(&refs, &[]);
    assert_eq!(path.len(), 2 * 198);
}

fn loops(chains: &[ChainShape]) -> Vec<LoopPath> {
    match link(chains) {
        Err(LinkError::Loops(loops)) => loops,
        other => panic!("expected loops, got {other:?}"),
    }
}

/// Chain i jumps to chain i+1 on pass and on fail, `n` deep.
fn jump_chain(n: usize) -> Vec<ChainShape> {
    (0..n)
        .map(|i| {
            let next = (i + 1 < n).then_some(i + 1);
            ChainShape { steps: vec![StepShape { step: i as u32, is_filter: next.is_some(), then: next, else_: next }] }
        })
        .collect()
}

#[test]
fn a_deep_jump_chain_links_without_recursion() {
    // Deeper than any thread's stack would allow a recursive walk
    // (a 50,000-step chain overflowed the 8 MB main stack).
    let graph = link(&jump_chain(200_000)).unwrap();
    assert_eq!(graph.top_level, [0]);
    assert_eq!(graph.nodes.len(), 200_000);
    let (mut at, mut steps) = (graph.start, 0);
    while let Some(n) = at.node() {
        assert_eq!(graph.nodes[n].step, steps);
        at = graph.nodes[n].then;
        steps += 1;
    }
    assert_eq!(steps, 200_000);
    // And a loop at its end is found, with its whole path.
    let mut chains = jump_chain(100_000);
    chains[99_999].steps[0] = StepShape { step: 0, is_filter: false, then: Some(0), else_: None };
    let found = loops(&chains);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 100_001);
}

#[test]
fn many_loops_are_reported_up_to_a_limit() {
    // Every chain of a 1,000-deep path jumps back to the first.
    let mut chains = jump_chain(1_000);
    for (i, chain) in chains.iter_mut().enumerate() {
        chain.steps.push(StepShape { step: 1_000 + i as u32, is_filter: false, then: Some(0), else_: None });
    }
    assert_eq!(loops(&chains).len(), MAX_LOOPS_REPORTED);
}

#[test]
fn copies_beyond_the_node_limit_are_refused() {
    // 2,000 top-level chains whose failures all go to one 4,000-step jump
    // chain ending in a dangling filter: one copy per fall-through, 8
    // million nodes.
    let callers = 2_000;
    let mut chains: Vec<ChainShape> = (0..callers)
        .map(|c| ChainShape { steps: vec![StepShape { step: c, is_filter: true, then: None, else_: Some(2_000) }] })
        .collect();
    let jump = (0..4_000).map(|i| StepShape { step: 10_000 + i, is_filter: true, then: None, else_: None });
    chains.push(ChainShape { steps: jump.collect() });
    assert_eq!(link(&chains).unwrap_err(), LinkError::TooLarge);
}
