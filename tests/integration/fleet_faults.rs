//! The fleet under faults, on the harness of `fleet` (Debian's
//! redis-server started by the test and stopped by PID; each host a
//! `banwarden run` in a network namespace of its own, on a private
//! journald). Bans are decided on host A through its Redis-protocol API
//! (`redis-cli --pipe`, the fastest real path: 100,000 bans in seconds),
//! into its API set `inet banwarden api_drop4`, shared with `share:
//! ["rules", "api"]`; every host has that set, under the same name.
//!
//! - Redis killed (`kill -9`) during a flood of 100,000 bans and started
//!   again on its append-only file, while host B is stopped (SIGTERM) for
//!   the whole flood: C, which ran through it, and B, which resumes from
//!   the position saved with its journal cursor, end with every ban, each
//!   once in their stores;
//! - the stream trimmed past B's position while B is stopped: B starts
//!   again from the snapshot of live bans, and lifts the ban A lifted
//!   meanwhile;
//! - a replica promoted (`REPLICAOF NO ONE`) after its primary is killed:
//!   with `replicas: 1` nothing A counted as published is lost;
//! - TLS with the tests' CA and an ACL user limited to the stream's keys;
//!   a command denied to that user is a clear error in the log, and what
//!   waited is published once it is allowed again.
//!
//! Needs root, redis-server and redis-tools.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::fleet::{Host, Redis, RedisOptions};
use super::util::{text, wait_until};

/// The stream every test uses (the default `fleet.stream`).
const STREAM: &str = "banwarden:bans";
/// The API's set for single IPv4 addresses, shared under that name.
const SET: &str = "api_drop4";
/// Lines the publisher sends in one script (`fleet::publish::BATCH`).
const BATCH: usize = 1024;

/// Host `name` of `redis`'s fleet serving the Redis-protocol API on a
/// socket in `sockets`, sharing its API bans; `fleet` merged into its
/// `fleet` key.
fn host(name: &str, redis: &Redis, sockets: &Path, fleet: Value) -> Option<Host> {
    let socket = sockets.join(format!("{name}.sock"));
    let _ = std::fs::remove_file(&socket);
    let host = Host::start(name, redis, |config| {
        config["resp"] = json!({"listen": [format!("unix:{}", socket.display())]});
        config["fleet"]["share"] = json!(["rules", "api"]);
        for (k, v) in fleet.as_object().unwrap() {
            config["fleet"][k] = v.clone();
        }
    })?;
    assert!(wait_until(10, || socket.exists()), "{name}: no socket at {}:\n{}", socket.display(), host.log());
    Some(host)
}

/// Host `name`'s API socket.
fn socket(sockets: &Path, host: &Host) -> PathBuf {
    sockets.join(format!("{}.sock", host.name))
}

/// Bans `addresses` for an hour through `host`'s Redis-protocol API, in
/// one `redis-cli --pipe`.
fn ban(sockets: &Path, host: &Host, addresses: &[String]) {
    let mut pipe = Vec::new();
    for address in addresses {
        pipe.extend(crate::util::resp_command(&["TTL_DROP_INSERT", address, "3600"]));
    }
    api(sockets, host, &pipe, addresses.len());
}

/// Lifts `address`'s API ban through `host`'s Redis-protocol API.
fn unban(sockets: &Path, host: &Host, address: &str) {
    api(sockets, host, &crate::util::resp_command(&["DROP_DELETE", address]), 1);
}

/// `redis-cli --pipe` of `pipe` to `host`'s API; all `n` answered.
fn api(sockets: &Path, host: &Host, pipe: &[u8], n: usize) {
    let out = pipe_into(&socket(sockets, host), pipe);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && said.contains(&format!("errors: 0, replies: {n}")), "{}: {said}", host.name);
}

fn pipe_into(socket: &Path, pipe: &[u8]) -> Output {
    crate::util::output_with_stdin(Command::new("redis-cli").arg("-s").arg(socket).arg("--pipe"), pipe)
}

/// The addresses in `host`'s kernel set `inet banwarden api_drop4`.
fn kernel(host: &Host) -> BTreeSet<String> {
    host.ns.elements("inet", SET).into_iter().map(|(e, _)| e).collect()
}

/// `fleet.status` as the running daemon wrote it (a file of an earlier
/// run, with another PID, is waited out).
fn status(host: &Host) -> Value {
    let pid = host.pid();
    let mut status = Value::Null;
    wait_until(10, || {
        status = host.status();
        status["pid"] == pid
    });
    assert!(status["pid"] == pid, "{}: no status of PID {pid}: {status}", host.name);
    status
}

/// Waits (at most `secs`) until `host` has applied the stream up to `id`;
/// how long it took.
fn wait_position(host: &Host, id: &str, secs: u64) -> Duration {
    let start = Instant::now();
    let reached = wait_until(secs, || status(host)["position"].as_str().is_some_and(|p| stream_id(p) >= stream_id(id)));
    assert!(reached, "{}: not at {id} after {secs} s: {:#}\n{}", host.name, status(host), tail(&host.log(), 20));
    start.elapsed()
}

/// "1733612345678-3" as numbers, to compare positions.
fn stream_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap(), seq.parse().unwrap())
}

/// The position saved with `host`'s journal cursor (its `fleet ID` line).
fn saved_position(host: &Host) -> Option<String> {
    let name = format!("journal@{}.cursor", host.journald.namespace());
    let text = std::fs::read_to_string(host.ns.storage().join(name)).ok()?;
    text.lines().find_map(|l| l.strip_prefix("fleet ")).map(str::to_owned)
}

/// `host`'s store records of the API set, per address: how many ban
/// records (snapshot and log), and whether the last record is an unban.
fn stored(host: &Host) -> BTreeMap<String, (usize, bool)> {
    let storage = host.ns.storage();
    let set = format!("inet banwarden {SET}");
    let snapshot = std::fs::read_to_string(storage.join("action_nftBan.json")).unwrap_or_else(|_| "[]".into());
    let snapshot: Vec<Value> = serde_json::from_str(&snapshot).unwrap();
    let log = std::fs::read_to_string(storage.join("action_nftBan.json.log")).unwrap_or_default();
    let log = log.lines().map(|l| serde_json::from_str::<Value>(l).unwrap());
    let mut records: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    for record in snapshot.into_iter().chain(log).filter(|r| r["nfSet"] == set.as_str()) {
        let entry = records.entry(record["IP"].as_str().unwrap().to_owned()).or_default();
        match record["op"].as_str() {
            Some("unban") => entry.1 = true,
            _ => *entry = (entry.0 + 1, false),
        }
    }
    records
}

/// Asserts every address of `want` is in `host`'s kernel set, and stored
/// exactly once, as a live ban.
fn holds_each_once(host: &Host, want: &[String]) {
    let kernel = kernel(host);
    let missing: Vec<&String> = want.iter().filter(|a| !kernel.contains(*a)).collect();
    let (n, some) = (missing.len(), &missing[..missing.len().min(5)]);
    assert!(n == 0, "{}: {n} of {} bans missing in the kernel, e.g. {some:?}", host.name, want.len());
    let stored = stored(host);
    let wrong: Vec<_> = want.iter().map(|a| (a, stored.get(a))).filter(|(_, r)| *r != Some(&(1, false))).collect();
    let (n, some) = (wrong.len(), &wrong[..wrong.len().min(5)]);
    assert!(n == 0, "{}: {n} bans not stored exactly once, e.g. {some:?}", host.name);
}

/// `count` distinct addresses from 10.`block`.0.0 on.
fn addresses(block: u8, first: u32, count: u32) -> Vec<String> {
    (first..first + count).map(|i| format!("10.{}.{}.{}", block as u32 + (i >> 16), (i >> 8) & 255, i & 255)).collect()
}

/// The stream's length.
fn xlen(redis: &Redis) -> u64 {
    redis.cli(&["XLEN", STREAM]).parse().unwrap_or(0)
}

/// Waits until the stream holds `n` entries; the newest one's ID.
fn wait_for_stream(redis: &Redis, n: u64) -> String {
    assert!(wait_until(20, || xlen(redis) >= n), "the stream holds {} entries, not {n}", xlen(redis));
    last_id(redis)
}

/// The newest entry's ID.
fn last_id(redis: &Redis) -> String {
    let newest = redis.cli_json(&["XREVRANGE", STREAM, "+", "-", "COUNT", "1"]);
    newest[0][0].as_str().expect("the stream is not empty").to_owned()
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---------------------------------------------------------------- tests

/// A, B and C on one Redis with its append-only file fsynced at every
/// write. B applies a first ban, so it has a position, and is stopped;
/// Redis is killed during A's flood of 100,000 bans and started again.
/// C, running through it, and B, started after, end with every ban, each
/// once in their stores; B resumed from its saved position (no resync).
#[test]
fn redis_killed_during_a_flood_and_a_host_stopped_for_it() {
    const N: u32 = 100_000;
    let Some(mut redis) = Redis::with(RedisOptions { aof: true, ..RedisOptions::default() }) else { return };
    let sockets = tempfile::tempdir().unwrap();
    let sockets = sockets.path();
    let (Some(a), Some(mut b), Some(c)) = (
        host("a", &redis, sockets, json!({})),
        host("b", &redis, sockets, json!({})),
        host("c", &redis, sockets, json!({})),
    ) else {
        return;
    };
    let first = vec!["192.0.2.1".to_owned()];
    ban(sockets, &a, &first);
    let id = wait_for_stream(&redis, 1);
    wait_position(&b, &id, 20);
    wait_position(&c, &id, 20);
    let stderr = b.stop();
    let saved = saved_position(&b).unwrap_or_else(|| panic!("b saved no fleet position:\n{stderr}"));
    assert_eq!(saved, id, "b's position saved with its journal cursor");

    // The flood, through A's API; Redis is killed once it holds 30,000 of
    // it and started again a second later, on its append-only file.
    let flood = addresses(0, 0, N);
    let started = Instant::now();
    let (at_kill, pid) = std::thread::scope(|scope| {
        let killer = scope.spawn(|| {
            let reached = wait_until(120, || xlen(&redis) > 30_000);
            assert!(reached, "the flood did not reach Redis: {:#}", status(&a));
            let (at_kill, pid) = (xlen(&redis), redis.pid());
            redis.kill9();
            std::thread::sleep(Duration::from_secs(1));
            redis.restart();
            (at_kill, pid)
        });
        ban(sockets, &a, &flood);
        killer.join().unwrap()
    });
    let banned_on_a = started.elapsed();
    let kept = xlen(&redis);
    assert!(kept >= at_kill, "the append-only file kept {kept} of the {at_kill} entries before the kill");

    // A publishes every decision; C, which ran through the outage, has them.
    let all: Vec<String> = first.iter().chain(&flood).cloned().collect();
    let published = wait_until(180, || {
        let s = status(&a);
        s["pending"] == 0 && s["published"].as_u64() >= Some(all.len() as u64)
    });
    assert!(published, "a did not publish its flood: {:#}", status(&a));
    let last = last_id(&redis);
    wait_position(&c, &last, 180);
    let c_done = started.elapsed();
    holds_each_once(&c, &all);

    // B resumes from its saved position: no resync.
    b.start_again();
    let b_took = wait_position(&b, &last, 180);
    let b_status = status(&b);
    assert_eq!(b_status["resyncs"], 0, "b resumed from its saved position, not the snapshot: {b_status:#}");
    holds_each_once(&b, &all);
    eprintln!(
        "flood of {N}: banned on a in {:.1} s (Redis PID {pid} killed at {at_kill} entries); c had all {:.1} s \
         after the flood began; b, started again, caught up in {:.1} s ({:.0} bans/s)",
        banned_on_a.as_secs_f64(),
        c_done.as_secs_f64(),
        b_took.as_secs_f64(),
        N as f64 / b_took.as_secs_f64(),
    );

    // The stream: each decision at least once. A decision is there twice
    // only when the kill cut the reply to a batch Redis had written (A
    // could not know, and sent the batch again): identical copies, of at
    // most one batch (the one in flight), which the hosts applied as
    // nothing new (their stores above).
    let entries = redis.entries(STREAM);
    let mut copies: BTreeMap<String, Vec<&Vec<(String, String)>>> = BTreeMap::new();
    for (_, fields) in &entries {
        let net = fields.iter().find(|(k, _)| k == "net").map(|(_, v)| v.clone()).unwrap();
        copies.entry(net).or_default().push(fields);
    }
    assert_eq!(copies.len(), all.len(), "distinct addresses in the stream");
    let twice: Vec<_> = copies.iter().filter(|(_, c)| c.len() > 1).collect();
    for (net, c) in &twice {
        assert!(c.len() == 2 && c[0] == c[1], "{net}: {c:?}");
    }
    assert!(twice.len() <= BATCH, "{} entries written twice: more than the one batch in flight", twice.len());
    eprintln!(
        "stream: {} entries for {} bans ({} written twice across the kill)",
        entries.len(),
        all.len(),
        twice.len()
    );
    let live = redis.cli(&["HLEN", &format!("{STREAM}:live")]);
    assert_eq!(live, all.len().to_string(), "the snapshot of live bans");

    // An entry applied a second time changes nothing: ten of A's entries,
    // written again by hand, leave B's store as it was.
    let log = b.ns.storage().join("action_nftBan.json.log");
    let size = || std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let before = size();
    for (_, fields) in entries.iter().skip(100).take(10) {
        let mut args = vec!["XADD", STREAM, "*"];
        for (k, v) in fields {
            args.extend([k.as_str(), v.as_str()]);
        }
        redis.cli(&args);
    }
    wait_position(&b, &last_id(&redis), 20);
    assert_eq!(size(), before, "b's store grew from entries it had applied");

    for (host, mut h) in [("a", a), ("c", c)] {
        let stderr = h.stop();
        let outages = stderr.matches("fleet: cannot reach Redis").count();
        assert_eq!(outages, 1, "{host}: one warning for the one outage:\n{}", tail(&stderr, 40));
        assert!(stderr.contains("works again"), "{host}: and one when it is over:\n{}", tail(&stderr, 40));
    }
    b.stop();
}

/// B stopped; meanwhile A lifts one of its bans and makes new ones, and
/// the stream is trimmed to nothing (`XTRIM MAXLEN 0`), past B's position.
/// B starts again from the snapshot of live bans: it ends with exactly
/// them, the lifted one gone, and its own ban by hand (not the fleet's)
/// kept.
#[test]
fn stream_trimmed_past_a_stopped_host() {
    let Some(redis) = Redis::start() else { return };
    let sockets = tempfile::tempdir().unwrap();
    let sockets = sockets.path();
    let (Some(mut a), Some(mut b)) = (host("a", &redis, sockets, json!({})), host("b", &redis, sockets, json!({})))
    else {
        return;
    };
    let before = addresses(1, 0, 50);
    ban(sockets, &a, &before);
    wait_position(&b, &wait_for_stream(&redis, 50), 20);
    let by_hand = "198.51.100.9";
    b.banwarden(&["ban", by_hand, "--set", &format!("inet banwarden {SET}"), "--for", "1h"]);
    b.stop();

    let lifted = &before[7];
    unban(sockets, &a, lifted);
    let after = addresses(2, 0, 50);
    ban(sockets, &a, &after);
    wait_for_stream(&redis, 101);
    redis.cli(&["XTRIM", STREAM, "MAXLEN", "0"]);
    assert_eq!(xlen(&redis), 0);

    b.start_again();
    assert!(wait_until(30, || status(&b)["resyncs"].as_u64() >= Some(1)), "b did not resync: {:#}", status(&b));
    let live: BTreeSet<String> = redis
        .cli(&["HKEYS", &format!("{STREAM}:live")])
        .lines()
        .map(|k| k.strip_prefix(&format!("{SET} ")).unwrap_or_else(|| panic!("snapshot key {k:?}")).to_owned())
        .collect();
    let mut want: BTreeSet<String> = before.iter().chain(&after).filter(|x| *x != lifted).cloned().collect();
    assert_eq!(live, want, "the snapshot: a's live bans");
    want.insert(by_hand.into());
    let same = wait_until(30, || kernel(&b) == want);
    assert!(
        same,
        "b's kernel set after the resync, off by {:?}",
        kernel(&b).symmetric_difference(&want).collect::<Vec<_>>()
    );
    let stored = stored(&b);
    assert_eq!(stored.get(lifted), Some(&(1, true)), "the ban lifted while b was away is lifted in its store");
    let in_store: BTreeSet<String> = stored.iter().filter(|(_, (_, gone))| !gone).map(|(a, _)| a.clone()).collect();
    assert_eq!(in_store, want, "b's store after the resync");
    assert!(b.logs("fleet: resynchronised from the snapshot: 99 live bans", 1), "{}", tail(&b.log(), 20));
    // And it reads on: a new ban of A reaches it.
    ban(sockets, &a, &["192.0.2.77".to_owned()]);
    assert!(wait_until(20, || kernel(&b).contains("192.0.2.77")), "b follows the stream after its resync");
    b.stop();
    a.stop();
}

/// Whether `replica` says its link to its primary is up.
fn linked(replica: &Redis) -> bool {
    replica.cli(&["INFO", "replication"]).contains("master_link_status:up")
}

/// A primary and its replica, the hosts told both (`redis: [primary,
/// replica]`) and to count an entry published once a replica has it
/// (`replicas: 1`). The primary is killed once A has published a first
/// 1,000 bans; A bans 500 more while no primary answers; the replica is
/// promoted (`REPLICAOF NO ONE`) and given a replica of its own; 500 more.
/// Every ban A counted as published is on the promoted server, and all
/// 2,000 reach B and C.
#[test]
fn replica_promoted_after_its_primary_is_killed() {
    let Some(mut primary) = Redis::with(RedisOptions { tcp: true, ..RedisOptions::default() }) else { return };
    let replica = primary.replica(false);
    assert!(wait_until(20, || linked(&replica)), "the replica never linked: {}", replica.log());
    let sockets = tempfile::tempdir().unwrap();
    let sockets = sockets.path();
    let fleet = json!({"redis": [primary.url(), replica.url()], "replicas": 1});
    let (Some(a), Some(b), Some(c)) = (
        host("a", &primary, sockets, fleet.clone()),
        host("b", &primary, sockets, fleet.clone()),
        host("c", &primary, sockets, fleet),
    ) else {
        return;
    };
    let first = addresses(3, 0, 1_000);
    ban(sockets, &a, &first);
    let acknowledged = wait_until(60, || status(&a)["published"].as_u64() >= Some(1_000) && status(&a)["pending"] == 0);
    assert!(acknowledged, "a did not publish: {:#}\n{}", status(&a), tail(&a.log(), 20));
    let published = status(&a)["published"].as_u64().unwrap();
    primary.kill9();
    // What A counted as published is on the replica: WAIT said so.
    let on_replica = xlen(&replica);
    assert!(on_replica >= published, "a counted {published} entries published, the replica holds {on_replica}");

    // No primary: A's bans wait in its spool.
    let during = addresses(4, 0, 500);
    ban(sockets, &a, &during);
    assert!(a.logs("fleet: cannot reach Redis", 1), "a did not notice the outage:\n{}", tail(&a.log(), 20));
    let promoted = Instant::now();
    assert_eq!(replica.cli(&["REPLICAOF", "NO", "ONE"]), "OK");
    let second = replica.replica(false);
    assert!(wait_until(20, || linked(&second)), "the new replica never linked: {}", second.log());
    let after = addresses(5, 0, 500);
    ban(sockets, &a, &after);

    let all: Vec<String> = first.iter().chain(&during).chain(&after).cloned().collect();
    let done = wait_until(120, || status(&a)["pending"] == 0 && status(&a)["published"].as_u64() >= Some(2_000));
    assert!(done, "a did not publish after the failover: {:#}\n{}", status(&a), tail(&a.log(), 20));
    let last = last_id(&replica);
    for host in [&b, &c] {
        wait_position(host, &last, 60);
        holds_each_once(host, &all);
    }
    eprintln!("failover: every ban on b and c {:.1} s after the promotion", promoted.elapsed().as_secs_f64());
    let nets: BTreeSet<String> = replica
        .entries(STREAM)
        .into_iter()
        .filter_map(|(_, f)| f.into_iter().find(|(k, _)| k == "net"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(nets.len(), all.len(), "the promoted server's stream");
    for mut host in [a, b, c] {
        host.stop();
    }
}

/// Redis with TLS only (its certificate signed by the tests' CA), and an
/// ACL user that may use the stream and its snapshot keys and nothing
/// else. Bans flow over it; then XADD is denied to that user: A says so
/// in its log, clearly, and goes on, its bans waiting in the spool; once
/// XADD is allowed again they reach B.
#[test]
fn tls_and_an_acl_user_limited_to_the_fleet_keys() {
    const PASSWORD: &str = "fleet secret 7";
    let Some(redis) = Redis::with(RedisOptions { tls: true, ..RedisOptions::default() }) else { return };
    // doc/fleet.md's rule: the commands the client sends, on the stream
    // and its two snapshot keys only. No other key, command or channel.
    let keys = [format!(">{PASSWORD}"), format!("~{STREAM}"), format!("~{STREAM}:live"), format!("~{STREAM}:ends")];
    let mut user = vec!["ACL", "SETUSER", "bw", "reset", "on", "resetchannels"];
    user.extend(keys.iter().map(String::as_str));
    user.extend(["+evalsha", "+script|load", "+xadd", "+zadd", "+hset", "+zrem", "+hdel", "+zrangebyscore"]);
    user.extend(["+xread", "+xinfo|stream", "+hscan", "+wait", "+role"]);
    assert_eq!(redis.cli(&user), "OK");
    let secrets = tempfile::tempdir().unwrap();
    let password_file = secrets.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let sockets = secrets.path();
    let fleet = json!({"redis": redis.url(), "user": "bw", "passwordFile": password_file, "tls": {"ca": redis.ca()}});
    let (Some(a), Some(b)) = (host("a", &redis, sockets, fleet.clone()), host("b", &redis, sockets, fleet)) else {
        return;
    };
    let first = addresses(6, 0, 100);
    ban(sockets, &a, &first);
    wait_position(&b, &wait_for_stream(&redis, 100), 30);
    holds_each_once(&b, &first);
    let clients = redis.cli(&["CLIENT", "LIST"]);
    assert!(clients.matches("user=bw").count() >= 2, "the hosts are connected as bw, over TLS:\n{clients}");
    let denied_key = redis.cli(&["ACL", "DRYRUN", "bw", "SET", "other", "1"]);
    assert!(denied_key.contains("no permissions"), "bw may not touch other keys: {denied_key}");

    // XADD denied to bw: a clear error, said once however often the
    // publisher tries again (its backoff reaches 5 s: 8 s of refusals are
    // about 7 tries), no crash, the bans kept.
    assert_eq!(redis.cli(&["ACL", "SETUSER", "bw", "-xadd"]), "OK");
    let logged = a.log().len();
    let denied = addresses(6, 100, 10);
    ban(sockets, &a, &denied);
    let refusal = |l: &&str| ["NOPERM", "no permissions", "can't run this command"].iter().any(|w| l.contains(w));
    let said = wait_until(10, || a.log()[logged..].lines().any(|l| refusal(&l)));
    assert!(said, "a did not log the denied XADD:\n{}", tail(&a.log(), 20));
    std::thread::sleep(Duration::from_secs(8));
    let log = a.log()[logged..].to_owned();
    let lines: Vec<&str> = log.lines().filter(refusal).collect();
    assert!(lines[0].contains("fleet: "), "{}", lines[0]);
    // Checked last, so that what follows is checked whatever the count.
    let (refusals, first_refusal) = (lines.len(), lines[0].to_owned());
    assert!(status(&a)["pending"].as_u64() >= Some(10), "the denied bans wait in the spool: {:#}", status(&a));
    ban(sockets, &a, &["192.0.2.200".to_owned()]);
    assert!(kernel(&a).contains("192.0.2.200"), "a still bans while Redis refuses it");
    assert_eq!(redis.cli(&["ACL", "SETUSER", "bw", "+xadd"]), "OK");
    let mut all = first.clone();
    all.extend(denied.iter().cloned());
    all.push("192.0.2.200".into());
    let flowed = wait_until(60, || all.iter().all(|x| kernel(&b).contains(x)));
    assert!(flowed, "b lacks the bans published after XADD was allowed again:\n{}", tail(&a.log(), 20));
    holds_each_once(&b, &all);
    for mut host in [a, b] {
        let stderr = host.stop();
        assert!(!stderr.contains(PASSWORD), "the password is never logged");
    }
    assert_eq!(
        refusals,
        1,
        "the refusal said once, not at each of the tries of 8 s:\n{first_refusal}\n{}",
        tail(&log, 6)
    );
}
