//! A [`Snapshot`] rendered as OpenMetrics text (the format Prometheus
//! scrapes; <https://prometheus.io/docs/specs/om/open_metrics_spec/>).
//!
//! Every family is named `banwarden_*`; a counter's samples end in
//! `_total`, durations are in seconds with a `# UNIT` line, histograms have
//! cumulative `_bucket` samples up to `le="+Inf"` with `_sum` and `_count`,
//! and the text ends with `# EOF`. Label values are escaped as the format
//! says (backslash, double quote, newline): chain labels and set names come
//! from the configuration, which may hold any of them. Counter keys
//! (addresses) are never labels: one series per attacker would be an
//! unbounded number of series.

use std::fmt::Write as _;

use super::{Histogram, Snapshot, BUCKETS_US};

/// The content type of the rendered text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn seconds(us: u64) -> String {
    // Exact in decimal: no float rounding shows in the text.
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str, unit: Option<&str>) {
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
        if let Some(unit) = unit {
            let _ = writeln!(self.0, "# UNIT {name} {unit}");
        }
        let _ = writeln!(self.0, "# HELP {name} {help}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{key}=\"{}\"", escape(value));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, "counter", help, None);
        self.sample(&format!("{name}_total"), &[], value);
    }

    fn gauge(&mut self, name: &str, help: &str, unit: Option<&str>, value: impl std::fmt::Display) {
        self.family(name, "gauge", help, unit);
        self.sample(name, &[], value);
    }

    fn histogram(&mut self, name: &str, help: &str, histogram: &Histogram) {
        self.family(name, "histogram", help, Some("seconds"));
        let mut cumulative = 0;
        for (i, bound) in BUCKETS_US.iter().enumerate() {
            cumulative += histogram.buckets.get(i).copied().unwrap_or(0);
            self.sample(&format!("{name}_bucket"), &[("le", &seconds(*bound))], cumulative);
        }
        self.sample(&format!("{name}_bucket"), &[("le", "+Inf")], histogram.count);
        self.sample(&format!("{name}_sum"), &[], seconds(histogram.sum_us));
        self.sample(&format!("{name}_count"), &[], histogram.count);
    }
}

/// The snapshot as OpenMetrics text, ending with `# EOF`.
pub fn render(s: &Snapshot) -> String {
    let mut out = Out(String::with_capacity(4096));
    out.gauge(
        "banwarden_start_time_seconds",
        "When the daemon started (Unix time).",
        Some("seconds"),
        seconds(s.started_us),
    );
    out.gauge(
        "banwarden_config_loaded_time_seconds",
        "When the rules running were loaded (Unix time); per-chain counters start again then.",
        Some("seconds"),
        seconds(s.config.loaded_us),
    );
    out.family("banwarden_config_reloads", "counter", "Reloads of the configuration, by result.", None);
    out.sample("banwarden_config_reloads_total", &[("result", "ok")], s.config.reloads);
    out.sample("banwarden_config_reloads_total", &[("result", "rejected")], s.config.rejected_reloads);
    out.counter("banwarden_entries_judged", "Journal entries judged by the rules.", s.journal.judged);
    out.gauge(
        "banwarden_journal_behind_seconds",
        "How far behind the journal the loop is (0: caught up; else the age of the last entry judged).",
        Some("seconds"),
        seconds(s.journal.behind_us),
    );
    if let Some(last) = s.journal.last_entry_us {
        out.gauge(
            "banwarden_journal_last_entry_time_seconds",
            "The timestamp of the last entry judged (Unix time).",
            Some("seconds"),
            seconds(last),
        );
    }
    out.family("banwarden_chain_entries", "counter", "Entries that reached the chain's first step.", None);
    for c in &s.chains {
        out.sample("banwarden_chain_entries_total", &[("chain", &c.chain)], c.entered);
    }
    out.family("banwarden_chain_passes", "counter", "Entries that passed the chain's last filter.", None);
    for c in &s.chains {
        out.sample("banwarden_chain_passes_total", &[("chain", &c.chain)], c.passed);
    }
    out.family("banwarden_chain_bans", "counter", "Bans the chain's actions asked for.", None);
    for c in &s.chains {
        out.sample("banwarden_chain_bans_total", &[("chain", &c.chain)], c.bans);
    }
    out.counter("banwarden_bans", "Bans made (stored and in the kernel, or kept).", s.bans);
    out.family("banwarden_ban_failures", "counter", "Bans that failed, by set and cause.", None);
    for f in &s.failures {
        out.sample("banwarden_ban_failures_total", &[("set", &f.set), ("cause", &f.cause)], f.count);
    }
    out.family(
        "banwarden_step_errors",
        "counter",
        "Run-time errors of a step (a filter that could not judge, an action that failed).",
        None,
    );
    for e in &s.step_errors {
        let step = e.step.to_string();
        out.sample(
            "banwarden_step_errors_total",
            &[("chain", &e.chain), ("step", &step), ("module", &e.module)],
            e.count,
        );
    }
    out.family("banwarden_set_stored_bans", "gauge", "Live bans the store holds for the set.", None);
    for set in &s.sets {
        out.sample("banwarden_set_stored_bans", &[("set", &set.set), ("backend", &set.backend)], set.stored);
    }
    out.family("banwarden_set_kernel_elements", "gauge", "Elements of the kernel's set (absent: not read).", None);
    for set in &s.sets {
        if let Some(kernel) = set.kernel {
            out.sample("banwarden_set_kernel_elements", &[("set", &set.set), ("backend", &set.backend)], kernel);
        }
    }
    out.family("banwarden_counter_keys", "gauge", "Keys a counter holds in memory.", None);
    for c in &s.counters {
        out.sample("banwarden_counter_keys", &[("counter", &c.counter)], c.keys);
    }
    out.counter(
        "banwarden_door_requests",
        "Ban and unban requests from the APIs and the fleet that reached the loop.",
        s.door_requests,
    );
    if let Some(fleet) = &s.fleet {
        let connected = fleet.get("connected").and_then(|c| c.as_bool()).unwrap_or(false);
        out.gauge(
            "banwarden_fleet_connected",
            "Whether the fleet's Redis server is connected (1) or not (0).",
            None,
            u8::from(connected),
        );
        if let Some(lag) = fleet.get("lagEntries").and_then(|l| l.as_u64()) {
            out.gauge("banwarden_fleet_lag_entries", "Entries of the fleet's stream not applied yet.", None, lag);
        }
    }
    out.histogram(
        "banwarden_journal_to_verdict_seconds",
        "From an entry's journal timestamp to its verdict.",
        &s.latency.journal_to_verdict,
    );
    out.histogram(
        "banwarden_verdict_to_kernel_seconds",
        "From a verdict that banned to the kernel's acknowledgement of its batch.",
        &s.latency.verdict_to_kernel,
    );
    out.0.push_str("# EOF\n");
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{ChainStats, Histogram};

    #[test]
    fn labels_are_escaped_and_the_text_ends_with_eof() {
        let mut s = Snapshot::default();
        s.chains.push(ChainStats { chain: "a \"b\"\\c\nd".into(), entered: 3, passed: 2, bans: 1 });
        let mut h = Histogram::new();
        h.observe(3_000);
        s.latency.journal_to_verdict = h;
        let text = render(&s);
        assert!(text.contains(r#"banwarden_chain_entries_total{chain="a \"b\"\\c\nd"} 3"#), "{text}");
        assert!(text.contains("banwarden_journal_to_verdict_seconds_bucket{le=\"0.002500\"} 0\n"));
        assert!(text.contains("banwarden_journal_to_verdict_seconds_bucket{le=\"0.005000\"} 1\n"));
        assert!(text.contains("banwarden_journal_to_verdict_seconds_bucket{le=\"+Inf\"} 1\n"));
        assert!(text.contains("banwarden_journal_to_verdict_seconds_sum 0.003000\n"));
        assert!(text.ends_with("# EOF\n"));
    }
}
