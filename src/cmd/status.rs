//! `banwarden status [--json]`: what the running daemon is doing, asked
//! over its control socket (`control.socket`); and when no daemon answers,
//! what its files tell: the store's live bans per set, how old the saved
//! journal position is, the counters file, the fleet's status file.
//!
//! Exit codes: 0 the daemon answered; 3 it is not running (the files'
//! story printed, as `systemctl status` and LSB's `status` use 3); 1 it
//! could not be asked (the socket refused this user, or the daemon did not
//! answer, or runs without a control socket); 2 an invalid configuration.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{load_config, Exit};
use crate::cli::StatusArgs;
use crate::config::control::DEFAULT_CONTROL_SOCKET;
use crate::config::ConfigFile;
use crate::control::protocol::{ask_status, AskError};
use crate::progress::count;
use crate::stats::{Histogram, Snapshot};
use crate::store::BanStore;
use crate::vocab::Backend;

pub fn run(file: &ConfigFile, args: &StatusArgs) -> anyhow::Result<Exit> {
    let Some(config) = load_config(file) else { return Ok(Exit::Invalid) };
    let settings = &config.settings;
    let socket = args.socket.clone().or_else(|| settings.control.socket_for(&settings.storage));
    let asked = socket.as_ref().map(|path| ask_status(path, usize::from(args.top)));
    let why_not = match asked {
        Some(Ok(snapshot)) => {
            let mut out = std::io::stdout().lock();
            if args.json {
                let mut value = serde_json::to_value(&*snapshot)?;
                value["running"] = serde_json::Value::Bool(true);
                serde_json::to_writer_pretty(&mut out, &value)?;
                writeln!(out)?;
            } else {
                out.write_all(render(&snapshot).as_bytes())?;
            }
            return Ok(Exit::Success);
        }
        Some(Err(e)) => e,
        None => AskError::NotRunning {
            path: DEFAULT_CONTROL_SOCKET.into(),
            source: std::io::Error::other(
                "no control socket: control.socket is false, or not given for a storage directory other than the default",
            ),
        },
    };
    let storage = &settings.storage;
    let holder = crate::daemon::lock_holder(storage);
    let running = holder.is_some() || matches!(why_not, AskError::Denied { .. } | AskError::Protocol { .. });
    let files = Files::read(storage, settings.fleet.is_some());
    if args.json {
        let mut value = serde_json::to_value(&files)?;
        value["running"] = serde_json::Value::Bool(running);
        value["error"] = serde_json::Value::String(why_not.to_string());
        if let Some(pid) = &holder {
            value["pid"] = serde_json::Value::String(pid.clone());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let head = match (&holder, &why_not) {
            (Some(pid), _) => format!("banwarden is running (pid {pid}) but cannot be asked: {why_not}"),
            (None, AskError::Denied { .. } | AskError::Protocol { .. }) => format!("cannot ask banwarden: {why_not}"),
            (None, _) => format!("banwarden is not running ({why_not})"),
        };
        print!(
            "{head}\n\nWhat its files in {} tell:\n{}",
            storage.display(),
            files.render(crate::cmd::clock().now_us())
        );
    }
    Ok(if running { Exit::Failure } else { Exit::NotRunning })
}

/// What the storage directory tells without the daemon.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Files {
    /// Live bans per set in the store.
    sets: Vec<(String, u64)>,
    /// Problems reading the store.
    store_errors: Vec<String>,
    /// Each saved journal position: file, when written (µs).
    cursors: Vec<(String, u64)>,
    /// The counters file: when written, and keys per counter.
    counters: Option<(u64, Vec<(String, u64)>)>,
    fleet: Option<serde_json::Value>,
}

fn modified_us(path: &Path) -> Option<u64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(since.as_micros() as u64)
}

impl Files {
    fn read(storage: &Path, fleet: bool) -> Files {
        let now = crate::cmd::clock().now_us();
        let mut files = Files::default();
        for backend in Backend::ALL {
            if !BanStore::exists(storage, backend) {
                continue;
            }
            match BanStore::open(storage, backend).and_then(|mut store| store.live(now)) {
                Ok(records) => {
                    let mut per_set: std::collections::BTreeMap<String, u64> = Default::default();
                    for r in records {
                        *per_set.entry(r.set.to_string()).or_default() += 1;
                    }
                    files.sets.extend(per_set);
                }
                Err(e) => files.store_errors.push(e.to_string()),
            }
        }
        let mut cursors: Vec<PathBuf> = std::fs::read_dir(storage)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "cursor"))
            .collect();
        cursors.sort();
        files.cursors = cursors.iter().filter_map(|p| Some((p.display().to_string(), modified_us(p)?))).collect();
        let counters = crate::counters_file::path(storage);
        if let Some(written) = modified_us(&counters) {
            let keys = std::fs::read(&counters)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                .and_then(|v| v.as_object().cloned())
                .map(|counters| {
                    let count = |v: &serde_json::Value| v.as_object().map_or(0, |o| o.len() as u64);
                    counters.iter().map(|(name, keys)| (name.clone(), count(keys))).collect()
                })
                .unwrap_or_default();
            files.counters = Some((written, keys));
        }
        if fleet {
            files.fleet =
                crate::fleet::status::Status::read(storage).ok().flatten().and_then(|s| serde_json::to_value(s).ok());
        }
        files
    }

    fn render(&self, now: u64) -> String {
        let mut out = String::new();
        let width = self.sets.iter().map(|(s, _)| s.len()).max().unwrap_or(0).max(3);
        let _ = writeln!(out, "\n{:<width$}  {:>8}", "Set", "stored");
        for (set, n) in &self.sets {
            let _ = writeln!(out, "{set:<width$}  {:>8}", count(*n));
        }
        if self.sets.is_empty() {
            let _ = writeln!(out, "(no live ban in the store)");
        }
        for e in &self.store_errors {
            let _ = writeln!(out, "store: {e}");
        }
        let _ = writeln!(out);
        for (path, written) in &self.cursors {
            let _ = writeln!(out, "journal position  {path}, saved {}", ago(now, *written));
        }
        if self.cursors.is_empty() {
            let _ = writeln!(out, "journal position  none saved (the daemon never ran on this storage)");
        }
        if let Some((written, keys)) = &self.counters {
            let held: u64 = keys.iter().map(|(_, n)| n).sum();
            let _ =
                writeln!(out, "counters          {held} keys in {} counters, saved {}", keys.len(), ago(now, *written));
        }
        if let Some(fleet) = &self.fleet {
            let updated = fleet.get("updated").and_then(|u| u.as_u64()).unwrap_or(0) * 1_000_000;
            let _ = writeln!(out, "fleet             status file written {}", ago(now, updated));
        }
        out
    }
}

/// A duration in words: "3d 4h", "2h 5m", "12m 3s", "4.2s", "350ms".
fn span(us: u64) -> String {
    let s = us / 1_000_000;
    match s {
        0 if us < 1_000_000 => format!("{}ms", us / 1000),
        0..=59 => format!("{:.1}s", us as f64 / 1e6),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn ago(now: u64, then: u64) -> String {
    format!("{} ({} ago)", crate::time::format_local(then), span(now.saturating_sub(then)))
}

fn bound(histogram: &Histogram, q: f64) -> String {
    match (histogram.count, histogram.quantile_bound(q)) {
        (0, _) => "-".into(),
        (_, Some(us)) => format!("≤{}", span(us)),
        (_, None) => format!(">{}", span(*crate::stats::BUCKETS_US.last().expect("buckets"))),
    }
}

/// A table: a header row, rows of cells, the first `left` columns (names)
/// left-aligned and the others (numbers) right-aligned, each as wide as its
/// widest cell.
fn table(out: &mut String, title: &str, header: &[&str], left: usize, rows: &[Vec<String>]) {
    let _ = writeln!(out, "\n{title}");
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::from(" ");
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            let gap = if i == 0 { " " } else { "  " };
            match i < left {
                true => text.push_str(&format!("{gap}{cell}{}", " ".repeat(pad))),
                false => text.push_str(&format!("{gap}{}{cell}", " ".repeat(pad))),
            }
        }
        text.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(&mut header.iter().copied()));
    for row in rows {
        let _ = writeln!(out, "{}", line(&mut row.iter().map(String::as_str)));
    }
}

/// The snapshot for a human: a summary, then one table per subject.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let now = s.now_us;
    let _ = writeln!(out, "banwarden is running (pid {}), up {}", s.pid, span(now.saturating_sub(s.started_us)));
    let rules = s.config.path.as_deref().unwrap_or("(no file)");
    let rejected = match s.config.rejected_reloads {
        0 => String::new(),
        n => format!(", {n} refused"),
    };
    let _ = writeln!(
        out,
        "  rules    {rules}, loaded {}; {} reloads{rejected}",
        ago(now, s.config.loaded_us),
        s.config.reloads
    );
    let position = match (s.journal.caught_up, s.journal.last_entry_us) {
        (_, None) => "no entry judged yet".to_owned(),
        (true, Some(last)) => format!("caught up (last entry {})", ago(now, last)),
        (false, Some(_)) => format!("behind by at least {}", span(s.journal.behind_us)),
    };
    let _ = writeln!(out, "  journal  {}: {} entries judged, {position}", s.journal.source, count(s.journal.judged));
    let _ = writeln!(out, "  bans     {} made, {} failed", count(s.bans), count(s.ban_failures));
    let (jv, vk) = (&s.latency.journal_to_verdict, &s.latency.verdict_to_kernel);
    let _ = writeln!(
        out,
        "  latency  journal→verdict p50 {} p99 {}; verdict→kernel p50 {} p99 {} ({} bans timed)",
        bound(jv, 0.5),
        bound(jv, 0.99),
        bound(vk, 0.5),
        bound(vk, 0.99),
        count(vk.count)
    );
    let rows: Vec<Vec<String>> =
        s.chains.iter().map(|c| vec![c.chain.clone(), count(c.entered), count(c.passed), count(c.bans)]).collect();
    table(&mut out, "Chains (since the rules were loaded)", &["chain", "entered", "matched", "bans"], 1, &rows);
    let rows: Vec<Vec<String>> = s
        .sets
        .iter()
        .map(|set| {
            let kernel = match (set.kernel, &set.kernel_note) {
                (Some(n), _) => count(n),
                (None, Some(note)) => format!("? ({note})"),
                (None, None) => "?".into(),
            };
            vec![format!("{} ({})", set.set, set.backend), count(set.stored), kernel]
        })
        .collect();
    table(&mut out, "Sets", &["set", "stored", "kernel"], 1, &rows);
    if !s.top_counters.is_empty() {
        let rows: Vec<Vec<String>> = s
            .top_counters
            .iter()
            .map(|c| {
                let threshold = c.threshold.map_or("-".into(), |t| t.to_string());
                vec![c.counter.clone(), c.key.clone(), c.count.to_string(), threshold]
            })
            .collect();
        table(&mut out, "Counters closest to their threshold", &["counter", "key", "count", "threshold"], 2, &rows);
    }
    let rows: Vec<Vec<String>> = s
        .counters
        .iter()
        .map(|c| vec![c.counter.clone(), count(c.keys), c.threshold.map_or("-".into(), |t| t.to_string())])
        .collect();
    if !rows.is_empty() {
        table(&mut out, "Counters", &["counter", "keys", "threshold"], 1, &rows);
    }
    if !s.step_errors.is_empty() {
        let rows: Vec<Vec<String>> = s
            .step_errors
            .iter()
            .map(|e| vec![format!("{} step {} ({})", e.chain, e.step, e.module), count(e.count)])
            .collect();
        table(&mut out, "Step errors", &["step", "errors"], 1, &rows);
    }
    if !s.failures.is_empty() {
        let rows: Vec<Vec<String>> =
            s.failures.iter().map(|f| vec![f.set.clone(), f.cause.clone(), count(f.count)]).collect();
        table(&mut out, "Ban failures", &["set", "cause", "count"], 2, &rows);
    }
    if let Some(api) = &s.api {
        let _ = writeln!(out, "\nAPI: {} requests to the loop", count(api.requests));
        for listener in &api.listeners {
            let _ = writeln!(out, "  {listener}");
        }
    }
    if let Some(fleet) = &s.fleet {
        let field = |name: &str| fleet.get(name).cloned().unwrap_or_default();
        let connected = field("connected").as_bool().unwrap_or(false);
        let _ = writeln!(
            out,
            "\nFleet: host {} on stream {}, {}{}",
            field("host").as_str().unwrap_or("?"),
            field("stream").as_str().unwrap_or("?"),
            if connected { "connected" } else { "NOT connected" },
            field("lastError").as_str().map(|e| format!(" ({e})")).unwrap_or_default()
        );
        if let Some(lag) = field("lagEntries").as_u64() {
            let _ = writeln!(out, "  {lag} entries behind, {} published", field("published").as_u64().unwrap_or(0));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{ChainStats, SetStats};

    #[test]
    fn numbers_and_spans_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(123), "123");
        assert_eq!(span(350_000), "350ms");
        assert_eq!(span(4_200_000), "4.2s");
        assert_eq!(span(3_723_000_000), "1h 2m");
        assert_eq!(span(2 * 86_400_000_000 + 7_200_000_000), "2d 2h");
    }

    #[test]
    fn tables_are_aligned() {
        let mut s = Snapshot::default();
        s.chains.push(ChainStats { chain: "sshd".into(), entered: 1234, passed: 5, bans: 1 });
        s.chains.push(ChainStats { chain: "a longer label".into(), entered: 7, passed: 0, bans: 0 });
        s.sets.push(SetStats {
            set: "inet banwarden ban4".into(),
            backend: "nft".into(),
            stored: 3,
            kernel: Some(3),
            kernel_note: None,
        });
        let text = render(&s);
        let lines: Vec<&str> = text.lines().collect();
        let at = lines.iter().position(|l| l.starts_with("Chains")).unwrap();
        assert_eq!(lines[at + 1], "  chain           entered  matched  bans");
        assert_eq!(lines[at + 2], "  sshd              1,234        5     1");
        assert_eq!(lines[at + 3], "  a longer label        7        0     0");
        assert!(text.contains("  inet banwarden ban4 (nft)       3       3"), "{text}");
    }
}
