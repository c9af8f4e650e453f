//! The libraries' `log` records reach banwarden's diagnostics: mnl writes a
//! debug line for every netlink message it sends, so a ban by hand in a
//! network namespace of the test's own provokes some. With `"debug": true`
//! they are shown, named by their crate and throttled per call site; without
//! it they are not.

use super::bans::Netns;
use super::util::text;

const RULES: &str = r#"{"actions": {"a": [{"action": "action_noop"}]}, "storage": "STORAGE", "debug": DEBUG}"#;

/// The stderr of `ban` then `unban` of one address, with `debug` as given.
fn stderr_of_a_ban(debug: bool) -> Option<String> {
    let netns = Netns::new(&RULES.replace("DEBUG", &debug.to_string()))?;
    let mut stderr = String::new();
    for args in [&["ban", "192.0.2.44", "--set", "ip banwarden ban4", "--for", "1h"][..], &["unban", "192.0.2.44"]] {
        let out = netns.banwarden(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        stderr.push_str(&text(&out.stderr));
    }
    Some(stderr)
}

#[test]
fn a_librarys_debug_lines_reach_the_diagnostics_with_debug_on() {
    let Some(stderr) = stderr_of_a_ban(true) else { return };
    // The target names the crate (and its module, as `log` gives it).
    let sends: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("banwarden: debug: mnl::socket: Sending ") && l.ends_with(" byte netlink message"))
        .collect();
    // A call site is written at its 1st, 10th, 100th... time: each command
    // (a process of its own) writes its first send, and no more for a few.
    assert_eq!(sends.len(), 2, "{stderr}");

    let Some(quiet) = stderr_of_a_ban(false) else { return };
    assert!(!quiet.contains("debug: mnl:"), "{quiet}");
}
