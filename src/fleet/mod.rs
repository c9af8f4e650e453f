//! The fleet: every host bans what any host saw, through a Redis stream.
//!
//! Each daemon publishes the bans and unbans its fleet settings share to
//! one stream (`fleet.stream`, trimmed to about `fleet.maxLen` entries),
//! keeps a snapshot of the live shared bans beside it (`<stream>:live`, a
//! hash, and `<stream>:ends`, a sorted set by end), and reads every other
//! host's entries from the position it saved with its journal cursor,
//! handing them to the loop through its [`Door`]: the same ban path as the
//! journal's (never-ban list, allow sets, no-shrink rule, store, kernel).
//! Redis is the distributed engine (its replication, persistence, ACLs and
//! TLS); nothing here is a cluster protocol of its own. The client is the
//! `redis` crate in a tokio runtime on a thread of its own, so the loop
//! never waits on the network; what cannot be published waits in the
//! spool ([`spool`]) and goes out, in order, once Redis is back. A host
//! whose position the stream has trimmed away (or a new host) starts again
//! from the snapshot. Its state for the operator is in [`status`].

mod follow;
mod link;
mod publish;
pub mod spool;
pub mod status;
mod stream;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, RwLock};

use crate::config::fleet::FleetSettings;
use crate::diag;
use crate::door::{Announce, Decision, Door, KnownSets};
use crate::time::Clock;

/// The spool line of a decision, or `None` when `fleet` does not share
/// its set.
pub fn spool_line(fleet: &FleetSettings, decision: &Decision) -> Option<spool::Line> {
    let (op, net, set, end, origin) = match decision {
        Decision::Ban { net, set, until, origin } => ("ban", net, set, wire::end_secs(*until), origin),
        Decision::Unban { net, set, origin } => ("unban", net, set, 0, origin),
    };
    let name = fleet.shared_name(set);
    fleet.shares_set(&name).then(|| spool::Line {
        op: op.to_owned(),
        set: name,
        net: net.to_string(),
        end,
        by: origin.tag().map(|t| t.to_string()).unwrap_or_default(),
    })
}

/// How often the status file is written.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// What the fleet's thread needs from the daemon.
pub struct Context {
    pub door: Arc<Door>,
    pub known_sets: Arc<KnownSets>,
    pub clock: Arc<dyn Clock>,
    /// The storage directory: the spool and the status file.
    pub storage: PathBuf,
    /// The stream position saved with the journal's cursor.
    pub position: Option<String>,
}

/// The running fleet: its thread stops when this is dropped.
pub struct Fleet {
    settings: Arc<RwLock<FleetSettings>>,
    decisions: mpsc::UnboundedSender<Vec<spool::Line>>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts the fleet's thread (a one-thread tokio runtime, the daemon's
/// signals blocked): the publisher, the follower and the status file.
pub fn start(fleet: FleetSettings, context: Context) -> Result<Fleet, String> {
    link::check_files(&fleet)?;
    let spool = spool::Spool::open(&context.storage)
        .map_err(|e| format!("fleet: cannot open {}: {e}", context.storage.join(spool::FILE).display()))?;
    let settings = Arc::new(RwLock::new(fleet.clone()));
    let (decisions, received) = mpsc::unbounded_channel();
    let (stop, stopped) = watch::channel(false);
    let status = status::Status {
        pid: std::process::id(),
        host: fleet.host.clone(),
        stream: fleet.stream.clone(),
        redis: fleet.shown_urls().join(", "),
        position: context.position.clone(),
        since: context.clock.now_us() / 1_000_000,
        ..status::Status::default()
    };
    let shared = Arc::new(link::Shared::new(status, context.clock.clone()));
    let follower = follow::Follower {
        fleet: settings.clone(),
        door: context.door,
        known: context.known_sets,
        shared: shared.clone(),
        position: context.position,
        refusals: diag::Throttle::default(),
    };
    let thread_settings = settings.clone();
    let storage = context.storage;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("fleet: cannot start its runtime: {e}"))?;
    let thread = std::thread::Builder::new()
        .name("banwarden-fleet".into())
        .spawn(move || {
            crate::daemon::signals::block_in_this_thread();
            runtime.block_on(async move {
                let publisher = publish::run(thread_settings, spool, received, shared.clone(), stopped.clone());
                let follower = follower.run(stopped.clone());
                let status = write_status(shared, storage, stopped);
                tokio::join!(publisher, follower, status);
            });
            runtime.shutdown_timeout(Duration::from_millis(200));
        })
        .map_err(|e| format!("fleet: cannot start its thread: {e}"))?;
    Ok(Fleet { settings, decisions, stop, thread: Some(thread) })
}

impl Fleet {
    /// The hook the loop hands its shared decisions to: they become spool
    /// lines for the publisher (no wait: an unbounded channel).
    pub fn announce(&self) -> Announce {
        let settings = self.settings.clone();
        let decisions = self.decisions.clone();
        Box::new(move |decided| {
            // The loop's thread: never waits on the runtime's lock for long
            // (a reload writes it, rarely).
            let settings = settings.blocking_read();
            let lines: Vec<spool::Line> = decided.iter().filter_map(|d| spool_line(&settings, d)).collect();
            if !lines.is_empty() {
                let _ = decisions.send(lines);
            }
        })
    }

    /// New settings from a reload: names, maps, sharing, stream and
    /// server take effect at the next connection.
    pub fn reload(&self, fleet: FleetSettings) {
        *self.settings.blocking_write() = fleet;
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn write_status(shared: Arc<link::Shared>, storage: PathBuf, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(STATUS_EVERY);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {}
        }
        let snapshot = {
            let mut s = shared.status.lock().unwrap_or_else(|e| e.into_inner());
            s.updated = shared.now_secs();
            s.clone()
        };
        if let Err(e) = snapshot.write(&storage) {
            diag!(Warning, "fleet: cannot write {}: {e}", storage.join(status::FILE).display());
            break;
        }
    }
}
