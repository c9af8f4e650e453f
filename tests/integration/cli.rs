//! The real binary, driven as an administrator would.

use super::util::{banwarden, golden, json_files, root, text, TestDir};

#[test]
fn every_shipped_configuration_is_valid() {
    let mut files = json_files(&root().join("examples"));
    files.extend(json_files(&root().join("etc")));
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let out = banwarden(&["check", "--config", file.to_str().unwrap()], b"");
        assert!(out.status.success(), "{}: {}", file.display(), text(&out.stderr));
        assert!(text(&out.stdout).contains(": valid: "), "{}", text(&out.stdout));
        assert!(!text(&out.stderr).contains("error"), "{}: {}", file.display(), text(&out.stderr));
    }
}

#[test]
fn check_lists_every_problem_and_exits_2() {
    let dir = TestDir::new();
    dir.config(
        r#"{"actions": {
            "a": [{"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "(?P<ip>"}, "then": "nowhere"}],
            "b": [{"action": "action_ban"}, {"filter": "filter_equals", "args": {"field": "x"}}]
        }}"#,
    );
    let out = dir.banwarden(&["check"], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 4, "{stderr}");
    assert!(errors[0].starts_with(r#"error: chain "a", step 0 (filter_pcre), arg "re": "#), "{stderr}");
    assert!(
        errors[1].contains(r#"unknown action "action_ban"; nearest known: "action_log", "action_nftBan""#),
        "{stderr}"
    );
    assert!(
        errors[2].contains(r#"chain "b", step 1 (filter_equals), arg "value": missing mandatory argument"#),
        "{stderr}"
    );
    assert!(errors[3].contains(r#"arg "then": no chain is labelled "nowhere""#), "{stderr}");
    assert!(stderr.contains("invalid: 4 error(s)"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn check_reports_malformed_json_with_its_position() {
    let dir = TestDir::new();
    dir.config("{\n  \"actions\": {\n    \"a\": [\n  }\n}\n");
    let out = dir.banwarden(&["check"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("config.json: line 4, column 3: "), "{}", text(&out.stderr));
}

#[test]
fn check_of_a_missing_file_exits_2() {
    let out = banwarden(&["check", "--config", "/nonexistent/banwarden.json"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/banwarden.json"), "{}", text(&out.stderr));
}

#[test]
fn bad_usage_exits_2() {
    let out = banwarden(&["replay", "--no-such-flag"], b"");
    assert_eq!(out.status.code(), Some(2));
}

/// The demo: the recorded attack through examples/recidive.json. Each
/// stage of the escalation appears in order: 1 h bans, the 30-day ban on
/// the third ban in a week, the permanent ban on the fourth in a year.
#[test]
fn replay_of_the_demo_attack() {
    let out = banwarden(&["replay", "--config", "examples/recidive.json", "--input", "examples/attack.export"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    golden("recidive-attack.jsonl", &stdout);
    let bans: Vec<&str> = stdout.lines().filter(|l| l.contains("action_nftBan")).collect();
    let for_attacker: Vec<&str> = bans.iter().copied().filter(|l| l.contains("\"203.0.113.50\"")).collect();
    assert_eq!(for_attacker.len(), 6, "4 hourly bans, one 30-day ban, one permanent: {stdout}");
    assert!(for_attacker[3].contains("\"banSeconds\":2592000"), "{}", for_attacker[3]);
    assert!(for_attacker[5].contains("\"banSeconds\":null"), "the last is permanent: {}", for_attacker[5]);
    // Counted and banned by its /64 (action_network).
    assert!(bans.iter().any(|l| l.contains("\"2001:db8::/64\"") && l.contains("ip6 banwarden ssh_ban6")));
    assert!(bans.iter().any(|l| l.contains("\"198.51.100.77\"") && l.contains("ip banwarden ssh_ban4")));
    assert!(!stdout.contains("192.168.1.10"), "allow-listed");
    assert!(!stdout.contains("198.51.100.23"), "below the threshold");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("replay: 49 entries read, 0 malformed skipped"), "{stderr}");
}

#[test]
fn replay_reads_json_lines_binary_values_and_skips_garbage() {
    let config = r#"{"actions": {"sshd": [
        {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Invalid user (?P<user>\\S+) from (?P<ip>\\S+)"}},
        {"action": "action_log", "args": {"message": "user {user} from {ip} at {__REALTIME_TIMESTAMP}"}}
    ]}}"#;
    let dir = TestDir::new();
    dir.config(config);
    // "josé" in ISO-8859-1, as journalctl -o json prints a non-UTF-8 value.
    let latin1: Vec<String> = b"Invalid user jos\xe9 from 192.0.2.1 port 22".iter().map(|b| b.to_string()).collect();
    let input = format!(
        "{{\"__REALTIME_TIMESTAMP\":\"1763726400000000\",\"MESSAGE\":[{}]}}\nnot json at all\n{{\"__REALTIME_TIMESTAMP\":\"1763726401000000\",\"MESSAGE\":\"Invalid user bob from 192.0.2.2 port 22\"}}\n",
        latin1.join(",")
    );
    let out = dir.banwarden(&["replay"], input.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].contains("user josé from 192.0.2.1 at 2025-11-21 "), "{}", lines[0]);
    assert!(lines[1].contains("user bob from 192.0.2.2"), "{}", lines[1]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("2 entries read, 1 malformed skipped"), "{stderr}");
}

#[test]
fn replay_trace_shows_each_step() {
    let out = banwarden(
        &["replay", "--trace", "--config", "examples/recidive.json", "--input", "examples/attack.export"],
        b"",
    );
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    let first = stderr.lines().find(|l| l.starts_with("entry 1: ")).expect("a trace line per entry");
    assert_eq!(
        first,
        r#"entry 1: "Route sshd entries"[0] filter_equals fail -> "Route banwarden's own entries"[0] filter_equals fail -> "Discard everything else"[0] action_noop done"#
    );
    assert!(
        stderr.lines().any(|l| l.starts_with("entry ")
            && l.contains("(logged): ")
            && l.contains(r#""sshd recidive"[0] filter_pcre pass"#)),
        "{stderr}"
    );
}

#[test]
fn a_hostile_line_is_an_error_for_its_entry_only() {
    let config = r#"{"actions": {"a": [
        {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "from (?P<ip>\\S+)$"}},
        {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "t s4", "nftSetIPv6": "ip6 t s6"}}
    ]}}"#;
    let dir = TestDir::new();
    dir.config(config);
    let input = "{\"MESSAGE\":\"login from 1.2.3.4;reboot\"}\n{\"MESSAGE\":\"login from 192.0.2.9\"}\n";
    let out = dir.banwarden(&["replay"], input.as_bytes());
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "{\"action\":\"action_nftBan\",\"IP\":\"192.0.2.9\",\"set\":\"ip t s4\",\"banSeconds\":null}\n"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(r#"error: chain "a", step 1 (action_nftBan): field "ip" holds "1.2.3.4;reboot", which is not an IP address; entry stopped"#),
        "{stderr}"
    );
}

#[test]
fn never_ban_addresses_are_refused() {
    let config = r#"{"actions": {"a": [
        {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "from (?P<ip>\\S+)$"}},
        {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "t s4", "nftSetIPv6": "ip6 t s6", "banSeconds": 60}}
    ]}, "neverBan": ["127.0.0.0/8", "::1", "192.0.2.0/28"]}"#;
    let dir = TestDir::new();
    dir.config(config);
    let input = "{\"MESSAGE\":\"login from 127.0.0.1\"}\n{\"MESSAGE\":\"login from 192.0.2.3\"}\n{\"MESSAGE\":\"login from 192.0.2.99\"}\n";
    let out = dir.banwarden(&["replay"], input.as_bytes());
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "{\"action\":\"action_nftBan\",\"IP\":\"192.0.2.99\",\"set\":\"ip t s4\",\"banSeconds\":60}\n"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("127.0.0.1 is on the never-ban list"), "{stderr}");
    assert!(stderr.contains("192.0.2.3 is on the never-ban list"), "{stderr}");
}

#[test]
fn migrate_imports_pyruse_stores_and_leaves_them_alone() {
    let dir = TestDir::new();
    let pyruse = dir.path().join("pyruse");
    std::fs::create_dir(&pyruse).unwrap();
    let far = 4_000_000_000u64; // 2096: live
    std::fs::write(
        pyruse.join("action_nftBan.py.json"),
        format!(
            r#"[{{"IP": "192.0.2.7", "nfSet": "Inet4 ssh_ban", "timestamp": {far}.5}},
                {{"IP": "2001:db8::1", "nfSet": "ip6 Inet6 ssh_ban", "timestamp": 0}},
                {{"IP": "192.0.2.8", "nfSet": "Inet4 ssh_ban", "timestamp": 1000000000}},
                {{"IP": "not an address", "nfSet": "Inet4 ssh_ban", "timestamp": 0}}]"#
        ),
    )
    .unwrap();
    std::fs::write(
        pyruse.join("action_ipsetBan.py.json"),
        r#"[{"IP": "198.51.100.1", "ipSet": "mail_ban4", "timestamp": 0}]"#,
    )
    .unwrap();
    let before: Vec<_> = std::fs::read_dir(&pyruse).unwrap().map(|e| e.unwrap().file_name()).collect();
    let storage = dir.storage();
    dir.config(r#"{"actions": {"a": [{"action": "action_noop"}]}, "storage": "STORAGE"}"#);
    let run = || dir.banwarden(&["migrate", "--from-pyruse", pyruse.to_str().unwrap()], b"");
    let out = run();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("action_nftBan.py.json: 2 bans imported")
            && stdout.contains("(1 permanent), 1 expired left out"),
        "{stdout}"
    );
    assert!(stdout.contains("action_ipsetBan.py.json: 1 bans imported"), "{stdout}");
    assert!(
        stderr.contains("pyruse/action_nftBan.py.json: record 3: \"not an address\" is not an IP address"),
        "{stderr}"
    );
    // Pyruse's directory is as it was; ours has the bans, normalised.
    let after: Vec<_> = std::fs::read_dir(&pyruse).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before.len(), after.len());
    let mut ours = std::fs::read_to_string(storage.join("action_nftBan.json")).unwrap_or_default();
    ours.push_str(&std::fs::read_to_string(storage.join("action_nftBan.json.log")).unwrap_or_default());
    assert!(ours.contains(r#""IP": "192.0.2.7", "nfSet": "ip Inet4 ssh_ban", "timestamp": 4000000000.5"#), "{ours}");
    assert!(!ours.contains("192.0.2.8"), "expired: {ours}");
    // Twice: the same records, no duplicates.
    assert!(run().status.success());
    let ours = std::fs::read_to_string(storage.join("action_nftBan.json.log")).unwrap();
    assert_eq!(
        ours.lines().filter(|l| l.contains("192.0.2.7")).count(),
        1,
        "the same end is in place already: nothing written again, one record per address and set: {ours}"
    );
}

/// The shipped configuration, replayed: five failures ban for an hour, the
/// third ban in a week for 30 days, the sixth in a year for good. The
/// recidive route reads banwarden's own lines on trusted fields, which
/// replay gives fed-back lines as the service's would have them; a forged
/// line (syslog, another unit, a user's process in sshd's unit) and a LAN
/// address change nothing.
#[test]
fn the_default_configuration_escalates_in_a_replay() {
    let mut log = String::new();
    let mut t = 1_763_726_400_000_000u64;
    let mut line = |unit: &str, uid: u32, transport: &str, identifier: &str, message: &str| {
        t += 1_000_000;
        log.push_str(
            &serde_json::json!({
                "__REALTIME_TIMESTAMP": t.to_string(), "_SYSTEMD_UNIT": unit, "_UID": uid.to_string(),
                "_TRANSPORT": transport, "SYSLOG_IDENTIFIER": identifier, "MESSAGE": message,
            })
            .to_string(),
        );
        log.push('\n');
    };
    line("user@1000.service", 1000, "syslog", "banwarden", "Ban from SSH for 198.51.100.66");
    line("banwarden.service", 0, "syslog", "banwarden", "Ban from SSH for 198.51.100.66");
    for round in 0..6 {
        for port in 0..5 {
            line(
                "ssh.service",
                0,
                "syslog",
                "sshd-session",
                &format!("Failed password for root from 203.0.113.7 port {port} ssh2"),
            );
            line(
                "ssh.service",
                0,
                "syslog",
                "sshd",
                &format!("Failed password for admin from 192.168.1.{round} port {port} ssh2"),
            );
        }
        // Not sshd's unit, or not root in it (a user's shell in ssh.service
        // with `UsePAM no`): not counted.
        line("cron.service", 0, "syslog", "sshd", "Failed password for root from 198.51.100.77 port 1 ssh2");
        for port in 0..5 {
            let forged = format!("Failed password for root from 198.51.100.78 port {port} ssh2");
            line("ssh.service", 1000, "syslog", "sshd", &forged);
        }
    }
    let out = banwarden(&["replay", "--config", "etc/banwarden/banwarden.json"], log.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bans: Vec<(String, Option<u64>)> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["action"] == "action_nftBan")
        .map(|v| (v["IP"].as_str().unwrap().to_owned(), v["banSeconds"].as_u64()))
        .collect();
    let hour = Some(3600);
    let month = Some(2_592_000);
    let ip = |s: Option<u64>| ("203.0.113.7".to_owned(), s);
    assert_eq!(
        bans,
        vec![ip(hour), ip(hour), ip(hour), ip(month), ip(hour), ip(month), ip(hour), ip(month), ip(hour), ip(None)]
    );
}

/// The benchmark corpus (benches/corpus.py): the same seed gives the same
/// bytes, its three forms hold the same entries, and replay counts what
/// its manifest says (benches/test_corpus.py; its fail2ban check runs only
/// where fail2ban is installed).
#[test]
fn the_benchmark_corpus_is_deterministic_and_consistent() {
    let out = std::process::Command::new("python3")
        .arg(root().join("benches/test_corpus.py"))
        .env("BANWARDEN_BIN", env!("CARGO_BIN_EXE_banwarden"))
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn hash_password_makes_what_the_api_accepts_and_plain_text_is_refused() {
    let out = banwarden(&["hash-password"], b"correct horse battery\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let hash = text(&out.stdout).trim().to_owned();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    let empty = banwarden(&["hash-password"], b"\n");
    assert_eq!(empty.status.code(), Some(2), "an empty password is refused");

    let dir = TestDir::new();
    let config = |users: &str| {
        format!(
            r#"{{"api": {{"http": ["127.0.0.1:8080", "unix:/run/banwarden/api.sock"], "users": {users}}},
                "actions": {{"a": [{{"action": "action_noop"}}]}}}}"#
        )
    };
    dir.config(&config(&format!(r#"{{"alice": "{hash}"}}"#)));
    let out = dir.banwarden(&["check"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("warning"), "{}", text(&out.stderr));

    dir.config(&config(r#"{"alice": "correct horse battery"}"#));
    let out = dir.banwarden(&["check"], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(r#"key "api", arg "users": user "alice": not an argon2 password hash"#), "{stderr}");
    assert!(stderr.contains("banwarden hash-password"), "{stderr}");
    assert!(!stderr.contains("correct horse"), "the password is not echoed: {stderr}");

    dir.config(&config("{}"));
    let stderr = text(&dir.banwarden(&["check"], b"").stderr);
    assert!(stderr.contains("the TCP listener 127.0.0.1:8080 needs users"), "{stderr}");
}
