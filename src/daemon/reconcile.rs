//! Putting bans back when someone else takes them out of the kernel: a
//! firewall reload (`flush ruleset`, what `systemctl reload nftables`
//! does), a set flushed, or deleted and created again.
//!
//! The sets watched are those the rules ban into and those that hold live
//! stored bans. For each, the store is the truth: what it holds goes back
//! with the time it has left ([`Bans::put_back`]), and nothing else is
//! touched (an element added by hand stays, whenever it was added).
//!
//! - nftables announces every change ([`Change`], heard through
//!   `Bans::changes`, which the loop reads as soon as the kernel has news):
//!   a set created (again), or flushed, is refilled at once; elements
//!   deleted one by one are put back if the store holds them; a set deleted
//!   is reported, once, and refilled when it is created again. Lost
//!   notifications (an overrun) mean every watched set is looked at.
//! - ipset announces nothing: every [`IPSET_CHECK_EVERY`] each watched set's
//!   header is read (one small request) and its element count compared with
//!   the store's live bans for it; a set short of them is refilled. A set
//!   the kernel cannot fill (full, say) is not sent again every period: the
//!   shortfall left after a put-back is accepted until it grows.
//! - at start, every watched set is looked at once (the boot unit may have
//!   restored with a wrong clock, or the firewall may have been reloaded
//!   while the daemon was down).
//!
//! A set that disappears is said once, with the number of bans waiting for
//! it, and not again until it has come back; judging and storing go on
//! meanwhile (bans into it are stored, and their kernel failures counted by
//! the ban queue). Each put-back is one line: how many, where, how long.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::bans::{Bans, PutBack};
use crate::effect::Level;
use crate::firewall::watch::{Change, Removed};
use crate::firewall::{ErrorKind, FirewallError};
use crate::time::Clock;
use crate::vocab::{Backend, SetRef};

/// How often ipset sets are counted against the store: a flushed or
/// re-created ipset is refilled within this, plus the time to send.
pub const IPSET_CHECK_EVERY: Duration = Duration::from_secs(2);

/// Where the lines go: the daemon's diagnostics, or a test's list.
pub type Log<'a> = &'a mut dyn FnMut(Level, String);

/// Why every watched set is looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occasion {
    /// The daemon starts.
    Start,
    /// nf_tables' notifications were lost (an overrun).
    Overrun,
    /// The daemon listens to them again (or at last), having missed some.
    Listening,
}

impl Occasion {
    fn why(self) -> &'static str {
        match self {
            Occasion::Start => "at start",
            Occasion::Overrun => "nftables notifications were lost",
            Occasion::Listening => "listening to nftables changes again",
        }
    }
}

/// What became of one set over a batch of changes, the last word winning.
#[derive(Debug)]
enum Fate {
    Gone(&'static str),
    /// Created, after it was deleted if `again`: refill it whole.
    Created {
        again: bool,
    },
    /// Emptied (flushed): refill it whole.
    Emptied,
    /// These addresses were deleted from it.
    Removed(HashSet<IpAddr>),
}

pub struct Reconciler {
    /// The sets the rules ban into.
    named: BTreeSet<SetRef>,
    /// Sets said to be gone, and not back since.
    gone: BTreeSet<SetRef>,
    /// ipset sets left short of their stored bans after a put-back, by how
    /// many (see the module doc).
    shortfall: HashMap<SetRef, usize>,
    /// (set, kind) of the kernel errors already said while looking at sets.
    said: HashSet<(SetRef, ErrorKind)>,
    clock: Arc<dyn Clock>,
}

impl Reconciler {
    pub fn new(named: impl IntoIterator<Item = SetRef>, clock: Arc<dyn Clock>) -> Reconciler {
        Reconciler {
            named: named.into_iter().collect(),
            gone: BTreeSet::new(),
            shortfall: HashMap::new(),
            said: HashSet::new(),
            clock,
        }
    }

    /// The sets of reloaded rules.
    pub fn set_named(&mut self, named: impl IntoIterator<Item = SetRef>) {
        self.named = named.into_iter().collect();
    }

    /// Whether nftables sets are concerned (named, or holding stored bans):
    /// only then is it worth hearing nf_tables' notifications.
    pub fn wants_nft(&self, bans: &mut Bans, log: Log) -> bool {
        self.named.iter().any(|s| s.backend() == Backend::Nft) || !self.stored(bans, Backend::Nft, log).is_empty()
    }

    /// Looks at every watched set of `backend` (all backends: `None`): one
    /// that exists gets its stored bans back, one that does not is said to
    /// be gone. At start, a set the rules name that does not exist and has
    /// no stored bans is not said to be gone: the check of the sets has
    /// just said it does not exist, and how to make it.
    pub fn all(&mut self, bans: &mut Bans, backend: Option<Backend>, occasion: Occasion, log: Log) {
        let (why, at_start) = (occasion.why(), occasion == Occasion::Start);
        for backend in Backend::ALL.into_iter().filter(|b| backend.is_none_or(|only| only == *b)) {
            let stored = self.stored(bans, backend, log);
            for set in self.watched(backend, &stored) {
                let exists = match backend {
                    Backend::Nft => bans.set_exists(&set),
                    Backend::Ipset => bans.kernel_count(&set).map(|count| count.is_some()),
                };
                let count = stored.get(&set).copied().unwrap_or(0);
                match exists {
                    Ok(true) => {
                        self.gone.remove(&set);
                        if count == 0 {
                            continue;
                        }
                        self.put_back(bans, &set, None, why, log);
                        if backend == Backend::Ipset {
                            self.note_shortfall(bans, &set, count, log);
                        }
                    }
                    Ok(false) => match count {
                        0 if at_start => {
                            self.gone.insert(set);
                        }
                        count => self.gone(&set, "it does not exist", count, log),
                    },
                    Err(e) => self.kernel_error(&set, "looking for", &e, log),
                }
            }
        }
    }

    /// Acts on what nf_tables announced (see the module doc).
    pub fn changes(&mut self, bans: &mut Bans, changes: Vec<Change>, log: Log) {
        if changes.is_empty() {
            return;
        }
        if changes.contains(&Change::Overrun) {
            self.all(bans, Some(Backend::Nft), Occasion::Overrun, log);
            return;
        }
        // A table created holds no set yet (its sets come as SetCreated):
        // not worth reading the store for.
        if changes.iter().all(|c| matches!(c, Change::TableCreated { .. })) {
            return;
        }
        let stored = self.stored(bans, Backend::Nft, log);
        let watched = self.watched(Backend::Nft, &stored);
        let mut fates: BTreeMap<SetRef, Fate> = BTreeMap::new();
        for change in &changes {
            for set in watched.iter().filter(|s| s.as_nft().is_some_and(|nft| change.concerns(nft))) {
                let fate = fates.remove(set);
                let next = match (change, fate) {
                    (Change::TableGone { .. }, _) => Fate::Gone("deleted with its table"),
                    (Change::SetGone(_), _) => Fate::Gone("deleted"),
                    (Change::SetCreated(_), fate) => Fate::Created { again: matches!(fate, Some(Fate::Gone(_))) },
                    (Change::TableCreated { .. }, fate) => match fate {
                        Some(fate) => fate,
                        None => continue,
                    },
                    (
                        Change::ElementsRemoved { .. },
                        Some(fate @ (Fate::Gone(_) | Fate::Created { .. } | Fate::Emptied)),
                    ) => fate,
                    (Change::ElementsRemoved { removed: Removed::All, .. }, _) => Fate::Emptied,
                    (Change::ElementsRemoved { removed: Removed::Some(ips), .. }, Some(Fate::Removed(mut all))) => {
                        all.extend(ips);
                        Fate::Removed(all)
                    }
                    (Change::ElementsRemoved { removed: Removed::Some(ips), .. }, None) => {
                        Fate::Removed(ips.iter().copied().collect())
                    }
                    (Change::Overrun, _) => unreachable!("handled above"),
                };
                fates.insert(set.clone(), next);
            }
        }
        for (set, fate) in fates {
            let count = stored.get(&set).copied().unwrap_or(0);
            if count == 0 && !matches!(fate, Fate::Gone(_)) {
                // Nothing to put back; back, if it was gone.
                self.gone.remove(&set);
                continue;
            }
            match fate {
                Fate::Gone(how) => self.gone(&set, how, count, log),
                Fate::Created { again } => {
                    let why = match (self.gone.remove(&set), again) {
                        (true, _) => "created again",
                        (false, true) => "deleted and created again",
                        (false, false) => "created",
                    };
                    self.put_back(bans, &set, None, why, log);
                }
                Fate::Emptied => {
                    self.gone.remove(&set);
                    self.put_back(bans, &set, None, "emptied", log);
                }
                Fate::Removed(ips) => {
                    self.gone.remove(&set);
                    let why = format!("{} elements deleted", ips.len());
                    self.put_back(bans, &set, Some(&ips), &why, log);
                }
            }
        }
    }

    /// Counts the watched ipset sets against the store (see the module doc).
    pub fn check_ipsets(&mut self, bans: &mut Bans, log: Log) {
        let stored = self.stored(bans, Backend::Ipset, log);
        for set in self.watched(Backend::Ipset, &stored) {
            let live = stored.get(&set).copied().unwrap_or(0);
            match bans.kernel_count(&set) {
                Ok(None) => self.gone(&set, "it does not exist", live, log),
                Ok(Some(count)) => {
                    let short = live.saturating_sub(count);
                    let accepted = self.shortfall.get(&set).copied().unwrap_or(0);
                    if self.gone.remove(&set) && live > 0 {
                        self.put_back(bans, &set, None, "created again", log);
                    } else if short > accepted {
                        let why = format!("{count} elements, {live} stored bans");
                        self.put_back(bans, &set, None, &why, log);
                    } else {
                        // Shorter as bans end: accept less from now on.
                        self.accept_shortfall(&set, short);
                        continue;
                    }
                    self.note_shortfall(bans, &set, live, log);
                }
                Err(e) => self.kernel_error(&set, "counting", &e, log),
            }
        }
    }

    /// After a put-back into an ipset: how short of `live` it still is.
    fn note_shortfall(&mut self, bans: &mut Bans, set: &SetRef, live: usize, log: Log) {
        match bans.kernel_count(set) {
            Ok(Some(count)) => self.accept_shortfall(set, live.saturating_sub(count)),
            Ok(None) => {}
            Err(e) => self.kernel_error(set, "counting", &e, log),
        }
    }

    fn accept_shortfall(&mut self, set: &SetRef, short: usize) {
        match short {
            0 => self.shortfall.remove(set),
            n => self.shortfall.insert(set.clone(), n),
        };
    }

    /// Puts `set`'s bans back and says so (not when nothing was stored).
    fn put_back(&mut self, bans: &mut Bans, set: &SetRef, only: Option<&HashSet<IpAddr>>, why: &str, log: Log) {
        let start = self.clock.instant();
        let result = bans.put_back(set, only, &mut |warning| log(Level::Warning, warning));
        let took = self.clock.instant().saturating_duration_since(start);
        match result {
            Ok(report) if report.stored == 0 => {}
            Ok(report) => say_put_back(set, why, &report, took, log),
            Err(e) => log(Level::Err, format!("cannot put back the bans of {}: {e}", set.describe())),
        }
    }

    /// Says once that `set` is gone.
    fn gone(&mut self, set: &SetRef, how: &str, stored: usize, log: Log) {
        if !self.gone.insert(set.clone()) {
            return;
        }
        self.shortfall.remove(set);
        log(
            Level::Warning,
            format!(
                "{} is gone ({how}): its {stored} stored bans go back in as soon as it exists again; \
                 bans meanwhile are stored",
                set.describe()
            ),
        );
    }

    fn kernel_error(&mut self, set: &SetRef, doing: &str, e: &FirewallError, log: Log) {
        if self.said.insert((set.clone(), e.kind())) {
            log(Level::Err, format!("{doing} {}: {e}", set.describe()));
        }
    }

    /// The live stored bans of `backend`, by set; empty when the store
    /// cannot be read (said).
    fn stored(&self, bans: &mut Bans, backend: Backend, log: Log) -> BTreeMap<SetRef, usize> {
        bans.stored_sets(backend, &mut |warning| log(Level::Warning, warning)).unwrap_or_else(|e| {
            log(Level::Err, format!("cannot read the ban store: {e}"));
            BTreeMap::new()
        })
    }

    /// The sets of `backend` the rules name or the store holds bans for.
    fn watched(&self, backend: Backend, stored: &BTreeMap<SetRef, usize>) -> BTreeSet<SetRef> {
        let named = self.named.iter().filter(|s| s.backend() == backend).cloned();
        named.chain(stored.keys().cloned()).collect()
    }
}

fn say_put_back(set: &SetRef, why: &str, report: &PutBack, took: Duration, log: Log) {
    let mut line = format!(
        "put back {} of {} stored bans in {} in {} ms ({why})",
        report.restored,
        report.stored,
        set.describe(),
        took.as_millis()
    );
    if report.refused > 0 {
        line.push_str(&format!("; {} on the never-ban list left out", report.refused));
    }
    match &report.error {
        Some(error) => {
            line.push_str(&format!("; {} refused: {error}", report.failed));
            log(Level::Err, line);
        }
        None => log(Level::Info, line),
    }
}

#[cfg(test)]
mod tests {
    //! The reconciler over the ban service, a fake kernel and a real store:
    //! what goes back, and what is said, once.
    use super::*;
    use crate::firewall::fake::FakeKernel;
    use crate::time::FixedClock;
    use crate::vocab::{BanRequest, Lifetime, Origin};

    const NOW: u64 = 1_763_726_400_000_000;

    struct World {
        _dir: tempfile::TempDir,
        kernel: FakeKernel,
        bans: Bans,
        reconciler: Reconciler,
        lines: Vec<(Level, String)>,
    }

    fn world(sets: &[&SetRef], named: &[&SetRef]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let kernel = FakeKernel::with_sets(sets);
        let clock = Arc::new(FixedClock::new(NOW));
        let mut bans = Bans::with_kernel(dir.path(), Vec::new(), clock.clone(), Box::new(kernel.clone()));
        bans.watch().unwrap();
        let reconciler = Reconciler::new(named.iter().map(|s| (*s).clone()), clock);
        World { _dir: dir, kernel, bans, reconciler, lines: Vec::new() }
    }

    impl World {
        fn ban(&mut self, set: &SetRef, ips: &[&str]) {
            let requests: Vec<BanRequest> = ips
                .iter()
                .map(|ip| BanRequest {
                    net: ip.parse().unwrap(),
                    set: set.clone(),
                    lifetime: Lifetime::from_seconds(Some(3600)),
                    origin: Origin::Cli { user: "root".into() },
                    replace: false,
                    reason: None,
                })
                .collect();
            self.bans.ban(&requests, &mut |w| panic!("{w}"));
        }

        /// What the kernel announced, handled; the lines said meanwhile.
        fn heard(&mut self) -> Vec<String> {
            let changes = self.bans.changes().unwrap();
            let mut lines = Vec::new();
            self.reconciler.changes(&mut self.bans, changes, &mut |level, line| lines.push((level, line)));
            self.lines.extend(lines.iter().cloned());
            lines.into_iter().map(|(_, line)| line).collect()
        }

        fn check_ipsets(&mut self) -> Vec<String> {
            let mut lines = Vec::new();
            self.reconciler.check_ipsets(&mut self.bans, &mut |level, line| lines.push((level, line)));
            lines.into_iter().map(|(_, line)| line).collect()
        }

        fn held(&self, set: &SetRef) -> usize {
            self.kernel.held(set).len()
        }
    }

    fn nft(path: &str) -> SetRef {
        SetRef::parse_nft(path).unwrap()
    }

    #[test]
    fn a_flushed_set_gets_its_stored_bans_back_and_nothing_else() {
        let set = nft("ip t s");
        let mut w = world(&[&set], &[&set]);
        w.ban(&set, &["192.0.2.1", "192.0.2.2"]);
        w.kernel.flush(&set);
        assert_eq!(w.held(&set), 0);
        let lines = w.heard();
        assert_eq!(w.held(&set), 2);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("put back 2 of 2 stored bans in nftables set \"ip t s\" in "), "{lines:?}");
        assert!(lines[0].ends_with("(2 elements deleted)"), "{lines:?}");
        // An element the admin deletes, with no record: nothing to do, nothing said.
        w.kernel.state().sets.get_mut(&set).unwrap().elements.insert("198.51.100.1".parse().unwrap(), None);
        w.kernel.state().changes.push(Change::ElementsRemoved {
            set: set.as_nft().unwrap().clone(),
            removed: Removed::Some(vec!["198.51.100.1".parse().unwrap()]),
        });
        assert_eq!(w.heard(), Vec::<String>::new());
    }

    #[test]
    fn a_set_deleted_is_said_once_and_refilled_when_it_comes_back() {
        let (set, other) = (nft("ip t s"), nft("ip t other"));
        let mut w = world(&[&set, &other], &[&set]);
        // `other` is watched for its stored bans alone.
        w.ban(&set, &["192.0.2.1"]);
        w.ban(&other, &["192.0.2.9"]);
        w.kernel.delete_set(&set);
        let lines = w.heard();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("nftables set \"ip t s\" is gone (deleted): its 1 stored bans go back in"),
            "{lines:?}"
        );
        // Deleted again (another reload without it): not said again.
        w.kernel.state().changes.push(Change::TableGone { family: crate::vocab::Family::Ip, table: "t".into() });
        w.kernel.state().sets.remove(&other);
        let lines = w.heard();
        assert_eq!(lines.len(), 1, "only the other set: {lines:?}");
        assert!(lines[0].contains("\"ip t other\" is gone (deleted with its table)"), "{lines:?}");
        // Bans go on being stored meanwhile.
        w.ban(&set, &["192.0.2.2"]);
        w.kernel.create_set(&set);
        let lines = w.heard();
        assert_eq!(w.held(&set), 2);
        assert!(lines[0].starts_with("put back 2 of 2 stored bans in nftables set \"ip t s\""), "{lines:?}");
        assert!(lines[0].ends_with("(created again)"), "{lines:?}");
        // Gone again later: said again, once.
        w.kernel.delete_set(&set);
        assert_eq!(w.heard().len(), 1);
    }

    #[test]
    fn a_reload_is_judged_by_its_last_word() {
        let set = nft("ip t s");
        let mut w = world(&[&set], &[&set]);
        w.ban(&set, &["192.0.2.1"]);
        // `flush ruleset` and the same ruleset again, heard in one batch.
        w.kernel.delete_set(&set);
        w.kernel.state().changes.push(Change::TableGone { family: crate::vocab::Family::Ip, table: "t".into() });
        w.kernel.state().changes.push(Change::TableCreated { family: crate::vocab::Family::Ip, table: "t".into() });
        w.kernel.create_set(&set);
        let lines = w.heard();
        assert_eq!(lines.len(), 1, "no line about it being gone: {lines:?}");
        assert!(lines[0].ends_with("(deleted and created again)"), "{lines:?}");
        assert_eq!(w.held(&set), 1);
        // Lost notifications: every watched set is looked at.
        w.kernel.state().sets.get_mut(&set).unwrap().elements.clear();
        w.kernel.state().changes.push(Change::Overrun);
        let lines = w.heard();
        assert_eq!(w.held(&set), 1);
        assert!(lines[0].ends_with("(nftables notifications were lost)"), "{lines:?}");
    }

    #[test]
    fn an_ipset_short_of_its_bans_is_refilled_and_a_full_one_not_every_time() {
        let set = SetRef::parse_ipset("v4").unwrap();
        let mut w = world(&[&set], &[&set]);
        w.ban(&set, &["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
        assert_eq!(w.check_ipsets(), Vec::<String>::new(), "all there: nothing to do");
        // Elements added by hand make it hold more than the store: fine.
        w.kernel.state().sets.get_mut(&set).unwrap().elements.insert("198.51.100.1".parse().unwrap(), None);
        assert_eq!(w.check_ipsets(), Vec::<String>::new());
        w.kernel.flush(&set);
        let lines = w.check_ipsets();
        assert_eq!(w.held(&set), 3);
        assert!(lines[0].ends_with("(0 elements, 3 stored bans)"), "{lines:?}");
        // A set that holds only two: refilled once, then left until it loses more.
        w.kernel.flush(&set);
        w.kernel.state().sets.get_mut(&set).unwrap().capacity = Some(2);
        let lines = w.check_ipsets();
        assert!(lines[0].contains("put back 2 of 3 stored bans") && lines[0].contains("1 refused"), "{lines:?}");
        assert_eq!(w.check_ipsets(), Vec::<String>::new(), "the same shortfall is not retried");
        w.kernel.flush(&set);
        assert_eq!(w.check_ipsets().len(), 1);
        assert_eq!(w.held(&set), 2);
        // Destroyed: said once; created again: refilled.
        w.kernel.delete_set(&set);
        let lines = w.check_ipsets();
        assert!(lines[0].contains("ipset \"v4\" is gone (it does not exist)"), "{lines:?}");
        assert_eq!(w.check_ipsets(), Vec::<String>::new());
        w.kernel.create_set(&set);
        let lines = w.check_ipsets();
        assert!(lines[0].ends_with("(created again)"), "{lines:?}");
        assert_eq!(w.held(&set), 3);
    }

    #[test]
    fn at_start_every_watched_set_is_looked_at() {
        let (set, missing) = (nft("ip t s"), nft("ip t missing"));
        let ipset = SetRef::parse_ipset("v4").unwrap();
        let mut w = world(&[&set, &missing, &ipset], &[&set, &missing]);
        w.ban(&set, &["192.0.2.1"]);
        w.ban(&missing, &["192.0.2.2"]);
        w.ban(&ipset, &["192.0.2.3"]);
        w.kernel.flush(&set);
        w.kernel.flush(&ipset);
        w.kernel.delete_set(&missing);
        w.bans.changes().unwrap();
        let mut lines = Vec::new();
        let unused = nft("ip t unused");
        w.reconciler.set_named([set.clone(), missing.clone(), unused]);
        w.reconciler.all(&mut w.bans, None, Occasion::Start, &mut |_, line| lines.push(line));
        assert_eq!((w.held(&set), w.held(&ipset)), (1, 1));
        assert_eq!(lines.len(), 3, "nothing about the missing set with no bans: {lines:?}");
        assert!(lines.iter().any(|l| l.contains("\"ip t missing\" is gone (it does not exist)")), "{lines:?}");
        assert!(lines.iter().filter(|l| l.ends_with("(at start)")).count() == 2, "{lines:?}");
        assert!(w.reconciler.wants_nft(&mut w.bans, &mut |_, _| {}));
    }
}
