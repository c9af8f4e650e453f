//! This host's own addresses, read from the kernel over rtnetlink and
//! followed as they change: what `neverBanLocal` puts on the never-ban list.
//!
//! [`current`] asks once (an `RTM_GETADDR` dump on a socket of its own): the
//! short-lived commands and the configuration's loading use it. A daemon
//! [`Follow`]s them instead: a NETLINK_ROUTE socket that has joined
//! `RTMGRP_IPV4_IFADDR` and `RTMGRP_IPV6_IFADDR` hears every `RTM_NEWADDR` and
//! `RTM_DELADDR` (DHCP leases, SLAAC privacy addresses rotating, a VPN coming
//! up), and its descriptor is polled with the journal's. The socket joins the
//! groups before the first dump, so no change is missed between the two.
//!
//! The table is keyed by (interface index, address): the same address on two
//! interfaces (a link-local one, an anycast service address) stays local
//! until both are gone. An address message names the local address in
//! `IFA_LOCAL` when it differs from `IFA_ADDRESS` (the peer's, on a
//! point-to-point link: rtnetlink(7)); that is the one taken, as getifaddrs(3)
//! does.
//!
//! A full receive buffer loses notifications (`ENOBUFS` on the next read,
//! netlink(7)): the table is then dumped again on a fresh socket, once the
//! queued messages are read. Replaying notifications older than that dump on
//! top of it is harmless: each says how one address is now, so the last one
//! heard for an address is the truth, and an address no notification names
//! is as the dump saw it. A dump the kernel flags `NLM_F_DUMP_INTR` (the
//! addresses changed while it was written) is asked for again.
//!
//! Only the kernel (port 0) is believed: a datagram from another port is
//! dropped unread, although rtnetlink already refuses unicasts between
//! sockets to processes without CAP_NET_ADMIN. Sockets belong to the network
//! namespace of the thread that opened them.

use std::collections::BTreeSet;
use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

// <linux/netlink.h>
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_ROOT | NLM_F_MATCH`.
const NLM_F_DUMP: u16 = 0x300;
/// The dump was inconsistent: the table changed while it was being written.
const NLM_F_DUMP_INTR: u16 = 0x10;
// <linux/rtnetlink.h>
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
/// Legacy group bits of `sockaddr_nl.nl_groups` (`1 << (RTNLGRP_x - 1)`).
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
// <linux/if_addr.h>: `struct ifaddrmsg` (family, prefixlen, flags, scope,
// index) and its attributes.
const IFADDRMSG_LEN: usize = 8;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Larger than any datagram rtnetlink sends: dumps are capped at 32 KiB
/// (`max_recvmsg_len` in `netlink_recvmsg()`), notifications are one message.
const RECV_BYTES: usize = 64 << 10;
/// A dump's reply not come after this long means a stuck kernel, not a slow
/// one: it is written while the request is sent. Bounds the daemon's wait.
const DUMP_TIMEOUT_SECS: libc::time_t = 5;
/// Dumps asked for again after an inconsistent one, before giving up.
const DUMP_TRIES: usize = 5;
/// Datagrams read by one [`Follow::apply`] at most, so that a storm of
/// address changes cannot hold the daemon's loop: the rest waits for the
/// next call (the descriptor stays readable).
const APPLY_MAX: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum LocalAddrError {
    #[error("cannot open a NETLINK_ROUTE socket: {0}")]
    Open(io::Error),
    #[error("cannot dump this host's addresses (RTM_GETADDR): {0}")]
    Dump(io::Error),
    #[error("cannot read address notifications from the NETLINK_ROUTE socket: {0}")]
    Read(io::Error),
    #[error("malformed rtnetlink message: {0}")]
    Malformed(&'static str),
    #[error("the kernel's address table kept changing during {DUMP_TRIES} dumps in a row")]
    Unsettled,
}

/// This host's addresses now, distinct and sorted: one dump.
pub fn current() -> Result<Vec<IpAddr>, LocalAddrError> {
    Ok(distinct(&dump()?))
}

/// What one [`Follow::apply`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Addresses now local that were not before.
    pub appeared: Vec<IpAddr>,
    /// Addresses no longer on any interface.
    pub gone: Vec<IpAddr>,
    /// Notifications were lost and the table was dumped again.
    pub dumped_again: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.appeared.is_empty() && self.gone.is_empty()
    }
}

/// The host's addresses, kept up to date from the kernel's notifications.
pub struct Follow {
    socket: Socket,
    /// (interface index, address).
    table: BTreeSet<(u32, IpAddr)>,
    messages: Vec<Message>,
}

impl Follow {
    /// Joins the address groups, then dumps the table: from then on every
    /// change is queued for [`apply`](Self::apply).
    pub fn open() -> Result<Follow, LocalAddrError> {
        let socket = Socket::open(RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, false).map_err(LocalAddrError::Open)?;
        Ok(Follow { socket, table: dump()?.into_iter().collect(), messages: Vec::new() })
    }

    /// To poll for readability beside the journal's.
    pub fn fd(&self) -> RawFd {
        self.socket.fd.as_raw_fd()
    }

    /// The addresses now, distinct and sorted.
    pub fn addresses(&self) -> Vec<IpAddr> {
        distinct(&self.table)
    }

    /// Applies the notifications queued; never waits. An overrun (`ENOBUFS`)
    /// dumps the table again. An error other than that means the socket is
    /// unusable.
    pub fn apply(&mut self) -> Result<Changes, LocalAddrError> {
        let before = self.addresses();
        let mut overrun = false;
        for _ in 0..APPLY_MAX {
            match self.socket.recv() {
                Ok(Some(datagram)) => {
                    self.messages.clear();
                    parse(datagram, &mut self.messages)?;
                    for message in &self.messages {
                        apply_one(&mut self.table, message);
                    }
                }
                Ok(None) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => overrun = true,
                Err(e) => return Err(LocalAddrError::Read(e)),
            }
        }
        if overrun {
            self.table = dump()?.into_iter().collect();
        }
        let after = self.addresses();
        Ok(Changes {
            appeared: after.iter().filter(|ip| before.binary_search(ip).is_err()).copied().collect(),
            gone: before.iter().filter(|ip| after.binary_search(ip).is_err()).copied().collect(),
            dumped_again: overrun,
        })
    }
}

fn apply_one(table: &mut BTreeSet<(u32, IpAddr)>, message: &Message) {
    match *message {
        Message::Address { new: true, index, ip } => {
            table.insert((index, ip));
        }
        Message::Address { new: false, index, ip } => {
            table.remove(&(index, ip));
        }
        _ => {}
    }
}

fn distinct<'a>(table: impl IntoIterator<Item = &'a (u32, IpAddr)>) -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = table.into_iter().map(|&(_, ip)| ip).collect();
    ips.sort_unstable();
    ips.dedup();
    ips
}

/// Every (interface index, address) of the host, from one consistent dump
/// on a socket of its own (not the one subscribed: its notifications would
/// be mixed with the reply).
fn dump() -> Result<Vec<(u32, IpAddr)>, LocalAddrError> {
    let mut socket = Socket::open(0, true).map_err(LocalAddrError::Open)?;
    let mut messages = Vec::new();
    for seq in 1..=DUMP_TRIES as u32 {
        socket.send(&getaddr_request(seq)).map_err(LocalAddrError::Dump)?;
        let mut found = Vec::new();
        let mut interrupted = false;
        'reply: loop {
            let datagram = match socket.recv() {
                Ok(Some(d)) => d,
                Ok(None) => return Err(LocalAddrError::Dump(io::ErrorKind::TimedOut.into())),
                Err(e) => return Err(LocalAddrError::Dump(e)),
            };
            messages.clear();
            parse(datagram, &mut messages)?;
            for message in &messages {
                match *message {
                    Message::Address { new: true, index, ip } => found.push((index, ip)),
                    Message::Interrupted => interrupted = true,
                    Message::Error(0) => {}
                    Message::Error(errno) => return Err(LocalAddrError::Dump(io::Error::from_raw_os_error(errno))),
                    Message::Done => break 'reply,
                    _ => {}
                }
            }
        }
        if !interrupted {
            return Ok(found);
        }
    }
    Err(LocalAddrError::Unsettled)
}

/// `RTM_GETADDR`, dump, every family: `nlmsghdr` then a zeroed `ifaddrmsg`.
fn getaddr_request(seq: u32) -> [u8; NLMSG_HDRLEN + IFADDRMSG_LEN] {
    let mut m = [0u8; NLMSG_HDRLEN + IFADDRMSG_LEN];
    m[0..4].copy_from_slice(&((NLMSG_HDRLEN + IFADDRMSG_LEN) as u32).to_ne_bytes());
    m[4..6].copy_from_slice(&RTM_GETADDR.to_ne_bytes());
    m[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m[8..12].copy_from_slice(&seq.to_ne_bytes());
    m
}

/// One message of a datagram, as far as addresses are concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Message {
    /// `RTM_NEWADDR` (`new`) or `RTM_DELADDR` of an IPv4 or IPv6 address.
    Address { new: bool, index: u32, ip: IpAddr },
    /// A part of a dump flagged `NLM_F_DUMP_INTR`.
    Interrupted,
    /// `NLMSG_DONE`: the dump is over.
    Done,
    /// `NLMSG_ERROR` with this errno (0: an acknowledgement).
    Error(i32),
    /// Anything else (another family, another type).
    Other,
}

/// Splits a datagram into messages and reads those about addresses.
fn parse(mut datagram: &[u8], out: &mut Vec<Message>) -> Result<(), LocalAddrError> {
    while datagram.len() >= NLMSG_HDRLEN {
        let len = u32_at(datagram, 0) as usize;
        if len < NLMSG_HDRLEN || len > datagram.len() {
            return Err(LocalAddrError::Malformed("message length out of the datagram"));
        }
        let kind = u16_at(datagram, 4);
        let flags = u16_at(datagram, 6);
        let payload = &datagram[NLMSG_HDRLEN..len];
        if flags & NLM_F_DUMP_INTR != 0 {
            out.push(Message::Interrupted);
        }
        out.push(match kind {
            NLMSG_DONE => Message::Done,
            NLMSG_ERROR if payload.len() >= 4 => Message::Error(-(u32_at(payload, 0) as i32)),
            NLMSG_ERROR => return Err(LocalAddrError::Malformed("error message without an error code")),
            RTM_NEWADDR | RTM_DELADDR => address(kind == RTM_NEWADDR, payload)?,
            _ => Message::Other,
        });
        datagram = &datagram[align4(len).min(datagram.len())..];
    }
    Ok(())
}

/// An `ifaddrmsg` and its attributes: the local address (`IFA_LOCAL`, else
/// `IFA_ADDRESS`) of an IPv4 or IPv6 family.
fn address(new: bool, payload: &[u8]) -> Result<Message, LocalAddrError> {
    if payload.len() < IFADDRMSG_LEN {
        return Err(LocalAddrError::Malformed("address message shorter than struct ifaddrmsg"));
    }
    let family = i32::from(payload[0]);
    let index = u32_at(payload, 4);
    let (mut local, mut address) = (None, None);
    let mut attrs = &payload[IFADDRMSG_LEN..];
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0));
        if len < 4 || len > attrs.len() {
            return Err(LocalAddrError::Malformed("attribute length out of the message"));
        }
        let value = &attrs[4..len];
        match u16_at(attrs, 2) & NLA_TYPE_MASK {
            IFA_LOCAL => local = Some(value),
            IFA_ADDRESS => address = Some(value),
            _ => {}
        }
        attrs = &attrs[align4(len).min(attrs.len())..];
    }
    let Some(value) = local.or(address) else { return Ok(Message::Other) };
    let ip = match (family, value.len()) {
        (libc::AF_INET, 4) => IpAddr::V4(Ipv4Addr::new(value[0], value[1], value[2], value[3])),
        (libc::AF_INET6, 16) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(value).expect("16 bytes"))),
        (libc::AF_INET | libc::AF_INET6, _) => {
            return Err(LocalAddrError::Malformed("address attribute of the wrong size for its family"))
        }
        _ => return Ok(Message::Other),
    };
    Ok(Message::Address { new, index, ip })
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A bound NETLINK_ROUTE socket, close-on-exec, and its receive buffer.
struct Socket {
    fd: OwnedFd,
    buf: Vec<u8>,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

impl Socket {
    /// Opens and binds a socket that has joined `groups`; non-blocking
    /// unless `blocking`, whose reads then time out.
    fn open(groups: u32, blocking: bool) -> io::Result<Socket> {
        let kind = libc::SOCK_RAW | libc::SOCK_CLOEXEC | if blocking { 0 } else { libc::SOCK_NONBLOCK };
        // SAFETY: plain socket(2); the descriptor is owned at once.
        let fd = check(unsafe { libc::socket(libc::AF_NETLINK, kind, libc::NETLINK_ROUTE) })?;
        // SAFETY: a descriptor just opened, owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a zeroed sockaddr_nl is valid; the fields set below.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = groups;
        // SAFETY: the address is a live sockaddr_nl of the size passed.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        if blocking {
            let timeout = libc::timeval { tv_sec: DUMP_TIMEOUT_SECS, tv_usec: 0 };
            // SAFETY: the option value is a live timeval of the size passed.
            check(unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    (&timeout as *const libc::timeval).cast(),
                    size_of::<libc::timeval>() as libc::socklen_t,
                )
            })?;
        }
        Ok(Socket { fd, buf: vec![0; RECV_BYTES] })
    }

    /// Sends one request to the kernel.
    fn send(&self, data: &[u8]) -> io::Result<()> {
        // SAFETY: a zeroed sockaddr_nl is the kernel's address (port 0).
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        loop {
            // SAFETY: data and address are live for the call, their sizes passed.
            let rc = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    data.as_ptr().cast(),
                    data.len(),
                    0,
                    (&kernel as *const libc::sockaddr_nl).cast(),
                    size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            match rc {
                n if n == data.len() as isize => return Ok(()),
                n if n >= 0 => return Err(io::Error::new(io::ErrorKind::WriteZero, "request sent in part")),
                _ => match io::Error::last_os_error() {
                    e if e.kind() == io::ErrorKind::Interrupted => {}
                    e => return Err(e),
                },
            }
        }
    }

    /// Receives one datagram from the kernel. `Ok(None)`: nothing queued
    /// (non-blocking), or nothing within the timeout (blocking). Datagrams
    /// from any other port are dropped.
    fn recv(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            // SAFETY: a zeroed sockaddr_nl, filled by recvfrom.
            let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            let mut from_len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            // SAFETY: the buffer and address are live and their sizes passed.
            let rc = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_TRUNC,
                    (&mut from as *mut libc::sockaddr_nl).cast(),
                    &mut from_len,
                )
            };
            if rc < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => return Ok(None),
                    _ => return Err(e),
                }
            }
            let n = rc as usize;
            if n > self.buf.len() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("datagram of {n} bytes truncated")));
            }
            if from.nl_pid != 0 {
                continue;
            }
            return Ok(Some(&self.buf[..n]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex (blanks ignored) to bytes.
    fn bytes(hex: &str) -> Vec<u8> {
        let digits: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn parsed(datagram: &[u8]) -> Vec<Message> {
        let mut out = Vec::new();
        parse(datagram, &mut out).unwrap();
        out
    }

    // Captured from kernel 6.18 (x86_64, so little-endian like every
    // netlink header on it) with strace, in a scratch namespace where
    // `ip addr add 10.0.0.1 peer 10.0.0.2 dev v1`, `198.51.100.7/24 dev v0`
    // and `2001:db8::7/64 dev v0` had been run. nlmsghdr, ifaddrmsg, then
    // IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_FLAGS, IFA_CACHEINFO...
    /// RTM_NEWADDR of a dump: 10.0.0.1 with peer 10.0.0.2 on interface 2.
    const DUMP_PEER: &str = "4c000000 1400 0200 15ca166b 49530000
        02208000 02000000 08000100 0a000002 08000200 0a000001 07000300 76310000
        08000800 80000000 14000600 ffffffff ffffffff c47f0e00 c47f0e00";
    /// RTM_NEWADDR of a dump: 198.51.100.7/24 on interface 3.
    const DUMP_V4: &str = "4c000000 1400 0200 15ca166b 49530000
        02188000 03000000 08000100 c6336407 08000200 c6336407 07000300 76300000
        08000800 80000000 14000600 ffffffff ffffffff c37f0e00 c37f0e00";
    /// RTM_NEWADDR of a dump: 2001:db8::7/64 on interface 3 (IPv6 messages
    /// carry IFA_ADDRESS only).
    const DUMP_V6: &str = "48000000 1400 0200 15ca166b 49530000
        0a408200 03000000 14000100 20010db8 00000000 00000000 00000007
        14000600 ffffffff ffffffff c37f0e00 c37f0e00 08000800 82000000";
    const DUMP_DONE: &str = "14000000 0300 0200 15ca166b 49530000 00000000";
    /// The notification `ip addr del 2001:db8::7/64 dev v0` caused.
    const DELETED_V6: &str = "48000000 1500 0000 00000000 00000000
        0a408200 03000000 14000100 20010db8 00000000 00000000 00000007
        14000600 ffffffff ffffffff c37f0e00 c37f0e00 08000800 82000000";
    /// The notification `ip addr add 203.0.113.9/24 dev v0` caused.
    const ADDED_V4: &str = "4c000000 1400 0000 1aca166b 0e540000
        02188000 03000000 08000100 cb007109 08000200 cb007109 07000300 76300000
        08000800 80000000 14000600 ffffffff ffffffff d7810e00 d7810e00";

    #[test]
    #[cfg(target_endian = "little")]
    fn a_dump_gives_the_local_address_of_each_message() {
        let datagram: Vec<u8> = [DUMP_PEER, DUMP_V4, DUMP_V6, DUMP_DONE].iter().flat_map(|m| bytes(m)).collect();
        assert_eq!(
            parsed(&datagram),
            [
                // IFA_LOCAL, not the peer's IFA_ADDRESS.
                Message::Address { new: true, index: 2, ip: ip("10.0.0.1") },
                Message::Address { new: true, index: 3, ip: ip("198.51.100.7") },
                Message::Address { new: true, index: 3, ip: ip("2001:db8::7") },
                Message::Done,
            ]
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn notifications_add_and_remove_per_interface() {
        assert_eq!(parsed(&bytes(DELETED_V6)), [Message::Address { new: false, index: 3, ip: ip("2001:db8::7") }]);
        assert_eq!(parsed(&bytes(ADDED_V4)), [Message::Address { new: true, index: 3, ip: ip("203.0.113.9") }]);

        let mut table = BTreeSet::new();
        for m in parsed(&[DUMP_V4, DUMP_V6].iter().flat_map(|m| bytes(m)).collect::<Vec<u8>>()) {
            apply_one(&mut table, &m);
        }
        // The same address on another interface too: local until both go.
        apply_one(&mut table, &Message::Address { new: true, index: 7, ip: ip("2001:db8::7") });
        for m in parsed(&bytes(DELETED_V6)).iter().chain(&parsed(&bytes(ADDED_V4))) {
            apply_one(&mut table, m);
        }
        assert_eq!(distinct(&table), [ip("198.51.100.7"), ip("203.0.113.9"), ip("2001:db8::7")]);
        apply_one(&mut table, &Message::Address { new: false, index: 7, ip: ip("2001:db8::7") });
        assert_eq!(distinct(&table), [ip("198.51.100.7"), ip("203.0.113.9")]);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn the_request_errors_and_malformed_messages() {
        assert_eq!(getaddr_request(1).to_vec(), bytes("18000000 1600 0103 01000000 00000000 00000000 00000000"));
        // NLMSG_ERROR -EPERM (its payload: the errno, then the request's header).
        let error = bytes("24000000 0200 0000 01000000 00000000 ffffffff 18000000 1600 0103 01000000 00000000");
        assert_eq!(parsed(&error), [Message::Error(libc::EPERM)]);
        // A dump part flagged NLM_F_DUMP_INTR (NLM_F_MULTI | 0x10).
        let mut interrupted = bytes(DUMP_V4);
        interrupted[6] |= 0x10;
        assert_eq!(parsed(&interrupted)[0], Message::Interrupted);
        // An RTM_NEWLINK is none of our business.
        assert_eq!(parsed(&bytes("14000000 1000 0000 00000000 00000000 00000000")), [Message::Other]);

        let mut out = Vec::new();
        let whole = bytes(DUMP_V4);
        assert!(parse(&whole[..40], &mut out).is_err(), "a message longer than its datagram");
        let mut bad_attr = whole.clone();
        bad_attr[24] = 0xff; // IFA_ADDRESS's length beyond the message
        assert!(parse(&bad_attr, &mut out).is_err());
        let mut short_addr = whole.clone();
        short_addr[32] = 6; // IFA_LOCAL, the one read, of 2 bytes (its padding keeps the rest aligned)
        assert!(matches!(parse(&short_addr, &mut out), Err(LocalAddrError::Malformed(_))));
        assert!(parse(&whole[..20], &mut out).is_err(), "shorter than struct ifaddrmsg");
    }

    /// The real kernel, in a namespace of the test's own: addresses added
    /// and removed are heard, and so is a change lost to a full buffer.
    #[test]
    fn the_kernel_is_followed_and_an_overrun_dumps_again() {
        let Some(ns) = crate::firewall::test_netns::Netns::new(format!("bwaddr-{}", std::process::id())) else {
            return;
        };
        let ip_cmd = |args: &[&str]| {
            let out = ns.exec("ip").args(args).output().unwrap();
            assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        ip_cmd(&["link", "set", "lo", "up"]);
        ns.inside(|| {
            let mut follow = Follow::open().unwrap();
            assert_eq!(follow.addresses(), [ip("127.0.0.1"), ip("::1")]);
            assert_eq!(current().unwrap(), [ip("127.0.0.1"), ip("::1")]);
            assert!(follow.apply().unwrap().is_empty());

            ip_cmd(&["addr", "add", "198.51.100.7/24", "dev", "lo"]);
            ip_cmd(&["addr", "add", "2001:db8::7/64", "dev", "lo"]);
            let changes = follow.apply().unwrap();
            assert_eq!(changes.appeared, [ip("198.51.100.7"), ip("2001:db8::7")]);
            assert!(changes.gone.is_empty() && !changes.dumped_again);
            assert!(follow.apply().unwrap().is_empty(), "each change is reported once");

            ip_cmd(&["addr", "del", "198.51.100.7/24", "dev", "lo"]);
            let changes = follow.apply().unwrap();
            assert_eq!((changes.appeared, changes.gone), (vec![], vec![ip("198.51.100.7")]));

            // The smallest receive buffer holds a couple of notifications:
            // 40 addresses overrun it, and the table is dumped again.
            let rcvbuf: libc::c_int = 1;
            // SAFETY: the option value is a live c_int of the size passed.
            let rc = unsafe {
                libc::setsockopt(
                    follow.fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUF,
                    (&rcvbuf as *const libc::c_int).cast(),
                    size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            assert_eq!(rc, 0);
            let script: String = (1..=40).map(|i| format!("addr add 203.0.113.{i}/32 dev lo\n")).collect();
            let mut batch = ns.exec("ip").args(["-batch", "-"]).stdin(std::process::Stdio::piped()).spawn().unwrap();
            use std::io::Write as _;
            batch.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
            assert!(batch.wait().unwrap().success());
            let changes = follow.apply().unwrap();
            assert!(changes.dumped_again, "{changes:?}");
            assert_eq!(changes.appeared.len(), 40, "{changes:?}");
            assert_eq!(follow.addresses().len(), 43);
            assert_eq!(follow.addresses(), current().unwrap());
        });
    }
}
