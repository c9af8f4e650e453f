//! No allocation per entry on the path of entries that no rule acts on.
//!
//! A counting global allocator counts, on this test's thread only, the
//! allocations made while the workload of the benchmark runs through
//! `examples/server.json`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use banwarden::config;
use banwarden::workflow::Quiet;

#[path = "../../benches/workload.rs"]
mod workload;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note() {
    // try_with: the thread-locals may be gone while a thread exits.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn entries_no_rule_acts_on_allocate_nothing() {
    let path = super::util::root().join("examples/server.json");
    let mut workflow = config::load(&path).expect("valid").workflow;
    let start = 1_763_726_400_000_000;
    let warm: Vec<_> =
        workload::entries(&workflow, 20_000, start, 1).into_iter().filter(|(k, _)| !k.matches()).collect();
    // Other entries than the warm-up ones: new addresses, new messages.
    let measured: Vec<_> = workload::entries(&workflow, 20_000, start + 200_000_000, 2)
        .into_iter()
        .filter(|(k, _)| !k.matches())
        .collect();
    let mut work = workflow.new_entry();
    let mut effects = Vec::new();
    for (_, entry) in &warm {
        work.clone_from(entry);
        workflow.run(&mut work, &mut effects, &mut Quiet);
    }
    assert!(effects.is_empty(), "no rule acts on these entries: {effects:?}");

    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    for (_, entry) in &measured {
        work.clone_from(entry);
        workflow.run(&mut work, &mut effects, &mut Quiet);
    }
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.with(Cell::get);
    if std::env::var_os("PROBE").is_some() {
        let mut by_kind = std::collections::BTreeMap::new();
        for (kind, entry) in &measured {
            ALLOCATIONS.with(|n| n.set(0));
            work.clone_from(entry);
            COUNTING.with(|c| c.set(true));
            workflow.run(&mut work, &mut effects, &mut Quiet);
            COUNTING.with(|c| c.set(false));
            *by_kind.entry(format!("{kind:?}")).or_insert(0u64) += ALLOCATIONS.with(Cell::get);
        }
        eprintln!("{by_kind:?}");
    }
    assert!(effects.is_empty());
    assert_eq!(allocations, 0, "{allocations} allocations for {} entries", measured.len());
}
