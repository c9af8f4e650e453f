//! The daemon's figures, as `banwarden status` and the OpenMetrics
//! endpoint show them: a [`Snapshot`] the loop fills when asked (through
//! the door), serialized as JSON on the control socket and rendered as
//! OpenMetrics text ([`openmetrics`]).
//!
//! Counters only grow while the daemon runs (a restart, or a reload for the
//! per-chain figures, starts them again: `config.loadedUs` says since
//! when). The two latency [`Histogram`]s have fixed buckets suited to
//! latencies of a millisecond to a minute, so that sums and buckets add up
//! across scrapes and hosts. The snapshot is plain data: no type of the
//! loop, the workflow or a protocol crate appears here.

pub mod openmetrics;

use serde::{Deserialize, Serialize};

/// The version of the snapshot's JSON: raised when a field changes meaning
/// (fields are only added otherwise).
pub const VERSION: u32 = 1;

/// Upper bounds of the latency buckets, in microseconds (the last bucket,
/// `+Inf`, is implicit): 1 ms to a minute, about three per decade.
pub const BUCKETS_US: [u64; 15] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000, 30_000_000, 60_000_000,
];

/// A histogram of durations with the fixed [`BUCKETS_US`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Histogram {
    /// Observations per bucket (not cumulative), the last one `+Inf`.
    pub buckets: Vec<u64>,
    /// Sum of every observation, in microseconds.
    pub sum_us: u64,
    pub count: u64,
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram { buckets: vec![0; BUCKETS_US.len() + 1], sum_us: 0, count: 0 }
    }

    pub fn observe(&mut self, us: u64) {
        if self.buckets.len() != BUCKETS_US.len() + 1 {
            self.buckets = vec![0; BUCKETS_US.len() + 1];
        }
        let at = BUCKETS_US.partition_point(|&bound| bound < us);
        self.buckets[at] += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.count += 1;
    }

    /// The bound under which at least `q` (0..=1) of the observations fall,
    /// in microseconds (`None`: no observation, or beyond the last bound).
    pub fn quantile_bound(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let wanted = (q * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                return BUCKETS_US.get(i).copied();
            }
        }
        None
    }
}

/// Everything `status` shows about the running daemon.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub version: u32,
    pub pid: u32,
    /// When the snapshot was taken (µs since the epoch).
    pub now_us: u64,
    /// When the daemon started.
    pub started_us: u64,
    pub config: ConfigInfo,
    pub journal: JournalInfo,
    /// Per chain, in the configuration's order.
    pub chains: Vec<ChainStats>,
    /// Per set the daemon bans into or watches.
    pub sets: Vec<SetStats>,
    /// Bans made since the start, and those that failed.
    pub bans: u64,
    pub ban_failures: u64,
    /// Ban failures by set and cause.
    pub failures: Vec<FailureStats>,
    /// Step errors by chain and step (since the start).
    pub step_errors: Vec<StepErrorStats>,
    /// Keys held per counter name.
    pub counters: Vec<CounterKeys>,
    /// The counter keys closest to their threshold (or highest, for a
    /// counter no filter compares), at most [`TOP_COUNTERS`].
    pub top_counters: Vec<TopCounter>,
    /// Requests that came through the loop's door (APIs, fleet).
    pub door_requests: u64,
    pub api: Option<ApiInfo>,
    /// The fleet's own status file (`fleet.status`), when a fleet is set.
    pub fleet: Option<serde_json::Value>,
    pub latency: Latency,
}

/// Counter keys shown by `status`.
pub const TOP_COUNTERS: usize = 20;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigInfo {
    /// The file loaded (none: started without one, in tests).
    pub path: Option<String>,
    /// When the rules running were loaded (start or last reload that took).
    pub loaded_us: u64,
    /// Reloads that took, and that were refused (the old rules kept).
    pub reloads: u64,
    pub rejected_reloads: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalInfo {
    /// What is read (`the system journal`, a directory...).
    pub source: String,
    /// Entries judged since the start.
    pub judged: u64,
    /// The `__REALTIME_TIMESTAMP` of the last entry judged.
    pub last_entry_us: Option<u64>,
    /// Whether the last read found no newer entry: the loop has judged
    /// everything the journal held then.
    pub caught_up: bool,
    /// How far behind the journal the loop is: 0 when caught up, else the
    /// age of the last entry judged (the newest entry is at least that much
    /// newer), in µs.
    pub behind_us: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainStats {
    pub chain: String,
    /// Entries that reached the chain's first step.
    pub entered: u64,
    /// Entries that passed its last filter.
    pub passed: u64,
    /// Bans its actions asked for.
    pub bans: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetStats {
    /// The set as the configuration writes it (`inet banwarden ban4`).
    pub set: String,
    /// `nft` or `ipset`.
    pub backend: String,
    /// Live bans the store holds for it.
    pub stored: u64,
    /// Elements in the kernel's set (`None`: not read, see `kernelNote`).
    pub kernel: Option<u64>,
    pub kernel_note: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureStats {
    pub set: String,
    pub cause: String,
    pub count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepErrorStats {
    pub chain: String,
    pub step: u32,
    pub module: String,
    pub count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterKeys {
    pub counter: String,
    pub keys: u64,
    /// The number a filter compares the counter's value with (the smallest,
    /// if several), when one does.
    pub threshold: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopCounter {
    pub counter: String,
    pub key: String,
    pub count: u64,
    pub threshold: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiInfo {
    /// Every listener, as the configuration writes it, with its service.
    pub listeners: Vec<String>,
    /// Ban, accept and unban requests that reached the loop from them.
    pub requests: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// From an entry's `__REALTIME_TIMESTAMP` to its verdict.
    pub journal_to_verdict: Histogram,
    /// From a verdict that banned to the kernel's acknowledgement of the
    /// batch that carried the ban.
    pub verdict_to_kernel: Histogram,
}

/// Orders counter keys by how close they are to their threshold: the
/// fraction reached first (keys of counters without one after those with),
/// then the count.
pub fn rank_counters(counters: &mut [TopCounter]) {
    let closeness = |c: &TopCounter| match c.threshold {
        Some(t) if t > 0 => c.count as f64 / t as f64,
        _ => -1.0,
    };
    counters.sort_by(|a, b| closeness(b).total_cmp(&closeness(a)).then(b.count.cmp(&a.count)).then(a.key.cmp(&b.key)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_fall_in_the_first_bucket_whose_bound_holds_them() {
        let mut h = Histogram::new();
        for us in [0, 1_000, 1_001, 7_000, 61_000_000] {
            h.observe(us);
        }
        assert_eq!(h.buckets[0], 2, "bounds are inclusive (le)");
        assert_eq!(h.buckets[1], 1);
        assert_eq!(h.buckets[3], 1);
        assert_eq!(h.buckets[BUCKETS_US.len()], 1, "past the last bound: +Inf");
        assert_eq!(h.count, 5);
        assert_eq!(h.sum_us, 61_009_001);
        assert_eq!(h.quantile_bound(0.5), Some(2_500));
        assert_eq!(h.quantile_bound(1.0), None);
        assert_eq!(Histogram::new().quantile_bound(0.5), None);
    }

    #[test]
    fn counters_rank_by_the_share_of_their_threshold() {
        let top = |counter: &str, count, threshold| TopCounter {
            counter: counter.into(),
            key: format!("{counter}{count}"),
            count,
            threshold,
        };
        let mut list = vec![top("a", 9, Some(20)), top("b", 4, Some(5)), top("c", 50, None), top("d", 5, Some(5))];
        rank_counters(&mut list);
        let order: Vec<&str> = list.iter().map(|c| c.counter.as_str()).collect();
        assert_eq!(order, ["d", "b", "a", "c"]);
    }
}
