//! The fleet benchmark's rig: a Redis server of its own on a Unix socket,
//! hosts that are each a network namespace (`ip netns add`, deleted on
//! drop) with their own nftables sets, private journald and `banwarden
//! run`, and the ways the benchmark sees into a host's kernel: `nft
//! monitor` read as it prints (each element stamped when its line
//! arrives), or a netlink lookup of one element from a thread that has
//! entered the host's namespace. Every process is a child of the
//! benchmark, stopped by its PID. Included with `#[path]` by
//! benches/fleet.rs (a module of that benchmark, not one of its own).

use std::io::{BufRead, BufReader, Write as _};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use banwarden::firewall::nft::{NftClient, NftSet};

use super::journald::PrivateJournald;
use super::sandbox::RunningDaemon;

/// The sets of every host: the rules' (`inet fleet ban4/ban6`) and the
/// API's as the shipped ruleset names them (`resp.listen` alone makes the
/// daemon use those), so that both a rule's ban and an API ban have a set
/// of the same name on every host.
pub const SETS: &str = concat!(
    "table inet fleet {
    set ban4 { type ipv4_addr; flags timeout; }
    set ban6 { type ipv6_addr; flags timeout; }
}
",
    include_str!("../tests/integration/api_sets.nft")
);

/// Where a rule's ban goes, and an API ban.
pub const RULE_SET: &str = "inet fleet ban4";
pub const API_SET: &str = "inet banwarden api_drop4";

/// One failed password bans at once: every host runs these rules, as a
/// fleet would.
const RULES: &str = r#"[
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "inet fleet ban4", "nftSetIPv6": "inet fleet ban6", "banSeconds": 3600}}
]"#;

/// 10.0.0.0/8 numbered: the benchmark's addresses, each phase a range of
/// its own.
pub fn address(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff))
}

/// The CPU time process `pid` has used, all its threads (utime + stime of
/// /proc/PID/stat), in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses: state is the
    // 3rd field of the line, utime the 14th and stime the 15th.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / hz
}

/// The machine's load average over the last minute: the benchmark shares
/// two cores, and its figures say how busy they were.
pub fn load() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// The load average at a phase's start and now, as the page shows it.
pub fn load_text(before: f64) -> String {
    format!("{before:.1} to {:.1}", load())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `redis-server` on a Unix socket in `dir`, no TCP port, AOF written and
/// fsynced every second (what a fleet that must not lose bans runs), no
/// RDB snapshots. Stopped by its PID on drop.
pub struct Redis {
    child: Child,
    pub socket: PathBuf,
}

impl Redis {
    pub fn start(dir: &Path) -> Redis {
        let socket = dir.join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--daemonize", "no", "--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", "everysec", "--unixsocketperm", "700", "--loglevel", "warning"])
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (Debian package redis-server)");
        let mut redis = Redis { child, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = redis.child.try_wait() {
                panic!("redis-server exited at start ({status}); see {}", dir.join("redis.log").display());
            }
            if redis.socket.exists() && redis::cmd("PING").query::<String>(&mut redis.connect()).is_ok() {
                return redis;
            }
            assert!(Instant::now() < deadline, "redis-server not answering on {}", redis.socket.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn connect(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().expect("a connection to the bench's Redis")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The CPU time Redis has used, all its threads, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid())
    }

    /// One field of `INFO section` ("used_memory").
    pub fn info(&self, section: &str, field: &str) -> String {
        let text: String = redis::cmd("INFO").arg(section).query(&mut self.connect()).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
            .unwrap_or_else(|| panic!("INFO {section} has no {field}"))
            .trim()
            .to_owned()
    }

    /// `INFO commandstats` as (command, calls, microseconds).
    pub fn command_stats(&self) -> Vec<(String, u64, u64)> {
        let text: String = redis::cmd("INFO").arg("commandstats").query(&mut self.connect()).unwrap();
        text.lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let value = |key: &str| {
                    rest.split(',').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse::<u64>().ok())
                };
                Some((name.to_owned(), value("calls")?, value("usec")?))
            })
            .collect()
    }

    /// `MEMORY USAGE key SAMPLES 0`: every element counted, in bytes.
    pub fn memory_usage(&self, key: &str) -> u64 {
        redis::cmd("MEMORY").arg("USAGE").arg(key).arg("SAMPLES").arg(0).query(&mut self.connect()).unwrap()
    }

    /// A thread that waits until `stream` holds `entries` (XLEN, every 2 ms)
    /// and returns when it did.
    pub fn wait_len(&self, stream: &str, entries: u64, timeout: Duration) -> std::thread::JoinHandle<Instant> {
        let mut connection = self.connect();
        let stream = stream.to_owned();
        std::thread::spawn(move || {
            let deadline = Instant::now() + timeout;
            while redis::cmd("XLEN").arg(&stream).query::<u64>(&mut connection).unwrap() < entries {
                assert!(Instant::now() < deadline, "{stream} short of {entries} entries after {timeout:?}");
                std::thread::sleep(Duration::from_millis(2));
            }
            Instant::now()
        })
    }

    pub fn query_u64(&self, args: &[&str]) -> u64 {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut self.connect()).unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        // SAFETY: kill(2) of our own child, by its PID, not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// One host of the fleet: a network namespace with the sets above, a
/// private journald, and `banwarden run` with the fleet key, its Redis
/// protocol API on a Unix socket.
pub struct Host {
    pub name: String,
    pub netns: String,
    daemon: Option<RunningDaemon>,
    pub journald: PrivateJournald,
    pub state: tempfile::TempDir,
}

impl Host {
    /// Starts host `name` on `redis` and waits for its API socket (root:
    /// the caller has made sure).
    pub fn start(name: &str, redis: &Redis) -> Host {
        let netns = format!("bwfleet-{}-{name}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &netns]));
        let host = Host {
            name: name.to_owned(),
            netns,
            daemon: None,
            journald: PrivateJournald::start().expect("a private journald"),
            state: tempfile::tempdir().unwrap(),
        };
        run(Command::new("ip").args(["netns", "exec", &host.netns, "ip", "link", "set", "lo", "up"]));
        host.nft(SETS);
        let config = serde_json::json!({
            "actions": {"sshd": serde_json::from_str::<serde_json::Value>(RULES).unwrap()},
            "storage": host.state.path().join("storage"),
            "resp": {"listen": [format!("unix:{}", host.resp_socket().display())]},
            "fleet": {"redis": redis.url(), "host": name, "share": ["rules", "api"]},
        });
        let path = host.state.path().join("banwarden.json");
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        let mut host = host;
        host.daemon = Some(RunningDaemon::start_in(&path, &host.journald, Duration::from_secs(30), Some(&host.netns)));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !host.resp_socket().exists() {
            assert!(Instant::now() < deadline, "{}: no socket at {}", host.name, host.resp_socket().display());
            std::thread::sleep(Duration::from_millis(10));
        }
        host
    }

    /// The CPU time the daemon has used (`ip netns exec` execs it: its PID
    /// is the child's).
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.daemon.as_ref().unwrap().child.id())
    }

    pub fn resp_socket(&self) -> PathBuf {
        self.state.path().join("resp.sock")
    }

    /// `nft -f -` in the host's namespace.
    pub fn nft(&self, script: &str) {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.netns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "nft -f in {}: {script}", self.netns);
    }

    /// Runs `f` on a thread that has entered the host's network namespace
    /// (a netlink socket opened there stays there).
    pub fn spawn_in<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
        let file = std::fs::File::open(format!("/run/netns/{}", self.netns)).unwrap();
        std::thread::spawn(move || {
            // SAFETY: setns(2) of this thread into a namespace file we hold open.
            let done = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(done, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
    }

    /// A thread that waits until every address of `wanted` is in `set`
    /// (looked up one at a time, in order, each until found, `every`
    /// apart: one netlink request, whatever the set's size) and returns
    /// when the last was found. Bans from one origin arrive in order, so
    /// `wanted` may be each origin's last ban.
    pub fn watch(
        &self,
        set: &str,
        wanted: Vec<IpAddr>,
        timeout: Duration,
        every: Duration,
    ) -> std::thread::JoinHandle<Instant> {
        let set = NftSet::parse(set).unwrap();
        let name = self.name.clone();
        self.spawn_in(move || {
            let mut client = NftClient::open().unwrap();
            let deadline = Instant::now() + timeout;
            for ip in wanted {
                while client.get(&set, ip).unwrap().is_none() {
                    assert!(Instant::now() < deadline, "{name}: {ip} not in {set} after {timeout:?}");
                    std::thread::sleep(every);
                }
            }
            Instant::now()
        })
    }

    /// The number of elements in `set` (one netlink dump).
    pub fn count(&self, set: &str) -> usize {
        let set = NftSet::parse(set).unwrap();
        self.spawn_in(move || NftClient::open().unwrap().list(&set).unwrap().len()).join().unwrap()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        drop(self.daemon.take());
        let _ = Command::new("ip").args(["netns", "del", &self.netns]).status();
    }
}

/// `nft monitor elements` in a host's namespace: every element added is
/// sent as (host index, address, when its line was read). nft flushes
/// each event's line, so the stamp trails the kernel's notification by
/// the pipe and a read.
pub struct Monitor {
    child: Child,
}

impl Monitor {
    pub fn start(host: &Host, index: usize, events: Sender<(usize, IpAddr, Instant)>) -> Monitor {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &host.netns, "nft", "monitor", "elements"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let now = Instant::now();
                // "add element inet fleet ban4 { 10.0.0.1 timeout 1h expires 1h }"
                let Some(rest) = line.strip_prefix("add element ") else { continue };
                let Some((_, elements)) = rest.split_once(" { ") else { continue };
                for element in elements.split(", ") {
                    if let Some(ip) = element.split_whitespace().next().and_then(|a| a.parse::<IpAddr>().ok()) {
                        if events.send((index, ip, now)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Monitor { child }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        // SAFETY: kill(2) of our own child, by its PID, not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// `TTL_DROP_INSERT ADDRESS 3600` for each address, as `redis-cli --pipe`
/// reads them (RESP arrays).
pub fn ban_commands(addresses: impl Iterator<Item = Ipv4Addr>) -> Vec<u8> {
    let mut out = Vec::new();
    for address in addresses {
        let a = address.to_string();
        write!(out, "*3\r\n$15\r\nTTL_DROP_INSERT\r\n${}\r\n{a}\r\n$4\r\n3600\r\n", a.len()).unwrap();
    }
    out
}

/// `redis-cli --pipe` into a host's API, fed `commands` at once, or in
/// `chunks` one every `every` when paced; returns once every reply came
/// (each ban stored and in the host's kernel), having checked there were
/// `expected` and no error.
pub fn pipe(socket: &Path, chunks: Vec<Vec<u8>>, every: Option<Duration>, expected: usize) {
    let mut child = Command::new("redis-cli")
        .arg("-s")
        .arg(socket)
        .arg("--pipe")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-cli runs (Debian package redis-tools)");
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let start = Instant::now();
        for (i, chunk) in chunks.iter().enumerate() {
            if let Some(every) = every {
                let due = start + every * i as u32;
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
            input.write_all(chunk).unwrap();
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && said.contains(&format!("errors: 0, replies: {expected}")),
        "redis-cli --pipe into {}: {said}",
        socket.display()
    );
}
