//! The raw `NETLINK_NETFILTER` socket: open, send one datagram, receive one.
//!
//! libc is called directly rather than through `mnl::Socket`: the client needs
//! `MSG_DONTWAIT` receives (draining replies until `EAGAIN`), `MSG_TRUNC` and a few socket
//! options, none of which mnl 0.3 exposes; the messages themselves are built by
//! `message.rs`. The socket belongs to the network namespace of the thread that opens it
//! and stays there whichever thread uses it later.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Wanted receive buffer. Each failing element queues one error skb on the socket (about
/// 1 KiB of `truesize`, see [`NlSocket::rcvbuf`]); a full set turns every element of a
/// datagram into an error, so the datagram size is bounded by what this buffer holds.
const RCVBUF: libc::c_int = 8 << 20;
/// `SOL_NETLINK` / `NETLINK_CAP_ACK` (<linux/netlink.h>): errors echo only the header of the
/// failing request, not all of it.
const SOL_NETLINK: libc::c_int = 270;
const NETLINK_CAP_ACK: libc::c_int = 10;
/// A reply that has not come after this long means a bug, not a slow kernel: the kernel
/// answers inside `sendmsg()`. Bounds how long a daemon thread can block.
const RECV_TIMEOUT_SECS: libc::time_t = 10;

pub(super) struct NlSocket {
    fd: OwnedFd,
}

fn setsockopt_int(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the option value is a live c_int of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl NlSocket {
    pub(super) fn open() -> io::Result<NlSocket> {
        // SAFETY: plain syscall; the descriptor is owned right away.
        let raw =
            unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_NETFILTER) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        setsockopt_int(&fd, SOL_NETLINK, NETLINK_CAP_ACK, 1)?;
        // SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN in the initial
        // user namespace; inside a container fall back to what rmem_max allows.
        if setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF).is_err() {
            setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF)?;
        }
        let tv = libc::timeval { tv_sec: RECV_TIMEOUT_SECS, tv_usec: 0 };
        // SAFETY: the option value is a live timeval of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let addr = kernel_addr();
        // SAFETY: `addr` is a valid sockaddr_nl; nl_pid 0 lets the kernel pick our port id.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(NlSocket { fd })
    }

    /// Test hook: a receive buffer too small for a datagram's errors, to force `ENOBUFS`.
    #[cfg(test)]
    pub(super) fn shrink_rcvbuf(&self, bytes: libc::c_int) {
        setsockopt_int(&self.fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes).unwrap();
    }

    /// The receive buffer as the kernel accounts it (twice the value set, per socket(7)).
    pub(super) fn rcvbuf(&self) -> usize {
        self.getsockopt_int(libc::SO_RCVBUF)
    }

    /// The send buffer: `netlink_sendmsg()` refuses a datagram longer than it, less 32
    /// bytes, with `EMSGSIZE`.
    pub(super) fn sndbuf(&self) -> usize {
        self.getsockopt_int(libc::SO_SNDBUF)
    }

    fn getsockopt_int(&self, name: libc::c_int) -> usize {
        let mut value: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `value` and `len` are live and sized for a c_int.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        // 212,992 is Linux's default net.core.{r,w}mem_default, a safe guess.
        if rc == 0 && value > 0 {
            value as usize
        } else {
            212_992
        }
    }

    /// Sends one datagram (one or many messages) to the kernel. The kernel handles every
    /// message of it before this returns (`netlink_unicast_kernel()` calls the subsystem
    /// synchronously), so all replies are queued when it does.
    pub(super) fn send(&self, buf: &[u8]) -> io::Result<()> {
        let addr = kernel_addr();
        loop {
            // SAFETY: `buf` and `addr` are live for the call.
            let n = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    0,
                    (&addr as *const libc::sockaddr_nl).cast(),
                    size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if n >= 0 {
                return if n as usize == buf.len() {
                    Ok(())
                } else {
                    Err(io::Error::new(io::ErrorKind::WriteZero, "short netlink send"))
                };
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// Receives one datagram into `buf`. `Ok(None)`: nothing queued (with `wait == false`).
    /// `ENOBUFS` means replies were dropped because the receive buffer was full.
    pub(super) fn recv(&self, buf: &mut [u8], wait: bool) -> io::Result<Option<usize>> {
        // MSG_TRUNC makes the call return the real length, so truncation is detected.
        let flags = libc::MSG_TRUNC | if wait { 0 } else { libc::MSG_DONTWAIT };
        loop {
            // SAFETY: `buf` is live and writable for its length.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) };
            if n >= 0 {
                let n = n as usize;
                if n > buf.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("netlink reply of {n} bytes truncated to {}", buf.len()),
                    ));
                }
                return Ok(Some(n));
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock if !wait => return Ok(None),
                io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "no netlink reply from the kernel"))
                }
                _ => return Err(err),
            }
        }
    }
}

fn kernel_addr() -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain data; all-zero is valid (pid 0 = the kernel).
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr
}
