//! One ban, in one shape: what to ban ([`BanRequest`]), for how long
//! ([`Lifetime`], decided relative to now) and until when ([`Until`], the
//! absolute end the store keeps), and who asked ([`Origin`]).
//!
//! Time is in microseconds since the epoch (the journal's unit) wherever it
//! is absolute; the kernel's milliseconds and ipset's seconds are worked out
//! at the firewall, rounded up, so that no unit change shortens a ban.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::addr::Network;
use super::reason::Reason;
use super::set::SetRef;

/// When a ban ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Until {
    /// Microseconds since the epoch.
    At(u64),
    Forever,
}

impl Until {
    pub fn is_live(self, now_us: u64) -> bool {
        match self {
            Until::Forever => true,
            Until::At(t) => t > now_us,
        }
    }

    /// The time left at `now_us`, rounded up to the millisecond and at least
    /// one (a ban is never lifted early); `None` for a permanent ban.
    pub fn left(self, now_us: u64) -> Option<Duration> {
        match self {
            Until::Forever => None,
            Until::At(t) => Some(Duration::from_millis(t.saturating_sub(now_us).div_ceil(1000).max(1))),
        }
    }
}

/// How long a ban lasts from the moment it is decided.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Lifetime {
    For(Duration),
    Forever,
    /// An end decided elsewhere (by another host of the fleet), in
    /// microseconds since the epoch: applying it twice, or late, changes
    /// nothing, where a length would end later at each try.
    EndsAt(u64),
}

/// The longest timeout the kernel holds: nf_tables counts it in
/// nanoseconds in 64 bits (about 584 years) and refuses more with ERANGE.
pub const KERNEL_MAX_TIMEOUT: Duration = Duration::from_secs(u64::MAX / 1_000_000_000);

impl Lifetime {
    /// A timed ban the kernel can hold, or why not.
    pub fn checked(d: Duration) -> Result<Lifetime, String> {
        match d <= KERNEL_MAX_TIMEOUT {
            true => Ok(Lifetime::For(d)),
            false => Err(format!(
                "{} s is longer than the kernel can time a ban ({} s, about 584 years): leave it out for a permanent ban",
                d.as_secs(),
                KERNEL_MAX_TIMEOUT.as_secs()
            )),
        }
    }

    /// Pyruse's `banSeconds`: `None` is permanent.
    pub fn from_seconds(seconds: Option<u64>) -> Lifetime {
        seconds.map_or(Lifetime::Forever, |s| Lifetime::For(Duration::from_secs(s)))
    }

    /// Whole seconds, rounded up; `None` when permanent. An end decided
    /// elsewhere has no length of its own: its epoch seconds, rounded up
    /// (only the rules' bans, which never have one, are shown by length).
    pub fn seconds(self) -> Option<u64> {
        match self {
            Lifetime::Forever => None,
            Lifetime::EndsAt(t) => Some(t.div_ceil(1_000_000)),
            Lifetime::For(d) => Some(d.as_micros().div_ceil(1_000_000).try_into().unwrap_or(u64::MAX)),
        }
    }

    /// The end of a ban decided at `now_us`.
    pub fn end(self, now_us: u64) -> Until {
        match self {
            Lifetime::Forever => Until::Forever,
            Lifetime::EndsAt(t) => Until::At(t),
            Lifetime::For(d) => Until::At(now_us.saturating_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))),
        }
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Lifetime::EndsAt(t) = self {
            return write!(f, "until {}", t.div_ceil(1_000_000));
        }
        match self.seconds() {
            None => f.write_str("for good"),
            Some(s) => write!(f, "for {s} s"),
        }
    }
}

/// Who decided a ban: kept with it for messages and, later, for `why`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A rule: the chain's label and the step's index in it (from 0).
    Rule { chain: Arc<str>, step: usize },
    /// The `ban` command, run by this user.
    Cli { user: String },
    /// A request to the API (REST or Redis commands) by this user.
    Api { user: String },
    /// A ban another host of the fleet decided.
    Fleet { host: String },
    /// Put back from the store (boot, renewal of long bans).
    Store,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Rule { chain, step } => write!(f, "rule {chain:?} step {step}"),
            Origin::Cli { user } => write!(f, "command line ({user})"),
            Origin::Api { user } => write!(f, "API ({user})"),
            Origin::Fleet { host } => write!(f, "fleet host {host:?}"),
            Origin::Store => f.write_str("store"),
        }
    }
}

impl Origin {
    /// The origin as the store keeps it (`"by"`): `rule sshd#3`, `cli
    /// root`, `api alice`, `fleet web-2`; `None` for a ban put back from
    /// the store (it keeps the origin it has).
    pub fn tag(&self) -> Option<Arc<str>> {
        match self {
            Origin::Rule { chain, step } => Some(format!("rule {chain}#{step}").into()),
            Origin::Cli { user } => Some(format!("cli {user}").into()),
            Origin::Api { user } => Some(format!("api {user}").into()),
            Origin::Fleet { host } => Some(format!("fleet {host}").into()),
            Origin::Store => None,
        }
    }
}

/// A ban to make: an address or network for a set, for a time, who
/// asked, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BanRequest {
    pub net: Network,
    pub set: SetRef,
    pub lifetime: Lifetime,
    pub origin: Origin,
    /// Replace the end of a ban already in place, even with an earlier one.
    /// Without it (every source's default) a ban only ever extends: one
    /// that would end sooner than the ban in place changes nothing.
    pub replace: bool,
    /// Why, beyond who: kept in the store with the ban (shared, as one
    /// rule's many bans are carried through queues and batches).
    pub reason: Option<Arc<Reason>>,
}

impl BanRequest {
    /// A ban that only extends, without a reason (add one with
    /// [`with_reason`](Self::with_reason)).
    pub fn new(net: Network, set: SetRef, lifetime: Lifetime, origin: Origin) -> BanRequest {
        BanRequest { net, set, lifetime, origin, replace: false, reason: None }
    }

    /// The request with this reason (none when it says nothing).
    pub fn with_reason(mut self, reason: Reason) -> BanRequest {
        self.reason = (!reason.is_empty()).then(|| Arc::new(reason));
        self
    }
}

impl Until {
    /// The later of two ends; forever is the latest.
    pub fn later(self, other: Until) -> Until {
        match (self, other) {
            (Until::Forever, _) | (_, Until::Forever) => Until::Forever,
            (Until::At(a), Until::At(b)) => Until::At(a.max(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_end_and_round_up() {
        assert_eq!(Lifetime::from_seconds(None), Lifetime::Forever);
        assert_eq!(Lifetime::from_seconds(Some(60)).end(1_000_000), Until::At(61_000_000));
        assert_eq!(Lifetime::Forever.end(5), Until::Forever);
        assert_eq!(Lifetime::For(Duration::from_millis(1500)).seconds(), Some(2));
        assert_eq!(Lifetime::For(Duration::MAX).end(1), Until::At(u64::MAX));
        assert_eq!(Lifetime::from_seconds(Some(3600)).to_string(), "for 3600 s");
    }

    #[test]
    fn forever_is_the_latest_end() {
        assert_eq!(Until::At(5).later(Until::At(7)), Until::At(7));
        assert_eq!(Until::At(9).later(Until::At(7)), Until::At(9));
        assert_eq!(Until::At(9).later(Until::Forever), Until::Forever);
        assert_eq!(Until::Forever.later(Until::At(1)), Until::Forever);
    }

    #[test]
    fn time_left_is_never_short() {
        assert_eq!(Until::Forever.left(0), None);
        assert_eq!(Until::At(10_000_001).left(10_000_000), Some(Duration::from_millis(1)));
        assert_eq!(Until::At(10_001_001).left(10_000_000), Some(Duration::from_millis(2)));
        assert_eq!(Until::At(5).left(10), Some(Duration::from_millis(1)), "an ended ban still gets 1 ms");
        assert!(Until::At(11).is_live(10) && !Until::At(10).is_live(10));
    }
}
