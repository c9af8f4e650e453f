//! The router in process, over `tokio::io::duplex`, against a door this
//! test drains itself, answering with made-up outcomes: 192.0.2.0/24 is on
//! the never-ban list, 198.51.100.0/24 is allowed, the rest is banned.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::api::{auth, Context, Live, Peer, Shared};
use crate::bans::{Lifted, Outcome, Refusal};
use crate::config::api::{default_sets, ApiSettings};
use crate::door::{Command, Door, Listed, Listing};
use crate::time::FixedClock;
use crate::vocab::{BanRequest, Lifetime, Network, Origin, SetRef, Until};

const NOW: u64 = 1_800_000_000_000_000;

#[derive(Default)]
struct Seen {
    bans: Vec<Vec<BanRequest>>,
    unbans: Vec<(Network, Vec<SetRef>, Origin)>,
}

struct Rig {
    shared: Arc<Shared>,
    seen: Arc<Mutex<Seen>>,
}

fn api(edit: impl FnOnce(&mut ApiSettings)) -> ApiSettings {
    let mut api = ApiSettings { sets: default_sets(), ..ApiSettings::default() };
    edit(&mut api);
    api
}

/// Settings in force with this `api` and no users.
fn live(api: ApiSettings) -> Live {
    Live::from_settings(Some(api), None).unwrap()
}

/// A server state whose door is drained by a task of the test (none when
/// `drain` is false: the queue then fills up).
fn rig(api: ApiSettings, capacity: usize, drain: bool) -> Rig {
    let door = Door::new(capacity).unwrap();
    let listing = Arc::new(Listing::default());
    let clock = Arc::new(FixedClock::new(NOW));
    let context = Context { door: door.clone(), listing, clock };
    let live = live(api);
    let seen = Arc::new(Mutex::new(Seen::default()));
    if drain {
        let seen = seen.clone();
        tokio::spawn(async move {
            loop {
                for command in door.take() {
                    answer(command, &seen);
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        });
    }
    Rig { shared: Shared::new(context, live), seen }
}

fn answer(command: Command, seen: &Mutex<Seen>) {
    let never: Network = "192.0.2.0/24".parse().unwrap();
    let allowed: Network = "198.51.100.0/24".parse().unwrap();
    match command {
        Command::Ban { requests, reply } => {
            let outcomes = requests
                .iter()
                .map(|r| match r.net {
                    n if never.overlaps(&n) => Outcome::Refused(Refusal::NeverBan),
                    n if allowed.overlaps(&n) => Outcome::Refused(Refusal::Allowed),
                    _ => Outcome::Banned(r.lifetime.end(NOW)),
                })
                .collect();
            seen.lock().unwrap().bans.push(requests);
            reply(outcomes);
        }
        Command::Unban { net, sets, origin, reply } => {
            let lifted = sets
                .iter()
                .map(|set| Lifted {
                    set: set.clone(),
                    was_stored: true,
                    still_covered: None,
                    let_in: 0,
                    kernel: Ok(()),
                })
                .collect();
            seen.lock().unwrap().unbans.push((net, sets, origin));
            reply(Ok(lifted));
        }
        Command::Reload | Command::Fleet { .. } | Command::Snapshot { .. } => {}
    }
}

const ROOT: Peer = Peer::Unix { uid: 0, pid: 1 };

struct Reply {
    status: u16,
    head: String,
    body: Value,
}

/// Sends raw bytes as one request (the connection closed after it) and
/// reads the whole answer.
async fn call_raw(shared: &Arc<Shared>, peer: Peer, tls: bool, raw: Vec<u8>) -> Reply {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let task = tokio::spawn(serve_connection(server, peer, tls, shared.clone()));
    client.write_all(&raw).await.unwrap();
    let mut out = Vec::new();
    client.read_to_end(&mut out).await.unwrap();
    task.await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Reply { status, head: head.to_owned(), body: serde_json::from_str(body).unwrap_or(Value::Null) }
}

async fn call(shared: &Arc<Shared>, peer: Peer, method: &str, path: &str, body: &str) -> Reply {
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    call_raw(shared, peer, false, raw.into_bytes()).await
}

fn set(name: &str) -> SetRef {
    SetRef::parse_nft(&format!("inet banwarden {name}")).unwrap()
}

#[tokio::test]
async fn rfw_put_bans_into_the_api_set_with_its_expiry() {
    let rig = rig(api(|_| {}), 100, true);
    let r = call(&rig.shared, ROOT, "PUT", "/drop/input/any/11.22.33.44?expire=10m", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["result"], "banned");
    assert_eq!(r.body["expiresIn"], 600);
    let r = call(&rig.shared, ROOT, "PUT", "/accept/input/any/203.0.113.0/24/?expire=1d", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&rig.shared, ROOT, "PUT", "/DROP/INPUT/ANY/2001:db8::/64", "").await;
    assert_eq!(r.body["until"], Value::Null, "api.defaultExpire absent: for good");
    let seen = rig.seen.lock().unwrap();
    let all: Vec<&BanRequest> = seen.bans.iter().flatten().collect();
    assert_eq!(all.len(), 3);
    assert_eq!((all[0].set.clone(), all[0].lifetime), (set("api_drop4"), Lifetime::from_seconds(Some(600))));
    assert_eq!(all[0].origin, Origin::Api { user: "root".into() });
    assert_eq!((all[1].net, all[1].set.clone()), ("203.0.113.0/24".parse().unwrap(), set("api_accept4")));
    assert_eq!(all[1].lifetime, Lifetime::from_seconds(Some(86_400)));
    assert_eq!(all[2].set, set("api_drop_net6"), "a network, into the networks' set");
}

#[tokio::test]
async fn rfw_refusals_and_unmapped_rules_say_why_and_send_nothing() {
    let rig = rig(api(|a| a.default_expire = Some(60)), 100, true);
    let r = call(&rig.shared, ROOT, "PUT", "/drop/input/eth0/11.22.33.44", "").await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"].as_str().unwrap().contains("interface eth0"), "{}", r.body);
    let r = call(&rig.shared, ROOT, "PUT", "/drop/output/any/11.22.33.44", "").await;
    assert_eq!(r.status, 400);
    let r = call(&rig.shared, ROOT, "PUT", "/drop/input/any/1.2.3.4%20%7D%3B%20flush%20ruleset", "").await;
    assert_eq!(r.status, 400, "nft syntax: {}", r.body);
    let r = call(&rig.shared, ROOT, "PUT", "/drop/input/any/1.2.3.4?expire=1w", "").await;
    assert_eq!(r.status, 400);
    assert!(rig.seen.lock().unwrap().bans.is_empty());
    let r = call(&rig.shared, ROOT, "PUT", "/drop/input/any/192.0.2.7", "").await;
    assert_eq!((r.status, &r.body["result"]), (403, &Value::from("refused")));
    let r = call(&rig.shared, ROOT, "PUT", "/drop/input/any/198.51.100.7", "").await;
    assert_eq!(r.status, 409, "an accept in place: {}", r.body);
    assert_eq!(rig.seen.lock().unwrap().bans[0][0].lifetime, Lifetime::from_seconds(Some(60)), "api.defaultExpire");
}

#[tokio::test]
async fn rfw_ignores_requests_about_its_clients() {
    let rig = rig(api(|a| a.clients = vec!["203.0.113.0/24".parse().unwrap()]), 100, true);
    for (method, path) in [("PUT", "/drop/input/any/203.0.113.9"), ("DELETE", "/drop/input/any/203.0.0.0/16")] {
        let r = call(&rig.shared, ROOT, method, path, "").await;
        assert_eq!((r.status, &r.body["result"]), (200, &Value::from("ignored")), "{}", r.body);
    }
    let seen = rig.seen.lock().unwrap();
    assert!(seen.bans.is_empty() && seen.unbans.is_empty());
}

#[tokio::test]
async fn rfw_delete_list_and_non_restful() {
    let rig = rig(api(|_| {}), 100, true);
    let r = call(&rig.shared, ROOT, "DELETE", "/drop/input/any/11.22.33.0/24", "").await;
    assert_eq!((r.status, &r.body["result"]), (200, &Value::from("lifted")), "{}", r.body);
    assert_eq!(rig.seen.lock().unwrap().unbans[0].1, [set("api_drop_net4")], "a network, from the networks' set");
    let r = call(&rig.shared, ROOT, "GET", "/drop/input/any/11.22.33.44?modify=insert", "").await;
    assert_eq!(r.status, 400, "GET needs api.nonRestful");
    assert!(rig.seen.lock().unwrap().bans.is_empty());
    rig.shared.replace(live(api(|a| a.non_restful = true)));
    let r = call(&rig.shared, ROOT, "GET", "/drop/input/any/11.22.33.44?modify=insert&expire=600s", "").await;
    assert_eq!((r.status, &r.body["result"]), (200, &Value::from("banned")));
    let r = call(&rig.shared, ROOT, "GET", "/drop/input/any/11.22.33.44?modify=delete", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(rig.seen.lock().unwrap().unbans.len(), 2);

    let listed = |until| Listed { until, origin: "api root".into(), start: 0 };
    rig.shared.context.listing.reset(HashMap::from([
        (set("api_drop4"), BTreeMap::from([("11.22.33.44".parse().unwrap(), listed(Until::At(NOW + 5_000_000)))])),
        (set("api_accept4"), BTreeMap::from([("10.0.0.0/8".parse().unwrap(), listed(Until::Forever))])),
    ]));
    let r = call(&rig.shared, ROOT, "GET", "/list/input", "").await;
    assert_eq!(r.status, 200);
    let rows = r.body.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{}", r.body);
    assert_eq!(
        (&rows[0]["target"], &rows[0]["source"], &rows[0]["expires"]),
        (&"DROP".into(), &"11.22.33.44".into(), &5.into())
    );
    assert_eq!(
        (&rows[1]["target"], &rows[1]["num"], &rows[1]["expires"]),
        (&"ACCEPT".into(), &"2".into(), &Value::Null)
    );
    let r = call(&rig.shared, ROOT, "GET", "/list/output", "").await;
    assert_eq!(r.body, Value::Array(vec![]));
    let r = call(&rig.shared, ROOT, "GET", "/v1/bans?within=11.0.0.0/8", "").await;
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 1, "{}", r.body);
    let r = call(&rig.shared, ROOT, "GET", "/v1/accepts?within=11.0.0.0/8", "").await;
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 0);
    let r = call(&rig.shared, ROOT, "GET", "/v1/bans?limit=x", "").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn v1_batches_a_list_into_one_command_and_answers_per_item() {
    let rig = rig(api(|_| {}), 100, true);
    let body = r#"[{"address":"11.22.33.44","duration":600,"reason":"spam"},
                   {"network":"192.0.2.0/28","duration":"1h"},
                   {"address":"198.51.100.9"}]"#;
    let r = call(&rig.shared, ROOT, "POST", "/v1/bans", body).await;
    assert_eq!(r.status, 409, "the worst item's: {}", r.body);
    let results = r.body["results"].as_array().unwrap();
    let words: Vec<&str> = results.iter().map(|i| i["result"].as_str().unwrap()).collect();
    assert_eq!(words, ["banned", "refused", "refused"]);
    assert_eq!(results[0]["expiresIn"], 600);
    assert_eq!(rig.seen.lock().unwrap().bans.len(), 1, "one command for the list");
    assert_eq!(rig.seen.lock().unwrap().bans[0][1].lifetime, Lifetime::from_seconds(Some(3600)));

    let r = call(&rig.shared, ROOT, "POST", "/v1/accepts", r#"{"address":"203.0.113.5"}"#).await;
    assert_eq!((r.status, &r.body["set"]), (200, &Value::from("inet banwarden api_accept4")));

    let r = call(&rig.shared, ROOT, "DELETE", "/v1/bans/11.22.33.0%2F24", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(&rig.shared, ROOT, "DELETE", "/v1/bans/2001:db8::/32", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = rig.seen.lock().unwrap();
    assert_eq!(seen.unbans[0].0, "11.22.33.0/24".parse().unwrap());
    // /v1 lifts a network from the sets of its family that take networks.
    let lifted_from = vec![set("api_drop_net6")];
    assert_eq!((seen.unbans[1].0, &seen.unbans[1].1), ("2001:db8::/32".parse().unwrap(), &lifted_from));
}

#[tokio::test]
async fn v1_bad_bodies_are_refused_whole() {
    let rig = rig(api(|_| {}), 100, true);
    for (body, needle) in [
        (r#"[{"address":"11.22.33.44"},{"address":"300.1.1.1"}]"#, "item 1"),
        (r#"{"address":"1.2.3.4","network":"1.2.3.0/24"}"#, "not both"),
        (r#"{"address":"1.2.3.4","duration":-5}"#, "not an item"),
        (r#"{"address":"1.2.3.4","colour":"red"}"#, "not an item"),
        (r#"{"address":"1.2.3.4","chain":"output"}"#, "no set is configured"),
        (r#"[]"#, "empty"),
        ("{", "not an item"),
    ] {
        let r = call(&rig.shared, ROOT, "POST", "/v1/bans", body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body["error"].as_str().unwrap().contains(needle), "{body}: {}", r.body);
    }
    let big = format!(r#"{{"address":"1.2.3.4","reason":"{}"}}"#, "x".repeat(BODY_LIMIT));
    let r = call(&rig.shared, ROOT, "POST", "/v1/bans", &big).await;
    assert_eq!(r.status, 413);
    let chunked = format!("POST /v1/bans HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let r = call_raw(&rig.shared, ROOT, false, chunked.into_bytes()).await;
    assert_eq!(r.status, 413, "chunked, over the limit");
    let r = call_raw(
        &rig.shared,
        ROOT,
        false,
        b"POST /v1/bans HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n".to_vec(),
    )
    .await;
    assert_eq!(r.status, 400, "broken chunks");
    assert!(rig.seen.lock().unwrap().bans.is_empty());
}

#[tokio::test]
async fn a_full_queue_is_a_503_with_retry_after() {
    let rig = rig(api(|_| {}), 1, false);
    rig.shared.context.door.send(Command::Reload).unwrap();
    let r = call(&rig.shared, ROOT, "PUT", "/drop/input/any/11.22.33.44", "").await;
    assert_eq!(r.status, 503);
    assert!(r.head.to_ascii_lowercase().contains("retry-after: 1"), "{}", r.head);
}

#[tokio::test]
async fn tcp_needs_credentials_and_https_a_client_address() {
    let rig = rig(api(|a| a.clients = vec!["10.9.0.0/16".parse().unwrap()]), 100, true);
    let peer = |ip: &str| Peer::Tcp(format!("{ip}:5000").parse().unwrap());
    let raw = |auth: &str| {
        format!("PUT /drop/input/any/11.22.33.44 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n{auth}\r\n").into_bytes()
    };
    let r = call_raw(&rig.shared, peer("10.9.0.1"), false, raw("")).await;
    assert_eq!(r.status, 401);
    assert!(r.head.to_ascii_lowercase().contains("www-authenticate: basic"), "{}", r.head);
    let r = call_raw(&rig.shared, peer("10.8.0.1"), true, raw("")).await;
    assert_eq!(r.status, 403, "HTTPS from outside api.clients");
    // No user matches (none configured here): a wrong password, slowed down.
    let started = tokio::time::Instant::now();
    let r = call_raw(&rig.shared, peer("10.9.7.7"), true, raw("authorization: Basic YWxpY2U6bm8=\r\n")).await;
    assert_eq!(r.status, 401);
    assert!(started.elapsed() >= gate::FIRST_DELAY);
    assert!(rig.seen.lock().unwrap().bans.is_empty());
}

#[tokio::test]
async fn broken_framing_and_slow_headers_end_the_connection() {
    let rig = rig(api(|_| {}), 100, true);
    let r = call_raw(&rig.shared, ROOT, false, b"\x16\x03\x01garbage\r\n\r\n".to_vec()).await;
    assert_eq!(r.status, 400);
    let huge = format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(HEADER_LIMIT * 2));
    let r = call_raw(&rig.shared, ROOT, false, huge.into_bytes()).await;
    assert!(r.status == 431 || r.status == 414 || r.status == 400, "{}", r.head);
    tokio::time::pause();
    let (mut client, server) = tokio::io::duplex(1024);
    let task = tokio::spawn(serve_connection(server, ROOT, false, rig.shared.clone()));
    client.write_all(b"PUT /drop/input/any/1.2.3.4 HTTP/1.1\r\nhost:").await.unwrap();
    tokio::time::advance(HEADER_TIME + std::time::Duration::from_secs(1)).await;
    let mut out = Vec::new();
    client.read_to_end(&mut out).await.unwrap();
    task.await.unwrap();
    assert!(rig.seen.lock().unwrap().bans.is_empty());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let rig = rig(api(|_| {}), 100, true);
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let task = tokio::spawn(serve_connection(server, ROOT, false, rig.shared.clone()));
    client.write_all(b"GET /list HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = client.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    tokio::time::pause();
    tokio::time::advance(HEADER_TIME + std::time::Duration::from_secs(1)).await;
    let n = tokio::time::timeout(std::time::Duration::from_secs(1), client.read(&mut buf)).await;
    assert!(matches!(n, Ok(Ok(0))), "closed after {HEADER_TIME:?} idle: {n:?}");
    task.await.unwrap();
}

#[tokio::test]
async fn a_good_password_over_tcp_bans_in_the_users_name() {
    let user = crate::config::api::ApiUser { name: "alice".into(), hash: auth::hash("s3cret") };
    let rig = rig(api(|a| a.users = vec![user]), 100, true);
    let peer = Peer::Tcp("10.7.0.1:4000".parse().unwrap());
    // alice:s3cret
    let raw = b"PUT /drop/input/any/11.22.33.44 HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Basic YWxpY2U6czNjcmV0\r\n\r\n";
    let r = call_raw(&rig.shared, peer, true, raw.to_vec()).await;
    assert_eq!((r.status, &r.body["result"]), (200, &Value::from("banned")), "{}", r.body);
    assert_eq!(rig.seen.lock().unwrap().bans[0][0].origin, Origin::Api { user: "alice".into() });
}
