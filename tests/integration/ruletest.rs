//! Testing rules without a daemon, with the real binary: `banwarden test`
//! on the sshd example (the 5th failed login bans, counters shown line by
//! line, a forged line bans nobody, nothing written anywhere), its text
//! and JSON output, stdin on a terminal; `replay` given plain text (exit 1,
//! what it reads) or a terminal (exit 2); and `check`'s warnings about
//! rules that cannot work as written, on fixtures, and none on any shipped
//! configuration.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::{FromRawFd as _, OwnedFd};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::util::{banwarden, json_files, root, text, TestDir};

const SSHD: &str = "examples/sshd/banwarden.json";
const FAILED: &str = "Failed password for root from 203.0.113.7 port 52814 ssh2";

/// The JSON objects `test --json` printed, one per line.
fn objects(stdout: &[u8]) -> Vec<Value> {
    text(stdout).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect()
}

#[test]
fn the_fifth_failed_login_bans_with_the_counters_shown_line_by_line() {
    let stdin = format!("{FAILED}\n").repeat(5) + "\n";
    let out = banwarden(&["test", "--config", SSHD, "--unit", "sshd.service", "--json"], stdin.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = objects(&out.stdout);
    assert_eq!(lines.len(), 5, "the blank line is no entry: {lines:?}");
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        assert_eq!(line["line"], n);
        assert_eq!(line["message"], FAILED);
        assert_eq!(line["fields"]["_SYSTEMD_UNIT"], "sshd.service");
        assert_eq!(line["fields"]["SYSLOG_IDENTIFIER"], "sshd");
        assert_eq!(line["fields"]["_UID"], "0");
        assert_eq!(line["set"]["thatIP"], "203.0.113.7");
        assert_eq!(line["set"]["thatUser"], "root");
        assert_eq!(line["set"]["failures"], n.to_string());
        let path: Vec<String> = line["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{}[{}] {} {}",
                    s["chain"].as_str().unwrap(),
                    s["step"],
                    s["module"].as_str().unwrap(),
                    s["verdict"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            path[..7],
            [
                "Route sshd entries[0] filter_pcre passed",
                "Route sshd entries[1] filter_equals passed",
                "sshd failures[0] filter_pcreAny passed",
                "sshd failures[1] filter_inNetworks failed",
                "sshd count[0] action_network acted",
                "sshd count[1] action_counterRaise acted",
                &format!("sshd count[2] filter_greaterOrEquals {}", if n < 5 { "failed" } else { "passed" }),
            ]
        );
        let counter = &line["counters"][0];
        assert_eq!((counter["counter"].as_str(), counter["key"].as_str()), (Some("sshd"), Some("203.0.113.7")));
        assert_eq!(counter["threshold"], 5.0);
        if n < 5 {
            assert_eq!(line["banned"], false, "line {n}");
            assert_eq!(counter["count"], n);
            assert_eq!(line["effects"], Value::Array(vec![]));
            assert_eq!(path[7], "Route banwarden's own ban messages[0] filter_equals failed");
            assert_eq!(line["path"][6]["reason"], format!("failures is \"{n}\": not >= 5"));
        }
    }
    // The 5th: the counter reached 5 and was reset by the rule that banned.
    let fifth = &lines[4];
    assert_eq!(fifth["banned"], true);
    assert_eq!((&fifth["counters"][0]["count"], &fifth["counters"][0]["reached"]), (&Value::from(0), &Value::from(5)));
    let effects = fifth["effects"].as_array().unwrap();
    assert_eq!(effects[0]["action"], "action_nftBan");
    assert_eq!(effects[0]["IP"], "203.0.113.7");
    assert_eq!(effects[0]["set"], "inet banwarden ssh_ban4");
    assert_eq!(effects[0]["banSeconds"], 3600);
    assert_eq!(effects[1]["message"], "Ban from SSH for 203.0.113.7");
    // The ban line read back as the daemon would: the recidive counters.
    let back = &fifth["read_back"][0];
    assert_eq!(back["message"], "Ban from SSH for 203.0.113.7");
    assert_eq!(back["fields"]["_SYSTEMD_UNIT"], "banwarden.service");
    let counters: Vec<(&str, &Value)> =
        back["counters"].as_array().unwrap().iter().map(|c| (c["counter"].as_str().unwrap(), &c["count"])).collect();
    assert_eq!(counters, [("sshd bans this year", &Value::from(1)), ("sshd bans this week", &Value::from(1))]);
}

#[test]
fn text_output_shows_the_path_reasons_and_counter() {
    let out = banwarden(&["test", "--config", SSHD, "--unit", "sshd", FAILED], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in [
        &format!("line 1: {FAILED}\n"),
        "  fields the rules read: PRIORITY=6 SYSLOG_IDENTIFIER=sshd _SYSTEMD_UNIT=sshd.service _UID=0 _TRANSPORT=syslog\n",
        "    \"Route sshd entries\" step 1 filter_equals: passed (_UID is \"0\": = 0)\n",
        "    \"sshd failures\" step 0 filter_pcreAny: passed (MESSAGE: matched) -> thatUser=\"root\" thatIP=\"203.0.113.7\"\n",
        "    \"sshd count\" step 2 filter_greaterOrEquals: failed (failures is \"1\": not >= 5)\n",
        "  counter \"sshd\" for \"203.0.113.7\": 1 of 5\n",
        "  would do: nothing\n=> not banned\n",
    ] {
        assert!(stdout.contains(expected), "{expected:?} not in:\n{stdout}");
    }
}

#[test]
fn a_line_any_user_can_log_bans_nobody_and_nothing_is_written() {
    let dir = TestDir::new();
    let config = std::fs::read_to_string(root().join(SSHD)).unwrap().replace("/var/lib/banwarden", "STORAGE");
    dir.config(&config);
    // `logger -t sshd`, five times, then the same as the real service with
    // the counters of a config whose storage does not exist yet.
    let stdin = format!("{FAILED}\n").repeat(5);
    let out = dir.banwarden(&["test", "--identifier", "sshd", "--json"], stdin.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    for line in objects(&out.stdout) {
        assert_eq!(line["banned"], false, "{line}");
        assert_eq!(line["fields"]["_SYSTEMD_UNIT"], "session-1.scope");
        assert_eq!(line["path"][0]["verdict"], "failed");
    }
    let out = dir.banwarden(&["test", "--unit", "sshd.service", "--counters", "saved", "--json"], stdin.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no saved counters at"), "{}", text(&out.stderr));
    assert_eq!(objects(&out.stdout).last().unwrap()["banned"], true);
    // A test bans in no store, no kernel: not even the storage directory.
    assert!(!dir.storage().exists(), "test made {}", dir.storage().display());
}

#[test]
fn saved_counters_are_taken_when_asked() {
    let dir = TestDir::new();
    let config = std::fs::read_to_string(root().join(SSHD)).unwrap().replace("/var/lib/banwarden", "STORAGE");
    dir.config(&config);
    std::fs::create_dir(dir.storage()).unwrap();
    // Four failures of 203.0.113.7 saved, alive forever.
    let saved = r#"{"version":1,"categories":{"sshd":{"203.0.113.7":{"ticks":[null,null,null,null]}}}}"#;
    std::fs::write(dir.storage().join("counters.json"), saved).unwrap();
    let out = dir.banwarden(&["test", "--unit", "sshd.service", "--counters", "saved", "--json", FAILED], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(objects(&out.stdout)[0]["banned"], true, "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("1 counter keys taken from"), "{}", text(&out.stderr));
    // Counters start empty otherwise.
    let out = dir.banwarden(&["test", "--unit", "sshd.service", "--json", FAILED], b"");
    assert_eq!(objects(&out.stdout)[0]["counters"][0]["count"], 1);
    // The file is only read.
    assert_eq!(std::fs::read_to_string(dir.storage().join("counters.json")).unwrap(), saved);
}

#[test]
fn fields_given_replace_the_service_s() {
    let out = banwarden(
        &[
            "test",
            "--config",
            SSHD,
            "--unit",
            "sshd.service",
            "--field",
            "_UID=33",
            "--field",
            "NOBODY_READS=1",
            "--json",
            FAILED,
        ],
        b"",
    );
    assert!(out.status.success());
    let line = &objects(&out.stdout)[0];
    assert_eq!(line["path"][1]["reason"], "_UID is \"33\": not = 0");
    assert_eq!(line["banned"], false);
    assert!(
        text(&out.stderr).contains("--field NOBODY_READS: no rule reads \"NOBODY_READS\""),
        "{}",
        text(&out.stderr)
    );
    let bad = banwarden(&["test", "--config", SSHD, "--field", "no-equals", FAILED], b"");
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("is not NAME=VALUE"), "{}", text(&bad.stderr));
}

/// A pseudo-terminal: the child's stdin, and the side the test types on.
fn terminal() -> (File, File) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills both descriptors, which nothing else owns.
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both were just opened and are owned here only.
    unsafe { (File::from(OwnedFd::from_raw_fd(master)), File::from(OwnedFd::from_raw_fd(slave))) }
}

/// Runs banwarden with a terminal as stdin, typing `typed` on it.
fn on_terminal(args: &[&str], typed: &[u8]) -> std::process::Output {
    let (mut master, slave) = terminal();
    let child = Command::new(env!("CARGO_BIN_EXE_banwarden"))
        .args(args)
        .current_dir(root())
        .stdin(slave)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("banwarden starts");
    master.write_all(typed).unwrap();
    let out = child.wait_with_output().expect("banwarden runs");
    // The master stayed open until the child was done, so that it saw no
    // hang-up.
    drop(master);
    out
}

#[test]
fn on_a_terminal_test_says_it_reads_lines_and_replay_refuses() {
    // A line, then Ctrl-D at the start of a line: the end of input.
    let out = on_terminal(&["test", "--config", SSHD, "--unit", "sshd.service"], format!("{FAILED}\n\x04").as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("reading log lines from standard input, one entry per line; Ctrl-D to end"));
    assert!(text(&out.stdout).starts_with(&format!("line 1: {FAILED}\n")), "{}", text(&out.stdout));
    let out = on_terminal(&["replay", "--config", SSHD], b"");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("replay reads recorded entries: give --input FILE") && stderr.contains("banwarden test"),
        "{stderr}"
    );
}

#[test]
fn replay_of_plain_text_says_what_it_reads_and_fails() {
    let out = banwarden(&["replay", "--config", SSHD], format!("{FAILED}\n{FAILED}\n").as_bytes());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("truncated binary field"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: no entry read: the input is neither journal export format nor JSON lines: its first line starts \"{FAILED}\""
        )),
        "{stderr}"
    );
    assert!(stderr.contains("use banwarden test"), "{stderr}");
    assert!(out.stdout.is_empty());
    // Recorded entries are read as before; an empty input is no error.
    let out = banwarden(&["replay", "--config", SSHD, "--input", "-"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn check_warns_about_a_pasted_configuration_where_nginx_never_bans() {
    let out = banwarden(&["check", "--config", "tests/fixtures/lint-sshd-and-nginx-pasted.json"], b"");
    assert!(out.status.success(), "warnings do not fail check: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for chain in ["Route nginx's error log", "Route nginx's access log"] {
        assert!(
            stderr.contains(&format!(
                "warning: chain {chain:?}: no entry can reach this chain: the chains before it end every entry (the last one tried is \"Discard everything else\""
            )),
            "{chain}: {stderr}"
        );
    }
    assert!(
        text(&out.stdout)
            .contains(": valid: 14 chains, 46 steps (46 linked nodes), 10 regexes (0 backtracking); 3 warning(s)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_warns_about_fields_placeholders_and_pyruse_routes_with_their_place() {
    let dir = TestDir::new();
    dir.config(
        r#"{"actions": {
            "Route own": [{"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "pyruse"}, "then": "recidive"}],
            "Route sshd": [{"filter": "filter_equals", "args": {"field": "_SYSTEMD_UNIT", "value": "sshd.service"}, "then": "sshd"}],
            "Rest": [{"action": "action_noop"}],
            "sshd": [
                {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed .* from (?P<thatIP>\\S+) port"}},
                {"action": "action_nftBan", "args": {"IP": "thatIPP", "nftSetIPv4": "inet t s4", "nftSetIPv6": "inet t s6"}},
                {"action": "action_log", "args": {"message": "Ban from SSH for {thatIP} ({user})"}}],
            "recidive": [
                {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Ban from SSH for (?P<thatIP>\\S+)"}},
                {"action": "action_nftBan", "args": {"IP": "thatIP", "nftSetIPv4": "inet t s4", "nftSetIPv6": "inet t s6"}}]
          }, "storage": "STORAGE"}"#,
    );
    let out = dir.banwarden(&["check"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for expected in [
        r#"warning: chain "sshd", step 1 (action_nftBan), arg "IP": field "thatIPP" is read here but can never be set: no filter captures it and no action writes it, and journald only writes upper-case names; nearest known: "thatIP""#,
        r#"warning: chain "sshd", step 2 (action_log), arg "message": placeholder {user} can never be set here, so it renders as "None""#,
        r#"warning: chain "Route own", step 0 (filter_equals), arg "value": routes on SYSLOG_IDENTIFIER "pyruse", which Pyruse's own lines carried, but banwarden writes its lines as "banwarden""#,
    ] {
        assert!(stderr.contains(expected), "{expected}\nnot in:\n{stderr}");
    }
}

#[test]
fn no_shipped_configuration_draws_a_warning() {
    let mut files = json_files(&root().join("examples"));
    files.retain(|f| !f.ends_with("openapi.json"));
    files.push(root().join("etc/banwarden/banwarden.json"));
    for file in files {
        let text_of = std::fs::read_to_string(&file).unwrap();
        // Only configurations (the examples folder also holds other JSON).
        if !text_of.contains("\"actions\"") {
            continue;
        }
        let out = banwarden(&["check", "--config", file.to_str().unwrap()], b"");
        assert!(out.status.success(), "{}: {}", file.display(), text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "{}", file.display());
    }
}
