//! The real kernel, as root, each test in its own network namespace.
//!
//! Each test makes a namespace with `ip netns add` (`firewall::test_netns`), writes its tables with
//! `ip netns exec NS nft -f -`, and runs the client on a thread of its own
//! that has entered the namespace with `setns()` (CLONE_NEWNET changes only
//! the calling thread). Results are read back with `nft -j list set`, a
//! reader independent of ours. The host's ruleset is never touched.
//! Without root every test prints "skipped: needs root" and passes, or fails
//! under `CI=true` (`crate::testenv`).

use std::io::Write;
use std::net::IpAddr;
use std::process::Stdio;
use std::time::Instant;

use super::client::Refresh;
use super::*;
use crate::firewall::test_netns;

/// A scratch network namespace (deleted on drop) and `nft` run inside it.
struct Netns(test_netns::Netns);

impl Netns {
    fn new(tag: &str) -> Option<Netns> {
        test_netns::Netns::new(format!("bwnft-{tag}-{}", std::process::id())).map(Netns)
    }

    /// Runs an nft script inside the namespace.
    fn nft(&self, script: &str) {
        let mut child = self.0.exec("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "nft -f - <<< {script}");
    }

    /// The set's elements per `nft -j list set`: (address, expires in s).
    fn elements(&self, path: &str) -> Vec<(Network, Option<u64>)> {
        let out = self.0.exec("nft").args(["-j", "list", "set"]).args(path.split(' ')).output().unwrap();
        assert!(out.status.success(), "nft list set {path}: {}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut found = Vec::new();
        for item in json["nftables"].as_array().unwrap() {
            for e in item["set"]["elem"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let (val, expires) = match e.get("elem") {
                    Some(inner) => (&inner["val"], inner["expires"].as_u64()),
                    None => (e, None),
                };
                // An address is a string; a network of an interval set is
                // {"prefix": {"addr": A, "len": N}}.
                let text = match (val.as_str(), val.get("prefix")) {
                    (Some(s), _) => Some(s.to_string()),
                    (None, Some(p)) => Some(format!("{}/{}", p["addr"].as_str().unwrap_or(""), p["len"])),
                    _ => None,
                };
                if let Some(net) = text.and_then(|s| s.parse().ok()) {
                    found.push((net, expires));
                }
            }
        }
        found
    }

    /// Runs `f` with a client on a thread inside the namespace.
    fn run<T: Send>(&self, f: impl FnOnce(&mut NftClient) -> T + Send) -> T {
        self.0.inside(|| f(&mut NftClient::open().unwrap()))
    }
}

const TABLES: &str = "
table ip t { set s { type ipv4_addr; flags timeout; }; set p { type ipv4_addr; }; set v6 { type ipv6_addr; flags timeout; }; }
table ip6 t6 { set s6 { type ipv6_addr; flags timeout; }; }
table inet ti { set s4 { type ipv4_addr; flags timeout; }; set s6 { type ipv6_addr; flags timeout; }; }
";

fn set(path: &str) -> NftSet {
    NftSet::parse(path).unwrap()
}

fn ip(s: &str) -> Network {
    s.parse().unwrap()
}

fn el(s: &str, timeout_s: Option<u64>) -> Element {
    Element { net: ip(s), timeout_ms: timeout_s.map(|s| s * 1000) }
}

fn find(elems: &[(Network, Option<u64>)], s: &str) -> Option<Option<u64>> {
    elems.iter().find(|(a, _)| *a == ip(s)).map(|&(_, e)| e)
}

#[test]
fn add_with_timeout_and_permanent() {
    let Some(ns) = Netns::new("add") else { return };
    ns.nft(TABLES);
    let (s, p) = (set("ip t s"), set("t p"));
    let r =
        ns.run(|c| c.add(&[(&s, &[el("192.0.2.1", Some(60)), el("192.0.2.2", None)]), (&p, &[el("192.0.2.3", None)])]));
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    let got = ns.elements("ip t s");
    let expires = find(&got, "192.0.2.1").expect("192.0.2.1 added").expect("with a timeout");
    assert!((58..=60).contains(&expires), "expires in {expires} s");
    assert_eq!(find(&got, "192.0.2.2"), Some(None), "permanent");
    assert_eq!(ns.elements("ip t p"), vec![(ip("192.0.2.3"), None)]);
}

#[test]
fn re_add_replaces_the_timeout() {
    let Some(ns) = Netns::new("readd") else { return };
    ns.nft(TABLES);
    let s = set("ip t s");
    for refresh in [Refresh::Update, Refresh::DestroyFirst, Refresh::AddDelAdd] {
        for (timeout, want) in [(Some(100), 95..=100), (Some(10), 5..=10), (Some(1000), 995..=1000), (None, 0..=0)] {
            let r = ns.run(|c| {
                c.force_refresh(refresh);
                c.add(&[(&s, &[el("192.0.2.1", timeout), el("192.0.2.9", Some(500))])])
            });
            assert!(r[0].is_ok(), "{refresh:?}: {r:?}");
            let got = find(&ns.elements("ip t s"), "192.0.2.1").expect("present");
            match got {
                Some(e) => assert!(timeout.is_some() && want.contains(&e), "{refresh:?}: {timeout:?} gave expires {e}"),
                None => assert!(timeout.is_none(), "{refresh:?}: {timeout:?} left it permanent"),
            }
        }
        // From permanent back to a timeout.
        ns.run(|c| c.add(&[(&s, &[el("192.0.2.1", Some(30))])]))[0].as_ref().unwrap();
        assert!(matches!(find(&ns.elements("ip t s"), "192.0.2.1"), Some(Some(25..=30))), "{refresh:?}");
    }
}

#[test]
fn ipv4_ipv6_and_inet_in_one_call() {
    let Some(ns) = Netns::new("fam") else { return };
    ns.nft(TABLES);
    let sets = [set("ip t s"), set("ip6 t6 s6"), set("inet ti s4"), set("inet ti s6"), set("ip t v6")];
    let a = [el("192.0.2.1", Some(60))];
    let b = [el("2001:db8::1", Some(60)), el("2001:db8::2", None)];
    let r = ns.run(|c| c.add(&[(&sets[0], &a), (&sets[1], &b), (&sets[2], &a), (&sets[3], &b), (&sets[4], &b)]));
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    assert_eq!(ns.elements("ip t s").len(), 1);
    assert_eq!(ns.elements("ip6 t6 s6").len(), 2);
    assert_eq!(ns.elements("inet ti s4").len(), 1);
    assert_eq!(ns.elements("inet ti s6").len(), 2);
    // An ip table may hold an IPv6 set (Pyruse's two-word paths): allowed.
    assert_eq!(ns.elements("ip t v6").len(), 2);
    // The key type decides in an inet table.
    let r = ns.run(|c| c.add(&[(&sets[2], &b[..1])]));
    assert!(matches!(&r[0], Err(NftError::WrongKey { key: KeyType::Ipv4Addr, .. })), "{r:?}");
}

#[test]
fn a_missing_set_does_not_lose_the_others() {
    let Some(ns) = Netns::new("missing") else { return };
    ns.nft(TABLES);
    let (good, missing, gone) = (set("ip t s"), set("ip nope s"), set("inet ti s4"));
    let r = ns.run(|c| {
        let mut r = c.add(&[(&missing, &[el("192.0.2.1", Some(60))]), (&good, &[el("192.0.2.2", Some(60))])]);
        // A set that vanishes after it was checked: the kernel refuses it
        // inside the transaction, which is sent again without it.
        assert!(c.add(&[(&gone, &[el("192.0.2.3", None)])])[0].is_ok());
        ns.nft("delete table inet ti");
        r.extend(c.add(&[
            (&good, &[el("192.0.2.4", None)]),
            (&gone, &[el("192.0.2.5", None)]),
            (&good, &[el("192.0.2.6", None)]),
        ]));
        r
    });
    let msg = r[0].as_ref().unwrap_err().to_string();
    assert_eq!(msg, r#"nftables set "ip nope s": no such table or set"#);
    assert!(r[1].is_ok() && r[2].is_ok() && r[4].is_ok(), "{r:?}");
    assert!(matches!(&r[3], Err(NftError::NoSuchSet { set }) if *set == gone), "{r:?}");
    let got = ns.elements("ip t s");
    for a in ["192.0.2.2", "192.0.2.4", "192.0.2.6"] {
        assert!(find(&got, a).is_some(), "{a} lost: {got:?}");
    }
}

#[test]
fn timeout_on_a_set_without_the_flag() {
    let Some(ns) = Netns::new("noflag") else { return };
    ns.nft(TABLES);
    let (p, s) = (set("ip t p"), set("ip t s"));
    let r = ns.run(|c| {
        let mut r = c.add(&[(&p, &[el("192.0.2.1", Some(60))]), (&s, &[el("192.0.2.2", Some(60))])]);
        // The flag removed after the set was checked: the kernel's EINVAL is explained.
        ns.nft("delete set ip t s; add set ip t s { type ipv4_addr; }");
        r.extend(c.add(&[(&s, &[el("192.0.2.3", Some(60))])]));
        r
    });
    assert_eq!(
        r[0].as_ref().unwrap_err().to_string(),
        r#"nftables set "ip t p" has no "flags timeout" but 192.0.2.1 was given a timeout of 60000 ms"#
    );
    assert!(r[1].is_ok());
    assert!(matches!(&r[2], Err(NftError::NoTimeoutFlag { .. })), "{r:?}");
    assert!(ns.elements("ip t p").is_empty());
}

#[test]
fn set_full() {
    let Some(ns) = Netns::new("full") else { return };
    ns.nft("table ip t { set f { type ipv4_addr; size 2; }; set s { type ipv4_addr; }; }");
    let (f, s) = (set("ip t f"), set("ip t s"));
    let three = [el("192.0.2.1", None), el("192.0.2.2", None), el("192.0.2.3", None)];
    let r = ns.run(|c| c.add(&[(&f, &three), (&s, &three)]));
    assert!(matches!(&r[0], Err(NftError::SetFull { .. })), "{r:?}");
    assert!(r[1].is_ok());
    assert_eq!(ns.elements("ip t s").len(), 3);
}

#[test]
fn delete_present_and_absent() {
    let Some(ns) = Netns::new("del") else { return };
    ns.nft(TABLES);
    let s = set("ip t s");
    for refresh in [Refresh::Update, Refresh::AddDelAdd] {
        ns.run(|c| {
            assert!(
                c.add(&[(&s, &[el("192.0.2.1", Some(60)), el("192.0.2.2", None), el("192.0.2.3", None)])])[0].is_ok()
            );
            c.force_refresh(refresh); // AddDelAdd also means no DESTROYSETELEM
            c.delete(&s, &[ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.200")]).unwrap();
            c.delete(&s, &[ip("192.0.2.200")]).unwrap();
        });
        assert_eq!(ns.elements("ip t s"), vec![(ip("192.0.2.3"), None)], "{refresh:?}");
        let e = ns.run(|c| c.delete(&set("ip t nope"), &[ip("192.0.2.3")])).unwrap_err();
        assert!(matches!(e, NftError::NoSuchSet { .. }), "{e}");
    }
}

#[test]
fn set_info_and_list() {
    let Some(ns) = Netns::new("info") else { return };
    ns.nft(TABLES);
    ns.nft(
        "table ip t { set iv { type ipv4_addr; flags interval,timeout; }; set c { type ipv4_addr . inet_service; }; }",
    );
    let (s, iv) = (set("ip t s"), set("ip t iv"));
    ns.run(|c| {
        assert_eq!(
            c.set_info(&s).unwrap(),
            SetInfo { key: KeyType::Ipv4Addr, timeout_flag: true, interval: false, default_timeout_ms: None }
        );
        assert_eq!(
            c.set_info(&set("ip t p")).unwrap(),
            SetInfo { key: KeyType::Ipv4Addr, timeout_flag: false, interval: false, default_timeout_ms: None }
        );
        assert_eq!(c.set_info(&set("ip6 t6 s6")).unwrap().key, KeyType::Ipv6Addr);
        assert!(c.set_info(&iv).unwrap().interval);
        assert!(matches!(c.set_info(&set("ip t c")).unwrap().key, KeyType::Other(_)));
        assert!(matches!(c.set_info(&set("ip t nope")), Err(NftError::NoSuchSet { .. })));
        assert!(matches!(c.add(&[(&set("ip t c"), &[el("192.0.2.1", None)])])[0], Err(NftError::WrongKey { .. })));

        let elems = [el("192.0.2.1", Some(60)), el("192.0.2.2", None), el("192.0.2.255", Some(5))];
        assert!(c.add(&[(&s, &elems), (&iv, &elems)]).iter().all(Result::is_ok));
        for set in [&s, &iv] {
            let mut got = c.list(set).unwrap();
            got.sort();
            assert_eq!(got.len(), 3, "{set}: {got:?}");
            assert!(matches!(got[0], (a, Some(59_000..=60_000)) if a == ip("192.0.2.1")), "{got:?}");
            assert_eq!(got[1], (ip("192.0.2.2"), None));
            assert!(matches!(got[2].1, Some(4_000..=5_000)), "{got:?}");
        }
        c.delete(&iv, &[ip("192.0.2.2")]).unwrap();
        assert_eq!(c.list(&iv).unwrap().len(), 2);
    });
    // nft reads the interval set as single addresses: start and end are right.
    let got = ns.elements("ip t iv");
    assert_eq!(got.len(), 2, "{got:?}");
}

#[test]
fn ipv4_for_ip6_set_refused_without_a_table() {
    let Some(ns) = Netns::new("v4in6") else { return };
    // No table at all: FamilyMismatch, not NoSuchSet, shows nothing was asked.
    let r = ns.run(|c| c.add(&[(&set("ip6 t6 s6"), &[el("2001:db8::1", None), el("192.0.2.1", None)])]));
    assert_eq!(
        r[0].as_ref().unwrap_err().to_string(),
        r#"nftables set "ip6 t6 s6" of family ip6 cannot hold the IPv4 address 192.0.2.1 (caller's bug: pick the IPv4 set)"#
    );
}

#[test]
fn hundred_thousand_in_one_call_and_rates() {
    let Some(ns) = Netns::new("big") else { return };
    ns.nft(TABLES);
    let (s, s6) = (set("ip t s"), set("inet ti s6"));
    let v4: Vec<Element> = (0..100_000u32)
        .map(|i| Element {
            net: Network::from(IpAddr::from((0x0a00_0000 + i).to_be_bytes())),
            timeout_ms: Some(3_600_000),
        })
        .collect();
    let v6: Vec<Element> = (0..1000u128)
        .map(|i| Element {
            net: Network::from(IpAddr::from((0x2001_0db8u128 << 96 | i).to_be_bytes())),
            timeout_ms: None,
        })
        .collect();
    ns.run(|c| {
        let t = Instant::now();
        let r = c.add(&[(&s, &v4), (&s6, &v6)]);
        let dt = t.elapsed();
        assert!(r.iter().all(Result::is_ok), "{r:?}");
        println!("100,000 + 1,000 elements in one add(): {dt:?}, {:.0} elements/s", 101_000.0 / dt.as_secs_f64());
        assert_eq!(c.list(&s).unwrap().len(), 100_000);
        assert_eq!(c.list(&s6).unwrap().len(), 1000);
        // Again: every one of them is refreshed, none fails with EEXIST.
        let t = Instant::now();
        assert!(c.add(&[(&s, &v4)])[0].is_ok());
        println!("re-adding 100,000: {:.0} elements/s", 100_000.0 / t.elapsed().as_secs_f64());

        let n = 2000;
        let t = Instant::now();
        for e in &v4[..n] {
            assert!(c.add(&[(&s, std::slice::from_ref(e))])[0].is_ok());
        }
        println!("single-element add: {:?} each", t.elapsed() / n as u32);
        let t = Instant::now();
        let ips: Vec<Network> = v4.iter().map(|e| e.net).collect();
        c.delete(&s, &ips).unwrap();
        println!("deleting 100,000: {:.0} elements/s", 100_000.0 / t.elapsed().as_secs_f64());
        assert!(c.list(&s).unwrap().is_empty());
    });
    assert_eq!(ns.elements("inet ti s6").len(), 1000);
}

/// Every element with its own timeout, as `boot` sends them (each ban has
/// its own time left): all must be in the set, none only acknowledged.
#[test]
fn many_elements_with_distinct_timeouts() {
    let Some(ns) = Netns::new("distinct") else { return };
    ns.nft(TABLES);
    let s = set("ip t s");
    let v4: Vec<Element> = (0..60_000u32)
        .map(|i| Element {
            net: Network::from(IpAddr::from((0x0a00_0000 + i).to_be_bytes())),
            timeout_ms: Some(600_000 - u64::from(i % 50_000) * 7),
        })
        .collect();
    ns.run(|c| {
        let r = c.add(&[(&s, &v4)]);
        assert!(r.iter().all(Result::is_ok), "{r:?}");
        assert_eq!(c.list(&s).unwrap().len(), v4.len());
    });
}

const INTERVAL_TABLES: &str = "
table ip t { set n { type ipv4_addr; flags interval,timeout; }; set nt { type ipv4_addr; flags interval; }; set plain { type ipv4_addr; flags timeout; }; }
table ip6 t6 { set n6 { type ipv6_addr; flags interval,timeout; }; }
";

#[test]
fn networks_into_an_interval_set_listed_and_deleted() {
    let Some(ns) = Netns::new("nets") else { return };
    ns.nft(INTERVAL_TABLES);
    let (n, nt, n6) = (set("ip t n"), set("ip t nt"), set("ip6 t6 n6"));
    ns.run(|c| {
        let v4 = [el("203.0.113.0/24", Some(60)), el("198.51.100.0/24", None), el("192.0.2.7", Some(30))];
        let v6 = [el("2001:db8:1:2::/64", Some(60)), el("2001:db8:9::/48", None)];
        let r = c.add(&[(&n, &v4), (&nt, &v4[1..2]), (&n6, &v6)]);
        assert!(r.iter().all(Result::is_ok), "{r:?}");

        let mut got = c.list(&n).unwrap();
        got.sort();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(matches!(got[0], (a, Some(29_000..=30_000)) if a == ip("192.0.2.7")), "{got:?}");
        assert_eq!(got[1], (ip("198.51.100.0/24"), None));
        assert!(matches!(got[2], (a, Some(59_000..=60_000)) if a == ip("203.0.113.0/24")), "{got:?}");
        assert_eq!(c.list(&nt).unwrap(), vec![(ip("198.51.100.0/24"), None)]);
        let mut got6 = c.list(&n6).unwrap();
        got6.sort();
        assert_eq!(got6[0], (ip("2001:db8:1:2::/64"), got6[0].1));
        assert!(matches!(got6[0].1, Some(59_000..=60_000)), "{got6:?}");
        assert_eq!(got6[1], (ip("2001:db8:9::/48"), None));

        c.delete(&n, &[ip("203.0.113.0/24"), ip("192.0.2.7")]).unwrap();
        c.delete(&n6, &[ip("2001:db8:1:2::/64")]).unwrap();
        assert_eq!(c.list(&n).unwrap(), vec![(ip("198.51.100.0/24"), None)]);
        assert_eq!(c.list(&n6).unwrap(), vec![(ip("2001:db8:9::/48"), None)]);
    });
    // nft, an independent reader, sees the same networks.
    assert_eq!(ns.elements("ip t n"), vec![(ip("198.51.100.0/24"), None)]);
    assert_eq!(ns.elements("ip6 t6 n6"), vec![(ip("2001:db8:9::/48"), None)]);
}

#[test]
fn a_network_into_a_set_without_intervals_is_refused() {
    let Some(ns) = Netns::new("noiv") else { return };
    ns.nft(INTERVAL_TABLES);
    let plain = set("ip t plain");
    let r = ns.run(|c| c.add(&[(&plain, &[el("192.0.2.1", None), el("203.0.113.0/24", Some(60))])]));
    assert!(matches!(&r[0], Err(NftError::NoIntervals { net, .. }) if *net == ip("203.0.113.0/24")), "{r:?}");
    // Refused before sending: not even the address that fitted went in.
    assert!(ns.elements("ip t plain").is_empty());
}

/// The ban service never sends an overlapping element (bans/cover.rs keeps
/// only the outermost bans in the kernel). This records what the kernel does
/// if it were sent: nftables refuses an interval that overlaps one already
/// there, so a whole batch would fail on it.
#[test]
fn overlapping_elements_what_the_kernel_does() {
    let Some(ns) = Netns::new("overlap") else { return };
    ns.nft(INTERVAL_TABLES);
    let n = set("ip t n");
    let (inside, over, same) = ns.run(|c| {
        assert!(c.add(&[(&n, &[el("203.0.113.0/24", None)])])[0].is_ok());
        let inside = c.add(&[(&n, &[el("203.0.113.7", None)])]).remove(0);
        let over = c.add(&[(&n, &[el("203.0.112.0/23", None)])]).remove(0);
        // The same network again is a refresh, not an overlap.
        let same = c.add(&[(&n, &[el("203.0.113.0/24", Some(60))])]).remove(0);
        (inside, over, same)
    });
    println!("address inside a network: {inside:?}; network over a network: {over:?}; same network: {same:?}");
    let got = ns.elements("ip t n");
    println!("then nft lists: {got:?}; banwarden lists: {:?}", ns.run(|c| c.list(&n)));
    assert!(same.is_ok(), "{same:?}");
    // An address inside: EEXIST (its start falls inside an interval).
    assert!(
        matches!(&inside, Err(NftError::Kernel { source, .. }) if source.raw_os_error() == Some(libc::EEXIST)),
        "{inside:?}"
    );
    // A network over it sharing its end (kernel 6.18): accepted, as a second
    // start before the /24's; lookups then match the whole /23, and both nft
    // and banwarden list it as two /24s, the upper one with its own timeout.
    assert!(over.is_ok(), "{over:?}");
    assert_eq!(got, vec![(ip("203.0.112.0/24"), None), (ip("203.0.113.0/24"), got[1].1)]);
    let mut ours = ns.run(|c| c.list(&n)).unwrap();
    ours.sort();
    assert_eq!(ours.iter().map(|e| e.0).collect::<Vec<_>>(), vec![ip("203.0.112.0/24"), ip("203.0.113.0/24")]);
}

#[test]
fn a_range_added_by_hand_lists_as_its_networks() {
    let Some(ns) = Netns::new("range") else { return };
    ns.nft(INTERVAL_TABLES);
    ns.nft("add element ip t nt { 10.0.0.1-10.0.0.9 }");
    let mut got = ns.run(|c| c.list(&set("ip t nt"))).unwrap();
    got.sort();
    let want: Vec<_> =
        ["10.0.0.1", "10.0.0.2/31", "10.0.0.4/30", "10.0.0.8/31"].iter().map(|s| (ip(s), None)).collect();
    assert_eq!(got, want);
}

#[test]
fn one_key_is_looked_up() {
    let Some(ns) = Netns::new("get") else { return };
    ns.nft(
        "table ip t { set s { type ipv4_addr; flags timeout; }; set n { type ipv4_addr; flags interval,timeout; }; }
         add element ip t s { 192.0.2.1 timeout 1h, 192.0.2.2 }
         add element ip t n { 198.51.100.0/24 timeout 1h, 203.0.113.7, 10.0.0.1-10.0.0.9 }",
    );
    let s = set("ip t s");
    let n = set("ip t n");
    let net = |s: &str| s.parse::<Network>().unwrap();
    let addr = |s: &str| s.parse::<IpAddr>().unwrap();
    let got = ns.run(|c| {
        [
            c.get(&s, addr("192.0.2.1")),
            c.get(&s, addr("192.0.2.2")),
            c.get(&s, addr("192.0.2.3")),
            // The kernel answers with the interval holding the key: its start,
            // then its end when asked with NFT_SET_ELEM_INTERVAL_END.
            c.get(&n, addr("198.51.100.77")),
            c.get(&n, addr("198.51.100.255")),
            c.get(&n, addr("203.0.113.7")),
            c.get(&n, addr("198.51.101.0")),
            // A range added by hand: the network of it that holds the key.
            c.get(&n, addr("10.0.0.5")),
            // The other family: not held, and no error.
            c.get(&s, addr("2001:db8::1")),
        ]
        .map(Result::unwrap)
    });
    let (elem, left) = got[0].unwrap();
    assert_eq!(elem, net("192.0.2.1"));
    assert!(matches!(left, Some(3_590_000..=3_600_000)), "{left:?}");
    assert_eq!(got[1], Some((net("192.0.2.2"), None)));
    assert_eq!(got[2], None);
    let (elem, left) = got[3].unwrap();
    assert_eq!(elem, net("198.51.100.0/24"));
    assert!(matches!(left, Some(3_590_000..=3_600_000)), "{left:?}");
    assert_eq!(got[4].map(|g| g.0), Some(net("198.51.100.0/24")));
    assert_eq!(got[5], Some((net("203.0.113.7"), None)));
    assert_eq!(got[6], None);
    assert_eq!(got[7].map(|g| g.0), Some(net("10.0.0.4/30")));
    assert_eq!(got[8], None);
    let missing = ns.run(|c| c.get(&set("ip t nope"), addr("192.0.2.1")));
    assert!(matches!(missing, Err(NftError::NoSuchSet { .. })), "{missing:?}");
}
