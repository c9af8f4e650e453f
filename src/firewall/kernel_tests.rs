//! [`Firewall`] in the real kernel, in a namespace of its own.
use std::io::Write;
use std::process::Stdio;

use super::*;

#[test]
fn one_element_the_set_refuses_does_not_cost_the_others() {
    let Some(ns) = test_netns::Netns::new(format!("bwfw-culprit-{}", std::process::id())) else { return };
    let mut nft = ns.exec("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().unwrap();
    let tables = "table ip t { set s { type ipv4_addr; flags timeout; }; set p { type ipv4_addr; }; }";
    nft.stdin.take().unwrap().write_all(tables.as_bytes()).unwrap();
    assert!(nft.wait().unwrap().success());
    let s = SetRef::parse_nft("ip t s").unwrap();
    let p = SetRef::parse_nft("ip t p").unwrap();
    let hour = Some(Duration::from_secs(3600));
    let mut bans: Vec<KernelBan> = (0..100)
        .map(|i| KernelBan {
            net: Network::from(std::net::IpAddr::V4([198, 51, 100, i].into())),
            set: s.clone(),
            timeout: hour,
        })
        .collect();
    // An IPv6 address in the IPv4 set, and a timeout beyond what the kernel holds.
    bans.insert(37, KernelBan { net: "2001:db8::5".parse::<Network>().unwrap(), set: s.clone(), timeout: hour });
    let beyond = Some(Duration::from_secs(99_999_999_999));
    bans.insert(80, KernelBan { net: "203.0.113.80".parse::<Network>().unwrap(), set: s.clone(), timeout: beyond });
    // A set without timeouts: the permanent one goes in, the timed one not.
    bans.push(KernelBan { net: "192.0.2.1".parse::<Network>().unwrap(), set: p.clone(), timeout: None });
    bans.push(KernelBan { net: "192.0.2.2".parse::<Network>().unwrap(), set: p.clone(), timeout: hour });
    let (results, held_s, held_p) = ns.inside(|| {
        let mut firewall = Firewall::new();
        let results = firewall.add(&bans);
        (results, firewall.list(&s).unwrap().len(), firewall.list(&p).unwrap().len())
    });
    let refused: Vec<(usize, ErrorKind)> =
        results.iter().enumerate().filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.kind()))).collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert_eq!(refused[0], (37, ErrorKind::WrongFamily));
    assert_eq!(refused[1].0, 80, "the timeout beyond the kernel's limit: {refused:?}");
    assert_eq!(refused[2], (103, ErrorKind::NoTimeout));
    assert_eq!((held_s, held_p), (100, 1), "every other element is in");
}
