//! Following: every other host's entries, read from the position this
//! host saved (`XREAD BLOCK`, so an entry is here as soon as it is
//! written), read strictly ([`Wire::read`]), mapped to this host's sets,
//! and handed to the loop through the door as one command per read. The
//! position moves on only once the loop has answered: the bans are then
//! stored and in the kernel, and the loop saves the position with the
//! journal's cursor.
//!
//! A host that starts with no position (new to the fleet), or whose
//! position the stream has trimmed away (`max-deleted-entry-id` past it),
//! starts again from the snapshot: every live shared ban of the other
//! hosts, then the bans it holds from the fleet that the snapshot no
//! longer has are lifted (they were unbanned while it was away), then it
//! reads on from the stream's last ID taken before the snapshot was read
//! (what came meanwhile is applied twice, which changes nothing).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Value;
use tokio::sync::{oneshot, watch, RwLock};

use super::link::{self, Shared, Side};
use super::publish::snapshot_keys;
use super::status::PerHost;
use super::stream::{parse_id, read_reply, snapshot_fields, stream_info};
use super::wire::{Fields, Op, Wire};
use crate::bans::{Outcome, Refusal};
use crate::config::fleet::{bare_name, FleetSettings};
use crate::diag;
use crate::diag::Throttle;
use crate::door::{Applied, Command, Door, FleetOp, KnownSets};
use crate::vocab::{BanRequest, Lifetime, Network, Origin, Reason, SetRef, Until};

/// Entries read at once (one command to the loop, one batch of bans): a
/// reply this large holds Redis's one thread for a few ms, which every
/// other host's lone ban would wait for.
pub const READ_COUNT: usize = 1024;
/// How long one read waits for entries.
const BLOCK: Duration = Duration::from_secs(2);
/// The wait before a command the full door gave back is tried again.
const BUSY_PAUSE: Duration = Duration::from_millis(20);

/// A command given to the loop, not yet answered.
struct InFlight {
    rx: oneshot::Receiver<Vec<Applied>>,
    position: Option<String>,
    kept: Vec<FleetOp>,
}

pub struct Follower {
    pub fleet: Arc<RwLock<FleetSettings>>,
    pub door: Arc<Door>,
    pub known: Arc<KnownSets>,
    pub shared: Arc<Shared>,
    pub position: Option<String>,
    pub refusals: Throttle<String>,
}

impl Follower {
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::ZERO;
        loop {
            let outcome = tokio::select! {
                _ = stop.changed() => return,
                outcome = self.session(&mut backoff) => outcome,
            };
            if let Err(e) = outcome {
                self.shared.down(Side::Follow, &e);
                backoff = link::next_backoff(backoff);
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
            }
        }
    }

    /// One connection's life: catch up (from the snapshot if need be),
    /// then read on until an error.
    async fn session(&mut self, backoff: &mut Duration) -> Result<(), String> {
        let settings = self.fleet.read().await.clone();
        let (mut con, url) = link::connect(&settings, BLOCK).await.map_err(|e| format!("cannot reach Redis: {e}"))?;
        let info = stream_info(&mut con, &url, &settings.stream).await?;
        // Up once a command has worked (a Redis still loading accepts
        // connections), and the next outage waits from the shortest pause.
        self.shared.up(Side::Follow, &url);
        *backoff = Duration::ZERO;
        let behind = match (&self.position, &info) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(p), Some(info)) => info.trimmed_past(parse_id(p)),
        };
        if behind {
            let last = info.as_ref().map(|i| i.last.clone()).unwrap_or_else(|| "0-0".to_owned());
            self.resync(&mut con, &url, &settings, last).await?;
        }
        // Reading goes on while the loop applies what was read before:
        // one command in flight at most, answered before the next is sent,
        // so the order holds and memory stays bounded.
        let mut read_from = self.position.clone().unwrap_or_else(|| "0-0".to_owned());
        let mut in_flight: Option<InFlight> = None;
        loop {
            let mut xread = redis::cmd("XREAD");
            xread.arg("COUNT").arg(READ_COUNT);
            if in_flight.is_none() {
                xread.arg("BLOCK").arg(BLOCK.as_millis() as u64);
            }
            let reply: Value = xread
                .arg("STREAMS")
                .arg(&settings.stream)
                .arg(&read_from)
                .query_async(&mut con)
                .await
                .map_err(|e| link::failure(&url, "reading the stream (XREAD)", &e))?;
            let entries = read_reply(reply)?;
            let Some(last) = entries.last().map(|(id, _)| id.clone()) else {
                match in_flight.take() {
                    Some(sent) => self.finish(sent).await?,
                    None => self.shared.update(|s| {
                        s.lag_ms = Some(0);
                        s.lag_entries = Some(0);
                    }),
                }
                continue;
            };
            let now_ms = self.shared.clock.now_us() / 1000;
            let newest_ms = parse_id(&last).map_or(0, |(ms, _)| ms);
            self.shared.update(|s| s.lag_ms = Some(now_ms.saturating_sub(newest_ms)));
            let settings = self.fleet.read().await.clone();
            let ops = self.ops(&settings, entries);
            if let Some(sent) = in_flight.take() {
                self.finish(sent).await?;
            }
            in_flight = Some(self.send(ops, Some(last.clone())).await);
            read_from = last;
        }
    }

    /// The ops of entries read, the refused ones logged and left out.
    fn ops(&mut self, settings: &FleetSettings, entries: Vec<(String, Fields)>) -> Vec<FleetOp> {
        let known = self.known.get();
        let now = self.shared.clock.now_us();
        let mut ops = Vec::with_capacity(entries.len());
        for (id, fields) in entries {
            let wire = match Wire::read(&fields) {
                Ok(wire) => wire,
                Err(why) => {
                    self.shared.update(|s| s.malformed += 1);
                    if let Some(n) = self.refusals.count(format!("malformed {}", kind_of(&why))) {
                        diag!(Warning, "fleet: entry {id} refused: {why} ({n} such so far)");
                    }
                    continue;
                }
            };
            if wire.host == settings.host || !settings.shares_set(&wire.set) {
                continue;
            }
            let Some(set) = local_set(settings, &known, &wire.set) else {
                self.count_refused(&wire.host);
                if let Some(n) = self.refusals.count(format!("set {}", wire.set)) {
                    diag!(
                        Warning,
                        "fleet: {}'s entry {id} names set {:?}, which this host does not have (or has twice): give it one in fleet.map ({n} such so far)",
                        wire.host,
                        wire.set
                    );
                }
                continue;
            };
            let origin = Origin::Fleet { host: wire.host.clone() };
            ops.push(match wire.op {
                Op::Ban { until } => {
                    let lifetime = match until {
                        Until::Forever => Lifetime::Forever,
                        Until::At(t) if t <= now => continue,
                        Until::At(t) => Lifetime::EndsAt(t),
                    };
                    // The origin host's own origin (`rule sshd#3`) says why there.
                    let reason = Reason::default().with_note(&wire.by);
                    FleetOp::Ban(BanRequest::new(wire.net, set, lifetime, origin).with_reason(reason))
                }
                Op::Unban => FleetOp::Unban { net: wire.net, set, origin },
            });
        }
        ops
    }

    fn count_refused(&self, host: &str) {
        self.shared.update(|s| s.hosts.entry(host.to_owned()).or_default().refused += 1);
    }

    /// Gives `ops` to the loop and waits for its answer; then `position`
    /// is this host's.
    async fn hand_over(&mut self, ops: Vec<FleetOp>, position: String) -> Result<(), String> {
        let sent = self.send(ops, Some(position)).await;
        self.finish(sent).await
    }

    /// Gives `ops` to the loop (waiting while its door is full).
    async fn send(&mut self, ops: Vec<FleetOp>, position: Option<String>) -> InFlight {
        // What the messages need, cheaply (a flood is 100,000 ops): the
        // text is made only for a refusal that is logged.
        let kept: Vec<FleetOp> = ops.iter().map(light).collect();
        let (tx, rx) = oneshot::channel();
        let mut command =
            Command::Fleet { ops, position: position.clone(), reply: Box::new(move |applied| drop(tx.send(applied))) };
        loop {
            match self.door.send(command) {
                Ok(()) => break,
                Err(crate::door::Busy(back)) => {
                    command = back;
                    tokio::time::sleep(BUSY_PAUSE).await;
                }
            }
        }
        InFlight { rx, position, kept }
    }

    /// Waits for the loop's answer, counts and logs it; the position is
    /// then this host's.
    async fn finish(&mut self, sent: InFlight) -> Result<(), String> {
        let InFlight { rx, position, kept } = sent;
        let applied = rx.await.map_err(|_| "the daemon stopped before applying the fleet's entries".to_owned())?;
        let mut counts: HashMap<&str, PerHost> = HashMap::new();
        for (op, result) in kept.iter().zip(&applied) {
            if matches!(result, Applied::Forgot(Ok(_))) {
                continue;
            }
            // With a kind that holds no address, to count alike ones together.
            let refused = match result {
                Applied::Ban(Outcome::Refused(why)) => Some((refusal_text(why), format!("{why:?}"))),
                Applied::Ban(o) => {
                    o.failure().map(|f| ("failed (see the ban failure above)".to_owned(), format!("{f:?}")))
                }
                Applied::Unfit(e) => Some((e.clone(), e.replace(&op_net(op), "NET"))),
                Applied::Unban(Err(e)) | Applied::Forgot(Err(e)) => Some((e.clone(), "error".to_owned())),
                _ => None,
            };
            let host = op_host(op);
            let count = counts.entry(host).or_default();
            match refused {
                None => count.applied += 1,
                Some((why, kind)) => {
                    count.refused += 1;
                    if let Some(n) = self.refusals.count(format!("refused {host} {kind}")) {
                        diag!(Notice, "fleet: {host}'s {} refused here: {why} ({n} such so far)", describe(op));
                    }
                }
            }
        }
        self.shared.update(|s| {
            for (host, c) in counts {
                let total = s.hosts.entry(host.to_owned()).or_default();
                total.applied += c.applied;
                total.refused += c.refused;
            }
            if position.is_some() {
                s.position = position.clone();
            }
        });
        if position.is_some() {
            self.position = position;
        }
        Ok(())
    }

    /// Applies the snapshot, lifts the fleet's bans it no longer has, and
    /// resumes at `last`.
    async fn resync(
        &mut self,
        con: &mut MultiplexedConnection,
        url: &str,
        settings: &FleetSettings,
        last: String,
    ) -> Result<(), String> {
        let (live, _) = snapshot_keys(&settings.stream);
        let known = self.known.get();
        let mut keep: HashSet<(SetRef, Network)> = HashSet::new();
        let mut cursor: u64 = 0;
        let mut total = 0usize;
        loop {
            let (next, items): (u64, Fields) = redis::cmd("HSCAN")
                .arg(&live)
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query_async(con)
                .await
                .map_err(|e| link::failure(url, "reading the snapshot (HSCAN)", &e))?;
            let mut entries = Vec::with_capacity(items.len());
            for (member, value) in items {
                let Some(fields) = snapshot_fields(&member, &value) else {
                    self.shared.update(|s| s.malformed += 1);
                    continue;
                };
                entries.push(("snapshot".to_owned(), fields));
            }
            for (_, fields) in &entries {
                if let Ok(w) = Wire::read(fields) {
                    if let Some(set) = local_set(settings, &known, &w.set) {
                        keep.insert((set, w.net));
                    }
                }
            }
            let ops = self.ops(settings, entries);
            total += ops.len();
            if !ops.is_empty() {
                let sent = self.send(ops, None).await;
                self.finish(sent).await?;
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        let sets: Vec<SetRef> =
            known.iter().filter(|s| settings.shares_set(&settings.shared_name(s))).cloned().collect();
        let forget = vec![FleetOp::Forget { sets, keep }];
        self.hand_over(forget, last.clone()).await?;
        self.shared.update(|s| s.resyncs += 1);
        diag!(
            Info,
            "fleet: resynchronised from the snapshot: {total} live bans of other hosts; reading on from {last}"
        );
        Ok(())
    }
}

/// An op without what only the loop needs (a resync's `keep`).
fn light(op: &FleetOp) -> FleetOp {
    match op {
        FleetOp::Forget { .. } => FleetOp::Forget { sets: Vec::new(), keep: HashSet::new() },
        other => other.clone(),
    }
}

/// What an op asks, for messages.
fn describe(op: &FleetOp) -> String {
    match op {
        FleetOp::Ban(r) => format!("ban of {} in {}", r.net, r.set),
        FleetOp::Unban { net, set, .. } => format!("unban of {net} in {set}"),
        FleetOp::Forget { .. } => "resynchronisation".to_owned(),
    }
}

/// The address or network an op is for, as text.
fn op_net(op: &FleetOp) -> String {
    match op {
        FleetOp::Ban(r) => r.net.to_string(),
        FleetOp::Unban { net, .. } => net.to_string(),
        FleetOp::Forget { .. } => String::new(),
    }
}

/// The host an op comes from.
fn op_host(op: &FleetOp) -> &str {
    match op {
        FleetOp::Ban(BanRequest { origin: Origin::Fleet { host }, .. })
        | FleetOp::Unban { origin: Origin::Fleet { host }, .. } => host,
        _ => "snapshot",
    }
}

/// A refusal's kind without its values, to count alike refusals together.
fn kind_of(why: &str) -> &str {
    why.split(['"', ' ']).find(|w| !w.is_empty()).unwrap_or(why)
}

/// Why the ban path refused, as the end of a sentence.
fn refusal_text(why: &Refusal) -> String {
    format!("the address {why}")
}

/// The local set of a shared name: `fleet.map`'s, else the one known set
/// of that bare name (none, or two, is no set).
pub fn local_set(settings: &FleetSettings, known: &[SetRef], name: &str) -> Option<SetRef> {
    if let Some(set) = settings.map.get(name) {
        return Some(set.clone());
    }
    let mut found = known.iter().filter(|s| !settings.map.values().any(|m| m == *s) && bare_name(s) == name);
    let first = found.next()?;
    found.next().is_none().then(|| first.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_names_map_to_one_local_set() {
        let json: crate::config::json::Json =
            serde_json::from_str(r#"{"redis": "unix:///r.sock", "host": "h", "map": {"web": {"ipSet": "web4"}}}"#)
                .unwrap();
        let mut p = crate::config::problem::Problems::default();
        let fleet =
            crate::config::fleet::read_fleet(&json, crate::config::problem::Location::key("fleet"), &mut p).unwrap();
        let known = [
            SetRef::parse_nft("inet banwarden ban4").unwrap(),
            SetRef::parse_nft("ip t twice").unwrap(),
            SetRef::parse_ipset("twice").unwrap(),
        ];
        assert_eq!(local_set(&fleet, &known, "ban4"), Some(known[0].clone()));
        assert_eq!(local_set(&fleet, &known, "web"), Some(SetRef::parse_ipset("web4").unwrap()));
        assert_eq!(local_set(&fleet, &known, "twice"), None, "ambiguous");
        assert_eq!(local_set(&fleet, &known, "none"), None);
    }
}
