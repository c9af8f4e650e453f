//! Firewall sets, named once: [`SetRef`] is an nftables set path or an
//! ipset name, parsed and checked when it is read (configuration, command
//! line, store file) and never parsed again. It is cheap to clone (one
//! reference count), so a burst of bans can carry its set by value.

use std::fmt;
use std::sync::Arc;

/// The firewall backend a ban is for; each has its own store file.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    Nft,
    Ipset,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Nft, Backend::Ipset];

    /// The action name, which is also how the store files are named.
    pub fn action_name(self) -> &'static str {
        match self {
            Backend::Nft => "action_nftBan",
            Backend::Ipset => "action_ipsetBan",
        }
    }
}

/// The nftables families that can hold a set of addresses. Ordered by
/// name, so that sets sort as their text does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Ip,
    Ip6,
    Inet,
    Bridge,
    Netdev,
}

impl Family {
    pub const ALL: [Family; 5] = [Family::Ip, Family::Ip6, Family::Inet, Family::Bridge, Family::Netdev];

    pub fn name(self) -> &'static str {
        match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
            Family::Inet => "inet",
            Family::Bridge => "bridge",
            Family::Netdev => "netdev",
        }
    }

    /// The `nfgen_family` of requests about this family's tables (NFPROTO_*).
    pub fn nfproto(self) -> u8 {
        match self {
            Family::Ip => libc::NFPROTO_IPV4 as u8,
            Family::Ip6 => libc::NFPROTO_IPV6 as u8,
            Family::Inet => libc::NFPROTO_INET as u8,
            Family::Bridge => libc::NFPROTO_BRIDGE as u8,
            Family::Netdev => libc::NFPROTO_NETDEV as u8,
        }
    }
}

impl PartialOrd for Family {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Family {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An existing nftables set, named as nft names it. The order of the
/// fields is the order of the text (names hold no blank, which sorts first).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NftSet {
    pub family: Family,
    pub table: String,
    pub name: String,
}

/// NFT_NAME_MAXLEN in <linux/netfilter/nf_tables.h>, terminating NUL included.
pub const NFT_NAME_MAX: usize = 255;

impl NftSet {
    /// Parses `"family table set"`, or `"table set"` which nft reads as family `ip`.
    pub fn parse(path: &str) -> Result<NftSet, String> {
        let words: Vec<&str> = path.split_whitespace().collect();
        let (family, table, name) = match words[..] {
            [table, name] => ("ip", table, name),
            [family, table, name] => (family, table, name),
            _ => return Err(format!("{path:?} is not a set path: expected \"[family] table set\"")),
        };
        let family = Family::ALL.into_iter().find(|f| f.name() == family).ok_or_else(|| {
            let names: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
            format!("unknown nftables family {family:?} in {path:?}; expected one of {}", names.join(", "))
        })?;
        for word in [table, name] {
            // Names go to the kernel NUL-terminated: a NUL or control byte would cut or garble them.
            if word.len() > NFT_NAME_MAX || word.chars().any(char::is_control) {
                return Err(format!(
                    "{word:?} in {path:?} is not an nftables name: at most {NFT_NAME_MAX} bytes, no control characters"
                ));
            }
        }
        Ok(NftSet { family, table: table.to_owned(), name: name.to_owned() })
    }

    /// A warning when a set of this family cannot filter the address family
    /// it is meant for. Not an error: an `ip` table may hold an IPv6 set (it
    /// only never sees IPv6 packets), and Pyruse's documentation wrote the
    /// IPv6 set of an `ip6` table as a two-word path, which nft reads as
    /// family `ip`.
    pub fn family_warning(&self, for_ipv6: bool) -> Option<String> {
        match (self.family, for_ipv6) {
            (Family::Ip, true) => Some(format!(
                "\"{self}\" is an IPv6 set in a table of family \"ip\", which only sees IPv4 packets; \
                 a two-word path means family ip: write \"ip6 ...\" if the table is ip6"
            )),
            (Family::Ip6, false) => {
                Some(format!("\"{self}\" is an IPv4 set in a table of family \"ip6\", which only sees IPv6 packets"))
            }
            _ => None,
        }
    }
}

impl fmt::Display for NftSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.family, self.table, self.name)
    }
}

/// IPSET_MAXNAMELEN less its terminating NUL (ipset(8)).
const IPSET_NFT_NAME_MAX: usize = 31;

/// Checks an ipset set name: 1 to 31 characters, no blanks.
pub fn ipset_name(name: &str) -> Result<String, String> {
    if name.is_empty() || name.len() > IPSET_NFT_NAME_MAX || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{name:?} is not an ipset name: 1 to {IPSET_NFT_NAME_MAX} characters, no blanks"));
    }
    Ok(name.to_owned())
}

#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Nft(NftSet),
    Ipset(String),
}

/// A set bans go into: which backend, and its checked name. Compares,
/// hashes and orders by backend, then name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetRef(Arc<Kind>);

impl SetRef {
    pub fn nft(set: NftSet) -> SetRef {
        SetRef(Arc::new(Kind::Nft(set)))
    }

    /// An nftables set from its path (`"[family] table set"`).
    pub fn parse_nft(path: &str) -> Result<SetRef, String> {
        NftSet::parse(path).map(SetRef::nft)
    }

    /// An ipset set from its name.
    pub fn parse_ipset(name: &str) -> Result<SetRef, String> {
        ipset_name(name).map(|n| SetRef(Arc::new(Kind::Ipset(n))))
    }

    pub fn parse(backend: Backend, text: &str) -> Result<SetRef, String> {
        match backend {
            Backend::Nft => SetRef::parse_nft(text),
            Backend::Ipset => SetRef::parse_ipset(text),
        }
    }

    pub fn backend(&self) -> Backend {
        match &*self.0 {
            Kind::Nft(_) => Backend::Nft,
            Kind::Ipset(_) => Backend::Ipset,
        }
    }

    pub fn as_nft(&self) -> Option<&NftSet> {
        match &*self.0 {
            Kind::Nft(set) => Some(set),
            Kind::Ipset(_) => None,
        }
    }

    pub fn as_ipset(&self) -> Option<&str> {
        match &*self.0 {
            Kind::Ipset(name) => Some(name),
            Kind::Nft(_) => None,
        }
    }

    /// The backend's word and the name, for messages: `nftables set "ip t s"`.
    pub fn describe(&self) -> String {
        match &*self.0 {
            Kind::Nft(set) => format!("nftables set \"{set}\""),
            Kind::Ipset(name) => format!("ipset {name:?}"),
        }
    }
}

/// The normalised name: `family table set` for nftables, the ipset name.
/// This is the text the store keeps and the commands print.
impl fmt::Display for SetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Kind::Nft(set) => set.fmt(f),
            Kind::Ipset(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_paths() {
        let nft = |p: &str| SetRef::parse_nft(p).map(|s| s.to_string());
        assert_eq!(nft("Inet4 mail_ban").unwrap(), "ip Inet4 mail_ban");
        assert_eq!(nft("ip6  Inet6 mail_ban").unwrap(), "ip6 Inet6 mail_ban");
        assert_eq!(nft("inet filter ban6").unwrap(), "inet filter ban6");
        assert!(nft("bogus t s").unwrap_err().contains("unknown nftables family"));
        assert!(nft("one").is_err());
        assert!(nft("a b c d").is_err());
        assert!(nft("ip t bad\u{1}name").is_err());
        let warn = |p: &str, v6| NftSet::parse(p).unwrap().family_warning(v6);
        assert!(warn("ip Inet6 mail_ban", true).unwrap().contains("only sees IPv4"));
        assert!(warn("ip6 t s", false).is_some());
        assert!(warn("inet t s", false).is_none());
        assert!(warn("ip6 t s", true).is_none());
        assert!(SetRef::parse_ipset("ssh_ban").is_ok());
        assert!(SetRef::parse_ipset("has space").is_err());
        assert!(SetRef::parse_ipset(&"x".repeat(32)).is_err());
    }

    #[test]
    fn a_set_knows_its_backend_and_compares_by_name() {
        let a = SetRef::parse(Backend::Nft, "t s").unwrap();
        let b = SetRef::parse(Backend::Nft, "ip t s").unwrap();
        assert_eq!(a, b, "the two-word path is family ip");
        assert_eq!(a.backend(), Backend::Nft);
        assert_eq!(a.as_nft().unwrap().family, Family::Ip);
        let i = SetRef::parse(Backend::Ipset, "ip").unwrap();
        assert_eq!(i.backend(), Backend::Ipset);
        assert_eq!(i.as_ipset(), Some("ip"));
        assert!(a < i, "nftables sets sort first");
        let mut texts = ["ip6 t s", "ip t s", "inet t s", "ip tt s", "ip t! s", "bridge a b"];
        let mut sets: Vec<SetRef> = texts.iter().map(|t| SetRef::parse_nft(t).unwrap()).collect();
        sets.sort();
        texts.sort();
        assert_eq!(sets.iter().map(|s| s.to_string()).collect::<Vec<_>>(), texts, "sets sort as their text");
        assert_eq!(i.describe(), "ipset \"ip\"");
    }
}
