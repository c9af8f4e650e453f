//! What the nftables and ipset backends share of netlink: the NETLINK_NETFILTER
//! socket and the framing of what it carries.
//!
//! Both backends speak nfnetlink (`nlmsghdr`, `nfgenmsg`, then attributes) over
//! an `mnl::Socket`. This module owns the parts that do not depend on the
//! subsystem: opening the socket close-on-exec and non-blocking, its options,
//! receiving one datagram (waiting a bounded time if asked), splitting a
//! datagram into messages and a payload into attributes. What each subsystem
//! puts in its messages, the socket options it wants and how it reads replies
//! stay in `nft/` and `ipset/`; nothing here knows either of them.

use std::io;
use std::mem::size_of;
use std::os::fd::AsRawFd;

use mnl::mnl_sys;

// <linux/netlink.h>
pub(super) const NLMSG_HDRLEN: usize = 16;
pub(super) const NLMSG_ERROR: u16 = 2;
pub(super) const NLMSG_DONE: u16 = 3;
pub(super) const NLM_F_REQUEST: u16 = 0x1;
pub(super) const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_ROOT | NLM_F_MATCH`: a dump.
pub(super) const NLM_F_DUMP: u16 = 0x300;
pub(super) const NLA_F_NESTED: u16 = 1 << 15;
pub(super) const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
/// SOL_NETLINK option: errors echo only the header of the failing request, not
/// all of it (a few failing 64 KiB requests would overflow the receive buffer).
pub(super) const NETLINK_CAP_ACK: libc::c_int = 10;
/// SOL_NETLINK option: errors carry a message and the offset of the offending
/// attribute.
pub(super) const NETLINK_EXT_ACK: libc::c_int = 11;

/// Larger than any datagram the kernel sends to these sockets: dumps are
/// capped at 32 KiB (`max_recvmsg_len` in `netlink_recvmsg()`).
const RECV_BYTES: usize = 64 << 10;
/// A reply that has not come after this long means a bug, not a slow kernel:
/// the kernel answers inside `sendmsg()`. Bounds how long a daemon thread can
/// block.
const RECV_TIMEOUT_MS: libc::c_int = 10_000;

/// `NLA_ALIGN` and `NLMSG_ALIGN`: messages and attributes are padded to 4 bytes.
pub(super) const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Where `mnl_socket_recvfrom` receives: aligned for `nlmsghdr`, as mnl wants.
#[repr(C, align(8))]
struct RecvBuf([u8; RECV_BYTES]);

/// `mnl::Socket`, which holds a raw pointer and so is neither Send nor Sync.
struct MnlSocket(mnl::Socket);

// SAFETY: the pointer is to libmnl's `struct mnl_socket` (the descriptor and its bound
// address), owned by this value alone; libmnl keeps no per-thread or global state for it,
// and the calls made through `&self` only read it, like calls on a shared descriptor.
unsafe impl Send for MnlSocket {}
// SAFETY: as above.
unsafe impl Sync for MnlSocket {}

/// A NETLINK_NETFILTER socket and the buffer it receives into.
///
/// libmnl opens and binds the socket and moves the bytes (`mnl_socket_sendto`,
/// `mnl_socket_recvfrom`); SOL_NETLINK options go through `mnl_socket_setsockopt`.
/// What mnl 0.3 has no call for is done with libc on its descriptor: close-on-exec
/// and O_NONBLOCK (`mnl_socket_open` takes no flags, `mnl_socket_recvfrom` no
/// `MSG_DONTWAIT`), SOL_SOCKET options and `poll()` for a waiting read with a time
/// limit. The socket belongs to the network namespace of the thread that opens it
/// and stays there whichever thread uses it later.
pub(super) struct NfnlSocket {
    sock: MnlSocket,
    buf: Box<RecvBuf>,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

impl NfnlSocket {
    /// Opens the socket, close-on-exec and non-blocking, in the calling thread's
    /// network namespace. Not bound yet: the caller sets its options, then [`bind`]s.
    ///
    /// [`bind`]: NfnlSocket::bind
    pub(super) fn open() -> io::Result<NfnlSocket> {
        let sock = mnl::Socket::open(mnl::Bus::Netfilter)?;
        let fd = sock.as_raw_fd();
        // mnl_socket_open() does not ask for SOCK_CLOEXEC: set it at once. A fork+exec in
        // another thread in between would inherit the socket; banwarden runs no programs.
        // SAFETY: plain fcntl on a descriptor the socket owns.
        check(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
        // SAFETY: as above.
        let status = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
        // SAFETY: as above.
        check(unsafe { libc::fcntl(fd, libc::F_SETFL, status | libc::O_NONBLOCK) })?;
        Ok(NfnlSocket { sock: MnlSocket(sock), buf: Box::new(RecvBuf([0; RECV_BYTES])) })
    }

    /// Binds with port id 0, which lets the kernel pick ours.
    pub(super) fn bind(&self) -> io::Result<()> {
        self.sock.0.bind(0, mnl_sys::MNL_SOCKET_AUTOPID)
    }

    pub(super) fn fd(&self) -> libc::c_int {
        self.sock.0.as_raw_fd()
    }

    /// The port id the kernel gave the socket at [`bind`](NfnlSocket::bind): what the
    /// kernel writes in `nlmsg_pid` of the notifications our own requests cause.
    pub(super) fn port(&self) -> u32 {
        self.sock.0.portid()
    }

    /// Attaches a classic BPF program (`SO_ATTACH_FILTER`, socket(7)), replacing any
    /// before it. The kernel runs it on every datagram before queueing it, multicast
    /// ones included (`do_one_broadcast()` calls `sk_filter()`).
    pub(super) fn attach_filter(&self, program: &[libc::sock_filter]) -> io::Result<()> {
        let prog = libc::sock_fprog { len: program.len() as libc::c_ushort, filter: program.as_ptr().cast_mut() };
        // SAFETY: `prog` points to `program`, which outlives the call; the kernel copies it.
        check(unsafe {
            libc::setsockopt(
                self.fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&prog as *const libc::sock_fprog).cast(),
                size_of::<libc::sock_fprog>() as u32,
            )
        })
        .map(drop)
    }

    /// An int SOL_NETLINK option, set by libmnl.
    pub(super) fn set_netlink_opt(&self, name: libc::c_int, mut value: libc::c_int) -> io::Result<()> {
        // SAFETY: the socket is live; the value is a live c_int of the size passed.
        check(unsafe {
            mnl_sys::mnl_socket_setsockopt(
                self.sock.0.as_raw_socket(),
                name,
                (&mut value as *mut libc::c_int).cast(),
                size_of::<libc::c_int>() as u32,
            )
        })
        .map(drop)
    }

    /// An int SOL_SOCKET option.
    pub(super) fn get_socket_opt(&self, name: libc::c_int) -> io::Result<libc::c_int> {
        let mut value: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the option value is a live c_int, its size passed and updated.
        check(unsafe {
            libc::getsockopt(self.fd(), libc::SOL_SOCKET, name, (&mut value as *mut libc::c_int).cast(), &mut len)
        })?;
        Ok(value)
    }

    pub(super) fn set_socket_opt(&self, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
        // SAFETY: the option value is a live c_int of the size passed.
        check(unsafe {
            libc::setsockopt(
                self.fd(),
                libc::SOL_SOCKET,
                name,
                (&value as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as u32,
            )
        })
        .map(drop)
    }

    /// Sends `data` as one datagram. Netlink takes a datagram whole or refuses it
    /// (`EMSGSIZE` beyond the send buffer), so a short count is an error, never
    /// something to continue.
    pub(super) fn send(&self, data: &[u8]) -> io::Result<()> {
        loop {
            match self.sock.0.send(data) {
                Ok(n) if n == data.len() => return Ok(()),
                Ok(n) => {
                    return Err(io::Error::new(io::ErrorKind::WriteZero, format!("sent {n} of {} bytes", data.len())))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Receives one datagram. `Ok(None)`: nothing queued (with `wait == false`);
    /// with `wait`, waits at most [`RECV_TIMEOUT_MS`]. `ENOBUFS` means replies were
    /// dropped because the receive buffer was full.
    pub(super) fn recv(&mut self, wait: bool) -> io::Result<Option<&[u8]>> {
        loop {
            let err = match self.sock.0.recv_raw(&mut self.buf.0) {
                Ok(n) => return Ok(Some(&self.buf.0[..n])),
                Err(err) => err,
            };
            match err.raw_os_error() {
                Some(libc::EINTR) => {}
                Some(libc::EAGAIN) if !wait => return Ok(None),
                Some(libc::EAGAIN) => self.wait_readable()?,
                // mnl_socket_recvfrom's report of MSG_TRUNC; the datagram is lost.
                Some(libc::ENOSPC) => {
                    let msg = format!("netlink reply longer than {RECV_BYTES} bytes truncated");
                    return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
                }
                _ => return Err(err),
            }
        }
    }

    /// Waits until a datagram is queued, at most [`RECV_TIMEOUT_MS`].
    fn wait_readable(&self) -> io::Result<()> {
        let mut pfd = libc::pollfd { fd: self.fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one live pollfd.
        match unsafe { libc::poll(&mut pfd, 1, RECV_TIMEOUT_MS) } {
            0 => Err(io::Error::new(io::ErrorKind::TimedOut, "no netlink reply from the kernel")),
            n if n > 0 => Ok(()),
            _ => match io::Error::last_os_error() {
                e if e.kind() == io::ErrorKind::Interrupted => Ok(()),
                e => Err(e),
            },
        }
    }
}

/// One message of a received datagram.
#[derive(Debug)]
pub(super) struct Msg<'a> {
    pub(super) ty: u16,
    pub(super) flags: u16,
    pub(super) seq: u32,
    /// The port id of the sender; in a notification, of the socket whose request
    /// caused it.
    pub(super) pid: u32,
    /// Everything after the 16-byte `nlmsghdr`.
    pub(super) payload: &'a [u8],
}

impl Msg<'_> {
    /// The attributes after `nfgenmsg`, which starts every nfnetlink message.
    pub(super) fn attrs(&self) -> Attrs<'_> {
        Attrs(self.payload.get(4..).unwrap_or(&[]))
    }

    /// The (positive) errno of an `NLMSG_ERROR`, or of the `NLMSG_DONE` that ends a
    /// dump (its status, negative on failure); 0 is an acknowledgement or success.
    /// `None` for other messages, or one too short to say.
    pub(super) fn errno(&self) -> Option<i32> {
        if self.ty != NLMSG_ERROR && self.ty != NLMSG_DONE {
            return None;
        }
        let raw = self.payload.get(..4)?;
        Some(-i32::from_ne_bytes(raw.try_into().ok()?))
    }
}

/// Splits a datagram into messages; stops at the first malformed length.
pub(super) fn messages(mut buf: &[u8]) -> impl Iterator<Item = Msg<'_>> {
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
            pid: u32::from_ne_bytes(buf[12..16].try_into().unwrap()),
            payload: &buf[NLMSG_HDRLEN..len],
        };
        buf = &buf[align4(len).min(buf.len())..];
        Some(msg)
    })
}

/// Iterator over the attributes of a message or of a nest: `(type without the
/// NESTED and NET_BYTEORDER flags, value)`; stops at the first malformed length.
pub(super) struct Attrs<'a>(pub(super) &'a [u8]);

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let buf = self.0;
        if buf.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        if len < 4 || len > buf.len() {
            return None;
        }
        let ty = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        self.0 = &buf[align4(len).min(buf.len())..];
        Some((ty, &buf[4..len]))
    }
}

/// A big-endian u32 attribute value (the kernel sends them with `NLA_F_NET_BYTEORDER`).
pub(super) fn be_u32(value: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(value.get(..4)?.try_into().ok()?))
}

/// A big-endian u64 attribute value.
pub(super) fn be_u64(value: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(value.get(..8)?.try_into().ok()?))
}
