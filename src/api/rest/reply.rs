//! What the REST server answers, and the round trip through the loop's
//! door that most answers wait for.
//!
//! Every answer is JSON (`{"error": ...}` for a refused request) with the
//! status that tells a script what happened without reading the body: 200
//! for done or nothing to do, 400 for a request that could not be parsed,
//! 403/409 for a ban the ban service refused, 500 when the store or the
//! kernel failed, 503 (with `Retry-After`) when the loop's queue is full.
//! A request reaches the loop only once its address went through
//! [`Network::target`]; the answer waits until the loop says its outcome is
//! durable (stored with fsync, acknowledged by the kernel).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::bans::{Lifted, Outcome, Refusal};
use crate::door::{Busy, Command, Door};
use crate::vocab::{BanRequest, Network, Origin, SetRef, Until};

/// An answer: a status and a JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    /// Seconds for `Retry-After` (a 503 of a full queue).
    pub retry_after: Option<u32>,
}

impl Answer {
    pub fn ok(body: Value) -> Answer {
        Answer { status: StatusCode::OK, body, retry_after: None }
    }

    /// A refused request, with the reason.
    pub fn error(status: StatusCode, why: impl std::fmt::Display) -> Answer {
        Answer { status, body: json!({ "error": why.to_string() }), retry_after: None }
    }

    pub fn bad(why: impl std::fmt::Display) -> Answer {
        Answer::error(StatusCode::BAD_REQUEST, why)
    }

    /// The loop's queue is full, or the loop is gone (stopping).
    pub fn busy(why: &str) -> Answer {
        Answer { retry_after: Some(1), ..Answer::error(StatusCode::SERVICE_UNAVAILABLE, why) }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The door said no, or the reply never came.
pub enum NotDone {
    Busy,
    /// The loop dropped the reply without calling it: it is stopping.
    Gone,
}

impl From<NotDone> for Answer {
    fn from(n: NotDone) -> Answer {
        match n {
            NotDone::Busy => Answer::busy("the daemon's queue is full: try again in a second"),
            NotDone::Gone => Answer::busy("the daemon is stopping"),
        }
    }
}

/// Sends bans to the loop as one command and waits for their outcomes (one
/// per request, in order).
pub async fn ban(door: &Door, requests: Vec<BanRequest>) -> Result<Vec<Outcome>, NotDone> {
    let (tx, rx) = oneshot::channel();
    let command = Command::Ban { requests, reply: Box::new(move |outcomes| drop(tx.send(outcomes))) };
    door.send(command).map_err(|Busy(_)| NotDone::Busy)?;
    rx.await.map_err(|_| NotDone::Gone)
}

/// Lifts `net` from `sets` through the loop.
pub async fn unban(
    door: &Door,
    net: Network,
    sets: Vec<SetRef>,
    origin: Origin,
) -> Result<Result<Vec<Lifted>, String>, NotDone> {
    let (tx, rx) = oneshot::channel();
    let command = Command::Unban { net, sets, origin, reply: Box::new(move |lifted| drop(tx.send(lifted))) };
    door.send(command).map_err(|Busy(_)| NotDone::Busy)?;
    rx.await.map_err(|_| NotDone::Gone)
}

/// A ban's end as the API shows it: RFC 3339 in UTC, or `null` for good.
pub fn until_json(until: Until) -> Value {
    match until {
        Until::Forever => Value::Null,
        Until::At(us) => {
            let secs = i64::try_from(us / 1_000_000).unwrap_or(i64::MAX);
            let nanos = u32::try_from(us % 1_000_000 * 1000).unwrap_or(0);
            chrono::DateTime::from_timestamp(secs, nanos)
                .map_or(Value::Null, |t| Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        }
    }
}

/// Whole seconds left at `now_us` (`null` for good).
pub fn left_json(until: Until, now_us: u64) -> Value {
    match until {
        Until::Forever => Value::Null,
        Until::At(us) => Value::from(us.saturating_sub(now_us).div_ceil(1_000_000)),
    }
}

/// The status a refusal gets: 409 when an accept in place is what stands
/// in the way (lifting it would let the ban through), 403 otherwise.
pub fn refusal_status(why: Refusal) -> StatusCode {
    match why {
        Refusal::Allowed => StatusCode::CONFLICT,
        Refusal::NeverBan | Refusal::NotAPeer => StatusCode::FORBIDDEN,
    }
}

/// One ban's outcome as an item of the answer, and its status.
pub fn outcome_item(net: Network, set: &SetRef, outcome: &Outcome, now_us: u64) -> (StatusCode, Value) {
    let mut item = json!({ "network": net.to_string(), "set": set.to_string() });
    let status = match outcome {
        Outcome::Banned(until) | Outcome::Kept(until) => {
            let word = if matches!(outcome, Outcome::Banned(_)) { "banned" } else { "kept" };
            item["result"] = word.into();
            item["until"] = until_json(*until);
            item["expiresIn"] = left_json(*until, now_us);
            StatusCode::OK
        }
        Outcome::Refused(why) => {
            item["result"] = "refused".into();
            item["reason"] = format!("{net} {why}").into();
            refusal_status(*why)
        }
        Outcome::NotStored(e) => failed(&mut item, format!("in the kernel, but not stored (lost at reboot): {e}")),
        Outcome::KernelFailed(e) => failed(&mut item, format!("stored, but the kernel refused it: {e}")),
        Outcome::Failed { store, kernel } => {
            failed(&mut item, format!("not stored ({store}) nor in the kernel ({kernel})"))
        }
    };
    (status, item)
}

fn failed(item: &mut Value, message: String) -> StatusCode {
    item["result"] = "failed".into();
    item["error"] = message.into();
    StatusCode::INTERNAL_SERVER_ERROR
}

/// An unban's result per set as items, and the status of the whole.
pub fn lifted_items(net: Network, lifted: &[Lifted]) -> (StatusCode, Vec<Value>) {
    let mut status = StatusCode::OK;
    let items = lifted
        .iter()
        .map(|l| {
            let mut item = json!({ "network": net.to_string(), "set": l.set.to_string() });
            item["result"] = if l.was_stored { "lifted" } else { "absent" }.into();
            if let Some(record) = &l.still_covered {
                item["stillCoveredBy"] = record.net.to_string().into();
            }
            if let Err(e) = &l.kernel {
                status = StatusCode::INTERNAL_SERVER_ERROR;
                item["result"] = "failed".into();
                item["error"] = format!("the kernel refused the removal: {e}").into();
            }
            item
        })
        .collect();
    (status, items)
}

/// The worst of two statuses (a batch answers with its worst item's).
pub fn worst(a: StatusCode, b: StatusCode) -> StatusCode {
    let rank = |s: StatusCode| match s.as_u16() {
        500.. => 3,
        409 => 2,
        400.. => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}
