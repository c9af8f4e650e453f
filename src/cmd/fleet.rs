//! `banwarden fleet status [--json]`, and the sharing of bans by hand
//! (`ban --fleet`, `unban --fleet`, or every one when `fleet.share` names
//! `cli`).
//!
//! The status is what the running daemon's fleet thread writes about once
//! a second to `fleet.status` in the storage directory; this command only
//! reads it, so it needs neither Redis nor the daemon's privileges. A file
//! whose process is gone, or that has not been rewritten for
//! [`STALE_AFTER_SECS`], is shown as the last known state of a daemon that
//! is not running; the decisions waiting then are the spool's lines,
//! counted here. A decision by hand is shared by appending it to the
//! spool (`fleet::spool`) once it is in force here: the daemon publishes
//! the spool in order, now if it runs, at its next start otherwise.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::{load_config, Exit};
use crate::cli::FleetStatusArgs;
use crate::config::fleet::{FleetSettings, Source};
use crate::config::{Config, ConfigFile};
use crate::door::Decision;
use crate::fleet::spool::{self, Spool};
use crate::fleet::status::Status;
use crate::time::format_local;
use crate::vocab::SetRef;

/// A status file not rewritten for longer than this is a stopped
/// daemon's (it is rewritten about once a second).
pub const STALE_AFTER_SECS: u64 = 5;

pub fn status(file: &ConfigFile, args: &FleetStatusArgs) -> anyhow::Result<Exit> {
    let Some(config) = load_config(file) else { return Ok(Exit::Invalid) };
    let Some(fleet) = &config.settings.fleet else {
        eprintln!("error: {}: no \"fleet\": this host shares no bans (see doc/fleet.md)", file.path.display());
        return Ok(Exit::Invalid);
    };
    let storage = &config.settings.storage;
    let now = super::clock().now_us() / 1_000_000;
    let found = Status::read(storage)
        .with_context(|| format!("cannot read {}", storage.join(crate::fleet::status::FILE).display()))?;
    let (mut status, stopped) = match found {
        Some(status) => {
            let stopped = stopped(&status, now, pid_alive(status.pid));
            (status, stopped)
        }
        None => (never_written(fleet), Some("it has not written its fleet status yet".to_owned())),
    };
    if stopped.is_some() {
        // What waits is what the spool holds, whoever wrote it.
        status.pending =
            spool_lines(storage).with_context(|| format!("cannot read {}", storage.join(spool::FILE).display()))?;
    }
    if args.json {
        let mut value = serde_json::to_value(&status)?;
        value["running"] = serde_json::Value::Bool(stopped.is_none());
        crate::out!("{value}")?;
    } else {
        print!("{}", render(&status, stopped.as_deref(), now));
    }
    Ok(Exit::failed_if(stopped.is_some() || !status.connected))
}

/// Why the daemon that wrote `status` is not running, if it is not.
fn stopped(status: &Status, now: u64, alive: bool) -> Option<String> {
    if !alive {
        return Some(format!("its process {} is gone", status.pid));
    }
    let age = now.saturating_sub(status.updated);
    (age > STALE_AFTER_SECS).then(|| format!("its fleet status was last written {age} s ago"))
}

/// Whether a process of this id exists (`kill(pid, 0)`: EPERM means it
/// does, as another user's).
fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; it only checks the process exists.
    unsafe { libc::kill(pid, 0) == 0 || *libc::__errno_location() == libc::EPERM }
}

/// What is known without the daemon: the settings.
fn never_written(fleet: &FleetSettings) -> Status {
    Status {
        host: fleet.host.clone(),
        stream: fleet.stream.clone(),
        redis: fleet.shown_urls().join(", "),
        ..Status::default()
    }
}

/// The spool's whole lines (a torn last one is not a decision yet). Read
/// without opening it for writing, so that a status asked as root makes
/// no file the daemon could not write.
fn spool_lines(storage: &Path) -> std::io::Result<u64> {
    match std::fs::read(storage.join(spool::FILE)) {
        Ok(text) => {
            let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            Ok(text[..whole].split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u64)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// The status as text, for people.
fn render(s: &Status, stopped: Option<&str>, now: u64) -> String {
    let at = |secs: u64| format_local(secs.saturating_mul(1_000_000));
    let mut out = String::new();
    let _ = writeln!(out, "host:       {}", s.host);
    let _ = writeln!(out, "stream:     {}", s.stream);
    let _ = writeln!(out, "server:     {}", if s.redis.is_empty() { "-" } else { &s.redis });
    match stopped {
        None => {
            let _ =
                writeln!(out, "daemon:     running (pid {}, status of {} s ago)", s.pid, now.saturating_sub(s.updated));
        }
        Some(why) => {
            let _ = writeln!(out, "daemon:     NOT RUNNING ({why})");
            if s.updated > 0 {
                let _ = writeln!(out, "            what follows is the last known state, of {}", at(s.updated));
            }
        }
    }
    let since = if s.since > 0 { format!(" since {}", at(s.since)) } else { String::new() };
    let _ = match (s.connected, stopped) {
        (true, None) => writeln!(out, "connection: connected{since}"),
        (true, Some(_)) => writeln!(out, "connection: was connected{since}"),
        (false, _) => writeln!(out, "connection: NOT CONNECTED{since}"),
    };
    if let Some(error) = &s.last_error {
        let _ = writeln!(out, "last error: {error}");
    }
    let known = |v: Option<u64>| v.map_or("unknown".to_owned(), |v| v.to_string());
    let _ = writeln!(out, "position:   {}", s.position.as_deref().unwrap_or("none (starts from the snapshot)"));
    let _ = writeln!(out, "lag:        {} entries, {} ms", known(s.lag_entries), known(s.lag_ms));
    let _ = writeln!(out, "published:  {}", s.published);
    let _ = writeln!(out, "pending:    {} (in the spool)", s.pending);
    let _ = writeln!(out, "malformed:  {}", s.malformed);
    let _ = writeln!(out, "resyncs:    {}", s.resyncs);
    if !s.hosts.is_empty() {
        let width = s.hosts.keys().map(String::len).max().unwrap_or(0).max("origin".len());
        let _ = writeln!(out, "\n{:<width$}  {:>10}  {:>10}", "origin", "applied", "refused");
        for (host, n) in &s.hosts {
            let _ = writeln!(out, "{host:<width$}  {:>10}  {:>10}", n.applied, n.refused);
        }
    }
    out
}

/// Whether a decision by hand on `set` (every set when `None`) is shared:
/// when `asked` (`--fleet`), or when `fleet.share` names `cli`. `Err` is
/// the message of a `--fleet` that cannot be honoured (nothing is done).
pub(super) fn sharing<'a>(
    config: &'a Config,
    asked: bool,
    set: Option<&SetRef>,
) -> Result<Option<&'a FleetSettings>, String> {
    let Some(fleet) = &config.settings.fleet else {
        return match asked {
            true => Err("--fleet: this configuration has no \"fleet\": nothing can be shared".to_owned()),
            false => Ok(None),
        };
    };
    if !asked && !fleet.share.contains(&Source::Cli) {
        return Ok(None);
    }
    if let (true, Some(set)) = (asked, set) {
        let name = fleet.shared_name(set);
        if !fleet.shares_set(&name) {
            return Err(format!("--fleet: {set} goes by {name:?} in the fleet, a name fleet.sets does not list"));
        }
    }
    Ok(Some(fleet))
}

/// Puts decisions in force here into the fleet's spool, those of shared
/// sets, for the daemon to publish (nothing without `fleet`); says so, or
/// what failed. Whether all went well.
pub(super) fn share(storage: &Path, fleet: Option<&FleetSettings>, decisions: &[Decision]) -> anyhow::Result<bool> {
    let Some(fleet) = fleet else { return Ok(true) };
    let lines: Vec<spool::Line> = decisions.iter().filter_map(|d| crate::fleet::spool_line(fleet, d)).collect();
    if lines.is_empty() {
        return Ok(true);
    }
    let path = storage.join(spool::FILE);
    match Spool::open(storage).and_then(|mut spool| spool.append(&lines)) {
        Ok(()) => {
            let what = if lines.len() == 1 { "1 decision".to_owned() } else { format!("{} decisions", lines.len()) };
            crate::out!("shared with the fleet: {what} in {}, published by the daemon", path.display())?;
            Ok(true)
        }
        Err(e) => {
            eprintln!("error: done here, but not shared with the fleet: cannot append to {}: {e}", path.display());
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::status::PerHost;

    fn status() -> Status {
        let mut s = Status {
            pid: 4321,
            updated: 1_800_000_000,
            host: "web-1".into(),
            stream: "banwarden:bans".into(),
            redis: "rediss://bw:***@r:6380".into(),
            connected: true,
            since: 1_799_990_000,
            position: Some("1799999999000-3".into()),
            lag_entries: Some(2),
            lag_ms: Some(7),
            published: 42,
            pending: 1,
            malformed: 3,
            resyncs: 1,
            ..Status::default()
        };
        s.hosts.insert("web-2".into(), PerHost { applied: 12, refused: 1 });
        s.hosts.insert("a-much-longer-host-name".into(), PerHost { applied: 7, refused: 0 });
        s
    }

    #[test]
    fn a_live_status_is_shown_whole() {
        let s = status();
        assert_eq!(stopped(&s, s.updated + 1, true), None);
        let text = render(&s, None, s.updated + 1);
        for needle in [
            "host:       web-1\n",
            "server:     rediss://bw:***@r:6380\n",
            "daemon:     running (pid 4321, status of 1 s ago)\n",
            "connection: connected since ",
            "position:   1799999999000-3\n",
            "lag:        2 entries, 7 ms\n",
            "published:  42\n",
            "pending:    1 (in the spool)\n",
            "malformed:  3\n",
            "resyncs:    1\n",
            "origin                      applied     refused\n",
            "web-2                            12           1\n",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        assert!(!text.contains("NOT"), "{text}");
    }

    #[test]
    fn a_stale_or_orphaned_status_says_the_daemon_is_not_running() {
        let mut s = status();
        assert_eq!(stopped(&s, s.updated + 9, true).unwrap(), "its fleet status was last written 9 s ago");
        assert_eq!(stopped(&s, s.updated + STALE_AFTER_SECS, true), None, "5 s is still fresh");
        assert_eq!(stopped(&s, s.updated, false).unwrap(), "its process 4321 is gone");
        s.connected = false;
        s.last_error = Some("cannot reach Redis at redis://r:6379: connection refused".into());
        let text = render(&s, Some("its process 4321 is gone"), s.updated + 60);
        assert!(text.contains("daemon:     NOT RUNNING (its process 4321 is gone)\n"), "{text}");
        assert!(text.contains("what follows is the last known state, of "), "{text}");
        assert!(text.contains("connection: NOT CONNECTED since "), "{text}");
        assert!(text.contains("last error: cannot reach Redis at redis://r:6379: connection refused\n"), "{text}");
    }

    #[test]
    fn processes_are_told_alive_or_gone() {
        assert!(pid_alive(std::process::id()));
        assert!(pid_alive(1), "init is alive, even when it is not ours to signal");
        assert!(!pid_alive(0) && !pid_alive(u32::MAX));
    }

    #[test]
    fn the_spool_is_counted_by_whole_lines_without_making_it() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(spool_lines(dir.path()).unwrap(), 0);
        assert!(!dir.path().join(spool::FILE).exists());
        std::fs::write(dir.path().join(spool::FILE), "{}\n{}\n{\"op\":").unwrap();
        assert_eq!(spool_lines(dir.path()).unwrap(), 2, "a torn last line is no decision yet");
        std::fs::write(dir.path().join(spool::FILE), "{}\n").unwrap();
        assert_eq!(spool_lines(dir.path()).unwrap(), 1);
    }
}
