//! A realistic workload for `examples/server.json`: what a busy Debian web
//! and mail server logs, mostly entries no rule acts on. Shared by the
//! benchmark and by the allocation test (`#[path]`-included there).

#![allow(dead_code)]

use banwarden::entry::Entry;
use banwarden::workflow::Workflow;

/// Kinds of entries and their share of a thousand.
const MIX: [(Kind, u32); 9] = [
    (Kind::Noise, 300),
    (Kind::UnlistedUnit, 100),
    (Kind::NginxOk, 200),
    (Kind::SshdOk, 120),
    (Kind::DovecotOk, 100),
    (Kind::EximOk, 100),
    (Kind::Debug, 30),
    (Kind::SshdAttack, 30),
    (Kind::NginxScan, 20),
];

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Noise,
    UnlistedUnit,
    NginxOk,
    SshdOk,
    DovecotOk,
    EximOk,
    Debug,
    SshdAttack,
    NginxScan,
}

impl Kind {
    /// Whether some rule acts on (or captures from) this kind of entry.
    pub fn matches(self) -> bool {
        matches!(self, Kind::SshdAttack | Kind::NginxScan)
    }
}

/// A deterministic pseudo-random sequence (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` entries with the fields a journal entry carries, in MIX proportions,
/// one every 10 ms from `start_us`; `seed` picks addresses and kinds.
pub fn entries(workflow: &Workflow, n: usize, start_us: u64, seed: u64) -> Vec<(Kind, Entry)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let kinds: Vec<Kind> = MIX.iter().flat_map(|&(k, share)| std::iter::repeat_n(k, share as usize)).collect();
    (0..n)
        .map(|i| {
            let kind = kinds[(rng.next() % kinds.len() as u64) as usize];
            let mut e = workflow.new_entry();
            let r = rng.next();
            fill(workflow, &mut e, kind, r, i);
            e.set_time_us(start_us + i as u64 * 10_000);
            (kind, e)
        })
        .collect()
}

fn fill(workflow: &Workflow, e: &mut Entry, kind: Kind, r: u64, i: usize) {
    let ip = format!("{}.{}.{}.{}", 1 + r % 223, r >> 8 & 255, r >> 16 & 255, 1 + (r >> 24) % 254);
    let (unit, ident, priority, message): (&str, &str, &str, String) = match kind {
        Kind::Noise => {
            let units = [
                "cron.service",
                "systemd-logind.service",
                "dbus.service",
                "systemd-resolved.service",
                "containerd.service",
            ];
            let unit = units[(r % units.len() as u64) as usize];
            (unit, "systemd", "6", format!("pam_unix(cron:session): session closed for user root ({i})"))
        }
        Kind::UnlistedUnit => ("php8.2-fpm.service", "php-fpm", "5", format!("[pool www] child {i} started")),
        Kind::NginxOk => (
            "nginx.service",
            "nginx",
            "6",
            format!(
                "{ip} - - [21/Nov/2025:12:00:00 +0000] \"GET /articles/{i} HTTP/1.1\" 200 5123 \"-\" \"Mozilla/5.0\""
            ),
        ),
        Kind::SshdOk => (
            "sshd.service",
            "sshd",
            "6",
            format!("Accepted publickey for deploy from {ip} port {} ssh2: ED25519 SHA256:x", 30000 + i % 30000),
        ),
        Kind::DovecotOk => (
            "dovecot.service",
            "dovecot",
            "6",
            format!("imap-login: Login: user=<alice>, method=PLAIN, rip={ip}, lip=192.0.2.1, mpid={i}, TLS"),
        ),
        Kind::EximOk => {
            ("exim4.service", "exim", "6", format!("1tXyZa-000{i}-AB => alice@example.org R=local_user T=mail_spool"))
        }
        Kind::Debug => ("sshd.service", "sshd", "7", format!("debug1: channel {i}: free: client-session")),
        Kind::SshdAttack => (
            "sshd.service",
            "sshd",
            "6",
            format!("Failed password for invalid user admin from {ip} port {} ssh2", 40000 + i % 20000),
        ),
        Kind::NginxScan => (
            "nginx.service",
            "nginx",
            "6",
            format!("{ip} - - [21/Nov/2025:12:00:00 +0000] \"GET /wp-login.php HTTP/1.1\" 404 162 \"-\" \"zgrab/0.x\""),
        ),
    };
    let pid = (1000 + r % 30000).to_string();
    let fields = workflow.fields();
    let cursor = format!("s=7c1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f;i={i:x};b=5e1f0c6a9b2d4e3f8a7b6c5d4e3f2a1b");
    // Every field a journal entry of this kind has; a reader copies only
    // those the rules name, so the others are skipped here as they would be.
    let all: [(&str, &str); 20] = [
        ("__CURSOR", &cursor),
        ("_BOOT_ID", "5e1f0c6a9b2d4e3f8a7b6c5d4e3f2a1b"),
        ("_MACHINE_ID", "0d1c2b3a495867768594a3b2c1d0e0f1"),
        ("_HOSTNAME", "web1"),
        ("_TRANSPORT", "syslog"),
        ("PRIORITY", priority),
        ("SYSLOG_FACILITY", "3"),
        ("SYSLOG_IDENTIFIER", ident),
        ("SYSLOG_PID", &pid),
        ("_PID", &pid),
        ("_UID", "0"),
        ("_GID", "0"),
        ("_COMM", ident),
        ("_EXE", "/usr/sbin/daemon"),
        ("_CMDLINE", "/usr/sbin/daemon -D"),
        ("_CAP_EFFECTIVE", "1ffffffffff"),
        ("_SYSTEMD_CGROUP", "/system.slice/x.service"),
        ("_SYSTEMD_UNIT", unit),
        ("_SYSTEMD_SLICE", "system.slice"),
        ("MESSAGE", &message),
    ];
    for (name, value) in all {
        if let Some(id) = fields.get(name) {
            e.set(id, value);
        }
    }
}
