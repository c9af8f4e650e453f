//! [`NftClient`]: elements in and out of sets, in as few transactions as the
//! kernel accepts, with one result per set.
//!
//! Invariants:
//! - a transaction is one datagram of at most [`TX_BYTES`] (see `socket`);
//! - a transaction is committed only if every message in it was acknowledged
//!   with 0 and nothing else was reported (a 0 inside a failed batch means
//!   nothing: the kernel aborts the whole batch);
//! - a failing set never costs the other sets their elements: its messages
//!   are dropped and the transaction is sent again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use super::message::{self as m, Ack, WireElem, Writer};
use super::socket::NlSocket;
use super::{Element, KeyType, Network, NftError, NftSet, SetInfo};
use crate::firewall::netlink::{self as nl, Attrs, Msg};

/// Bytes per transaction. The throughput plateau is reached near 1,000
/// elements per batch and one huge transaction is slower per element (set
/// resizing), so nothing is gained by going to the send-buffer limit
/// (sk_sndbuf - 32 in netlink_sendmsg: ~208 KiB without SO_SNDBUFFORCE).
pub(super) const TX_BYTES: usize = 128 << 10;
/// Bytes per transaction into an interval set, as far as the send buffer
/// allows (4 MiB asked, with CAP_NET_ADMIN). The kernel's commit of an
/// rbtree set walks the whole set once per transaction (`nft_rbtree_commit`,
/// 67 % of a bulk load's time into a 1,000,000-element set), so there the
/// fewer transactions the better: 16 times fewer than at [`TX_BYTES`].
pub(super) const INTERVAL_TX_BYTES: usize = 2 << 20;

/// How a re-ban refreshes the timeout of an address already in the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refresh {
    /// Kernel >= 6.10 ("netfilter: nf_tables: set element timeout update
    /// support"): NEWSETELEM without NLM_F_EXCL updates the timeout.
    Update,
    /// Kernel 6.3 to 6.9: DESTROYSETELEM then NEWSETELEM, atomically.
    DestroyFirst,
    /// Older: NEWSETELEM (no-op if present), DELSETELEM, NEWSETELEM.
    AddDelAdd,
}

impl Refresh {
    pub(super) fn for_kernel(release: &str) -> Refresh {
        let mut nums = release.split(|c: char| !c.is_ascii_digit()).map(|n| n.parse::<u32>().unwrap_or(0));
        match (nums.next().unwrap_or(0), nums.next().unwrap_or(0)) {
            v if v >= (6, 10) => Refresh::Update,
            v if v >= (6, 3) => Refresh::DestroyFirst,
            _ => Refresh::AddDelAdd,
        }
    }
}

fn kernel_release() -> String {
    // SAFETY: utsname is plain data, filled by uname().
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: u lives for the call.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    // SAFETY: the kernel NUL-terminates release.
    unsafe { std::ffi::CStr::from_ptr(u.release.as_ptr()) }.to_string_lossy().into_owned()
}

/// One message kind of a transaction, applied to every piece.
#[derive(Clone, Copy)]
pub(super) struct Step {
    ty: u16,
    timeouts: bool,
}

const NEW: Step = Step { ty: m::NFT_MSG_NEWSETELEM, timeouts: true };
const NEW_BARE: Step = Step { ty: m::NFT_MSG_NEWSETELEM, timeouts: false };
const DEL: Step = Step { ty: m::NFT_MSG_DELSETELEM, timeouts: false };
const DESTROY: Step = Step { ty: m::NFT_MSG_DESTROYSETELEM, timeouts: false };

/// Elements `range` of work item `item`, in one message per step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Piece {
    pub item: usize,
    pub range: Range<usize>,
}

/// One set's share of a request, validated and encoded as wire elements.
pub(super) struct Work<'a> {
    pub set: &'a NftSet,
    /// Index in the caller's list, for the results.
    pub slot: usize,
    pub elems: Vec<WireElem>,
}

/// How a transaction ended.
enum Outcome {
    Committed,
    /// Errors attributed to messages, hence to work items.
    Failed(Vec<(usize, Ack)>),
    /// The kernel or the socket failed in a way no message explains.
    Unattributed(NftErrorKind),
}

enum NftErrorKind {
    Io(&'static str, io::Error),
    Errno(i32, Option<String>),
}

pub struct NftClient {
    pub(super) sock: NlSocket,
    /// Reused by every transaction: its buffer and libnftnl element stay allocated.
    writer: Writer,
    seq: u32,
    refresh: Refresh,
    destroy_supported: bool,
    /// Key type and flags per set, so a bad address is refused before
    /// anything is sent. Dropped for a set whenever the kernel complains.
    info: HashMap<NftSet, SetInfo>,
}

pub(super) fn io_err(op: &'static str) -> impl FnOnce(io::Error) -> NftError {
    move |source| NftError::Io { op, source }
}

impl NftClient {
    pub fn open() -> Result<NftClient, NftError> {
        let sock = NlSocket::open().map_err(io_err("open"))?;
        let refresh = Refresh::for_kernel(&kernel_release());
        Ok(NftClient {
            sock,
            writer: Writer::default(),
            seq: 1,
            refresh,
            destroy_supported: refresh != Refresh::AddDelAdd,
            info: HashMap::new(),
        })
    }

    /// Forces a refresh strategy (tests exercise the fallbacks on a new kernel).
    #[cfg(test)]
    pub(super) fn force_refresh(&mut self, refresh: Refresh) {
        self.refresh = refresh;
        self.destroy_supported = refresh != Refresh::AddDelAdd;
    }

    /// The port id of the client's socket: the notifications of its own
    /// changes carry it.
    pub fn port(&self) -> u32 {
        self.sock.port()
    }

    pub(super) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Adds or refreshes elements; one result per set given, in order.
    pub fn add(&mut self, adds: &[(&NftSet, &[Element])]) -> Vec<Result<(), NftError>> {
        let mut results: Vec<Result<(), NftError>> = adds.iter().map(|_| Ok(())).collect();
        let mut work = Vec::new();
        for (slot, (set, elems)) in adds.iter().enumerate() {
            if elems.is_empty() {
                continue;
            }
            match self.prepare(set, elems) {
                Ok(elems) => work.push(Work { set, slot, elems }),
                Err(e) => results[slot] = Err(e),
            }
        }
        let steps: &[Step] = match self.refresh {
            Refresh::Update => &[NEW],
            Refresh::DestroyFirst => &[DESTROY, NEW],
            Refresh::AddDelAdd => &[NEW_BARE, DEL, NEW],
        };
        self.commit(&work, steps, &mut results, |c, set, ack| c.classify(set, ack, "add", adds[set.0].1));
        results
    }

    /// Removes addresses or networks; those not in the set are not an
    /// error. A network goes as the interval it was added as.
    pub fn delete(&mut self, set: &NftSet, nets: &[Network]) -> Result<(), NftError> {
        if nets.is_empty() {
            return Ok(());
        }
        let elems: Vec<Element> = nets.iter().map(|&net| Element { net, timeout_ms: None }).collect();
        let work = vec![Work { set, slot: 0, elems: self.prepare(set, &elems)? }];
        // Without DESTROYSETELEM, adding first makes DELSETELEM unable to
        // fail with ENOENT (which would roll back the whole batch).
        let steps: &[Step] = if self.destroy_supported { &[DESTROY] } else { &[NEW_BARE, DEL] };
        let mut results = vec![Ok(())];
        self.commit(&work, steps, &mut results, |c, _, ack| c.classify((0, set), ack, "delete", &elems));
        results.pop().unwrap()
    }

    /// Checks the addresses against the set (cached [`SetInfo`]) and encodes
    /// them: deduplicated (the last one wins), interval sets as start and end.
    fn prepare(&mut self, set: &NftSet, elems: &[Element]) -> Result<Vec<WireElem>, NftError> {
        // An ip6 table never sees IPv4 packets: refused before anything is sent.
        if set.family == super::Family::Ip6 {
            if let Some(e) = elems.iter().find(|e| !e.net.is_ipv6()) {
                return Err(NftError::FamilyMismatch { set: set.clone(), ip: e.net });
            }
        }
        let mut info = self.cached_info(set)?;
        if check(set, &info, elems).is_err() {
            // The admin may have recreated the set since it was cached.
            self.info.remove(set);
            info = self.cached_info(set)?;
        }
        check(set, &info, elems)?;
        let mut seen = HashSet::with_capacity(elems.len());
        let mut out = Vec::with_capacity(elems.len() * if info.interval { 2 } else { 1 });
        for e in elems.iter().rev().filter(|e| seen.insert(e.net)) {
            let timeout_ms = e.timeout_ms;
            if info.interval {
                // An interval is [start, end): nft sends the end as the next
                // address flagged NFT_SET_ELEM_INTERVAL_END, without a timeout;
                // the last address of the space has no end (open interval).
                if let Some(next) = next_address(e.net.last()) {
                    out.push(WireElem { ip: next, timeout_ms: None, flags: m::NFT_SET_ELEM_INTERVAL_END });
                }
                out.push(WireElem { ip: e.net.first(), timeout_ms, flags: 0 });
            } else {
                out.push(WireElem { ip: e.net.first(), timeout_ms, flags: 0 });
            }
        }
        out.reverse();
        Ok(out)
    }

    fn cached_info(&mut self, set: &NftSet) -> Result<SetInfo, NftError> {
        if let Some(info) = self.info.get(set) {
            return Ok(info.clone());
        }
        let info = self.set_info(set)?;
        self.info.insert(set.clone(), info.clone());
        Ok(info)
    }

    /// Sends `work` in transactions of `steps`, retrying without the sets that fail.
    fn commit(
        &mut self,
        work: &[Work],
        steps: &[Step],
        results: &mut [Result<(), NftError>],
        mut classify: impl FnMut(&mut Self, (usize, &NftSet), &Ack) -> NftError,
    ) {
        // Interval sets' elements come with their ends (flagged): see
        // INTERVAL_TX_BYTES.
        let interval = work.iter().any(|w| w.elems.iter().any(|e| e.flags & m::NFT_SET_ELEM_INTERVAL_END != 0));
        let limit = match interval {
            true => INTERVAL_TX_BYTES.min(self.sock.largest_datagram().saturating_sub(4096)).max(TX_BYTES),
            false => TX_BYTES,
        };
        let mut queue: VecDeque<Vec<Piece>> = plan(work, steps.len(), limit).into();
        while let Some(tx) = queue.pop_front() {
            let tx: Vec<Piece> = tx.into_iter().filter(|p| results[work[p.item].slot].is_ok()).collect();
            if tx.is_empty() {
                continue;
            }
            match self.run(work, steps, &tx) {
                Outcome::Committed => {}
                Outcome::Failed(errors) => {
                    for (item, ack) in errors {
                        let w = &work[item];
                        if results[w.slot].is_ok() {
                            self.info.remove(w.set);
                            results[w.slot] = Err(classify(self, (w.slot, w.set), &ack));
                        }
                    }
                    queue.push_front(tx); // again, without the failed sets
                }
                Outcome::Unattributed(kind) => {
                    let items: Vec<usize> = tx.iter().map(|p| p.item).collect::<HashSet<_>>().into_iter().collect();
                    if items.len() == 1 {
                        let w = &work[items[0]];
                        self.info.remove(w.set);
                        results[w.slot] = Err(match kind {
                            NftErrorKind::Io(op, source) => NftError::Io { op, source },
                            NftErrorKind::Errno(errno, message) => {
                                let ack = Ack { seq: 0, errno, message, offset: None };
                                classify(self, (w.slot, w.set), &ack)
                            }
                        });
                    } else {
                        // Find the culprit: one transaction per set, in order.
                        let mut per_item: Vec<Vec<Piece>> = Vec::new();
                        for p in tx {
                            match per_item.iter_mut().find(|v| v[0].item == p.item) {
                                Some(v) => v.push(p),
                                None => per_item.push(vec![p]),
                            }
                        }
                        for v in per_item.into_iter().rev() {
                            queue.push_front(v);
                        }
                    }
                }
            }
        }
    }

    /// Encodes, sends and checks one transaction.
    fn run(&mut self, work: &[Work], steps: &[Step], tx: &[Piece]) -> Outcome {
        let mut w = std::mem::take(&mut self.writer);
        w.clear();
        let begin = self.next_seq();
        w.batch_begin(begin);
        let mut seqs: Vec<(u32, usize)> = Vec::new();
        let mut scratch = Vec::new();
        for p in tx {
            let item = &work[p.item];
            let fam = item.set.family.nfproto();
            for step in steps {
                let seq = self.next_seq();
                let flags = nl::NLM_F_REQUEST
                    | nl::NLM_F_ACK
                    | if step.ty == m::NFT_MSG_NEWSETELEM { m::NLM_F_CREATE } else { 0 };
                let elems = &item.elems[p.range.clone()];
                let elems: &[WireElem] = if step.timeouts {
                    elems
                } else {
                    scratch.clear();
                    scratch.extend(elems.iter().map(|e| WireElem { timeout_ms: None, ..*e }));
                    &scratch
                };
                w.setelem(step.ty, flags, seq, fam, &item.set.table, &item.set.name, elems);
                seqs.push((seq, p.item));
            }
        }
        let end = self.next_seq();
        w.batch_end(end);
        debug_assert!(w.buf.len() <= INTERVAL_TX_BYTES + 4096, "transaction of {} bytes", w.buf.len());
        let sent = self.sock.send(&w.buf);
        self.writer = w;
        if let Err(e) = sent {
            // Nothing was processed: sendmsg() failed before the kernel ran the batch.
            return Outcome::Unattributed(NftErrorKind::Io("sendmsg", e));
        }
        let acks = match self.sock.drain() {
            Ok(acks) => acks,
            // ENOBUFS: acknowledgements were dropped; whether the batch was
            // committed is unknown. Report it rather than guess.
            Err(e) => return Outcome::Unattributed(NftErrorKind::Io("reading acknowledgements", e)),
        };
        let ours = |seq: u32| (begin..=end).contains(&seq) || (begin > end && (seq >= begin || seq <= end));
        let mut acked = HashSet::new();
        let mut failed = Vec::new();
        for ack in acks.into_iter().filter(|a| ours(a.seq)) {
            match seqs.iter().find(|(s, _)| *s == ack.seq) {
                Some(&(_, item)) if ack.errno != 0 => failed.push((item, ack)),
                Some(_) => {
                    acked.insert(ack.seq);
                }
                // On BEGIN: ENOMEM or a failed commit, for the whole batch.
                None if ack.errno != 0 => return Outcome::Unattributed(NftErrorKind::Errno(ack.errno, ack.message)),
                None => {}
            }
        }
        if !failed.is_empty() {
            return Outcome::Failed(failed);
        }
        if acked.len() != seqs.len() {
            let msg = format!("{} of {} messages acknowledged", acked.len(), seqs.len());
            return Outcome::Unattributed(NftErrorKind::Io("reading acknowledgements", io::Error::other(msg)));
        }
        Outcome::Committed
    }

    /// Explains why the kernel refused `set`'s messages.
    fn classify(&mut self, (_, set): (usize, &NftSet), ack: &Ack, op: &'static str, elems: &[Element]) -> NftError {
        let set = set.clone();
        match ack.errno {
            libc::ENOENT => NftError::NoSuchSet { set },
            libc::EPERM => NftError::Permission { set },
            // nft_add_set_elem(): nelems reached the set's size.
            libc::ENFILE => NftError::SetFull { set },
            libc::EINVAL => {
                // Ambiguous: wrong key length, or a timeout on a set without
                // NFT_SET_TIMEOUT. Ask the set itself.
                self.info.remove(&set);
                match self.set_info(&set) {
                    Ok(info) => match check(&set, &info, elems) {
                        Err(e) => e,
                        Ok(()) => kernel(set, op, ack),
                    },
                    Err(e) => e,
                }
            }
            _ => kernel(set, op, ack),
        }
    }

    /// The set's key type and flags (GETSET).
    pub fn set_info(&mut self, set: &NftSet) -> Result<SetInfo, NftError> {
        check_names(set)?;
        let seq = self.next_seq();
        let mut w = Writer::default();
        w.getset(seq, set.family.nfproto(), &set.table, &set.name);
        self.sock.send(&w.buf).map_err(io_err("sendmsg GETSET"))?;
        let mut info = None;
        let (errno, message) = self
            .sock
            .replies(seq, |msg| {
                if msg.ty == m::nft_type(m::NFT_MSG_NEWSET) {
                    info = Some(parse_set(msg));
                }
            })
            .map_err(io_err("reading GETSET reply"))?;
        if errno != 0 {
            return Err(errno_error(set, "getset", errno, message));
        }
        info.ok_or_else(|| NftError::Io {
            op: "reading GETSET reply",
            source: io::Error::other("no NEWSET in the reply"),
        })
    }

    /// Every element of the set with its remaining time in ms (None: no
    /// timeout); the intervals of an interval set as the networks they are.
    pub fn list(&mut self, set: &NftSet) -> Result<Vec<(Network, Option<u64>)>, NftError> {
        check_names(set)?;
        // A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) may
        // miss or repeat elements: take it again.
        for _ in 0..5 {
            let seq = self.next_seq();
            let mut w = Writer::default();
            w.getsetelem_dump(seq, set.family.nfproto(), &set.table, &set.name);
            self.sock.send(&w.buf).map_err(io_err("sendmsg GETSETELEM"))?;
            let mut out: Vec<DumpedElem> = Vec::new();
            let mut interrupted = false;
            let (errno, message) = self
                .sock
                .replies(seq, |msg| {
                    interrupted |= msg.flags & m::NLM_F_DUMP_INTR != 0;
                    if msg.ty == m::nft_type(m::NFT_MSG_NEWSETELEM) {
                        parse_elems(msg, &mut out);
                    }
                })
                .map_err(io_err("reading GETSETELEM dump"))?;
            if errno != 0 {
                return Err(errno_error(set, "list", errno, message));
            }
            if !interrupted {
                return Ok(intervals(out));
            }
        }
        Err(NftError::Io { op: "GETSETELEM dump", source: io::Error::other("interrupted by changes 5 times") })
    }
}

fn kernel(set: NftSet, op: &'static str, ack: &Ack) -> NftError {
    NftError::Kernel { set, op, source: io::Error::from_raw_os_error(ack.errno), message: ack.message.clone() }
}

pub(super) fn errno_error(set: &NftSet, op: &'static str, errno: i32, message: Option<String>) -> NftError {
    match errno {
        libc::ENOENT => NftError::NoSuchSet { set: set.clone() },
        libc::EPERM => NftError::Permission { set: set.clone() },
        _ => kernel(set.clone(), op, &Ack { seq: 0, errno, message, offset: None }),
    }
}

/// Names go to libnftnl and libmnl as C strings. One with a NUL byte, or
/// longer than [`NftSet::parse`] allows, names no set (NFT_NAME_MAXLEN), and
/// would not survive that trip: refused before anything is built. Every
/// request about a set starts with [`NftClient::set_info`] or
/// [`NftClient::list`], which call this.
fn check_names(set: &NftSet) -> Result<(), NftError> {
    if [&set.table, &set.name].into_iter().any(|n| n.len() > crate::vocab::NFT_NAME_MAX || n.contains('\0')) {
        return Err(NftError::NoSuchSet { set: set.clone() });
    }
    Ok(())
}

/// Can `set` (as `info` describes it) take these elements?
fn check(set: &NftSet, info: &SetInfo, elems: &[Element]) -> Result<(), NftError> {
    for e in elems {
        if !info.key.holds(&e.net) {
            return Err(NftError::WrongKey { set: set.clone(), key: info.key, ip: e.net });
        }
        if let (Some(timeout_ms), false) = (e.timeout_ms, info.timeout_flag) {
            return Err(NftError::NoTimeoutFlag { set: set.clone(), ip: e.net, timeout_ms });
        }
        if !e.net.is_host() && !info.interval {
            return Err(NftError::NoIntervals { set: set.clone(), net: e.net });
        }
    }
    Ok(())
}

fn next_address(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(a) => u32::from(a).checked_add(1).map(|n| IpAddr::V4(Ipv4Addr::from(n))),
        IpAddr::V6(a) => u128::from(a).checked_add(1).map(|n| IpAddr::V6(Ipv6Addr::from(n))),
    }
}

/// Cuts the work into transactions of at most `limit` bytes, each message's
/// element list under [`m::MAX_NEST`]. Every step repeats each piece once.
pub(super) fn plan(work: &[Work], steps: usize, limit: usize) -> Vec<Vec<Piece>> {
    const BATCH_OVERHEAD: usize = 2 * (nl::NLMSG_HDRLEN + 4); // BEGIN and END
    let mut txs = Vec::new();
    let mut tx: Vec<Piece> = Vec::new();
    let mut tx_bytes = BATCH_OVERHEAD;
    for (item, w) in work.iter().enumerate() {
        let overhead = m::setelem_overhead(&w.set.table, &w.set.name);
        let (mut start, mut nest) = (0, 0);
        for (i, e) in w.elems.iter().enumerate() {
            let size = e.encoded_len();
            loop {
                let fits_msg = 4 + nest + size <= m::MAX_NEST;
                let fits_tx = tx_bytes + steps * (overhead + nest + size) <= limit;
                if fits_msg && fits_tx {
                    nest += size;
                    break;
                }
                if i > start {
                    tx.push(Piece { item, range: start..i });
                    tx_bytes += steps * (overhead + nest);
                    (start, nest) = (i, 0);
                }
                if !fits_tx {
                    txs.push(std::mem::take(&mut tx));
                    tx_bytes = BATCH_OVERHEAD;
                }
            }
        }
        if w.elems.len() > start {
            tx.push(Piece { item, range: start..w.elems.len() });
            tx_bytes += steps * (overhead + nest);
        }
    }
    if !tx.is_empty() {
        txs.push(tx);
    }
    txs.retain(|t| !t.is_empty());
    txs
}

fn parse_set(msg: &Msg) -> SetInfo {
    let (mut key, mut flags, mut default_timeout_ms) = (0, 0, None);
    for (ty, v) in msg.attrs() {
        match ty {
            m::NFTA_SET_KEY_TYPE => key = nl::be_u32(v).unwrap_or(0),
            m::NFTA_SET_FLAGS => flags = nl::be_u32(v).unwrap_or(0),
            m::NFTA_SET_TIMEOUT => default_timeout_ms = nl::be_u64(v).filter(|&ms| ms > 0),
            _ => {}
        }
    }
    SetInfo {
        key: KeyType::from_id(key),
        timeout_flag: flags & m::NFT_SET_TIMEOUT != 0,
        interval: flags & m::NFT_SET_INTERVAL != 0,
        default_timeout_ms,
    }
}

/// One element of a dump: its key, whether it closes an interval, and its
/// time left in ms (`Some(0)` when it has a timeout but no expiration).
pub(super) type DumpedElem = (IpAddr, bool, Option<u64>);

/// Appends the elements of one NEWSETELEM dump message.
pub(super) fn parse_elems(msg: &Msg, out: &mut Vec<DumpedElem>) {
    for (ty, list) in msg.attrs() {
        if ty != m::NFTA_SET_ELEM_LIST_ELEMENTS {
            continue;
        }
        for (_, elem) in Attrs(list) {
            let (mut ip, mut flags, mut expires, mut timeout) = (None, 0, None, None);
            for (ty, v) in Attrs(elem) {
                match ty {
                    m::NFTA_SET_ELEM_KEY => {
                        for (ty, data) in Attrs(v) {
                            ip = match (ty, data.len()) {
                                (m::NFTA_DATA_VALUE, 4) => Some(IpAddr::from(<[u8; 4]>::try_from(data).unwrap())),
                                (m::NFTA_DATA_VALUE, 16) => Some(IpAddr::from(<[u8; 16]>::try_from(data).unwrap())),
                                _ => ip,
                            };
                        }
                    }
                    m::NFTA_SET_ELEM_FLAGS => flags = nl::be_u32(v).unwrap_or(0),
                    m::NFTA_SET_ELEM_EXPIRATION => expires = nl::be_u64(v),
                    m::NFTA_SET_ELEM_TIMEOUT => timeout = nl::be_u64(v),
                    _ => {}
                }
            }
            if let Some(ip) = ip {
                out.push((ip, flags & m::NFT_SET_ELEM_INTERVAL_END != 0, expires.or(timeout.map(|_| 0))));
            }
        }
    }
}

/// The elements of a dump as networks: a plain element is its address; in
/// an interval set each start is paired with the end that follows it (the
/// kernel keeps intervals disjoint), and the range between is cut into the
/// networks that make it up (one, for what banwarden adds; a range added by
/// hand, `10.0.0.1-10.0.0.9`, gives several).
pub(super) fn intervals(mut dumped: Vec<DumpedElem>) -> Vec<(Network, Option<u64>)> {
    dumped.sort_by(|a, b| (a.0, !a.1).cmp(&(b.0, !b.1)));
    let mut out = Vec::with_capacity(dumped.len());
    let has_ends = dumped.iter().any(|e| e.1);
    let mut i = 0;
    while i < dumped.len() {
        let (start, is_end, left) = dumped[i];
        i += 1;
        if is_end {
            continue; // an end with no start before it: the top of an open interval
        }
        if !has_ends {
            out.push((Network::host(start), left));
            continue;
        }
        // The interval runs to the next element: its end, or another start
        // when two starts share one end (the kernel lets a network be added
        // over a banned one whose end it shares, kernel_tests.rs
        // overlapping_elements_what_the_kernel_does; a lookup matches the
        // greatest start below the key, so each start holds up to the next,
        // which is also how nft lists it). With nothing after, the interval
        // runs to the top of the address space.
        let last = match dumped.get(i) {
            Some(&(next, is_end, _)) => {
                if is_end {
                    i += 1;
                }
                previous_address(next)
            }
            None => match start {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::BROADCAST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(u128::MAX)),
            },
        };
        out.extend(range_networks(start, last).into_iter().map(|net| (net, left)));
    }
    out
}

fn previous_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a).saturating_sub(1))),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a).saturating_sub(1))),
    }
}

/// The fewest networks that make up `first..=last` (same family).
pub(super) fn range_networks(first: IpAddr, last: IpAddr) -> Vec<Network> {
    let (mut lo, hi, bits) = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32u32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128u32),
        _ => return Vec::new(),
    };
    // The top of a block of 2^size addresses at lo (lo is aligned to it).
    let top = |lo: u128, size: u32| if size >= 128 { u128::MAX } else { lo + ((1u128 << size) - 1) };
    let mut out = Vec::new();
    while lo <= hi {
        // The largest block aligned at lo that does not pass hi.
        let mut size = if lo == 0 { bits } else { lo.trailing_zeros().min(bits) };
        while size > 0 && top(lo, size) > hi {
            size -= 1;
        }
        let ip = match bits {
            32 => IpAddr::V4(Ipv4Addr::from(lo as u32)),
            _ => IpAddr::V6(Ipv6Addr::from(lo)),
        };
        out.push(Network::of(ip, (bits - size) as u8));
        let end = top(lo, size);
        if end >= hi {
            break;
        }
        lo = end + 1;
    }
    out
}
