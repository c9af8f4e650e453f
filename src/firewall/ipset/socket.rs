//! The `NETLINK_NETFILTER` socket of ipset: send one datagram, receive one.
//!
//! Opening, sending, receiving and waiting are `netlink::NfnlSocket`'s; this adds the
//! options ipset wants (NETLINK_CAP_ACK, a large receive buffer), reads back the buffer
//! sizes the batch is planned with, and copies each datagram into the caller's buffer.
//! The messages themselves are built by `message.rs`.

use std::io;
use std::mem::size_of;

use crate::firewall::netlink::{NfnlSocket, NETLINK_CAP_ACK};

/// Wanted receive buffer. Each failing element queues one error skb on the socket (about
/// 1 KiB of `truesize`, see [`NlSocket::rcvbuf`]); a full set turns every element of a
/// datagram into an error, so the datagram size is bounded by what this buffer holds.
const RCVBUF: libc::c_int = 8 << 20;

pub(super) struct NlSocket {
    sock: NfnlSocket,
}

impl NlSocket {
    pub(super) fn open() -> io::Result<NlSocket> {
        let sock = NfnlSocket::open()?;
        sock.set_netlink_opt(NETLINK_CAP_ACK, 1)?;
        // SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN in the initial
        // user namespace; inside a container fall back to what rmem_max allows.
        if sock.set_socket_opt(libc::SO_RCVBUFFORCE, RCVBUF).is_err() {
            sock.set_socket_opt(libc::SO_RCVBUF, RCVBUF)?;
        }
        sock.bind()?;
        Ok(NlSocket { sock })
    }

    /// Test hook: a receive buffer too small for a datagram's errors, to force `ENOBUFS`.
    #[cfg(test)]
    pub(super) fn shrink_rcvbuf(&self, bytes: libc::c_int) {
        self.sock.set_socket_opt(libc::SO_RCVBUFFORCE, bytes).unwrap();
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
            libc::getsockopt(self.sock.fd(), libc::SOL_SOCKET, name, (&mut value as *mut libc::c_int).cast(), &mut len)
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
        self.sock.send(buf)
    }

    /// Receives one datagram into `buf`. `Ok(None)`: nothing queued (with `wait == false`).
    /// `ENOBUFS` means replies were dropped because the receive buffer was full.
    pub(super) fn recv(&mut self, buf: &mut [u8], wait: bool) -> io::Result<Option<usize>> {
        let Some(data) = self.sock.recv(wait)? else { return Ok(None) };
        let n = data.len();
        if n > buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("netlink reply of {n} bytes truncated to {}", buf.len()),
            ));
        }
        buf[..n].copy_from_slice(data);
        Ok(Some(n))
    }
}
