//! The nftables backend: addresses into and out of existing nftables sets,
//! spoken directly over netlink (never by running `nft`).
//!
//! Owns one NETLINK_NETFILTER socket per [`NftClient`], opened in the calling
//! thread's network namespace. Addresses are typed [`IpAddr`] from the caller
//! to the wire: no text from a log ever reaches the kernel. Banwarden never
//! creates tables or sets; [`creation_commands`] tells the admin how.
//!
//! - `message`: each request built by libnftnl and libmnl (`nftnl_sys`,
//!   `mnl_sys`: nftnl's `Set` hard-codes `NLM_F_EXCL` on element messages),
//!   laid out as `nft` lays it out; replies decoded in Rust.
//! - `socket`: the netlink socket (`firewall::netlink`) with nf_tables' options,
//!   one datagram per transaction, ack draining.
//! - `client`: transactions, size limits, retries and error classification.

mod client;
mod lookup;
mod message;
mod socket;

#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

pub use crate::vocab::{Family, Network, NftSet};
pub use client::NftClient;

/// An address or network to put in a set. `timeout_ms: None` makes it
/// permanent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element {
    pub net: Network,
    pub timeout_ms: Option<u64>,
}

/// The key type of a set, from NFTA_SET_KEY_TYPE (nft's datatype ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// TYPE_IPADDR (7): `type ipv4_addr` or `typeof ip saddr`.
    Ipv4Addr,
    /// TYPE_IP6ADDR (8).
    Ipv6Addr,
    Other(u32),
}

impl KeyType {
    fn from_id(id: u32) -> KeyType {
        match id {
            7 => KeyType::Ipv4Addr,
            8 => KeyType::Ipv6Addr,
            other => KeyType::Other(other),
        }
    }

    fn holds(self, net: &Network) -> bool {
        matches!((self, net.first()), (KeyType::Ipv4Addr, IpAddr::V4(_)) | (KeyType::Ipv6Addr, IpAddr::V6(_)))
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyType::Ipv4Addr => f.write_str("ipv4_addr"),
            KeyType::Ipv6Addr => f.write_str("ipv6_addr"),
            // Concatenations and other types: nft's datatype id, as the kernel reports it.
            KeyType::Other(id) => write!(f, "key type {id:#x}"),
        }
    }
}

/// What banwarden needs to know about a set before writing to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetInfo {
    pub key: KeyType,
    /// `flags timeout`: elements may carry a timeout.
    pub timeout_flag: bool,
    /// `flags interval`: an address goes in as a start and an end element.
    pub interval: bool,
    /// `timeout` of the set itself: what an element added without one gets,
    /// so no element in it is permanent.
    pub default_timeout_ms: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("nftables set \"{set}\": no such table or set")]
    NoSuchSet { set: NftSet },
    #[error("nftables set \"{set}\" of family {} cannot hold the IPv4 address {ip} (caller's bug: pick the IPv4 set)", set.family)]
    FamilyMismatch { set: NftSet, ip: Network },
    #[error("nftables set \"{set}\" has type {key}, which cannot hold {ip}")]
    WrongKey { set: NftSet, key: KeyType, ip: Network },
    #[error("nftables set \"{set}\" has no \"flags timeout\" but {ip} was given a timeout of {timeout_ms} ms")]
    NoTimeoutFlag { set: NftSet, ip: Network, timeout_ms: u64 },
    #[error("nftables set \"{set}\" has no \"flags interval\", so it cannot hold the network {net}")]
    NoIntervals { set: NftSet, net: Network },
    #[error("nftables set \"{set}\" is full (its size limit is reached)")]
    SetFull { set: NftSet },
    #[error("nftables set \"{set}\": permission denied (needs CAP_NET_ADMIN in this network namespace)")]
    Permission { set: NftSet },
    #[error("nftables set \"{set}\": {op} failed: {source}{}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Kernel {
        set: NftSet,
        op: &'static str,
        #[source]
        source: std::io::Error,
        /// The kernel's extended-ack text, if any.
        message: Option<String>,
    },
    #[error("nftables netlink socket: {op}: {source}")]
    Io {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// The nft commands that create `set` for banwarden, for a warning.
/// `networks`: it must take networks (`flags interval`) too.
pub fn creation_commands(set: &NftSet, ipv6: bool, timeout: bool, networks: bool) -> String {
    let key = if ipv6 { "ipv6_addr" } else { "ipv4_addr" };
    let flags = match (networks, timeout) {
        (true, true) => " flags interval,timeout;",
        (true, false) => " flags interval;",
        (false, true) => " flags timeout;",
        (false, false) => "",
    };
    format!(
        "nft add table {f} {t}; nft add set {f} {t} {s} '{{ type {key};{flags} }}'",
        f = set.family,
        t = set.table,
        s = set.name
    )
}
