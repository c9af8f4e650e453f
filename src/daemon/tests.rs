//! The whole loop without root: a real journal file (made by
//! systemd-journal-remote from export text), the real store, the rules of a
//! real configuration, and a fake kernel that records every call.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;
use crate::config;
use crate::firewall::fake::{Call, FakeKernel};
use crate::time::FixedClock;
use crate::vocab::SetRef;

const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";
pub(super) const NOW: u64 = 1_763_726_400_000_000;

const RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "t ban4", "nftSetIPv6": "ip6 t ban6", "banSeconds": 60}}
]}, "storage": "STORAGE", "neverBanLocal": false, "neverBan": ["192.0.2.0/24"]}"#;

/// A journal file of a marker entry then `attackers` sshd failures, each
/// from its own address (the first one from a never-banned address).
fn journal(dir: &Path, attackers: u32) -> Option<std::path::PathBuf> {
    let why = format_args!("needs {JOURNAL_REMOTE} (Debian package systemd-journal-remote)");
    if !crate::testenv::require(Path::new(JOURNAL_REMOTE).exists(), why) {
        return None;
    }
    let mut export = Vec::new();
    let mut entry = |n: u32, ident: &str, message: &str| {
        let t = NOW + u64::from(n);
        export.extend_from_slice(
            format!(
                "__CURSOR=c{n}\n__REALTIME_TIMESTAMP={t}\n__MONOTONIC_TIMESTAMP={n}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n\
                 SYSLOG_IDENTIFIER={ident}\nMESSAGE={message}\n\n"
            )
            .as_bytes(),
        );
    };
    entry(0, "marker", "the daemon starts after this");
    entry(1, "sshd", "Failed password for root from 192.0.2.1 port 22 ssh2");
    for i in 2..=attackers {
        entry(i, "sshd", &format!("Failed password for root from 10.0.{}.{} port 22 ssh2", i / 250, i % 250));
    }
    let path = dir.join("x.journal");
    let mut child = Command::new(JOURNAL_REMOTE)
        .args(["--split-mode=none", "-o"])
        .arg(&path)
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &export).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(path)
}

/// The configuration of [`RULES`] with its storage in `dir`, and the
/// journal of [`journal`], its position saved right after the marker, as a
/// daemon that judged the marker would have left it.
pub(super) fn after_the_marker(dir: &Path, attackers: u32) -> Option<(config::Config, Source, std::path::PathBuf)> {
    let path = journal(dir, attackers)?;
    let storage = dir.join("state");
    let config = config::compile(&RULES.replace("STORAGE", storage.to_str().unwrap()), "t.json").unwrap();
    let source = Source::Files(vec![path]);
    let mut reader = JournalReader::open(&source, config.workflow.fields(), config.settings.decoder).unwrap();
    reader.seek_head().unwrap();
    assert!(reader.next_into(&mut config.workflow.new_entry()).unwrap());
    std::fs::create_dir_all(&storage).unwrap();
    CursorFile::new(&storage, &source).save(&reader.cursor().unwrap()).unwrap();
    Some((config, source, storage))
}

/// The size of each batch of elements the fake kernel was asked to add.
fn adds(kernel: &FakeKernel) -> Vec<usize> {
    kernel.calls().iter().filter_map(|c| if let Call::Add(bans) = c { Some(bans.len()) } else { None }).collect()
}

#[test]
fn the_loop_batches_bans_into_the_kernel_after_the_store_and_saves_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let attackers = 2000;
    let Some((config, source, storage)) = after_the_marker(dir.path(), attackers) else { return };
    let cursor_file = CursorFile::new(&storage, &source);
    let set = SetRef::parse_nft("ip t ban4").unwrap();
    let kernel = FakeKernel::with_sets(&[&set]);
    let clock = Arc::new(FixedClock::new(NOW));
    let options = Options { source: source.clone(), from_tail: false, config: None };
    let daemon = Daemon::open_with_kernel(config, &options, Box::new(kernel.clone()), clock).unwrap();
    let stop = AtomicBool::new(false);
    let mut judged = 0;
    let totals = daemon.run_observed(&stop, |_| {
        judged += 1;
        if judged == attackers {
            stop.store(true, Ordering::Relaxed);
        }
    });
    assert_eq!((totals.judged, totals.bans), (u64::from(attackers), u64::from(attackers) - 1));
    // The never-banned address stopped at the rule (a step error), the rest
    // went out in batches of 1,024: the first full one, then the rest.
    assert_eq!(totals.step_errors, 1);
    assert_eq!(adds(&kernel), [1024, attackers as usize - 1 - 1024]);
    assert_eq!(kernel.held(&set).len(), attackers as usize - 1);
    // Stored (a snapshot rewritten once the log grew, and the log since),
    // with the end the fake clock gives them.
    let mut stored = std::fs::read_to_string(storage.join("action_nftBan.json")).unwrap_or_default();
    stored.push_str(&std::fs::read_to_string(storage.join("action_nftBan.json.log")).unwrap());
    assert_eq!(stored.matches("\"IP\": ").count(), attackers as usize - 1);
    let end = format!("\"timestamp\": {}", (NOW + 60_000_000) as f64 / 1e6);
    assert_eq!(stored.matches(&end).count(), attackers as usize - 1, "{}", &stored[..200]);
    // Its place is the last entry judged.
    let mut reader = JournalReader::open(&source, &crate::fields::FieldTable::new(), Default::default()).unwrap();
    reader.seek_tail().unwrap();
    assert_eq!(cursor_file.load().unwrap(), Some(reader.cursor().unwrap()));
    assert!(storage.join("counters.json").exists(), "counters saved at shutdown");
}

#[test]
fn the_waits_follow_the_deadlines() {
    let clock = FixedClock::new(NOW);
    let mut due = Due::new(clock.instant());
    assert_eq!(due.wait(clock.instant(), false), POLL_ACTIVE, "fast polling right after start");
    // Looking at the journal's headers, the wait needs no short timeout.
    assert_eq!(due.wait(clock.instant(), true), TAIL_RESCAN_EVERY, "the next rescan of the journal files");
    clock.advance(ACTIVE_FOR.as_micros() as u64);
    assert_eq!(due.wait(clock.instant(), false), Duration::ZERO, "the ipset check is overdue");
    // As the loop does once it has counted the ipsets.
    due.ipset_check = clock.instant() + IPSET_CHECK_EVERY;
    due.store_check = clock.instant() + POLL_IDLE;
    due.tail_rescan = clock.instant() + POLL_IDLE;
    assert_eq!(due.wait(clock.instant(), false), POLL_IDLE, "a quiet journal is waited for a second at a time");
    assert_eq!(due.wait(clock.instant(), true), POLL_IDLE, "quiet or not, the same when looking");
    due.renewal = clock.instant() + Duration::from_millis(300);
    assert_eq!(due.wait(clock.instant(), false), Duration::from_millis(300), "no wait past a deadline");
}

#[test]
fn the_loop_puts_back_what_someone_else_took_out_of_the_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let attackers = 20;
    let Some((config, source, _)) = after_the_marker(dir.path(), attackers) else { return };
    let set = SetRef::parse_nft("ip t ban4").unwrap();
    let kernel = FakeKernel::with_sets(&[&set]);
    let clock = Arc::new(FixedClock::new(NOW));
    let options = Options { source, from_tail: false, config: None };
    let stop = AtomicBool::new(false);
    let banned = attackers as usize - 1; // all but the never-banned one
    let wait_for = |n: usize| (0..1000).any(|_| kernel.held(&set).len() == n || sleep_5ms());
    let (first, back) = std::thread::scope(|scope| {
        // The journal reader stays on the thread that opened it.
        let (theirs, their_clock, stop) = (kernel.clone(), clock.clone(), &stop);
        scope.spawn(move || {
            Daemon::open_with_kernel(config, &options, Box::new(theirs), their_clock).unwrap().run(stop)
        });
        let first = wait_for(banned);
        kernel.flush(&set);
        // The loop looks at the kernel's news every 50 ms while it polls
        // fast (the fake kernel has no descriptor to wake it).
        clock.advance(FIREWALL_EVERY.as_micros() as u64);
        let back = wait_for(banned);
        stop.store(true, Ordering::Relaxed);
        (first, back)
    });
    assert!(first && back, "banned {first}, put back {back}: {:?}", kernel.calls());
    // One kernel call for the bans (none at start: nothing was stored),
    // one to put them back.
    assert_eq!(adds(&kernel), [banned, banned]);
}

/// Sleeps 5 ms; false, so that an `any` that polls goes on.
pub(super) fn sleep_5ms() -> bool {
    std::thread::sleep(Duration::from_millis(5));
    false
}

#[test]
fn counters_are_saved_while_entries_flow_and_come_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let attackers = 20_000;
    let Some((_, source, storage)) = after_the_marker(dir.path(), attackers) else { return };
    // Every failure counted (10 min) per address; none reaches 5.
    let rules = RULES.replace(
        r#"{"action": "action_nftBan""#,
        r#"{"action": "action_counterRaise", "args": {"counter": "sshd", "for": "ip", "keepSeconds": 600, "save": "n"}},
           {"filter": "filter_greaterOrEquals", "args": {"field": "n", "value": 5}},
           {"action": "action_nftBan""#,
    );
    let compile = || config::compile(&rules.replace("STORAGE", storage.to_str().unwrap()), "t.json").unwrap();
    let clock = Arc::new(FixedClock::new(NOW));
    let options = Options { source, from_tail: false, config: None };
    let kernel = FakeKernel::with_sets(&[&SetRef::parse_nft("ip t ban4").unwrap()]);
    let daemon = Daemon::open_with_kernel(compile(), &options, Box::new(kernel), clock.clone()).unwrap();
    let file = storage.join("counters.json");
    let stop = AtomicBool::new(false);
    let (mut judged, mut saved_meanwhile) = (0, None);
    daemon.run_observed(&stop, |_| {
        judged += 1;
        // 2 ms an entry: 40 s of entries, saves every 10 s while they flow.
        clock.advance(2_000);
        if judged == attackers - 100 {
            saved_meanwhile = std::fs::read(&file).ok();
        }
        if judged == attackers {
            stop.store(true, Ordering::Relaxed);
        }
    });
    // A save written by its thread while entries were judged: the keys of
    // the entries judged by then, at least the first 10 s of them.
    let meanwhile = saved_meanwhile.expect("a save was written while entries flowed");
    let mut fresh = compile().workflow;
    let restored = fresh.counters_mut().restore(&meanwhile[..], NOW).unwrap();
    assert!(restored.keys >= 5_000 && restored.keys < attackers as usize, "{restored:?}");
    // The save at shutdown has every key (the never-banned address too:
    // it is counted, then refused at the ban).
    let mut fresh = compile().workflow;
    let restored = fresh.counters_mut().restore(&std::fs::read(&file).unwrap()[..], NOW).unwrap();
    assert_eq!(restored.keys, attackers as usize);
}

#[test]
fn a_new_never_ban_list_reaches_the_rules_and_the_bans_already_queued() {
    let dir = tempfile::tempdir().unwrap();
    let Some((config, source, _)) = after_the_marker(dir.path(), 3) else { return };
    let set = SetRef::parse_nft("ip t ban4").unwrap();
    let kernel = FakeKernel::with_sets(&[&set]);
    let options = Options { source, from_tail: false, config: None };
    let clock = Arc::new(FixedClock::new(NOW));
    let mut daemon = Daemon::open_with_kernel(config, &options, Box::new(kernel.clone()), clock).unwrap();
    // The rules asked for a ban of 10.0.0.2 just before it became one of
    // this host's addresses (as `addresses_changed` hears it).
    let ip: std::net::IpAddr = "10.0.0.2".parse().unwrap();
    let origin = crate::vocab::Origin::Rule { chain: "sshd".into(), step: 2 };
    let lifetime = crate::vocab::Lifetime::from_seconds(Some(60));
    daemon.carry_out(Effect::Ban(crate::vocab::BanRequest {
        net: ip.into(),
        set: set.clone(),
        lifetime,
        origin,
        replace: false,
        reason: None,
    }));
    daemon.settings.never_ban = daemon.settings.never_ban.with_local(&[ip]);
    daemon.share_never_ban();
    assert!(crate::vocab::any_contains(&daemon.workflow.state().never_ban, ip), "the rules see it");
    daemon.flush_bans();
    assert!(kernel.held(&set).is_empty(), "the ban service refused the queued ban: {:?}", kernel.calls());
    assert_eq!((daemon.queue.banned(), daemon.queue.failed()), (0, 1));
}

#[test]
fn the_door_serves_bans_accepts_and_unbans_beside_the_journal() {
    use crate::bans::Outcome;
    use crate::config::api::{ApiSet, ApiSettings, Target};
    use crate::door::Command as Door;
    use crate::vocab::{BanRequest, Lifetime, Network, Origin};
    use std::sync::mpsc;

    let dir = tempfile::tempdir().unwrap();
    let attackers = 200;
    let Some((mut config, source, storage)) = after_the_marker(dir.path(), attackers) else { return };
    let (ban4, drop4, allow4) = (
        SetRef::parse_nft("ip t ban4").unwrap(),
        SetRef::parse_nft("ip t api4").unwrap(),
        SetRef::parse_nft("ip t ok4").unwrap(),
    );
    let set = |target, ipv4: &SetRef| ApiSet {
        target,
        chain: "input".into(),
        interface: None,
        ipv4: Some(ipv4.clone()),
        ipv6: None,
        ipv4_networks: None,
        ipv6_networks: None,
    };
    config.settings.api =
        Some(ApiSettings { sets: vec![set(Target::Drop, &drop4), set(Target::Accept, &allow4)], ..Default::default() });
    let kernel = FakeKernel::with_sets(&[&ban4, &drop4, &allow4]);
    let clock = Arc::new(FixedClock::new(NOW));
    let options = Options { source, from_tail: false, config: None };
    let stop = AtomicBool::new(false);
    let request = |ip: &str, set: &SetRef| BanRequest {
        net: Network::target(ip).unwrap(),
        set: set.clone(),
        lifetime: Lifetime::from_seconds(Some(600)),
        origin: Origin::Api { user: "alice".into() },
        replace: false,
        reason: None,
    };
    std::thread::scope(|scope| {
        let (theirs, their_clock, stop) = (kernel.clone(), clock.clone(), &stop);
        let (tx, rx) = mpsc::channel();
        scope.spawn(move || {
            let daemon = Daemon::open_with_kernel(config, &options, Box::new(theirs), their_clock).unwrap();
            tx.send((daemon.door(), daemon.listing())).unwrap();
            daemon.run(stop)
        });
        let (door, listing) = rx.recv().unwrap();
        // A failed assertion below must still stop the loop, or the scope
        // would wait for it forever.
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = StopOnDrop(stop);
        let ask = |requests: Vec<BanRequest>| {
            let (tx, rx) = mpsc::channel();
            door.send(Door::Ban { requests, reply: Box::new(move |o| tx.send(o).unwrap()) }).unwrap();
            rx.recv_timeout(Duration::from_secs(10)).expect("a reply")
        };
        let accepted = ask(vec![request("10.9.9.0/24", &allow4)]);
        assert!(matches!(accepted[..], [Outcome::Banned(_)]), "{accepted:?}");
        // Replied once stored and in the kernel.
        assert_eq!(kernel.held(&allow4), [Network::target("10.9.9.0/24").unwrap()]);
        let outcomes = ask(vec![request("10.9.9.7", &drop4), request("203.0.113.8", &drop4)]);
        assert!(matches!(outcomes[0], Outcome::Refused(crate::bans::Refusal::Allowed)), "{outcomes:?}");
        assert!(matches!(outcomes[1], Outcome::Banned(_)), "{outcomes:?}");
        let listed = listing.get(&drop4, Network::target("203.0.113.8").unwrap(), NOW).expect("published");
        assert_eq!(&*listed.origin, "api alice");
        assert_eq!(listing.count(&allow4, NOW), 1);
        // Shorter: nothing changes (the ban in place ends later).
        let shorter = BanRequest { lifetime: Lifetime::from_seconds(Some(60)), ..request("203.0.113.8", &drop4) };
        assert!(matches!(ask(vec![shorter])[..], [Outcome::Kept(_)]));
        let (tx, rx) = mpsc::channel();
        let net = Network::target("203.0.113.8").unwrap();
        let origin = Origin::Api { user: "alice".into() };
        let reply = Box::new(move |r: Result<Vec<crate::bans::Lifted>, String>| tx.send(r).unwrap());
        door.send(Door::Unban { net, sets: vec![drop4.clone()], origin, reply }).unwrap();
        let lifted = rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
        assert!(lifted[0].was_stored && lifted[0].kernel.is_ok());
        assert!(kernel.held(&drop4).is_empty() && listing.get(&drop4, net, NOW).is_none());
        // An unban by hand (another writer of the store) reaches the
        // listing within a second.
        let other = Network::target("198.51.100.77").unwrap();
        assert!(matches!(ask(vec![request("198.51.100.77", &drop4)])[..], [Outcome::Banned(_)]));
        let mut by_hand = crate::store::BanStore::open(&storage, crate::vocab::Backend::Nft).unwrap();
        assert_eq!(by_hand.unban(&[(other, drop4.clone())], NOW).unwrap().len(), 1);
        clock.advance(STORE_CHECK_EVERY.as_micros() as u64);
        let gone = (0..1000).any(|_| listing.get(&drop4, other, NOW).is_none() || sleep_5ms());
        assert!(gone, "the listing follows the store");
        // The journal's bans went out meanwhile, through the same path.
        let all_banned = (0..1000).any(|_| kernel.held(&ban4).len() == attackers as usize - 1 || sleep_5ms());
        stop.store(true, Ordering::Relaxed);
        assert!(all_banned, "{}", kernel.held(&ban4).len());
    });
    // In the log, or in the snapshot if the journal's bans (with their
    // reasons) made the log large enough to be compacted.
    let read = |name: &str| std::fs::read_to_string(storage.join(name)).unwrap_or_default();
    let stored = read("action_nftBan.json.log") + &read("action_nftBan.json");
    assert!(stored.contains(r#""by": "api alice""#), "{stored}");
}
