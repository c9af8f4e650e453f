//! The fleet under faults, with real Redis servers (Debian's redis-server,
//! started here, stopped by PID) and real kernels: each host a
//! `banwarden run` in a network namespace of its own, on a private
//! journald, with the API's sets. Bans are decided on host A through its
//! Redis-protocol API (`redis-cli --pipe`, the fastest real path: 100,000
//! bans in a few seconds), shared with `share: ["rules", "api"]`.
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
//! - TLS with the tests' CA and an ACL user limited to the stream's keys,
//!   over veth links to a Redis namespace; a command denied to that user
//!   is a clear error in the log, and what waited is published once
//!   allowed again.
//!
//! Needs root, redis-server, redis-tools and openssl.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::bans::{Netns, SSH_RULES};
use super::journald::PrivateJournald;
use super::util::{require, text, wait_until, Daemon, API_SETS};

/// The stream every test uses (the default `fleet.stream`).
const STREAM: &str = "banwarden:bans";
/// Host A's API set for single IPv4 addresses, shared under that name.
const SET: &str = "api_drop4";

// ---------------------------------------------------------------- Redis

/// A redis-server of the test's own: its directory, a Unix socket in it
/// (reachable from every namespace), stopped by PID on drop.
struct Redis {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Arguments after the socket and directory ones, kept to restart.
    args: Vec<String>,
    /// The namespace it runs in, for its TCP side (replication, TLS).
    netns: Option<String>,
}

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn tools() -> bool {
    require(have("redis-server", &["--version"]), "needs redis-server (Debian's redis-server)")
        && require(have("redis-cli", &["--version"]), "needs redis-cli (Debian's redis-tools)")
        && require(have("openssl", &["version"]), "needs openssl")
}

impl Redis {
    /// Starts one with `args` (`--appendonly yes`...), in `netns` if given.
    fn start(args: &[&str], netns: Option<&str>) -> Redis {
        let mut redis = Redis {
            child: None,
            dir: tempfile::tempdir().unwrap(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            netns: netns.map(str::to_owned),
        };
        redis.launch();
        redis
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    fn launch(&mut self) {
        let mut command = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "redis-server"]);
                c
            }
            None => Command::new("redis-server"),
        };
        // `--port 0` unless the caller asks for TCP; no RDB save unless
        // asked: each test chooses its persistence.
        command
            .args(["--daemonize", "no", "--port", "0", "--save", "", "--unixsocketperm", "777"])
            .arg("--unixsocket")
            .arg(self.socket())
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().expect("redis-server starts");
        self.child = Some(child);
        // Ready once it answers PING (not LOADING its append-only file).
        let up = wait_until(30, || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("redis-server exited at start ({status}): {}", self.log());
            }
            self.try_cli(&["PING"]).is_some_and(|o| text(&o.stdout).trim() == "PONG")
        });
        assert!(up, "redis-server did not answer PING: {}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    fn try_cli(&self, args: &[&str]) -> Option<Output> {
        Command::new("redis-cli").arg("-s").arg(self.socket()).arg("--raw").args(args).output().ok()
    }

    /// `redis-cli --raw ARGS` over the socket, as the default user; its
    /// stdout, trimmed.
    fn cli(&self, args: &[&str]) -> String {
        let out = self.try_cli(args).unwrap();
        assert!(out.status.success(), "redis-cli {args:?}: {}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL, as a crash or the OOM killer would.
    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same directory, socket and arguments, and
    /// `more` of them.
    fn restart_with(&mut self, more: &[&str]) {
        self.args.extend(more.iter().map(|a| (*a).to_owned()));
        self.restart();
    }

    /// Starts it again on the same directory, socket and arguments.
    fn restart(&mut self) {
        assert!(self.child.is_none(), "still running");
        let _ = std::fs::remove_file(self.socket());
        self.launch();
    }

    /// Every entry of the stream: (ID, fields).
    fn entries(&self) -> Vec<(String, BTreeMap<String, String>)> {
        let raw = self.cli(&["XRANGE", STREAM, "-", "+"]);
        let mut entries: Vec<(String, BTreeMap<String, String>)> = Vec::new();
        let mut lines = raw.lines().peekable();
        // --raw flattens [[id, [k, v, ...]], ...]: an ID line, then pairs;
        // an ID is digits-dash-digits, which no field name is.
        let is_id = |l: &str| l.split_once('-').is_some_and(|(a, b)| {
            !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit())
        });
        while let Some(line) = lines.next() {
            assert!(is_id(line), "stream entry ID expected, got {line:?}");
            let mut fields = BTreeMap::new();
            while let Some(key) = lines.next_if(|l| !is_id(l)) {
                let value = lines.next().expect("a field's value");
                fields.insert(key.to_owned(), value.to_owned());
            }
            entries.push((line.to_owned(), fields));
        }
        entries
    }

    /// The newest entry's ID.
    fn last_id(&self) -> String {
        let raw = self.cli(&["XREVRANGE", STREAM, "+", "-", "COUNT", "1"]);
        raw.lines().next().expect("the stream is not empty").to_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill9();
    }
}

// ---------------------------------------------------------------- hosts

/// One banwarden host: its namespace (the API's sets in it), its journal,
/// its daemon when running, its Redis-protocol socket.
struct Host {
    name: String,
    // Dropped in this order: the daemon before its namespace and journal.
    daemon: Option<Daemon>,
    ns: Netns,
    journald: PrivateJournald,
}

impl Host {
    /// Host `name` in a namespace of its own, serving the Redis protocol
    /// on a socket, in the fleet `fleet` describes (`host` and `share`
    /// added); not started.
    fn new(name: &str, fleet: serde_json::Value) -> Option<Host> {
        let journald = PrivateJournald::start()?;
        let ns = Netns::new(SSH_RULES)?;
        ns.nft_script(API_SETS);
        ns.ip(&["link", "set", "lo", "up"]);
        let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&ns.config).unwrap()).unwrap();
        let socket = ns.state.path().join("resp.sock");
        config["resp"] = serde_json::json!({"listen": [format!("unix:{}", socket.display())]});
        let mut fleet = fleet;
        fleet["host"] = name.into();
        fleet["share"] = serde_json::json!(["rules", "api"]);
        config["fleet"] = fleet;
        std::fs::write(&ns.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        Some(Host { name: name.to_owned(), daemon: None, ns, journald })
    }

    fn socket(&self) -> PathBuf {
        self.ns.state.path().join("resp.sock")
    }

    fn start(&mut self) {
        assert!(self.daemon.is_none(), "{} runs already", self.name);
        let _ = std::fs::remove_file(self.socket());
        self.daemon = Some(self.ns.run(&self.journald));
        let socket = self.socket();
        assert!(wait_until(10, || socket.exists()), "{}: no socket at {}", self.name, socket.display());
    }

    /// SIGTERM; what it wrote on stderr (it must exit 0).
    fn stop(&mut self) -> String {
        let (status, stderr) = self.daemon.take().expect("running").stop();
        assert!(status.success(), "{} exited {status}:\n{stderr}", self.name);
        stderr
    }

    fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("running")
    }

    /// Bans `addresses` for an hour through the Redis-protocol API, in one
    /// `redis-cli --pipe`.
    fn ban(&self, addresses: &[String]) {
        let mut pipe = Vec::new();
        for address in addresses {
            pipe.extend(resp(&["TTL_DROP_INSERT", address, "3600"]));
        }
        let out = self.resp_pipe(&pipe);
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        let expect = format!("errors: 0, replies: {}", addresses.len());
        assert!(out.status.success() && said.contains(&expect), "{}: {said}", self.name);
    }

    /// Lifts `address`'s API ban through the Redis-protocol API.
    fn unban(&self, address: &str) {
        let out = self.resp_pipe(&resp(&["DROP_DELETE", address]));
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success() && said.contains("errors: 0, replies: 1"), "{}: {said}", self.name);
    }

    fn resp_pipe(&self, pipe: &[u8]) -> Output {
        let mut child = Command::new("redis-cli")
            .arg("-s")
            .arg(self.socket())
            .arg("--pipe")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let data = pipe.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }

    /// The addresses in the kernel's `inet banwarden api_drop4`.
    fn kernel(&self) -> BTreeSet<String> {
        self.ns.elements("inet", SET).into_iter().map(|(e, _)| e).collect()
    }

    /// `fleet.status`, once the running daemon has written it (a file of
    /// an earlier run, with another PID, is waited out).
    fn status(&self) -> serde_json::Value {
        let path = self.ns.storage().join("fleet.status");
        let pid = self.daemon.as_ref().map(Daemon::pid);
        let mut status = None;
        // Replaced by rename: a read sees a whole file or none.
        wait_until(10, || {
            status = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .filter(|s| pid.is_none_or(|pid| s["pid"] == pid));
            status.is_some()
        });
        status.unwrap_or_else(|| panic!("{}: no {}", self.name, path.display()))
    }

    /// Waits (at most `secs`) until the status says the daemon applied the
    /// stream up to `id`; how long it took.
    fn wait_position(&self, id: &str, secs: u64) -> Duration {
        let start = Instant::now();
        let reached = wait_until(secs, || {
            let position = self.status()["position"].as_str().map(str::to_owned);
            position.is_some_and(|p| stream_id(&p) >= stream_id(id))
        });
        assert!(reached, "{}: not at {id} after {secs} s: {:#}", self.name, self.status());
        start.elapsed()
    }

    /// The fleet position saved with the journal cursor (its 2nd line).
    fn saved_position(&self) -> Option<String> {
        let name = format!("journal@{}.cursor", self.journald.namespace());
        let text = std::fs::read_to_string(self.ns.storage().join(name)).ok()?;
        text.lines().find_map(|l| l.strip_prefix("fleet ")).map(str::to_owned)
    }

    /// The store's records of the API set, per address: how many `ban`
    /// records (snapshot and log), and whether the last one is an unban.
    fn stored(&self) -> BTreeMap<String, (usize, bool)> {
        let storage = self.ns.storage();
        let mut records: BTreeMap<String, (usize, bool)> = BTreeMap::new();
        let set = format!("inet banwarden {SET}");
        let snapshot = std::fs::read_to_string(storage.join("action_nftBan.json")).unwrap_or_else(|_| "[]".into());
        let snapshot: Vec<serde_json::Value> = serde_json::from_str(&snapshot).unwrap();
        let log = std::fs::read_to_string(storage.join("action_nftBan.json.log")).unwrap_or_default();
        let log = log.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap());
        for record in snapshot.into_iter().chain(log) {
            if record["nfSet"] != set.as_str() {
                continue;
            }
            let entry = records.entry(record["IP"].as_str().unwrap().to_owned()).or_default();
            match record["op"].as_str() {
                Some("unban") => entry.1 = true,
                _ => *entry = (entry.0 + 1, false),
            }
        }
        records
    }
}

impl Netns {
    fn ip(&self, args: &[&str]) {
        let out = Command::new("ip").args(["-n", &self.name]).args(args).output().unwrap();
        assert!(out.status.success(), "ip -n {} {args:?}: {}", self.name, text(&out.stderr));
    }
}

/// "1733612345678-3" as a number pair, to compare positions.
fn stream_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap(), seq.parse().unwrap())
}

fn resp(words: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend(format!("${}\r\n", w.len()).bytes());
        out.extend(w.as_bytes());
        out.extend(b"\r\n");
    }
    out
}

/// `count` distinct addresses of 10.`block`.0.0/16 and up, from `first`.
fn addresses(block: u8, first: u32, count: u32) -> Vec<String> {
    (first..first + count)
        .map(|i| format!("10.{}.{}.{}", block as u32 + (i >> 16), (i >> 8) & 255, i & 255))
        .collect()
}

/// Asserts every address of `want` is in `host`'s kernel set and once,
/// as a live ban, in its store.
fn holds_each_once(host: &Host, want: &[String]) {
    let kernel = host.kernel();
    let missing: Vec<&String> = want.iter().filter(|a| !kernel.contains(*a)).collect();
    assert!(missing.is_empty(), "{}: {} of {} bans missing in the kernel, e.g. {:?}", host.name, missing.len(), want.len(), &missing[..missing.len().min(5)]);
    let stored = host.stored();
    let wrong: Vec<(&String, Option<&(usize, bool)>)> =
        want.iter().map(|a| (a, stored.get(a))).filter(|(_, r)| *r != Some(&(1, false))).collect();
    assert!(wrong.is_empty(), "{}: {} bans not stored exactly once, e.g. {:?}", host.name, wrong.len(), &wrong[..wrong.len().min(5)]);
}

// ---------------------------------------------------------------- tests

/// A, B and C on one Redis with its append-only file fsynced at every
/// write. B applies a first ban, so it has a position, and is stopped;
/// Redis is killed during A's flood of 100,000 bans and started again.
/// C, running through it, and B, started after, end with every ban, each
/// once in their stores; B resumed from its saved position (no resync).
#[test]
fn redis_killed_during_a_flood_and_a_host_stopped_for_it() {
    if !tools() {
        return;
    }
    const N: u32 = 100_000;
    let mut redis = Redis::start(&["--appendonly", "yes", "--appendfsync", "always"], None);
    let fleet = serde_json::json!({"redis": redis.url()});
    let (Some(mut a), Some(mut b), Some(mut c)) =
        (Host::new("a", fleet.clone()), Host::new("b", fleet.clone()), Host::new("c", fleet))
    else {
        return;
    };
    for host in [&mut a, &mut b, &mut c] {
        host.start();
    }
    let first = vec!["192.0.2.1".to_owned()];
    a.ban(&first);
    let id = wait_for_stream(&redis, 1);
    b.wait_position(&id, 20);
    c.wait_position(&id, 20);
    let stderr = b.stop();
    let saved = b.saved_position().unwrap_or_else(|| panic!("b saved no fleet position:\n{stderr}"));
    assert_eq!(stream_id(&saved), stream_id(&id), "b's saved position");

    // The flood, through A's API; Redis is killed once it holds 30,000 of
    // it and started again a second later.
    let flood = addresses(0, 0, N);
    let started = Instant::now();
    let killed = std::thread::scope(|scope| {
        let killer = scope.spawn(|| {
            let reached = wait_until(120, || redis.cli(&["XLEN", STREAM]).parse::<u64>().unwrap_or(0) > 30_000);
            assert!(reached, "the flood did not reach Redis: {:#}", a.status());
            let published = redis.cli(&["XLEN", STREAM]);
            let pid = redis.pid();
            redis.kill9();
            std::thread::sleep(Duration::from_secs(1));
            redis.restart();
            (published, pid)
        });
        a.ban(&flood);
        killer.join().unwrap()
    });
    let banned_on_a = started.elapsed();
    let after_restart = redis.cli(&["XLEN", STREAM]).parse::<u64>().unwrap();
    assert!(after_restart >= killed.0.parse::<u64>().unwrap(), "the AOF kept {after_restart} of {} entries", killed.0);

    // Every decision of A, then every one on C (which ran through it).
    assert!(
        wait_until(180, || a.status()["pending"] == 0 && a.status()["published"].as_u64() >= Some(N as u64 + 1)),
        "a did not publish its flood: {:#}",
        a.status()
    );
    let last = redis.last_id();
    c.wait_position(&last, 180);
    let c_done = started.elapsed();
    let mut all = first.clone();
    all.extend(flood.iter().cloned());
    holds_each_once(&c, &all);

    // B resumes from its position: no resync.
    b.start();
    let b_took = b.wait_position(&last, 180);
    let b_status = b.status();
    assert_eq!(b_status["resyncs"], 0, "b resumed from its saved position, not the snapshot: {b_status:#}");
    holds_each_once(&b, &all);
    eprintln!(
        "flood of {N}: banned on a in {:.1} s (Redis killed at {} entries, PID {}); \
         c applied all {:.1} s after the flood began; b, started again, caught up in {:.1} s ({:.0} bans/s)",
        banned_on_a.as_secs_f64(),
        killed.0,
        killed.1,
        c_done.as_secs_f64(),
        b_took.as_secs_f64(),
        N as f64 / b_took.as_secs_f64(),
    );

    // The stream: each decision at least once; a decision twice only when
    // the kill cut the reply to a write Redis had made (A could not know
    // it was made, and wrote it again), so only an identical copy, of a
    // write in flight at the kill, which the hosts apply as nothing new.
    let entries = redis.entries();
    let mut seen: BTreeMap<String, Vec<&BTreeMap<String, String>>> = BTreeMap::new();
    for (_, fields) in &entries {
        assert_eq!(fields.get("host").map(String::as_str), Some("a"), "{fields:?}");
        seen.entry(fields["net"].clone()).or_default().push(fields);
    }
    assert_eq!(seen.len(), all.len(), "distinct addresses in the stream");
    let twice: Vec<_> = seen.iter().filter(|(_, copies)| copies.len() > 1).collect();
    for (net, copies) in &twice {
        assert!(copies.len() == 2 && copies[0] == copies[1], "{net}: {copies:?}");
    }
    assert!(twice.len() <= 1_000, "{} entries written twice: more than one batch in flight", twice.len());
    eprintln!("stream: {} entries for {} bans ({} written twice across the kill)", entries.len(), all.len(), twice.len());
    assert_eq!(redis.cli(&["HLEN", &format!("{STREAM}:live")]), all.len().to_string(), "the snapshot of live bans");

    // An entry applied a second time changes nothing: copies of ten of A's
    // entries, written again by hand, leave B's store as it was.
    let log = b.ns.storage().join("action_nftBan.json.log");
    let before = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    for (_, fields) in entries.iter().skip(100).take(10) {
        let mut args = vec!["XADD", STREAM, "*"];
        for (k, v) in fields {
            args.extend([k.as_str(), v.as_str()]);
        }
        redis.cli(&args);
    }
    b.wait_position(&redis.last_id(), 20);
    assert_eq!(std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0), before, "b's store grew from entries it had");
    holds_each_once(&b, &all);

    let stderr = a.stop();
    let outages = stderr.matches("fleet: cannot reach Redis").count();
    assert_eq!(outages, 1, "one warning for the one outage:\n{}", tail(&stderr, 40));
    b.stop();
    c.stop();
}

/// Waits until the stream holds `n` entries; the newest one's ID.
fn wait_for_stream(redis: &Redis, n: u64) -> String {
    let reached = wait_until(20, || redis.cli(&["XLEN", STREAM]).parse::<u64>().unwrap_or(0) >= n);
    assert!(reached, "the stream holds {} entries, not {n}", redis.cli(&["XLEN", STREAM]));
    redis.last_id()
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// B stopped; meanwhile A lifts one of its bans and makes new ones, and
/// the stream is trimmed to nothing (`XTRIM MAXLEN 0`), past B's position.
/// B starts again from the snapshot of live bans: it ends with exactly
/// them, the lifted one gone, and its own ban by hand (not the fleet's)
/// kept.
#[test]
fn stream_trimmed_past_a_stopped_host() {
    if !tools() {
        return;
    }
    let redis = Redis::start(&[], None);
    let fleet = serde_json::json!({"redis": redis.url()});
    let (Some(mut a), Some(mut b)) = (Host::new("a", fleet.clone()), Host::new("b", fleet)) else { return };
    a.start();
    b.start();
    let before = addresses(1, 0, 50);
    a.ban(&before);
    b.wait_position(&wait_for_stream(&redis, 50), 20);
    assert!(before.iter().all(|x| b.kernel().contains(x)), "b applied a's first bans");
    let by_hand = b.ns.banwarden(&["ban", "198.51.100.9", "--set", &format!("inet banwarden {SET}"), "--for", "1h"]);
    assert!(by_hand.status.success(), "{}", text(&by_hand.stderr));
    b.stop();

    let lifted = &before[7];
    a.unban(lifted);
    let after = addresses(2, 0, 50);
    a.ban(&after);
    wait_for_stream(&redis, 101);
    redis.cli(&["XTRIM", STREAM, "MAXLEN", "0"]);
    assert_eq!(redis.cli(&["XLEN", STREAM]), "0");

    b.start();
    let reached = wait_until(30, || b.status()["resyncs"].as_u64() >= Some(1));
    assert!(reached, "b did not resync: {:#}", b.status());
    let live: BTreeSet<String> = redis
        .cli(&["HKEYS", &format!("{STREAM}:live")])
        .lines()
        .map(|k| k.strip_prefix(&format!("{SET} ")).unwrap_or_else(|| panic!("snapshot key {k:?}")).to_owned())
        .collect();
    let mut want: BTreeSet<String> = before.iter().chain(&after).filter(|x| *x != lifted).cloned().collect();
    assert_eq!(live, want, "the snapshot: a's live bans");
    want.insert("198.51.100.9".into());
    assert!(wait_until(30, || b.kernel() == want), "b's kernel set after the resync: {:?}", b.kernel().symmetric_difference(&want).collect::<Vec<_>>());
    let stored = b.stored();
    assert_eq!(stored.get(lifted), Some(&(1, true)), "the ban lifted while b was away is lifted in its store");
    let in_store: BTreeSet<String> = stored.iter().filter(|(_, (_, unbanned))| !unbanned).map(|(a, _)| a.clone()).collect();
    assert_eq!(in_store, want, "b's store after the resync");
    // Resumed: new bans of A flow again from where the snapshot left it.
    let later = vec!["192.0.2.77".to_owned()];
    a.ban(&later);
    assert!(wait_until(20, || b.kernel().contains(&later[0])), "b follows the stream after its resync");
    let stderr = b.stop();
    assert!(stderr.contains("fleet: "), "b logs its resync:\n{}", tail(&stderr, 20));
    a.stop();
}

/// A namespace of its own for Redis's TCP side (loopback up).
fn redis_netns() -> Option<Netns> {
    let ns = Netns::new(super::bans::NO_RULES)?;
    ns.ip(&["link", "set", "lo", "up"]);
    Some(ns)
}

/// Whether `replica` says its link to its primary is up.
fn linked(replica: &Redis) -> bool {
    replica.cli(&["INFO", "replication"]).contains("master_link_status:up")
}

/// A primary and its replica, the hosts told both (`redis: [primary,
/// replica]`) and to count an entry published once one replica has it
/// (`replicas: 1`). The primary is killed once A has published a first
/// 1,000 bans; A bans 500 more while no primary answers; the replica is
/// promoted (`REPLICAOF NO ONE`) and the old primary comes back as its
/// replica; 500 more. Every ban A counted as published is on the promoted
/// server, and all 2,000 reach B and C.
#[test]
fn replica_promoted_after_its_primary_is_killed() {
    if !tools() {
        return;
    }
    let Some(net) = redis_netns() else { return };
    let (p_port, q_port) = ("7101", "7102");
    let mut primary = Redis::start(&["--port", p_port, "--bind", "127.0.0.1"], Some(&net.name));
    let replica =
        Redis::start(&["--port", q_port, "--bind", "127.0.0.1", "--replicaof", "127.0.0.1", p_port], Some(&net.name));
    assert!(wait_until(20, || linked(&replica)), "the replica never linked: {}", replica.log());
    let fleet = serde_json::json!({"redis": [primary.url(), replica.url()], "replicas": 1});
    let (Some(mut a), Some(mut b), Some(mut c)) =
        (Host::new("a", fleet.clone()), Host::new("b", fleet.clone()), Host::new("c", fleet))
    else {
        return;
    };
    for host in [&mut a, &mut b, &mut c] {
        host.start();
    }
    let first = addresses(3, 0, 1_000);
    a.ban(&first);
    let acknowledged = wait_until(60, || a.status()["published"].as_u64() >= Some(1_000) && a.status()["pending"] == 0);
    assert!(acknowledged, "a did not publish: {:#}", a.status());
    let published = a.status()["published"].as_u64().unwrap();
    primary.kill9();
    // What A counted as published is on the replica: WAIT said so.
    let on_replica = replica.cli(&["XLEN", STREAM]).parse::<u64>().unwrap();
    assert!(on_replica >= published, "a counted {published} entries published, the replica holds {on_replica}");

    // No primary: A's bans wait in its spool.
    let during = addresses(4, 0, 500);
    a.ban(&during);
    assert!(a.daemon().wait_for_stderr("fleet: cannot reach Redis", 1, 30), "a did not notice the outage");
    let promoted = Instant::now();
    replica.cli(&["REPLICAOF", "NO", "ONE"]);
    primary.restart_with(&["--replicaof", "127.0.0.1", q_port]);
    assert!(wait_until(20, || linked(&primary)), "the old primary never linked to the new one: {}", primary.log());
    let after = addresses(5, 0, 500);
    a.ban(&after);

    let all: Vec<String> = first.iter().chain(&during).chain(&after).cloned().collect();
    assert!(
        wait_until(120, || a.status()["pending"] == 0 && a.status()["published"].as_u64() >= Some(2_000)),
        "a did not publish after the failover: {:#}",
        a.status()
    );
    let last = replica.last_id();
    for host in [&b, &c] {
        host.wait_position(&last, 60);
        holds_each_once(host, &all);
    }
    eprintln!("failover: every ban on b and c {:.1} s after the promotion", promoted.elapsed().as_secs_f64());
    let distinct: BTreeSet<String> = replica.entries().into_iter().map(|(_, f)| f["net"].clone()).collect();
    assert_eq!(distinct.len(), all.len(), "the promoted server's stream");
    for mut host in [a, b, c] {
        host.stop();
    }
}

/// Links `host`'s namespace to the bridge `br0` of `hub` (veth `vNAME`
/// there, `eth0` in the host), the host at `address`/24.
fn link(hub: &Netns, host: &Host, address: &str) {
    let peer = format!("v{}", host.name);
    hub.ip(&["link", "add", &peer, "type", "veth", "peer", "name", "eth0", "netns", &host.ns.name]);
    hub.ip(&["link", "set", &peer, "master", "br0", "up"]);
    host.ns.ip(&["addr", "add", &format!("{address}/24"), "dev", "eth0"]);
    host.ns.ip(&["link", "set", "eth0", "up"]);
}

/// Redis with TLS only (its CA the tests'), in a namespace of its own
/// bridged to A's and B's, and an ACL user that may use the stream and its
/// snapshot keys and nothing else. Bans flow over it; then XADD is denied
/// to that user: A says so in its log, clearly, and goes on, its bans
/// waiting in the spool; once XADD is allowed again they reach B.
#[test]
fn tls_and_an_acl_user_limited_to_the_fleet_keys() {
    if !tools() {
        return;
    }
    const PASSWORD: &str = "fleet secret 7";
    const HUB: &str = "10.77.0.1";
    let Some(hub) = redis_netns() else { return };
    hub.ip(&["link", "add", "br0", "type", "bridge"]);
    hub.ip(&["addr", "add", &format!("{HUB}/24"), "dev", "br0"]);
    hub.ip(&["link", "set", "br0", "up"]);
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = super::util::test_ca_for(pki.path(), &[HUB]);
    let paths = [&cert, &key, &ca].map(|p| p.to_str().unwrap().to_owned());
    let redis = Redis::start(
        &[
            "--tls-port", "6379", "--bind", HUB, "--tls-cert-file", &paths[0], "--tls-key-file", &paths[1],
            "--tls-ca-cert-file", &paths[2], "--tls-auth-clients", "no",
            // The default user (no password) is the test's, on the Unix
            // socket; the namespace's only other peers are the hosts.
            "--protected-mode", "no",
        ],
        Some(&hub.name),
    );
    // The commands of streams, hashes, sorted sets and scripts, on the
    // fleet's keys only; ROLE and INFO to find the primary and the lag,
    // WAIT for `replicas`. No other key, no admin command, no channel.
    let user = [
        "ACL", "SETUSER", "bw", "reset", "on", &format!(">{PASSWORD}"), &format!("~{STREAM}"), &format!("~{STREAM}:*"),
        "-@all", "+@stream", "+@hash", "+@sortedset", "+@scripting", "+@connection", "+role", "+info",
    ];
    assert_eq!(redis.cli(&user), "OK");
    let password_file = pki.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let fleet = serde_json::json!({
        "redis": format!("rediss://{HUB}:6379"),
        "user": "bw",
        "passwordFile": password_file,
        "tls": {"ca": ca},
    });
    let (Some(mut a), Some(mut b)) = (Host::new("a", fleet.clone()), Host::new("b", fleet)) else { return };
    link(&hub, &a, "10.77.0.2");
    link(&hub, &b, "10.77.0.3");
    // The path itself, before any daemon: bw over TLS from B's namespace.
    let ping = Command::new("ip")
        .args(["netns", "exec", &b.ns.name, "redis-cli", "--tls", "--cacert", &paths[2], "-h", HUB, "-p", "6379"])
        .args(["--user", "bw", "--pass", PASSWORD, "--no-auth-warning", "PING"])
        .output()
        .unwrap();
    assert_eq!(text(&ping.stdout).trim(), "PONG", "{}", text(&ping.stderr));
    a.start();
    b.start();
    let first = addresses(6, 0, 100);
    a.ban(&first);
    b.wait_position(&wait_for_stream(&redis, 100), 30);
    holds_each_once(&b, &first);
    let clients = redis.cli(&["CLIENT", "LIST"]);
    assert!(clients.contains("user=bw"), "the hosts are connected as bw:\n{clients}");

    // XADD denied to bw: a clear error, no crash, the bans kept.
    assert_eq!(redis.cli(&["ACL", "SETUSER", "bw", "-xadd"]), "OK");
    let denied = addresses(6, 100, 10);
    a.ban(&denied);
    let said = a.daemon().wait_for_stderr("'xadd'", 1, 30);
    assert!(said, "a did not log the denied XADD");
    assert!(a.status()["pending"].as_u64() >= Some(1), "the denied bans wait in the spool: {:#}", a.status());
    a.ban(&["192.0.2.200".to_owned()]);
    assert!(a.kernel().contains("192.0.2.200"), "a still bans while Redis refuses it");
    assert_eq!(redis.cli(&["ACL", "SETUSER", "bw", "+xadd"]), "OK");
    let mut all = first.clone();
    all.extend(denied.iter().cloned());
    all.push("192.0.2.200".into());
    assert!(wait_until(60, || all.iter().all(|x| b.kernel().contains(x))), "b lacks the bans published after XADD was allowed again");
    holds_each_once(&b, &all);
    let stderr = a.stop();
    let line = stderr.lines().find(|l| l.contains("'xadd'")).unwrap();
    assert!(line.contains("fleet: ") && (line.contains("NOPERM") || line.contains("no permissions")), "{line}");
    assert!(!stderr.contains(PASSWORD), "the password is never logged");
    b.stop();
}
