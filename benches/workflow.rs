//! Figure 1: throughput of the rule engine alone, in memory, one core, on
//! `examples/server.json` (42 chains, routing on `_SYSTEMD_UNIT` first,
//! regexes last) with a realistic mix of entries, and on entries no rule
//! acts on.
//!
//! Run: `cargo bench --bench workflow` (or `make bench`, which writes
//! doc/performance.md).

use std::time::Instant;

use banwarden::config;
use banwarden::workflow::Quiet;

// Shared by every benchmark; each uses part of it.
#[allow(dead_code)]
#[path = "report.rs"]
mod report;
mod workload;

const ENTRIES: usize = 100_000;
/// Passes over the entries per run: a run lasts a fraction of a second.
const PASSES: u64 = 5;

fn main() {
    if !report::benchmarking() {
        eprintln!("workflow benchmark: run with `cargo bench --bench workflow`");
        return;
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/server.json");
    let mut workflow = config::load(path.as_ref()).expect("examples/server.json is valid").workflow;
    let entries = workload::entries(&workflow, ENTRIES, 1_763_726_400_000_000, 1);
    let quiet: Vec<_> = entries.iter().filter(|(k, _)| !k.matches()).cloned().collect();
    let mut work = workflow.new_entry();
    let mut effects = Vec::new();
    // Time moves on between passes so counters expire as they would live.
    let mut round = 0u64;
    for (id, label, set) in [
        ("engine.realistic", "rule engine, realistic mix", &entries),
        ("engine.quiet", "rule engine, entries no rule acts on", &quiet),
    ] {
        let mut samples = Vec::new();
        // One warm-up run, then the measured ones.
        for run in 0..=report::RUNS {
            let started = Instant::now();
            for _ in 0..PASSES {
                round += 1;
                for (_, entry) in set.iter() {
                    work.clone_from(entry);
                    work.set_time_us(entry.time_us() + round * 1_000_000_000);
                    workflow.run(&mut work, &mut effects, &mut Quiet);
                    effects.clear();
                }
            }
            if run > 0 {
                samples.push((set.len() as u64 * PASSES) as f64 / started.elapsed().as_secs_f64());
            }
        }
        report::figure(id, label, "entries/s", &samples, serde_json::json!({"entries": set.len(), "passes": PASSES}));
    }
}
