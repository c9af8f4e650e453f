//! Hearing what others do to nftables: the kernel's nf_tables notifications,
//! read from a NETLINK_NETFILTER socket that has joined the multicast group
//! `NFNLGRP_NFTABLES`, turned into typed [`Change`]s.
//!
//! Every committed nf_tables transaction is announced to that group, one
//! message per object it touched (`nf_tables_table_notify()`,
//! `nf_tables_set_notify()`, `nf_tables_setelem_notify()`), then a NEWGEN.
//! What a reload does to the sets banwarden bans into shows there: `flush
//! ruleset` announces a DELSET for each set and a DELTABLE for each table,
//! the ruleset loaded after it a NEWTABLE and a NEWSET for each set created
//! again; `nft flush set` a DELSETELEM per element (older kernels: one
//! DELSETELEM naming none). This module reports only what can take bans away
//! or bring a set back: tables and sets deleted, sets created, elements
//! deleted. Element *adds* are dropped unread, whoever made them.
//!
//! Our own transactions are announced too (each element the ban service
//! adds, re-adds or refreshes): tens of thousands of messages during a
//! restore, which would overrun the socket and say nothing new. The kernel
//! writes the port id of the requesting socket in `nlmsg_pid` of each
//! notification, and coalesces the notifications of one transaction into
//! datagrams of their own, so [`Watch::ignore_port`] attaches a classic BPF
//! filter that drops, in the kernel, every datagram sent on behalf of the
//! ban service's nftables socket (and the parser skips such messages too,
//! should the filter be refused).
//!
//! Dropped, they are still built: while anyone listens to the group, the
//! kernel writes a notification for every element of every transaction
//! (`nfnetlink_has_listeners()` is the only test). Measured on kernel 6.18,
//! 100,000 elements added in one call took 60 to 87 ms with no listener and
//! 128 to 188 ms with this socket joined: the price of hearing a reload at
//! once instead of polling the ruleset.
//!
//! A full receive buffer loses notifications (`ENOBUFS` on the next read,
//! netlink(7)): that is reported as [`Change::Overrun`], which means
//! "anything may have changed". The socket is non-blocking; [`Watch::drain`]
//! reads what is queued and returns at once. It belongs to the network
//! namespace of the thread that opened it.

use std::io;
use std::net::IpAddr;
use std::os::fd::RawFd;

use super::netlink::{self, Attrs, Msg, NfnlSocket};
use crate::vocab::{Family, NftSet};

// <linux/netlink.h>
/// SOL_NETLINK option: join a multicast group.
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
// <linux/netfilter/nfnetlink.h>
/// The group nf_tables announces its changes to.
pub const NFNLGRP_NFTABLES: libc::c_int = 7;
const NFNL_SUBSYS_NFTABLES: u16 = 10;

// <linux/netfilter/nf_tables.h>, enum nf_tables_msg_types. The DESTROY
// variants (kernel >= 6.3) are announced under the DEL types; they are
// read as such anyway.
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_DELSET: u16 = 11;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFT_MSG_DESTROYTABLE: u16 = 26;
const NFT_MSG_DESTROYSET: u16 = 29;
const NFT_MSG_DESTROYSETELEM: u16 = 30;
// enum nft_table_attributes
const NFTA_TABLE_NAME: u16 = 1;
// enum nft_set_attributes
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
// enum nft_set_elem_list_attributes
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
// enum nft_set_elem_attributes, enum nft_data_attributes
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_FLAGS: u16 = 3;
const NFTA_DATA_VALUE: u16 = 1;
/// enum nft_set_elem_flags: the element closes an interval (its key is the
/// address after the range, not a banned one).
const NFT_SET_ELEM_INTERVAL_END: u32 = 0x1;

/// Receive buffer asked for (SO_RCVBUFFORCE, else SO_RCVBUF up to
/// net.core.rmem_max). The kernel coalesces a transaction's notifications in
/// datagrams of about 8 KiB; reloading a ruleset of a few hundred objects
/// takes a few of them. An admin loading 100,000 elements by hand overruns
/// it, which costs one reconciliation of every set, not a lost event.
const RCVBUF: libc::c_int = 1 << 20;
/// Datagrams read by one [`Watch::drain`] at most, so that a flood of
/// foreign notifications cannot hold the caller: the rest waits for the next
/// call.
const DRAIN_MAX: usize = 1024;

/// Which elements a DELSETELEM took out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removed {
    /// These addresses.
    Some(Vec<IpAddr>),
    /// All of them (a flush naming no element), or some the message did not
    /// name as addresses.
    All,
}

/// One change to the ruleset that may have taken bans out of a set, or
/// brought a set back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A table was deleted, with every set in it.
    TableGone {
        family: Family,
        table: String,
    },
    /// A table was created (its sets follow as [`Change::SetCreated`]).
    TableCreated {
        family: Family,
        table: String,
    },
    SetGone(NftSet),
    SetCreated(NftSet),
    /// Elements were deleted from a set (by hand, or a flush of the set).
    ElementsRemoved {
        set: NftSet,
        removed: Removed,
    },
    /// Notifications were lost (the socket's buffer overran): anything may
    /// have changed.
    Overrun,
}

impl Change {
    /// Whether the change may concern `set`.
    pub fn concerns(&self, set: &NftSet) -> bool {
        match self {
            Change::TableGone { family, table } | Change::TableCreated { family, table } => {
                *family == set.family && *table == set.table
            }
            Change::SetGone(s) | Change::SetCreated(s) | Change::ElementsRemoved { set: s, .. } => s == set,
            Change::Overrun => true,
        }
    }
}

/// The socket joined to `NFNLGRP_NFTABLES`.
pub struct Watch {
    sock: NfnlSocket,
    /// The port whose notifications are dropped (the ban service's own socket).
    own_port: Option<u32>,
}

impl Watch {
    /// Opens the socket in the calling thread's network namespace and joins
    /// the group: from now on every change is queued for [`drain`](Self::drain).
    /// Joining needs CAP_NET_ADMIN (EPERM otherwise).
    pub fn open() -> io::Result<Watch> {
        let sock = NfnlSocket::open()?;
        if sock.set_socket_opt(libc::SO_RCVBUFFORCE, RCVBUF).is_err() {
            let _ = sock.set_socket_opt(libc::SO_RCVBUF, RCVBUF);
        }
        sock.bind()?;
        sock.set_netlink_opt(NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)?;
        Ok(Watch { sock, own_port: None })
    }

    /// The descriptor, readable when a notification is queued.
    pub fn fd(&self) -> RawFd {
        self.sock.fd()
    }

    /// Drops, from now on, every notification caused by the socket bound to
    /// `port` (see the module doc). The kernel refusing the filter is not
    /// fatal: the parser skips those messages all the same, at the risk of
    /// overruns during a large restore; the error says so to the caller.
    pub fn ignore_port(&mut self, port: u32) -> io::Result<()> {
        self.own_port = Some(port);
        self.sock.attach_filter(&own_port_filter(port))
    }

    /// The changes queued since the last call, in the order the kernel made
    /// them; never waits. `ENOBUFS` becomes [`Change::Overrun`] and reading
    /// goes on.
    pub fn drain(&mut self) -> io::Result<Vec<Change>> {
        let mut changes = Vec::new();
        for _ in 0..DRAIN_MAX {
            match self.sock.recv(false) {
                Ok(Some(data)) => parse(data, self.own_port, &mut changes),
                Ok(None) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => changes.push(Change::Overrun),
                // What was read is not lost: the error comes back next time.
                Err(_) if !changes.is_empty() => break,
                Err(e) => return Err(e),
            }
        }
        Ok(changes)
    }
}

/// `ld [12]; jeq #port, drop, keep; keep: ret #-1; drop: ret #0`: drops a
/// datagram whose first message's `nlmsg_pid` is `port`. All messages of a
/// datagram come from one transaction, hence from one socket
/// (`nft_commit_notify()` coalesces the notifications of one commit only).
fn own_port_filter(port: u32) -> [libc::sock_filter; 4] {
    let op = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter { code: code as u16, jt, jf, k };
    // BPF_ABS loads read in network byte order; nlmsg_pid is in host order.
    let port_as_loaded = u32::from_be_bytes(port.to_ne_bytes());
    [
        op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 12),
        op(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, 1, 0, port_as_loaded),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, u32::MAX),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, 0),
    ]
}

/// The changes one datagram of notifications announces, appended to `out`.
/// Messages from `own_port`, of other subsystems, about families banwarden
/// has no sets in (arp) or about objects other than tables, sets and
/// elements deleted are skipped.
pub(super) fn parse(datagram: &[u8], own_port: Option<u32>, out: &mut Vec<Change>) {
    for msg in netlink::messages(datagram) {
        if msg.ty >> 8 != NFNL_SUBSYS_NFTABLES || own_port == Some(msg.pid) {
            continue;
        }
        if let Some(change) = parse_message(&msg) {
            out.push(change);
        }
    }
}

fn parse_message(msg: &Msg) -> Option<Change> {
    let kind = msg.ty & 0xff;
    // Cheap before anything is read: element adds are most of the traffic.
    if !matches!(
        kind,
        NFT_MSG_NEWTABLE
            | NFT_MSG_DELTABLE
            | NFT_MSG_DESTROYTABLE
            | NFT_MSG_NEWSET
            | NFT_MSG_DELSET
            | NFT_MSG_DESTROYSET
            | NFT_MSG_DELSETELEM
            | NFT_MSG_DESTROYSETELEM
    ) {
        return None;
    }
    // nfgenmsg.nfgen_family
    let nfproto = *msg.payload.first()?;
    let family = Family::ALL.into_iter().find(|f| f.nfproto() == nfproto)?;
    let (mut table, mut name, mut elements) = (None, None, None);
    for (ty, value) in msg.attrs() {
        match (kind, ty) {
            (NFT_MSG_NEWTABLE | NFT_MSG_DELTABLE | NFT_MSG_DESTROYTABLE, NFTA_TABLE_NAME) => table = string(value),
            (NFT_MSG_NEWSET | NFT_MSG_DELSET | NFT_MSG_DESTROYSET, NFTA_SET_TABLE) => table = string(value),
            (NFT_MSG_NEWSET | NFT_MSG_DELSET | NFT_MSG_DESTROYSET, NFTA_SET_NAME) => name = string(value),
            (NFT_MSG_DELSETELEM | NFT_MSG_DESTROYSETELEM, NFTA_SET_ELEM_LIST_TABLE) => table = string(value),
            (NFT_MSG_DELSETELEM | NFT_MSG_DESTROYSETELEM, NFTA_SET_ELEM_LIST_SET) => name = string(value),
            (NFT_MSG_DELSETELEM | NFT_MSG_DESTROYSETELEM, NFTA_SET_ELEM_LIST_ELEMENTS) => elements = Some(value),
            _ => {}
        }
    }
    let table = table?;
    let set = |name: Option<String>| name.map(|name| NftSet { family, table: table.clone(), name });
    Some(match kind {
        NFT_MSG_NEWTABLE => Change::TableCreated { family, table },
        NFT_MSG_DELTABLE | NFT_MSG_DESTROYTABLE => Change::TableGone { family, table },
        NFT_MSG_NEWSET => Change::SetCreated(set(name)?),
        NFT_MSG_DELSET | NFT_MSG_DESTROYSET => Change::SetGone(set(name)?),
        _ => Change::ElementsRemoved { set: set(name)?, removed: elements.map_or(Removed::All, removed) },
    })
}

/// The addresses of an `NFTA_SET_ELEM_LIST_ELEMENTS` nest; [`Removed::All`]
/// if one of its elements has no key or a key that is no address.
fn removed(list: &[u8]) -> Removed {
    let mut ips = Vec::new();
    for (_, elem) in Attrs(list) {
        let (mut key, mut flags) = (None, 0);
        for (ty, value) in Attrs(elem) {
            match ty {
                NFTA_SET_ELEM_KEY => key = Attrs(value).find(|(t, _)| *t == NFTA_DATA_VALUE).map(|(_, v)| v),
                NFTA_SET_ELEM_FLAGS => flags = netlink::be_u32(value).unwrap_or(0),
                _ => {}
            }
        }
        if flags & NFT_SET_ELEM_INTERVAL_END != 0 {
            continue;
        }
        match key.map(<[u8]>::len) {
            Some(4) => ips.push(IpAddr::from(<[u8; 4]>::try_from(key.unwrap()).unwrap())),
            Some(16) => ips.push(IpAddr::from(<[u8; 16]>::try_from(key.unwrap()).unwrap())),
            _ => return Removed::All,
        }
    }
    match ips.is_empty() {
        true => Removed::All,
        false => Removed::Some(ips),
    }
}

/// A NUL-terminated name attribute.
fn string(value: &[u8]) -> Option<String> {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    String::from_utf8(value[..end].to_vec()).ok()
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    //! Notifications captured from kernel 6.18 (nft 1.0.6 making the
    //! changes, a plain NETLINK_NETFILTER socket joined to group 7 reading
    //! them), one datagram each, verbatim.
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn changes(datagram: &str, own_port: Option<u32>) -> Vec<Change> {
        let mut out = Vec::new();
        parse(&hex(datagram), own_port, &mut out);
        out
    }

    fn set(path: &str) -> NftSet {
        NftSet::parse(path).unwrap()
    }

    fn ips(list: &[&str]) -> Removed {
        Removed::Some(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    /// `nft flush set ip Inet4 ssh_ban` of { 1.2.3.4 timeout 1h, 5.6.7.8 }:
    /// one DELSETELEM per element, from nft's port 0x51f1.
    const FLUSH_SET: &str = "
        58000000 0e0a0000 00000000 f1510000 02000009 0a000100 496e6574 34000000 0c000200 7373685f 62616e00 2c000300
        28000100 0c000100 08000100 01020304 0c000400 00000000 0036ee80 0c000500 00000000 0036ec84
        40000000 0e0a0000 00000000 f1510000 02000009 0a000100 496e6574 34000000 0c000200 7373685f 62616e00 14000300
        10000100 0c000100 08000100 05060708";

    /// `nft add element ip Inet4 ssh_ban '{ 9.9.9.9 }'`: its NEWSETELEM, then
    /// the NEWGEN (a datagram of its own, appended here).
    const ADD_ELEMENT: &str = "
        40000000 0c0a0004 00000000 f2510000 0200000a 0a000100 496e6574 34000000 0c000200 7373685f 62616e00 14000300
        10000100 0c000100 08000100 09090909
        2c000000 0f0a0000 01000000 f2510000 0000000a 08000100 0000000a 08000200 000051f2 08000300 6e667400";

    /// `nft -f` of `flush ruleset` then the same table (a chain with a rule
    /// using the set `ssh_ban`): DELRULE, DELSET, DELCHAIN, DELTABLE, NEWTABLE,
    /// NEWCHAIN, NEWSET, NEWRULE, in one datagram.
    const RELOAD: &str = "
        cc000000 080a0000 01000000 f3510000 0200000b 0a000100 496e6574 34000000 06000200 63000000 0c000300 00000000
        00000003 98000400 34000100 0c000100 7061796c 6f616400 24000200 08000100 00000001 08000200 00000001 08000300
        0000000c 08000400 00000004 30000100 0b000100 6c6f6f6b 75700000 20000200 0c000100 7373685f 62616e00 08000200
        00000001 08000500 00000000 30000100 0e000100 696d6d65 64696174 65000000 1c000200 08000100 00000000 10000200
        0c000200 08000100 00000000
        38000000 0b0a0000 01000000 f3510000 0200000b 0a000100 496e6574 34000000 0c000200 7373685f 62616e00 0c001000
        00000000 00000002
        34000000 050a0000 01000000 f3510000 0200000b 0a000100 496e6574 34000000 06000300 63000000 0c000200 00000000
        00000001
        34000000 020a0000 01000000 f3510000 0200000b 0a000100 496e6574 34000000 08000300 00000000 0c000400 00000000
        00000003
        3c000000 000a0000 02000000 f3510000 0200000b 0a000100 496e6574 34000000 08000300 00000002 0c000400 00000000
        00000004 08000200 00000000
        6c000000 030a0004 03000000 f3510000 0200000b 0a000100 496e6574 34000000 06000300 63000000 0c000200 00000000
        00000001 14000400 08000100 00000001 08000200 00000000 08000500 00000001 0b000700 66696c74 65720000 08000a00
        00000001 08000600 00000001
        80000000 090a0004 04000000 f3510000 0200000b 0a000100 496e6574 34000000 0c000200 7373685f 62616e00 0c001000
        00000000 00000002 08000300 00000010 08000400 00000007 08000500 00000004 0a000d00 00040200 00000000 04000900
        17001300 30786666 66666666 66663832 35303635 30300000 08001400 00000000
        cc000000 060a000c 05000000 f3510000 0200000b 0a000100 496e6574 34000000 06000200 63000000 0c000300 00000000
        00000003 98000400 34000100 0c000100 7061796c 6f616400 24000200 08000100 00000001 08000200 00000001 08000300
        0000000c 08000400 00000004 30000100 0b000100 6c6f6f6b 75700000 20000200 0c000100 7373685f 62616e00 08000200
        00000001 08000500 00000000 30000100 0e000100 696d6d65 64696174 65000000 1c000200 08000100 00000000 10000200
        0c000200 08000100 00000000";

    /// `nft add set ip Inet4 s6 '{ type ipv6_addr; }'`.
    const NEW_SET: &str = "
        74000000 090a0004 01000000 f4510000 0200000c 0a000100 496e6574 34000000 07000200 73360000 0c001000 00000000
        00000004 08000400 00000008 08000500 00000010 0a000d00 00040200 00000000 04000900 17001300 30786666 66666666
        66663832 35303635 30300000 08001400 00000000";

    /// `nft delete element ip Inet4 s6 '{ 2001:db8::1 }'`.
    const DELETE_ELEMENT: &str = "
        48000000 0e0a0000 00000000 f6510000 0200000e 0a000100 496e6574 34000000 07000200 73360000 20000300 1c000100
        18000100 14000100 20010db8 00000000 00000000 00000001";

    /// `nft delete set ip Inet4 s6`.
    const DELETE_SET: &str = "
        34000000 0b0a0000 01000000 f7510000 0200000f 0a000100 496e6574 34000000 07000200 73360000 0c001000 00000000
        00000004";

    /// `nft delete table ip Inet4`: DELRULE, DELSET, DELCHAIN, DELTABLE.
    const DELETE_TABLE: &str = "
        cc000000 080a0000 01000000 f8510000 02000010 0a000100 496e6574 34000000 06000200 63000000 0c000300 00000000
        00000003 98000400 34000100 0c000100 7061796c 6f616400 24000200 08000100 00000001 08000200 00000001 08000300
        0000000c 08000400 00000004 30000100 0b000100 6c6f6f6b 75700000 20000200 0c000100 7373685f 62616e00 08000200
        00000001 08000500 00000000 30000100 0e000100 696d6d65 64696174 65000000 1c000200 08000100 00000000 10000200
        0c000200 08000100 00000000
        38000000 0b0a0000 01000000 f8510000 02000010 0a000100 496e6574 34000000 0c000200 7373685f 62616e00 0c001000
        00000000 00000002
        34000000 050a0000 01000000 f8510000 02000010 0a000100 496e6574 34000000 06000300 63000000 0c000200 00000000
        00000001
        34000000 020a0000 01000000 f8510000 02000010 0a000100 496e6574 34000000 08000300 00000000 0c000400 00000000
        00000004";

    #[test]
    fn a_flushed_set_names_each_element_deleted() {
        let changes = changes(FLUSH_SET, None);
        let ssh = set("ip Inet4 ssh_ban");
        assert_eq!(
            changes,
            [
                Change::ElementsRemoved { set: ssh.clone(), removed: ips(&["1.2.3.4"]) },
                Change::ElementsRemoved { set: ssh, removed: ips(&["5.6.7.8"]) },
            ]
        );
    }

    #[test]
    fn a_reload_deletes_then_creates_again() {
        let ssh = set("ip Inet4 ssh_ban");
        let table = || ("Inet4".to_owned(), Family::Ip);
        assert_eq!(
            changes(RELOAD, None),
            [
                Change::SetGone(ssh.clone()),
                Change::TableGone { family: table().1, table: table().0 },
                Change::TableCreated { family: table().1, table: table().0 },
                Change::SetCreated(ssh),
            ]
        );
        assert_eq!(
            changes(DELETE_TABLE, None),
            [Change::SetGone(set("ip Inet4 ssh_ban")), Change::TableGone { family: Family::Ip, table: "Inet4".into() }]
        );
    }

    #[test]
    fn element_adds_and_generations_say_nothing() {
        assert_eq!(changes(ADD_ELEMENT, None), []);
    }

    #[test]
    fn sets_created_and_deleted_and_ipv6_elements() {
        let s6 = set("ip Inet4 s6");
        assert_eq!(changes(NEW_SET, None), [Change::SetCreated(s6.clone())]);
        assert_eq!(
            changes(DELETE_ELEMENT, None),
            [Change::ElementsRemoved { set: s6.clone(), removed: ips(&["2001:db8::1"]) }]
        );
        assert_eq!(changes(DELETE_SET, None), [Change::SetGone(s6)]);
    }

    #[test]
    fn our_own_port_is_not_heard() {
        assert_eq!(changes(FLUSH_SET, Some(0x51f1)), []);
        assert_eq!(changes(DELETE_SET, Some(0x51f1 + 6)), []);
        assert_eq!(changes(DELETE_SET, Some(0x51f1)).len(), 1);
    }

    #[test]
    fn a_flush_naming_no_element_empties_the_set() {
        // FLUSH_SET's first message cut after the set name (length 0x2c).
        let mut bytes = hex(FLUSH_SET)[..0x2c].to_vec();
        bytes[0] = 0x2c;
        let mut out = Vec::new();
        parse(&bytes, None, &mut out);
        assert_eq!(out, [Change::ElementsRemoved { set: set("ip Inet4 ssh_ban"), removed: Removed::All }]);
    }

    #[test]
    fn changes_say_which_sets_they_concern() {
        let ssh = set("ip Inet4 ssh_ban");
        let table = |family, table: &str| Change::TableGone { family, table: table.into() };
        assert!(table(Family::Ip, "Inet4").concerns(&ssh));
        assert!(!table(Family::Inet, "Inet4").concerns(&ssh), "another family's table of that name");
        assert!(!Change::SetGone(set("ip Inet4 other")).concerns(&ssh));
        assert!(Change::Overrun.concerns(&ssh));
    }

    #[test]
    fn the_filter_compares_the_port_as_the_kernel_loads_it() {
        let program = own_port_filter(0x0102_0304);
        assert_eq!(program[0].k, 12, "nlmsg_pid is at offset 12");
        // BPF_ABS reads big-endian: the host-order bytes 04 03 02 01 load as 0x04030201.
        assert_eq!(program[1].k, 0x0403_0201);
        assert_eq!((program[1].jt, program[1].jf), (1, 0), "equal: to `ret 0`, the drop");
        assert_eq!((program[2].k, program[3].k), (u32::MAX, 0));
    }
}

#[cfg(test)]
mod kernel_tests {
    //! The socket in the real kernel, as root, in a namespace of its own
    //! (`firewall::test_netns`): nft makes the changes, the watch hears them.
    use std::io::Write;
    use std::process::Stdio;

    use super::*;
    use crate::firewall::nft::{Element, NftClient};
    use crate::firewall::test_netns::Netns;

    const TABLE: &str = "table ip t { set s { type ipv4_addr; flags timeout; }; set other { type ipv4_addr; }; }";

    fn nft(ns: &Netns, script: &str) {
        let mut child = ns.exec("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "nft -f - <<< {script}");
    }

    fn set(path: &str) -> NftSet {
        NftSet::parse(path).unwrap()
    }

    #[test]
    fn a_reload_is_heard_and_our_own_bans_are_not() {
        let Some(ns) = Netns::new(format!("bwwatch-reload-{}", std::process::id())) else { return };
        nft(&ns, TABLE);
        let (mut watch, mut client) = ns.inside(|| {
            let mut watch = Watch::open().unwrap();
            let client = NftClient::open().unwrap();
            watch.ignore_port(client.port()).unwrap();
            (watch, client)
        });
        // 20,000 of our own elements: many datagrams of notifications,
        // dropped by the filter (no overrun, nothing to read).
        let elements: Vec<Element> = (0..20_000u32)
            .map(|i| Element {
                net: crate::vocab::Network::from(IpAddr::from((0x0a00_0000 | i).to_be_bytes())),
                timeout_ms: Some(3_600_000),
            })
            .collect();
        let s = set("ip t s");
        assert!(client.add(&[(&s, &elements)]).pop().unwrap().is_ok());
        assert_eq!(watch.drain().unwrap(), []);
        // What `systemctl reload nftables` does.
        nft(&ns, &format!("flush ruleset\n{TABLE}\n"));
        let changes = watch.drain().unwrap();
        let gone = changes.iter().position(|c| *c == Change::SetGone(s.clone())).expect("DELSET heard");
        let back = changes.iter().position(|c| *c == Change::SetCreated(s.clone())).expect("NEWSET heard");
        assert!(gone < back, "{changes:?}");
        assert!(changes.contains(&Change::TableGone { family: Family::Ip, table: "t".into() }), "{changes:?}");
        // A set flushed, elements deleted by hand.
        client.add(&[(&s, &elements[..3])]).pop().unwrap().unwrap();
        nft(&ns, "delete element ip t s { 10.0.0.1 }");
        nft(&ns, "flush set ip t s");
        let changes = watch.drain().unwrap();
        assert_eq!(
            changes[0],
            Change::ElementsRemoved { set: s.clone(), removed: Removed::Some(vec!["10.0.0.1".parse().unwrap()]) }
        );
        let flushed: Vec<IpAddr> = changes[1..]
            .iter()
            .flat_map(|c| match c {
                Change::ElementsRemoved { set, removed: Removed::Some(ips) } if *set == s => ips.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(flushed.len(), 2, "{changes:?}");
        nft(&ns, "delete table ip t");
        assert!(watch.drain().unwrap().contains(&Change::TableGone { family: Family::Ip, table: "t".into() }));
    }

    #[test]
    fn an_overrun_is_reported_and_hearing_goes_on() {
        let Some(ns) = Netns::new(format!("bwwatch-overrun-{}", std::process::id())) else { return };
        nft(&ns, TABLE);
        let mut watch = ns.inside(|| Watch::open().unwrap());
        // Someone else's 30,000 elements, unread: more than the buffer holds.
        let elements: Vec<String> =
            (0..30_000u32).map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)).collect();
        nft(&ns, &format!("add element ip t other {{ {} }}", elements.join(", ")));
        nft(&ns, "delete set ip t other");
        let changes = watch.drain().unwrap();
        assert!(changes.contains(&Change::Overrun), "{} changes, no overrun", changes.len());
        nft(&ns, "delete set ip t s");
        assert_eq!(watch.drain().unwrap(), [Change::SetGone(set("ip t s"))]);
    }
}
