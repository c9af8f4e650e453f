//! The NETLINK_NETFILTER socket: an `mnl::Socket`, one datagram per
//! transaction, acknowledgements drained.
//!
//! libmnl opens and binds the socket and moves the bytes
//! (`mnl_socket_sendto`, `mnl_socket_recvfrom`); NETLINK_CAP_ACK and
//! NETLINK_EXT_ACK go through `mnl_socket_setsockopt`. What mnl 0.3 has no
//! call for is done with libc on its descriptor: close-on-exec and O_NONBLOCK
//! (`mnl_socket_open` takes no flags, `mnl_socket_recvfrom` no MSG_DONTWAIT),
//! the buffer sizes (SOL_SOCKET), and `poll()` for a blocking read with a
//! time limit.
//!
//! The kernel runs a whole nf_tables batch inside `sendmsg()` and queues every
//! acknowledgement before it returns, so [`NlSocket::drain`] reads without
//! blocking until `EAGAIN`. Waiting for one reply per sequence number would
//! hang: in a failed batch BATCH_END is never acknowledged.

use std::io;
use std::mem::size_of;
use std::os::fd::AsRawFd;

use mnl::mnl_sys;

use super::message::{self, Ack, Msg, NLMSG_ERROR};

/// Errors do not echo the request: a few failing 64 KiB messages would
/// otherwise overflow the receive buffer.
const NETLINK_CAP_ACK: libc::c_int = 10;
/// Errors carry a message and the offset of the offending attribute.
const NETLINK_EXT_ACK: libc::c_int = 11;

/// Socket buffers asked for with SO_*BUFFORCE (needs CAP_NET_ADMIN, which
/// banwarden needs anyway); the plain option is capped at net.core.*mem_max.
const BUFFER_BYTES: libc::c_int = 4 << 20;
/// Larger than any datagram the kernel sends: dumps are capped at 32 KiB.
const RECV_BYTES: usize = 64 << 10;
/// Blocking reads give up after this long: the kernel always answers, so a
/// timeout means something is badly wrong, not slow.
const REPLY_TIMEOUT_MS: libc::c_int = 10_000;

/// The receive buffer, aligned for `nlmsghdr` as `mnl_socket_recvfrom` wants.
#[repr(C, align(8))]
struct RecvBuf([u8; RECV_BYTES]);

/// `mnl::Socket`, which holds a raw pointer and so is neither Send nor Sync.
struct MnlSocket(mnl::Socket);

// SAFETY: the pointer is to libmnl's `struct mnl_socket` (the descriptor and
// its bound address), owned by this value alone; libmnl keeps no per-thread
// or global state for it, and the calls made through `&self` only read it,
// like calls on a shared file descriptor.
unsafe impl Send for MnlSocket {}
// SAFETY: as above.
unsafe impl Sync for MnlSocket {}

pub struct NlSocket {
    sock: MnlSocket,
    buf: Box<RecvBuf>,
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn setopt(fd: libc::c_int, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its size.
    check(unsafe {
        libc::setsockopt(fd, level, name, (&value as *const libc::c_int).cast(), size_of::<libc::c_int>() as u32)
    })
    .map(drop)
}

/// A SOL_NETLINK option, set by libmnl.
fn nl_setopt(sock: &mnl::Socket, name: libc::c_int, mut value: libc::c_int) -> io::Result<()> {
    // SAFETY: the socket is live; passes a pointer to a live c_int and its size.
    check(unsafe {
        mnl_sys::mnl_socket_setsockopt(
            sock.as_raw_socket(),
            name,
            (&mut value as *mut libc::c_int).cast(),
            size_of::<libc::c_int>() as u32,
        )
    })
    .map(drop)
}

impl NlSocket {
    /// Opens the socket in the calling thread's network namespace.
    pub fn open() -> io::Result<NlSocket> {
        let sock = mnl::Socket::open(mnl::Bus::Netfilter)?;
        let fd = sock.as_raw_fd();
        // mnl_socket_open() does not ask for SOCK_CLOEXEC: set it at once. A
        // fork+exec in another thread in between would inherit the socket;
        // banwarden runs no programs.
        // SAFETY: plain fcntl on a descriptor the socket owns.
        check(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
        // SAFETY: as above.
        let status = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
        // SAFETY: as above.
        check(unsafe { libc::fcntl(fd, libc::F_SETFL, status | libc::O_NONBLOCK) })?;
        sock.bind(0, mnl_sys::MNL_SOCKET_AUTOPID)?;
        nl_setopt(&sock, NETLINK_CAP_ACK, 1)?;
        // Older kernels lack it; the errno alone still classifies errors.
        let _ = nl_setopt(&sock, NETLINK_EXT_ACK, 1);
        for (force, plain) in [(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF), (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF)] {
            if setopt(fd, libc::SOL_SOCKET, force, BUFFER_BYTES).is_err() {
                let _ = setopt(fd, libc::SOL_SOCKET, plain, BUFFER_BYTES);
            }
        }
        Ok(NlSocket { sock: MnlSocket(sock), buf: Box::new(RecvBuf([0; RECV_BYTES])) })
    }

    /// Sends `data` as one datagram: a batch split over several datagrams is
    /// aborted by the kernel (BEGIN without END) while the first part is acked 0.
    pub fn send(&self, data: &[u8]) -> io::Result<()> {
        let n = self.sock.0.send(data)?;
        if n != data.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, format!("sent {n} of {} bytes", data.len())));
        }
        Ok(())
    }

    /// Reads one datagram; `Ok(None)` on EAGAIN when not blocking.
    fn recv(&mut self, block: bool) -> io::Result<Option<usize>> {
        loop {
            let e = match self.sock.0.recv_raw(&mut self.buf.0) {
                Ok(n) => return Ok(Some(n)),
                Err(e) => e,
            };
            match e.raw_os_error() {
                Some(libc::EINTR) => {}
                Some(libc::EAGAIN) if !block => return Ok(None),
                Some(libc::EAGAIN) => self.wait_readable()?,
                // mnl_socket_recvfrom's report of MSG_TRUNC; the datagram is lost.
                Some(libc::ENOSPC) => {
                    let msg = format!("datagram longer than {RECV_BYTES} bytes truncated");
                    return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
                }
                _ => return Err(e),
            }
        }
    }

    /// Waits until a datagram is queued, at most [`REPLY_TIMEOUT_MS`].
    fn wait_readable(&self) -> io::Result<()> {
        let mut pfd = libc::pollfd { fd: self.sock.0.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one live pollfd.
        match unsafe { libc::poll(&mut pfd, 1, REPLY_TIMEOUT_MS) } {
            0 => Err(io::Error::new(io::ErrorKind::TimedOut, "no netlink reply from the kernel")),
            n if n > 0 => Ok(()),
            _ => match io::Error::last_os_error() {
                e if e.kind() == io::ErrorKind::Interrupted => Ok(()),
                e => Err(e),
            },
        }
    }

    fn bytes(&self, n: usize) -> &[u8] {
        &self.buf.0[..n]
    }

    /// Every acknowledgement queued on the socket. An ENOBUFS from `recv`
    /// means some were dropped: the caller cannot know what was committed.
    pub fn drain(&mut self) -> io::Result<Vec<Ack>> {
        let mut acks = Vec::new();
        while let Some(n) = self.recv(false)? {
            acks.extend(
                message::messages(self.bytes(n)).filter(|m| m.ty == NLMSG_ERROR).filter_map(|m| message::parse_ack(&m)),
            );
        }
        Ok(acks)
    }

    /// Reads replies to request `seq` (blocking) and hands each non-error
    /// message to `each`, until its ACK, an error or NLMSG_DONE. Returns
    /// the errno (0 on success) and the ext-ack message.
    pub fn replies(&mut self, seq: u32, mut each: impl FnMut(&Msg)) -> io::Result<(i32, Option<String>)> {
        loop {
            let Some(n) = self.recv(true)? else { continue };
            // Copy out of self.buf is avoided: `each` only borrows the datagram.
            let data = self.bytes(n);
            for m in message::messages(data) {
                if m.seq != seq {
                    continue; // a stale reply to an earlier request
                }
                match m.ty {
                    NLMSG_ERROR => {
                        let ack = message::parse_ack(&m).ok_or_else(|| io::Error::other("short NLMSG_ERROR"))?;
                        return Ok((ack.errno, ack.message));
                    }
                    message::NLMSG_DONE => {
                        // A dump's DONE carries its status as an int.
                        let status = m.payload.get(..4).map_or(0, |b| i32::from_ne_bytes(b.try_into().unwrap()));
                        return Ok((-status, None));
                    }
                    _ => each(&m),
                }
            }
        }
    }
}
