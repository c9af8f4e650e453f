//! The daemon's one door for work that does not come from the journal:
//! bans, accepts and unbans asked for by the APIs and the other hosts of
//! the fleet, and the reload a SIGHUP asks for; and the hook through which
//! the loop tells the fleet what this host decided ([`Decision`]).
//!
//! The event loop owns the ban path and must never wait on a network peer,
//! so the servers hand it [`Command`]s through a bounded queue and an
//! eventfd that the loop polls beside the journal's descriptor. A full
//! queue is refused at once ([`Busy`]: the caller's 503 or `-BUSY`), so a
//! flood of requests never stalls a worker nor grows memory without bound.
//! Each command carries its [`Reply`], a plain boxed callback the loop calls
//! once the outcome is durable (stored with `fsync`, acknowledged by the
//! kernel): no async type crosses into the daemon or the ban service.
//! Commands taken together are carried out together, so many concurrent
//! requests cost one store write and one netlink transaction.
//!
//! Reads do not go through the door: the loop publishes the live bans of
//! the sets the APIs serve in a [`Listing`], which the servers read under a
//! read lock, without a round trip to the loop.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::bans::{Lifted, Outcome};
use crate::vocab::{BanRequest, Network, Origin, SetRef, Until};

/// What the loop calls once a command's outcome is durable.
pub type Reply<T> = Box<dyn FnOnce(T) + Send>;

/// Work for the loop.
pub enum Command {
    /// Bans to make (accepts are bans into an allow set); the reply hears
    /// one outcome per request, in order, once stored and in the kernel.
    Ban { requests: Vec<BanRequest>, reply: Reply<Vec<Outcome>> },
    /// Lifts `net` from each of `sets` (store first, then the kernel).
    Unban { net: Network, sets: Vec<SetRef>, origin: Origin, reply: Reply<Result<Vec<Lifted>, String>> },
    /// Entries of the fleet's stream, carried out in order; `position`
    /// (the stream's ID of the last) is saved with the journal's cursor
    /// once they are durable, and the reply hears one result per op.
    Fleet { ops: Vec<FleetOp>, position: Option<String>, reply: Reply<Vec<Applied>> },
    /// Load the configuration again (what SIGHUP asks for).
    Reload,
    /// The loop's figures (`banwarden status`, the metrics), taken between
    /// two entries; `top` counter keys closest to their threshold at most
    /// (0: none, which spares walking every key).
    Snapshot { top: usize, reply: Reply<Box<crate::stats::Snapshot>> },
}

/// One thing another host of the fleet asks this one to do.
#[derive(Clone, Debug)]
pub enum FleetOp {
    /// A ban (its lifetime an absolute end: [`crate::vocab::Lifetime::EndsAt`]).
    Ban(BanRequest),
    /// An unban from one set.
    Unban { net: Network, set: SetRef, origin: Origin },
    /// After a resynchronisation from the fleet's snapshot: lift the bans
    /// of `sets` that came from the fleet (`by` "fleet ...") and that the
    /// snapshot no longer holds (unbanned while this host was behind).
    Forget { sets: Vec<SetRef>, keep: HashSet<(SetRef, Network)> },
}

/// What became of a [`FleetOp`].
#[derive(Clone, Debug)]
pub enum Applied {
    Ban(Outcome),
    /// Refused before anything was stored: the set can never hold it (the
    /// other family, a network for a set of single addresses...).
    Unfit(String),
    /// Whether it was stored (or why it failed).
    Unban(Result<bool, String>),
    /// Bans lifted.
    Forgot(Result<usize, String>),
}

/// A change this host decided that its fleet settings share: a ban (with
/// its settled end) or an unban. The loop hands them, durable, to the
/// [`Announce`] hook, in the order they were made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Ban { net: Network, set: SetRef, until: Until, origin: Origin },
    Unban { net: Network, set: SetRef, origin: Origin },
}

/// Where the loop hands its [`Decision`]s: a plain callback that must not
/// wait (the fleet's queues them for its own thread).
pub type Announce = Box<dyn FnMut(Vec<Decision>) + Send>;

impl Command {
    /// What the command weighs in the queue: its requests (a pipeline of
    /// 10,000 bans weighs as much as 10,000 lone ones).
    fn weight(&self) -> usize {
        match self {
            Command::Ban { requests, .. } => requests.len().max(1),
            Command::Unban { sets, .. } => sets.len().max(1),
            Command::Fleet { ops, .. } => ops.len().max(1),
            Command::Reload | Command::Snapshot { .. } => 1,
        }
    }
}

/// The queue was full: the command comes back, not carried out.
pub struct Busy(pub Command);

impl std::fmt::Debug for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Busy")
    }
}

/// Requests the queue holds before it refuses more: about a second of a
/// flood's worth at the ban path's pace, a few MB at most.
pub const CAPACITY: usize = 65_536;

pub struct Door {
    queue: Mutex<Queue>,
    capacity: usize,
    /// Readable while commands wait (an eventfd counter).
    event: OwnedFd,
    /// Commands wait: what the loop looks at between two entries (a load,
    /// no system call) while the journal flows and it does not poll.
    pending: AtomicBool,
}

#[derive(Default)]
struct Queue {
    commands: VecDeque<Command>,
    weight: usize,
}

impl Door {
    pub fn new(capacity: usize) -> std::io::Result<Arc<Door>> {
        // SAFETY: eventfd(2) with flags only; the descriptor is owned at once.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor no one else owns.
        let event = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Arc::new(Door { queue: Mutex::new(Queue::default()), capacity, event, pending: AtomicBool::new(false) }))
    }

    /// Queues a command for the loop, or gives it back when the queue is
    /// full. Never waits for the loop.
    pub fn send(&self, command: Command) -> Result<(), Busy> {
        let weight = command.weight();
        {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            // One command heavier than the whole queue still goes in alone.
            if queue.weight > 0 && queue.weight + weight > self.capacity {
                return Err(Busy(command));
            }
            queue.weight += weight;
            queue.commands.push_back(command);
            self.pending.store(true, Ordering::Release);
        }
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd; a full
        // counter (EAGAIN) still leaves it readable, which is all we need.
        unsafe { libc::write(self.event.as_raw_fd(), (&one as *const u64).cast(), 8) };
        Ok(())
    }

    /// The descriptor the loop polls: readable while commands wait.
    pub fn fd(&self) -> RawFd {
        self.event.as_raw_fd()
    }

    /// Every command waiting, oldest first (and the descriptor quiet again).
    pub fn take(&self) -> Vec<Command> {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64; EAGAIN (nothing) is fine.
        unsafe { libc::read(self.event.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        self.pending.store(false, Ordering::Release);
        queue.weight = 0;
        queue.commands.drain(..).collect()
    }

    /// Whether commands wait (cheap: see `pending`).
    pub fn has_work(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Requests waiting (for status lines and tests).
    pub fn waiting(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).weight
    }
}

/// The sets the loop knows (its rules', the APIs', `fleet.map`'s),
/// published at start and at each reload for the fleet, which maps the
/// fleet's set names to them.
#[derive(Default)]
pub struct KnownSets(RwLock<Vec<SetRef>>);

impl KnownSets {
    pub fn replace(&self, sets: Vec<SetRef>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = sets;
    }

    pub fn get(&self) -> Vec<SetRef> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A live ban (or accept) as the APIs show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub until: Until,
    /// Who asked (see [`crate::store::Record::origin`]); empty when not known.
    pub origin: Arc<str>,
    /// When it was decided (µs; 0: not known).
    pub start: u64,
}

/// The live bans of the sets the APIs serve, published by the loop after
/// each change and read by the servers without asking it. Expired entries
/// are left out of every read and dropped by [`Listing::purge`].
#[derive(Default)]
pub struct Listing {
    sets: RwLock<HashMap<SetRef, BTreeMap<Network, Listed>>>,
}

impl Listing {
    /// Whether `set` is one the listing follows.
    pub fn follows(&self, set: &SetRef) -> bool {
        self.sets.read().unwrap_or_else(|e| e.into_inner()).contains_key(set)
    }

    /// Starts over with these sets and what they hold.
    pub fn reset(&self, sets: HashMap<SetRef, BTreeMap<Network, Listed>>) {
        *self.sets.write().unwrap_or_else(|e| e.into_inner()) = sets;
    }

    /// Records bans made or extended; entries of sets not followed are
    /// left out.
    pub fn put(&self, entries: impl IntoIterator<Item = (SetRef, Network, Listed)>) {
        let mut sets = self.sets.write().unwrap_or_else(|e| e.into_inner());
        for (set, net, listed) in entries {
            if let Some(held) = sets.get_mut(&set) {
                held.insert(net, listed);
            }
        }
    }

    /// Forgets `net` in `set`.
    pub fn remove(&self, set: &SetRef, net: Network) {
        if let Some(held) = self.sets.write().unwrap_or_else(|e| e.into_inner()).get_mut(set) {
            held.remove(&net);
        }
    }

    /// The live entry of `net` itself in `set`.
    pub fn get(&self, set: &SetRef, net: Network, now_us: u64) -> Option<Listed> {
        let sets = self.sets.read().unwrap_or_else(|e| e.into_inner());
        sets.get(set)?.get(&net).filter(|l| l.until.is_live(now_us)).cloned()
    }

    /// The live entries of `set` that overlap `within` (all of them when
    /// `None`), in address order, at most `limit`.
    pub fn list(&self, set: &SetRef, within: Option<Network>, now_us: u64, limit: usize) -> Vec<(Network, Listed)> {
        let sets = self.sets.read().unwrap_or_else(|e| e.into_inner());
        let Some(held) = sets.get(set) else { return Vec::new() };
        held.iter()
            .filter(|(net, l)| l.until.is_live(now_us) && within.is_none_or(|w| w.overlaps(net)))
            .take(limit)
            .map(|(net, l)| (*net, l.clone()))
            .collect()
    }

    /// Live entries of `set`.
    pub fn count(&self, set: &SetRef, now_us: u64) -> usize {
        let sets = self.sets.read().unwrap_or_else(|e| e.into_inner());
        sets.get(set).map_or(0, |held| held.values().filter(|l| l.until.is_live(now_us)).count())
    }

    /// Drops the entries that have ended.
    pub fn purge(&self, now_us: u64) {
        let mut sets = self.sets.write().unwrap_or_else(|e| e.into_inner());
        for held in sets.values_mut() {
            held.retain(|_, l| l.until.is_live(now_us));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::vocab::Lifetime;

    fn ban(n: usize) -> Command {
        let request = BanRequest {
            net: "192.0.2.1".parse().unwrap(),
            set: SetRef::parse_nft("ip t s").unwrap(),
            lifetime: Lifetime::Forever,
            origin: Origin::Api { user: "test".into() },
            replace: false,
            reason: None,
        };
        Command::Ban { requests: vec![request; n], reply: Box::new(|_| {}) }
    }

    fn readable(door: &Door) -> bool {
        let mut fd = libc::pollfd { fd: door.fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one live pollfd.
        unsafe { libc::poll(&mut fd, 1, 0) == 1 }
    }

    #[test]
    fn the_descriptor_is_readable_while_commands_wait() {
        let door = Door::new(10).unwrap();
        assert!(!readable(&door));
        door.send(Command::Reload).unwrap();
        door.send(ban(3)).unwrap();
        assert!(readable(&door) && door.has_work());
        assert_eq!(door.waiting(), 4);
        let taken = door.take();
        assert_eq!(taken.len(), 2);
        assert!(matches!(taken[0], Command::Reload), "oldest first");
        assert!(!readable(&door) && !door.has_work());
        assert_eq!(door.waiting(), 0);
    }

    #[test]
    fn a_full_queue_gives_the_command_back_at_once() {
        let door = Door::new(10).unwrap();
        door.send(ban(8)).unwrap();
        let Err(Busy(back)) = door.send(ban(3)) else { panic!("over capacity") };
        assert!(matches!(back, Command::Ban { ref requests, .. } if requests.len() == 3));
        door.send(ban(2)).unwrap();
        door.take();
        // Alone, a command heavier than the queue still goes in.
        door.send(ban(50)).unwrap();
    }

    #[test]
    fn replies_cross_threads() {
        let door = Door::new(CAPACITY).unwrap();
        let (tx, rx) = mpsc::channel();
        let sender = door.clone();
        std::thread::spawn(move || {
            let reply: Reply<Result<Vec<Lifted>, String>> = Box::new(move |r| tx.send(r.is_ok()).unwrap());
            let net = "192.0.2.1".parse().unwrap();
            sender.send(Command::Unban { net, sets: vec![], origin: Origin::Store, reply }).unwrap();
        })
        .join()
        .unwrap();
        for command in door.take() {
            if let Command::Unban { reply, .. } = command {
                reply(Ok(vec![]));
            }
        }
        assert!(rx.recv().unwrap());
    }

    #[test]
    fn the_listing_shows_live_entries_of_followed_sets_only() {
        let listing = Listing::default();
        let set = SetRef::parse_nft("ip t drop").unwrap();
        let other = SetRef::parse_nft("ip t other").unwrap();
        listing.reset(HashMap::from([(set.clone(), BTreeMap::new())]));
        let listed = |until| Listed { until, origin: "api alice".into(), start: 0 };
        let a: Network = "192.0.2.1".parse().unwrap();
        let b: Network = "198.51.100.0/24".parse().unwrap();
        listing.put([
            (set.clone(), a, listed(Until::At(100))),
            (set.clone(), b, listed(Until::Forever)),
            (other.clone(), a, listed(Until::Forever)),
        ]);
        assert!(listing.follows(&set) && !listing.follows(&other));
        assert_eq!(listing.count(&set, 50), 2);
        assert_eq!(listing.count(&set, 100), 1, "ended at 100");
        assert!(listing.get(&other, a, 0).is_none());
        let inside = listing.list(&set, Some("198.51.100.7".parse().unwrap()), 50, 10);
        assert_eq!(inside.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [b]);
        listing.purge(100);
        listing.remove(&set, b);
        assert_eq!(listing.count(&set, 0), 0);
    }
}
