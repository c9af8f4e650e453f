//! `banwarden run` and `replay` on real journals: a private journald for the
//! live ones (see `journald`), journal files made by systemd-journal-remote
//! for the recorded ones. The live tests need root and skip otherwise.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::bans::{recidive_in_a_sandbox, Netns};
use super::journald::{journal_from_export, PrivateJournald};
use super::util::{banwarden, golden, root, text, Daemon};

/// Judges every entry of identifier "probe" by logging "judged <MESSAGE>".
const PROBE_CONFIG: &str = r#"{"actions": {
    "probe": [
        {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "probe"}},
        {"action": "action_log", "args": {"message": "judged {MESSAGE}"}}
    ]
}, "storage": "STORAGE"}"#;

/// `banwarden run` on a private journald, in the host's network namespace
/// (for rules that ban nothing; see `Netns::run` for the others).
fn start_run(config: &Path, journald: &PrivateJournald, extra: &[&str]) -> Daemon {
    let mut command = Command::new(env!("CARGO_BIN_EXE_banwarden"));
    command.args(["run", "--config", config.to_str().unwrap(), "--journal-namespace", journald.namespace()]);
    Daemon::start(command.args(extra))
}

fn probe_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("probe.json");
    let storage = dir.join("state");
    std::fs::write(&path, PROBE_CONFIG.replace("STORAGE", storage.to_str().unwrap())).unwrap();
    path
}

/// How many times each "judged N" line appears in the namespace, and the
/// time (µs) of the first one for each N.
fn judged(journald: &PrivateJournald) -> HashMap<u64, (u32, u64)> {
    let out = Command::new("journalctl")
        .args(["--namespace", journald.namespace(), "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=banwarden"])
        .output()
        .expect("journalctl runs");
    let mut seen: HashMap<u64, (u32, u64)> = HashMap::new();
    for line in text(&out.stdout).lines() {
        let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let Some(n) = record["MESSAGE"].as_str().and_then(|m| m.strip_prefix("judged probe ")) else { continue };
        let n: u64 = n.parse().unwrap();
        let t: u64 = record["__REALTIME_TIMESTAMP"].as_str().unwrap().parse().unwrap();
        let slot = seen.entry(n).or_insert((0, t));
        slot.0 += 1;
        slot.1 = slot.1.min(t);
    }
    seen
}

fn write_probes(journald: &PrivateJournald, range: std::ops::Range<u64>) {
    journald.write_many(range.map(|n| {
        vec![
            ("SYSLOG_IDENTIFIER".to_string(), b"probe".to_vec()),
            ("MESSAGE".to_string(), format!("probe {n}").into_bytes()),
        ]
    }));
}

#[test]
fn follows_live_and_reads_its_own_lines_back() {
    let Some(journald) = PrivateJournald::start() else { return };
    // Its bans go to sets of a namespace of our own, never the host's.
    let Some(netns) = Netns::new(&recidive_in_a_sandbox()) else { return };
    netns.nft_script(
        "table ip banwarden { set ssh_ban4 { type ipv4_addr; flags timeout; }; }
         table ip6 banwarden { set ssh_ban6 { type ipv6_addr; flags timeout; }; }",
    );
    let run = netns.run(&journald);
    for port in 0..4 {
        journald.log("sshd", &format!("Failed password for root from 203.0.113.9 port {port} ssh2"));
    }
    // The ban is logged, and that line is read back by the recidive chain.
    journald.wait_for("Ban from SSH for 203.0.113.9", 1, Duration::from_secs(10));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("stopped: ") && stderr.contains("1 bans"), "{stderr}");
    let elements = netns.elements("ip", "ssh_ban4");
    assert_eq!(elements.len(), 1, "{elements:?}");
    assert_eq!(elements[0].0, "203.0.113.9");
    assert!((3580..=3600).contains(&elements[0].1.unwrap()), "{elements:?}");
    assert!(netns.storage().join(format!("journal@{}.cursor", journald.namespace())).exists());
}

#[test]
fn a_restart_misses_nothing_and_judges_nothing_twice() {
    let Some(journald) = PrivateJournald::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = probe_config(dir.path());
    let run = start_run(&config, &journald, &[]);
    write_probes(&journald, 0..50);
    journald.wait_for("judged probe ", 50, Duration::from_secs(20));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    // Written while banwarden is stopped: judged after the restart.
    write_probes(&journald, 50..100);
    let run = start_run(&config, &journald, &[]);
    journald.wait_for("judged probe ", 100, Duration::from_secs(20));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    let seen = judged(&journald);
    for n in 0..100 {
        assert_eq!(seen.get(&n).map(|s| s.0), Some(1), "probe {n}: {:?}", seen.get(&n));
    }
}

#[test]
fn kill_9_in_a_burst_misses_nothing_and_repeats_only_the_last_second() {
    let Some(journald) = PrivateJournald::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = probe_config(dir.path());
    const N: u64 = 100_000;
    let run = start_run(&config, &journald, &[]);
    let killed_at_us = std::thread::scope(|scope| {
        scope.spawn(|| write_probes(&journald, 0..N));
        // Kill once a good part of the burst has been judged.
        let started = Instant::now();
        while judged(&journald).len() < 20_000 {
            assert!(started.elapsed() < Duration::from_secs(60), "banwarden judges nothing");
            std::thread::sleep(Duration::from_millis(200));
        }
        let killed_at_us = chrono::Utc::now().timestamp_micros() as u64;
        run.kill9();
        killed_at_us
    });
    let run = start_run(&config, &journald, &[]);
    journald.wait_for("judged probe ", N as usize, Duration::from_secs(120));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    let seen = judged(&journald);
    let missing: Vec<u64> = (0..N).filter(|n| !seen.contains_key(n)).collect();
    assert!(missing.is_empty(), "{} probes never judged, e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]);
    // Entries judged twice were first judged in the last second before the
    // kill (plus journald's own delay in timestamping banwarden's line).
    let twice: Vec<(u64, u64)> = seen.iter().filter(|(_, s)| s.0 > 1).map(|(n, s)| (*n, s.1)).collect();
    let earliest_allowed = killed_at_us - 1_000_000 - 500_000;
    let early: Vec<_> = twice.iter().filter(|(_, t)| *t < earliest_allowed).collect();
    assert!(
        early.is_empty(),
        "{} of {} repeats were judged well before the kill: {:?}",
        early.len(),
        twice.len(),
        &early[..early.len().min(5)]
    );
    eprintln!("kill -9 test: {} entries judged twice out of {N}", twice.len());
}

#[test]
fn non_utf8_messages_are_decoded() {
    let Some(journald) = PrivateJournald::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = probe_config(dir.path());
    let run = start_run(&config, &journald, &[]);
    journald.write(&[("SYSLOG_IDENTIFIER", b"probe"), ("MESSAGE", b"probe caf\xe9")]);
    journald.wait_for("judged probe caf\u{e9}", 1, Duration::from_secs(10));
    let (status, _) = run.stop();
    assert!(status.success());
}

/// The demo's attack log made into a journal file: replaying the journal
/// gives exactly what replaying the export text gives.
#[test]
fn replay_of_a_journal_file_matches_the_export_replay() {
    let dir = tempfile::tempdir().unwrap();
    let export = std::fs::read(root().join("examples/attack.export")).unwrap();
    let Some(journal_dir) = journal_from_export(&export, dir.path()) else { return };
    let dir_arg = journal_dir.to_str().unwrap();
    let out = banwarden(&["replay", "--config", "examples/recidive.json", "--journal-dir", dir_arg], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    golden("recidive-attack.jsonl", &text(&out.stdout));
    assert!(text(&out.stderr).contains("replay: 49 entries read"), "{}", text(&out.stderr));

    // --since/--until: the first hour only (the first ban of 203.0.113.50,
    // the IPv6 and the mapped ones), then from the 30th day on (the last).
    let first_hour = ["--since", "@1763726400", "--until", "@1763730000"];
    let out = banwarden(
        &[&["replay", "--config", "examples/recidive.json", "--journal-dir", dir_arg][..], &first_hour].concat(),
        b"",
    );
    let bans = text(&out.stdout).lines().filter(|l| l.contains("action_nftBan")).count();
    assert_eq!(bans, 3, "{}", text(&out.stdout));
    let late = ["--since", "@1766318400"];
    let out = banwarden(
        &[&["replay", "--config", "examples/recidive.json", "--journal-dir", dir_arg][..], &late].concat(),
        b"",
    );
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().filter(|l| l.contains("action_nftBan")).count(), 1, "{stdout}");
    assert!(text(&out.stderr).contains("4 entries read"), "{}", text(&out.stderr));
}

fn journalctl(journald: &PrivateJournald, args: &[&str]) {
    let out = Command::new("journalctl").arg("--namespace").arg(journald.namespace()).args(args).output().unwrap();
    assert!(out.status.success(), "journalctl {args:?}: {}", text(&out.stderr));
}

#[test]
fn survives_rotation_vacuum_and_a_journald_restart() {
    let Some(mut journald) = PrivateJournald::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = probe_config(dir.path());
    let run = start_run(&config, &journald, &[]);
    write_probes(&journald, 0..100);
    journald.wait_for("judged probe ", 100, Duration::from_secs(20));
    journalctl(&journald, &["--rotate"]);
    write_probes(&journald, 100..200);
    journald.wait_for("judged probe ", 200, Duration::from_secs(20));
    // Archived files go; the entries judged so far go with them.
    journalctl(&journald, &["--rotate"]);
    journalctl(&journald, &["--vacuum-files=1"]);
    write_probes(&journald, 200..300);
    journald.wait_for("judged probe 299", 1, Duration::from_secs(20));
    journald.restart();
    write_probes(&journald, 300..400);
    journald.wait_for("judged probe 399", 1, Duration::from_secs(20));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    let seen = judged(&journald);
    for n in 200..400 {
        assert_eq!(seen.get(&n).map(|s| s.0), Some(1), "probe {n}: {:?}; {stderr}", seen.get(&n));
    }
}

#[test]
fn a_vacuumed_position_resumes_after_it_with_a_warning() {
    let Some(journald) = PrivateJournald::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = probe_config(dir.path());
    let run = start_run(&config, &journald, &[]);
    write_probes(&journald, 0..10);
    journald.wait_for("judged probe 9", 1, Duration::from_secs(20));
    let (status, _) = run.stop();
    assert!(status.success());
    // While banwarden is stopped, the file holding its position is archived
    // and vacuumed; new entries come after.
    journalctl(&journald, &["--rotate"]);
    write_probes(&journald, 10..20);
    journald.wait_for("probe 19", 1, Duration::from_secs(20));
    journalctl(&journald, &["--rotate"]);
    journalctl(&journald, &["--vacuum-files=1"]);
    write_probes(&journald, 20..30);
    let run = start_run(&config, &journald, &[]);
    journald.wait_for("judged probe 29", 1, Duration::from_secs(20));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("the saved position in journal namespace") && stderr.contains("is gone"), "{stderr}");
    let seen = judged(&journald);
    for n in 20..30 {
        assert_eq!(seen.get(&n).map(|s| s.0), Some(1), "probe {n}: {:?}; {stderr}", seen.get(&n));
    }
}

/// Damaged journal files are read as far as libsystemd can: the entries it
/// cannot make sense of are skipped, the replay goes on and succeeds.
#[test]
fn a_corrupted_journal_file_is_read_around() {
    let dir = tempfile::tempdir().unwrap();
    let export = std::fs::read(root().join("examples/attack.export")).unwrap();
    let Some(journal_dir) = journal_from_export(&export, dir.path()) else { return };
    let file = std::fs::read_dir(&journal_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "journal"))
        .unwrap();
    let mut data = std::fs::read(&file).unwrap();
    let needle = b"MESSAGE=Failed password";
    let at = data.windows(needle.len()).position(|w| w == needle).expect("an entry's message in the file");
    data[at - 64..at + 448].fill(0xff);
    std::fs::write(&file, &data).unwrap();
    let out = banwarden(
        &["replay", "--config", "examples/recidive.json", "--journal-dir", journal_dir.to_str().unwrap()],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let read: u32 =
        stderr.split("replay: ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).unwrap();
    assert!((40..=49).contains(&read), "{stderr}");
}

/// Four "fail" lines for a key within `keepSeconds` log "threshold KEY";
/// "flush" logs "flushed" (all before it has been judged).
const COUNTING_CONFIG: &str = r#"{"actions": {
    "count": [
        {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "counted"}},
        {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^fail (?P<key>\\S+) keep (?P<keep>\\d+)$"}, "else": "flush"},
        {"filter": "filter_equals", "args": {"field": "keep", "value": "600"}, "else": "count short"},
        {"action": "action_counterRaise", "args": {"counter": "c", "for": "key", "keepSeconds": 600, "save": "n"}, "then": "threshold"}
    ],
    "count short": [
        {"action": "action_counterRaise", "args": {"counter": "c", "for": "key", "keepSeconds": 2, "save": "n"}, "then": "threshold"}
    ],
    "flush": [
        {"filter": "filter_equals", "args": {"field": "MESSAGE", "value": "flush"}},
        {"action": "action_log", "args": {"message": "flushed"}}
    ],
    "threshold": [
        {"filter": "filter_greaterOrEquals", "args": {"field": "n", "value": 4}},
        {"action": "action_log", "args": {"message": "threshold {key}"}}
    ]
}, "storage": "STORAGE"}"#;

#[test]
fn counters_survive_a_restart_and_expired_ones_do_not() {
    let Some(journald) = PrivateJournald::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("counting.json");
    let storage = dir.path().join("state");
    std::fs::write(&config, COUNTING_CONFIG.replace("STORAGE", storage.to_str().unwrap())).unwrap();
    let fail = |key: &str, keep: u32, times: usize| {
        for _ in 0..times {
            journald.log("counted", &format!("fail {key} keep {keep}"));
        }
    };
    let run = start_run(&config, &journald, &[]);
    fail("long", 600, 3);
    fail("short", 2, 3);
    journald.log("counted", "flush");
    journald.wait_for("flushed", 1, Duration::from_secs(10));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert!(storage.join("counters.json").exists(), "{stderr}");
    // The short-lived ticks expire while the daemon is stopped.
    std::thread::sleep(Duration::from_secs(3));
    let run = start_run(&config, &journald, &[]);
    fail("long", 600, 1);
    fail("short", 2, 1);
    journald.wait_for("threshold long", 1, Duration::from_secs(10));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("restored 1 counter keys") && stderr.contains("(1 expired meanwhile)"), "{stderr}");
    let thresholds = journald.export(&["MESSAGE"]);
    let count =
        |m: &str| thresholds.iter().filter(|e| super::journald::field(e, "MESSAGE") == Some(m.as_bytes())).count();
    assert_eq!(count("threshold long"), 1, "the 4th failure after a restart still counts");
    assert_eq!(count("threshold short"), 0, "expired ticks are not restored");
}
