//! The loop's side of the fleet without Redis: commands of the fleet
//! through the door (the same ban path as the journal's), the position
//! saved with the cursor, and the decisions told to the fleet's hook.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::tests::{after_the_marker, sleep_5ms, NOW};
use super::*;
use crate::bans::{Outcome, Refusal};
use crate::door::{Applied, Command, Decision, FleetOp};
use crate::firewall::fake::FakeKernel;
use crate::time::FixedClock;
use crate::vocab::{BanRequest, Lifetime, Network, Origin, SetRef};

const HOUR_US: u64 = 3_600_000_000;

#[test]
fn the_fleets_commands_take_the_ban_path_and_its_position_is_saved_with_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let attackers = 20;
    let Some((mut config, source, storage)) = after_the_marker(dir.path(), attackers) else { return };
    let fleet_json = r#"{"redis": "unix:///nowhere.sock", "host": "here"}"#;
    let json: crate::config::json::Json = serde_json::from_str(fleet_json).unwrap();
    let mut problems = crate::config::problem::Problems::default();
    let here = crate::config::problem::Location::key("fleet");
    config.settings.fleet = crate::config::fleet::read_fleet(&json, here, &mut problems);
    let ban4 = SetRef::parse_nft("ip t ban4").unwrap();
    let kernel = FakeKernel::with_sets(&[&ban4]);
    let clock = Arc::new(FixedClock::new(NOW));
    let options = Options { source: source.clone(), from_tail: false, config: None };
    let stop = AtomicBool::new(false);
    let decided: Arc<Mutex<Vec<Decision>>> = Arc::default();
    let ban = |ip: &str, end: u64| {
        FleetOp::Ban(BanRequest {
            net: Network::target(ip).unwrap(),
            set: ban4.clone(),
            lifetime: Lifetime::EndsAt(end),
            origin: Origin::Fleet { host: "a".into() },
            replace: false,
            reason: None,
        })
    };
    std::thread::scope(|scope| {
        let (theirs, their_clock, stop, told) = (kernel.clone(), clock.clone(), &stop, decided.clone());
        let (tx, rx) = mpsc::channel();
        scope.spawn(move || {
            let daemon = Daemon::open_with_kernel(config, &options, Box::new(theirs), their_clock).unwrap();
            let daemon = daemon.on_decisions(Box::new(move |d| told.lock().unwrap().extend(d)));
            tx.send(daemon.door()).unwrap();
            daemon.run(stop)
        });
        let door = rx.recv().unwrap();
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = StopOnDrop(stop);
        let apply = |ops: Vec<FleetOp>, position: &str| {
            let (tx, rx) = mpsc::channel();
            let reply = Box::new(move |a| tx.send(a).unwrap());
            door.send(Command::Fleet { ops, position: Some(position.into()), reply }).unwrap();
            rx.recv_timeout(Duration::from_secs(10)).expect("a reply")
        };
        let end = NOW + HOUR_US;
        let applied = apply(vec![ban("10.1.1.1", end), ban("192.0.2.5", end), ban("10.1.1.2", end)], "5-0");
        assert!(
            matches!(applied[0], Applied::Ban(Outcome::Banned(crate::vocab::Until::At(e))) if e == end),
            "{applied:?}"
        );
        assert!(matches!(applied[1], Applied::Ban(Outcome::Refused(Refusal::NeverBan))), "{applied:?}");
        assert!(kernel.held(&ban4).contains(&Network::target("10.1.1.1").unwrap()));
        let log = storage.join("action_nftBan.json.log");
        let stored = std::fs::read_to_string(&log).unwrap();
        assert!(stored.contains(r#""by": "fleet a""#), "{stored}");
        // The same entry again, and a shorter one: nothing changes.
        let again = apply(vec![ban("10.1.1.1", end), ban("10.1.1.1", end - HOUR_US / 2)], "6-0");
        assert!(matches!(again[1], Applied::Ban(Outcome::Kept(_))), "{again:?}");
        let lines_of = |ip: &str| std::fs::read_to_string(&log).unwrap().matches(&format!("\"IP\": \"{ip}\"")).count();
        assert_eq!(lines_of("10.1.1.1"), 1, "no new store line");
        // An unban, then a resync's forgetting: bans of the fleet that the
        // snapshot lacks are lifted, the rules' own are not.
        let unban = FleetOp::Unban {
            net: Network::target("10.1.1.1").unwrap(),
            set: ban4.clone(),
            origin: Origin::Fleet { host: "b".into() },
        };
        let forget = FleetOp::Forget { sets: vec![ban4.clone()], keep: Default::default() };
        let done = apply(vec![unban, forget], "7-0");
        assert!(matches!(done[0], Applied::Unban(Ok(true))), "{done:?}");
        assert!(matches!(done[1], Applied::Forgot(Ok(1))), "{done:?}");
        assert!(!kernel.held(&ban4).contains(&Network::target("10.1.1.2").unwrap()));
        // The journal's bans were told to the fleet, the fleet's were not.
        let rules_done = (0..1000).any(|_| kernel.held(&ban4).len() == attackers as usize - 1 || sleep_5ms());
        assert!(rules_done, "{:?}", kernel.held(&ban4));
        let told = decided.lock().unwrap().clone();
        assert_eq!(told.len(), attackers as usize - 1, "{told:?}");
        assert!(told.iter().all(|d| matches!(d, Decision::Ban { origin: Origin::Rule { .. }, .. })));
        // The position goes to disk with the cursor.
        clock.advance(SAVE_EVERY.as_micros() as u64 + 1);
        let file = CursorFile::new(&storage, &source);
        let saved = (0..1000).any(|_| file.load_all().unwrap().1.as_deref() == Some("7-0") || sleep_5ms());
        stop.store(true, Ordering::Relaxed);
        assert!(saved, "{:?}", file.load_all());
    });
}
