//! A lone attacker after a quiet spell: `banwarden run` on a private
//! journald, in a network namespace of its own, bans the one line written
//! after more than `ACTIVE_FOR` of silence (beyond which the loop used to
//! wait for journald's notification) while journald is stopped (SIGSTOP)
//! right after writing it: journald then sends no notification at all, so
//! the daemon found the entry by looking at the file's header.

use std::time::{Duration, Instant};

use banwarden::daemon::ACTIVE_FOR;
use banwarden::journal::tail::Header;

use super::bans::Netns;
use super::journald::PrivateJournald;
use super::util::wait_until;

const RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "ip banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 600}}
]}, "storage": "STORAGE"}"#;

/// journald stopped (SIGSTOP) until dropped, so that a failed assertion
/// leaves no stopped journald behind (its own drop then stops it).
struct Stopped(u32);

impl Stopped {
    fn new(pid: u32) -> Stopped {
        // SAFETY: kill(2) of our own child (journald), by its PID.
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) }, 0);
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0 as libc::pid_t, libc::SIGCONT) };
    }
}

#[test]
fn a_lone_line_after_a_quiet_spell_is_banned_without_journalds_notification() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(RULES) else { return };
    journald.log("bwtest", "the journal exists");
    journald.wait_for("the journal exists", 1, Duration::from_secs(10));
    let file = journald.journal_dir().join("system.journal");
    let header = Header::open(&file).unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
    let daemon = ns.run(&journald);
    // Quiet for longer than the loop ever polled fast.
    std::thread::sleep(ACTIVE_FOR + Duration::from_secs(1));
    let before = header.stamp();
    journald.log("sshd", "Failed password for root from 192.0.2.77 port 22 ssh2");
    // In the file (its header moved): stop journald before its deferred
    // notification (250 ms later) can go out.
    let deadline = Instant::now() + Duration::from_secs(10);
    while header.stamp() == before {
        assert!(Instant::now() < deadline, "journald never wrote the line");
        std::thread::sleep(Duration::from_micros(200));
    }
    let stopped = Stopped::new(journald.pid());
    let banned = wait_until(10, || ns.elements("ip", "ban4").iter().any(|(ip, _)| ip == "192.0.2.77"));
    drop(stopped);
    assert!(banned, "not banned while journald was stopped: {}", daemon.stderr_so_far());
    let (status, stderr) = daemon.stop();
    assert!(status.success(), "{stderr}");
}
