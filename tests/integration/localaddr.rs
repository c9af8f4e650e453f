//! `neverBanLocal` follows this host's addresses without a reload: the real
//! daemon runs in a network namespace of the test, an address is added to an
//! interface there, and the attacker lines that name it are judged (on a
//! private journald); then the address is removed and the same lines are
//! judged again. IPv4, then a reload, then IPv6. Root only (`util::require`).

use std::process::Command;

use super::bans::{Netns, SSH_RULES};
use super::journald::PrivateJournald;
use super::util::{text, wait_until, Daemon};

/// `ip -n NS ARGS`; panics if it fails.
fn ip(ns: &Netns, args: &[&str]) {
    let out = Command::new("ip").args(["-n", &ns.name]).args(args).output().unwrap();
    assert!(out.status.success(), "ip {args:?}: {}", text(&out.stderr));
}

fn attack(journald: &PrivateJournald, address: &str) {
    journald.log("sshd", &format!("Failed password for root from {address} port 22 ssh2"));
}

/// `prefix` added to the namespace's loopback, the attacker at its address
/// refused; `prefix` removed, the same attacker banned.
fn local_then_not(ns: &Netns, journald: &PrivateJournald, run: &Daemon, prefix: &str, family: &str, set: &str) {
    let address = prefix.split('/').next().unwrap();
    ip(ns, &["addr", "add", prefix, "dev", "lo"]);
    assert!(run.wait_for_stderr(&format!("{address} is now one of this host's addresses"), 1, 10), "{address}");
    attack(journald, address);
    assert!(run.wait_for_stderr(&format!("{address} is on the never-ban list"), 1, 10), "{address} refused");
    assert_eq!(ns.elements(family, set), [], "{address} is local: not banned");

    ip(ns, &["addr", "del", prefix, "dev", "lo"]);
    assert!(run.wait_for_stderr(&format!("{address} is no longer one of this host's addresses"), 1, 10), "{address}");
    attack(journald, address);
    assert!(
        wait_until(10, || ns.elements(family, set).iter().any(|(banned, _)| banned == address)),
        "{address} no longer local: banned"
    );
}

#[test]
fn an_address_the_host_takes_is_never_banned_and_is_banned_again_once_gone() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(SSH_RULES) else { return };
    ip(&ns, &["link", "set", "lo", "up"]);
    let run = ns.run(&journald);
    local_then_not(&ns, &journald, &run, "198.51.100.7/24", "ip", "ban4");
    assert!(!run.wait_for_stderr("reload", 1, 0), "no reload was needed");

    // A reload replaces the configured part and keeps following the rest.
    let config = std::fs::read_to_string(&ns.config).unwrap();
    let config = config.replacen(r#""storage""#, r#""neverBan": ["203.0.113.0/24"], "storage""#, 1);
    std::fs::write(&ns.config, config).unwrap();
    run.signal(libc::SIGHUP);
    assert!(run.wait_for_stderr("reloaded", 1, 10), "reloaded");
    attack(&journald, "203.0.113.5");
    assert!(run.wait_for_stderr("203.0.113.5 is on the never-ban list", 1, 10), "the new neverBan holds");
    local_then_not(&ns, &journald, &run, "2001:db8::7/64", "ip6", "ban6");

    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    // Each change is said once.
    for said in
        ["198.51.100.7 is now one", "198.51.100.7 is no longer", "2001:db8::7 is now one", "2001:db8::7 is no longer"]
    {
        assert_eq!(stderr.matches(said).count(), 1, "{said}: {stderr}");
    }
    // Refused once per address; the second round of lines was banned.
    assert_eq!(stderr.matches("is on the never-ban list").count(), 3, "{stderr}");
    assert_eq!(ns.elements("ip", "ban4").len(), 1, "{stderr}");
}
