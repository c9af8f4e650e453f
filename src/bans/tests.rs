//! The ban service over a fake kernel and a real store in a temporary
//! directory: ordering, outcomes, unbans, inventory and restore, no root.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::firewall::fake::{Call, FakeKernel};
use crate::time::FixedClock;
use crate::vocab::{Lifetime, Origin};

pub(super) const NOW: u64 = 1_763_726_400_000_000;
pub(super) const HOUR_US: u64 = 3_600_000_000;

pub(super) fn ip(text: &str) -> Network {
    Network::target(text).unwrap()
}

fn nft(path: &str) -> SetRef {
    SetRef::parse_nft(path).unwrap()
}

pub(super) struct World {
    pub(super) dir: tempfile::TempDir,
    pub(super) kernel: FakeKernel,
    pub(super) clock: Arc<FixedClock>,
    pub(super) bans: Bans,
}

pub(super) fn world(sets: &[&SetRef], never_ban: &[&str]) -> World {
    let dir = tempfile::tempdir().unwrap();
    let kernel = FakeKernel::with_sets(sets);
    let clock = Arc::new(FixedClock::new(NOW));
    let never: Vec<Network> = never_ban.iter().map(|n| Network::parse(n).unwrap()).collect();
    let bans = Bans::with_kernel(dir.path(), never, clock.clone(), Box::new(kernel.clone()));
    World { dir, kernel, clock, bans }
}

pub(super) fn request(ip_text: &str, set: &SetRef, seconds: Option<u64>) -> BanRequest {
    BanRequest {
        net: ip(ip_text),
        set: set.clone(),
        lifetime: Lifetime::from_seconds(seconds),
        origin: Origin::Cli { user: "root".into() },
        replace: false,
        reason: None,
    }
}

pub(super) fn no_warnings(warning: String) {
    panic!("unexpected warning: {warning}");
}

/// The store's log as it is on disk now.
fn log_text(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("action_nftBan.json.log")).unwrap_or_default()
}

#[test]
fn a_ban_is_on_disk_before_the_kernel_is_asked() {
    let set = nft("ip t s");
    let mut w = world(&[&set], &[]);
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (dir, log) = (w.dir.path().to_owned(), seen.clone());
    w.kernel.state().on_add = Some(Box::new(move |_| log.lock().unwrap().push(log_text(&dir))));
    let outcomes = w.bans.ban(&[request("192.0.2.1", &set, Some(60))], &mut no_warnings);
    assert!(matches!(outcomes[..], [Outcome::Banned(_)]), "{outcomes:?}");
    let seen = seen.lock().unwrap();
    assert!(seen[0].contains("\"op\": \"ban\", \"IP\": \"192.0.2.1\""), "stored first: {seen:?}");
    // The kernel gets the lifetime asked, the store the end it makes.
    assert_eq!(
        w.kernel.calls(),
        [Call::Add(vec![KernelBan { net: ip("192.0.2.1"), set: set.clone(), timeout: Some(Duration::from_secs(60)) }])]
    );
    assert_eq!(w.bans.lookup(ip("192.0.2.1"), &mut no_warnings).unwrap(), [(set, Until::At(NOW + 60_000_000))]);
}

#[test]
fn never_banned_addresses_touch_neither_store_nor_kernel() {
    let set = nft("ip t s");
    let mut w = world(&[&set], &["192.0.2.0/24", "2001:db8::/32"]);
    let outcomes = w.bans.ban(
        &[
            request("192.0.2.9", &set, None),
            request("::ffff:192.0.2.9", &set, None),
            request("203.0.113.1", &set, None),
        ],
        &mut no_warnings,
    );
    assert!(
        matches!(
            outcomes[..],
            [Outcome::Refused(Refusal::NeverBan), Outcome::Refused(Refusal::NeverBan), Outcome::Banned(_)]
        ),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[0].failure(), Some(Failure::Refused(Refusal::NeverBan)));
    let outcomes = w.bans.ban(&[request("0.0.0.0", &set, None), request("ff02::1", &set, None)], &mut no_warnings);
    assert!(matches!(outcomes[..], [Outcome::Refused(Refusal::NotAPeer), Outcome::Refused(Refusal::NotAPeer)]));
    assert!(!log_text(w.dir.path()).contains("192.0.2.9"));
    assert_eq!(w.kernel.held(&set), [ip("203.0.113.1")]);
}

#[test]
fn kernel_and_store_failures_are_typed_outcomes() {
    let set = nft("ip t s");
    let missing = nft("ip t missing");
    let mut w = world(&[&set], &[]);
    let outcomes = w.bans.ban(&[request("192.0.2.1", &missing, None)], &mut no_warnings);
    let Outcome::KernelFailed(e) = &outcomes[0] else { panic!("{outcomes:?}") };
    assert_eq!(e.kind(), ErrorKind::NoSuchSet);
    assert!(log_text(w.dir.path()).contains("192.0.2.1"), "stored though the kernel refused");

    // A storage that cannot be created: the ban still reaches the kernel.
    let file = w.dir.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let mut bans = Bans::with_kernel(&file, Vec::new(), w.clock.clone(), Box::new(w.kernel.clone()));
    let outcomes =
        bans.ban(&[request("192.0.2.2", &set, None), request("192.0.2.3", &missing, None)], &mut no_warnings);
    assert!(matches!(outcomes[0], Outcome::NotStored(_)), "{outcomes:?}");
    assert!(matches!(outcomes[1], Outcome::Failed { .. }), "{outcomes:?}");
    assert!(matches!(outcomes[1].failure(), Some(Failure::Both(_, ErrorKind::NoSuchSet))));
    assert!(w.kernel.held(&set).contains(&ip("192.0.2.2")));
}

#[test]
fn a_batch_is_one_store_write_and_one_kernel_call_across_backends() {
    let a = nft("ip t a");
    let b = SetRef::parse_ipset("b").unwrap();
    let mut w = world(&[&a, &b], &[]);
    let requests: Vec<BanRequest> =
        (0..100).map(|i| request(&format!("198.51.100.{i}"), if i % 2 == 0 { &a } else { &b }, Some(60))).collect();
    let outcomes = w.bans.ban(&requests, &mut no_warnings);
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Banned(_))));
    let calls = w.kernel.calls();
    assert_eq!(calls.len(), 1, "one kernel call for both backends");
    let lines = log_text(w.dir.path()).lines().count();
    assert_eq!(lines, 50, "the nft half in the nft store");
    let ipset_log = std::fs::read_to_string(w.dir.path().join("action_ipsetBan.json.log")).unwrap();
    assert_eq!(ipset_log.lines().count(), 50);
}

#[test]
fn unban_forgets_first_then_clears_the_kernel() {
    let set = nft("ip t s");
    let other = nft("ip t other");
    let mut w = world(&[&set, &other], &[]);
    w.bans.ban(&[request("192.0.2.1", &set, Some(600))], &mut no_warnings);
    // An element added by hand in another set the rules name.
    w.kernel.state().sets.get_mut(&other).unwrap().elements.insert(ip("192.0.2.1"), None);
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (dir, log) = (w.dir.path().to_owned(), seen.clone());
    w.kernel.state().on_delete = Some(Box::new(move |_, _| log.lock().unwrap().push(log_text(&dir))));
    let named = [set.clone(), other.clone()];
    let lifted = w.bans.unban(ip("192.0.2.1"), UnbanFrom::Anywhere { named: &named }, &mut no_warnings).unwrap();
    let summary: Vec<(String, bool, bool)> =
        lifted.iter().map(|l| (l.set.to_string(), l.was_stored, l.kernel.is_ok())).collect();
    assert_eq!(summary, [("ip t s".into(), true, true), ("ip t other".into(), false, true)]);
    assert!(seen.lock().unwrap()[0].contains("\"op\": \"unban\""), "forgotten before the kernel was asked");
    assert!(w.kernel.held(&set).is_empty() && w.kernel.held(&other).is_empty());
    assert!(w.bans.lookup(ip("192.0.2.1"), &mut no_warnings).unwrap().is_empty());
    let again = w.bans.unban(ip("192.0.2.1"), UnbanFrom::Anywhere { named: &named }, &mut no_warnings).unwrap();
    assert!(again.is_empty(), "nothing left to lift");
    // One set named: the kernel is cleared even without a record.
    let missing = nft("ip t missing");
    let lifted = w.bans.unban(ip("192.0.2.1"), UnbanFrom::Set(missing), &mut no_warnings).unwrap();
    assert!(!lifted[0].was_stored);
    assert_eq!(lifted[0].kernel.as_ref().unwrap_err().kind(), ErrorKind::NoSuchSet);
}

#[test]
fn the_inventory_shows_store_and_kernel_side_by_side() {
    let set = nft("ip t s");
    let gone = nft("ip t gone");
    let mut w = world(&[&set], &[]);
    w.bans.ban(&[request("192.0.2.1", &set, None), request("192.0.2.2", &gone, None)], &mut no_warnings);
    w.kernel.state().sets.get_mut(&set).unwrap().elements.insert(ip("192.0.2.3"), Some(Duration::from_secs(5)));
    let named = [set.clone(), nft("ip t empty_and_missing")];
    let inventory = w.bans.inventory(&named, KernelRead::All, &mut no_warnings).unwrap();
    let rows: Vec<(String, String, bool, bool, bool)> = inventory
        .rows
        .iter()
        .map(|r| (r.set.to_string(), r.ip.to_string(), r.until.is_some(), r.left.is_some(), r.kernel_error.is_some()))
        .collect();
    assert_eq!(
        rows,
        [
            ("ip t gone".into(), "192.0.2.2".into(), true, false, true),
            ("ip t s".into(), "192.0.2.1".into(), true, true, false),
            ("ip t s".into(), "192.0.2.3".into(), false, true, false),
        ]
    );
    assert_eq!(inventory.unreadable.len(), 1, "a missing set with nothing stored is only named");
}

#[test]
fn restore_puts_back_the_time_left_skips_the_ended_and_the_never_banned() {
    let set = nft("ip t s");
    let mut w = world(&[&set], &[]);
    w.bans.ban(
        &[
            request("192.0.2.1", &set, Some(3600)),
            request("192.0.2.2", &set, None),
            request("192.0.2.3", &set, Some(10)),
            request("10.0.0.1", &set, None),
        ],
        &mut no_warnings,
    );
    w.kernel.state().sets.get_mut(&set).unwrap().elements.clear();
    w.clock.advance(HOUR_US / 2);
    w.bans.set_never_ban(vec![Network::parse("10.0.0.0/8").unwrap()]);
    let mut progress = Vec::new();
    let report = w.bans.restore_all(&mut |_, sent, total| progress.push((sent, total)), &mut no_warnings).unwrap();
    assert_eq!(report.restored, 2);
    assert_eq!(report.refused, [(ip("10.0.0.1"), set.clone())]);
    assert!(report.failed.is_empty() && report.resent.is_empty());
    assert_eq!(progress, [(2, 2)]);
    let held = w.kernel.state().sets[&set].elements.clone();
    assert_eq!(held.get(&ip("192.0.2.1")), Some(&Some(Duration::from_secs(1800))));
    assert_eq!(held.get(&ip("192.0.2.2")), Some(&None));
    assert!(!held.contains_key(&ip("192.0.2.3")), "ended meanwhile");
    // The ended record stays in the files: at boot the clock may be wrong
    // (before NTP), so nothing is deleted then; a later rewrite drops it.
    let snapshot = std::fs::read_to_string(w.dir.path().join("action_nftBan.json")).unwrap();
    assert!(snapshot.contains("192.0.2.3"), "{snapshot}");
}

#[test]
fn restore_sends_again_what_an_acknowledged_batch_left_out() {
    let set = nft("ip t s");
    let mut w = world(&[&set], &[]);
    let requests: Vec<BanRequest> = (0..10).map(|i| request(&format!("192.0.2.{i}"), &set, None)).collect();
    w.bans.ban(&requests, &mut no_warnings);
    {
        let mut state = w.kernel.state();
        let fake = state.sets.get_mut(&set).unwrap();
        fake.elements.clear();
        fake.lose = 3;
    }
    let report = w.bans.restore_all(&mut |_, _, _| {}, &mut no_warnings).unwrap();
    assert_eq!(report.resent, [(set.clone(), 3)]);
    assert!(report.failed.is_empty());
    assert_eq!(w.kernel.held(&set).len(), 10);
    // A set that keeps losing them is reported after three tries.
    w.kernel.state().sets.get_mut(&set).unwrap().elements.clear();
    w.kernel.state().sets.get_mut(&set).unwrap().lose = 1000;
    let report = w.bans.restore_all(&mut |_, _, _| {}, &mut no_warnings).unwrap();
    assert_eq!(report.failed[&set], (10, "missing after three tries".into()));
}

#[test]
fn long_ipset_bans_are_renewed_before_the_kernel_drops_them() {
    let set = SetRef::parse_ipset("long").unwrap();
    let mut w = world(&[&set], &[]);
    let month = 30 * 24 * 3600;
    w.bans.ban(&[request("192.0.2.1", &set, Some(month)), request("192.0.2.2", &set, Some(60))], &mut no_warnings);
    let (renewed, errors) = w.bans.renew_long_ipset_bans(&mut no_warnings).unwrap();
    assert_eq!((renewed, errors.len()), (1, 0), "only the ban longer than ipset's cap");
    // Later, with less than the cap left, it is not sent again.
    w.clock.advance((month - 1_000_000) * 1_000_000);
    assert_eq!(w.bans.renew_long_ipset_bans(&mut no_warnings).unwrap().0, 0);
}

#[test]
fn an_import_never_shortens_a_stored_ban() {
    let set = nft("ip t s");
    let mut w = world(&[&set], &[]);
    w.bans.ban(&[request("192.0.2.1", &set, None), request("192.0.2.2", &set, Some(60))], &mut no_warnings);
    let record = |text: &str, until| Record { net: ip(text), set: set.clone(), until, start: NOW, by: None, why: None };
    let imported = w
        .bans
        .import(
            &[
                record("192.0.2.1", Until::At(NOW + HOUR_US)),
                record("192.0.2.2", Until::At(NOW + HOUR_US)),
                record("192.0.2.3", Until::Forever),
            ],
            &mut no_warnings,
        )
        .unwrap();
    assert_eq!(imported, 2, "the permanent ban stays permanent");
    let mut ends = |text: &str| w.bans.lookup(ip(text), &mut no_warnings).unwrap()[0].1;
    assert_eq!(ends("192.0.2.1"), Until::Forever);
    assert_eq!(ends("192.0.2.2"), Until::At(NOW + HOUR_US));
    assert_eq!(ends("192.0.2.3"), Until::Forever);
    drop(ends);
    assert_eq!(w.kernel.calls().len(), 1, "an import does not touch the kernel");
}

#[test]
fn a_ban_never_shrinks_unless_replaced() {
    let set = nft("ip t s");
    let mut w = world(&[&set], &[]);
    let day = Some(86_400);
    let hour = Some(3_600);
    // Permanent, then an hour: the hour changes nothing, and says so.
    w.bans.ban(&[request("192.0.2.1", &set, None)], &mut no_warnings);
    let outcomes = w.bans.ban(&[request("192.0.2.1", &set, hour)], &mut no_warnings);
    assert!(matches!(outcomes[..], [Outcome::Kept(Until::Forever)]), "{outcomes:?}");
    assert_eq!(w.kernel.state().sets[&set].elements[&ip("192.0.2.1")], None, "still permanent in the kernel");
    assert_eq!(w.bans.lookup(ip("192.0.2.1"), &mut no_warnings).unwrap()[0].1, Until::Forever);
    // An attacker's queued requests in one batch: the day another rule gave
    // it stays, whatever order they come in.
    let outcomes = w.bans.ban(
        &[request("192.0.2.2", &set, day), request("192.0.2.2", &set, hour), request("192.0.2.2", &set, hour)],
        &mut no_warnings,
    );
    let end = Until::At(NOW + 86_400_000_000);
    assert!(
        matches!(outcomes[..], [Outcome::Banned(a), Outcome::Kept(b), Outcome::Kept(c)] if a == end && b == end && c == end)
    );
    let Some(Call::Add(sent)) = w.kernel.calls().last().cloned() else { panic!() };
    assert_eq!(sent.len(), 1, "one element per address and set");
    assert_eq!(sent[0].timeout, Some(Duration::from_secs(86_400)));
    // A later end extends it.
    w.clock.advance(HOUR_US);
    let outcomes = w.bans.ban(&[request("192.0.2.2", &set, day)], &mut no_warnings);
    assert!(matches!(outcomes[0], Outcome::Banned(Until::At(t)) if t == NOW + HOUR_US + 86_400_000_000));
    // Shortening is explicit.
    let mut shorter = request("192.0.2.1", &set, hour);
    shorter.replace = true;
    let outcomes = w.bans.ban(&[shorter], &mut no_warnings);
    assert!(matches!(outcomes[0], Outcome::Banned(Until::At(_))), "{outcomes:?}");
    assert_eq!(w.kernel.state().sets[&set].elements[&ip("192.0.2.1")], Some(Duration::from_secs(3600)));
    // Every change is on disk: a new handle reads the same.
    let mut again = Bans::with_kernel(w.dir.path(), Vec::new(), w.clock.clone(), Box::new(w.kernel.clone()));
    assert_eq!(again.lookup(ip("192.0.2.1"), &mut no_warnings).unwrap()[0].1, Until::At(NOW + 2 * HOUR_US));
    // An ended ban is no ban: a shorter new one is made as asked.
    w.clock.advance(30 * 86_400_000_000);
    let outcomes = w.bans.ban(&[request("192.0.2.2", &set, Some(60))], &mut no_warnings);
    assert!(matches!(outcomes[0], Outcome::Banned(_)), "{outcomes:?}");
}

/// Whether another writer could take the store's lock right now.
fn store_is_free(dir: &std::path::Path) -> bool {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new().write(true).open(dir.join("action_nftBan.json.lock")).unwrap();
    // SAFETY: flock on a descriptor we own; released when it closes.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[test]
fn no_other_writer_comes_between_the_store_and_the_kernel() {
    let set = nft("ip t s");
    let mut w = world(&[&set], &[]);
    w.bans.ban(&[request("192.0.2.1", &set, None)], &mut no_warnings);
    let seen: Arc<Mutex<Vec<bool>>> = Arc::default();
    let (dir, free) = (w.dir.path().to_owned(), seen.clone());
    w.kernel.state().on_add = Some(Box::new(move |_| free.lock().unwrap().push(store_is_free(&dir))));
    let (dir, free) = (w.dir.path().to_owned(), seen.clone());
    w.kernel.state().on_delete = Some(Box::new(move |_, _| free.lock().unwrap().push(store_is_free(&dir))));
    // A ban, a restore (an unban in the middle of boot would be undone by a
    // late send), an unban.
    w.bans.ban(&[request("192.0.2.2", &set, None)], &mut no_warnings);
    w.bans.restore_all(&mut |_, _, _| {}, &mut no_warnings).unwrap();
    w.bans.unban(ip("192.0.2.1"), UnbanFrom::Set(set.clone()), &mut no_warnings).unwrap();
    assert_eq!(*seen.lock().unwrap(), [false, false, false], "the store is held while the kernel is asked");
    assert!(store_is_free(w.dir.path()), "and let go afterwards");
}

#[test]
fn a_stored_address_of_the_other_family_goes_to_the_set_of_its_pair() {
    let (v4, v6) = (nft("ip t s4"), nft("ip6 t s6"));
    let mut w = world(&[&v4, &v6], &[]);
    w.kernel.state().sets.get_mut(&v6).unwrap().ipv6 = true;
    w.bans.set_pairs(vec![
        SetPair { set: v4.clone(), ipv6: false, pair: v6.clone() },
        SetPair { set: v6.clone(), ipv6: true, pair: v4.clone() },
    ]);
    // As a Pyruse store holds an IPv4-mapped address in the IPv6 set (read
    // as the IPv4 address it stands for).
    let record = |text: &str, set: &SetRef| Record {
        net: ip(text),
        set: set.clone(),
        until: Until::Forever,
        start: 0,
        by: None,
        why: None,
    };
    w.bans.import(&[record("192.0.2.9", &v6), record("2001:db8::9", &v6)], &mut no_warnings).unwrap();
    let report = w.bans.restore_all(&mut |_, _, _| {}, &mut no_warnings).unwrap();
    assert_eq!(report.moved, [(ip("192.0.2.9"), v6.clone(), v4.clone())]);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(w.kernel.held(&v4), [ip("192.0.2.9")]);
    assert_eq!(w.kernel.held(&v6), [ip("2001:db8::9")]);
    assert_eq!(w.bans.lookup(ip("192.0.2.9"), &mut no_warnings).unwrap(), [(v4, Until::Forever)], "moved in the store");
}

#[test]
fn a_wrong_clock_at_boot_neither_deletes_bans_nor_lengthens_them() {
    let set = nft("ip t s");
    let mut w = world(&[&set], &[]);
    let week = 7 * 86_400;
    w.bans.ban(
        &[request("192.0.2.1", &set, Some(week)), request("192.0.2.2", &set, Some(30 * 86_400))],
        &mut no_warnings,
    );
    let year_us = 365 * 86_400_000_000;
    // Three years behind (before NTP): the 7-day ban goes back for 7 days,
    // not three years and 7 days.
    w.clock.set(NOW - 3 * year_us);
    w.kernel.state().sets.get_mut(&set).unwrap().elements.clear();
    w.bans.restore_all(&mut |_, _, _| {}, &mut no_warnings).unwrap();
    let held = w.kernel.state().sets[&set].elements.clone();
    assert_eq!(held[&ip("192.0.2.1")], Some(Duration::from_secs(week)));
    assert_eq!(held[&ip("192.0.2.2")], Some(Duration::from_secs(30 * 86_400)));
    // A year ahead: by that clock both ended; nothing is deleted.
    w.clock.set(NOW + year_us);
    w.kernel.state().sets.get_mut(&set).unwrap().elements.clear();
    let report = w.bans.restore_all(&mut |_, _, _| {}, &mut no_warnings).unwrap();
    assert_eq!(report.restored, 0);
    // The clock right again: both are still there to put back.
    w.clock.set(NOW + 60_000_000);
    let report = w.bans.restore_all(&mut |_, _, _| {}, &mut no_warnings).unwrap();
    assert_eq!(report.restored, 2, "nothing was deleted while the clock was wrong");
}

#[test]
fn a_ban_that_ends_while_boot_checks_is_no_failure() {
    let set = nft("ip t s");
    let mut w = world(&[&set], &[]);
    w.bans.ban(&[request("192.0.2.1", &set, Some(2))], &mut no_warnings);
    w.kernel.state().sets.get_mut(&set).unwrap().elements.clear();
    // The kernel drops the short ban (it ends) between the send and the check.
    w.kernel.state().sets.get_mut(&set).unwrap().lose = 1;
    let clock = w.clock.clone();
    w.kernel.state().on_add = Some(Box::new(move |_| clock.advance(3_000_000)));
    let report = w.bans.restore_all(&mut |_, _, _| {}, &mut no_warnings).unwrap();
    assert!(report.failed.is_empty() && report.resent.is_empty(), "{:?} {:?}", report.failed, report.resent);
}

#[test]
fn put_back_sends_one_sets_live_bans_with_their_time_left_and_only_adds() {
    let (a, b) = (nft("ip t a"), nft("ip t b"));
    let mut w = world(&[&a, &b], &[]);
    w.bans.ban(
        &[
            request("192.0.2.1", &a, Some(3600)),
            request("192.0.2.2", &a, None),
            request("192.0.2.3", &a, Some(10)),
            request("10.0.0.1", &a, None),
            request("192.0.2.9", &b, Some(3600)),
        ],
        &mut no_warnings,
    );
    w.kernel.flush(&a);
    // Added by hand after the flush, with no record: left as it is.
    w.kernel.state().sets.get_mut(&a).unwrap().elements.insert(ip("198.51.100.1"), None);
    w.clock.advance(HOUR_US / 2);
    w.bans.set_never_ban(vec![Network::parse("10.0.0.0/8").unwrap()]);
    // The store is held while the kernel is asked: an unban by another
    // process waits, and cannot be undone by what was read before it.
    let lock = w.dir.path().join("action_nftBan.json.lock");
    let held_during_add: Arc<Mutex<Vec<bool>>> = Arc::default();
    let seen = held_during_add.clone();
    w.kernel.state().on_add = Some(Box::new(move |_| seen.lock().unwrap().push(is_locked(&lock))));
    let calls_before = w.kernel.calls().len();
    let report = w.bans.put_back(&a, None, &mut no_warnings).unwrap();
    assert_eq!((report.stored, report.restored, report.failed, report.refused), (3, 2, 0, 1), "{report:?}");
    assert_eq!(*held_during_add.lock().unwrap(), [true]);
    let calls = &w.kernel.calls()[calls_before..];
    let [Call::Add(sent)] = calls else { panic!("one kernel call: {calls:?}") };
    assert!(sent.iter().all(|ban| ban.set == a), "only the set asked for: {sent:?}");
    let held = w.kernel.state().sets[&a].elements.clone();
    assert_eq!(held.get(&ip("192.0.2.1")), Some(&Some(Duration::from_secs(1800))), "the time left, not an hour");
    assert_eq!(held.get(&ip("192.0.2.2")), Some(&None));
    assert!(!held.contains_key(&ip("192.0.2.3")), "ended meanwhile");
    assert!(!held.contains_key(&ip("10.0.0.1")), "never-banned now");
    assert!(held.contains_key(&ip("198.51.100.1")), "the element added by hand stays");
    assert_eq!(w.bans.stored_sets(Backend::Nft, &mut no_warnings).unwrap(), [(a.clone(), 3), (b.clone(), 1)].into());
}

#[test]
fn put_back_of_some_addresses_sends_only_those_with_a_record() {
    let set = nft("ip t s");
    let mut w = world(&[&set], &[]);
    w.bans.ban(&[request("192.0.2.1", &set, None), request("192.0.2.2", &set, None)], &mut no_warnings);
    w.kernel.flush(&set);
    let only: std::collections::HashSet<std::net::IpAddr> = [ip("192.0.2.2").first(), ip("203.0.113.5").first()].into();
    let report = w.bans.put_back(&set, Some(&only), &mut no_warnings).unwrap();
    assert_eq!((report.stored, report.restored), (1, 1));
    assert_eq!(w.kernel.held(&set), [ip("192.0.2.2")]);
    // A set the kernel no longer has: counted as failed, with the reason.
    w.kernel.delete_set(&set);
    let report = w.bans.put_back(&set, None, &mut no_warnings).unwrap();
    assert_eq!((report.restored, report.failed), (0, 2));
    assert_eq!(report.error.unwrap().kind(), crate::firewall::ErrorKind::NoSuchSet);
    // A backend with no store is nothing to put back (and makes no file).
    let ipset = SetRef::parse_ipset("v4").unwrap();
    assert_eq!(w.bans.put_back(&ipset, None, &mut no_warnings).unwrap().stored, 0);
    assert!(!w.dir.path().join("action_ipsetBan.json.log").exists());
}

/// Whether another open file description holding `path` could not take its lock now.
fn is_locked(path: &std::path::Path) -> bool {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).unwrap();
    // SAFETY: flock on a descriptor we own; released when `file` closes.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) != 0 }
}

#[test]
fn what_an_allow_set_holds_is_never_banned_while_it_is_there() {
    let (drop, allow) = (nft("inet t drop4"), nft("inet t allow4"));
    let mut w = world(&[&drop, &allow], &["198.51.100.0/24"]);
    w.bans.set_allow_sets(vec![allow.clone()]);
    let outcomes = w.bans.ban(
        &[
            request("192.0.2.0/28", &allow, Some(3600)),
            // An accept of a never-ban address is no ban: not refused.
            request("198.51.100.9", &allow, None),
        ],
        &mut no_warnings,
    );
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Banned(_))), "{outcomes:?}");
    let outcomes = w.bans.ban(
        &[
            request("192.0.2.7", &drop, Some(60)),
            // Overlapping an accept: refused too.
            request("192.0.2.0/24", &drop, Some(60)),
            request("203.0.113.1", &drop, Some(60)),
        ],
        &mut no_warnings,
    );
    assert!(matches!(outcomes[0], Outcome::Refused(Refusal::Allowed)), "{:?}", outcomes[0]);
    assert!(matches!(outcomes[1], Outcome::Refused(Refusal::Allowed)), "{:?}", outcomes[1]);
    assert!(matches!(outcomes[2], Outcome::Banned(_)), "{:?}", outcomes[2]);
    assert_eq!(w.kernel.held(&drop), [ip("203.0.113.1")]);
    // Once the accept has ended, the address is banned like any other.
    w.clock.advance(3601 * 1_000_000);
    let outcomes = w.bans.ban(&[request("192.0.2.7", &drop, Some(60))], &mut no_warnings);
    assert!(matches!(outcomes[0], Outcome::Banned(_)), "{:?}", outcomes[0]);
}
