//! Throughput of the rule engine on `examples/server.json` (42 chains,
//! routing on `_SYSTEMD_UNIT` first, regexes last) with a realistic mix of
//! entries, and on entries no rule acts on. One core; entries in memory.
//!
//! Run: `cargo bench --bench workflow` (figures in doc/performance.md).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use banwarden::config;
use banwarden::workflow::Quiet;

mod workload;

const ENTRIES: usize = 100_000;

fn bench(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/server.json");
    let mut workflow = config::load(path.as_ref()).expect("examples/server.json is valid").workflow;
    let entries = workload::entries(&workflow, ENTRIES, 1_763_726_400_000_000, 1);
    let quiet: Vec<_> = entries.iter().filter(|(k, _)| !k.matches()).cloned().collect();

    let mut group = c.benchmark_group("workflow");
    for (name, set) in [("realistic mix", &entries), ("no rule acts", &quiet)] {
        group.throughput(Throughput::Elements(set.len() as u64));
        let mut work = workflow.new_entry();
        let mut effects = Vec::new();
        // Time moves on between rounds so counters expire as they would live.
        let mut round = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                round += 1;
                for (_, entry) in set.iter() {
                    work.clone_from(entry);
                    work.set_time_us(entry.time_us() + round * 1_000_000_000);
                    workflow.run(&mut work, &mut effects, &mut Quiet);
                    effects.clear();
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
