//! Wire format of the ipset netlink protocol: encoding requests and walking replies.
//!
//! ipset speaks plain nfnetlink (subsystem `NFNL_SUBSYS_IPSET` = 6): a `nlmsghdr`, a
//! `nfgenmsg`, then attributes (TLVs padded to 4 bytes, `NLA_ALIGN`). Element data sits in a
//! nested `IPSET_ATTR_DATA`; the address itself is nested once more in `IPSET_ATTR_IP`.
//! The layout below reproduces byte for byte what `ipset` 7.17 (libipset) sends, checked by
//! the golden tests at the bottom (captured with `strace -e trace=sendto -x ipset ...`).
//! Header and attribute lengths are in host order; values flagged `NLA_F_NET_BYTEORDER`
//! (addresses, timeouts, flags) are big-endian, as the kernel's `ip_set_get_h32()` expects.
//!
//! Nothing here does I/O; every function works on byte buffers. Splitting replies into
//! messages and attributes is `netlink`'s, shared with nftables.

use std::net::IpAddr;

use super::IpsetElement;
use crate::firewall::netlink::{
    align4, Attrs, Msg, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use crate::vocab::Network;

// <linux/netfilter/nfnetlink.h>
const NFNL_SUBSYS_IPSET: u16 = 6;
const NFNETLINK_V0: u8 = 0;
/// libipset puts `AF_INET` in `nfgenmsg.nfgen_family` whatever the set's family; the kernel
/// ignores it for ipset (the set's own family decides).
const NFGEN_FAMILY: u8 = libc::AF_INET as u8;

// <linux/netfilter/ipset/ip_set.h>
/// `IPSET_PROTOCOL`: what libipset 7.x sends; kernels since 5.x accept 6..=7.
pub(super) const IPSET_PROTOCOL: u8 = 7;
/// `IPSET_PROTOCOL_MIN`: the fallback for kernels that only speak protocol 6.
pub(super) const IPSET_PROTOCOL_MIN: u8 = 6;
pub(super) const IPSET_CMD_PROTOCOL: u8 = 1;
pub(super) const IPSET_CMD_LIST: u8 = 7;
pub(super) const IPSET_CMD_ADD: u8 = 9;
pub(super) const IPSET_CMD_DEL: u8 = 10;
pub(super) const IPSET_CMD_TEST: u8 = 11;
pub(super) const IPSET_CMD_HEADER: u8 = 12;
/// `IPSET_MAXNAMELEN`, NUL included.
pub(super) const IPSET_MAXNAMELEN: usize = 32;
// Command-level attributes.
pub(super) const IPSET_ATTR_PROTOCOL: u16 = 1;
const IPSET_ATTR_SETNAME: u16 = 2;
pub(super) const IPSET_ATTR_TYPENAME: u16 = 3;
pub(super) const IPSET_ATTR_FAMILY: u16 = 5;
const IPSET_ATTR_FLAGS: u16 = 6;
pub(super) const IPSET_ATTR_DATA: u16 = 7;
pub(super) const IPSET_ATTR_ADT: u16 = 8;
// Attributes inside IPSET_ATTR_DATA.
pub(super) const IPSET_ATTR_IP: u16 = 1;
pub(super) const IPSET_ATTR_CIDR: u16 = 3;
pub(super) const IPSET_ATTR_TIMEOUT: u16 = 6;
const IPSET_ATTR_CADT_LINENO: u16 = 9;
pub(super) const IPSET_ATTR_MAXELEM: u16 = 19;
pub(super) const IPSET_ATTR_ELEMENTS: u16 = 24;
// Inside IPSET_ATTR_IP.
pub(super) const IPSET_ATTR_IPADDR_IPV4: u16 = 1;
pub(super) const IPSET_ATTR_IPADDR_IPV6: u16 = 2;
/// `IPSET_FLAG_LIST_HEADER`: a LIST that returns the header only, not the members.
const IPSET_FLAG_LIST_HEADER: u32 = 1 << 2;

/// A growing buffer of netlink messages; several messages make one datagram.
#[derive(Default)]
pub(super) struct Writer {
    pub(super) buf: Vec<u8>,
}

impl Writer {
    pub(super) fn clear(&mut self) {
        self.buf.clear();
    }

    /// Starts a message: `nlmsghdr` (length patched by `end_msg`) and `nfgenmsg`.
    fn begin_msg(&mut self, cmd: u8, flags: u16, seq: u32) -> usize {
        let start = self.buf.len();
        let ty = (NFNL_SUBSYS_IPSET << 8) | u16::from(cmd);
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: 0, the kernel fills it
        self.buf.extend_from_slice(&[NFGEN_FAMILY, NFNETLINK_V0, 0, 0]); // res_id 0
        start
    }

    fn end_msg(&mut self, start: usize) {
        let len = (self.buf.len() - start) as u32;
        self.buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    /// One attribute, padded to 4 bytes (`NLA_ALIGN`); `nla_len` excludes the padding.
    fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        self.buf.resize(align4(self.buf.len()), 0);
    }

    fn begin_nest(&mut self, ty: u16) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        start
    }

    fn end_nest(&mut self, start: usize) {
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// The two attributes every command carries: protocol version and set name (NUL ended).
    fn common(&mut self, protocol: u8, set: &str) {
        self.attr(IPSET_ATTR_PROTOCOL, &[protocol]);
        let mut name = [0u8; IPSET_MAXNAMELEN];
        name[..set.len()].copy_from_slice(set.as_bytes());
        self.attr(IPSET_ATTR_SETNAME, &name[..set.len() + 1]);
    }

    /// `IPSET_CMD_PROTOCOL`: asks the kernel which protocol versions it speaks.
    pub(super) fn protocol(&mut self, protocol: u8, seq: u32) {
        let start = self.begin_msg(IPSET_CMD_PROTOCOL, NLM_F_REQUEST, seq);
        self.attr(IPSET_ATTR_PROTOCOL, &[protocol]);
        self.end_msg(start);
    }

    /// `IPSET_CMD_HEADER`: type name, family and revision of one set (one reply message).
    pub(super) fn header(&mut self, protocol: u8, set: &str, seq: u32) {
        let start = self.begin_msg(IPSET_CMD_HEADER, NLM_F_REQUEST, seq);
        self.common(protocol, set);
        self.end_msg(start);
    }

    /// `IPSET_CMD_LIST` as a dump, of the header only (`ipset list -t`) or with members.
    pub(super) fn list(&mut self, protocol: u8, set: &str, header_only: bool, seq: u32) {
        // No NLM_F_ACK: a dump ends with NLMSG_DONE, and a failure to start it comes back
        // as NLMSG_ERROR anyway.
        let start = self.begin_msg(IPSET_CMD_LIST, NLM_F_REQUEST | NLM_F_DUMP, seq);
        self.common(protocol, set);
        if header_only {
            self.attr(IPSET_ATTR_FLAGS | NLA_F_NET_BYTEORDER, &IPSET_FLAG_LIST_HEADER.to_be_bytes());
        }
        self.end_msg(start);
    }

    /// `IPSET_CMD_ADD` or `IPSET_CMD_DEL` of one address.
    ///
    /// `NLM_F_EXCL` is never set: the kernel then applies `IPSET_FLAG_EXIST` (`flag_exist()`
    /// in ip_set_core.c), so an add of a present address overwrites its timeout and a delete
    /// of an absent one succeeds, as `ipset -exist` does. Without `ack`, the kernel answers
    /// only on failure (`netlink_rcv_skb()` acks when `NLM_F_ACK` is set or on error).
    pub(super) fn adt(&mut self, protocol: u8, cmd: u8, set: &str, elem: IpsetElement, ack: bool, seq: u32) {
        let flags = if ack { NLM_F_REQUEST | NLM_F_ACK } else { NLM_F_REQUEST };
        let start = self.begin_msg(cmd, flags, seq);
        self.common(protocol, set);
        let data = self.begin_nest(IPSET_ATTR_DATA);
        let ip_nest = self.begin_nest(IPSET_ATTR_IP);
        match elem.net.first() {
            IpAddr::V4(v4) => self.attr(IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, &v4.octets()),
            IpAddr::V6(v6) => self.attr(IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER, &v6.octets()),
        }
        self.end_nest(ip_nest);
        if !elem.net.is_host() {
            // A u8, as libipset sends it (no byte-order flag).
            self.attr(IPSET_ATTR_CIDR, &[elem.net.prefix_len()]);
        }
        if let Some(secs) = elem.timeout_secs {
            self.attr(IPSET_ATTR_TIMEOUT | NLA_F_NET_BYTEORDER, &secs.to_be_bytes());
        }
        // libipset always sends a line number of 0 outside `ipset restore`; the kernel only
        // uses a non-zero one (to report the failing restore line). Sent to stay identical
        // to the reference bytes: 8 bytes per element is nothing.
        self.attr(IPSET_ATTR_CADT_LINENO | NLA_F_NET_BYTEORDER, &0u32.to_be_bytes());
        self.end_nest(data);
        self.end_msg(start);
    }
}

impl Writer {
    /// `IPSET_CMD_TEST` of one address or network, acknowledged, laid out as
    /// `ipset test` sends it (no line number, no timeout). The kernel answers
    /// 0 when the set matches it, `IPSET_ERR_EXIST` when not.
    pub(super) fn test(&mut self, protocol: u8, set: &str, net: Network, seq: u32) {
        let start = self.begin_msg(IPSET_CMD_TEST, NLM_F_REQUEST | NLM_F_ACK, seq);
        self.common(protocol, set);
        let data = self.begin_nest(IPSET_ATTR_DATA);
        let ip_nest = self.begin_nest(IPSET_ATTR_IP);
        match net.first() {
            IpAddr::V4(v4) => self.attr(IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, &v4.octets()),
            IpAddr::V6(v6) => self.attr(IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER, &v6.octets()),
        }
        self.end_nest(ip_nest);
        if !net.is_host() {
            self.attr(IPSET_ATTR_CIDR, &[net.prefix_len()]);
        }
        self.end_nest(data);
        self.end_msg(start);
    }
}

/// The ipset command of an ipset message (`NFNL_SUBSYS_IPSET << 8 | cmd`).
pub(super) fn ipset_cmd(msg: &Msg) -> Option<u8> {
    (msg.ty >> 8 == NFNL_SUBSYS_IPSET).then_some(msg.ty as u8)
}

/// The address inside an `IPSET_ATTR_IP` nest.
pub(super) fn ip_of(nest: &[u8]) -> Option<IpAddr> {
    Attrs(nest).find_map(|(ty, v)| match (ty, v.len()) {
        (IPSET_ATTR_IPADDR_IPV4, 4) => Some(IpAddr::from(<[u8; 4]>::try_from(v).ok()?)),
        (IPSET_ATTR_IPADDR_IPV6, 16) => Some(IpAddr::from(<[u8; 16]>::try_from(v).ok()?)),
        _ => None,
    })
}

#[cfg(all(test, target_endian = "little"))]
mod golden {
    //! Reference bytes captured from `ipset` v7.17 on kernel 6.18 with
    //! `strace -e trace=sendto -x -s 4096`; the capture's sequence number is reused.
    use super::*;
    use crate::firewall::netlink::{be_u32, messages};

    const SEQ: u32 = 1795292134;

    fn el(ip: &str, timeout_secs: Option<u32>) -> IpsetElement {
        IpsetElement { net: ip.parse().unwrap(), timeout_secs }
    }

    /// `nlmsghdr` + `nfgenmsg` + protocol 7 + set name, as the capture shows them.
    fn head(len: u8, cmd: u8, flags: u16, name: &[u8]) -> Vec<u8> {
        let mut v = vec![len, 0, 0, 0, cmd, 6];
        v.extend_from_slice(&flags.to_le_bytes());
        v.extend_from_slice(&SEQ.to_le_bytes());
        v.extend_from_slice(&[0, 0, 0, 0, 2, 0, 0, 0]);
        v.extend_from_slice(&[5, 0, 1, 0, 7, 0, 0, 0]);
        v.extend_from_slice(&[7, 0, 2, 0]);
        v.extend_from_slice(name);
        v
    }

    #[test]
    fn add_ipv4_with_timeout_matches_ipset() {
        // ipset -exist add t4 192.0.2.1 timeout 600
        let mut want = head(68, 9, 0x5, b"t4\0\0");
        want.extend_from_slice(b"\x20\x00\x07\x80\x0c\x00\x01\x80\x08\x00\x01\x40\xc0\x00\x02\x01\x08\x00\x06\x40\x00\x00\x02\x58\x08\x00\x09\x40\x00\x00\x00\x00");
        let mut w = Writer::default();
        w.adt(7, IPSET_CMD_ADD, "t4", el("192.0.2.1", Some(600)), true, SEQ);
        assert_eq!(w.buf, want);
        // The batched form differs only by the missing NLM_F_ACK.
        w.clear();
        w.adt(7, IPSET_CMD_ADD, "t4", el("192.0.2.1", Some(600)), false, SEQ);
        want[6] = 0x1;
        assert_eq!(w.buf, want);
    }

    #[test]
    fn add_ipv6_with_timeout_matches_ipset() {
        // ipset -exist add t6 2001:db8::1 timeout 600
        let mut want = head(80, 9, 0x5, b"t6\0\0");
        want.extend_from_slice(b"\x2c\x00\x07\x80\x18\x00\x01\x80\x14\x00\x02\x40\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x08\x00\x06\x40\x00\x00\x02\x58\x08\x00\x09\x40\x00\x00\x00\x00");
        let mut w = Writer::default();
        w.adt(7, IPSET_CMD_ADD, "t6", el("2001:db8::1", Some(600)), true, SEQ);
        assert_eq!(w.buf, want);
    }

    #[test]
    fn add_ipv6_permanent_matches_ipset() {
        // ipset -exist add t6 2001:db8::1 (no timeout attribute at all)
        let mut want = head(72, 9, 0x5, b"t6\0\0");
        want.extend_from_slice(b"\x24\x00\x07\x80\x18\x00\x01\x80\x14\x00\x02\x40\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x08\x00\x09\x40\x00\x00\x00\x00");
        let mut w = Writer::default();
        w.adt(7, IPSET_CMD_ADD, "t6", el("2001:db8::1", None), true, SEQ);
        assert_eq!(w.buf, want);
    }

    #[test]
    fn del_matches_ipset() {
        // ipset -exist del t4 192.0.2.1
        let mut want = head(60, 10, 0x5, b"t4\0\0");
        want.extend_from_slice(
            b"\x18\x00\x07\x80\x0c\x00\x01\x80\x08\x00\x01\x40\xc0\x00\x02\x01\x08\x00\x09\x40\x00\x00\x00\x00",
        );
        let mut w = Writer::default();
        w.adt(7, IPSET_CMD_DEL, "t4", el("192.0.2.1", None), true, SEQ);
        assert_eq!(w.buf, want);
    }

    #[test]
    fn test_matches_ipset() {
        // ipset test t4 192.0.2.1: no line number, unlike add and del
        let mut want = head(52, 11, 0x5, b"t4\0\0");
        want.extend_from_slice(b"\x10\x00\x07\x80\x0c\x00\x01\x80\x08\x00\x01\x40\xc0\x00\x02\x01");
        let mut w = Writer::default();
        w.test(7, "t4", "192.0.2.1".parse().unwrap(), SEQ);
        assert_eq!(w.buf, want);
        // ipset test t4 192.0.2.0/24 (a hash:net set): the prefix length after the address
        let mut want = head(60, 11, 0x5, b"t4\0\0");
        want.extend_from_slice(
            b"\x18\x00\x07\x80\x0c\x00\x01\x80\x08\x00\x01\x40\xc0\x00\x02\x00\x05\x00\x03\x00\x18\x00\x00\x00",
        );
        w.clear();
        w.test(7, "t4", "192.0.2.0/24".parse().unwrap(), SEQ);
        assert_eq!(w.buf, want);
    }

    #[test]
    fn header_protocol_and_list_match_ipset() {
        let mut w = Writer::default();
        // ipset's handshake, then `ipset list -t t4` (which also sets NLM_F_ACK).
        w.protocol(7, SEQ);
        let mut want = vec![28, 0, 0, 0, 1, 6, 1, 0];
        want.extend_from_slice(&SEQ.to_le_bytes());
        want.extend_from_slice(&[0, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0, 7, 0, 0, 0]);
        assert_eq!(w.buf, want);
        w.clear();
        w.header(7, "t4", SEQ);
        assert_eq!(w.buf, head(36, 12, 0x1, b"t4\0\0"));
        w.clear();
        w.list(7, "t4", true, SEQ);
        let mut want = head(44, 7, 0x301, b"t4\0\0");
        want.extend_from_slice(b"\x08\x00\x06\x40\x00\x00\x00\x04");
        assert_eq!(w.buf, want);
    }

    #[test]
    fn longest_name_fits_and_is_nul_terminated() {
        let name = "n".repeat(IPSET_MAXNAMELEN - 1);
        let mut w = Writer::default();
        w.header(7, &name, 1);
        let msg = messages(&w.buf).next().unwrap();
        let (_, v) = msg.attrs().find(|(t, _)| *t == IPSET_ATTR_SETNAME).unwrap();
        assert_eq!(v.len(), IPSET_MAXNAMELEN);
        assert_eq!(v.last(), Some(&0));
    }

    #[test]
    fn parses_a_list_reply() {
        // Reply to `ipset list t4`: header, then two members in IPSET_ATTR_ADT.
        let reply: &[u8] = b"\xc0\x00\x00\x00\x07\x06\x02\x00\xe5\x6b\x01\x6b\x6a\x78\x00\x00\x02\x00\x00\x00\x05\x00\x01\x00\x07\x00\x00\x00\x07\x00\x02\x00\x74\x34\x00\x00\x0c\x00\x03\x00hash:ip\x00\x05\x00\x05\x00\x02\x00\x00\x00\x05\x00\x04\x00\x06\x00\x00\x00\x06\x00\x0b\x40\x00\x00\x00\x00\x44\x00\x07\x80\x08\x00\x12\x40\x00\x00\x04\x00\x08\x00\x13\x40\x00\x01\x00\x00\x05\x00\x15\x00\x0c\x00\x00\x00\x08\x00\x11\x40\x26\xc1\x39\xf2\x08\x00\x19\x40\x00\x00\x00\x00\x08\x00\x1a\x40\x00\x00\x01\x58\x08\x00\x18\x40\x00\x00\x00\x02\x08\x00\x06\x40\x00\x00\x00\x00\x34\x00\x08\x80\x18\x00\x07\x80\x0c\x00\x01\x80\x08\x00\x01\x00\xc0\x00\x02\x09\x08\x00\x06\x40\x00\x00\x00\x00\x18\x00\x07\x80\x0c\x00\x01\x80\x08\x00\x01\x00\xc0\x00\x02\x01\x08\x00\x06\x40\x00\x00\x02\x57";
        let msgs: Vec<_> = messages(reply).collect();
        assert_eq!(msgs.len(), 1);
        assert_eq!(ipset_cmd(&msgs[0]), Some(IPSET_CMD_LIST));
        let adt = msgs[0].attrs().find(|(t, _)| *t == IPSET_ATTR_ADT).unwrap().1;
        let members: Vec<_> = Attrs(adt)
            .map(|(_, data)| {
                let mut ip = None;
                let mut timeout = None;
                for (t, v) in Attrs(data) {
                    match t {
                        IPSET_ATTR_IP => ip = ip_of(v),
                        IPSET_ATTR_TIMEOUT => timeout = be_u32(v),
                        _ => {}
                    }
                }
                (ip.unwrap(), timeout.unwrap())
            })
            .collect();
        let a: IpAddr = "192.0.2.9".parse().unwrap();
        let b: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(members, vec![(a, 0), (b, 599)]);
    }
}
