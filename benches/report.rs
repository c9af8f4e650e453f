//! How every benchmark reports a figure: the median of its runs and their
//! spread, printed for a person and, when `BANWARDEN_BENCH_OUT` names a
//! file, appended to it as one JSON line for `benches/suite.py`, which
//! writes doc/performance.md from them. Included with `#[path]` (a module
//! shared by the benchmarks, not one of them).

use std::io::Write as _;

/// Runs that make a figure (the suite asks for medians of at least 5).
pub const RUNS: usize = 5;

/// Reports the figure `id` ("engine.realistic") from its samples, one per
/// run. `extra` adds facts for the tables (entries, sizes...) as JSON.
pub fn figure(id: &str, label: &str, unit: &str, samples: &[f64], extra: serde_json::Value) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = median(&sorted);
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    println!("{label}: {} {unit} (median of {} runs; {} to {})", human(median), sorted.len(), human(min), human(max));
    if let Some(path) = std::env::var_os("BANWARDEN_BENCH_OUT") {
        let line = serde_json::json!({
            "id": id, "label": label, "unit": unit, "runs": samples.len(),
            "median": median, "min": min, "max": max, "samples": samples, "extra": extra,
        });
        let mut file =
            std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("BANWARDEN_BENCH_OUT opens");
        writeln!(file, "{line}").expect("BANWARDEN_BENCH_OUT is writable");
    }
    median
}

/// The median of sorted samples (the mean of the middle two for an even count).
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The `p`-th percentile (0..=100) of sorted samples, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn human(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

/// `cargo test --all-targets` runs each benchmark once as a test: they do
/// nothing then. True when run by `cargo bench`.
pub fn benchmarking() -> bool {
    !std::env::args().any(|a| a == "--test") && std::env::args().any(|a| a == "--bench")
}
