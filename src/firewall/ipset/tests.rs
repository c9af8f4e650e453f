//! Tests against the real kernel, each in its own network namespace, checked with the
//! `ipset` tool itself; plus the checks that need no root. Tests needing root print
//! "skipped: needs root" and pass otherwise, or fail under `CI=true` (`crate::testenv`).
//! Rates: `cargo test --release ipset -- --nocapture`.

use super::*;
use crate::firewall::test_netns;
use crate::testenv;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::time::Instant;

/// A scratch network namespace (deleted on drop) and the `ipset` tool run inside it.
struct Netns(test_netns::Netns);

impl Netns {
    /// `None` (after printing why) when the test cannot run here.
    fn new(tag: &str) -> Option<Netns> {
        let has_ipset = Command::new("ipset").arg("--version").output().is_ok();
        if !testenv::require(has_ipset, "needs the ipset tool (Debian package ipset)") {
            return None;
        }
        test_netns::Netns::new(format!("bw-ipset-{}-{tag}", std::process::id())).map(Netns)
    }

    /// Runs `ipset ARGS` in the namespace; returns (success, stdout + stderr).
    fn ipset(&self, args: &[&str]) -> (bool, String) {
        let out = self.0.exec("ipset").args(args).output().expect("running ip netns exec");
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    fn create(&self, spec: &str) {
        let args: Vec<&str> = std::iter::once("create").chain(spec.split_whitespace()).collect();
        let (ok, text) = self.ipset(&args);
        assert!(ok, "ipset create {spec}: {text}");
    }

    /// Whether `ipset test SET IP` finds the address.
    fn has(&self, set: &str, ip: &str) -> bool {
        self.ipset(&["test", set, ip]).0
    }

    /// The timeout of one member in `ipset list -o save` (`None`: no timeout shown).
    fn saved_timeout(&self, set: &str, ip: &str) -> Option<u32> {
        let (ok, text) = self.ipset(&["list", "-o", "save", set]);
        assert!(ok, "{text}");
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("add {set} {ip}")))
            .unwrap_or_else(|| panic!("{ip} not in {text}"));
        line.split(" timeout ").nth(1).map(|t| t.trim().parse().unwrap())
    }

    /// A client opened from a thread inside the namespace: the socket stays bound to it.
    fn client(&self) -> IpsetClient {
        self.0.inside(|| IpsetClient::open().expect("opening the client"))
    }
}

fn el(ip: &str, timeout_secs: Option<u32>) -> IpsetElement {
    IpsetElement { net: ip.parse().unwrap(), timeout_secs }
}

/// `count` distinct IPv4 addresses from 10.0.0.0/8.
fn v4_addrs(count: u32) -> Vec<Network> {
    (0..count).map(|i| Network::from(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)))).collect()
}

#[test]
fn names_are_checked_before_any_io() {
    let long = "x".repeat(32);
    for bad in ["", long.as_str(), "a\0b"] {
        assert!(matches!(check_name(bad), Err(IpsetError::InvalidName { .. })), "{bad:?}");
    }
    assert!(check_name(&"x".repeat(31)).is_ok());
}

#[test]
fn creation_command_is_copyable() {
    assert_eq!(
        creation_command("ban4", false, false),
        "ipset create ban4 hash:ip family inet timeout 0 maxelem 1048576"
    );
    assert_eq!(
        creation_command("ban6", true, false),
        "ipset create ban6 hash:ip family inet6 timeout 0 maxelem 1048576"
    );
    assert_eq!(
        creation_command("net6", true, true),
        "ipset create net6 hash:net family inet6 timeout 0 maxelem 1048576"
    );
    assert_eq!(
        creation_command("it's", false, false),
        r"ipset create 'it'\''s' hash:ip family inet timeout 0 maxelem 1048576"
    );
}

#[test]
fn errors_say_what_and_where() {
    let e = IpsetError::WrongFamily { set: "ban4".into(), set_family: NFPROTO_IPV4, ip: "::1".parse().unwrap() };
    assert_eq!(e.to_string(), r#"ipset "ban4" holds IPv4 addresses, cannot take ::1"#);
    let e = set_error("ban4", Some("192.0.2.1".parse().unwrap()), 4353, "hash:ip");
    assert_eq!(e.to_string(), r#"ipset "ban4", element 192.0.2.1: null-valued element (kernel error 4353)"#);
}

#[test]
fn add_with_timeout_reads_back() {
    let Some(ns) = Netns::new("timeout") else { return };
    ns.create("b4 hash:ip family inet timeout 0");
    let mut c = ns.client();
    let failed = c.add("b4", &[el("192.0.2.1", Some(600)), el("192.0.2.2", None), el("192.0.2.3", Some(0))]).unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let t = ns.saved_timeout("b4", "192.0.2.1").unwrap();
    assert!((598..=600).contains(&t), "timeout {t}");
    // Default `timeout 0` and explicit 0 are both permanent.
    assert_eq!(ns.saved_timeout("b4", "192.0.2.2"), Some(0));
    assert_eq!(ns.saved_timeout("b4", "192.0.2.3"), Some(0));
    let mut members = c.list("b4").unwrap();
    members.sort();
    assert_eq!(members.len(), 3);
    assert!(matches!(members[0].1, Some(598..=600)), "{members:?}");
    assert_eq!(members[1..], [("192.0.2.2".parse().unwrap(), None), ("192.0.2.3".parse().unwrap(), None)]);
}

#[test]
fn permanent_in_set_without_timeout() {
    let Some(ns) = Netns::new("permanent") else { return };
    ns.create("p4 hash:ip family inet");
    let mut c = ns.client();
    let failed = c.add("p4", &[el("192.0.2.1", None), el("192.0.2.2", Some(60))]).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, 1);
    assert!(matches!(failed[0].1, IpsetError::TimeoutUnsupported { .. }), "{}", failed[0].1);
    println!("timeout on a set without: {}", failed[0].1);
    assert!(ns.has("p4", "192.0.2.1") && !ns.has("p4", "192.0.2.2"));
    assert_eq!(ns.saved_timeout("p4", "192.0.2.1"), None);
    // Adding it again is no error (-exist semantics).
    assert!(c.add("p4", &[el("192.0.2.1", None)]).unwrap().is_empty());
    assert_eq!(c.list("p4").unwrap(), vec![("192.0.2.1".parse().unwrap(), None)]);
}

#[test]
fn re_add_refreshes_timeout() {
    let Some(ns) = Netns::new("refresh") else { return };
    ns.create("r4 hash:ip family inet timeout 0");
    let mut c = ns.client();
    assert!(c.add("r4", &[el("192.0.2.1", Some(100))]).unwrap().is_empty());
    assert!(ns.saved_timeout("r4", "192.0.2.1").unwrap() <= 100);
    assert!(c.add("r4", &[el("192.0.2.1", Some(5000))]).unwrap().is_empty());
    assert!(ns.saved_timeout("r4", "192.0.2.1").unwrap() >= 4998);
    // Shortening works too: the element is overwritten, not merged.
    assert!(c.add("r4", &[el("192.0.2.1", Some(50))]).unwrap().is_empty());
    assert!(ns.saved_timeout("r4", "192.0.2.1").unwrap() <= 50);
}

#[test]
fn ipv6_set() {
    let Some(ns) = Netns::new("v6") else { return };
    ns.create("b6 hash:ip family inet6 timeout 0");
    let mut c = ns.client();
    let failed = c.add("b6", &[el("2001:db8::1", Some(300)), el("2001:db8::2", None), el("192.0.2.1", None)]).unwrap();
    assert_eq!(failed.len(), 1);
    assert!(matches!(failed[0], (2, IpsetError::WrongFamily { set_family: NFPROTO_IPV6, .. })));
    assert!((298..=300).contains(&ns.saved_timeout("b6", "2001:db8::1").unwrap()));
    assert!(ns.has("b6", "2001:db8::2"));
    assert_eq!(c.info("b6").unwrap().family, NFPROTO_IPV6);
    c.delete("b6", &["2001:db8::1".parse().unwrap()]).unwrap();
    assert_eq!(c.list("b6").unwrap(), vec![("2001:db8::2".parse().unwrap(), None)]);
}

#[test]
fn no_capability_is_a_permission_error() {
    let Some(ns) = Netns::new("perm") else { return };
    ns.create("n4 hash:ip family inet");
    let result = ns.0.inside(|| {
        // The raw syscall changes this thread's credentials only (glibc's setresuid would
        // change every thread of the test binary): it loses CAP_NET_ADMIN.
        // SAFETY: plain syscall with integer arguments.
        let rc = unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) };
        assert_eq!(rc, 0);
        let mut c = IpsetClient::open().unwrap();
        c.add("n4", &[el("192.0.2.1", None)])
    });
    let e = result.unwrap_err();
    assert!(matches!(e, IpsetError::Permission { ref set } if set == "n4"), "{e}");
    println!("{e}");
}

#[test]
fn missing_set_is_a_clear_error() {
    let Some(ns) = Netns::new("missing") else { return };
    let mut c = ns.client();
    let e = c.add("nope", &[el("192.0.2.1", None)]).unwrap_err();
    assert!(matches!(e, IpsetError::NoSuchSet { ref set } if set == "nope"), "{e}");
    assert_eq!(e.to_string(), r#"ipset "nope" does not exist"#);
    assert!(matches!(c.delete("nope", &["192.0.2.1".parse().unwrap()]), Err(IpsetError::NoSuchSet { .. })));
    assert!(matches!(c.info("nope"), Err(IpsetError::NoSuchSet { .. })));
    assert!(matches!(c.list("nope"), Err(IpsetError::NoSuchSet { .. })));
}

#[test]
fn wrong_family_is_per_element() {
    let Some(ns) = Netns::new("family") else { return };
    ns.create("f4 hash:ip family inet");
    let mut c = ns.client();
    let failed = c.add("f4", &[el("2001:db8::1", None), el("192.0.2.1", None)]).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, 0);
    assert_eq!(failed[0].1.to_string(), r#"ipset "f4" holds IPv4 addresses, cannot take 2001:db8::1"#);
    assert!(ns.has("f4", "192.0.2.1"));
}

#[test]
fn full_set_fails_per_element_and_keeps_the_rest() {
    let Some(ns) = Netns::new("full") else { return };
    ns.create("s4 hash:ip family inet maxelem 4 timeout 0");
    let mut c = ns.client();
    let elements: Vec<_> = (1..=10).map(|i| el(&format!("192.0.2.{i}"), Some(600))).collect();
    let failed = c.add("s4", &elements).unwrap();
    assert_eq!(failed.iter().map(|f| f.0).collect::<Vec<_>>(), (4..10).collect::<Vec<_>>());
    assert!(failed.iter().all(|f| matches!(f.1, IpsetError::SetFull { .. })), "{}", failed[0].1);
    println!("full: {}", failed[0].1);
    assert!((1..=4).all(|i| ns.has("s4", &format!("192.0.2.{i}"))));
    // Refreshing a member of a full set still works.
    assert!(c.add("s4", &[el("192.0.2.1", Some(5000))]).unwrap().is_empty());
    // A flood of failures larger than one datagram: every one reported, none lost.
    let flood: Vec<_> = v4_addrs(100_000).into_iter().map(|ip| IpsetElement { net: ip, timeout_secs: None }).collect();
    let t = Instant::now();
    let failed = c.add("s4", &flood).unwrap();
    assert_eq!(failed.len(), 100_000);
    assert!(failed.iter().enumerate().all(|(i, f)| f.0 == i && matches!(f.1, IpsetError::SetFull { .. })));
    println!(
        "100,000 failing adds: {:?}, {} datagram(s) replayed after ENOBUFS, batch {}",
        t.elapsed(),
        c.overruns,
        c.batch
    );
}

#[test]
fn delete_present_and_absent() {
    let Some(ns) = Netns::new("delete") else { return };
    ns.create("d4 hash:ip family inet timeout 0");
    let mut c = ns.client();
    c.add("d4", &[el("192.0.2.1", Some(600)), el("192.0.2.2", None)]).unwrap();
    let ips: Vec<Network> = ["192.0.2.1", "198.51.100.7", "2001:db8::1"].iter().map(|s| s.parse().unwrap()).collect();
    c.delete("d4", &ips).unwrap();
    assert!(!ns.has("d4", "192.0.2.1") && ns.has("d4", "192.0.2.2"));
    c.delete("d4", &ips).unwrap();
}

#[test]
fn info_reads_the_header() {
    let Some(ns) = Netns::new("info") else { return };
    ns.create("i4 hash:ip family inet timeout 0 maxelem 1000");
    ns.create("i6 hash:ip family inet6");
    let mut c = ns.client();
    c.add("i4", &[el("192.0.2.1", None), el("192.0.2.2", Some(60))]).unwrap();
    let want =
        IpsetInfo { type_name: "hash:ip".into(), family: NFPROTO_IPV4, timeout_support: true, size: 2, maxelem: 1000 };
    assert_eq!(c.info("i4").unwrap(), want);
    let want = IpsetInfo {
        type_name: "hash:ip".into(),
        family: NFPROTO_IPV6,
        timeout_support: false,
        size: 0,
        maxelem: 65536,
    };
    assert_eq!(c.info("i6").unwrap(), want);
}

#[test]
fn bulk_100k_in_one_call_and_rates() {
    let Some(ns) = Netns::new("bulk") else { return };
    ns.create("k4 hash:ip family inet timeout 0 maxelem 1048576");
    ns.create("k6 hash:ip family inet6 timeout 0 maxelem 1048576");
    let mut c = ns.client();
    let ips = v4_addrs(100_000);
    let elements: Vec<_> = ips.iter().map(|&ip| IpsetElement { net: ip, timeout_secs: Some(3600) }).collect();
    let t = Instant::now();
    let failed = c.add("k4", &elements).unwrap();
    let took = t.elapsed();
    assert!(failed.is_empty(), "{} failed, first: {}", failed.len(), failed[0].1);
    println!(
        "100,000 IPv4 adds in one call: {took:?} = {:.0} elements/s (batch {})",
        1e5 / took.as_secs_f64(),
        c.batch
    );
    // Refreshing all of them costs the same.
    let t = Instant::now();
    assert!(c.add("k4", &elements).unwrap().is_empty());
    println!("100,000 IPv4 refreshes: {:?}", t.elapsed());
    let (ok, text) = ns.ipset(&["list", "-t", "k4"]);
    assert!(ok && text.contains("Number of entries: 100000"), "{text}");
    let t = Instant::now();
    let mut listed: Vec<Network> = c
        .list("k4")
        .unwrap()
        .into_iter()
        .map(|(ip, t)| {
            assert!(t.is_some());
            ip
        })
        .collect();
    println!("listing 100,000: {:?}", t.elapsed());
    listed.sort();
    assert_eq!(listed, ips);
    assert_eq!(c.info("k4").unwrap().size, 100_000);

    let v6: Vec<_> = (0..100_000u128)
        .map(|i| IpsetElement {
            net: Network::from(IpAddr::V6(Ipv6Addr::from((0x2001_0db8u128 << 96) + i))),
            timeout_secs: Some(3600),
        })
        .collect();
    let t = Instant::now();
    assert!(c.add("k6", &v6).unwrap().is_empty());
    let took = t.elapsed();
    println!("100,000 IPv6 adds in one call: {took:?} = {:.0} elements/s", 1e5 / took.as_secs_f64());
    assert_eq!(c.info("k6").unwrap().size, 100_000);

    // Latency of a single ban, as the daemon does it for one fresh offender.
    let n = 2000;
    let t = Instant::now();
    for i in 0..n {
        assert!(c
            .add(
                "k4",
                &[IpsetElement {
                    net: Network::from(IpAddr::V4(Ipv4Addr::from(0xc000_0200 + i))),
                    timeout_secs: Some(600)
                }]
            )
            .unwrap()
            .is_empty());
    }
    println!("one add() of one element: {:.1} µs", t.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    let t = Instant::now();
    c.delete("k4", &ips).unwrap();
    println!("100,000 deletes: {:?}", t.elapsed());
    assert_eq!(c.info("k4").unwrap().size, n);
}

#[test]
fn longest_message_fits_the_batch_bound() {
    let mut w = message::Writer::default();
    let name = "n".repeat(31);
    w.adt(7, message::IPSET_CMD_ADD, &name, el("ffff::ffff", Some(u32::MAX)), false, 1);
    assert_eq!(w.buf.len(), MAX_ADT_LEN);
}

#[test]
fn dropped_error_replies_are_recovered() {
    let Some(ns) = Netns::new("enobufs") else { return };
    ns.create("o4 hash:ip family inet maxelem 4");
    let mut c = ns.client();
    // Measure what one error reply costs in the receive buffer, then force overruns.
    c.sock.shrink_rcvbuf(32 << 10);
    let rcvbuf = c.sock.rcvbuf();
    let protocol = c.protocol("o4").unwrap();
    c.tx.clear();
    let first = c.next_seq(2048);
    for k in 0..2048u32 {
        c.tx.adt(
            protocol,
            message::IPSET_CMD_ADD,
            "o4",
            IpsetElement { net: Network::from(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + k))), timeout_secs: None },
            false,
            first.wrapping_add(k),
        );
    }
    c.sock.send(&c.tx.buf).unwrap();
    let mut errors = Vec::new();
    assert!(c.drain("o4", first, 2048, &mut errors).unwrap(), "expected an overrun");
    println!("rcvbuf {rcvbuf} B held {} error replies: {} B each", errors.len(), rcvbuf / errors.len().max(1));
    assert!(rcvbuf / errors.len() <= ERROR_TRUESIZE, "ERROR_TRUESIZE is too small an estimate");
    c.delete("o4", &v4_addrs(4)).unwrap();
    let elements: Vec<_> = v4_addrs(5000).into_iter().map(|ip| IpsetElement { net: ip, timeout_secs: None }).collect();
    let failed = c.add("o4", &elements).unwrap();
    assert!(c.overruns > 0);
    assert_eq!(failed.iter().map(|f| f.0).collect::<Vec<_>>(), (4..5000).collect::<Vec<_>>());
    assert!((0..4).all(|i| ns.has("o4", &format!("10.0.0.{i}"))));
}

fn net(s: &str) -> Network {
    s.parse().unwrap()
}

#[test]
fn hash_net_takes_networks_and_hosts() {
    let Some(ns) = Netns::new("hashnet") else { return };
    ns.create("n4 hash:net family inet timeout 0");
    ns.create("n6 hash:net family inet6 timeout 0");
    let mut c = ns.client();
    let failed = c.add("n4", &[el("203.0.113.0/24", Some(600)), el("192.0.2.7", None)]).unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(c.add("n6", &[el("2001:db8:1:2::/64", None)]).unwrap().is_empty());
    // The kernel matches every address of the network, nothing outside it.
    assert!(ns.has("n4", "203.0.113.200") && ns.has("n4", "192.0.2.7"));
    assert!(!ns.has("n4", "203.0.114.1") && !ns.has("n4", "192.0.2.8"));
    assert!(ns.has("n6", "2001:db8:1:2:ffff::1") && !ns.has("n6", "2001:db8:1:3::1"));
    let t = ns.saved_timeout("n4", "203.0.113.0/24").unwrap();
    assert!((598..=600).contains(&t), "timeout {t}");

    let mut got = c.list("n4").unwrap();
    got.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], (net("192.0.2.7"), None));
    assert!(matches!(got[1], (n, Some(598..=600)) if n == net("203.0.113.0/24")), "{got:?}");
    assert_eq!(c.list("n6").unwrap(), vec![(net("2001:db8:1:2::/64"), None)]);

    // hash:net keeps overlapping members of different lengths side by side
    // (the ban service still sends only the outermost, bans/cover.rs).
    assert!(c.add("n4", &[el("203.0.113.9", None)]).unwrap().is_empty());
    assert_eq!(c.list("n4").unwrap().len(), 3);

    c.delete("n4", &[net("203.0.113.0/24"), net("192.0.2.7"), net("203.0.113.9")]).unwrap();
    c.delete("n6", &[net("2001:db8:1:2::/64")]).unwrap();
    assert!(c.list("n4").unwrap().is_empty() && c.list("n6").unwrap().is_empty());
    assert!(!ns.has("n4", "203.0.113.200"));
}

#[test]
fn hash_ip_refuses_a_network() {
    let Some(ns) = Netns::new("hashipnet") else { return };
    ns.create("b4 hash:ip family inet timeout 0");
    let mut c = ns.client();
    let failed = c.add("b4", &[el("192.0.2.1", None), el("203.0.113.0/24", Some(60))]).unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, 1);
    assert!(
        matches!(&failed[0].1, IpsetError::NoNetworks { net: n, .. } if *n == net("203.0.113.0/24")),
        "{}",
        failed[0].1
    );
    println!("a network into hash:ip: {}", failed[0].1);
    // The address went in; the network did not, and was not expanded into
    // its 256 addresses (the ipset tool would do that for hash:ip).
    assert_eq!(c.list("b4").unwrap(), vec![(net("192.0.2.1"), None)]);
    assert!(!ns.has("b4", "203.0.113.1"));
}

#[test]
fn test_says_whether_the_set_matches() {
    let Some(ns) = Netns::new("test") else { return };
    ns.create("n4 hash:net family inet timeout 0");
    ns.create("a4 hash:ip family inet");
    let mut c = ns.client();
    assert!(c.add("n4", &[el("198.51.100.0/24", Some(600)), el("192.0.2.7", None)]).unwrap().is_empty());
    assert!(c.add("a4", &[el("203.0.113.9", None)]).unwrap().is_empty());
    let net = |s: &str| s.parse::<Network>().unwrap();
    // An address inside a network of a hash:net set matches, as the kernel's match would.
    assert!(c.test("n4", net("198.51.100.77")).unwrap());
    assert!(c.test("n4", net("198.51.100.0/24")).unwrap());
    assert!(c.test("n4", net("192.0.2.7")).unwrap());
    assert!(!c.test("n4", net("198.51.101.1")).unwrap());
    assert!(!c.test("n4", net("192.0.2.8")).unwrap());
    assert!(c.test("a4", net("203.0.113.9")).unwrap());
    assert!(!c.test("a4", net("203.0.113.10")).unwrap());
    // What the set cannot hold is not in it: no error for the other family, nor a network in hash:ip.
    assert!(!c.test("a4", net("2001:db8::1")).unwrap());
    assert!(!c.test("a4", net("203.0.113.0/24")).unwrap());
    assert!(matches!(c.test("missing", net("192.0.2.1")), Err(IpsetError::NoSuchSet { .. })));
}
