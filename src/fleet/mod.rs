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

pub mod spool;
pub mod status;
pub mod wire;

use crate::config::fleet::FleetSettings;
use crate::door::Decision;
use crate::vocab::Until;

/// The spool line of a decision, or `None` when `fleet` does not share
/// its set.
pub fn spool_line(fleet: &FleetSettings, decision: &Decision) -> Option<spool::Line> {
    let (op, net, set, end, origin) = match decision {
        Decision::Ban { net, set, until, origin } => ("ban", net, set, wire::end_text(*until), origin),
        Decision::Unban { net, set, origin } => ("unban", net, set, String::new(), origin),
    };
    let name = fleet.shared_name(set);
    fleet.shares_set(&name).then(|| spool::Line {
        op: op.to_owned(),
        set: name,
        net: net.to_string(),
        end: end.parse().unwrap_or(0),
        by: origin.tag().map(|t| t.to_string()).unwrap_or_default(),
    })
}

/// The end of a spool line, as the stream writes it.
pub fn line_until(line: &spool::Line) -> Until {
    match line.end {
        0 => Until::Forever,
        s => Until::At(s.saturating_mul(1_000_000)),
    }
}
