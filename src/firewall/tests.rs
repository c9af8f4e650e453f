//! The error kinds and the culprit search of [`Firewall`], without root.

use super::*;

#[test]
fn kinds_carry_no_address() {
    let set = NftSet::parse("ip t s").unwrap();
    let e = FirewallError::from(IpsetError::SetFull { set: "s".into(), ip: "192.0.2.1".parse().unwrap() });
    assert_eq!(e.kind(), ErrorKind::SetFull);
    assert!(e.to_string().contains("192.0.2.1"), "the message names the address: {e}");
    assert!(!e.kind().to_string().contains("192.0.2.1"));
    let e =
        FirewallError::from(NftError::WrongKey { set, key: nft::KeyType::Other(9), ip: "192.0.2.2".parse().unwrap() });
    assert_eq!(e.kind(), ErrorKind::WrongType);
    assert_eq!(ErrorKind::Kernel(22).to_string(), "kernel error 22");
}

#[test]
fn timeouts_round_up() {
    assert_eq!(millis_up(Duration::from_micros(1001)), 2);
    assert_eq!(secs_up(Duration::from_millis(1001)), 2);
    assert_eq!(secs_up(Duration::from_secs(3)), 3);
}

#[test]
fn bans_are_grouped_by_set_in_order() {
    let a = SetRef::parse_nft("ip t a").unwrap();
    let b = SetRef::parse_ipset("b").unwrap();
    let ban =
        |set: &SetRef, ip: &str| KernelBan { net: ip.parse::<Network>().unwrap(), set: set.clone(), timeout: None };
    let bans = [ban(&b, "192.0.2.1"), ban(&a, "192.0.2.2"), ban(&b, "192.0.2.3")];
    let groups = group_by_set(&bans);
    assert_eq!(groups, vec![(&b, vec![0, 2]), (&a, vec![1])]);
}
