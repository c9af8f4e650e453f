//! The API servers' configuration and sockets with the real daemon, in a
//! network namespace of the test's own: `check --kernel` checks the sets
//! of `api.sets` like the rules' own; `run` serves its Unix sockets with
//! their modes, keeps them over a reload, removes them at stop, and fails
//! to start, naming it, when a listener cannot be opened.

use super::bans::{ok, Netns};
use super::journald::PrivateJournald;
use super::util::text;

#[test]
fn check_kernel_checks_the_api_sets_for_timeouts_and_networks() {
    let config = r#"{"api": {"http": ["unix:/run/banwarden-test/api.sock"],
        "sets": [{"target": "drop", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden api6"},
                 {"target": "accept", "chain": "forward", "ipSetIPv4": "bwtest_allow4"}]},
      "actions": {"a": [{"action": "action_noop"}]}, "storage": "STORAGE"}"#;
    let Some(ns) = Netns::new(config) else { return };
    ns.nft_script("table ip6 banwarden { set api6 { type ipv6_addr; flags interval, timeout; }; }");
    ok(&ns.banwarden(&["check"]));
    let out = ns.banwarden(&["check", "--kernel"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let expected = [
        // ban4 has timeouts but takes single addresses only, and a request may name a network.
        r#"nftables set "ip banwarden ban4" takes single addresses only, but it receives networks here"#,
        r#"(used at api.sets[0])"#,
        r#"ipset "bwtest_allow4" does not exist; create it with: ipset create bwtest_allow4 hash:net family inet timeout 0 maxelem 1048576 (used at api.sets[1])"#,
    ];
    for line in expected {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
    assert!(stderr.contains("kernel: 2 set problem(s)"), "api6 is suitable: {stderr}");
}

/// The daemon with `api` and `resp` on Unix sockets of the test's own.
fn serving(dir: &std::path::Path) -> String {
    format!(
        r#"{{"api": {{"http": ["unix:{0}/api.sock"], "socket": {{"mode": "0600"}}}},
            "resp": {{"listen": ["unix:{0}/resp.sock"]}},
            "actions": {{"a": [{{"action": "action_noop"}}]}}, "storage": "STORAGE"}}"#,
        dir.display()
    )
}

#[test]
fn the_daemon_serves_its_sockets_reloads_and_removes_them_at_stop() {
    use std::os::unix::fs::PermissionsExt;
    let Some(journald) = PrivateJournald::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(ns) = Netns::new(&serving(dir.path())) else { return };
    let run = ns.run(&journald);
    let api = dir.path().join("api.sock");
    let resp = dir.path().join("resp.sock");
    assert!(run.wait_for_stderr("serving resp.listen on unix:", 1, 10));
    assert_eq!(std::fs::metadata(&api).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&resp).unwrap().permissions().mode() & 0o777, 0o660, "the default mode");
    std::os::unix::net::UnixStream::connect(&api).expect("the daemon accepts on api.http");
    std::os::unix::net::UnixStream::connect(&resp).expect("the daemon accepts on resp.listen");
    // A reload that moves a listener: in force at the next start only.
    std::fs::write(
        &ns.config,
        serving(dir.path()).replace("resp.sock", "resp2.sock").replace("STORAGE", ns.storage().to_str().unwrap()),
    )
    .unwrap();
    run.signal(libc::SIGHUP);
    assert!(run.wait_for_stderr("they take effect when banwarden restarts", 1, 10));
    std::os::unix::net::UnixStream::connect(&resp).expect("still served after the reload");
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert!(!api.exists() && !resp.exists(), "the sockets it made are gone: {stderr}");
}

#[test]
fn a_listener_that_cannot_be_opened_stops_the_start_with_its_name() {
    let Some(journald) = PrivateJournald::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("api.sock"), "a file, not a socket").unwrap();
    let Some(ns) = Netns::new(&serving(dir.path())) else { return };
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_banwarden"), "run", "--config"])
        .arg(&ns.config)
        .args(["--journal-namespace", journald.namespace()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let want =
        format!("api.http unix:{}/api.sock: the path exists and is not a socket: not replaced", dir.path().display());
    assert!(stderr.contains(&want), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("api.sock")).unwrap(), "a file, not a socket");
}
