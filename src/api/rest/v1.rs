//! `/v1/bans` and `/v1/accepts`: banwarden's own JSON API (doc/openapi.json).
//!
//! `POST` takes one item or a list of items (`address` or `network`,
//! `duration`, `chain`, `interface`, `reason`) and sends every item to the
//! loop as one [`Command::Ban`](crate::door::Command::Ban), so a list costs
//! one store write and one netlink transaction. The whole body is checked
//! first: one bad item is a 400 naming it, and nothing is done. The answer
//! says per item what happened (`banned`, `kept`, `ignored`, `refused`,
//! `failed`), with the worst item's status. `DELETE /v1/bans/{network}`
//! lifts it (the network's slash may be percent-encoded or not), `GET`
//! lists the live entries from the published listing, without asking the
//! loop.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Value};

use super::reply::{self, Answer};
use super::rfw;
use super::{Caller, Conn, Ctx, BODY_LIMIT, BODY_TIME};
use crate::config::api::{ApiSettings, Target};
use crate::vocab::{BanRequest, Lifetime, Network, Origin, SetRef};

/// The paths this module serves, in OpenAPI's spelling (the router uses
/// `{*network}` so that a raw slash matches too).
pub const PATHS: [&str; 4] = ["/v1/bans", "/v1/bans/{network}", "/v1/accepts", "/v1/accepts/{network}"];

/// Entries `GET` returns when no `limit` is given, and at most.
const LIMIT_DEFAULT: usize = 1000;
const LIMIT_MAX: usize = 100_000;
/// Longest `reason` logged (the rest is cut): it is a client's text going
/// into the journal banwarden itself reads.
const REASON_MAX: usize = 200;

#[derive(Deserialize)]
#[serde(untagged)]
enum Duration_ {
    Seconds(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    address: Option<String>,
    network: Option<String>,
    duration: Option<Duration_>,
    chain: Option<String>,
    interface: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Body_ {
    One(Item),
    Many(Vec<Item>),
}

/// An item checked: a request to send, or one that `api.clients` ignores.
enum Checked {
    Send(BanRequest, Option<String>),
    Ignored(Answer),
}

fn check(item: Item, target: Target, api: &ApiSettings, user: &str, conn: &Conn) -> Result<Checked, String> {
    let text = match (&item.address, &item.network) {
        (Some(a), None) => a,
        (None, Some(n)) => n,
        (Some(_), Some(_)) => return Err("give address or network, not both".into()),
        (None, None) => return Err("address (or network) is missing".into()),
    };
    let net = Network::target(text)?;
    let chain = rfw::chain(item.chain.as_deref().unwrap_or("input"))?;
    let interface = rfw::interface(item.interface.as_deref().unwrap_or("any"))?;
    let lifetime = match item.duration {
        None => Lifetime::from_seconds(api.default_expire),
        Some(Duration_::Seconds(0)) => Lifetime::Forever,
        Some(Duration_::Seconds(s)) => Lifetime::checked(Duration::from_secs(s))?,
        Some(Duration_::Text(t)) => rfw::parse_expire(&t)?,
    };
    if let Some(answer) = rfw::ignored(api, net) {
        return Ok(Checked::Ignored(answer));
    }
    let set = api.set_for(target, chain, interface.as_deref(), net)?.clone();
    let origin = Origin::Api { user: user.to_owned() };
    // The client's reason is kept with the ban (shortened), and logged.
    let mut reason = conn.peer.reason();
    if let Some(text) = &item.reason {
        reason = reason.with_note(text);
    }
    Ok(Checked::Send(BanRequest::new(net, set, lifetime, origin).with_reason(reason), item.reason))
}

/// Reads the body whole, within [`BODY_LIMIT`] and [`BODY_TIME`].
async fn read_body(body: Body) -> Result<axum::body::Bytes, Answer> {
    match tokio::time::timeout(BODY_TIME, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Err(_) => Err(Answer::error(StatusCode::REQUEST_TIMEOUT, "the body took too long to arrive")),
        Ok(Err(e)) if too_long(&e) => Err(Answer::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {BODY_LIMIT} bytes: send fewer items at once"),
        )),
        Ok(Err(e)) => Err(Answer::bad(format!("the body could not be read: {e}"))),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// Whether reading a body failed on [`BODY_LIMIT`] (rather than on broken
/// framing).
fn too_long(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

async fn post(ctx: Ctx, caller: Caller, conn: Conn, target: Target, body: Body) -> Answer {
    let bytes = match read_body(body).await {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let (items, many) = match serde_json::from_slice::<Body_>(&bytes) {
        Ok(Body_::One(item)) => (vec![item], false),
        Ok(Body_::Many(items)) => (items, true),
        Err(e) => return Answer::bad(format!("the body is not an item or a list of items (doc/openapi.json): {e}")),
    };
    if items.is_empty() {
        return Answer::bad("the list of items is empty");
    }
    let live = ctx.shared.live();
    let Some(api) = live.api.as_ref() else {
        return Answer::error(StatusCode::SERVICE_UNAVAILABLE, "the API is not configured (api)");
    };
    let mut checked = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match check(item, target, api, &caller.0, &conn) {
            Ok(c) => checked.push(c),
            Err(e) if many => return Answer::bad(format!("item {i}: {e} (nothing was done)")),
            Err(e) => return Answer::bad(e),
        }
    }
    let requests: Vec<BanRequest> = checked
        .iter()
        .filter_map(|c| match c {
            Checked::Send(request, _) => Some(request.clone()),
            Checked::Ignored(_) => None,
        })
        .collect();
    let mut outcomes = match requests.is_empty() {
        true => Vec::new(),
        false => match reply::ban(&ctx.shared.context.door, requests).await {
            Ok(outcomes) => outcomes,
            Err(not_done) => return not_done.into(),
        },
    }
    .into_iter();
    let now = ctx.shared.context.clock.now_us();
    let mut status = StatusCode::OK;
    let mut results = Vec::with_capacity(checked.len());
    for c in checked {
        let (s, item) = match c {
            Checked::Ignored(answer) => (answer.status, answer.body),
            Checked::Send(request, reason) => {
                let Some(outcome) = outcomes.next() else {
                    return Answer::error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the daemon gave fewer outcomes than requests",
                    );
                };
                if let Some(reason) = reason {
                    let reason: String = reason.chars().take(REASON_MAX).collect();
                    let (id, net, set) = (Some(crate::journal::ids::API_BAN), Some(request.net), Some(&request.set));
                    crate::diag::emit_about(
                        crate::effect::Level::Info,
                        crate::diag::About { id, net, set, chain: None },
                        format_args!(
                            "api: {} asked for {} in {}, reason {reason:?}",
                            caller.0, request.net, request.set
                        ),
                    );
                }
                reply::outcome_item(request.net, &request.set, &outcome, now)
            }
        };
        status = reply::worst(status, s);
        results.push(item);
    }
    match many {
        true => Answer { status, body: json!({ "results": results }), retry_after: None },
        false => Answer { status, body: results.pop().unwrap_or(Value::Null), retry_after: None },
    }
}

/// The sets a `DELETE` or `GET` reads: the one `chain`/`interface` map to
/// when either is given, else every set of the target (of `net`'s family
/// when there is one, and only those that take networks when it is one).
fn sets_of(
    api: &ApiSettings,
    target: Target,
    query: &HashMap<String, String>,
    net: Option<Network>,
) -> Result<Vec<(SetRef, String, Option<String>)>, String> {
    let chain = query.get("chain").map(|c| rfw::chain(c)).transpose()?;
    let interface = query.get("interface").map(|i| rfw::interface(i)).transpose()?;
    let mut sets: Vec<(SetRef, String, Option<String>)> = Vec::new();
    for entry in api.sets.iter().filter(|s| s.target == target) {
        if chain.is_some_and(|c| !entry.chain.eq_ignore_ascii_case(c)) {
            continue;
        }
        if let Some(i) = &interface {
            if entry.interface != *i {
                continue;
            }
        }
        // A network is only in the sets that take networks.
        let family: Vec<&SetRef> = match net {
            Some(n) => entry
                .sets()
                .filter(|(_, ipv6, networks)| *ipv6 == n.is_ipv6() && (n.is_host() || *networks))
                .map(|(set, _, _)| set)
                .collect(),
            None => entry.sets().map(|(set, _, _)| set).collect(),
        };
        for set in family {
            if !sets.iter().any(|(s, _, _)| s == set) {
                sets.push((set.clone(), entry.chain.clone(), entry.interface.clone()));
            }
        }
    }
    if sets.is_empty() && (chain.is_some() || interface.is_some()) {
        return Err("no set of api.sets matches this chain and interface".into());
    }
    Ok(sets)
}

async fn delete(ctx: Ctx, caller: Caller, target: Target, text: String, query: HashMap<String, String>) -> Answer {
    let net = match Network::target(&text) {
        Ok(net) => net,
        Err(e) => return Answer::bad(e),
    };
    let live = ctx.shared.live();
    let Some(api) = live.api.as_ref() else {
        return Answer::error(StatusCode::SERVICE_UNAVAILABLE, "the API is not configured (api)");
    };
    if let Some(answer) = rfw::ignored(api, net) {
        return answer;
    }
    let sets = match sets_of(api, target, &query, Some(net)) {
        Ok(sets) if sets.is_empty() => return Answer::bad(format!("no set of api.sets takes {net}")),
        Ok(sets) => sets.into_iter().map(|(s, _, _)| s).collect(),
        Err(e) => return Answer::bad(e),
    };
    match reply::unban(&ctx.shared.context.door, net, sets, Origin::Api { user: caller.0 }).await {
        Err(not_done) => not_done.into(),
        Ok(Err(e)) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e),
        Ok(Ok(lifted)) => {
            let (status, items) = reply::lifted_items(net, &lifted);
            Answer { status, body: json!({ "results": items }), retry_after: None }
        }
    }
}

fn get(ctx: Ctx, target: Target, query: HashMap<String, String>) -> Answer {
    let within = match query.get("within").map(|w| Network::target(w)).transpose() {
        Ok(w) => w,
        Err(e) => return Answer::bad(format!("within: {e}")),
    };
    let limit = match query.get("limit").map(|l| l.parse::<usize>()).transpose() {
        Ok(l) => l.unwrap_or(LIMIT_DEFAULT).min(LIMIT_MAX),
        Err(_) => return Answer::bad(format!("limit: {:?} is not a number", query["limit"])),
    };
    let live = ctx.shared.live();
    let Some(api) = live.api.as_ref() else {
        return Answer::error(StatusCode::SERVICE_UNAVAILABLE, "the API is not configured (api)");
    };
    // Every set of the family: addresses inside `within` are in the sets
    // of single addresses too.
    let family = within.map(|w| Network::host(w.first()));
    let sets = match sets_of(api, target, &query, family) {
        Ok(sets) => sets,
        Err(e) => return Answer::bad(e),
    };
    let now = ctx.shared.context.clock.now_us();
    let mut entries = Vec::new();
    for (set, chain, interface) in sets {
        let room = limit.saturating_sub(entries.len());
        for (net, listed) in ctx.shared.context.listing.list(&set, within, now, room) {
            entries.push(json!({
                "network": net.to_string(),
                "set": set.to_string(),
                "chain": chain,
                "interface": interface.as_deref().unwrap_or("any"),
                "until": reply::until_json(listed.until),
                "expiresIn": reply::left_json(listed.until, now),
                "since": if listed.start == 0 { Value::Null } else { reply::until_json(crate::vocab::Until::At(listed.start)) },
                "origin": &*listed.origin,
            }));
        }
    }
    Answer::ok(json!({ "entries": entries }))
}

/// The query's parameters, or a 400 that says what is wrong.
fn query(uri: &Uri) -> Result<HashMap<String, String>, Answer> {
    Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| Answer::bad(format!("query: {e}")))
}

/// The network after `prefix` in the path, percent-decoded (so
/// `203.0.113.0%2F24` and `203.0.113.0/24` both work).
fn network_text(uri: &Uri, prefix: &str) -> Result<String, Answer> {
    let rest = uri.path().strip_prefix(prefix).unwrap_or_default();
    percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .map(|t| t.into_owned())
        .map_err(|_| Answer::bad("the network is not UTF-8 once decoded"))
}

pub async fn post_bans(
    State(ctx): State<Ctx>,
    Extension(caller): Extension<Caller>,
    Extension(conn): Extension<Conn>,
    body: Body,
) -> Answer {
    post(ctx, caller, conn, Target::Drop, body).await
}

pub async fn post_accepts(
    State(ctx): State<Ctx>,
    Extension(caller): Extension<Caller>,
    Extension(conn): Extension<Conn>,
    body: Body,
) -> Answer {
    post(ctx, caller, conn, Target::Accept, body).await
}

async fn delete_of(ctx: Ctx, caller: Caller, target: Target, uri: Uri, prefix: &str) -> Answer {
    match (network_text(&uri, prefix), query(&uri)) {
        (Ok(net), Ok(q)) => delete(ctx, caller, target, net, q).await,
        (Err(answer), _) | (_, Err(answer)) => answer,
    }
}

pub async fn delete_bans(State(ctx): State<Ctx>, Extension(caller): Extension<Caller>, uri: Uri) -> Answer {
    delete_of(ctx, caller, Target::Drop, uri, "/v1/bans/").await
}

pub async fn delete_accepts(State(ctx): State<Ctx>, Extension(caller): Extension<Caller>, uri: Uri) -> Answer {
    delete_of(ctx, caller, Target::Accept, uri, "/v1/accepts/").await
}

pub async fn get_bans(State(ctx): State<Ctx>, uri: Uri) -> Answer {
    query(&uri).map_or_else(|a| a, |q| get(ctx, Target::Drop, q))
}

pub async fn get_accepts(State(ctx): State<Ctx>, uri: Uri) -> Answer {
    query(&uri).map_or_else(|a| a, |q| get(ctx, Target::Accept, q))
}
