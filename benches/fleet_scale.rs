//! (c) of the fleet benchmark: 10 hosts on one Redis, and what one Redis
//! primary carries, worked out from what it cost here. Redis runs
//! commands on one thread, so its limit is one core: the cost of a ban is
//! the CPU Redis spends to publish it (the Lua script: XADD and the
//! snapshot) plus what it spends to hand it to each other host (XREAD).
//! `INFO commandstats` splits the two; the process's own CPU (/proc,
//! which adds the event loop, the sockets and the AOF) scales them to what
//! Redis really used. Included with `#[path]` by benches/fleet.rs.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::report::figure;
use super::rig::{address, ban_commands, pipe, Host, Redis, API_SET};
use super::{HOSTS, SCALE_BASE, SCALE_FLOOD, STEADY_BASE, STEADY_RATE, STEADY_SECONDS, STREAM};

/// The steady feed's beat: this many commands every 10 ms.
const BEAT: Duration = Duration::from_millis(10);
/// How often the scale's watchers look up an element: 10 hosts looking
/// every millisecond would take a share of the machine's two cores.
const WATCH_EVERY: Duration = Duration::from_millis(10);

/// What Redis did over one phase.
struct Cost {
    published: u64,
    seconds: f64,
    cpu: f64,
    /// Time in commands that hand entries out (XREAD...), and in the
    /// publishing script, in µs. Redis measures it by the clock, so on a
    /// busy machine it holds time Redis waited for a core: only the
    /// ratio of the two is used.
    read_us: u64,
    write_us: u64,
    stats: Vec<(String, u64, u64)>,
}

impl Cost {
    fn per_entry_us(&self) -> f64 {
        self.cpu * 1e6 / self.published as f64
    }

    /// Redis's CPU per published ban, in µs, with `hosts` reading the
    /// stream: the publishing commands' time, plus the reading commands'
    /// time per delivery for each other host, both scaled by the share of
    /// Redis's CPU spent outside commands.
    fn model_us(&self, hosts: f64) -> f64 {
        let commands = (self.read_us + self.write_us) as f64;
        let scale = self.cpu * 1e6 / commands;
        let write = self.write_us as f64 / self.published as f64;
        let read = self.read_us as f64 / (self.published as f64 * (HOSTS - 1) as f64);
        scale * (write + (hosts - 1.0) * read)
    }

    /// Hosts one core carries when the whole fleet bans `rate` a second.
    fn hosts_at(&self, rate: f64) -> f64 {
        let per_host = self.model_us(2.0) - self.model_us(1.0);
        let first = self.model_us(1.0);
        ((1e6 / rate - first) / per_host + 1.0).floor()
    }

    fn json(&self) -> serde_json::Value {
        let stats: serde_json::Map<String, serde_json::Value> = self
            .stats
            .iter()
            .map(|(name, calls, usec)| (name.clone(), serde_json::json!({"calls": calls, "usec": usec})))
            .collect();
        serde_json::json!({
            "published": self.published, "seconds": self.seconds, "redis_cpu_s": self.cpu,
            "per_entry_us": self.per_entry_us(), "read_us": self.read_us, "write_us": self.write_us,
            "commandstats": stats,
        })
    }
}

fn is_read(command: &str) -> bool {
    matches!(command, "xread" | "xreadgroup" | "xrange" | "xrevrange")
}

/// The publishing script's calls; the commands it runs inside are counted
/// on their own lines too, and in its time already.
fn is_script(command: &str) -> bool {
    matches!(command, "evalsha" | "eval" | "evalsha_ro" | "eval_ro" | "fcall")
}

fn measure(redis: &Redis, phase: impl FnOnce() -> Instant, idle: f64) -> Cost {
    let before: u64 = redis.query_u64(&["XLEN", STREAM]);
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut redis.connect()).unwrap();
    let cpu = redis.cpu_seconds();
    let start = Instant::now();
    let end = phase();
    let seconds = (end - start).as_secs_f64();
    let cpu = redis.cpu_seconds() - cpu - idle * seconds;
    let stats = redis.command_stats();
    let read_us = stats.iter().filter(|(n, _, _)| is_read(n)).map(|s| s.2).sum();
    let write_us = stats.iter().filter(|(n, _, _)| is_script(n)).map(|s| s.2).sum();
    let published = redis.query_u64(&["XLEN", STREAM]) - before;
    Cost { published, seconds, cpu, read_us, write_us, stats }
}

/// Threads that wait until every host has the last ban of every host in
/// `lasts`; each returns when its host had them all.
fn everywhere(hosts: &[Host], lasts: &[IpAddr]) -> Vec<std::thread::JoinHandle<Instant>> {
    hosts.iter().map(|h| h.watch(API_SET, lasts.to_vec(), Duration::from_secs(300), WATCH_EVERY)).collect()
}

fn joined(watchers: Vec<std::thread::JoinHandle<Instant>>) -> Vec<Instant> {
    watchers.into_iter().map(|w| w.join().unwrap()).collect()
}

pub fn run(redis: &Redis) {
    let hosts: Vec<Host> = (0..HOSTS).map(|i| Host::start(&format!("h{i}"), redis)).collect();
    let load = super::rig::load();
    // Redis's own ticking, taken off the phases' CPU.
    let cpu = redis.cpu_seconds();
    std::thread::sleep(Duration::from_secs(2));
    let idle = (redis.cpu_seconds() - cpu) / 2.0;

    // Steady: every host bans STEADY_RATE a second, in beats.
    let per_beat = (STEADY_RATE as usize * BEAT.as_millis() as usize) / 1000;
    let beats = STEADY_SECONDS as usize * 1000 / BEAT.as_millis() as usize;
    let each = (per_beat * beats) as u32;
    let steady = measure(
        redis,
        || {
            std::thread::scope(|scope| {
                for (h, host) in hosts.iter().enumerate() {
                    let base = STEADY_BASE + h as u32 * 0x1_0000;
                    let chunks = (0..beats)
                        .map(|b| ban_commands((0..per_beat as u32).map(|i| address(base + (b * per_beat) as u32 + i))))
                        .collect();
                    let socket = host.resp_socket();
                    scope.spawn(move || pipe(&socket, chunks, Some(BEAT), each as usize));
                }
            });
            let lasts: Vec<IpAddr> =
                (0..HOSTS).map(|h| address(STEADY_BASE + h as u32 * 0x1_0000 + each - 1).into()).collect();
            joined(everywhere(&hosts, &lasts)).into_iter().max().unwrap()
        },
        idle,
    );
    eprintln!(
        "scale, steady: {} bans published in {:.1} s; Redis CPU {:.2} s ({:.1} µs a ban)",
        steady.published,
        steady.seconds,
        steady.cpu,
        steady.per_entry_us()
    );

    // Flood: every host bans SCALE_FLOOD at once.
    let floods: Vec<Vec<u8>> = (0..HOSTS)
        .map(|h| ban_commands((0..SCALE_FLOOD).map(|i| address(SCALE_BASE + h as u32 * 0x4_0000 + i))))
        .collect();
    let mut published_at = None;
    let mut applied = Vec::new();
    let flood = measure(
        redis,
        || {
            let before: u64 = redis.query_u64(&["XLEN", STREAM]);
            let all = redis.wait_len(STREAM, before + HOSTS as u64 * u64::from(SCALE_FLOOD), Duration::from_secs(300));
            let start = Instant::now();
            let lasts: Vec<IpAddr> =
                (0..HOSTS).map(|h| address(SCALE_BASE + h as u32 * 0x4_0000 + SCALE_FLOOD - 1).into()).collect();
            let watchers = everywhere(&hosts, &lasts);
            let done = std::thread::scope(|scope| {
                for (host, commands) in hosts.iter().zip(floods) {
                    let socket = host.resp_socket();
                    scope.spawn(move || pipe(&socket, vec![commands], None, SCALE_FLOOD as usize));
                }
                published_at = Some(all.join().unwrap() - start);
                joined(watchers)
            });
            applied = done.iter().map(|d| (*d - start).as_secs_f64()).collect();
            done.into_iter().max().unwrap()
        },
        idle,
    );
    let published_s = published_at.unwrap().as_secs_f64();
    let published_rate = flood.published as f64 / published_s;
    let slowest = applied.iter().copied().fold(0.0, f64::max);
    let applied_rate = f64::from(SCALE_FLOOD) * (HOSTS - 1) as f64 / slowest;
    eprintln!(
        "scale, flood: {} bans published in {published_s:.2} s ({published_rate:.0}/s); the slowest host had all \
         after {slowest:.2} s; Redis CPU {:.2} s ({:.1} µs a ban)",
        flood.published,
        flood.cpu,
        flood.per_entry_us()
    );
    let total = HOSTS * (each + SCALE_FLOOD) as usize;
    for host in &hosts {
        assert_eq!(host.count(API_SET), total, "{}: every host's bans, once", host.name);
    }

    // Memory: the stream, and the snapshot of live bans beside it.
    let entries = redis.query_u64(&["XLEN", STREAM]);
    let live = redis.query_u64(&["HLEN", &format!("{STREAM}:live")]);
    let stream_bytes = redis.memory_usage(STREAM) as f64 / entries as f64;
    let live_bytes = (redis.memory_usage(&format!("{STREAM}:live")) + redis.memory_usage(&format!("{STREAM}:ends")))
        as f64
        / live as f64;
    let used = redis.info("memory", "used_memory").parse::<f64>().unwrap() / 1e6;

    let capacity: serde_json::Map<String, serde_json::Value> = [10.0, 100.0, 1000.0]
        .iter()
        .map(|&n| {
            (
                format!("{n}"),
                serde_json::json!({
                    "steady_bans_per_s": 1e6 / steady.model_us(n), "flood_bans_per_s": 1e6 / flood.model_us(n),
                }),
            )
        })
        .collect();
    let extra = serde_json::json!({
        "hosts": HOSTS, "steady_rate_per_host": STEADY_RATE, "steady_seconds": STEADY_SECONDS,
        "flood_per_host": SCALE_FLOOD, "steady": steady.json(), "flood": flood.json(),
        "idle_redis_cores": idle, "load": super::rig::load_text(load), "applied_s": applied, "entries": entries, "live": live,
        "stream_bytes_per_entry": stream_bytes, "snapshot_bytes_per_ban": live_bytes, "used_memory_mb": used,
        // fleet.maxLen's default, 1,000,000 entries, in MB.
        "stream_mb_at_default_max_len": stream_bytes * 1_000_000.0 / 1e6,
        "capacity": capacity,
        "hosts_at_100_per_s": steady.hosts_at(100.0) as u64, "hosts_at_1000_per_s": steady.hosts_at(1000.0) as u64,
        "publish_us": steady.model_us(1.0), "delivery_us": steady.model_us(2.0) - steady.model_us(1.0),
    });
    let scale = "(c) 10 hosts on one Redis";
    figure(
        "fleet.scale.published",
        &format!("{scale}: bans published, all at once"),
        "bans/s",
        &[published_rate],
        extra.clone(),
    );
    figure(
        "fleet.scale.applied",
        &format!("{scale}: bans applied by the slowest host"),
        "bans/s",
        &[applied_rate],
        extra.clone(),
    );
    figure(
        "fleet.scale.steady.cpu",
        &format!("{scale}: Redis CPU a ban, steady"),
        "µs",
        &[steady.per_entry_us()],
        extra.clone(),
    );
    figure(
        "fleet.scale.flood.cpu",
        &format!("{scale}: Redis CPU a ban, flood"),
        "µs",
        &[flood.per_entry_us()],
        extra.clone(),
    );
    figure("fleet.scale.entry", &format!("{scale}: stream bytes an entry"), "B", &[stream_bytes], extra.clone());
    figure("fleet.scale.live", &format!("{scale}: snapshot bytes a live ban"), "B", &[live_bytes], extra.clone());
    figure("fleet.scale.memory", &format!("{scale}: Redis used_memory at the end"), "MB", &[used], extra.clone());
    for n in [100.0, 1000.0] {
        figure(
            &format!("fleet.capacity.{n}"),
            &format!("one Redis core, {n} hosts: bans/s the fleet may publish (steady model)"),
            "bans/s",
            &[1e6 / steady.model_us(n)],
            extra.clone(),
        );
    }
}
