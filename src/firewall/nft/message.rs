//! nf_tables netlink messages: requests built by libnftnl and libmnl,
//! acknowledgements decoded by hand.
//!
//! Only what banwarden sends is built: batch BEGIN/END, NEWSETELEM,
//! DELSETELEM, DESTROYSETELEM, GETSET, a GETSETELEM dump and a GETSETELEM of one key, with the calls
//! that lay them out as `nft` 1.0.6 (libnftnl 1.2.4) does, byte for byte (see
//! the golden tests):
//! - BEGIN/END: `nftnl_batch_begin`, `nftnl_batch_end`;
//! - element messages: `nftnl_nlmsg_build_hdr`, the table and set names with
//!   libmnl's `mnl_attr_put_strz`, then an `NFTA_SET_ELEM_LIST_ELEMENTS` nest
//!   (`mnl_attr_nest_start`/`_end`) of elements each written by
//!   `nftnl_set_elem_nlmsg_build` from an `nftnl_set_elem` holding the key, the
//!   timeout in milliseconds and the flags (`nftnl_set_elem_set*`), as nft's
//!   `mnl_nft_setelem_batch()` does. Not nftnl's `Set`: its element messages
//!   hard-code `NLM_F_EXCL` (a re-ban would fail with `EEXIST` and roll back
//!   the whole batch). Not `nftnl_set_elems_nlmsg_build_payload`: it writes the
//!   set name before the table, unlike nft;
//! - GETSET: `nftnl_set_nlmsg_build_payload`, GETSETELEM:
//!   `nftnl_set_elems_nlmsg_build_payload`, both from an `nftnl_set` holding
//!   only the table and the name.
//!
//! libmnl and libnftnl write without bounds checks. Every message is built in
//! zeroed room reserved at the end of an [`NlBuf`]; before each C call the
//! room left is checked against the most that call can write, after it the
//! bytes written are checked against what this module computes
//! ([`WireElem::encoded_len`], [`setelem_overhead`]): the sizes the client
//! plans its transactions with. A mismatch panics rather than send a message
//! of another size than planned.
//!
//! Replies (acknowledgements, NEWSET, the NEWSETELEM of a dump) are decoded by
//! hand: libnftnl's parsers (`nftnl_set_nlmsg_parse`,
//! `nftnl_set_elems_nlmsg_parse`) call `exit()` on an attribute that fails
//! their validation (`abi_breakage()` in libnftnl's `utils.c`), which a daemon
//! cannot let a kernel reply do, and allocate an object per element. The
//! framing (`netlink::messages`, `netlink::Attrs`) is shared with ipset; the
//! acknowledgements are decoded here, the sets and elements in `client`.

use std::ffi::CString;
use std::fmt;
use std::net::IpAddr;
use std::ops::Deref;
use std::ptr::NonNull;

use mnl::mnl_sys;
use nftnl::nftnl_sys as sys;

use crate::firewall::netlink::{align4, Attrs, Msg, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_DUMP};

// <linux/netlink.h>, what only nf_tables uses (the rest is in `netlink`)
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_CREATE: u16 = 0x400;
/// In an NLMSG_ERROR: extended-ack TLVs follow the echoed header.
pub const NLM_F_ACK_TLVS: u16 = 0x200;
pub const NLMSGERR_ATTR_MSG: u16 = 1;
pub const NLMSGERR_ATTR_OFFS: u16 = 2;

// <linux/netfilter/nfnetlink.h>
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
pub const NFTA_SET_FLAGS: u16 = 3;
pub const NFTA_SET_KEY_TYPE: u16 = 4;
/// The set's default element timeout, milliseconds (be64).
pub const NFTA_SET_TIMEOUT: u16 = 11;
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

/// nlmsghdr and nfgenmsg: the whole of a BEGIN or END message.
const HDR_LEN: usize = NLMSG_HDRLEN + 4;

/// The most `nftnl_set_elem_nlmsg_build` writes for a [`SetElem`]: list
/// element nest, FLAGS, TIMEOUT, KEY nest around a 16-byte DATA_VALUE. It
/// writes only the attributes [`SetElem::load`] sets.
const MAX_ELEM_BYTES: usize = 4 + 8 + 12 + 4 + 4 + 16;

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

/// Size of a name attribute as `mnl_attr_put_strz` writes it: NUL-terminated, padded.
const fn strz_len(name: &str) -> usize {
    align4(4 + name.len() + 1)
}

/// Size of a setelem message with no elements: headers, two names, the list nest.
pub fn setelem_overhead(table: &str, set: &str) -> usize {
    HDR_LEN + strz_len(table) + strz_len(set) + 4
}

/// A name for libnftnl or libmnl, which take C strings.
fn c_name(name: &str) -> CString {
    CString::new(name).expect("nftables names with a NUL byte are refused by the client")
}

/// Netlink messages, one after the other, in 4-byte words: libmnl and
/// libnftnl write `nlmsghdr` and `nlattr` through pointers, which must be
/// aligned for them. Reads as the bytes of the messages.
#[derive(Default)]
pub struct NlBuf {
    words: Vec<u32>,
    /// Bytes of complete messages; at most `words.len() * 4`.
    len: usize,
}

impl NlBuf {
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// All the words as bytes, complete messages first.
    fn storage(&self) -> &[u8] {
        // SAFETY: the u8 view covers exactly the initialised words, which have no padding.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.words.len() * 4) }
    }

    fn storage_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in storage, and any byte written is a valid part of some u32.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.words.len() * 4) }
    }

    /// Zeroes `room` bytes after the complete messages, for the next one.
    fn reserve(&mut self, room: usize) {
        let end = self.len + room;
        if self.words.len() * 4 < end {
            self.words.resize(end.div_ceil(4), 0);
        }
        let len = self.len;
        self.storage_mut()[len..end].fill(0);
    }

    /// The message under construction and the room after it.
    fn tail(&self) -> &[u8] {
        &self.storage()[self.len..]
    }

    fn tail_mut(&mut self) -> &mut [u8] {
        let len = self.len;
        &mut self.storage_mut()[len..]
    }

    fn commit(&mut self, msg_len: usize) {
        assert!(msg_len % 4 == 0 && self.len + msg_len <= self.words.len() * 4);
        self.len += msg_len;
    }
}

impl Deref for NlBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.storage()[..self.len]
    }
}

impl fmt::Debug for NlBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq<Vec<u8>> for NlBuf {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == other[..]
    }
}

/// An `nftnl_set_elem`, owned, loaded with one element after the other.
struct SetElem {
    elem: NonNull<sys::nftnl_set_elem>,
    /// What the element holds besides its key (a new one holds nothing):
    /// elements of a batch mostly share them, and setting them again costs.
    timeout_ms: Option<u64>,
    flags: u32,
}

// SAFETY: the element is a heap object owned by this value alone, and
// libnftnl keeps no per-thread state for it; it is only read or written
// through `&mut self` or by a builder that borrows it mutably.
unsafe impl Send for SetElem {}
// SAFETY: `&SetElem` gives no access to the element.
unsafe impl Sync for SetElem {}

impl SetElem {
    fn new() -> SetElem {
        // SAFETY: no arguments; returns a new element (no attribute set) or NULL.
        let elem = unsafe { sys::nftnl_set_elem_alloc() };
        SetElem { elem: NonNull::new(elem).expect("nftnl_set_elem_alloc: out of memory"), timeout_ms: None, flags: 0 }
    }

    /// Sets the key, the timeout (milliseconds) and the flags of `e`, and
    /// unsets those `e` has not, so that nothing of the previous one remains.
    fn load(&mut self, e: &WireElem) {
        let elem = self.elem.as_ptr();
        let (v4, v6);
        let key: &[u8] = match e.ip {
            IpAddr::V4(a) => {
                v4 = a.octets();
                &v4
            }
            IpAddr::V6(a) => {
                v6 = a.octets();
                &v6
            }
        };
        // SAFETY: elem is ours and live; libnftnl copies key.len() bytes from
        // key, which fails only beyond NFT_DATA_VALUE_MAXLEN (64 bytes).
        let rc = unsafe {
            sys::nftnl_set_elem_set(elem, sys::NFTNL_SET_ELEM_KEY as u16, key.as_ptr().cast(), key.len() as u32)
        };
        assert_eq!(rc, 0, "nftnl_set_elem_set(NFTNL_SET_ELEM_KEY) refused a {}-byte key", key.len());
        if e.timeout_ms != self.timeout_ms {
            // SAFETY (both calls): elem is ours and live; a u64 is the size
            // libnftnl checks NFTNL_SET_ELEM_TIMEOUT against; unset clears a flag.
            match e.timeout_ms {
                Some(ms) => unsafe { sys::nftnl_set_elem_set_u64(elem, sys::NFTNL_SET_ELEM_TIMEOUT as u16, ms) },
                None => unsafe { sys::nftnl_set_elem_unset(elem, sys::NFTNL_SET_ELEM_TIMEOUT as u16) },
            }
            self.timeout_ms = e.timeout_ms;
        }
        if e.flags != self.flags {
            // SAFETY (both calls): as above, with a u32 for NFTNL_SET_ELEM_FLAGS.
            match e.flags {
                0 => unsafe { sys::nftnl_set_elem_unset(elem, sys::NFTNL_SET_ELEM_FLAGS as u16) },
                flags => unsafe { sys::nftnl_set_elem_set_u32(elem, sys::NFTNL_SET_ELEM_FLAGS as u16, flags) },
            }
            self.flags = e.flags;
        }
    }
}

impl Drop for SetElem {
    fn drop(&mut self) {
        // SAFETY: allocated by nftnl_set_elem_alloc, never added to a set, freed once.
        unsafe { sys::nftnl_set_elem_free(self.elem.as_ptr()) }
    }
}

/// An `nftnl_set`, owned, naming an existing set: table and name only.
struct NamedSet {
    set: NonNull<sys::nftnl_set>,
    /// Bytes of the two name attributes, all libnftnl writes for this set.
    attrs_len: usize,
}

impl NamedSet {
    fn new(table: &str, name: &str) -> NamedSet {
        // SAFETY: no arguments; returns a new set or NULL.
        let set = unsafe { sys::nftnl_set_alloc() };
        let set = NamedSet {
            set: NonNull::new(set).expect("nftnl_set_alloc: out of memory"),
            attrs_len: strz_len(table) + strz_len(name),
        };
        for (attr, value) in [(sys::NFTNL_SET_TABLE, table), (sys::NFTNL_SET_NAME, name)] {
            let value = c_name(value);
            // SAFETY: the set is ours and live; value is NUL-terminated and
            // libnftnl copies it (strdup).
            let rc = unsafe { sys::nftnl_set_set_str(set.set.as_ptr(), attr as u16, value.as_ptr()) };
            assert_eq!(rc, 0, "nftnl_set_set_str: out of memory");
        }
        set
    }
}

impl Drop for NamedSet {
    fn drop(&mut self) {
        // SAFETY: allocated by nftnl_set_alloc, freed once (with its names).
        unsafe { sys::nftnl_set_free(self.set.as_ptr()) }
    }
}

/// One message being built by libnftnl and libmnl at the end of an
/// [`NlBuf`], in `room` zeroed bytes reserved for it.
struct Builder<'a> {
    buf: &'a mut NlBuf,
    room: usize,
}

impl<'a> Builder<'a> {
    fn new(buf: &'a mut NlBuf, room: usize) -> Builder<'a> {
        buf.reserve(room);
        Builder { buf, room }
    }

    /// A message of nf_tables type `ty` with its nfgenmsg header, by `nftnl_nlmsg_build_hdr`
    /// (which adds NLM_F_REQUEST and the NFNL_SUBSYS_NFTABLES byte of the type).
    fn nft(buf: &'a mut NlBuf, room: usize, ty: u16, flags: u16, seq: u32, family: u8) -> Builder<'a> {
        let mut b = Builder::new(buf, room);
        // SAFETY: nlh starts `room` zeroed bytes, of which it writes 20 (checked by exact).
        b.exact(HDR_LEN, |nlh| unsafe {
            sys::nftnl_nlmsg_build_hdr(nlh.cast(), ty, family.into(), flags, seq);
        });
        b
    }

    /// nlmsg_len as the C code left it (0 before the header is written).
    fn len(&self) -> usize {
        u32::from_ne_bytes(self.buf.tail()[..4].try_into().unwrap()) as usize
    }

    /// Lets `write` append at most `max` bytes to the message, once they are
    /// known to fit its room; returns how many it appended.
    fn append(&mut self, max: usize, write: impl FnOnce(*mut libc::nlmsghdr)) -> usize {
        let before = self.len();
        assert!(before + max <= self.room, "netlink message: {max} more bytes after {before} overflow {}", self.room);
        write(self.buf.tail_mut().as_mut_ptr().cast());
        let after = self.len();
        assert!(before <= after && after - before <= max, "netlink message went from {before} to {after} bytes");
        after - before
    }

    /// [`Builder::append`] of exactly `n` bytes.
    fn exact(&mut self, n: usize, write: impl FnOnce(*mut libc::nlmsghdr)) {
        let wrote = self.append(n, write);
        assert_eq!(wrote, n, "netlink message: {wrote} bytes written where {n} were computed");
    }

    /// A NUL-terminated name, as `mnl_attr_put_strz` writes it; `scratch`
    /// holds the C string (no allocation per message).
    fn strz(&mut self, ty: u16, name: &str, scratch: &mut Vec<u8>) {
        assert!(!name.contains('\0'), "nftables names with a NUL byte are refused by the client");
        scratch.clear();
        scratch.extend_from_slice(name.as_bytes());
        scratch.push(0);
        // SAFETY: nlh is the message, with strz_len(name) bytes of room checked
        // by exact; scratch holds name and its only NUL, at the end.
        self.exact(strz_len(name), |nlh| unsafe { mnl_sys::mnl_attr_put_strz(nlh, ty, scratch.as_ptr().cast()) });
    }

    /// Opens a nest; returns its offset in the message for [`Builder::nest_end`].
    fn nest_start(&mut self, ty: u16) -> usize {
        let at = self.len();
        // SAFETY: nlh is the message, with the 4 bytes of room checked by exact.
        self.exact(4, |nlh| unsafe {
            mnl_sys::mnl_attr_nest_start(nlh, ty);
        });
        at
    }

    fn nest_end(&mut self, at: usize) {
        let len = self.len() - at;
        assert!(len <= 0xffff, "netlink attribute of {len} bytes");
        // SAFETY: `at` is the offset of a nest header inside the message;
        // libmnl writes its length there and nothing else.
        self.exact(0, |nlh| unsafe { mnl_sys::mnl_attr_nest_end(nlh, nlh.cast::<u8>().add(at).cast()) });
    }

    /// One element of an element list, numbered `index`, by `nftnl_set_elem_nlmsg_build`.
    fn elem(&mut self, elem: &mut SetElem, index: u16, encoded_len: usize) {
        let wrote = self.append(MAX_ELEM_BYTES, |nlh| {
            // SAFETY: nlh is the message, with MAX_ELEM_BYTES of room checked
            // by append; elem is live and holds only key, timeout and flags.
            unsafe { sys::nftnl_set_elem_nlmsg_build(nlh, elem.elem.as_ptr(), index.into()) };
        });
        assert_eq!(wrote, encoded_len, "libnftnl wrote a {wrote}-byte element; {encoded_len} were computed");
    }

    /// Checks the message is `expected` bytes long and keeps it.
    fn finish(self, expected: usize) {
        let len = self.len();
        assert_eq!(len, expected, "netlink message of {len} bytes; {expected} were computed");
        self.buf.commit(len);
    }
}

/// Appends netlink messages to one buffer. Kept from one transaction to
/// the next, it allocates nothing once warmed up.
#[derive(Default)]
pub struct Writer {
    pub buf: NlBuf,
    /// Allocated for the first element message, reused for every element.
    elem: Option<SetElem>,
    /// The C string of a name being written.
    name: Vec<u8>,
}

impl Writer {
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    pub fn batch_begin(&mut self, seq: u32) {
        let mut b = Builder::new(&mut self.buf, HDR_LEN);
        // SAFETY: nlh starts HDR_LEN bytes of room, all it writes (checked by exact).
        b.exact(HDR_LEN, |nlh| unsafe {
            sys::nftnl_batch_begin(nlh.cast(), seq);
        });
        b.finish(HDR_LEN);
    }

    pub fn batch_end(&mut self, seq: u32) {
        let mut b = Builder::new(&mut self.buf, HDR_LEN);
        // SAFETY: as in batch_begin.
        b.exact(HDR_LEN, |nlh| unsafe {
            sys::nftnl_batch_end(nlh.cast(), seq);
        });
        b.finish(HDR_LEN);
    }

    /// A NEW/DEL/DESTROYSETELEM message carrying `elems` (which must fit in [`MAX_NEST`]).
    #[allow(clippy::too_many_arguments)]
    pub fn setelem(&mut self, ty: u16, flags: u16, seq: u32, family: u8, table: &str, set: &str, elems: &[WireElem]) {
        let expected = setelem_overhead(table, set) + elems.iter().map(WireElem::encoded_len).sum::<usize>();
        let elem = self.elem.get_or_insert_with(SetElem::new);
        // The slack lets every element be checked against MAX_ELEM_BYTES.
        let mut b = Builder::nft(&mut self.buf, expected + MAX_ELEM_BYTES, ty, flags, seq, family);
        b.strz(NFTA_SET_ELEM_LIST_TABLE, table, &mut self.name);
        b.strz(NFTA_SET_ELEM_LIST_SET, set, &mut self.name);
        let list = b.nest_start(NFTA_SET_ELEM_LIST_ELEMENTS);
        for (i, e) in elems.iter().enumerate() {
            elem.load(e);
            // The kernel ignores the number (nla_for_each_nested); it wraps harmlessly.
            b.elem(elem, (i as u16).wrapping_add(1), e.encoded_len());
        }
        b.nest_end(list);
        b.finish(expected);
    }

    /// GETSET for one set, answered by one NEWSET then an ACK.
    pub fn getset(&mut self, seq: u32, family: u8, table: &str, set: &str) {
        let named = NamedSet::new(table, set);
        let expected = HDR_LEN + named.attrs_len;
        let mut b = Builder::nft(&mut self.buf, expected, NFT_MSG_GETSET, NLM_F_ACK, seq, family);
        // SAFETY: nlh is the message, with room for the set's two name
        // attributes (checked by exact), all libnftnl writes for this set.
        b.exact(named.attrs_len, |nlh| unsafe { sys::nftnl_set_nlmsg_build_payload(nlh, named.set.as_ptr()) });
        b.finish(expected);
    }

    /// GETSETELEM of one key, not a dump (`nft get element`): the kernel
    /// answers with the element that holds the key (in an interval set, the
    /// start of the interval; with `NFT_SET_ELEM_INTERVAL_END` in `flags`,
    /// its end) or ENOENT. The set's name before the table, as nft sends it.
    pub fn getsetelem(&mut self, seq: u32, family: u8, table: &str, set: &str, ip: IpAddr, flags: u32) {
        let e = WireElem { ip, timeout_ms: None, flags };
        let expected = setelem_overhead(table, set) + e.encoded_len();
        let elem = self.elem.get_or_insert_with(SetElem::new);
        let mut b = Builder::nft(&mut self.buf, expected + MAX_ELEM_BYTES, NFT_MSG_GETSETELEM, NLM_F_ACK, seq, family);
        b.strz(NFTA_SET_ELEM_LIST_SET, set, &mut self.name);
        b.strz(NFTA_SET_ELEM_LIST_TABLE, table, &mut self.name);
        let list = b.nest_start(NFTA_SET_ELEM_LIST_ELEMENTS);
        elem.load(&e);
        b.elem(elem, 1, e.encoded_len());
        b.nest_end(list);
        b.finish(expected);
    }

    /// GETSETELEM dump; attributes in the order `nft list set` sends them.
    pub fn getsetelem_dump(&mut self, seq: u32, family: u8, table: &str, set: &str) {
        let named = NamedSet::new(table, set);
        let expected = HDR_LEN + named.attrs_len;
        let mut b = Builder::nft(&mut self.buf, expected, NFT_MSG_GETSETELEM, NLM_F_DUMP, seq, family);
        // SAFETY: as in getset; a set without elements gets no element list.
        b.exact(named.attrs_len, |nlh| unsafe { sys::nftnl_set_elems_nlmsg_build_payload(nlh, named.set.as_ptr()) });
        b.finish(expected);
    }
}

pub const fn nft_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | msg
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
        for (ty, v) in Attrs(p.get(4 + skip..).unwrap_or(&[])) {
            match ty {
                NLMSGERR_ATTR_MSG => ack.message = Some(String::from_utf8_lossy(v).trim_end_matches('\0').to_owned()),
                NLMSGERR_ATTR_OFFS => ack.offset = v.get(..4).map(|b| u32::from_ne_bytes(b.try_into().unwrap())),
                _ => {}
            }
        }
    }
    Some(ack)
}
