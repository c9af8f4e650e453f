//! Output into a pipe whose reader goes away: `banwarden list | head -1`.
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with EPIPE
//! instead of killing the process; `println!` turns that into a panic (exit
//! 101 and a backtrace on the administrator's terminal), `?` into an error
//! line. A reader that has seen enough is no error: each command here must
//! stop writing and exit 0, quietly. The output is made far larger than a
//! pipe's buffer (64 KiB on Linux, pipe(7)), so the command is still writing
//! when the test closes its end after one line.
//!
//! `list` reads the kernel sets too, so it runs in a network namespace of
//! its own ([`Netns`], root only; skipped otherwise) on a store written by
//! hand; `replay` touches no kernel and runs anywhere.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::bans::Netns;
use super::util::text;

/// Bans in the hand-written store: about 650 KB of `list` output, ten
/// pipe buffers.
const BANS: u32 = 5_000;

const RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 600}}
]}, "storage": "STORAGE"}"#;

/// What the command did once the test had read one line and closed its end.
struct Cut {
    first_line: String,
    status: ExitStatus,
    stderr: String,
}

/// Runs `command` with stdout into a pipe, reads one line, closes the pipe,
/// and waits (at most a minute) for the command to end.
fn read_one_line_then_close(command: &mut Command) -> Cut {
    let mut child = command
        // So that a panic shows what an administrator would see.
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("banwarden starts");
    let mut stderr_pipe = child.stderr.take().expect("stderr piped");
    let stderr = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut all);
        text(&all)
    });
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout piped"));
    let mut first_line = String::new();
    stdout.read_line(&mut first_line).expect("one line read");
    drop(stdout);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitpid") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running a minute after its stdout was closed; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Cut { first_line, status, stderr: stderr.join().expect("stderr reader") }
}

/// Exit 0, and nothing on stderr that speaks of a panic.
fn assert_quiet_success(what: &str, cut: &Cut) {
    let panicked = ["panicked", "RUST_BACKTRACE", "stack backtrace"].iter().any(|s| cut.stderr.contains(s));
    assert!(
        cut.status.success() && !panicked,
        "{what} with its stdout closed after one line: {} (expected exit 0, no panic); stderr:\n{}",
        cut.status,
        cut.stderr
    );
}

/// A namespace whose store holds [`BANS`] bans of `ip banwarden ban4` that
/// the kernel set does not have (so `list` has a row and a note for each).
fn namespace_with_many_stored_bans() -> Option<Netns> {
    let ns = Netns::new(RULES)?;
    let until = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 86_400;
    let records: Vec<serde_json::Value> = (0..BANS)
        .map(|i| {
            serde_json::json!({
                "IP": format!("10.1.{}.{}", i / 250, i % 250 + 1),
                "nfSet": "ip banwarden ban4",
                "timestamp": until,
            })
        })
        .collect();
    std::fs::create_dir_all(ns.storage()).unwrap();
    std::fs::write(ns.storage().join("action_nftBan.json"), serde_json::to_vec(&records).unwrap()).unwrap();
    Some(ns)
}

fn list_in(ns: &Netns, json: bool) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_banwarden"), "list", "--config"]).arg(&ns.config);
    if json {
        command.arg("--json");
    }
    command
}

#[test]
fn list_into_a_pipe_closed_after_one_line_exits_0_without_a_panic() {
    let Some(ns) = namespace_with_many_stored_bans() else { return };
    let cut = read_one_line_then_close(&mut list_in(&ns, false));
    assert!(cut.first_line.starts_with("ADDRESS "), "the table's header first: {:?}", cut.first_line);
    assert_quiet_success("banwarden list", &cut);
}

#[test]
fn list_json_into_a_pipe_closed_after_one_line_exits_0_without_a_panic() {
    let Some(ns) = namespace_with_many_stored_bans() else { return };
    let cut = read_one_line_then_close(&mut list_in(&ns, true));
    assert!(cut.first_line.contains(r#""in_store":true"#), "a ban first: {:?}", cut.first_line);
    assert_quiet_success("banwarden list --json", &cut);
}

#[test]
fn replay_into_a_pipe_closed_after_one_line_exits_0_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let storage = dir.path().join("state");
    std::fs::write(&config, RULES.replace("STORAGE", storage.to_str().unwrap())).unwrap();
    // 20,000 attackers, one ban each: about 3 MB of effects on stdout.
    // (examples/attack.export has 49 entries, whose effects fit in a pipe's
    // buffer: its replay would never meet the closed pipe.)
    let input = dir.path().join("attack.jsonl");
    let mut lines = String::new();
    for i in 0..20_000u64 {
        lines.push_str(&format!(
            "{{\"__REALTIME_TIMESTAMP\":\"{}\",\"MESSAGE\":\"Failed password for root from 10.2.{}.{} port 22 ssh2\"}}\n",
            1_763_726_400_000_000 + i * 1_000,
            i / 250,
            i % 250 + 1
        ));
    }
    std::fs::write(&input, lines).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_banwarden"));
    command.arg("replay").arg("--config").arg(&config).arg("--input").arg(&input);
    let cut = read_one_line_then_close(&mut command);
    assert!(cut.first_line.contains("action_nftBan"), "a ban first: {:?}", cut.first_line);
    assert_quiet_success("banwarden replay", &cut);
}
