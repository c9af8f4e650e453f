//! Tests of the ban store on real files.

use super::*;

const NOW: u64 = 1_763_726_400_000_000;
const HOUR: u64 = 3_600_000_000;

fn ip(text: &str) -> Network {
    text.parse().unwrap()
}

fn set(path: &str) -> SetRef {
    SetRef::parse_nft(path).unwrap()
}

fn rec(ip_text: &str, path: &str, until: Until) -> Record {
    Record { net: ip(ip_text), set: set(path), until, start: 0, by: None, why: None }
}

fn open(dir: &Path) -> BanStore {
    BanStore::open(dir, Backend::Nft).unwrap()
}

#[test]
fn ban_reban_unban_and_the_pyruse_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store
        .ban(
            &[rec("192.0.2.7", "ip t ban4", Until::At(NOW + HOUR)), rec("2001:db8::1", "ip6 t ban6", Until::Forever)],
            NOW,
        )
        .unwrap();
    // Re-banning replaces the end time: one record per (address, set).
    store.ban(&[rec("192.0.2.7", "ip t ban4", Until::At(NOW + 2 * HOUR))], NOW).unwrap();
    let live = store.live(NOW).unwrap();
    assert_eq!(
        live,
        [rec("192.0.2.7", "ip t ban4", Until::At(NOW + 2 * HOUR)), rec("2001:db8::1", "ip6 t ban6", Until::Forever)]
    );
    store.compact(NOW, true).unwrap();
    let text = std::fs::read_to_string(dir.path().join("action_nftBan.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"IP": "192.0.2.7", "nfSet": "ip t ban4", "timestamp": 1763733600.0},
            {"IP": "2001:db8::1", "nfSet": "ip6 t ban6", "timestamp": 0}
        ])
    );
    let removed =
        store.unban(&[(ip("192.0.2.7"), set("ip t ban4")), (ip("192.0.2.99"), set("ip t ban4"))], NOW).unwrap();
    assert_eq!(removed.len(), 1, "only the stored one is reported");
    // A new handle (a restart) sees the same.
    assert_eq!(open(dir.path()).live(NOW).unwrap(), [rec("2001:db8::1", "ip6 t ban6", Until::Forever)]);
}

#[test]
fn expired_bans_are_not_live_and_dropped_when_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store
        .ban(&[rec("192.0.2.1", "ip t s", Until::At(NOW + 1)), rec("192.0.2.2", "ip t s", Until::At(NOW + HOUR))], NOW)
        .unwrap();
    assert_eq!(store.live(NOW + 2).unwrap().len(), 1);
    store.compact(NOW + 2, true).unwrap();
    let text = std::fs::read_to_string(store.snapshot_path()).unwrap();
    assert!(!text.contains("192.0.2.1") && text.contains("192.0.2.2"), "{text}");
}

#[test]
fn pyruse_files_are_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("action_nftBan.py.json"),
        r#"[{"IP": "192.0.2.7", "nfSet": "Inet4 ssh_ban", "timestamp": 1763733600.5},
            {"IP": "2001:db8::1", "nfSet": "ip6 Inet6 ssh_ban", "timestamp": 0}]"#,
    )
    .unwrap();
    let mut store = open(dir.path());
    assert_eq!(
        store.live(NOW).unwrap(),
        [
            rec("192.0.2.7", "ip Inet4 ssh_ban", Until::At(1_763_733_600_500_000)),
            rec("2001:db8::1", "ip6 Inet6 ssh_ban", Until::Forever)
        ]
    );
    store.compact(NOW, true).unwrap();
    assert!(dir.path().join("action_nftBan.json").exists());
}

#[test]
fn bad_hand_written_records_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("action_nftBan.json"),
        r#"[{"IP": "192.0.2.7", "nfSet": "ip t s", "timestamp": 0},
            {"IP": "192.0.2.300", "nfSet": "ip t s", "timestamp": 0},
            {"IP": "192.0.2.8", "nfSet": "bogus t s", "timestamp": 0},
            {"IP": "192.0.2.9", "nfSet": "ip t s", "timestamp": "soon"},
            "junk",
            {"IP": 3221225994, "nfSet": "ip t s", "timestamp": 0}]"#,
    )
    .unwrap();
    let mut store = open(dir.path());
    assert_eq!(store.live(NOW).unwrap(), [rec("192.0.2.7", "ip t s", Until::Forever)]);
    let expected = [
        r#"record 1: "192.0.2.300" is not an IP address; skipped"#,
        r#"record 2: unknown nftables family "bogus" in "bogus t s""#,
        r#"record 3: no valid "timestamp" (end time in seconds, 0 for permanent); skipped"#,
        "record 4: expected an object, found a string; skipped",
        r#"record 5: no "IP" string; skipped"#,
    ];
    assert_eq!(store.warnings.len(), expected.len(), "{:#?}", store.warnings);
    for (warning, expected) in store.warnings.iter().zip(expected) {
        assert!(warning.contains(expected), "{warning:?} should contain {expected:?}");
    }
}

#[test]
fn a_hand_edit_while_open_is_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = open(dir.path());
    daemon.ban(&[rec("192.0.2.1", "ip t s", Until::Forever), rec("192.0.2.2", "ip t s", Until::Forever)], NOW).unwrap();
    daemon.compact(NOW, true).unwrap();
    // Not yet in the snapshot: only in the log.
    daemon.ban(&[rec("192.0.2.3", "ip t s", Until::Forever)], NOW).unwrap();
    // The administrator removes .1 and adds .9 by hand.
    std::fs::write(
        daemon.snapshot_path(),
        r#"[{"IP": "192.0.2.2", "nfSet": "ip t s", "timestamp": 0},
            {"IP": "192.0.2.9", "nfSet": "ip t s", "timestamp": 0}]"#,
    )
    .unwrap();
    daemon.ban(&[rec("192.0.2.4", "ip t s", Until::Forever)], NOW).unwrap();
    let ips: Vec<String> = daemon.live(NOW).unwrap().iter().map(|r| r.net.to_string()).collect();
    assert_eq!(ips, ["192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.9"]);
}

#[test]
fn a_torn_last_line_is_ignored_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.ban(&[rec("192.0.2.1", "ip t s", Until::Forever)], NOW).unwrap();
    let log = dir.path().join("action_nftBan.json.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(br#"{"op":"ban","IP":"192.0.2.2","nfS"#);
    std::fs::write(&log, bytes).unwrap();
    let mut reopened = open(dir.path());
    assert_eq!(reopened.live(NOW).unwrap(), [rec("192.0.2.1", "ip t s", Until::Forever)]);
    assert!(reopened.warnings.is_empty(), "{:?}", reopened.warnings);
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|scope| {
        for writer in 0..4u32 {
            let path = dir.path();
            scope.spawn(move || {
                let mut store = open(path);
                for i in 0..500u32 {
                    let a = format!("10.{writer}.{}.{}", i / 250, i % 250);
                    store.ban(&[rec(&a, "ip t s", Until::Forever)], NOW).unwrap();
                    if i % 100 == 0 {
                        store.compact(NOW, true).unwrap();
                    }
                }
            });
        }
    });
    assert_eq!(open(dir.path()).live(NOW).unwrap().len(), 2000);
}

#[test]
fn a_flood_rewrites_a_bounded_amount() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let started = std::time::Instant::now();
    for batch in 0..100u32 {
        let records: Vec<Record> = (0..1000u32)
            .map(|i| {
                let n = batch * 1000 + i;
                rec(&format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255), "ip t s", Until::At(NOW + HOUR))
            })
            .collect();
        store.ban(&records, NOW).unwrap();
    }
    let snapshot = std::fs::metadata(store.snapshot_path()).map(|m| m.len()).unwrap_or(0);
    let log = std::fs::metadata(dir.path().join("action_nftBan.json.log")).unwrap().len();
    eprintln!("100,000 bans in 100 batches: {:?}; snapshot {snapshot} B, log {log} B", started.elapsed());
    assert_eq!(open(dir.path()).live(NOW).unwrap().len(), 100_000);
    // The log never outgrows the snapshot (plus one batch) for long.
    assert!(log <= snapshot.max(64 * 1024) + 100_000, "log {log} B, snapshot {snapshot} B");
}

#[test]
fn an_append_after_a_torn_line_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.ban(&[rec("192.0.2.1", "ip t s", Until::Forever)], NOW).unwrap();
    // A crash in the middle of the next append: half a line.
    let log = dir.path().join("action_nftBan.json.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(br#"{"op": "ban", "IP": "192.0.2.2", "nfS"#);
    std::fs::write(&log, bytes).unwrap();
    // The restarted daemon bans again: its first record must not be glued
    // to the torn one.
    let mut restarted = open(dir.path());
    assert!(restarted.warnings.is_empty(), "a torn tail is silent: {:?}", restarted.warnings);
    restarted
        .ban(&[rec("192.0.2.3", "ip t s", Until::Forever), rec("192.0.2.4", "ip t s", Until::Forever)], NOW)
        .unwrap();
    let reread = open(dir.path());
    assert!(reread.warnings.is_empty(), "{:?}", reread.warnings);
    let ips: Vec<String> = open(dir.path()).live(NOW).unwrap().iter().map(|r| r.net.to_string()).collect();
    assert_eq!(ips, ["192.0.2.1", "192.0.2.3", "192.0.2.4"]);
}

#[test]
fn records_that_cannot_be_read_are_kept_aside_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("action_nftBan.json"),
        r#"[{"IP": "192.0.2.7", "nfSet": "ip t s", "timestamp": 0},
            {"IP": "192.0.2.9", "nfSet": "ip t s", "timestamp": "0"},
            {"IP": "192.0.2.10", "nfSet": "ip t s", "timestamp": -5}]"#,
    )
    .unwrap();
    let mut store = open(dir.path());
    assert!(store.warnings.iter().all(|w| w.contains("kept aside in")), "{:#?}", store.warnings);
    store.compact(NOW, true).unwrap();
    let rejected = std::fs::read_to_string(dir.path().join("action_nftBan.json.rejected")).unwrap();
    let lines: Vec<serde_json::Value> = rejected.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{rejected}");
    assert!(lines[0]["record"].as_str().unwrap().contains(r#""timestamp": "0""#), "verbatim: {rejected}");
    assert!(lines[1]["why"].as_str().unwrap().contains("timestamp"), "{rejected}");
    // The snapshot holds the good one; a second rewrite adds nothing there.
    store.compact(NOW, true).unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("action_nftBan.json.rejected")).unwrap(), rejected);
    assert_eq!(open(dir.path()).live(NOW).unwrap(), [rec("192.0.2.7", "ip t s", Until::Forever)]);
}

#[test]
fn a_snapshot_that_cannot_be_parsed_is_never_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("action_nftBan.json");
    // A stray brace: not JSON, even leniently.
    let broken = "[{\"IP\": \"192.0.2.7\", \"nfSet\": \"ip t s\", \"timestamp\": 0}}\n";
    std::fs::write(&path, broken).unwrap();
    let mut store = open(dir.path());
    assert!(store.warnings[0].contains("line 1, column"), "{:#?}", store.warnings);
    // New bans go on in the log, however many.
    let many: Vec<Record> =
        (0..3000).map(|i| rec(&format!("10.0.{}.{}", i / 250, i % 250), "ip t s", Until::Forever)).collect();
    store.ban(&many, NOW).unwrap();
    let err = store.compact(NOW, true).unwrap_err();
    assert!(matches!(err, StoreError::Unreadable { .. }), "{err}");
    assert!(err.to_string().contains("line 1, column"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken, "kept as it was");
    assert_eq!(open(dir.path()).live(NOW).unwrap().len(), 3000, "the log holds the new bans");
    // Once fixed by hand, it is read and rewritten as usual.
    std::fs::write(&path, "[{\"IP\": \"192.0.2.7\", \"nfSet\": \"ip t s\", \"timestamp\": 0},]\n").unwrap();
    let mut store = open(dir.path());
    assert_eq!(store.live(NOW).unwrap().len(), 3001);
    store.compact(NOW, true).unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&path).unwrap()).is_ok());
}

#[test]
fn ended_bans_stay_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.ban(&[rec("192.0.2.1", "ip t s", Until::At(NOW + 1))], NOW).unwrap();
    store.compact(NOW + 2, false).unwrap();
    let text = std::fs::read_to_string(dir.path().join("action_nftBan.json")).unwrap();
    assert!(text.contains("192.0.2.1"), "kept at boot, when the clock may be wrong: {text}");
    store.compact(NOW + 2, true).unwrap();
    let text = std::fs::read_to_string(dir.path().join("action_nftBan.json")).unwrap();
    assert!(!text.contains("192.0.2.1"), "{text}");
}

#[test]
fn a_whole_last_line_without_its_newline_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("action_nftBan.json.log");
    // Added by hand, without the final newline.
    std::fs::write(&log, r#"{"op": "ban", "IP": "192.0.2.1", "nfSet": "ip t s", "timestamp": 0}"#).unwrap();
    let mut store = open(dir.path());
    assert_eq!(store.live(NOW).unwrap().len(), 1, "read");
    store.ban(&[rec("192.0.2.2", "ip t s", Until::Forever)], NOW).unwrap();
    let ips: Vec<String> = open(dir.path()).live(NOW).unwrap().iter().map(|r| r.net.to_string()).collect();
    assert_eq!(ips, ["192.0.2.1", "192.0.2.2"], "not cut by the next append");
}

#[test]
fn a_ban_s_start_is_kept_and_caps_the_time_it_is_given_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let week = 7 * 86_400_000_000;
    let record = Record {
        net: ip("192.0.2.1"),
        set: set("ip t s"),
        until: Until::At(NOW + week),
        start: NOW,
        by: None,
        why: None,
    };
    store.ban(std::slice::from_ref(&record), NOW).unwrap();
    store.compact(NOW, true).unwrap();
    let text = std::fs::read_to_string(dir.path().join("action_nftBan.json")).unwrap();
    assert!(text.contains(&format!("\"start\": {}", NOW as f64 / 1e6)), "beside Pyruse's keys: {text}");
    let reread = open(dir.path()).live(NOW).unwrap();
    assert_eq!(reread, [record.clone()]);
    let years_before = NOW - 3 * 365 * 86_400_000_000;
    assert_eq!(
        record.time_left(years_before),
        Some(std::time::Duration::from_micros(week)),
        "never more than its length"
    );
    assert_eq!(record.time_left(NOW + week / 2), Some(std::time::Duration::from_micros(week / 2)));
    let pyruse = Record { start: 0, ..record };
    assert!(pyruse.time_left(years_before).unwrap() > std::time::Duration::from_micros(week), "no start: no cap");
}

#[test]
fn who_decided_a_ban_is_kept_beside_pyruses_keys_through_log_and_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let by = |text: &str| Some(Arc::<str>::from(text));
    let a = Record { by: by("api alice"), ..rec("192.0.2.7", "ip t ban4", Until::At(NOW + HOUR)) };
    let b = Record { by: by("rule sshd#3"), ..rec("198.51.100.0/24", "ip t ban4", Until::Forever) };
    store.ban(&[a.clone(), b.clone(), rec("192.0.2.8", "ip t ban4", Until::Forever)], NOW).unwrap();
    let log = std::fs::read_to_string(dir.path().join("action_nftBan.json.log")).unwrap();
    assert!(log.contains(r#""by": "api alice""#), "{log}");
    // Read back from the log, then from a rewritten snapshot.
    assert_eq!(open(dir.path()).lookup_record(ip("192.0.2.7")), a.by);
    store.compact(NOW, false).unwrap();
    let snapshot = std::fs::read_to_string(dir.path().join("action_nftBan.json")).unwrap();
    assert!(snapshot.contains(r#""by": "rule sshd#3""#), "{snapshot}");
    let reopened = open(dir.path());
    assert_eq!(reopened.lookup_record(ip("198.51.100.0/24")), b.by);
    assert_eq!(reopened.lookup_record(ip("192.0.2.8")), None, "no origin written, none read");
    // A "by" that is not a string, or absurdly long, is left out, not an error.
    std::fs::write(
        dir.path().join("action_nftBan.json"),
        format!(r#"[{{"IP": "192.0.2.9", "nfSet": "ip t ban4", "timestamp": 0, "by": "{}"}}]"#, "x".repeat(300)),
    )
    .unwrap();
    std::fs::write(dir.path().join("action_nftBan.json.log"), "").unwrap();
    let odd = open(dir.path());
    assert!(odd.warnings.is_empty(), "{:?}", odd.warnings);
    assert_eq!(odd.lookup_record(ip("192.0.2.9")), None);
}

impl BanStore {
    /// The origin of the one record of `net` (test helper).
    fn lookup_record(&self, net: Network) -> Option<Arc<str>> {
        self.records.of(net).first().and_then(|slot| slot.by.clone())
    }
}
