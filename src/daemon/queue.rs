//! The loop's side of the ban service: bans gathered while entries come,
//! sent as one batch when the journal is drained or the batch is full, and
//! their failures logged without flooding the journal.
//!
//! Failures are counted by (set, kind of failure): the kind never holds the
//! address, so 10,000 attackers against a full set are one cause, logged
//! the first time in full, then at its 10th, 100th, 1,000th... occurrence.
//! The causes are bounded too: past [`crate::diag::THROTTLE_KINDS`]
//! distinct ones (which takes a configuration with hundreds of broken
//! sets), the rest are counted together ([`Throttle`]). What banwarden
//! logs, it reads back: an unbounded stream of lines would be a flood it
//! feeds itself.
//!
//! A ban the store could not record (a full or read-only disk) still went
//! to the kernel; the queue keeps it and stores it at the next flush that
//! finds the store writable (and at least once a minute, see the loop), so
//! that it survives a reboot after all. At most [`MAX_UNSTORED`] are kept.
//!
//! Bans that came through the door (the APIs) carry a reply: it hears
//! their outcomes once the batch is stored and in the kernel. The live bans
//! of the sets the APIs serve are published in the [`Listing`] as they are
//! made.
//!
//! Bans the fleet settings share are handed to the fleet's hook once
//! durable, with their settled ends, in order ([`Decision`]).

use std::sync::Arc;

use crate::bans::{Bans, Failure, Outcome, Refusal};
use crate::config::fleet::FleetSettings;
use crate::diag::Throttle;
use crate::door::{Announce, Decision, Listed, Listing, Reply};
use crate::store::Record;
use crate::vocab::{BanRequest, Network, SetRef};

/// Bans gathered before they are sent anyway (a burst goes out in batches
/// this large; otherwise they leave as soon as the journal is drained, so a
/// lone ban waits for nothing).
pub const BAN_BATCH: usize = 1024;
/// Bans kept for the store while it refuses them (about 100 bytes each).
pub const MAX_UNSTORED: usize = 1_000_000;

/// Whether the fleet settings share this decision: its origin, and its
/// set's shared name.
fn is_shared(fleet: &FleetSettings, decision: &Decision) -> bool {
    let (Decision::Ban { set, origin, .. } | Decision::Unban { set, origin, .. }) = decision;
    fleet.shares(origin) && fleet.shares_set(&fleet.shared_name(set))
}

pub struct BanQueue {
    bans: Bans,
    pending: Vec<BanRequest>,
    /// Failures by (set, kind of failure), their lines throttled.
    failures: Throttle<(SetRef, Failure)>,
    banned: u64,
    /// Bans the store refused, to store once it takes them again.
    unstored: Vec<Record>,
    /// Those dropped because [`MAX_UNSTORED`] were kept already.
    unstored_dropped: u64,
    /// When the store was last offered them (µs), so that a full disk costs
    /// one try a second, not one per flush.
    unstored_tried: u64,
    /// Who waits for the outcomes of `pending[from..from + len]`.
    replies: Vec<(usize, usize, Reply<Vec<Outcome>>)>,
    /// Where the live bans of the APIs' sets are published, and those sets.
    listing: Option<(Arc<Listing>, Vec<crate::vocab::SetRef>)>,
    /// What the fleet shares, and where its decisions go.
    share: Option<(FleetSettings, Announce)>,
}

impl BanQueue {
    pub fn new(bans: Bans) -> BanQueue {
        BanQueue {
            bans,
            pending: Vec::new(),
            failures: Throttle::default(),
            banned: 0,
            unstored: Vec::new(),
            unstored_dropped: 0,
            unstored_tried: 0,
            replies: Vec::new(),
            listing: None,
            share: None,
        }
    }

    /// Publishes the bans of `sets` in `listing` from now on.
    pub fn publish(&mut self, listing: Arc<Listing>, sets: Vec<crate::vocab::SetRef>) {
        self.listing = Some((listing, sets));
    }

    /// Hands the bans `fleet` shares to `announce` from now on.
    pub fn share(&mut self, fleet: FleetSettings, announce: Announce) {
        self.share = Some((fleet, announce));
    }

    /// New fleet settings (a reload); `None`: nothing is shared any more.
    pub fn reshare(&mut self, fleet: Option<FleetSettings>) {
        match (fleet, self.share.take()) {
            (Some(fleet), Some((_, announce))) => self.share = Some((fleet, announce)),
            (_, _) => self.share = None,
        }
    }

    /// Tells the fleet about unbans made here, if it shares them.
    pub fn announce_unbans(&mut self, unbans: impl IntoIterator<Item = Decision>) {
        let Some((fleet, announce)) = &mut self.share else { return };
        let shared: Vec<Decision> = unbans.into_iter().filter(|d| is_shared(fleet, d)).collect();
        if !shared.is_empty() {
            announce(shared);
        }
    }

    /// Queues bans whose outcomes `reply` hears, in order, once carried
    /// out; whether the batch is now full.
    pub fn push_with_reply(&mut self, requests: Vec<BanRequest>, reply: Reply<Vec<Outcome>>) -> bool {
        self.replies.push((self.pending.len(), requests.len(), reply));
        self.pending.extend(requests);
        self.pending.len() >= BAN_BATCH
    }

    /// Bans in the kernel (or meant for it) that the store has not
    /// recorded: those kept for a later try, and those dropped past
    /// [`MAX_UNSTORED`].
    pub fn unstored(&self) -> (usize, u64) {
        (self.unstored.len(), self.unstored_dropped)
    }

    /// Tries to store the bans the store refused before; what it says
    /// goes to `info` and `warn`.
    pub fn store_unstored(&mut self, info: &mut dyn FnMut(String), warn: &mut dyn FnMut(String)) {
        if self.unstored.is_empty() {
            return;
        }
        let now = self.bans.now_us();
        if now.abs_diff(self.unstored_tried) < 1_000_000 {
            return;
        }
        self.unstored_tried = now;
        // An import never shortens a ban stored meanwhile.
        if let Ok(stored) = self.bans.import(&self.unstored, warn) {
            info(format!(
                "stored {stored} bans the store had refused earlier ({} already stored to end later)",
                self.unstored.len() - stored
            ));
            self.unstored.clear();
        }
    }

    pub fn bans(&mut self) -> &mut Bans {
        &mut self.bans
    }

    /// Queues a ban; whether the batch is now full (time to [`flush`](Self::flush)).
    pub fn push(&mut self, request: BanRequest) -> bool {
        self.pending.push(request);
        self.pending.len() >= BAN_BATCH
    }

    /// Bans made so far.
    pub fn banned(&self) -> u64 {
        self.banned
    }

    /// Bans that failed so far.
    pub fn failed(&self) -> u64 {
        self.failures.total()
    }

    /// Bans that failed so far, by set and kind (`None`: the kinds past
    /// the throttle's bound, counted together).
    pub fn failures(&self) -> impl Iterator<Item = (Option<&(SetRef, Failure)>, u64)> + '_ {
        self.failures.counts()
    }

    fn keep_unstored(&mut self, request: &BanRequest, now: u64) {
        if self.unstored.len() >= MAX_UNSTORED {
            self.unstored_dropped += 1;
            return;
        }
        let until = request.lifetime.end(now);
        self.unstored.push(Record {
            net: request.net,
            set: request.set.clone(),
            until,
            start: now,
            by: request.origin.tag(),
            why: request.reason.clone(),
        });
    }

    /// Carries out the queued bans; `error` hears the throttled failure
    /// lines, `warn` what the store found wrong in its files.
    pub fn flush(&mut self, error: &mut dyn FnMut(String, Network, &SetRef), warn: &mut dyn FnMut(String)) {
        if self.pending.is_empty() {
            // A command of no request still hears its (empty) answer.
            self.replies.drain(..).for_each(|(_, _, reply)| reply(Vec::new()));
            return;
        }
        let requests = std::mem::take(&mut self.pending);
        let now = self.bans.now_us();
        let outcomes = self.bans.ban(&requests, warn);
        // Durable and in the kernel: the published bans first, so that a
        // client reading after its reply sees its ban.
        if let Some((listing, sets)) = &self.listing {
            let made = requests.iter().zip(&outcomes).filter(|(r, _)| sets.contains(&r.set)).filter_map(|(r, o)| {
                let until = match o {
                    Outcome::Banned(until) => *until,
                    // In the kernel, though not stored.
                    Outcome::NotStored(_) => r.lifetime.end(now),
                    Outcome::Kept(until) if listing.get(&r.set, r.net, now).is_none() => *until,
                    _ => return None,
                };
                let origin = r.origin.tag().unwrap_or_else(|| "".into());
                Some((r.set.clone(), r.net, Listed { until, origin, start: now }))
            });
            listing.put(made.collect::<Vec<_>>());
        }
        if let Some((fleet, announce)) = &mut self.share {
            let decided: Vec<Decision> = requests
                .iter()
                .zip(&outcomes)
                .filter_map(|(r, o)| {
                    let until = match o {
                        Outcome::Banned(until) => *until,
                        // A longer ban in place (which may not be shared):
                        // the fleet still hears what this decision asked.
                        Outcome::Kept(_) | Outcome::NotStored(_) | Outcome::KernelFailed(_) => r.lifetime.end(now),
                        _ => return None,
                    };
                    let d = Decision::Ban { net: r.net, set: r.set.clone(), until, origin: r.origin.clone() };
                    is_shared(fleet, &d).then_some(d)
                })
                .collect();
            if !decided.is_empty() {
                announce(decided);
            }
        }
        for (from, len, reply) in self.replies.drain(..) {
            reply(outcomes[from..from + len].to_vec());
        }
        for (request, outcome) in requests.iter().zip(outcomes) {
            if matches!(outcome, Outcome::NotStored(_) | Outcome::Failed { .. }) {
                self.keep_unstored(request, now);
            }
            let Some(failure) = outcome.failure() else {
                self.banned += 1;
                continue;
            };
            let Some(count) = self.failures.count((request.set.clone(), failure)) else { continue };
            let (cause, what) = match outcome {
                Outcome::Banned(_) | Outcome::Kept(_) => unreachable!("not a failure"),
                Outcome::Refused(Refusal::NeverBan) => (format!("{} is on the never-ban list", request.net), "refused"),
                Outcome::Refused(why @ (Refusal::NotAPeer | Refusal::Allowed)) => {
                    (format!("{} {why}", request.net), "refused")
                }
                Outcome::NotStored(e) => (e.to_string(), "in the kernel but not stored: it will not survive a reboot"),
                Outcome::Failed { store, kernel } => (format!("{kernel}; and not stored: {store}"), "not banned"),
                Outcome::KernelFailed(e) => (
                    e.to_string(),
                    "stored (put back once the set is made again, or by banwarden boot), not in the kernel",
                ),
            };
            let line = format!("ban of {} in {}: {cause}; {what} ({count} so far)", request.net, request.set);
            error(line, request.net, &request.set);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::sync::Arc;

    use super::*;
    use crate::firewall::fake::{Call, FakeKernel};
    use crate::time::FixedClock;
    use crate::vocab::{Lifetime, Network, Origin};

    const NOW: u64 = 1_763_726_400_000_000;

    fn queue(dir: &std::path::Path, kernel: &FakeKernel, never_ban: &[&str]) -> BanQueue {
        let never: Vec<Network> = never_ban.iter().map(|n| Network::parse(n).unwrap()).collect();
        let clock = Arc::new(FixedClock::new(NOW));
        BanQueue::new(Bans::with_kernel(dir, never, clock, Box::new(kernel.clone())))
    }

    fn request(ip: Network, set: &SetRef) -> BanRequest {
        let origin = Origin::Rule { chain: "ssh".into(), step: 3 };
        BanRequest::new(ip, set.clone(), Lifetime::from_seconds(Some(60)), origin)
    }

    fn attacker(i: u32) -> Network {
        Network::from(IpAddr::V4((0xc633_0000 + i).into()))
    }

    #[test]
    fn a_flood_against_a_full_set_logs_a_bounded_number_of_lines() {
        let dir = tempfile::tempdir().unwrap();
        let full = SetRef::parse_ipset("full").unwrap();
        let good = SetRef::parse_nft("ip t good").unwrap();
        let kernel = FakeKernel::with_sets(&[&full, &good]);
        kernel.state().sets.get_mut(&full).unwrap().capacity = Some(16);
        let mut queue = queue(dir.path(), &kernel, &[]);
        let mut lines = Vec::new();
        for i in 0..10_000 {
            if queue.push(request(attacker(i), &full)) {
                queue.flush(&mut |line, _, _| lines.push(line), &mut |_| {});
            }
        }
        queue.flush(&mut |line, _, _| lines.push(line), &mut |_| {});
        // 9,984 refusals of one cause: logged at 1, 10, 100, 1,000.
        assert_eq!(queue.failed(), 9_984);
        assert_eq!(queue.banned(), 16);
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[0].contains("is full") && lines[0].contains("(1 so far)"), "{}", lines[0]);
        assert!(lines[3].contains("(1000 so far)"), "{}", lines[3]);
        assert_eq!(queue.failures.kinds(), 1, "one cause, whatever the addresses");
        // A good set still takes bans.
        queue.push(request(attacker(99_999), &good));
        queue.flush(&mut |line, _, _| lines.push(line), &mut |_| {});
        assert_eq!(kernel.held(&good), [attacker(99_999)]);
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn the_causes_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let kernel = FakeKernel::default();
        let mut queue = queue(dir.path(), &kernel, &[]);
        let mut lines = 0;
        // One missing set per ban: as many causes as bans.
        for i in 0..2 * crate::diag::THROTTLE_KINDS as u32 {
            let set = SetRef::parse_nft(&format!("ip t missing{i}")).unwrap();
            queue.push(request(attacker(i), &set));
        }
        queue.flush(&mut |_, _, _| lines += 1, &mut |_| {});
        assert_eq!(queue.failures.kinds(), crate::diag::THROTTLE_KINDS);
        assert_eq!(queue.failed(), 2 * crate::diag::THROTTLE_KINDS as u64);
        // One line per counted cause, and the others' own 1, 10, 100.
        assert_eq!(lines, crate::diag::THROTTLE_KINDS + 3);
    }

    #[test]
    fn bans_go_out_in_one_kernel_call_per_batch_and_never_ban_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let set = SetRef::parse_nft("ip t s").unwrap();
        let kernel = FakeKernel::with_sets(&[&set]);
        let mut queue = queue(dir.path(), &kernel, &["198.51.100.0/24"]);
        let mut full_at = None;
        for i in 0..BAN_BATCH as u32 {
            if queue.push(request(attacker(i), &set)) {
                full_at = Some(i);
            }
        }
        assert_eq!(full_at, Some(BAN_BATCH as u32 - 1), "full exactly at the batch size");
        queue.push(request("198.51.100.7".parse().unwrap(), &set));
        let mut lines = Vec::new();
        queue.flush(&mut |line, _, _| lines.push(line), &mut |_| {});
        let adds: Vec<usize> =
            kernel.calls().iter().filter_map(|c| if let Call::Add(b) = c { Some(b.len()) } else { None }).collect();
        assert_eq!(adds, [BAN_BATCH], "one kernel call, the refused one left out");
        assert_eq!(queue.banned(), BAN_BATCH as u64);
        assert_eq!(lines, ["ban of 198.51.100.7 in ip t s: 198.51.100.7 is on the never-ban list; refused (1 so far)"]);
        assert!(!kernel.held(&set).contains(&"198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn a_command_of_no_request_is_answered_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut queue = queue(dir.path(), &FakeKernel::default(), &[]);
        let (tx, rx) = std::sync::mpsc::channel();
        queue.push_with_reply(Vec::new(), Box::new(move |outcomes| tx.send(outcomes.len()).unwrap()));
        queue.flush(&mut |_, _, _| {}, &mut |_| {});
        assert_eq!(rx.try_recv(), Ok(0));
    }
}
