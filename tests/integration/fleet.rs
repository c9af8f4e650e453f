//! The fleet with real parts: Debian's redis-server started by the test
//! ([`Redis`]: a Unix socket in a temporary directory, optionally AOF, TCP
//! or TLS in a network namespace of its own, a replica), and daemons each
//! in a network namespace of its own with a private journald, its own
//! nftables sets and its own storage ([`Host`]). The scenarios here are
//! three hosts A, B and C sharing bans; `fleet_faults` reuses the harness
//! for Redis and hosts going away. Everything started is stopped by its
//! PID and every namespace deleted on drop, a failing test included. Root
//! only, and redis-server and redis-cli (Debian's redis-server,
//! redis-tools).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::bans::{ok, stored, Netns, NO_RULES};
use super::journald::PrivateJournald;
use super::util::{require, test_ca_for, text, wait_until, Daemon, API_SETS};

const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// The address of Redis's namespace on the bridge that linked hosts join
/// (each host gets the next one, .2 upwards).
pub(crate) const REDIS_ADDR: &str = "10.77.0.1";
/// Bound of every wait for something to happen (a ban to propagate, a
/// server to answer).
pub(crate) const WAIT_SECS: u64 = 10;

/// Whether redis-server and redis-cli are here (a skip line, or a failure
/// under `CI=true`, when not).
pub(crate) fn have_redis() -> bool {
    let cli = Command::new("redis-cli").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    require(Path::new(REDIS_SERVER).exists(), "needs redis-server (Debian's redis-server)")
        && require(cli, "needs redis-cli (Debian's redis-tools)")
}

/// How a [`Redis`] is started.
#[derive(Clone, Debug, Default)]
pub(crate) struct RedisOptions {
    /// Append-only file, fsynced at every write (`--appendfsync always`):
    /// what Redis acknowledged survives a kill -9.
    pub aof: bool,
    /// A plain TCP port on [`REDIS_ADDR`] in a namespace of its own
    /// ([`Redis::url`]), for replicas and hosts linked to it.
    pub tcp: bool,
    /// A TLS port instead of the plain one, its certificate signed by a
    /// test CA ([`Redis::ca`]), valid for [`REDIS_ADDR`] and 127.0.0.1.
    pub tls: bool,
}

/// The namespace Redis servers listen in when they have a TCP port, with
/// a bridge at [`REDIS_ADDR`] that hosts join by a veth pair each.
pub(crate) struct RedisNet {
    ns: Netns,
    next_port: AtomicUsize,
    next_host: AtomicUsize,
}

impl RedisNet {
    fn new() -> Option<RedisNet> {
        let ns = Netns::new(NO_RULES)?;
        for cmd in [
            "ip link set lo up",
            "ip link add br0 type bridge",
            &format!("ip addr add {REDIS_ADDR}/24 dev br0"),
            "ip link set br0 up",
        ] {
            ip_in(&ns.name, cmd);
        }
        Some(RedisNet { ns, next_port: AtomicUsize::new(6379), next_host: AtomicUsize::new(2) })
    }

    pub(crate) fn name(&self) -> &str {
        &self.ns.name
    }

    /// Joins namespace `other` to the bridge (a veth pair made from this
    /// namespace, its far end created in `other`: the host's own network
    /// is never touched); the address `other` got.
    pub(crate) fn link(&self, other: &str) -> String {
        let n = self.next_host.fetch_add(1, Ordering::Relaxed);
        assert!(n < 255, "too many hosts on one Redis bridge");
        let addr = format!("10.77.0.{n}");
        ip_in(&self.ns.name, &format!("ip link add vb{n} type veth peer name fleet0 netns {other}"));
        ip_in(&self.ns.name, &format!("ip link set vb{n} master br0 up"));
        ip_in(other, &format!("ip addr add {addr}/24 dev fleet0"));
        ip_in(other, "ip link set fleet0 up");
        ip_in(other, "ip link set lo up");
        addr
    }
}

/// Runs `ip netns exec NS CMD` (words split on spaces); panics if it fails.
pub(crate) fn ip_in(ns: &str, cmd: &str) {
    let out = Command::new("ip").args(["netns", "exec", ns]).args(cmd.split(' ')).output().unwrap();
    assert!(out.status.success(), "ip netns exec {ns} {cmd}: {}", text(&out.stderr));
}

/// One redis-server of the test's own, `--daemonize no`, on a Unix socket
/// in its temporary directory (reachable from every namespace: the file
/// system is shared), with `--save ""` unless AOF is asked for; stopped
/// by its PID on drop.
pub(crate) struct Redis {
    child: Option<Child>,
    args: Vec<String>,
    dir: tempfile::TempDir,
    /// The namespace of its TCP or TLS port, if it has one.
    net: Option<Arc<RedisNet>>,
    port: Option<u16>,
    tls: bool,
}

impl Redis {
    /// A Redis on a Unix socket only, no persistence.
    pub(crate) fn start() -> Option<Redis> {
        Redis::with(RedisOptions::default())
    }

    pub(crate) fn with(options: RedisOptions) -> Option<Redis> {
        if !have_redis() {
            return None;
        }
        let net = if options.tcp || options.tls { Some(Arc::new(RedisNet::new()?)) } else { None };
        Some(Redis::launch(options, net, None, None))
    }

    /// A replica of this server (which must have a TCP or TLS port), in
    /// the same namespace on the next port, with the same TLS material.
    pub(crate) fn replica(&self, aof: bool) -> Redis {
        let net = self.net.clone().expect("a replica needs a primary with a TCP or TLS port");
        let options = RedisOptions { aof, tcp: true, tls: self.tls };
        let ca = self.tls.then(|| self.dir.path().to_owned());
        Redis::launch(options, Some(net), ca.as_deref(), self.port)
    }

    /// Makes the command line, then starts it; `ca_from`: the directory
    /// of an existing test CA (a replica's), else a new one is made;
    /// `primary`: the port of the primary it replicates (`--replicaof`).
    fn launch(
        options: RedisOptions,
        net: Option<Arc<RedisNet>>,
        ca_from: Option<&Path>,
        primary: Option<u16>,
    ) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_owned();
        let mut args: Vec<String> = vec![];
        let port = net.as_ref().map(|n| n.next_port.fetch_add(1, Ordering::Relaxed) as u16);
        if let Some(net) = &net {
            args.extend(["ip", "netns", "exec", net.name()].map(str::to_owned));
        }
        args.push(REDIS_SERVER.to_owned());
        for (k, v) in [
            ("--daemonize", "no"),
            ("--dir", &d),
            ("--unixsocket", &format!("{d}/redis.sock")),
            ("--unixsocketperm", "700"),
            ("--logfile", &format!("{d}/redis.log")),
            ("--save", ""),
        ] {
            args.extend([k.to_owned(), v.to_owned()]);
        }
        if options.aof {
            args.extend(["--appendonly", "yes", "--appendfsync", "always"].map(str::to_owned));
        }
        match (port, options.tls) {
            (None, _) => args.extend(["--port", "0"].map(str::to_owned)),
            (Some(p), false) => args.extend(["--port".into(), p.to_string()]),
            (Some(p), true) => {
                let (ca, cert, key) = match ca_from {
                    Some(from) => (from.join("ca.crt"), from.join("server.crt"), from.join("server.key")),
                    None => test_ca_for(dir.path(), &[REDIS_ADDR, "127.0.0.1"]),
                };
                let path = |p: PathBuf| p.to_str().unwrap().to_owned();
                args.extend(["--port".into(), "0".into(), "--tls-port".into(), p.to_string()]);
                args.extend(["--tls-cert-file".into(), path(cert), "--tls-key-file".into(), path(key)]);
                args.extend(["--tls-ca-cert-file".into(), path(ca.clone())]);
                // Clients need no certificate; replicas speak TLS to their primary.
                args.extend(["--tls-auth-clients", "no", "--tls-replication", "yes"].map(str::to_owned));
                if ca_from.is_some() {
                    std::fs::copy(&ca, dir.path().join("ca.crt")).unwrap();
                }
            }
        }
        if port.is_some() {
            // Its own namespace: every address, no protected mode (hosts
            // reach it from the bridge, not from loopback).
            args.extend(["--bind", "*", "--protected-mode", "no"].map(str::to_owned));
        }
        if let Some(primary) = primary {
            args.extend(["--replicaof".into(), REDIS_ADDR.into(), primary.to_string()]);
        }
        let mut redis = Redis { child: None, args, dir, net, port, tls: options.tls };
        redis.restart();
        redis
    }

    /// Starts it again after [`Redis::kill9`] (or stops it first with
    /// SIGTERM): the same directory, socket, port and AOF. Returns once
    /// PING answers PONG (the AOF loaded).
    pub(crate) fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's PID, not yet reaped.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket());
        let child = Command::new(&self.args[0])
            .args(&self.args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{:?}: {e}", self.args));
        self.child = Some(child);
        let up = wait_until(WAIT_SECS, || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("redis-server exited at start ({status}): {}", self.log());
            }
            self.cli_output(&["PING"]).is_some_and(|o| o.trim() == "PONG")
        });
        assert!(up, "redis-server does not answer PING after {WAIT_SECS} s: {}", self.log());
    }

    /// SIGKILL, and waits until it is gone.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its PID (redis-server's own: `ip netns exec` execs it).
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("redis-server is running").id()
    }

    pub(crate) fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// The URL a daemon on any namespace reaches it at over its socket.
    pub(crate) fn unix_url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// `redis://10.77.0.1:PORT` (or `rediss://`), for hosts linked to its
    /// namespace ([`Host::start`] links them).
    pub(crate) fn url(&self) -> String {
        let port = self.port.expect("a Redis with a TCP or TLS port");
        format!("{}://{REDIS_ADDR}:{port}", if self.tls { "rediss" } else { "redis" })
    }

    /// The test CA's certificate, for `fleet.tls.ca` (TLS only).
    pub(crate) fn ca(&self) -> PathBuf {
        assert!(self.tls, "a Redis without TLS has no CA");
        self.dir.path().join("ca.crt")
    }

    pub(crate) fn net(&self) -> Option<&Arc<RedisNet>> {
        self.net.as_ref()
    }

    /// `redis-cli -s SOCKET ARGS`: its stdout, trimmed; panics if
    /// redis-cli fails (a Redis error reply is output, not a failure).
    pub(crate) fn cli(&self, args: &[&str]) -> String {
        self.cli_output(args).unwrap_or_else(|| panic!("redis-cli {args:?} failed; redis log: {}", self.log()))
    }

    /// [`Redis::cli`] with `--json` (RESP3): arrays, maps as objects.
    pub(crate) fn cli_json(&self, args: &[&str]) -> Value {
        let out = self.cli(&[&["--json"][..], args].concat());
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("redis-cli --json {args:?}: {e}: {out}"))
    }

    fn cli_output(&self, args: &[&str]) -> Option<String> {
        let out =
            Command::new("redis-cli").arg("-s").arg(self.socket()).args(args).stdin(Stdio::null()).output().ok()?;
        out.status.success().then(|| text(&out.stdout).trim().to_owned())
    }

    /// The stream's entries, oldest first: (ID, fields in order).
    pub(crate) fn entries(&self, stream: &str) -> Vec<(String, Vec<(String, String)>)> {
        let all = self.cli_json(&["XRANGE", stream, "-", "+"]);
        let entry = |e: &Value| {
            let id = e[0].as_str().unwrap().to_owned();
            let flat: Vec<String> = e[1].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
            (id, flat.chunks(2).map(|kv| (kv[0].clone(), kv[1].clone())).collect())
        };
        all.as_array().map(|a| a.iter().map(entry).collect()).unwrap_or_default()
    }

    /// Its log file.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The sets of every host: (family, name, shared name). The rule bans
/// into ban4/ban6; plain4 exists in the kernel but no rule names it.
pub(crate) const HOST_SETS: [(&str, &str); 3] = [("ip", "ban4"), ("ip", "plain4"), ("ip6", "ban6")];

/// sshd failures counted per address, banned for 10 minutes at the third.
pub(crate) const SSHD_RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_counterRaise", "args": {"counter": "sshd", "for": "ip", "keepSeconds": 600, "save": "tries"}},
    {"filter": "filter_greaterOrEquals", "args": {"field": "tries", "value": 3}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "ip banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 600}}
]}, "storage": "STORAGE"}"#;

/// One banwarden daemon of the fleet: its network namespace (with the
/// sets of [`HOST_SETS`] and the API's, [`API_SETS`]), its private
/// journald, its storage, its configuration ([`SSHD_RULES`] and a `fleet`
/// key). Its stderr (the
/// daemon's log) is captured across restarts; its stdout is not used.
pub(crate) struct Host {
    /// Dropped first: the daemon before its namespace and journal.
    daemon: Option<Daemon>,
    /// `fleet.host`.
    pub name: String,
    pub ns: Netns,
    pub journald: PrivateJournald,
    /// What earlier runs wrote on stderr.
    earlier: String,
    /// Its address on Redis's bridge, if linked.
    #[allow(dead_code, reason = "where a linked host is on the bridge, for whoever debugs a test")]
    pub addr: Option<String>,
}

impl Host {
    /// A host `name` of the fleet of `redis` (over its Unix socket; its
    /// namespace linked to Redis's when it has a TCP port, so `edit` may
    /// switch `fleet.redis` to [`Redis::url`]), configured by
    /// [`SSHD_RULES`] and `fleet: {redis, host, timeout: 2}`, then by
    /// `edit`; the daemon started (not waiting for the fleet's
    /// connection: [`Host::wait_connected`]).
    pub(crate) fn start(name: &str, redis: &Redis, edit: impl FnOnce(&mut Value)) -> Option<Host> {
        let journald = PrivateJournald::start()?;
        let ns = Netns::new(NO_RULES)?;
        // The API's sets too, for hosts whose `edit` serves the API.
        ns.nft_script(API_SETS);
        let addr = redis.net().map(|net| net.link(&ns.name));
        let mut config: Value =
            serde_json::from_str(&SSHD_RULES.replace("STORAGE", ns.storage().to_str().unwrap())).unwrap();
        config["fleet"] = json!({"redis": redis.unix_url(), "host": name, "timeout": 2});
        edit(&mut config);
        std::fs::write(&ns.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        let mut host = Host { daemon: None, name: name.to_owned(), ns, journald, earlier: String::new(), addr };
        host.start_again();
        Some(host)
    }

    /// Starts the daemon again (same storage, journal and configuration),
    /// after [`Host::stop`] or [`Host::kill9`].
    pub(crate) fn start_again(&mut self) {
        assert!(self.daemon.is_none(), "host {} is running", self.name);
        self.daemon = Some(self.ns.run(&self.journald));
    }

    /// Three sshd failures of `ip` in its journal: a ban by its rule.
    pub(crate) fn attack(&self, ip: &str) {
        for port in [40001, 40002, 40003] {
            self.journald.log("sshd", &format!("Failed password for root from {ip} port {port} ssh2"));
        }
    }

    /// The addresses in one of its kernel sets ([`HOST_SETS`]), sorted.
    pub(crate) fn held(&self, set: &str) -> Vec<String> {
        self.held_timeouts(set).into_iter().map(|(net, _)| net).collect()
    }

    /// [`Host::held`] with the seconds left of each (None: no timeout).
    pub(crate) fn held_timeouts(&self, set: &str) -> Vec<(String, Option<u64>)> {
        let (family, _) = HOST_SETS.iter().find(|(_, s)| *s == set).unwrap_or_else(|| panic!("no set {set}"));
        self.ns.elements(family, set)
    }

    /// Every element of every set of [`HOST_SETS`]: (set, address).
    pub(crate) fn held_everywhere(&self) -> Vec<(String, String)> {
        HOST_SETS.iter().flat_map(|(_, set)| self.held(set).into_iter().map(|net| (set.to_string(), net))).collect()
    }

    /// Whether `ip` is in `set` within [`WAIT_SECS`].
    pub(crate) fn gets(&self, set: &str, ip: &str) -> bool {
        wait_until(WAIT_SECS, || self.held(set).iter().any(|n| n == ip))
    }

    /// Whether `ip` has left `set` within [`WAIT_SECS`].
    pub(crate) fn loses(&self, set: &str, ip: &str) -> bool {
        wait_until(WAIT_SECS, || !self.held(set).iter().any(|n| n == ip))
    }

    /// Everything the daemon wrote on stderr, this run and the earlier ones.
    pub(crate) fn log(&self) -> String {
        let now = self.daemon.as_ref().map(Daemon::stderr_so_far).unwrap_or_default();
        format!("{}{now}", self.earlier)
    }

    /// Whether its log holds `needle` `n` times within [`WAIT_SECS`].
    pub(crate) fn logs(&self, needle: &str, n: usize) -> bool {
        wait_until(WAIT_SECS, || self.log().matches(needle).count() >= n)
    }

    /// Its store: the snapshot and the append log, as text.
    pub(crate) fn store(&self) -> String {
        stored(&self.ns.storage())
    }

    /// `<storage>/fleet.status`, as written last (Null while absent).
    pub(crate) fn status(&self) -> Value {
        let file = self.ns.storage().join("fleet.status");
        std::fs::read(file).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null)
    }

    /// Waits (at most [`WAIT_SECS`]) until its status says connected.
    pub(crate) fn wait_connected(&self) {
        let ok = wait_until(WAIT_SECS, || self.status()["connected"] == json!(true));
        assert!(ok, "host {} not connected to Redis: {}\n{}", self.name, self.status(), self.log());
    }

    /// `banwarden ARGS --config ITS_CONFIG` in its namespace; its stdout
    /// (panics if it fails).
    pub(crate) fn banwarden(&self, args: &[&str]) -> String {
        ok(&self.ns.banwarden(args))
    }

    /// SIGTERM, then checks it exited 0; what it wrote on stderr.
    pub(crate) fn stop(&mut self) -> String {
        let (status, stderr) = self.daemon.take().expect("host running").stop();
        self.earlier.push_str(&stderr);
        assert!(status.success(), "host {} exited {status}: {}", self.name, self.earlier);
        stderr
    }

    /// The daemon's PID, while it runs.
    pub(crate) fn pid(&self) -> u32 {
        self.daemon.as_ref().expect("host running").pid()
    }

    /// Whether the daemon still runs (it has not exited).
    pub(crate) fn running(&mut self) -> bool {
        self.daemon.as_mut().is_some_and(|d| d.exited().is_none())
    }
}

/// Hosts `a`, `b` and `c` on `redis`, each configured by `edit(name,
/// config)`, connected.
pub(crate) fn three(redis: &Redis, edit: impl Fn(&str, &mut Value)) -> Option<[Host; 3]> {
    let start = |name: &str| Host::start(name, redis, |c| edit(name, c));
    let hosts = [start("a")?, start("b")?, start("c")?];
    for host in &hosts {
        host.wait_connected();
    }
    Some(hosts)
}

/// The harness itself: AOF survives a kill -9, a replica follows its
/// primary over TLS, and a host's namespace reaches both on the bridge.
#[test]
fn harness_redis_aof_replica_and_tls_from_a_linked_namespace() {
    let Some(mut redis) = Redis::with(RedisOptions { aof: true, tcp: true, tls: true }) else { return };
    assert_eq!(redis.cli(&["XADD", "s", "1-1", "k", "v"]), "1-1");
    let replica = redis.replica(false);
    let pid = redis.pid();
    redis.kill9();
    redis.restart();
    assert_ne!(redis.pid(), pid);
    assert_eq!(redis.entries("s"), [("1-1".to_owned(), vec![("k".to_owned(), "v".to_owned())])]);
    assert!(wait_until(WAIT_SECS, || replica.entries("s").len() == 1), "replica: {}", replica.log());
    let ns = Netns::new(NO_RULES).unwrap();
    let addr = redis.net().unwrap().link(&ns.name);
    assert!(addr.starts_with("10.77.0."), "{addr}");
    for port in [redis.port.unwrap(), replica.port.unwrap()] {
        let out = Command::new("ip")
            .args(["netns", "exec", &ns.name, "redis-cli", "--tls", "--cacert"])
            .arg(redis.ca())
            .args(["-h", REDIS_ADDR, "-p", &port.to_string(), "XLEN", "s"])
            .output()
            .unwrap();
        assert_eq!(text(&out.stdout).trim(), "1", "port {port}: {}", text(&out.stderr));
    }
}
