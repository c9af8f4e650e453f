//! The NETLINK_NETFILTER socket: open, send one datagram, read replies.
//!
//! The kernel runs a whole nf_tables batch inside `sendmsg()` and queues every
//! acknowledgement before it returns, so [`NlSocket::drain`] reads without
//! blocking until `EAGAIN`. Waiting for one reply per sequence number would
//! hang: in a failed batch BATCH_END is never acknowledged.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::message::{self, Ack, Msg, NLMSG_ERROR};

// <linux/netlink.h> socket options at SOL_NETLINK.
const SOL_NETLINK: libc::c_int = 270;
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

pub struct NlSocket {
    fd: OwnedFd,
    /// u64 words: `nlmsghdr` must be 4-byte aligned to be read in place.
    buf: Vec<u64>,
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

impl NlSocket {
    /// Opens the socket in the calling thread's network namespace.
    pub fn open() -> io::Result<NlSocket> {
        // SAFETY: plain syscall; the fd is owned at once.
        let fd = check(unsafe {
            libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_NETFILTER)
        })?;
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        // SAFETY: sockaddr_nl is plain data; zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: addr lives for the call and the size is its own.
        check(unsafe {
            libc::bind(raw, (&addr as *const libc::sockaddr_nl).cast(), size_of::<libc::sockaddr_nl>() as u32)
        })?;
        setopt(raw, SOL_NETLINK, NETLINK_CAP_ACK, 1)?;
        // Older kernels lack it; the errno alone still classifies errors.
        let _ = setopt(raw, SOL_NETLINK, NETLINK_EXT_ACK, 1);
        for (force, plain) in [(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF), (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF)] {
            if setopt(raw, libc::SOL_SOCKET, force, BUFFER_BYTES).is_err() {
                let _ = setopt(raw, libc::SOL_SOCKET, plain, BUFFER_BYTES);
            }
        }
        Ok(NlSocket { fd, buf: vec![0u64; RECV_BYTES / 8] })
    }

    /// Sends `data` as one datagram: a batch split over several datagrams is
    /// aborted by the kernel (BEGIN without END) while the first part is acked 0.
    pub fn send(&self, data: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_nl is plain data; zero addresses the kernel.
        let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: data and to outlive the call; lengths are theirs.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                0,
                (&to as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != data.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, format!("sent {n} of {} bytes", data.len())));
        }
        Ok(())
    }

    /// Reads one datagram; `Ok(None)` on EAGAIN when not blocking.
    fn recv(&mut self, block: bool) -> io::Result<Option<usize>> {
        let flags = libc::MSG_TRUNC | if block { 0 } else { libc::MSG_DONTWAIT };
        loop {
            // SAFETY: the buffer is ours and RECV_BYTES long.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), self.buf.as_mut_ptr().cast(), RECV_BYTES, flags) };
            if n >= 0 {
                if n as usize > RECV_BYTES {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, format!("datagram of {n} bytes truncated")));
                }
                return Ok(Some(n as usize));
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) if !block => return Ok(None),
                _ => return Err(e),
            }
        }
    }

    fn bytes(&self, n: usize) -> &[u8] {
        // SAFETY: the Vec<u64> holds RECV_BYTES initialised bytes; n <= RECV_BYTES.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), n) }
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

    /// Blocking reads give up after this long: the kernel always answers,
    /// so a timeout means something is badly wrong, not slow.
    pub fn set_recv_timeout(&self, secs: i64) -> io::Result<()> {
        let tv = libc::timeval { tv_sec: secs, tv_usec: 0 };
        // SAFETY: tv lives for the call.
        check(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as u32,
            )
        })
        .map(drop)
    }
}
