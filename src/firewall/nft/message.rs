//! nf_tables netlink messages, encoded and decoded by hand.
//!
//! Only what banwarden sends is here: batch BEGIN/END, NEWSETELEM,
//! DELSETELEM, DESTROYSETELEM, GETSET and a GETSETELEM dump. The layout
//! follows libnftnl 1.2.4 byte for byte (attribute order, `NLA_F_NESTED`,
//! NUL-terminated names, list elements numbered 1, 2, 3...), so that a
//! message can be compared with what `nft` sends (see the golden tests).
//! Writing it by hand rather than through nftnl's `Set` avoids its
//! hard-coded `NLM_F_EXCL` on element messages (a re-ban would fail with
//! `EEXIST` and roll back the whole batch) and keeps the module free of FFI.

use std::net::IpAddr;

// <linux/netlink.h>
pub const NLMSG_HDRLEN: usize = 16;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_CREATE: u16 = 0x400;
/// In an NLMSG_ERROR: extended-ack TLVs follow the echoed header.
pub const NLM_F_ACK_TLVS: u16 = 0x200;
pub const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;
pub const NLMSGERR_ATTR_MSG: u16 = 1;
pub const NLMSGERR_ATTR_OFFS: u16 = 2;

// <linux/netfilter/nfnetlink.h>
pub const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
pub const NFNL_MSG_BATCH_END: u16 = 0x11;
pub const NFNL_SUBSYS_NFTABLES: u16 = 10;

// <linux/netfilter/nf_tables.h>, enum nf_tables_msg_types
pub const NFT_MSG_NEWSET: u16 = 9;
pub const NFT_MSG_GETSET: u16 = 10;
pub const NFT_MSG_NEWSETELEM: u16 = 12;
pub const NFT_MSG_GETSETELEM: u16 = 13;
pub const NFT_MSG_DELSETELEM: u16 = 14;
/// Kernel >= 6.3: like DELSETELEM but an absent element is not an error.
pub const NFT_MSG_DESTROYSETELEM: u16 = 30;

// enum nft_set_attributes
pub const NFTA_SET_TABLE: u16 = 1;
pub const NFTA_SET_NAME: u16 = 2;
pub const NFTA_SET_FLAGS: u16 = 3;
pub const NFTA_SET_KEY_TYPE: u16 = 4;
// enum nft_set_flags
pub const NFT_SET_INTERVAL: u32 = 0x4;
pub const NFT_SET_TIMEOUT: u32 = 0x10;
// enum nft_set_elem_list_attributes
pub const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
pub const NFTA_SET_ELEM_LIST_SET: u16 = 2;
pub const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
// enum nft_set_elem_attributes
pub const NFTA_SET_ELEM_KEY: u16 = 1;
pub const NFTA_SET_ELEM_FLAGS: u16 = 3;
pub const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
pub const NFTA_SET_ELEM_EXPIRATION: u16 = 5;
/// enum nft_set_elem_flags: the element closes an interval.
pub const NFT_SET_ELEM_INTERVAL_END: u32 = 0x1;
pub const NFTA_DATA_VALUE: u16 = 1;

/// An attribute's length is a u16: one element list holds at most this
/// many bytes, hence several NEWSETELEM messages for a big set.
pub const MAX_NEST: usize = 0xffff & !3;

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// One element as it goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireElem {
    pub ip: IpAddr,
    pub timeout_ms: Option<u64>,
    /// `NFT_SET_ELEM_INTERVAL_END` for the closing element of an interval.
    pub flags: u32,
}

impl WireElem {
    /// Bytes taken inside the element list: LIST_ELEM header, optional
    /// FLAGS and TIMEOUT, KEY nest holding DATA_VALUE.
    pub fn encoded_len(&self) -> usize {
        let key = match self.ip {
            IpAddr::V4(_) => 4,
            IpAddr::V6(_) => 16,
        };
        4 + if self.flags != 0 { 8 } else { 0 } + if self.timeout_ms.is_some() { 12 } else { 0 } + 4 + 4 + key
    }
}

/// Appends netlink messages to one buffer.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    /// Starts a message with its nfgenmsg header; returns its offset for [`Writer::end`].
    pub fn begin(&mut self, ty: u16, flags: u16, seq: u32, family: u8, res_id: u16) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched by end()
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
        self.buf.extend_from_slice(&[family, 0 /* NFNETLINK_V0 */]);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        start
    }

    pub fn end(&mut self, start: usize) {
        let len = (self.buf.len() - start) as u32;
        self.buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    pub fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(self.buf.len() + align4(len) - len, 0);
    }

    /// A name, NUL-terminated as libnftnl's `mnl_attr_put_strz` writes it.
    pub fn strz(&mut self, ty: u16, s: &str) {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.attr(ty, &v);
    }

    pub fn nest_start(&mut self, ty: u16) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        start
    }

    pub fn nest_end(&mut self, start: usize) {
        let len = self.buf.len() - start;
        debug_assert!(len <= 0xffff, "netlink attribute of {len} bytes");
        self.buf[start..start + 2].copy_from_slice(&(len as u16).to_ne_bytes());
    }

    /// One element of an element list, numbered `index` (1-based) as libnftnl does.
    pub fn elem(&mut self, index: u16, e: &WireElem) {
        let n = self.nest_start(index);
        if e.flags != 0 {
            self.attr(NFTA_SET_ELEM_FLAGS, &e.flags.to_be_bytes());
        }
        if let Some(ms) = e.timeout_ms {
            self.attr(NFTA_SET_ELEM_TIMEOUT, &ms.to_be_bytes());
        }
        let k = self.nest_start(NFTA_SET_ELEM_KEY);
        match e.ip {
            IpAddr::V4(a) => self.attr(NFTA_DATA_VALUE, &a.octets()),
            IpAddr::V6(a) => self.attr(NFTA_DATA_VALUE, &a.octets()),
        }
        self.nest_end(k);
        self.nest_end(n);
    }

    pub fn batch_begin(&mut self, seq: u32) {
        let m = self.begin(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq, 0, NFNL_SUBSYS_NFTABLES);
        self.end(m);
    }

    pub fn batch_end(&mut self, seq: u32) {
        let m = self.begin(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq, 0, NFNL_SUBSYS_NFTABLES);
        self.end(m);
    }

    /// A NEW/DEL/DESTROYSETELEM message carrying `elems` (which must fit in [`MAX_NEST`]).
    #[allow(clippy::too_many_arguments)]
    pub fn setelem(&mut self, ty: u16, flags: u16, seq: u32, family: u8, table: &str, set: &str, elems: &[WireElem]) {
        let m = self.begin(nft_type(ty), flags, seq, family, 0);
        self.strz(NFTA_SET_ELEM_LIST_TABLE, table);
        self.strz(NFTA_SET_ELEM_LIST_SET, set);
        let list = self.nest_start(NFTA_SET_ELEM_LIST_ELEMENTS);
        for (i, e) in elems.iter().enumerate() {
            // The kernel ignores the number (nla_for_each_nested); it wraps harmlessly.
            self.elem((i as u16).wrapping_add(1), e);
        }
        self.nest_end(list);
        self.end(m);
    }

    /// GETSET for one set, answered by one NEWSET then an ACK.
    pub fn getset(&mut self, seq: u32, family: u8, table: &str, set: &str) {
        let m = self.begin(nft_type(NFT_MSG_GETSET), NLM_F_REQUEST | NLM_F_ACK, seq, family, 0);
        self.strz(NFTA_SET_TABLE, table);
        self.strz(NFTA_SET_NAME, set);
        self.end(m);
    }

    /// GETSETELEM dump; attributes in the order `nft list set` sends them.
    pub fn getsetelem_dump(&mut self, seq: u32, family: u8, table: &str, set: &str) {
        let m = self.begin(nft_type(NFT_MSG_GETSETELEM), NLM_F_REQUEST | NLM_F_DUMP, seq, family, 0);
        self.strz(NFTA_SET_ELEM_LIST_SET, set);
        self.strz(NFTA_SET_ELEM_LIST_TABLE, table);
        self.end(m);
    }
}

pub const fn nft_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | msg
}

/// Size of a setelem message with no elements: headers, two names, the list nest.
pub fn setelem_overhead(table: &str, set: &str) -> usize {
    NLMSG_HDRLEN + 4 + align4(4 + table.len() + 1) + align4(4 + set.len() + 1) + 4
}

/// One message read from the socket.
pub struct Msg<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    /// Everything after the 16-byte header.
    pub payload: &'a [u8],
}

/// Splits a datagram into messages; stops at a malformed length.
pub fn messages(mut buf: &[u8]) -> impl Iterator<Item = Msg<'_>> {
    std::iter::from_fn(move || {
        if buf.len() < NLMSG_HDRLEN {
            return None;
        }
        let len = u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return None;
        }
        let msg = Msg {
            ty: u16::from_ne_bytes(buf[4..6].try_into().unwrap()),
            flags: u16::from_ne_bytes(buf[6..8].try_into().unwrap()),
            seq: u32::from_ne_bytes(buf[8..12].try_into().unwrap()),
            payload: &buf[NLMSG_HDRLEN..len],
        };
        buf = &buf[align4(len).min(buf.len())..];
        Some(msg)
    })
}

/// Attributes as (type without NESTED/BYTEORDER bits, value).
pub fn attrs(mut buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        if len < 4 || len > buf.len() {
            return None;
        }
        let ty = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        let value = &buf[4..len];
        buf = &buf[align4(len).min(buf.len())..];
        Some((ty, value))
    })
}

pub fn be_u32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

pub fn be_u64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.get(..8)?.try_into().ok()?))
}

/// An NLMSG_ERROR: `errno` 0 is an acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// Sequence number of the request it answers (from the echoed header).
    pub seq: u32,
    /// Positive errno, 0 for success.
    pub errno: i32,
    /// NLMSGERR_ATTR_MSG, when the kernel gave one (NETLINK_EXT_ACK).
    pub message: Option<String>,
    /// NLMSGERR_ATTR_OFFS: offset of the offending attribute in the request.
    pub offset: Option<u32>,
}

pub fn parse_ack(msg: &Msg) -> Option<Ack> {
    let p = msg.payload;
    let error = i32::from_ne_bytes(p.get(0..4)?.try_into().ok()?);
    // The echoed request header; with NETLINK_CAP_ACK never its payload.
    let orig = p.get(4..4 + NLMSG_HDRLEN)?;
    let orig_len = u32::from_ne_bytes(orig[0..4].try_into().ok()?) as usize;
    let seq = u32::from_ne_bytes(orig[8..12].try_into().ok()?);
    let mut ack = Ack { seq, errno: -error, message: None, offset: None };
    if msg.flags & NLM_F_ACK_TLVS != 0 {
        // NLM_F_CAPPED (0x100) says the payload was not echoed.
        let skip = if msg.flags & 0x100 != 0 { NLMSG_HDRLEN } else { align4(orig_len) };
        for (ty, v) in attrs(p.get(4 + skip..).unwrap_or(&[])) {
            match ty {
                NLMSGERR_ATTR_MSG => ack.message = Some(String::from_utf8_lossy(v).trim_end_matches('\0').to_owned()),
                NLMSGERR_ATTR_OFFS => ack.offset = v.get(..4).map(|b| u32::from_ne_bytes(b.try_into().unwrap())),
                _ => {}
            }
        }
    }
    Some(ack)
}
