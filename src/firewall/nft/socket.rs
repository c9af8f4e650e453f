//! The NETLINK_NETFILTER socket of nf_tables: one datagram per transaction,
//! acknowledgements drained.
//!
//! Opening, receiving and waiting are `netlink::NfnlSocket`'s; this adds the
//! options nf_tables wants (NETLINK_CAP_ACK, NETLINK_EXT_ACK, large buffers)
//! and the two ways its replies are read.
//!
//! The kernel runs a whole nf_tables batch inside `sendmsg()` and queues every
//! acknowledgement before it returns, so [`NlSocket::drain`] reads without
//! blocking until `EAGAIN`. Waiting for one reply per sequence number would
//! hang: in a failed batch BATCH_END is never acknowledged.

use std::io;

use super::message::{self, Ack};
use crate::firewall::netlink::{self, Msg, NfnlSocket, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NLMSG_DONE, NLMSG_ERROR};

/// Socket buffers asked for with SO_*BUFFORCE (needs CAP_NET_ADMIN, which
/// banwarden needs anyway); the plain option is capped at net.core.*mem_max.
const BUFFER_BYTES: libc::c_int = 4 << 20;

pub struct NlSocket {
    sock: NfnlSocket,
    /// The largest datagram the kernel takes from it: netlink_sendmsg
    /// refuses more than the send buffer less 32 bytes (EMSGSIZE).
    largest: usize,
}

impl NlSocket {
    /// Opens the socket in the calling thread's network namespace.
    pub fn open() -> io::Result<NlSocket> {
        let sock = NfnlSocket::open()?;
        sock.bind()?;
        sock.set_netlink_opt(NETLINK_CAP_ACK, 1)?;
        // Older kernels lack it; the errno alone still classifies errors.
        let _ = sock.set_netlink_opt(NETLINK_EXT_ACK, 1);
        for (force, plain) in [(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF), (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF)] {
            if sock.set_socket_opt(force, BUFFER_BYTES).is_err() {
                let _ = sock.set_socket_opt(plain, BUFFER_BYTES);
            }
        }
        // The kernel reports the buffer it keeps (twice what was asked).
        let largest = sock.get_socket_opt(libc::SO_SNDBUF).map_or(0, |b| usize::try_from(b).unwrap_or(0));
        Ok(NlSocket { sock, largest: largest.saturating_sub(32) })
    }

    /// The largest transaction it can send in one datagram.
    pub fn largest_datagram(&self) -> usize {
        self.largest
    }

    /// The socket's port id, which the kernel writes in the notifications of
    /// the changes it asks for (see `firewall::watch`).
    pub fn port(&self) -> u32 {
        self.sock.port()
    }

    /// Sends `data` as one datagram: a batch split over several datagrams is
    /// aborted by the kernel (BEGIN without END) while the first part is acked 0.
    pub fn send(&self, data: &[u8]) -> io::Result<()> {
        self.sock.send(data)
    }

    /// Every acknowledgement queued on the socket. An ENOBUFS from `recv`
    /// means some were dropped: the caller cannot know what was committed.
    pub fn drain(&mut self) -> io::Result<Vec<Ack>> {
        let mut acks = Vec::new();
        while let Some(data) = self.sock.recv(false)? {
            acks.extend(netlink::messages(data).filter(|m| m.ty == NLMSG_ERROR).filter_map(|m| message::parse_ack(&m)));
        }
        Ok(acks)
    }

    /// Reads replies to request `seq` (blocking) and hands each non-error
    /// message to `each`, until its ACK, an error or NLMSG_DONE. Returns
    /// the errno (0 on success) and the ext-ack message.
    pub fn replies(&mut self, seq: u32, mut each: impl FnMut(&Msg)) -> io::Result<(i32, Option<String>)> {
        loop {
            // `each` only borrows the datagram, in the socket's buffer: no copy.
            let Some(data) = self.sock.recv(true)? else { continue };
            for m in netlink::messages(data) {
                if m.seq != seq {
                    continue; // a stale reply to an earlier request
                }
                match m.ty {
                    NLMSG_ERROR => {
                        let ack = message::parse_ack(&m).ok_or_else(|| io::Error::other("short NLMSG_ERROR"))?;
                        return Ok((ack.errno, ack.message));
                    }
                    // A dump's DONE carries its status as an int.
                    NLMSG_DONE => return Ok((m.errno().unwrap_or(0), None)),
                    _ => each(&m),
                }
            }
        }
    }
}
