//! What the benchmarks that run the real binary share: entering the
//! sandbox (root, a network namespace of their own), the shipped
//! configuration rewritten for it, `banwarden run` as a child with its
//! lines, and a process's memory read from /proc. Included with `#[path]`
//! by benches/live.rs, benches/spray.rs, benches/bans.rs, benches/resp.rs,
//! benches/rest.rs and benches/fleet.rs (a module
//! shared by the benchmarks, not one of them).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::journald::PrivateJournald;

/// Whether the benchmark `name` runs here: under `cargo bench` (not
/// `cargo test`) and as root; if so, this process and all it starts move
/// to a network namespace of their own, so that the host's ruleset is never
/// touched. Call it first, before any thread exists.
pub fn enter(name: &str, needs: &str) -> bool {
    if !super::report::benchmarking() {
        eprintln!("{name} benchmark: run with `cargo bench --bench {name}`");
        return false;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("{name} benchmark: skipped, needs root ({needs})");
        return false;
    }
    // SAFETY: unshare(2) with a valid flag, single-threaded here.
    assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare(CLONE_NEWNET)");
    true
}

/// etc/banwarden/banwarden.json as examples/demo.sh rewrites it for a
/// sandbox: sshd routed on SYSLOG_IDENTIFIER, no unit test on banwarden's
/// own lines, storage in `storage`.
pub fn sandbox_config(root: &Path, storage: &Path) -> String {
    let text = std::fs::read_to_string(root.join("etc/banwarden/banwarden.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&text).unwrap();
    let chains = &mut config["actions"];
    chains["Route sshd entries"][0]["args"] =
        serde_json::json!({"field": "SYSLOG_IDENTIFIER", "re": "^sshd(?:-session)?$"});
    let own = chains["Route banwarden's own ban messages"].as_array_mut().unwrap();
    let before = own.len();
    own.retain(|step| step["args"]["field"] != "_SYSTEMD_UNIT");
    assert_eq!(own.len(), before - 1, "the own-lines route tests _SYSTEMD_UNIT once");
    config["storage"] = serde_json::json!(storage.to_str().unwrap());
    serde_json::to_string_pretty(&config).unwrap()
}

/// Memory of a process, from /proc/PID/status, in kB.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    pub rss: u64,
    pub hwm: u64,
    pub anon: u64,
    pub file: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kb = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("/proc/{pid}/status has no {name}"))
        };
        Memory { rss: kb("VmRSS:"), hwm: kb("VmHWM:"), anon: kb("RssAnon:"), file: kb("RssFile:") }
    }
}

pub fn mb(kb: u64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

/// `banwarden run` as a child, its stderr lines on a channel.
pub struct RunningDaemon {
    pub child: std::process::Child,
    pub lines: std::sync::mpsc::Receiver<String>,
}

impl RunningDaemon {
    /// Starts it on `journald`'s namespace and waits up to `timeout` for it
    /// to say it has started.
    pub fn start(config: &Path, journald: &PrivateJournald, timeout: Duration) -> RunningDaemon {
        RunningDaemon::start_in(config, journald, timeout, None)
    }

    /// The same, in the named network namespace `netns` (`ip netns exec`,
    /// which execs the daemon: the child's PID is the daemon's).
    pub fn start_in(
        config: &Path,
        journald: &PrivateJournald,
        timeout: Duration,
        netns: Option<&str>,
    ) -> RunningDaemon {
        use std::io::BufRead;
        let mut command = match netns {
            Some(name) => {
                let mut ip = Command::new("ip");
                ip.args(["netns", "exec", name, env!("CARGO_BIN_EXE_banwarden")]);
                ip
            }
            None => Command::new(env!("CARGO_BIN_EXE_banwarden")),
        };
        let mut child = command
            .args(["run", "--config"])
            .arg(config)
            .args(["--journal-namespace", journald.namespace()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let daemon = RunningDaemon { child, lines };
        daemon.line_with("started, judging entries", timeout);
        daemon
    }

    /// The next line holding `needle`; panics after `timeout`.
    pub fn line_with(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line with {needle:?} from banwarden run: {e}"),
            }
        }
    }
}

impl Drop for RunningDaemon {
    fn drop(&mut self) {
        // SAFETY: kill(2) of our own child, by its PID, not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
