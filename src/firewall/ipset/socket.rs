//! The `NETLINK_NETFILTER` socket: an `mnl::Socket`; send one datagram, receive one.
//!
//! libmnl opens and binds the socket and moves the bytes (`mnl_socket_sendto`,
//! `mnl_socket_recvfrom`); NETLINK_CAP_ACK goes through `mnl_socket_setsockopt`. What
//! mnl 0.3 has no call for is done with libc on its descriptor: close-on-exec and
//! O_NONBLOCK (`mnl_socket_open` takes no flags, `mnl_socket_recvfrom` no `MSG_DONTWAIT`),
//! the receive buffer (SOL_SOCKET) and `poll()` for a waiting read with a time limit. The
//! messages themselves are built by `message.rs`. The socket belongs to the network
//! namespace of the thread that opens it and stays there whichever thread uses it later.

use std::io;
use std::mem::size_of;
use std::os::fd::AsRawFd;

use mnl::mnl_sys;

/// Wanted receive buffer. Each failing element queues one error skb on the socket (about
/// 1 KiB of `truesize`, see [`NlSocket::rcvbuf`]); a full set turns every element of a
/// datagram into an error, so the datagram size is bounded by what this buffer holds.
const RCVBUF: libc::c_int = 8 << 20;
/// `NETLINK_CAP_ACK` (<linux/netlink.h>): errors echo only the header of the failing
/// request, not all of it.
const NETLINK_CAP_ACK: libc::c_int = 10;
/// A reply that has not come after this long means a bug, not a slow kernel: the kernel
/// answers inside `sendmsg()`. Bounds how long a daemon thread can block.
const RECV_TIMEOUT_MS: libc::c_int = 10_000;
/// Larger than any datagram the kernel sends here (dumps are capped at 32 KiB).
const RECV_BYTES: usize = 64 << 10;

/// Where `mnl_socket_recvfrom` receives: aligned for `nlmsghdr`, as mnl wants, which the
/// caller's byte buffer need not be.
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

pub(super) struct NlSocket {
    sock: MnlSocket,
    rx: Box<RecvBuf>,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn setsockopt_int(fd: libc::c_int, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the option value is a live c_int of the size passed.
    check(unsafe {
        libc::setsockopt(fd, level, name, (&value as *const libc::c_int).cast(), size_of::<libc::c_int>() as u32)
    })
    .map(drop)
}

impl NlSocket {
    pub(super) fn open() -> io::Result<NlSocket> {
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
        let mut cap_ack: libc::c_int = 1;
        // SAFETY: the socket is live; the value is a live c_int of the size passed.
        check(unsafe {
            mnl_sys::mnl_socket_setsockopt(
                sock.as_raw_socket(),
                NETLINK_CAP_ACK,
                (&mut cap_ack as *mut libc::c_int).cast(),
                size_of::<libc::c_int>() as u32,
            )
        })?;
        // SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN in the initial
        // user namespace; inside a container fall back to what rmem_max allows.
        if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF).is_err() {
            setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF)?;
        }
        // Port id 0 lets the kernel pick ours.
        sock.bind(0, mnl_sys::MNL_SOCKET_AUTOPID)?;
        Ok(NlSocket { sock: MnlSocket(sock), rx: Box::new(RecvBuf([0; RECV_BYTES])) })
    }

    fn fd(&self) -> libc::c_int {
        self.sock.0.as_raw_fd()
    }

    /// Test hook: a receive buffer too small for a datagram's errors, to force `ENOBUFS`.
    #[cfg(test)]
    pub(super) fn shrink_rcvbuf(&self, bytes: libc::c_int) {
        setsockopt_int(self.fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes).unwrap();
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
            libc::getsockopt(self.fd(), libc::SOL_SOCKET, name, (&mut value as *mut libc::c_int).cast(), &mut len)
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
        loop {
            match self.sock.0.send(buf) {
                Ok(n) if n == buf.len() => return Ok(()),
                Ok(_) => return Err(io::Error::new(io::ErrorKind::WriteZero, "short netlink send")),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Receives one datagram into `buf`. `Ok(None)`: nothing queued (with `wait == false`).
    /// `ENOBUFS` means replies were dropped because the receive buffer was full.
    pub(super) fn recv(&mut self, buf: &mut [u8], wait: bool) -> io::Result<Option<usize>> {
        loop {
            let err = match self.sock.0.recv_raw(&mut self.rx.0) {
                Ok(n) if n > buf.len() => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("netlink reply of {n} bytes truncated to {}", buf.len()),
                    ))
                }
                Ok(n) => {
                    buf[..n].copy_from_slice(&self.rx.0[..n]);
                    return Ok(Some(n));
                }
                Err(err) => err,
            };
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) if !wait => return Ok(None),
                Some(libc::EAGAIN) => self.wait_readable()?,
                // mnl_socket_recvfrom's report of MSG_TRUNC; the datagram is lost.
                Some(libc::ENOSPC) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("netlink reply longer than {RECV_BYTES} bytes truncated"),
                    ))
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
