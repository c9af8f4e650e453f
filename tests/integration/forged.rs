//! Forged lines ban nobody: the real daemon, in a network namespace of its
//! own with the shipped nftables sets, against lines a local user or a
//! container's root can write.
//!
//! - Other machines' journals: journal files of this machine id and of
//!   another (a container's, as systemd-nspawn `--link-journal` puts them in
//!   /var/log/journal) are made with systemd-journal-remote in a private
//!   mount namespace (tmpfs over the journal directories: the host's
//!   journal files are never touched), while `banwarden run` follows the
//!   system journal there. The other machine's lines ban only with
//!   `journalOtherMachines`.
//! - Every shipped configuration (etc/, examples/, each example folder),
//!   untouched but for its storage, on a private journald: `nobody` writes
//!   what the services of the configuration's sample journal wrote (and
//!   banwarden's own ban lines, many times over) through syslog (`logger`
//!   on the instance's dev-log socket) and through the native protocol (a
//!   datagram on its socket). Then, as a control, one attack with the
//!   trusted fields the configuration routes on, in a journal file made
//!   with systemd-journal-remote beside journald's own (read by the daemon
//!   restarted, as a reader following a journal may never look at a file
//!   that appears later): only that attacker is banned, in the store and
//!   in the kernel. In a sandbox
//!   without systemd a live line carries no `_SYSTEMD_UNIT`, so the control
//!   cannot be a live line of the service.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::bans::Netns;
use super::journald::{field, journal_from_export, PrivateJournald};
use super::util::{require, root, text, wait_until, Daemon};

const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";
/// The attacker of the controls: in no configuration's allow-list.
const CONTROL_IP: &str = "198.18.7.7";
/// The other machine's id (a container's).
const OTHER_MACHINE: &str = "0123456789abcdef0123456789abcdef";

fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as u64
}

fn random_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid").unwrap().trim().replace('-', "")
}

fn machine_id() -> String {
    std::fs::read_to_string("/etc/machine-id").unwrap().trim().to_owned()
}

/// Journal export text of these entries (text values; a value with a
/// newline in the binary-safe form).
fn export(entries: &[Vec<(String, String)>]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        for (name, value) in entry {
            if value.contains('\n') {
                out.extend_from_slice(name.as_bytes());
                out.push(b'\n');
                out.extend_from_slice(&(value.len() as u64).to_le_bytes());
                out.extend_from_slice(value.as_bytes());
                out.push(b'\n');
            } else {
                out.extend_from_slice(format!("{name}={value}\n").as_bytes());
            }
        }
        out.push(b'\n');
    }
    out
}

/// What a banwarden daemon banned: every element of every set in the
/// namespace, and every address of its store.
fn banned(ns: &Netns) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = Command::new("ip").args(["netns", "exec", &ns.name, "nft", "-j", "list", "ruleset"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut kernel = BTreeSet::new();
    for item in json["nftables"].as_array().unwrap() {
        for elem in item["set"]["elem"].as_array().into_iter().flatten() {
            let ip = elem.as_str().or_else(|| elem["elem"]["val"].as_str()).unwrap();
            kernel.insert(ip.to_owned());
        }
    }
    let mut store = BTreeSet::new();
    for file in std::fs::read_dir(ns.storage()).into_iter().flatten().flatten() {
        let contents = std::fs::read_to_string(file.path()).unwrap_or_default();
        // The snapshots are JSON lists of records, the logs one record a line.
        for line in contents.lines() {
            if let Ok(record) = serde_json::from_str::<Value>(line.trim().trim_end_matches(',')) {
                if let Some(ip) = record["IP"].as_str() {
                    store.insert(ip.to_owned());
                }
            }
        }
    }
    (kernel, store)
}

// ---------------------------------------------------------------------------
// Other machines' journals

/// `banwarden run` on the system journal of a private mount namespace,
/// where /var/log/journal holds the journal files `files` (directory name,
/// export text: made with systemd-journal-remote) and nothing else;
/// /run/systemd/journal is hidden too, so that what the daemon logs goes
/// nowhere rather than into the host's journal. Each is named as a rotated
/// system journal file, the only names a system journal reader takes
/// (sd_journal_open(3), SD_JOURNAL_SYSTEM). The files are complete
/// before the daemon starts (libsystemd may skip a file that appears
/// half-written), and the daemon resumes after a first entry of this
/// machine, older than the others, as it would after a restart.
fn run_on_private_journal_dirs(ns: &Netns, files: &[(&str, Vec<u8>)]) -> Daemon {
    let mut script = String::from(
        "set -e
         mount -t tmpfs tmpfs /var/log/journal
         mount -t tmpfs tmpfs /run/log/journal
         if [ -d /run/systemd/journal ]; then mount -t tmpfs tmpfs /run/systemd/journal; fi
",
    );
    for (i, (dir, export)) in files.iter().enumerate() {
        let input = ns.state.path().join(format!("{i}.export"));
        std::fs::write(&input, export).unwrap();
        script.push_str(&format!(
            "mkdir -p /var/log/journal/{dir}
             {JOURNAL_REMOTE} --split-mode=none -o /var/log/journal/{dir}/system@test-{i}.journal - < {input} 2>/dev/null
",
            input = input.display()
        ));
    }
    let cursor = ns.storage().join("journal.cursor");
    std::fs::create_dir_all(ns.storage()).unwrap();
    script.push_str(&format!(
        "journalctl --file /var/log/journal/{local}/system@test-0.journal -o export -n 1 | sed -n 's/^__CURSOR=//p' > {cursor}
         test -s {cursor}
         exec ip netns exec {netns} {bin} run --config {config}",
        local = machine_id(),
        cursor = cursor.display(),
        netns = ns.name,
        bin = env!("CARGO_BIN_EXE_banwarden"),
        config = ns.config.display(),
    ));
    // unshare, sh and ip each exec the next: the child's PID is banwarden's.
    Daemon::start(Command::new("unshare").args(["--mount", "--propagation", "private", "sh", "-c", &script]))
}

/// sshd's failures from `ip`, as journald on `machine` would have stored
/// them (`count` of them, from `from_us` on).
fn sshd_failures(machine: &str, ip: &str, count: u64, from_us: u64) -> Vec<u8> {
    let boot = random_id();
    let entries: Vec<Vec<(String, String)>> = (0..count)
        .map(|i| {
            [
                ("__REALTIME_TIMESTAMP", (from_us + i).to_string()),
                ("__MONOTONIC_TIMESTAMP", (1_000_000 + i).to_string()),
                ("_BOOT_ID", boot.clone()),
                ("_MACHINE_ID", machine.to_owned()),
                ("_HOSTNAME", "host".into()),
                ("_TRANSPORT", "syslog".into()),
                ("_SYSTEMD_UNIT", "ssh.service".into()),
                ("_UID", "0".into()),
                ("_GID", "0".into()),
                ("_COMM", "sshd".into()),
                ("_EXE", "/usr/sbin/sshd".into()),
                ("SYSLOG_IDENTIFIER", "sshd".into()),
                ("PRIORITY", "6".into()),
                ("MESSAGE", format!("Failed password for root from {ip} port {} ssh2", 40000 + i)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
        })
        .collect();
    export(&entries)
}

fn other_machine_lines(read_others: bool) {
    let config = std::fs::read_to_string(root().join("etc/banwarden/banwarden.json"))
        .unwrap()
        .replace("/var/lib/banwarden", "STORAGE")
        .replacen('{', &format!("{{\n  \"journalOtherMachines\": {read_others},"), 1);
    let Some(ns) = Netns::new(&config) else { return };
    if !require(Path::new(JOURNAL_REMOTE).exists(), format_args!("{JOURNAL_REMOTE} is missing")) {
        return;
    }
    ns.nft_script(&std::fs::read_to_string(root().join("etc/nftables/banwarden.nft")).unwrap());
    let start = now_us();
    let local = machine_id();
    let files = [
        // The position to resume from: one line of this machine, first.
        (local.as_str(), sshd_failures(&local, "192.0.2.1", 1, start - 1_000_000)),
        (OTHER_MACHINE, sshd_failures(OTHER_MACHINE, "203.0.113.66", 6, start)),
        (local.as_str(), sshd_failures(&local, "198.51.100.66", 6, start + 1000)),
    ];
    let daemon = run_on_private_journal_dirs(&ns, &files);
    // The container's lines come first: once this machine's attacker is
    // banned, they were read.
    let mut expected = BTreeSet::from(["198.51.100.66".to_owned()]);
    if read_others {
        expected.insert("203.0.113.66".to_owned());
    }
    let done = wait_until(20, || banned(&ns).0 == expected);
    let (kernel, store) = banned(&ns);
    let (_, stderr) = daemon.stop();
    assert!(done, "banned in the kernel {kernel:?}, expected {expected:?}; daemon: {stderr}");
    assert_eq!(store, expected, "{stderr}");
}

#[test]
fn another_machines_journal_bans_nothing_by_default() {
    other_machine_lines(false);
}

#[test]
fn another_machines_journal_is_read_with_journal_other_machines() {
    other_machine_lines(true);
}

// ---------------------------------------------------------------------------
// Forged lines against every shipped configuration

/// One entry of a sample journal (`journalctl -o json`), its text fields.
type Record = serde_json::Map<String, Value>;

fn sample(name: &str) -> Vec<Record> {
    let path = root().join("examples").join(name).join("attack.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str::<Record>(line).unwrap())
        .collect()
}

fn get<'a>(record: &'a Record, name: &str) -> &'a str {
    record.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Whether a service wrote it (not a user's session: those are the
/// samples' own forgeries).
fn by_a_service(record: &Record) -> bool {
    let unit = get(record, "_SYSTEMD_UNIT");
    !unit.is_empty() && !unit.starts_with("session-")
}

/// What the attacker writes: the identifier and message of every line the
/// services (banwarden included) wrote in the samples, and banwarden's own
/// ban lines, in every form the configurations count, enough times for
/// every recidive threshold.
fn forgeries(samples: &[Vec<Record>]) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    for record in samples.iter().flatten().filter(|r| by_a_service(r)) {
        let (ident, message) = (get(record, "SYSLOG_IDENTIFIER"), get(record, "MESSAGE"));
        if ident.is_empty() || message.is_empty() {
            continue;
        }
        lines.push((ident.to_owned(), message.to_owned()));
        if ident == "banwarden" {
            let ip = message
                .split(' ')
                .map(|w| w.trim_end_matches(':'))
                .find(|w| w.parse::<std::net::IpAddr>().is_ok())
                .unwrap_or("203.0.113.1");
            for _ in 0..7 {
                lines.push((ident.to_owned(), message.to_owned()));
                lines.push((ident.to_owned(), format!("Ban for {ip} after 4 failures (sshd.service)")));
            }
        }
    }
    assert!(lines.len() > 50, "the samples give only {} lines to forge", lines.len());
    lines
}

/// Writes `lines` as `nobody` through syslog (logger on the dev-log socket,
/// one logger per identifier) and through the native protocol (python3).
fn forge(journald: &PrivateJournald, lines: &[(String, String)]) {
    let dir = journald.socket_path().parent().unwrap().to_owned();
    let as_nobody = |program: &str| {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(program);
        command
    };
    let mut identifiers: Vec<&str> = lines.iter().map(|(i, _)| i.as_str()).collect();
    identifiers.sort();
    identifiers.dedup();
    for ident in identifiers {
        let messages: String =
            lines.iter().filter(|(i, _)| i == ident).map(|(_, m)| format!("{}\n", m.replace('\n', " "))).collect();
        let mut logger = as_nobody("logger");
        logger.args(["--socket-errors=on", "-u"]).arg(dir.join("dev-log")).args(["-t", ident]);
        pipe(&mut logger, messages.as_bytes());
    }
    const NATIVE: &str = "
import json, socket, struct, sys
path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for ident, message in json.load(sys.stdin):
    datagram = b''
    for name, value in (('SYSLOG_IDENTIFIER', ident), ('MESSAGE', message), ('PRIORITY', '6')):
        value = value.encode()
        datagram += name.encode() + b'\\n' + struct.pack('<Q', len(value)) + value + b'\\n'
    sock.sendto(datagram, path)
";
    let mut python = as_nobody("/usr/bin/python3");
    python.args(["-c", NATIVE]).arg(journald.socket_path());
    pipe(&mut python, serde_json::to_string(lines).unwrap().as_bytes());
    // Both ways in the journal before the control is written after them.
    let expected = 2 * lines.len();
    let arrived = wait_until(30, || {
        journald.export(&["_UID"]).iter().filter(|e| field(e, "_UID") == Some(&b"65534"[..])).count() >= expected
    });
    assert!(arrived, "not all {expected} forged lines reached journald");
}

fn pipe(command: &mut Command, input: &[u8]) {
    let mut child = command.stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{command:?}: {}", text(&out.stderr));
}

/// The control: the service's lines about the first IPv4 address the
/// sample banned, up to its ban, about [`CONTROL_IP`] instead, with the trusted
/// fields the sample gives them (`unit` replacing the sample's for a
/// configuration that names the service's unit differently), written from
/// `from_us` on.
fn control(sample: &[Record], unit: Option<(&str, &str)>, from_us: u64) -> Vec<u8> {
    let ipv4 = |message: &str| {
        message
            .split(' ')
            .map(|w| w.trim_end_matches(':'))
            .find(|w| w.parse::<std::net::Ipv4Addr>().is_ok())
            .map(str::to_owned)
    };
    let first_ban = sample
        .iter()
        .position(|r| {
            let message = get(r, "MESSAGE");
            get(r, "_SYSTEMD_UNIT") == "banwarden.service"
                && message.starts_with("Ban from ")
                && ipv4(message).is_some()
        })
        .expect("the sample bans an IPv4 address");
    let ip = ipv4(get(&sample[first_ban], "MESSAGE")).unwrap();
    let ip = ip.as_str();
    let boot = random_id();
    let entries: Vec<Vec<(String, String)>> = sample[..first_ban]
        .iter()
        .filter(|r| by_a_service(r) && get(r, "_SYSTEMD_UNIT") != "banwarden.service")
        .filter(|r| get(r, "MESSAGE").contains(ip))
        .enumerate()
        .map(|(i, r)| {
            let mut entry = vec![
                ("__REALTIME_TIMESTAMP".to_owned(), (from_us + i as u64).to_string()),
                ("__MONOTONIC_TIMESTAMP".to_owned(), (1_000_000 + i).to_string()),
                ("_BOOT_ID".to_owned(), boot.clone()),
            ];
            for (name, value) in r {
                let Some(value) = value.as_str() else { continue };
                if name.starts_with("__") || name == "_BOOT_ID" {
                    continue;
                }
                let value = match (name.as_str(), unit) {
                    ("_SYSTEMD_UNIT", Some((from, to))) if value == from => to.to_owned(),
                    ("MESSAGE", _) => value.replace(ip, CONTROL_IP),
                    _ => value.to_owned(),
                };
                entry.push((name.clone(), value));
            }
            entry
        })
        .collect();
    assert!(entries.len() >= 2, "the sample's attack on {ip} has {} lines", entries.len());
    export(&entries)
}

/// Runs `config` (a path below the repository) as shipped, with the
/// forgeries of the samples `forged_from` and the control from the sample
/// `control_from`.
fn forged_lines_ban_nobody(config: &str, forged_from: &[&str], control_from: &str, unit: Option<(&str, &str)>) {
    let rules = std::fs::read_to_string(root().join(config)).unwrap();
    forged_lines_ban_nobody_under(config, &rules, forged_from, control_from, unit);
}

/// The same with the configuration's text given (`config` names it).
fn forged_lines_ban_nobody_under(
    config: &str,
    rules: &str,
    forged_from: &[&str],
    control_from: &str,
    unit: Option<(&str, &str)>,
) {
    let rules = rules.replace("/var/lib/banwarden", "STORAGE");
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(&rules) else { return };
    if !require(Path::new("/usr/bin/python3").exists(), "/usr/bin/python3 is missing (Debian package python3)") {
        return;
    }
    ns.nft_script(&std::fs::read_to_string(root().join("etc/nftables/banwarden.nft")).unwrap());
    ns.nft_script(&std::fs::read_to_string(root().join("examples/recidive.nft")).unwrap());
    let daemon = ns.run(&journald);
    let samples: Vec<Vec<Record>> = forged_from.iter().map(|s| sample(s)).collect();
    let forged = forgeries(&samples);
    forge(&journald, &forged);
    // The control goes into a file of its own beside journald's, which a
    // reader already following may never look at (it appeared after the
    // start): the daemon is restarted, as after a reboot, and resumes
    // after the last line it judged, the forged lines it had not yet
    // judged included (position and counters are saved on stop).
    let (_, first_run) = daemon.stop();
    let scratch = tempfile::tempdir().unwrap();
    let export = control(&sample(control_from), unit, now_us());
    let Some(made) = journal_from_export(&export, scratch.path()) else { return };
    // Named as a rotated system journal file: the system journal's readers
    // take no other name (sd_journal_open(3), SD_JOURNAL_SYSTEM).
    let file: PathBuf = journald.journal_dir().join("system@control.journal");
    std::fs::copy(made.join("x.journal"), &file).unwrap();
    let daemon = ns.run(&journald);
    let expected = BTreeSet::from([CONTROL_IP.to_owned()]);
    let controlled = wait_until(20, || banned(&ns).0.contains(CONTROL_IP));
    // Bans leave in batches: give any forged one the time to follow.
    std::thread::sleep(Duration::from_millis(500));
    let (kernel, store) = banned(&ns);
    let (_, second_run) = daemon.stop();
    let _ = std::fs::remove_file(&file);
    let stderr = format!("{first_run}{second_run}");
    assert!(controlled, "{config}: the control attack on {CONTROL_IP} was not banned; daemon: {stderr}");
    assert_eq!(kernel, expected, "{config}: in the kernel; daemon: {stderr}");
    assert_eq!(store, expected, "{config}: in the store; daemon: {stderr}");
}

#[test]
fn forged_lines_ban_nobody_with_the_default_configuration() {
    forged_lines_ban_nobody("etc/banwarden/banwarden.json", &["sshd"], "sshd", None);
}

#[test]
fn forged_lines_ban_nobody_with_examples_recidive() {
    forged_lines_ban_nobody("examples/recidive.json", &["sshd"], "sshd", Some(("ssh.service", "sshd.service")));
}

#[test]
fn forged_lines_ban_nobody_with_examples_ssh_networks() {
    forged_lines_ban_nobody("examples/ssh-networks.json", &["sshd"], "sshd", None);
}

#[test]
fn forged_lines_ban_nobody_with_examples_server() {
    let every = ["sshd", "postfix", "dovecot", "nginx", "exim"];
    forged_lines_ban_nobody("examples/server.json", &every, "sshd", Some(("ssh.service", "sshd.service")));
}

/// examples/api.json's rules, without its servers: they would listen on
/// the host's /run/banwarden and need a certificate, and forged journal
/// lines are the rules' business (api_rest.rs and api_resp.rs drive the
/// servers).
#[test]
fn forged_lines_ban_nobody_with_examples_api() {
    let shipped = std::fs::read_to_string(root().join("examples/api.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&shipped).unwrap();
    let keys = config.as_object_mut().unwrap();
    assert!(keys.remove("api").is_some() && keys.remove("resp").is_some(), "examples/api.json changed");
    forged_lines_ban_nobody_under("examples/api.json", &config.to_string(), &["sshd"], "sshd", None);
}

/// examples/fleet.json's rules, without its fleet: its Redis servers are
/// examples, and what the fleet applies is fleet_cli.rs's business.
#[test]
fn forged_lines_ban_nobody_with_examples_fleet() {
    let shipped = std::fs::read_to_string(root().join("examples/fleet.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&shipped).unwrap();
    assert!(config.as_object_mut().unwrap().remove("fleet").is_some(), "examples/fleet.json changed");
    forged_lines_ban_nobody_under("examples/fleet.json", &config.to_string(), &["sshd"], "sshd", None);
}

#[test]
fn forged_lines_ban_nobody_with_each_example_folder() {
    for name in ["sshd", "nginx", "dovecot", "postfix", "exim", "nextcloud", "prosody"] {
        forged_lines_ban_nobody(&format!("examples/{name}/banwarden.json"), &[name], name, None);
    }
}

/// Every shipped configuration has its forging test above.
#[test]
fn every_shipped_configuration_is_forged_against() {
    let mut shipped: Vec<String> = vec!["etc/banwarden/banwarden.json".into()];
    for entry in std::fs::read_dir(root().join("examples")).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if path.extension().is_some_and(|x| x == "json") {
            shipped.push(format!("examples/{name}"));
        } else if path.join("banwarden.json").exists() {
            shipped.push(format!("examples/{name}/banwarden.json"));
        }
    }
    shipped.sort();
    let this = std::fs::read_to_string(root().join("tests/integration/forged.rs")).unwrap();
    for config in shipped {
        let named = match config.strip_prefix("examples/").and_then(|c| c.strip_suffix("/banwarden.json")) {
            Some(folder) => this.contains(&format!("{folder:?},")) || this.contains(&format!("{folder:?}]")),
            None => this.contains(&format!("{config:?}")),
        };
        assert!(named, "{config} has no forging test in tests/integration/forged.rs");
    }
}
