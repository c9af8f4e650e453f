//! The loop's side of `banwarden status` and the metrics: what it counts
//! as it goes (the two latency histograms, when the rules were loaded,
//! whether it has caught up with the journal), and the [`Snapshot`] it
//! builds when the door asks for one, between two entries.
//!
//! What it counts per entry is a clock read and a histogram increment; the
//! per-chain figures are the workflow's own (`workflow::tally`). Building a
//! snapshot reads the store's live bans per set and, for small sets, the
//! kernel's count: an nftables set is counted by dumping it, which costs the
//! kernel time quadratic in its size, so a set whose store holds more than
//! [`KERNEL_COUNT_MAX`] bans is not read (`kernelNote` says so). The top
//! counter keys walk every key only when asked (`status`, not a scrape).

use std::collections::HashMap;

use super::*;
use crate::actions::Action;
use crate::bans::Failure;
use crate::filters::{Filter, Number, Op, Operand};
use crate::stats::{self, Histogram, Snapshot, TopCounter};
use crate::vocab::Backend;
use crate::workflow::StepKind;

/// Bans stored in an nftables set past which its kernel count is not read.
pub const KERNEL_COUNT_MAX: usize = 65_536;

/// What the loop counts for its snapshots.
pub(super) struct Figures {
    started_us: u64,
    /// When the running rules were loaded.
    loaded_us: u64,
    rejected_reloads: u64,
    last_entry_us: Option<u64>,
    caught_up: bool,
    /// When the entry being judged got its verdict.
    verdict_us: u64,
    /// Verdict times of the journal's bans not sent to the kernel yet.
    waiting: Vec<u64>,
    journal_to_verdict: Histogram,
    verdict_to_kernel: Histogram,
    /// The threshold of each counter (by its index), if a filter compares
    /// its saved value with a number.
    thresholds: Vec<Option<u64>>,
}

impl Figures {
    pub(super) fn new(now_us: u64, workflow: &Workflow) -> Figures {
        Figures {
            started_us: now_us,
            loaded_us: now_us,
            rejected_reloads: 0,
            last_entry_us: None,
            caught_up: false,
            verdict_us: now_us,
            waiting: Vec::new(),
            journal_to_verdict: Histogram::new(),
            verdict_to_kernel: Histogram::new(),
            thresholds: thresholds(workflow),
        }
    }

    /// An entry written at `written_us` (its journal timestamp) got its
    /// verdict at `now_us`.
    pub(super) fn judged(&mut self, written_us: u64, now_us: u64) {
        self.last_entry_us = Some(written_us);
        self.caught_up = false;
        self.verdict_us = now_us;
        self.journal_to_verdict.observe(now_us.saturating_sub(written_us));
    }

    /// The entry just judged asked for a ban.
    pub(super) fn banned(&mut self) {
        // Bounded by the ban batch: the queue is flushed at BAN_BATCH.
        self.waiting.push(self.verdict_us);
    }

    /// The queued bans are in the kernel (or failed) now.
    pub(super) fn flushed(&mut self, clock: &dyn Clock) {
        if self.waiting.is_empty() {
            return;
        }
        let now_us = clock.now_us();
        for verdict in self.waiting.drain(..) {
            self.verdict_to_kernel.observe(now_us.saturating_sub(verdict));
        }
    }

    /// The journal had no newer entry.
    pub(super) fn drained(&mut self) {
        self.caught_up = true;
    }

    /// New rules run since `now_us`.
    pub(super) fn reloaded(&mut self, now_us: u64, workflow: &Workflow) {
        self.loaded_us = now_us;
        self.thresholds = thresholds(workflow);
    }

    pub(super) fn reload_rejected(&mut self) {
        self.rejected_reloads += 1;
    }
}

/// The threshold of each counter: the smallest number a
/// `filter_greaterOrEquals` after its `action_counterRaise`, in the same
/// chain, compares the raise's saved value with.
fn thresholds(workflow: &Workflow) -> Vec<Option<u64>> {
    let counters = workflow.state().counters.sizes().count();
    let mut out: Vec<Option<u64>> = vec![None; counters];
    let steps = workflow.steps();
    for (i, step) in steps.iter().enumerate() {
        let StepKind::Action(Action::CounterRaise(raise)) = &step.kind else { continue };
        let (id, Some(saved)) = raise.counter() else { continue };
        let later = steps[i + 1..].iter().take_while(|s| s.chain == step.chain);
        for filter in later {
            let StepKind::Filter(Filter::Compare(c)) = &filter.kind else { continue };
            if c.field() != saved || c.op() != Op::GreaterOrEquals {
                continue;
            }
            let number = match c.value() {
                Operand::Number(Number::Int(n)) => u64::try_from(*n).ok(),
                Operand::Number(Number::Float(f)) if *f >= 0.0 => Some(f.ceil() as u64),
                _ => None,
            };
            if let (Some(n), Some(slot)) = (number, out.get_mut(id.index())) {
                *slot = Some(slot.map_or(n, |old| old.min(n)));
            }
        }
    }
    out
}

/// A failure's cause as a short label, without address (the metrics'
/// `cause` label).
fn cause(failure: Option<&Failure>) -> String {
    match failure {
        None => "other causes".into(),
        Some(Failure::Refused(why)) => format!("refused: {why}"),
        Some(Failure::Store(kind)) => format!("store: {kind}"),
        Some(Failure::Kernel(kind)) => format!("kernel: {kind:?}"),
        Some(Failure::Both(store, kernel)) => format!("store: {store}; kernel: {kernel:?}"),
    }
}

fn listen_text(listen: &crate::config::api::Listen) -> String {
    match listen {
        crate::config::api::Listen::Tcp(addr) => addr.to_string(),
        crate::config::api::Listen::Unix(path) => format!("unix:{}", path.display()),
    }
}

impl Daemon {
    /// The figures as they are now; `top` counter keys at most.
    pub(super) fn snapshot(&mut self, top: usize) -> Snapshot {
        let now = self.clock.now_us();
        let f = &self.figures;
        let mut s = Snapshot {
            version: stats::VERSION,
            pid: std::process::id(),
            now_us: now,
            started_us: f.started_us,
            bans: self.queue.banned(),
            ban_failures: self.queue.failed(),
            door_requests: self.totals.requests,
            ..Snapshot::default()
        };
        s.config = stats::ConfigInfo {
            path: self.config_file.as_ref().map(|c| c.path.display().to_string()),
            loaded_us: f.loaded_us,
            reloads: self.reloads,
            rejected_reloads: f.rejected_reloads,
        };
        s.journal = stats::JournalInfo {
            source: self.reader_source.clone(),
            judged: self.totals.judged,
            last_entry_us: f.last_entry_us,
            caught_up: f.caught_up,
            behind_us: match (f.caught_up, f.last_entry_us) {
                (false, Some(last)) => now.saturating_sub(last),
                _ => 0,
            },
        };
        s.latency = stats::Latency {
            journal_to_verdict: f.journal_to_verdict.clone(),
            verdict_to_kernel: f.verdict_to_kernel.clone(),
        };
        let figures = self.workflow.chain_figures();
        s.chains = figures
            .iter()
            .enumerate()
            .map(|(i, c)| stats::ChainStats {
                chain: self.workflow.label(i as u32).to_owned(),
                entered: c.entered,
                passed: c.passed,
                bans: c.bans,
            })
            .collect();
        let mut errors: Vec<stats::StepErrorStats> = self
            .observer
            .counts
            .iter()
            .map(|(&(chain, step), &count)| stats::StepErrorStats {
                chain: self.workflow.label(chain).to_owned(),
                step,
                module: (self.workflow.steps().iter())
                    .find(|s| s.chain == chain && s.index == step)
                    .map_or("", |s| s.module)
                    .to_owned(),
                count,
            })
            .collect();
        errors.sort_by(|a, b| (&a.chain, a.step).cmp(&(&b.chain, b.step)));
        s.step_errors = errors;
        let mut failures: Vec<stats::FailureStats> = self
            .queue
            .failures()
            .map(|(kind, count)| stats::FailureStats {
                set: kind.map(|(set, _)| set.to_string()).unwrap_or_default(),
                cause: cause(kind.map(|(_, failure)| failure)),
                count,
            })
            .collect();
        failures.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| (&a.set, &a.cause).cmp(&(&b.set, &b.cause))));
        s.failures = failures;
        let thresholds = &self.figures.thresholds;
        let counters = &self.workflow.state().counters;
        s.counters = counters
            .sizes()
            .enumerate()
            .map(|(i, (name, keys))| stats::CounterKeys {
                counter: name.to_owned(),
                keys: keys as u64,
                threshold: thresholds.get(i).copied().flatten(),
            })
            .collect();
        if top > 0 {
            s.top_counters = top_counters(counters, thresholds, top, self.figures.last_entry_us.unwrap_or(now));
        }
        s.sets = self.set_stats();
        if self.settings.serves_api() {
            let mut listeners = Vec::new();
            if let Some(api) = &self.settings.api {
                listeners.extend(api.http.iter().map(|l| format!("api.http {}", listen_text(l))));
                listeners.extend(api.https.iter().map(|l| format!("api.https {}", listen_text(l))));
            }
            if let Some(resp) = &self.settings.resp {
                listeners.extend(resp.listen.iter().map(|l| format!("resp.listen {}", listen_text(l))));
                listeners.extend(resp.listen_tls.iter().map(|l| format!("resp.listenTls {}", listen_text(l))));
            }
            s.api = Some(stats::ApiInfo { listeners, requests: self.totals.requests });
        }
        s
    }

    /// Live bans per watched set, in the store and in the kernel.
    fn set_stats(&mut self) -> Vec<stats::SetStats> {
        let sets = self.known_sets.get();
        let mut stored: HashMap<crate::vocab::SetRef, u64> = HashMap::new();
        let mut note = None;
        match self.queue.bans().live_in(&sets, &mut |w| diag!(Warning, "{w}")) {
            Ok(records) => records.iter().for_each(|r| *stored.entry(r.set.clone()).or_default() += 1),
            Err(e) => note = Some(format!("store unreadable: {e}")),
        }
        sets.into_iter()
            .map(|set| {
                let held = stored.get(&set).copied().unwrap_or(0);
                let (kernel, kernel_note) = match set.backend() {
                    Backend::Nft if held as usize > KERNEL_COUNT_MAX => {
                        (None, Some(format!("not read: counting more than {KERNEL_COUNT_MAX} elements is slow")))
                    }
                    _ => match self.queue.bans().kernel_count(&set) {
                        Ok(Some(n)) => (Some(n as u64), None),
                        Ok(None) => (None, Some("the set does not exist".into())),
                        Err(e) => (None, Some(e.to_string())),
                    },
                };
                let backend = match set.backend() {
                    Backend::Nft => "nft",
                    Backend::Ipset => "ipset",
                };
                stats::SetStats {
                    set: set.to_string(),
                    backend: backend.into(),
                    stored: held,
                    kernel,
                    kernel_note: kernel_note.or_else(|| note.clone()),
                }
            })
            .collect()
    }

    /// Step: a snapshot asked for through the door, answered at once.
    pub(super) fn answer_snapshot(&mut self, top: usize, reply: crate::door::Reply<Box<Snapshot>>) {
        reply(Box::new(self.snapshot(top)));
    }
}

/// The `top` keys closest to their counter's threshold, at `now_us` (the
/// time of the last entry: counters live on the journal's time).
fn top_counters(
    counters: &crate::actions::Counters,
    thresholds: &[Option<u64>],
    top: usize,
    now_us: u64,
) -> Vec<TopCounter> {
    let names: Vec<&str> = counters.sizes().map(|(name, _)| name).collect();
    let closeness = |i: usize, value: usize| match thresholds.get(i).copied().flatten() {
        Some(t) if t > 0 => value as f64 / t as f64,
        _ => -1.0 / (1.0 + value as f64),
    };
    // The best `top` so far, and where the worst of them is.
    let mut best: Vec<(f64, TopCounter)> = Vec::with_capacity(top);
    let mut worst = 0;
    counters.each_key(now_us, |i, key, value| {
        let score = closeness(i, value);
        if best.len() == top && score <= best[worst].0 {
            return;
        }
        let entry = TopCounter {
            counter: names[i].to_owned(),
            key: key.to_owned(),
            count: value as u64,
            threshold: thresholds.get(i).copied().flatten(),
        };
        if best.len() < top {
            best.push((score, entry));
        } else {
            best[worst] = (score, entry);
        }
        worst = (0..best.len()).min_by(|&a, &b| best[a].0.total_cmp(&best[b].0)).unwrap_or(0);
    });
    let mut out: Vec<TopCounter> = best.into_iter().map(|(_, c)| c).collect();
    stats::rank_counters(&mut out);
    out
}
