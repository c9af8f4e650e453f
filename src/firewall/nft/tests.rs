//! Golden bytes and pure logic, without root.
//!
//! The element lists and the GET requests are compared with what nft 1.0.6
//! (libnftnl 1.2.4) sent for the same operation, captured with
//! `strace -e sendmsg,sendto -x nft ...`. Banwarden's messages differ from
//! nft's on purpose in two places, asserted below: NLM_F_ACK on every batch
//! message (to confirm each one), and no NFTA_SET_ELEM_LIST_SET_ID (nft names
//! a set it may create in the same batch; banwarden only uses existing sets).
#![cfg(target_endian = "little")]

use std::net::IpAddr;

use super::client::{intervals, plan, range_networks, Piece, Refresh, Work, TX_BYTES};
use super::message::{self as m, WireElem, Writer};
use super::*;
use crate::firewall::netlink::{self as nl, NLM_F_ACK, NLM_F_REQUEST};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn set(path: &str) -> NftSet {
    NftSet::parse(path).unwrap()
}

fn wire(s: &str, timeout_ms: Option<u64>) -> WireElem {
    WireElem { ip: ip(s), timeout_ms, flags: 0 }
}

/// nft add element ip t s '{ 192.0.2.1 timeout 60s, 192.0.2.2 timeout 60s, 192.0.2.3 }':
/// the NFTA_SET_ELEM_LIST_ELEMENTS attribute, verbatim from strace.
const NFT_ADD_LIST: &str = "4c000380
    1c000180 0c000400 000000000000ea60 0c000180 08000100 c0000201
    1c000280 0c000400 000000000000ea60 0c000180 08000100 c0000202
    10000380 0c000180 08000100 c0000203";

#[test]
fn add_batch_golden() {
    let mut w = Writer::default();
    w.batch_begin(0);
    let elems = [wire("192.0.2.1", Some(60_000)), wire("192.0.2.2", Some(60_000)), wire("192.0.2.3", None)];
    let flags = NLM_F_REQUEST | NLM_F_ACK | m::NLM_F_CREATE;
    w.setelem(m::NFT_MSG_NEWSETELEM, flags, 1, libc::NFPROTO_IPV4 as u8, "t", "s", &elems);
    w.batch_end(2);
    let expected = [
        // BATCH_BEGIN, NLM_F_REQUEST, seq 0; AF_UNSPEC, res_id htons(NFNL_SUBSYS_NFTABLES)
        "14000000 1000 0100 00000000 00000000 0000000a",
        // NEWSETELEM (10 << 8 | 12), REQUEST|ACK|CREATE (nft: REQUEST|CREATE), seq 1; AF_INET
        "70000000 0c0a 0504 01000000 00000000 02000000",
        // table "t", set "s" (nft adds SET_ID 08000400 00000001 here)
        "06000100 74000000 06000200 73000000",
        NFT_ADD_LIST,
        // BATCH_END, seq 2
        "14000000 1100 0100 02000000 00000000 0000000a",
    ];
    assert_eq!(w.buf, hex(&expected.join(" ")));
    for e in &elems {
        assert_eq!(e.encoded_len(), if e.timeout_ms.is_some() { 28 } else { 16 });
    }
}

#[test]
fn delete_golden() {
    // nft delete element ip t s '{ 192.0.2.3 }' sends DELSETELEM with this
    // list; banwarden sends the same list in DESTROYSETELEM (30), with ACK.
    let mut w = Writer::default();
    w.setelem(m::NFT_MSG_DESTROYSETELEM, NLM_F_REQUEST | NLM_F_ACK, 1, 2, "t", "s", &[wire("192.0.2.3", None)]);
    let expected = "38000000 1e0a 0500 01000000 00000000 02000000
        06000100 74000000 06000200 73000000
        14000380 10000180 0c000180 08000100 c0000203";
    assert_eq!(w.buf, hex(expected));
}

#[test]
fn ipv6_and_interval_end_element() {
    // The element alone: what follows the names and the list header of a message holding it.
    let mut w = Writer::default();
    let e = WireElem { ip: ip("2001:db8::1"), timeout_ms: None, flags: m::NFT_SET_ELEM_INTERVAL_END };
    w.setelem(m::NFT_MSG_NEWSETELEM, NLM_F_REQUEST, 1, libc::NFPROTO_IPV6 as u8, "t", "s", &[e]);
    // As nft sends the end of an interval: FLAGS (3) before the KEY.
    let expected = "24000180 08000300 00000001 18000180 14000100 20010db8000000000000000000000001";
    assert_eq!(w.buf[m::setelem_overhead("t", "s")..], hex(expected));
    assert_eq!(WireElem { ip: ip("2001:db8::1"), timeout_ms: None, flags: 1 }.encoded_len(), 0x24);
}

#[test]
fn get_requests_match_nft() {
    // nft list set ip t s: GETSET with REQUEST|ACK, then a GETSETELEM dump.
    let mut w = Writer::default();
    w.getset(0, 2, "t", "s");
    assert_eq!(w.buf, hex("24000000 0a0a 0500 00000000 00000000 02000000 06000100 74000000 06000200 73000000"));
    let mut w = Writer::default();
    w.getsetelem_dump(0, 2, "t", "s");
    assert_eq!(w.buf, hex("24000000 0d0a 0103 00000000 00000000 02000000 06000200 73000000 06000100 74000000"));
}

#[test]
fn get_of_one_key_matches_nft() {
    // nft get element ip t s '{ 192.0.2.1 }' (after its cache dump): one
    // GETSETELEM with REQUEST|ACK, not a dump, the set named before the table.
    let mut w = Writer::default();
    w.getsetelem(1, 2, "t", "s", ip("192.0.2.1"), 0);
    let expected = "38000000 0d0a 0500 01000000 00000000 02000000
        06000200 73000000 06000100 74000000
        14000380 10000180 0c000180 08000100 c0000201";
    assert_eq!(w.buf, hex(expected));
    // The end of the interval holding the key: nft 1.0.6 reads it from its
    // cache instead; the same message with FLAGS before the KEY, as in an
    // interval end that is added.
    let mut w = Writer::default();
    w.getsetelem(1, 2, "t", "s", ip("192.0.2.1"), m::NFT_SET_ELEM_INTERVAL_END);
    let expected = "40000000 0d0a 0500 01000000 00000000 02000000
        06000200 73000000 06000100 74000000
        1c000380 18000180 08000300 00000001 0c000180 08000100 c0000201";
    assert_eq!(w.buf, hex(expected));
}

#[test]
fn ack_with_ext_ack() {
    // NLMSG_ERROR, flags CAPPED|ACK_TLVS: error -ENOENT, echoed header of seq 7,
    // then NLMSGERR_ATTR_MSG "no set" and NLMSGERR_ATTR_OFFS 0x24.
    let bytes = hex("38000000 0200 0003 07000000 00000000 feffffff
         70000000 0c0a 0504 07000000 00000000
         0b000100 6e6f2073657400 00 08000200 24000000");
    let msgs: Vec<_> = nl::messages(&bytes).collect();
    assert_eq!(msgs.len(), 1);
    let ack = m::parse_ack(&msgs[0]).unwrap();
    assert_eq!(ack, m::Ack { seq: 7, errno: libc::ENOENT, message: Some("no set".into()), offset: Some(0x24) });
}

#[test]
fn plan_respects_message_and_transaction_limits() {
    let s4 = set("ip t s");
    let s6 = set("ip6 t s");
    let v4: Vec<WireElem> = (0..100_000u32)
        .map(|i| WireElem { ip: IpAddr::from((0x0a00_0000 + i).to_be_bytes()), timeout_ms: Some(1), flags: 0 })
        .collect();
    let v6: Vec<WireElem> = (0..3u128)
        .map(|i| WireElem { ip: IpAddr::from((1u128 << 100 | i).to_be_bytes()), timeout_ms: None, flags: 0 })
        .collect();
    let work = vec![Work { set: &s4, slot: 0, elems: v4 }, Work { set: &s6, slot: 1, elems: v6 }];
    for steps in 1..=3 {
        let txs = plan(&work, steps, TX_BYTES);
        let mut next = [0usize, 0];
        for tx in &txs {
            let mut w = Writer::default();
            w.batch_begin(0);
            for Piece { item, range } in tx {
                assert_eq!(range.start, next[*item], "pieces in order, none lost");
                next[*item] = range.end;
                for _ in 0..steps {
                    let before = w.buf.len();
                    let wk = &work[*item];
                    w.setelem(12, 5, 1, 2, &wk.set.table, &wk.set.name, &wk.elems[range.clone()]);
                    let list = w.buf.len() - before - m::setelem_overhead(&wk.set.table, &wk.set.name) + 4;
                    assert!(list <= 0xffff, "element list of {list} bytes");
                }
            }
            w.batch_end(0);
            assert!(w.buf.len() <= TX_BYTES, "transaction of {} bytes", w.buf.len());
        }
        assert_eq!(next, [100_000, 3]);
        // Few transactions: each nearly full.
        assert!(txs.len() <= 100_000 * 28 * steps / (TX_BYTES - 4096) + 1, "{} transactions", txs.len());
    }
}

#[test]
fn set_paths_and_commands() {
    assert_eq!(set("Inet4 mail_ban"), NftSet { family: Family::Ip, table: "Inet4".into(), name: "mail_ban".into() });
    assert_eq!(set("inet  filter ban6").to_string(), "inet filter ban6");
    assert!(NftSet::parse("bogus t s").unwrap_err().contains("unknown nftables family"));
    assert!(NftSet::parse("one").is_err());
    assert!(NftSet::parse("ip t s\u{0}x").is_err());
    assert_eq!(
        creation_commands(&set("ip t s"), false, true, false),
        "nft add table ip t; nft add set ip t s '{ type ipv4_addr; flags timeout; }'"
    );
    assert_eq!(
        creation_commands(&set("ip6 t s6"), true, false, false),
        "nft add table ip6 t; nft add set ip6 t s6 '{ type ipv6_addr; }'"
    );
    assert_eq!(
        creation_commands(&set("inet t n6"), true, true, true),
        "nft add table inet t; nft add set inet t n6 '{ type ipv6_addr; flags interval,timeout; }'"
    );
}

#[test]
fn refresh_strategy_by_kernel() {
    assert_eq!(Refresh::for_kernel("6.18.44-fc-v445"), Refresh::Update);
    assert_eq!(Refresh::for_kernel("6.10.0"), Refresh::Update);
    assert_eq!(Refresh::for_kernel("6.9.12-amd64"), Refresh::DestroyFirst);
    assert_eq!(Refresh::for_kernel("6.1.0-18-amd64"), Refresh::AddDelAdd);
    assert_eq!(Refresh::for_kernel("5.10.0"), Refresh::AddDelAdd);
}

#[test]
fn errors_name_the_set() {
    let e = NftError::NoTimeoutFlag { set: set("ip t s"), ip: ip("192.0.2.1").into(), timeout_ms: 60_000 };
    assert_eq!(
        e.to_string(),
        r#"nftables set "ip t s" has no "flags timeout" but 192.0.2.1 was given a timeout of 60000 ms"#
    );
    let e = NftError::Kernel {
        set: set("ip t s"),
        op: "add",
        source: std::io::Error::from_raw_os_error(libc::EBUSY),
        message: Some("x".into()),
    };
    assert!(e.to_string().starts_with(r#"nftables set "ip t s": add failed: Device or resource busy"#), "{e}");
}

#[test]
fn ipv4_for_an_ip6_set_is_refused_before_sending() {
    // No root needed: the socket opens, but nothing is sent (no GETSET either:
    // without CAP_NET_ADMIN that would answer EPERM, not FamilyMismatch).
    let mut c = NftClient::open().unwrap();
    let v4 = Element { net: Network::from(ip("192.0.2.1")), timeout_ms: None };
    let r = c.add(&[(&set("ip6 banwarden-test-absent s6"), &[v4])]);
    assert!(matches!(&r[0], Err(NftError::FamilyMismatch { ip: a, .. }) if *a == v4.net), "{r:?}");
    assert!(matches!(c.delete(&set("ip6 banwarden-test-absent s6"), &[v4.net]), Err(NftError::FamilyMismatch { .. })));
}

#[test]
fn client_stays_send_and_sync() {
    // mnl::Socket and libnftnl objects are raw pointers: the wrappers assert
    // Send and Sync so that NftClient keeps the auto traits it had.
    fn send_sync<T: Send + Sync>() {}
    send_sync::<NftClient>();
}

#[test]
fn names_libnftnl_cannot_carry_are_refused_before_sending() {
    // A set built field by field may hold what NftSet::parse refuses: a NUL
    // would cut the C string, an overlong name would overflow the plan.
    let mut c = NftClient::open().unwrap();
    let el = Element { net: Network::from(ip("192.0.2.1")), timeout_ms: None };
    for (table, name) in [("t\0x", "s".to_owned()), ("t", "s".repeat(300))] {
        let bad = NftSet { family: Family::Ip, table: table.into(), name };
        assert!(matches!(&c.add(&[(&bad, &[el])])[0], Err(NftError::NoSuchSet { .. })));
        assert!(matches!(c.delete(&bad, &[el.net]), Err(NftError::NoSuchSet { .. })));
        assert!(matches!(c.set_info(&bad), Err(NftError::NoSuchSet { .. })));
        assert!(matches!(c.list(&bad), Err(NftError::NoSuchSet { .. })));
    }
}

fn nets(list: &[&str]) -> Vec<Network> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn a_range_is_cut_into_the_fewest_networks() {
    let r = |a, b| range_networks(ip(a), ip(b));
    assert_eq!(r("10.0.0.1", "10.0.0.9"), nets(&["10.0.0.1", "10.0.0.2/31", "10.0.0.4/30", "10.0.0.8/31"]));
    assert_eq!(r("203.0.113.0", "203.0.113.255"), nets(&["203.0.113.0/24"]));
    assert_eq!(r("192.0.2.7", "192.0.2.7"), nets(&["192.0.2.7"]));
    assert_eq!(r("0.0.0.0", "255.255.255.255"), nets(&["0.0.0.0/0"]));
    assert_eq!(r("255.255.255.254", "255.255.255.255"), nets(&["255.255.255.254/31"]));
    assert_eq!(r("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"), nets(&["2001:db8::/64"]));
    assert_eq!(r("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), nets(&["::/0"]));
    assert_eq!(r("2001:db8::ff", "2001:db8::100"), nets(&["2001:db8::ff", "2001:db8::100"]));
    // Mixed families or an empty range: nothing.
    assert!(r("10.0.0.1", "2001:db8::1").is_empty());
    assert!(r("10.0.0.9", "10.0.0.1").is_empty());
}

#[test]
fn a_dump_reads_as_networks() {
    // A plain set: every element is an address.
    let plain = vec![(ip("192.0.2.2"), false, None), (ip("192.0.2.1"), false, Some(5_000))];
    assert_eq!(intervals(plain), vec![(nets(&["192.0.2.1"])[0], Some(5_000)), (nets(&["192.0.2.2"])[0], None)]);
    // An interval set: each start paired with the end after it (the kernel
    // dumps them in any order), the end being one past the last address.
    let dumped = vec![
        (ip("203.0.114.0"), true, Some(60_000)),
        (ip("10.0.0.10"), true, None),
        (ip("203.0.113.0"), false, Some(60_000)),
        (ip("10.0.0.1"), false, None),
        (ip("192.0.2.8"), true, None),
        (ip("192.0.2.7"), false, None),
    ];
    let want = vec![
        (nets(&["10.0.0.1"])[0], None),
        (nets(&["10.0.0.2/31"])[0], None),
        (nets(&["10.0.0.4/30"])[0], None),
        (nets(&["10.0.0.8/31"])[0], None),
        (nets(&["192.0.2.7"])[0], None),
        (nets(&["203.0.113.0/24"])[0], Some(60_000)),
    ];
    assert_eq!(intervals(dumped), want);
    // A start with no end after it runs to the top of the address space;
    // the kernel's own end element at 0.0.0.0 (a start wrapping) is skipped.
    let open = vec![(ip("255.255.255.0"), false, None), (ip("0.0.0.0"), true, None)];
    assert_eq!(intervals(open), vec![(nets(&["255.255.255.0/24"])[0], None)]);
    // Two starts sharing one end (a network added over one whose end it
    // shares): each start holds up to the next element, as nft lists them.
    let shared =
        vec![(ip("203.0.114.0"), true, None), (ip("203.0.113.0"), false, None), (ip("203.0.112.0"), false, None)];
    assert_eq!(intervals(shared), vec![(nets(&["203.0.112.0/24"])[0], None), (nets(&["203.0.113.0/24"])[0], None)]);
    let open6 = vec![(ip("ffff::"), false, None), (ip("2001:db8::"), true, None), (ip("2001:db8::1"), false, None)];
    let got = intervals(open6);
    assert_eq!(got.last(), Some(&(nets(&["ffff::/16"])[0], None)), "{got:?}");
}
