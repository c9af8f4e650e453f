//! banwarden as a service: what it tells systemd (sd_notify, read from a
//! socket of our own), reloading on SIGHUP, running unprivileged with only
//! CAP_NET_ADMIN as the unit runs it, root's commands acting as the
//! storage's owner, and the unit files as `systemd-analyze` judges them.
//! The daemon tests need root (private journald, namespaces) and skip
//! otherwise.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::bans::Netns;
use super::journald::PrivateJournald;
use super::util::{require, root, text, Daemon};

/// Counts probe entries across reloads: the counter must survive them.
/// `VERSION` and `EXTRA` are replaced to make the second configuration.
const PROBE_RULES: &str = r#"{"actions": {
    "probe": [
        {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "probe"}},
        {"action": "action_counterRaise", "args": {"counter": "probes", "for": "SYSLOG_IDENTIFIER", "keepSeconds": 3600, "save": "n"}},
        {"action": "action_log", "args": {"message": "VERSION {n}EXTRA"}}
    ]
}, "storage": "STORAGE"}"#;

/// What the daemon sent to the notify socket, one datagram per item.
fn received(socket: &UnixDatagram, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut messages = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    while !until(&messages) {
        assert!(Instant::now() < deadline, "notify messages so far: {messages:?}");
        if let Ok(n) = socket.recv(&mut buf) {
            messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    messages
}

fn probe(journald: &PrivateJournald, tag: &str) {
    journald.write(&[("MESSAGE", b"probe"), ("SYSLOG_IDENTIFIER", b"probe"), ("PROBE_TAG", tag.as_bytes())]);
}

#[test]
fn tells_systemd_how_it_is_and_reloads_on_sighup_keeping_counters() {
    let Some(journald) = PrivateJournald::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("state");
    let config = dir.path().join("banwarden.json");
    let rules = PROBE_RULES.replace("STORAGE", storage.to_str().unwrap());
    std::fs::write(&config, rules.replace("VERSION", "v1").replace("EXTRA", "")).unwrap();
    let notify = UnixDatagram::bind(dir.path().join("notify")).unwrap();
    notify.set_read_timeout(Some(Duration::from_millis(200))).unwrap();

    let mut command = Command::new(env!("CARGO_BIN_EXE_banwarden"));
    command
        .args(["run", "--config", config.to_str().unwrap(), "--journal-namespace", journald.namespace()])
        .env("NOTIFY_SOCKET", dir.path().join("notify"))
        // Keep-alives every 150 ms.
        .env("WATCHDOG_USEC", "300000");
    let daemon = Daemon::start(&mut command);

    let messages = received(&notify, |m| m.iter().filter(|m| *m == "WATCHDOG=1").count() >= 3);
    assert!(messages[0].starts_with("READY=1\nSTATUS=0 entries judged, 0 bans"), "{messages:?}");

    for _ in 0..3 {
        probe(&journald, "a");
    }
    journald.wait_for("v1 3", 1, Duration::from_secs(10));
    // The status follows what was judged (3 probes and the 3 lines it
    // logged, at least: journald logs about itself too).
    let judged = |m: &String| -> Option<u64> { m.strip_prefix("STATUS=")?.split(' ').next()?.parse().ok() };
    received(&notify, |m| m.iter().filter_map(judged).any(|n| n >= 6));

    // A new configuration, naming a field the old one did not read.
    std::fs::write(&config, rules.replace("VERSION", "v2").replace("EXTRA", " {PROBE_TAG}")).unwrap();
    daemon.signal(libc::SIGHUP);
    let messages = received(&notify, |m| m.iter().any(|m| m.starts_with("READY=1")));
    let reloading = messages.iter().position(|m| m.starts_with("RELOADING=1\nMONOTONIC_USEC=")).expect("RELOADING=1");
    assert!(reloading < messages.iter().position(|m| m.starts_with("READY=1")).unwrap(), "{messages:?}");
    probe(&journald, "b");
    // The counter went on from 3: it was kept.
    journald.wait_for("v2 4 b", 1, Duration::from_secs(10));

    // A broken file is refused; the running rules stay.
    std::fs::write(&config, r#"{"actions": {"probe": [{"filter": "filter_nope"}]}, "storage": 5}"#).unwrap();
    daemon.signal(libc::SIGHUP);
    let messages = received(&notify, |m| m.iter().any(|m| m.starts_with("READY=1")));
    assert!(
        messages.iter().any(|m| m.starts_with("READY=1\nSTATUS=reload rejected, old rules running")),
        "{messages:?}"
    );
    probe(&journald, "c");
    journald.wait_for("v2 5 c", 1, Duration::from_secs(10));

    // A changed storage waits for a restart.
    let moved = dir.path().join("elsewhere");
    std::fs::write(
        &config,
        PROBE_RULES.replace("STORAGE", moved.to_str().unwrap()).replace("VERSION", "v3").replace("EXTRA", ""),
    )
    .unwrap();
    daemon.signal(libc::SIGHUP);
    received(&notify, |m| m.iter().any(|m| m.starts_with("READY=1")));
    probe(&journald, "d");
    journald.wait_for("v3 6", 1, Duration::from_secs(10));

    let (status, stderr) = daemon.stop();
    assert!(status.success(), "{stderr}");
    let stopping = received(&notify, |m| m.iter().any(|m| m.starts_with("STOPPING=1")));
    assert!(!stopping.is_empty());
    // Every problem of the broken file, with its place, then the verdict.
    assert!(stderr.contains(r#"error: chain "probe", step 0"#) && stderr.contains("filter_nope"), "{stderr}");
    assert!(stderr.contains(r#"key "storage""#) || stderr.contains("storage: expected"), "{stderr}");
    assert!(stderr.contains("reload rejected:") && stderr.contains("the running rules stay"), "{stderr}");
    assert!(stderr.contains("kept 1 counter keys across the reload"), "{stderr}");
    assert!(stderr.contains("takes effect at the next restart"), "{stderr}");
    assert!(!moved.exists(), "the storage moved before a restart");
    assert!(storage.join("counters.json").exists());
}

/// uid/gid of `nobody`, the stand-in for the `banwarden` system user.
pub const NOBODY: u32 = 65534;

/// The owner of the files directly in `dir`, by name.
pub fn owners(dir: &Path) -> Vec<(String, u32, u32)> {
    let mut found: Vec<(String, u32, u32)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            (e.file_name().to_string_lossy().into_owned(), meta.uid(), meta.gid())
        })
        .collect();
    found.sort();
    found
}

/// A storage directory owned by `nobody`, reachable by it.
pub fn storage_for_nobody(netns: &Netns) {
    std::fs::set_permissions(netns.state.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&netns.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::create_dir(netns.storage()).unwrap();
    std::os::unix::fs::chown(netns.storage(), Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(netns.storage(), std::fs::Permissions::from_mode(0o750)).unwrap();
}

const BAN_ON_FIRST_FAILURE: &str = r#"{"actions": {"ssh": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<thatIP>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "thatIP", "banSeconds": 600, "nftSetIPv4": "ip banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6"}},
    {"action": "action_log", "args": {"message": "banned {thatIP}"}}
]}, "storage": "STORAGE"}"#;

#[test]
fn runs_unprivileged_with_cap_net_admin_alone() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(netns) = Netns::new(BAN_ON_FIRST_FAILURE) else { return };
    storage_for_nobody(&netns);
    let journal_group = Command::new("getent").args(["group", "systemd-journal"]).output().unwrap();
    let gid = text(&journal_group.stdout).split(':').nth(2).map(str::to_owned);
    if !require(gid.is_some(), "no systemd-journal group") {
        return;
    }
    let gid = gid.unwrap();
    // What banwarden.service does: another user, the journal's group,
    // CAP_NET_ADMIN in the ambient and bounding sets and nothing else.
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", &netns.name, "setpriv"])
        .args([&format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}"), &format!("--groups={gid}")])
        .args(["--inh-caps=-all,+net_admin", "--ambient-caps=-all,+net_admin", "--bounding-set=-all,+net_admin"])
        .args(["--no-new-privs", env!("CARGO_BIN_EXE_banwarden"), "run", "--config"])
        .arg(&netns.config)
        .args(["--journal-namespace", journald.namespace()]);
    let daemon = Daemon::start(&mut command);
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).unwrap();
    assert!(status.contains(&format!("Uid:\t{NOBODY}\t{NOBODY}\t{NOBODY}\t{NOBODY}")), "{status}");
    // CAP_NET_ADMIN is bit 12: 0x1000.
    assert!(status.contains("CapEff:\t0000000000001000"), "{status}");

    journald.log("sshd", "Failed password for root from 192.0.2.31 port 40022 ssh2");
    journald.log("sshd", "Failed password for root from 2001:db8::31 port 40022 ssh2");
    journald.wait_for("banned ", 2, Duration::from_secs(10));
    let (exit, stderr) = daemon.stop();
    assert!(exit.success(), "{stderr}");
    assert!(!stderr.contains(": error:"), "{stderr}");
    assert_eq!(netns.elements("ip", "ban4").len(), 1);
    assert_eq!(netns.elements("ip6", "ban6").len(), 1);
    let files = owners(&netns.storage());
    assert!(files.iter().any(|(name, ..)| name.starts_with("action_nftBan")), "{files:?}");
    assert!(files.iter().all(|&(_, uid, gid)| (uid, gid) == (NOBODY, NOBODY)), "{files:?}");
}

#[test]
fn roots_commands_act_as_the_owner_of_the_storage() {
    let Some(netns) = Netns::new(BAN_ON_FIRST_FAILURE) else { return };
    storage_for_nobody(&netns);
    let out = netns.banwarden(&["ban", "192.0.2.44", "--set", "ip banwarden ban4", "--for", "1h"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(netns.elements("ip", "ban4").len(), 1, "the ban reached the kernel as nobody + CAP_NET_ADMIN");
    let out = netns.banwarden(&["ban", "192.0.2.45", "--set", "ip banwarden ban4"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = netns.banwarden(&["unban", "192.0.2.44"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = netns.banwarden(&["boot"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(netns.elements("ip", "ban4"), vec![("192.0.2.45".to_owned(), None)]);
    let files = owners(&netns.storage());
    assert!(files.len() >= 2, "{files:?}");
    assert!(files.iter().all(|&(_, uid, gid)| (uid, gid) == (NOBODY, NOBODY)), "{files:?}");
}

/// The unit files, with `ExecStart=` pointing at the binary just built (so
/// that `verify` finds it) in a directory of their own.
fn units_here(dir: &Path, extra: Option<&Path>) -> Vec<std::path::PathBuf> {
    let mut units = Vec::new();
    for name in ["banwarden.service", "banwarden-boot.service"] {
        let mut unit = std::fs::read_to_string(root().join("packaging/systemd").join(name)).unwrap();
        unit = unit.replace("/usr/bin/banwarden", env!("CARGO_BIN_EXE_banwarden"));
        if let (Some(extra), "banwarden.service") = (extra, name) {
            unit.push_str(&std::fs::read_to_string(extra).unwrap());
        }
        let path = dir.join(name);
        std::fs::write(&path, unit).unwrap();
        units.push(path);
    }
    units
}

/// The "Overall exposure level" `systemd-analyze security` gives a unit.
fn exposure(unit: &Path) -> f64 {
    let out =
        Command::new("systemd-analyze").args(["security", "--offline=true", "--no-pager"]).arg(unit).output().unwrap();
    let all = text(&out.stdout) + &text(&out.stderr);
    let line = all.lines().find(|l| l.contains("Overall exposure level")).unwrap_or_else(|| panic!("{all}"));
    line.split(": ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap().parse().unwrap()
}

#[test]
fn the_units_verify_and_are_rated_ok_or_better() {
    let found = Command::new("systemd-analyze").arg("--version").output().is_ok();
    if !require(found, "systemd-analyze is missing (Debian package systemd)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let units = units_here(dir.path(), None);
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).args(&units).output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{}{}", text(&out.stdout), text(&out.stderr));
    for unit in &units {
        let level = exposure(unit);
        assert!(level <= 2.0, "{}: exposure {level}", unit.display());
    }
    // With a mail drop-in, each as doc/security.md gives it, with the API's
    // TCP drop-in, and with the fleet's (Redis over TCP, on a Unix socket).
    for drop_in in
        ["mail/local-mta.conf", "mail/smtp-relay.conf", "api/tcp.conf", "fleet/redis-tcp.conf", "fleet/redis-unix.conf"]
    {
        let dir = tempfile::tempdir().unwrap();
        let units = units_here(dir.path(), Some(&root().join("packaging/systemd").join(drop_in)));
        let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&units[0]).output().unwrap();
        let said = text(&out.stdout) + &text(&out.stderr);
        assert!(out.status.success() && said.is_empty(), "banwarden.service with {drop_in}: {said}");
        let level = exposure(&units[0]);
        assert!(level <= 2.0, "banwarden.service with {drop_in}: exposure {level}");
    }
    // The socket units (shipped, and the TCP example) beside the service
    // they start.
    let sockets = [
        "banwarden-api.socket",
        "banwarden-resp.socket",
        "api/banwarden-api-tcp.socket",
        "metrics/banwarden-metrics.socket",
    ]
    .map(|socket| {
        let path = dir.path().join(Path::new(socket).file_name().unwrap());
        std::fs::copy(root().join("packaging/systemd").join(socket), &path).unwrap();
        path
    });
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&sockets)
        .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.path().display()))
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{}{}", text(&out.stdout), text(&out.stderr));
    for socket in &sockets {
        let unit = std::fs::read_to_string(socket).unwrap();
        assert!(unit.contains("\nService=banwarden.service\n"), "{}: {unit}", socket.display());
    }
}
