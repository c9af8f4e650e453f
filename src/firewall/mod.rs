//! The firewall: nftables sets and ipset sets, both spoken to over netlink,
//! behind one small trait, [`Kernel`], that the ban service owns.
//!
//! Addresses and networks arrive typed ([`Network`]) and leave as netlink
//! attributes (an nftables interval, an ipset CIDR): no
//! string built from a log line reaches the kernel or a command line. Bans
//! that arrive together go out together: all the nftables bans of a burst in
//! one call (the client packs them in transactions), the ipset bans of each
//! set in one call. The netlink sockets are opened on first use, in the
//! network namespace of the calling thread. What the two backends share of the
//! protocol (the NETLINK_NETFILTER socket, splitting messages and attributes)
//! is in `netlink`, which depends on neither.
//!
//! [`watch`] hears what others do to nftables (a ruleset reloaded, a set
//! flushed or deleted) from the kernel's notifications, so that the daemon
//! can put the bans back; ipset announces nothing, so its sets are counted
//! instead ([`Kernel::count`]).
//!
//! One address is looked up, never found by reading a set whole
//! ([`Kernel::lookup`]): a dump of an nftables set costs the kernel time
//! quadratic in its size.
//!
//! Errors stay typed to the end ([`FirewallError`]); [`FirewallError::kind`]
//! names the kind of failure without the address in it, which is what the
//! daemon throttles its logs by. `fake::FakeKernel` (tests only) records
//! what it is asked and can be told to refuse, so the ban service and the
//! loop are tested without root.

pub mod check;
#[cfg(test)]
pub mod fake;
pub mod ipset;
mod netlink;
pub mod nft;
#[cfg(test)]
pub(crate) mod test_netns;
pub mod watch;

use std::collections::HashMap;
use std::fmt;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use crate::vocab::{Backend, Network, SetRef};
use ipset::{IpsetClient, IpsetElement, IpsetError};
use nft::{Element, NftClient, NftError, NftSet};
pub use watch::Change;
use watch::Watch;

/// ipset's longest timeout (`IPSET_MAX_TIMEOUT`, about 24.8 days). The
/// kernel would shorten a longer one silently; banwarden sends this much and
/// renews long bans before it runs out (see `Bans::renew_long_ipset_bans`).
pub const IPSET_MAX_TIMEOUT_SECS: u64 = 2_147_483;

/// One element to put in a set: an address or network with the time it
/// has left (`None`: permanent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelBan {
    pub net: Network,
    pub set: SetRef,
    pub timeout: Option<Duration>,
}

/// Why the kernel (or the way to it) refused.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error(transparent)]
    Nft(#[from] NftError),
    #[error(transparent)]
    Ipset(#[from] IpsetError),
}

/// The kind of a [`FirewallError`], without the address or set in it: what
/// the daemon counts and throttles its logs by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    NoSuchSet,
    InvalidName,
    /// The set holds the other address family.
    WrongFamily,
    /// The set's type holds no plain addresses.
    WrongType,
    /// A network for a set that takes addresses only.
    NoNetworks,
    /// A timeout was asked of a set without timeout support.
    NoTimeout,
    SetFull,
    Permission,
    /// Any other refusal, by its errno.
    Kernel(i32),
    Malformed,
    /// The netlink socket itself failed.
    Socket,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::NoSuchSet => f.write_str("no such set"),
            ErrorKind::InvalidName => f.write_str("invalid set name"),
            ErrorKind::WrongFamily => f.write_str("wrong address family"),
            ErrorKind::WrongType => f.write_str("set type holds no addresses"),
            ErrorKind::NoNetworks => f.write_str("set takes no networks"),
            ErrorKind::NoTimeout => f.write_str("no timeout support"),
            ErrorKind::SetFull => f.write_str("set full"),
            ErrorKind::Permission => f.write_str("permission denied"),
            ErrorKind::Kernel(code) => write!(f, "kernel error {code}"),
            ErrorKind::Malformed => f.write_str("malformed kernel reply"),
            ErrorKind::Socket => f.write_str("netlink socket error"),
        }
    }
}

impl FirewallError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            FirewallError::Nft(e) => match e {
                NftError::NoSuchSet { .. } => ErrorKind::NoSuchSet,
                NftError::FamilyMismatch { .. } => ErrorKind::WrongFamily,
                // A set of addresses of the other family, or of no addresses.
                NftError::WrongKey { key: nft::KeyType::Other(_), .. } => ErrorKind::WrongType,
                NftError::WrongKey { .. } => ErrorKind::WrongFamily,
                NftError::NoTimeoutFlag { .. } => ErrorKind::NoTimeout,
                NftError::NoIntervals { .. } => ErrorKind::NoNetworks,
                NftError::SetFull { .. } => ErrorKind::SetFull,
                NftError::Permission { .. } => ErrorKind::Permission,
                NftError::Kernel { source, .. } => ErrorKind::Kernel(source.raw_os_error().unwrap_or(0)),
                NftError::Io { .. } => ErrorKind::Socket,
            },
            FirewallError::Ipset(e) => match e {
                IpsetError::InvalidName { .. } => ErrorKind::InvalidName,
                IpsetError::NoSuchSet { .. } => ErrorKind::NoSuchSet,
                IpsetError::WrongFamily { .. } => ErrorKind::WrongFamily,
                IpsetError::SetFull { .. } => ErrorKind::SetFull,
                IpsetError::TimeoutUnsupported { .. } => ErrorKind::NoTimeout,
                IpsetError::NoNetworks { .. } => ErrorKind::NoNetworks,
                IpsetError::Permission { .. } => ErrorKind::Permission,
                IpsetError::Kernel { code, .. } => ErrorKind::Kernel(*code),
                IpsetError::Malformed { .. } => ErrorKind::Malformed,
                IpsetError::Io { .. } => ErrorKind::Socket,
            },
        }
    }
}

/// The outcome of one element: several may share one error (a whole set
/// refused), hence the `Arc`.
pub type KernelResult = Result<(), Arc<FirewallError>>;

/// What the kernel says a set is, as far as bans care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetShape {
    /// The family of addresses it holds; `None` when it holds neither.
    pub holds_ipv6: Option<bool>,
    pub timeout: bool,
    /// A default timeout, which an nftables set gives every element added
    /// without one: its permanent bans would not be.
    pub default_timeout_ms: Option<u64>,
    /// Why it cannot hold plain addresses at all (its type), if so.
    pub unsuitable: Option<String>,
    /// It takes networks as well as addresses (nftables `flags interval`,
    /// ipset `hash:net`).
    pub networks: bool,
}

/// What the kernel says of one address or network in one set, looked up
/// without reading the set ([`Kernel::lookup`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    /// No element holds it (or the set holds the other family).
    No,
    /// nftables: the element that holds it (itself or a network around
    /// it), with its time left (None: no timeout).
    By { element: Network, left: Option<Duration> },
    /// ipset: the set matches it. `ipset test` says no more: neither which
    /// element matched nor the time it has left.
    Matched,
}

/// The kernel's sets, as the ban service uses them. [`Firewall`] speaks
/// netlink; `fake::FakeKernel` stands in for it in unit tests.
pub trait Kernel: Send {
    /// Puts the elements in their sets; one result per element, in order.
    fn add(&mut self, bans: &[KernelBan]) -> Vec<KernelResult>;
    /// Removes addresses or networks from a set; absent ones are not an error.
    fn delete(&mut self, set: &SetRef, nets: &[Network]) -> Result<(), FirewallError>;
    /// The addresses and networks in a set, with the time they have left
    /// (None: no timeout).
    fn list(&mut self, set: &SetRef) -> Result<Vec<(Network, Option<Duration>)>, FirewallError>;
    /// Whether an element of the set holds `net`, by one lookup (nftables
    /// GETSETELEM of one key, ipset `IPSET_CMD_TEST`), never a dump: fast
    /// whatever the set's size. A network is held when one element covers
    /// it whole.
    fn lookup(&mut self, set: &SetRef, net: Network) -> Result<Held, FirewallError>;
    /// What the set is; `None` when it does not exist.
    fn shape(&mut self, set: &SetRef) -> Result<Option<SetShape>, FirewallError>;
    /// How many elements the set holds; `None` when it does not exist. An
    /// ipset's header says (one small request, expired elements not yet
    /// collected included); an nftables set must be dumped, which is costly
    /// for a large one.
    fn count(&mut self, set: &SetRef) -> Result<Option<usize>, FirewallError>;
    /// Starts hearing of the changes others make to nftables tables and
    /// sets (see [`watch`]); returns the descriptor that becomes readable
    /// when one is queued, or `None` when there is none to wait on (the
    /// caller then asks [`changes`](Kernel::changes) on its own schedule).
    fn watch(&mut self) -> Result<Option<RawFd>, FirewallError>;
    /// The changes heard since the last call, in order, without waiting;
    /// none before [`watch`](Kernel::watch).
    fn changes(&mut self) -> Result<Vec<Change>, FirewallError>;
}

/// The real kernel, over netlink.
#[derive(Default)]
pub struct Firewall {
    nft: Option<NftClient>,
    ipset: Option<IpsetClient>,
    /// Joined to nf_tables' notifications once [`Kernel::watch`] is called;
    /// told to ignore those of `nft`'s socket.
    watch: Option<Watch>,
}

impl Firewall {
    pub fn new() -> Firewall {
        Firewall::default()
    }

    fn nft(&mut self) -> Result<&mut NftClient, NftError> {
        if self.nft.is_none() {
            let client = NftClient::open()?;
            if let Some(watch) = &mut self.watch {
                // Refused, the parser still skips our messages (see `watch`).
                let _ = watch.ignore_port(client.port());
            }
            self.nft = Some(client);
        }
        Ok(self.nft.as_mut().expect("opened above"))
    }

    fn ipset(&mut self) -> Result<&mut IpsetClient, IpsetError> {
        if self.ipset.is_none() {
            self.ipset = Some(IpsetClient::open()?);
        }
        Ok(self.ipset.as_mut().expect("opened above"))
    }

    fn add_nft(&mut self, bans: &[KernelBan], groups: &[(&SetRef, Vec<usize>)], results: &mut [KernelResult]) {
        let sets: Vec<(&NftSet, Vec<Element>, &Vec<usize>)> = groups
            .iter()
            .filter_map(|(set, members)| {
                let nft = set.as_nft()?;
                let elements = members
                    .iter()
                    .map(|&i| Element { net: bans[i].net, timeout_ms: bans[i].timeout.map(millis_up) })
                    .collect();
                Some((nft, elements, members))
            })
            .collect();
        if sets.is_empty() {
            return;
        }
        let client = match self.nft() {
            Ok(client) => client,
            Err(e) => {
                let e = Arc::new(FirewallError::from(e));
                sets.iter().flat_map(|(_, _, m)| m.iter()).for_each(|&i| results[i] = Err(e.clone()));
                return;
            }
        };
        let adds: Vec<(&NftSet, &[Element])> = sets.iter().map(|(s, e, _)| (*s, e.as_slice())).collect();
        let outcomes = client.add(&adds);
        for ((set, _, members), outcome) in sets.iter().zip(outcomes) {
            if let Err(e) = outcome {
                self.nft_refused(set, members, e, bans, results);
            }
        }
    }

    /// The kernel refused the bans `members` of one set. One element the set
    /// cannot take must not cost the others: it is found by halves (a few
    /// transactions per culprit); a refusal of the whole set is every
    /// member's.
    fn nft_refused(
        &mut self,
        set: &NftSet,
        members: &[usize],
        e: NftError,
        bans: &[KernelBan],
        results: &mut [KernelResult],
    ) {
        if members.len() > 1 && element_level(&e) {
            let (first, second) = members.split_at(members.len() / 2);
            self.add_nft_isolating(set, first, bans, results);
            self.add_nft_isolating(set, second, bans, results);
        } else {
            let e = Arc::new(FirewallError::from(e));
            members.iter().for_each(|&i| results[i] = Err(e.clone()));
        }
    }

    /// Adds the bans `members` of one set (see [`nft_refused`](Self::nft_refused)).
    fn add_nft_isolating(&mut self, set: &NftSet, members: &[usize], bans: &[KernelBan], results: &mut [KernelResult]) {
        let elements: Vec<Element> =
            members.iter().map(|&i| Element { net: bans[i].net, timeout_ms: bans[i].timeout.map(millis_up) }).collect();
        let outcome = match self.nft() {
            Ok(client) => client.add(&[(set, &elements)]).pop().expect("one result per set"),
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            self.nft_refused(set, members, e, bans, results);
        }
    }

    fn add_ipset(&mut self, bans: &[KernelBan], groups: &[(&SetRef, Vec<usize>)], results: &mut [KernelResult]) {
        for (set, members) in groups {
            let Some(name) = set.as_ipset() else { continue };
            let client = match self.ipset() {
                Ok(client) => client,
                Err(e) => {
                    let e = Arc::new(FirewallError::from(e));
                    members.iter().for_each(|&i| results[i] = Err(e.clone()));
                    continue;
                }
            };
            // Without a timeout an element gets the set's default one, if
            // the set has one: a permanent ban must say 0 ("never") then.
            // Asked only when needed: permanent bans are rare.
            let permanent = match members.iter().any(|&i| bans[i].timeout.is_none()) {
                true => client.info(name).ok().filter(|info| info.timeout_support).map(|_| 0),
                false => None,
            };
            // ipset counts in seconds; round up so a ban is never shorter.
            let elements: Vec<IpsetElement> = members
                .iter()
                .map(|&i| IpsetElement {
                    net: bans[i].net,
                    timeout_secs: match bans[i].timeout {
                        Some(t) => Some(secs_up(t).min(IPSET_MAX_TIMEOUT_SECS) as u32),
                        None => permanent,
                    },
                })
                .collect();
            match client.add(name, &elements) {
                Ok(failures) => {
                    for (j, e) in failures {
                        results[members[j]] = Err(Arc::new(e.into()));
                    }
                }
                Err(e) => {
                    let e = Arc::new(FirewallError::from(e));
                    members.iter().for_each(|&i| results[i] = Err(e.clone()));
                }
            }
        }
    }

    fn shape_nft(&mut self, set: &NftSet) -> Result<Option<SetShape>, FirewallError> {
        use nft::KeyType;
        match self.nft()?.set_info(set) {
            Ok(info) => Ok(Some(SetShape {
                holds_ipv6: match info.key {
                    KeyType::Ipv4Addr => Some(false),
                    KeyType::Ipv6Addr => Some(true),
                    KeyType::Other(_) => None,
                },
                timeout: info.timeout_flag,
                default_timeout_ms: info.default_timeout_ms,
                unsuitable: matches!(info.key, KeyType::Other(_))
                    .then(|| format!("has type {}, which does not hold addresses", info.key)),
                networks: info.interval,
            })),
            Err(NftError::NoSuchSet { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn shape_ipset(&mut self, name: &str) -> Result<Option<SetShape>, FirewallError> {
        match self.ipset()?.info(name) {
            Ok(info) => {
                // hash:net takes plain addresses too (as /32 or /128 networks);
                // hash:ip,port and the like want more than an address.
                let plain = matches!(info.type_name.as_str(), "hash:ip" | "hash:net");
                Ok(Some(SetShape {
                    holds_ipv6: Some(info.family == ipset::NFPROTO_IPV6),
                    timeout: info.timeout_support,
                    // banwarden adds permanent bans to it with timeout 0.
                    default_timeout_ms: None,
                    unsuitable: (!plain)
                        .then(|| format!("is of type {}, which does not hold plain addresses", info.type_name)),
                    networks: ipset::takes_networks(&info.type_name),
                }))
            }
            Err(IpsetError::NoSuchSet { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl Kernel for Firewall {
    fn add(&mut self, bans: &[KernelBan]) -> Vec<KernelResult> {
        let mut results: Vec<KernelResult> = vec![Ok(()); bans.len()];
        let groups = group_by_set(bans);
        self.add_nft(bans, &groups, &mut results);
        self.add_ipset(bans, &groups, &mut results);
        results
    }

    fn delete(&mut self, set: &SetRef, ips: &[Network]) -> Result<(), FirewallError> {
        if let Some(nft) = set.as_nft() {
            self.nft()?.delete(nft, ips)?;
        } else if let Some(name) = set.as_ipset() {
            self.ipset()?.delete(name, ips)?;
        }
        Ok(())
    }

    fn list(&mut self, set: &SetRef) -> Result<Vec<(Network, Option<Duration>)>, FirewallError> {
        match set.backend() {
            Backend::Nft => {
                let nft = set.as_nft().expect("an nftables set");
                Ok(self.nft()?.list(nft)?.into_iter().map(|(ip, ms)| (ip, ms.map(Duration::from_millis))).collect())
            }
            Backend::Ipset => {
                let name = set.as_ipset().expect("an ipset set");
                Ok(self
                    .ipset()?
                    .list(name)?
                    .into_iter()
                    .map(|(ip, secs)| (ip, secs.map(|s| Duration::from_secs(s.into()))))
                    .collect())
            }
        }
    }

    fn lookup(&mut self, set: &SetRef, net: Network) -> Result<Held, FirewallError> {
        match (set.as_nft(), set.as_ipset()) {
            (Some(nft), _) => Ok(match self.nft()?.get(nft, net.first())? {
                Some((element, ms)) if element.covers(&net) => {
                    Held::By { element, left: ms.map(Duration::from_millis) }
                }
                _ => Held::No,
            }),
            (_, Some(name)) => Ok(if self.ipset()?.test(name, net)? { Held::Matched } else { Held::No }),
            _ => unreachable!("a set is of one backend"),
        }
    }

    fn shape(&mut self, set: &SetRef) -> Result<Option<SetShape>, FirewallError> {
        match (set.as_nft(), set.as_ipset()) {
            (Some(nft), _) => self.shape_nft(nft),
            (_, Some(name)) => self.shape_ipset(name),
            _ => unreachable!("a set is of one backend"),
        }
    }

    fn count(&mut self, set: &SetRef) -> Result<Option<usize>, FirewallError> {
        match (set.as_nft(), set.as_ipset()) {
            (Some(nft), _) => match self.nft()?.list(nft) {
                Ok(elements) => Ok(Some(elements.len())),
                Err(NftError::NoSuchSet { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            },
            (_, Some(name)) => match self.ipset()?.info(name) {
                Ok(info) => Ok(Some(info.size as usize)),
                Err(IpsetError::NoSuchSet { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            },
            _ => unreachable!("a set is of one backend"),
        }
    }

    fn watch(&mut self) -> Result<Option<RawFd>, FirewallError> {
        if self.watch.is_none() {
            let mut watch =
                Watch::open().map_err(|source| NftError::Io { op: "joining nf_tables' notifications", source })?;
            if let Some(client) = &self.nft {
                let _ = watch.ignore_port(client.port());
            }
            self.watch = Some(watch);
        }
        Ok(self.watch.as_ref().map(Watch::fd))
    }

    fn changes(&mut self) -> Result<Vec<Change>, FirewallError> {
        let Some(watch) = &mut self.watch else { return Ok(Vec::new()) };
        match watch.drain() {
            Ok(changes) => Ok(changes),
            // The socket itself failed (ENOBUFS is not an error here): let
            // it go, so that a later `watch` opens a new one.
            Err(source) => {
                self.watch = None;
                Err(NftError::Io { op: "reading nf_tables' notifications", source }.into())
            }
        }
    }
}

/// Whether an nftables error may be one element's fault rather than the
/// set's (worth sending the others without it): an address of the other
/// family, a timeout the set cannot hold, anything else the kernel refused.
/// A missing set, a set of a type that holds no addresses, a full set, no
/// permission or a broken socket refuse every element alike.
fn element_level(e: &NftError) -> bool {
    match e {
        NftError::FamilyMismatch { .. }
        | NftError::NoTimeoutFlag { .. }
        | NftError::NoIntervals { .. }
        | NftError::Kernel { .. } => true,
        NftError::WrongKey { key, .. } => !matches!(key, nft::KeyType::Other(_)),
        NftError::NoSuchSet { .. } | NftError::SetFull { .. } | NftError::Permission { .. } | NftError::Io { .. } => {
            false
        }
    }
}

/// The indices of the bans of each set, sets in order of first appearance.
fn group_by_set(bans: &[KernelBan]) -> Vec<(&SetRef, Vec<usize>)> {
    let mut groups: Vec<(&SetRef, Vec<usize>)> = Vec::new();
    let mut index: HashMap<&SetRef, usize> = HashMap::new();
    for (i, ban) in bans.iter().enumerate() {
        let g = *index.entry(&ban.set).or_insert_with(|| {
            groups.push((&ban.set, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    groups
}

/// Milliseconds, rounded up: the kernel must never lift a ban early.
fn millis_up(d: Duration) -> u64 {
    u64::try_from(d.as_micros().div_ceil(1000)).unwrap_or(u64::MAX)
}

fn secs_up(d: Duration) -> u64 {
    u64::try_from(d.as_micros().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod kernel_tests;
