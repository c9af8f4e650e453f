//! The ipset backend: adds, refreshes and removes banned addresses in existing `hash:ip`
//! sets by speaking the ipset netlink protocol (nfnetlink subsystem `NFNL_SUBSYS_IPSET`)
//! directly, without running `ipset`.
//!
//! [`IpsetClient`] owns one netlink socket, bound to the network namespace of the thread
//! that opened it. The sets are created by the admin beforehand ([`creation_command`]); this
//! module never creates, flushes or destroys one. Addresses travel as typed [`IpAddr`] and
//! set names are checked against `IPSET_MAXNAMELEN`: no text from a log reaches the kernel.
//!
//! ipset has no transactions: every element is its own message, and the kernel handles the
//! messages of a datagram one after another, answering only for those that fail (no
//! `NLM_F_ACK`). One datagram carries up to [`IpsetClient`]'s batch of messages, sized so
//! that the error replies of a whole datagram fit in the receive buffer; if they do not
//! (`ENOBUFS`), the datagram is replayed one acknowledged message at a time, which is
//! harmless because add and delete are idempotent here (`-exist` semantics).

mod message;
mod socket;
#[cfg(test)]
mod tests;

use std::io;

use crate::vocab::Network;

use crate::firewall::netlink::{self, Attrs, Msg, NLMSG_DONE};
use message::Writer;
use socket::NlSocket;

/// One address or network to ban (a network needs a `hash:net` set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpsetElement {
    pub net: Network,
    /// Seconds until the kernel drops the element. `None`: the set's default (permanent if
    /// the set has none); `Some(0)`: permanent in a set with timeout support. The kernel
    /// caps larger values at `IPSET_MAX_TIMEOUT` (2,147,483 s, about 24.8 days) silently.
    pub timeout_secs: Option<u32>,
}

/// What went wrong, and on which set.
#[derive(Debug, thiserror::Error)]
pub enum IpsetError {
    #[error("invalid ipset name {set:?}: {reason}")]
    InvalidName { set: String, reason: &'static str },
    #[error("ipset {set:?} does not exist")]
    NoSuchSet { set: String },
    #[error("ipset {set:?} holds {} addresses, cannot take {ip}", family_name(*.set_family))]
    WrongFamily { set: String, set_family: u8, ip: Network },
    #[error("ipset {set:?} is full (its maxelem is reached), {ip} was not added")]
    SetFull { set: String, ip: Network },
    #[error("ipset {set:?} was created without timeout support, {ip} cannot get a timeout (create the set with `timeout 0`)")]
    TimeoutUnsupported { set: String, ip: Network },
    #[error("ipset {set:?} is of type {type_name}, which cannot hold the network {net} (a hash:net set can)")]
    NoNetworks { set: String, type_name: String, net: Network },
    #[error("permission denied on ipset {set:?}: CAP_NET_ADMIN is needed in its network namespace")]
    Permission { set: String },
    #[error("ipset {set:?}{}: {meaning} (kernel error {code})", at(.ip))]
    Kernel { set: String, ip: Option<Network>, code: i32, meaning: String },
    #[error("ipset {set:?}: malformed kernel reply: {what}")]
    Malformed { set: String, what: &'static str },
    #[error("ipset netlink socket: {what}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

fn family_name(family: u8) -> &'static str {
    match family {
        NFPROTO_IPV4 => "IPv4",
        NFPROTO_IPV6 => "IPv6",
        _ => "non-IP",
    }
}

fn at(ip: &Option<Network>) -> String {
    ip.map(|ip| format!(", element {ip}")).unwrap_or_default()
}

/// `NFPROTO_IPV4` / `NFPROTO_IPV6` (<linux/netfilter.h>), the family of a set.
pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_IPV6: u8 = 10;

/// The header of a set, as `ipset list -t` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpsetInfo {
    /// "hash:ip" for the sets banwarden expects.
    pub type_name: String,
    /// [`NFPROTO_IPV4`] or [`NFPROTO_IPV6`].
    pub family: u8,
    /// The set was created with a `timeout` option, so elements may carry one.
    pub timeout_support: bool,
    /// Number of entries (`IPSET_ATTR_ELEMENTS`); may count expired ones not yet collected.
    pub size: u32,
    pub maxelem: u32,
}

// Kernel error codes (<linux/netfilter/ipset/ip_set.h>, ip_set_hash.h): replies carry
// -errno, and ipset's own codes start at IPSET_ERR_PRIVATE (4096).
const IPSET_ERR_PROTOCOL: i32 = 4097;
/// `IPSET_ERR_EXIST`: what `IPSET_CMD_TEST` answers for an element the set does not match.
const IPSET_ERR_EXIST: i32 = 4103;
const IPSET_ERR_INVALID_FAMILY: i32 = 4106;
const IPSET_ERR_TIMEOUT: i32 = 4107;
const IPSET_ERR_IPADDR_IPV4: i32 = 4109;
const IPSET_ERR_IPADDR_IPV6: i32 = 4110;
/// `IPSET_ERR_TYPE_SPECIFIC`: codes from here on depend on the set type.
const IPSET_ERR_TYPE_SPECIFIC: i32 = 4352;
/// `IPSET_ERR_HASH_FULL`, only for `hash:*` types.
const IPSET_ERR_HASH_FULL: i32 = IPSET_ERR_TYPE_SPECIFIC;

/// Meanings after libipset's lib/errcode.c, for codes the enum has no variant for.
fn meaning(code: i32, type_name: &str) -> String {
    let generic = match code {
        4097 => "protocol error (kernel and banwarden disagree on the ipset protocol)",
        4098 => "set type not supported by the kernel",
        4099 => "maximal number of sets reached",
        4100 => "set is in use by a kernel component",
        4101 => "the other set already exists",
        4102 => "the sets have different types",
        4103 => "element already exists or is missing",
        4104 => "invalid CIDR prefix",
        4105 => "invalid netmask",
        4106 => "the set's type does not support this protocol family",
        4107 => "set was created without timeout support",
        4108 => "set is referenced and cannot be destroyed",
        4109 => "an IPv4 address is expected",
        4110 => "an IPv6 address is expected",
        4111 => "set was created without counter support",
        4112 => "set was created without comment support",
        4113 => "invalid mark mask",
        4114 => "set was created without skbinfo support",
        4352..=4357 if type_name.starts_with("hash:") => match code {
            4352 => "hash is full, cannot add more elements",
            4353 => "null-valued element",
            4354 => "invalid protocol",
            4355 => "protocol missing but must be specified",
            4356 => "range not supported by the set type",
            _ => "invalid range",
        },
        c if c >= IPSET_ERR_TYPE_SPECIFIC => "error specific to the set type",
        c if c >= 4096 => "unknown ipset error",
        c => return io::Error::from_raw_os_error(c).to_string(),
    };
    generic.to_string()
}

/// The set's type and family, from `IPSET_CMD_HEADER`.
struct Header {
    type_name: String,
    family: u8,
}

/// Receive buffer size. Dumps fill messages up to what the reader asked for last, capped at
/// 32 KiB by `netlink_recvmsg()` (`max_recvmsg_len`); 64 KiB always holds one.
const RX_LEN: usize = 64 << 10;
/// Upper bound of the receive-buffer charge (`truesize`) of one error reply: a small skb.
const ERROR_TRUESIZE: usize = 1024;
/// Throughput plateaus (about 600k-900k elements/s here) from 64 elements per datagram on;
/// more only makes the kernel's skb bigger.
const MAX_BATCH: usize = 1024;
/// Longest ADD message: headers 20, protocol 8, name 4 + 32, data nest 4 + IPv6 nest
/// 4 + 20, timeout 8, line number 8.
const MAX_ADT_LEN: usize = 108;

/// A client for the ipset sets of one network namespace. See the module docs.
pub struct IpsetClient {
    sock: NlSocket,
    seq: u32,
    /// Negotiated on first use (`IPSET_CMD_PROTOCOL`), as libipset does.
    protocol: Option<u8>,
    batch: usize,
    tx: Writer,
    rx: Vec<u8>,
    /// Datagrams replayed one message at a time after an `ENOBUFS`; read by tests.
    overruns: u64,
}

/// An element and its index in the caller's slice.
type Item = (usize, IpsetElement);

impl IpsetClient {
    /// Opens a netlink socket in the calling thread's network namespace. Permissions are
    /// checked by the kernel on the first request, not here.
    pub fn open() -> Result<IpsetClient, IpsetError> {
        let sock = NlSocket::open()
            .map_err(|source| IpsetError::Io { what: "opening NETLINK_NETFILTER socket".into(), source })?;
        // Bounded by the receive buffer (every message of a datagram may fail and queue an
        // error) and by the send buffer (the datagram must fit it).
        let batch =
            (sock.rcvbuf() / ERROR_TRUESIZE).min(sock.sndbuf().saturating_sub(32) / MAX_ADT_LEN).clamp(16, MAX_BATCH);
        Ok(IpsetClient { sock, seq: 1, protocol: None, batch, tx: Writer::default(), rx: vec![0; RX_LEN], overruns: 0 })
    }

    /// Adds or refreshes (an address already there gets the new timeout). Returns the
    /// elements that failed, by index into `elements`; the others are in the set. A set-wide
    /// failure (no such set, no permission) is an `Err`: elements sent before it stay added.
    pub fn add(&mut self, set: &str, elements: &[IpsetElement]) -> Result<Vec<(usize, IpsetError)>, IpsetError> {
        check_name(set)?;
        let header = self.header(set)?;
        let mut failures = Vec::new();
        let mut items = Vec::with_capacity(elements.len());
        for (i, e) in elements.iter().enumerate() {
            if family_of(e.net) != header.family {
                // The kernel would only say IPSET_ERR_PROTOCOL: say it better, and earlier.
                failures.push((i, IpsetError::WrongFamily { set: set.into(), set_family: header.family, ip: e.net }));
            } else if !e.net.is_host() && !takes_networks(&header.type_name) {
                // hash:ip would take a network as the range of its addresses,
                // one element each (65,536 for a /16): refused instead.
                let type_name = header.type_name.clone();
                failures.push((i, IpsetError::NoNetworks { set: set.into(), type_name, net: e.net }));
            } else {
                items.push((i, *e));
            }
        }
        for (i, code) in self.adt(message::IPSET_CMD_ADD, set, &items)? {
            let ip = elements[i].net;
            failures.push((i, element_error(set, &header, ip, code)));
        }
        failures.sort_by_key(|(i, _)| *i);
        Ok(failures)
    }

    /// Removes; absent addresses and addresses of the other family are not errors (nor
    /// networks, from a set that cannot hold them). Every address is tried; the first
    /// per-element failure, if any, is returned at the end.
    pub fn delete(&mut self, set: &str, ips: &[Network]) -> Result<(), IpsetError> {
        check_name(set)?;
        let header = self.header(set)?;
        let items: Vec<Item> = ips
            .iter()
            .enumerate()
            .filter(|(_, ip)| family_of(**ip) == header.family)
            .filter(|(_, ip)| ip.is_host() || takes_networks(&header.type_name))
            .map(|(i, &net)| (i, IpsetElement { net, timeout_secs: None }))
            .collect();
        match self.adt(message::IPSET_CMD_DEL, set, &items)?.first() {
            Some(&(i, code)) => Err(element_error(set, &header, ips[i], code)),
            None => Ok(()),
        }
    }

    /// Whether the set matches `net` (`ipset test`): one lookup, whatever the set's size.
    /// A `hash:net` set matches an address inside one of its networks. That is all the
    /// kernel says: not which element matched, nor its time left. An address of the
    /// other family, or a network for a set that holds addresses only, is not held.
    pub fn test(&mut self, set: &str, net: Network) -> Result<bool, IpsetError> {
        check_name(set)?;
        let header = self.header(set)?;
        if family_of(net) != header.family || (!net.is_host() && !takes_networks(&header.type_name)) {
            return Ok(false);
        }
        let protocol = self.protocol(set)?;
        let seq = self.next_seq(1);
        self.tx.clear();
        self.tx.test(protocol, set, net, seq);
        match self.transact(set, seq, false, |_| Ok(())) {
            Ok(()) => Ok(true),
            Err(IpsetError::Kernel { code: IPSET_ERR_EXIST, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The set's header: type, family, timeout support, number of entries, maxelem.
    pub fn info(&mut self, set: &str) -> Result<IpsetInfo, IpsetError> {
        check_name(set)?;
        let protocol = self.protocol(set)?;
        let seq = self.next_seq(1);
        self.tx.clear();
        self.tx.list(protocol, set, true, seq);
        let mut info = None;
        self.transact(set, seq, true, |msg| {
            if message::ipset_cmd(msg) == Some(message::IPSET_CMD_LIST) && info.is_none() {
                info = Some(parse_info(msg).ok_or_else(|| malformed(set, "set header without type, family or data"))?);
            }
            Ok(())
        })?;
        info.ok_or_else(|| malformed(set, "dump without set header"))
    }

    /// Members with their remaining timeout in seconds; `None` for a permanent member or a
    /// set without timeout support (the kernel reports both as 0 and rounds a live
    /// remainder under one second up to 1).
    pub fn list(&mut self, set: &str) -> Result<Vec<(Network, Option<u32>)>, IpsetError> {
        check_name(set)?;
        let protocol = self.protocol(set)?;
        let seq = self.next_seq(1);
        self.tx.clear();
        self.tx.list(protocol, set, false, seq);
        let mut members = Vec::new();
        self.transact(set, seq, true, |msg| {
            if message::ipset_cmd(msg) != Some(message::IPSET_CMD_LIST) {
                return Ok(());
            }
            for (_, adt) in msg.attrs().filter(|(t, _)| *t == message::IPSET_ATTR_ADT) {
                for (_, data) in Attrs(adt).filter(|(t, _)| *t == message::IPSET_ATTR_DATA) {
                    let (mut ip, mut cidr, mut timeout) = (None, None, None);
                    for (t, v) in Attrs(data) {
                        match t {
                            message::IPSET_ATTR_IP => ip = message::ip_of(v),
                            message::IPSET_ATTR_CIDR => cidr = v.first().copied(),
                            message::IPSET_ATTR_TIMEOUT => timeout = netlink::be_u32(v).filter(|s| *s > 0),
                            _ => {}
                        }
                    }
                    let ip = ip.ok_or_else(|| malformed(set, "member without address"))?;
                    members.push((Network::of(ip, cidr.unwrap_or(128)), timeout));
                }
            }
            Ok(())
        })?;
        Ok(members)
    }

    fn next_seq(&mut self, count: usize) -> u32 {
        let first = self.seq;
        self.seq = self.seq.wrapping_add(count as u32);
        first
    }

    /// The protocol version to send: the kernel's, at most ours. Kernels before protocol 7
    /// reject a handshake in version 7 with IPSET_ERR_PROTOCOL; retry those in version 6.
    fn protocol(&mut self, set: &str) -> Result<u8, IpsetError> {
        if let Some(p) = self.protocol {
            return Ok(p);
        }
        for ours in [message::IPSET_PROTOCOL, message::IPSET_PROTOCOL_MIN] {
            let seq = self.next_seq(1);
            self.tx.clear();
            self.tx.protocol(ours, seq);
            let mut theirs = None;
            let res = self.transact(set, seq, false, |msg| {
                theirs =
                    msg.attrs().find(|(t, _)| *t == message::IPSET_ATTR_PROTOCOL).and_then(|(_, v)| v.first().copied());
                Ok(())
            });
            match res {
                Err(IpsetError::Kernel { code: IPSET_ERR_PROTOCOL, .. }) if ours != message::IPSET_PROTOCOL_MIN => {
                    continue
                }
                Err(e) => return Err(e),
                Ok(()) => {
                    let p = theirs.ok_or_else(|| malformed(set, "protocol reply without version"))?.min(ours);
                    self.protocol = Some(p);
                    return Ok(p);
                }
            }
        }
        unreachable!("the loop returns on its last protocol version")
    }

    /// `IPSET_CMD_HEADER`: one round trip, done by every add and delete so a set renamed,
    /// swapped or recreated with another family is seen at once.
    fn header(&mut self, set: &str) -> Result<Header, IpsetError> {
        let protocol = self.protocol(set)?;
        let seq = self.next_seq(1);
        self.tx.clear();
        self.tx.header(protocol, set, seq);
        let mut header = None;
        self.transact(set, seq, false, |msg| {
            let mut h = Header { type_name: String::new(), family: 0 };
            for (t, v) in msg.attrs() {
                match t {
                    message::IPSET_ATTR_TYPENAME => h.type_name = c_string(v),
                    message::IPSET_ATTR_FAMILY => h.family = v.first().copied().unwrap_or(0),
                    _ => {}
                }
            }
            header = Some(h);
            Ok(())
        })?;
        header.ok_or_else(|| malformed(set, "no header reply"))
    }

    /// Sends `self.tx` (one request) and feeds the replies carrying `seq` to `on_msg` until
    /// the request is answered: one reply, or for a dump every part up to `NLMSG_DONE`.
    /// Replies with other sequence numbers are leftovers of an earlier call and are skipped.
    fn transact(
        &mut self,
        set: &str,
        seq: u32,
        dump: bool,
        mut on_msg: impl FnMut(&Msg) -> Result<(), IpsetError>,
    ) -> Result<(), IpsetError> {
        self.sock.send(&self.tx.buf).map_err(|e| io_error(set, "sending request", e))?;
        loop {
            let n = match self.sock.recv(&mut self.rx, true) {
                Ok(n) => n.unwrap_or(0),
                // Dropped replies belonged to earlier batches (ours is yet to come).
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
                Err(e) => return Err(io_error(set, "receiving reply", e)),
            };
            for msg in netlink::messages(&self.rx[..n]) {
                if msg.seq != seq {
                    continue;
                }
                if let Some(code) = msg.errno() {
                    if code != 0 {
                        return Err(set_error(set, None, code, ""));
                    }
                    if msg.ty == NLMSG_DONE || !dump {
                        return Ok(());
                    }
                    continue;
                }
                on_msg(&msg)?;
                if !dump {
                    return Ok(());
                }
            }
        }
    }

    /// Sends ADD or DEL for every item, `self.batch` messages per datagram, and returns the
    /// failed ones as (caller's index, positive error code).
    fn adt(&mut self, cmd: u8, set: &str, items: &[Item]) -> Result<Vec<(usize, i32)>, IpsetError> {
        let protocol = self.protocol(set)?;
        let mut failed = Vec::new();
        let mut chunk_failed = Vec::new();
        for chunk in items.chunks(self.batch) {
            let first = self.next_seq(chunk.len());
            self.tx.clear();
            for (k, &(_, elem)) in chunk.iter().enumerate() {
                self.tx.adt(protocol, cmd, set, elem, false, first.wrapping_add(k as u32));
            }
            self.sock.send(&self.tx.buf).map_err(|e| io_error(set, "sending elements", e))?;
            chunk_failed.clear();
            if self.drain(set, first, chunk.len(), &mut chunk_failed)? {
                // Some error replies were dropped: which elements failed is unknown. Replay
                // the datagram with one acknowledged message at a time (idempotent).
                self.overruns += 1;
                chunk_failed.clear();
                for (k, &(_, elem)) in chunk.iter().enumerate() {
                    if let Some(code) = self.adt_one(protocol, cmd, set, elem)? {
                        chunk_failed.push((k, code));
                    }
                }
            }
            for &(k, code) in &chunk_failed {
                if is_set_wide(code) {
                    return Err(set_error(set, None, code, ""));
                }
                failed.push((chunk[k].0, code));
            }
        }
        Ok(failed)
    }

    /// Reads every reply already queued (the kernel answered inside `sendmsg()`), keeping
    /// the errors whose sequence number is in `first..first + count`. Returns whether the
    /// kernel dropped replies (`ENOBUFS`).
    fn drain(&mut self, set: &str, first: u32, count: usize, out: &mut Vec<(usize, i32)>) -> Result<bool, IpsetError> {
        let mut overrun = false;
        loop {
            let n = match self.sock.recv(&mut self.rx, false) {
                Ok(Some(n)) => n,
                Ok(None) => return Ok(overrun),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    overrun = true;
                    continue;
                }
                Err(e) => return Err(io_error(set, "receiving errors", e)),
            };
            for msg in netlink::messages(&self.rx[..n]) {
                let k = msg.seq.wrapping_sub(first) as usize;
                if let (Some(code), true) = (msg.errno(), k < count) {
                    if code != 0 {
                        out.push((k, code));
                    }
                }
            }
        }
    }

    /// One acknowledged ADD or DEL: `Some(code)` if it failed.
    fn adt_one(&mut self, protocol: u8, cmd: u8, set: &str, elem: IpsetElement) -> Result<Option<i32>, IpsetError> {
        let seq = self.next_seq(1);
        self.tx.clear();
        self.tx.adt(protocol, cmd, set, elem, true, seq);
        match self.transact(set, seq, false, |_| Ok(())) {
            Ok(()) => Ok(None),
            Err(IpsetError::Kernel { code, .. }) => Ok(Some(code)),
            // Set-wide errors come back mapped; return their code so the caller decides.
            Err(IpsetError::NoSuchSet { .. }) => Ok(Some(libc::ENOENT)),
            Err(IpsetError::Permission { .. }) => Ok(Some(libc::EPERM)),
            Err(e) => Err(e),
        }
    }
}

/// Failures that concern the set, not the element: the call stops there.
fn is_set_wide(code: i32) -> bool {
    matches!(code, libc::ENOENT | libc::EPERM | libc::EACCES)
}

fn set_error(set: &str, ip: Option<Network>, code: i32, type_name: &str) -> IpsetError {
    let set = set.to_string();
    match code {
        // ENOENT: find_set() failed in ip_set_core.c (also for a set in another netns).
        libc::ENOENT => IpsetError::NoSuchSet { set },
        // nfnetlink_rcv() refuses every message without CAP_NET_ADMIN.
        libc::EPERM | libc::EACCES => IpsetError::Permission { set },
        _ => IpsetError::Kernel { set, ip, code, meaning: meaning(code, type_name) },
    }
}

fn element_error(set: &str, header: &Header, ip: Network, code: i32) -> IpsetError {
    let hash = header.type_name.starts_with("hash:");
    match code {
        IPSET_ERR_HASH_FULL if hash => IpsetError::SetFull { set: set.into(), ip },
        IPSET_ERR_TIMEOUT => IpsetError::TimeoutUnsupported { set: set.into(), ip },
        IPSET_ERR_INVALID_FAMILY | IPSET_ERR_IPADDR_IPV4 | IPSET_ERR_IPADDR_IPV6 => {
            IpsetError::WrongFamily { set: set.into(), set_family: header.family, ip }
        }
        _ => set_error(set, Some(ip), code, &header.type_name),
    }
}

fn parse_info(msg: &Msg) -> Option<IpsetInfo> {
    let (mut type_name, mut family, mut data) = (None, None, None);
    for (t, v) in msg.attrs() {
        match t {
            message::IPSET_ATTR_TYPENAME => type_name = Some(c_string(v)),
            message::IPSET_ATTR_FAMILY => family = v.first().copied(),
            message::IPSET_ATTR_DATA => data = Some(v),
            _ => {}
        }
    }
    let mut info = IpsetInfo { type_name: type_name?, family: family?, timeout_support: false, size: 0, maxelem: 0 };
    for (t, v) in Attrs(data?) {
        match t {
            // The header carries the default timeout only if the set was created with one.
            message::IPSET_ATTR_TIMEOUT => info.timeout_support = true,
            message::IPSET_ATTR_ELEMENTS => info.size = netlink::be_u32(v)?,
            message::IPSET_ATTR_MAXELEM => info.maxelem = netlink::be_u32(v)?,
            _ => {}
        }
    }
    Some(info)
}

fn check_name(set: &str) -> Result<(), IpsetError> {
    let reason = if set.is_empty() {
        "empty"
    } else if set.len() >= message::IPSET_MAXNAMELEN {
        "longer than 31 bytes (IPSET_MAXNAMELEN)"
    } else if set.contains('\0') {
        "contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(IpsetError::InvalidName { set: set.into(), reason })
}

/// Whether a set of this type holds networks as such (not as ranges of
/// addresses).
pub fn takes_networks(type_name: &str) -> bool {
    type_name == "hash:net"
}

fn family_of(ip: Network) -> u8 {
    if !ip.is_ipv6() {
        NFPROTO_IPV4
    } else {
        NFPROTO_IPV6
    }
}

fn c_string(v: &[u8]) -> String {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

fn malformed(set: &str, what: &'static str) -> IpsetError {
    IpsetError::Malformed { set: set.into(), what }
}

fn io_error(set: &str, what: &str, source: io::Error) -> IpsetError {
    IpsetError::Io { what: format!("{what} for set {set:?}"), source }
}

/// The command an admin runs to create a suitable set, for warnings:
/// `ipset create NAME hash:ip family inet[6] timeout 0 maxelem 1048576`. `timeout 0` enables
/// per-element timeouts with permanent as the default; maxelem raises the default 65,536.
/// `networks`: it must take networks (type `hash:net`).
pub fn creation_command(set: &str, ipv6: bool, networks: bool) -> String {
    let plain = !set.is_empty() && set.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-+".contains(&b));
    let name = if plain { set.to_string() } else { format!("'{}'", set.replace('\'', r"'\''")) };
    let family = if ipv6 { "inet6" } else { "inet" };
    let kind = if networks { "hash:net" } else { "hash:ip" };
    format!("ipset create {name} {kind} family {family} timeout 0 maxelem 1048576")
}
