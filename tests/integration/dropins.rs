//! Configuration drop-ins (`banwarden.d/*.json` beside the main file) and
//! comments in JSON, through the real binary: `check` reads and names them,
//! a running daemon takes a new drop-in at SIGHUP and its chains judge the
//! next entries, a broken one is refused with its file named.

use std::process::Command;
use std::time::Duration;

use super::journald::PrivateJournald;
use super::util::{banwarden, text, Daemon};

/// The main file: comments, a catch-all at the end, as the shipped one.
const MAIN: &str = r#"{
    // Probes of the "main" kind are logged by the main file.
    "actions": {
        "Main probes": [
            {"filter": "filter_equals", "args": {"field": "PROBE_KIND", "value": "main"}},
            {"action": "action_log", "args": {"message": "main saw {PROBE_TAG}"}}
        ],
        /* Everything else ends here: a drop-in must come before. */
        "Discard everything else": [{"action": "action_noop"}]
    },
    "storage": "STORAGE"
}"#;

const DROPIN: &str = r#"// Probes of the "extra" kind, added by a drop-in.
{
    "before": "Discard everything else",
    "actions": {
        "Extra probes": [
            {"filter": "filter_equals", "args": {"field": "PROBE_KIND", "value": "extra"}},
            {"action": "action_log", "args": {"message": "drop-in saw {PROBE_TAG}"}}
        ]
    }
}"#;

fn probe(journald: &PrivateJournald, kind: &str, tag: &str) {
    journald.write(&[
        ("MESSAGE", b"probe"),
        ("SYSLOG_IDENTIFIER", b"probe"),
        ("PROBE_KIND", kind.as_bytes()),
        ("PROBE_TAG", tag.as_bytes()),
    ]);
}

#[test]
fn check_reads_the_drop_ins_in_order_and_names_the_file_of_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("banwarden.json");
    std::fs::write(&config, MAIN.replace("STORAGE", dir.path().join("state").to_str().unwrap())).unwrap();
    let dropins = dir.path().join("banwarden.d");
    std::fs::create_dir(&dropins).unwrap();
    std::fs::write(dropins.join("10-extra.json"), DROPIN).unwrap();
    std::fs::write(dropins.join("README"), "not read").unwrap();
    let out = banwarden(&["check", "--config", config.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains(", with 1 drop-in(s): 10-extra.json: valid: 3 chains"), "{said}");

    std::fs::write(dropins.join("20-broken.json"), r#"{"email": {}, "actions": {"Extra probes": []}}"#).unwrap();
    let out = banwarden(&["check", "--config", config.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    let broken = dropins.join("20-broken.json");
    let stderr = text(&out.stderr);
    for expected in [
        format!("error: in {}, key \"email\": a drop-in holds chains only", broken.display()),
        format!(
            "error: in {}, chain \"Extra probes\": chain already defined in {}",
            broken.display(),
            dropins.join("10-extra.json").display()
        ),
    ] {
        assert!(stderr.contains(&expected), "{expected}\nnot in:\n{stderr}");
    }

    std::fs::write(&broken, "{ /* never closed").unwrap();
    let out = banwarden(&["check", "--config", config.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}: line 1, column 3: a comment opened with /* is never closed", broken.display())),
        "{stderr}"
    );
}

#[test]
fn a_drop_in_added_then_sighup_judges_the_next_entries() {
    let Some(journald) = PrivateJournald::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("banwarden.json");
    std::fs::write(&config, MAIN.replace("STORAGE", dir.path().join("state").to_str().unwrap())).unwrap();
    let daemon = Daemon::start(Command::new(env!("CARGO_BIN_EXE_banwarden")).args([
        "run",
        "--config",
        config.to_str().unwrap(),
        "--journal-namespace",
        journald.namespace(),
    ]));
    probe(&journald, "main", "m1");
    probe(&journald, "extra", "e1");
    journald.wait_for("main saw m1", 1, Duration::from_secs(10));

    let dropins = dir.path().join("banwarden.d");
    std::fs::create_dir(&dropins).unwrap();
    std::fs::write(dropins.join("10-extra.json"), DROPIN).unwrap();
    daemon.signal(libc::SIGHUP);
    assert!(daemon.wait_for_stderr("with 1 drop-in(s): 10-extra.json:", 1, 10), "{}", daemon.stderr_so_far());
    probe(&journald, "extra", "e2");
    probe(&journald, "main", "m2");
    journald.wait_for("drop-in saw e2", 1, Duration::from_secs(10));
    journald.wait_for("main saw m2", 1, Duration::from_secs(10));

    // A broken drop-in is refused; the running rules, drop-in included, stay.
    std::fs::write(dropins.join("20-broken.json"), r#"{"after": "No such chain", "actions": {}}"#).unwrap();
    daemon.signal(libc::SIGHUP);
    assert!(daemon.wait_for_stderr("reload rejected", 1, 10), "{}", daemon.stderr_so_far());
    probe(&journald, "extra", "e3");
    journald.wait_for("drop-in saw e3", 1, Duration::from_secs(10));

    let (status, stderr) = daemon.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("no chain \"No such chain\""), "{stderr}");
    // e1 came before the drop-in: nothing judged it but the catch-all.
    let logged: Vec<_> = journald
        .export(&["MESSAGE"])
        .iter()
        .filter_map(|e| super::journald::field(e, "MESSAGE").map(|m| String::from_utf8_lossy(m).into_owned()))
        .filter(|m| m.contains(" saw "))
        .collect();
    assert_eq!(logged, ["main saw m1", "drop-in saw e2", "main saw m2", "drop-in saw e3"]);
}
