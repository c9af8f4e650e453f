//! The ready-to-use configurations under `examples/<service>/`: the real
//! binary replays each one's sample journal (`attack.jsonl`, written by
//! `examples/make-service-attacks.py` from the scenarios of
//! `examples/samples/`) and every ban it prints is checked:
//! address, set and duration, in order. No ban may touch a private address,
//! nor an address that only forged lines, lines under the threshold or
//! attacker-chosen text name.
//!
//! The recidive chains count banwarden's own "Ban ..." lines, and only the
//! ones that carry the trusted fields of the daemon's unit. The samples hold
//! those lines as the live daemon wrote them; the copies that replay feeds
//! back itself carry no `_SYSTEMD_UNIT` or `_TRANSPORT`, so they go
//! uncounted and each escalation below comes from the recorded lines, once.

use std::net::IpAddr;

use banwarden::vocab::Network;
use serde_json::{json, Value};

use super::util::{banwarden, root, text};

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
const MONTH: u64 = 30 * DAY;
const FOREVER: Option<u64> = None;

/// A ban as `banwarden replay` prints it: an address or a network.
#[derive(Debug, PartialEq, Eq)]
struct Ban {
    ip: Network,
    set: String,
    seconds: Option<u64>,
}

fn ban(ip: &str, set: &str, seconds: impl Into<Option<u64>>) -> Ban {
    Ban { ip: ip.parse().expect("an address"), set: set.to_string(), seconds: seconds.into() }
}

/// The ban of the /64 of an IPv6 address: what the shipped configurations
/// count and ban an IPv6 attacker by (`action_network`).
fn ban64(ip: &str, set: &str, seconds: impl Into<Option<u64>>) -> Ban {
    let ip: IpAddr = ip.parse().expect("an IPv6 address");
    Ban { ip: Network::of(ip, 64), set: set.to_string(), seconds: seconds.into() }
}

/// The bans a replay through examples/`service`/banwarden.json prints, in
/// order: of the file `input`, or without one of `stdin`.
fn replay(service: &str, input: Option<&str>, stdin: &[u8]) -> Vec<Ban> {
    replay_with(&format!("examples/{service}/banwarden.json"), service, input, stdin)
}

/// [`replay`] through the configuration `config` (`service` names it in
/// messages).
fn replay_with(config: &str, service: &str, input: Option<&str>, stdin: &[u8]) -> Vec<Ban> {
    let mut args = vec!["replay", "--config", config];
    args.extend(input.map(|file| ["--input", file]).into_iter().flatten());
    let out = banwarden(&args, stdin);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{service}: {stderr}");
    // The summary alone: no malformed record, no step error.
    assert_eq!(stderr.lines().count(), 1, "{service}: {stderr}");
    assert!(stderr.starts_with("replay: ") && stderr.contains(" 0 malformed skipped"), "{service}: {stderr}");
    assert!(!stderr.contains("step errors"), "{service}: {stderr}");
    stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .filter(|effect| effect["action"] == "action_nftBan")
        .map(|effect| Ban {
            ip: effect["IP"].as_str().and_then(|ip| ip.parse().ok()).expect("IP"),
            set: effect["set"].as_str().expect("set").to_string(),
            // null for a permanent ban.
            seconds: (!effect["banSeconds"].is_null()).then(|| effect["banSeconds"].as_u64().expect("banSeconds")),
        })
        .collect()
}

fn is_private(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(ip) => ip.is_private() || ip.is_loopback() || ip.is_link_local(),
        // ::1, fc00::/7, fe80::/10
        IpAddr::V6(ip) => {
            ip.is_loopback() || ip.segments()[0] & 0xfe00 == 0xfc00 || ip.segments()[0] & 0xffc0 == 0xfe80
        }
    }
}

/// Replays the sample of `service`: exactly the `expected` bans, none on a
/// private address, none on the `never` addresses (each with the reason it
/// is in the sample, which must hold it).
fn check_example(service: &str, expected: &[Ban], never: &[(&str, &str)]) {
    let input = format!("examples/{service}/attack.jsonl");
    let bans = replay(service, Some(&input), b"");
    assert_eq!(bans, expected, "{service}: bans differ");
    for ban in &bans {
        assert!(!is_private(ban.ip.first()), "{service}: private address banned: {ban:?}");
    }
    let sample = std::fs::read_to_string(root().join(&input)).expect("sample");
    for (address, why) in never {
        assert!(sample.contains(address), "{service}: {address} ({why}) is not in the sample");
        let ip: IpAddr = address.parse().expect("an address");
        assert!(bans.iter().all(|ban| !ban.ip.contains(ip)), "{service}: {address} ({why}) was banned: {bans:?}");
    }
}

const SSH4: &str = "inet banwarden ssh_ban4";
const SSH6: &str = "inet banwarden ssh_ban6";
const WEB4: &str = "inet banwarden web_ban4";
const MAIL4: &str = "inet banwarden mail_ban4";
const XMPP4: &str = "inet banwarden xmpp_ban4";
// The shipped configurations ban IPv6 attackers by /64, into sets that
// take networks.
const SSH_NET6: &str = "inet banwarden ssh_net6";
const WEB_NET6: &str = "inet banwarden web_net6";
const MAIL_NET6: &str = "inet banwarden mail_net6";
const XMPP_NET6: &str = "inet banwarden xmpp_net6";

#[test]
fn sshd_example() {
    let attacker = "203.0.113.50";
    let returning = "2001:db8:dead:beef::77";
    check_example(
        "sshd",
        &[
            ban(attacker, SSH4, HOUR),
            ban(attacker, SSH4, HOUR),
            ban64(returning, SSH_NET6, HOUR),
            ban("203.0.113.99", SSH4, HOUR),
            // Day 2, under OpenSSH 10's sshd-session: the 3rd ban in a week.
            ban(attacker, SSH4, HOUR),
            ban(attacker, SSH4, MONTH),
            // Day 3: one offence per connection that probes keys for
            // invalid users, or for root and hangs up.
            ban("203.0.113.120", SSH4, HOUR),
            ban64("2001:db8:c0de:1::5", SSH_NET6, HOUR),
            // Refused by AllowUsers, then dropped by OpenSSH's penalty.
            ban("198.51.100.130", SSH4, HOUR),
            ban("203.0.113.140", SSH4, HOUR),
            // Every 4 days, never 3 in a week; the 6th in a year is for good.
            ban64(returning, SSH_NET6, HOUR),
            ban64(returning, SSH_NET6, HOUR),
            ban64(returning, SSH_NET6, HOUR),
            ban64(returning, SSH_NET6, HOUR),
            ban64(returning, SSH_NET6, HOUR),
            ban64(returning, SSH_NET6, FOREVER),
        ],
        &[
            ("198.51.100.23", "8 offences, never 5 within 10 minutes"),
            ("2001:db8:1234::5", "3 offences"),
            ("192.168.1.20", "private"),
            ("10.8.0.6", "private"),
            ("fd00:1:2::3", "private"),
            ("127.0.0.1", "loopback"),
            ("192.0.2.66", "sshd lines forged from a user's session"),
            ("198.51.100.200", "ban lines forged by a user and by another unit"),
            ("192.0.2.153", "only inside the user names 203.0.113.99 tried"),
            ("192.0.2.9", "logs in with a key"),
            ("2001:db8:feed::10", "logs in with a key"),
            ("198.51.100.170", "gives up at a password prompt, mistypes once, logs in and out"),
            ("198.51.100.171", "logs in with the third key her agent offers"),
            ("198.51.100.172", "a monitoring check that hangs up before authenticating"),
        ],
    );
}

/// The default configuration (etc/banwarden/banwarden.json) guards sshd
/// exactly as examples/sshd does: the same sample, the same bans.
#[test]
fn default_configuration_is_the_sshd_example() {
    let shipped = std::fs::read_to_string(root().join("etc/banwarden/banwarden.json")).expect("default");
    let example = std::fs::read_to_string(root().join("examples/sshd/banwarden.json")).expect("example");
    assert_eq!(shipped, example, "etc/banwarden/banwarden.json and examples/sshd/banwarden.json differ");
}

/// examples/banwarden.d holds each service's drop-in as
/// examples/make-dropins.py writes it from the example; beside the default
/// rules, all of them together, each service's sample gives the bans its
/// example gives alone (the other drop-ins take nothing from it).
#[test]
fn every_service_drop_in_bans_beside_the_default_rules_as_its_example() {
    let script = std::process::Command::new("python3")
        .args(["examples/make-dropins.py", "--check"])
        .current_dir(root())
        .output()
        .expect("python3 runs");
    assert!(script.status.success(), "{}", text(&script.stderr));
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("banwarden.json");
    std::fs::copy(root().join("etc/banwarden/banwarden.json"), &main).unwrap();
    std::fs::create_dir(dir.path().join("banwarden.d")).unwrap();
    let mut services = Vec::new();
    for entry in std::fs::read_dir(root().join("examples/banwarden.d")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join("banwarden.d").join(path.file_name().unwrap())).unwrap();
        services.push(path.file_stem().unwrap().to_str().unwrap().to_owned());
    }
    services.sort();
    assert_eq!(services, ["dovecot", "exim", "nextcloud", "nginx", "postfix", "prosody"]);
    let checked = banwarden(&["check", "--config", main.to_str().unwrap()], b"");
    assert!(checked.status.success() && checked.stderr.is_empty(), "{}", text(&checked.stderr));
    assert!(text(&checked.stdout).contains("with 6 drop-in(s)"), "{}", text(&checked.stdout));
    for service in services.iter().map(String::as_str).chain(["sshd"]) {
        let input = format!("examples/{service}/attack.jsonl");
        let alone = replay(service, Some(&input), b"");
        assert!(!alone.is_empty(), "{service}: its sample bans nobody");
        let together = replay_with(main.to_str().unwrap(), service, Some(&input), b"");
        assert_eq!(together, alone, "{service}: the drop-in beside the default rules bans otherwise");
    }
}

#[test]
fn nginx_example() {
    check_example(
        "nginx",
        &[
            ban("203.0.113.77", WEB4, HOUR),
            ban64("2001:db8:bad:1::99", WEB_NET6, HOUR),
            ban("198.51.100.14", WEB4, DAY),
            ban64("2001:db8:5ca:1::e", WEB_NET6, DAY),
            // Refused by an access rule; over limit_conn.
            ban("198.51.100.33", WEB4, HOUR),
            ban("203.0.113.55", WEB4, HOUR),
        ],
        &[
            ("203.0.113.120", "3 wrong passwords"),
            ("198.51.100.90", "2 probes"),
            ("192.168.10.5", "private"),
            ("10.0.0.8", "private"),
            ("fd00::8", "private"),
            ("192.0.2.150", "access log lines forged from a user's session"),
            ("192.0.2.151", "error log lines forged from a user's session"),
            ("192.0.2.44", "an ordinary visitor"),
            ("2001:db8:feed::44", "an ordinary visitor"),
            ("198.51.100.34", "refused by an access rule twice"),
        ],
    );
}

#[test]
fn dovecot_example() {
    let attacker = "203.0.113.40";
    check_example(
        "dovecot",
        &[
            ban(attacker, MAIL4, HOUR),
            // Passwords in clear text where TLS is required.
            ban("203.0.113.44", MAIL4, HOUR),
            ban(attacker, MAIL4, HOUR),
            ban("203.0.113.41", MAIL4, HOUR),
            // Day 1, under Dovecot 2.4: the 3rd ban in a week.
            ban(attacker, MAIL4, HOUR),
            ban(attacker, MAIL4, WEEK),
            ban64("2001:db8:4a:1::25", MAIL_NET6, HOUR),
            // Logged as ::ffff:198.51.100.45, banned as the IPv4 address.
            ban("198.51.100.45", MAIL4, HOUR),
        ],
        &[
            ("198.51.100.46", "4 failed logins"),
            ("192.168.1.7", "private"),
            ("::ffff:192.168.1.8", "private, IPv4-mapped"),
            ("10.0.0.12", "private"),
            ("192.0.2.171", "dovecot lines forged from a user's session"),
            ("192.0.2.172", "ban lines forged by a user and by another unit"),
            ("192.0.2.173", "only inside the user names 203.0.113.41 tried"),
            ("192.0.2.9", "reads her mail"),
            ("2001:db8:feed::9", "reads her mail"),
            ("198.51.100.99", "hangs up during the TLS handshake"),
        ],
    );
}

#[test]
fn postfix_example() {
    let attacker = "203.0.113.60";
    check_example(
        "postfix",
        &[
            ban(attacker, MAIL4, HOUR),
            // On smtps, which logs the client's port: unknown[IP]:PORT.
            ban(attacker, MAIL4, HOUR),
            ban64("2001:db8:60::2", MAIL_NET6, HOUR),
            ban("198.51.100.80", MAIL4, DAY),
            ban(attacker, MAIL4, HOUR),
            ban(attacker, MAIL4, WEEK),
        ],
        &[
            ("198.51.100.81", "3 SASL failures"),
            ("203.0.113.62", "2 relay attempts"),
            ("192.168.2.30", "private"),
            ("fd00:2::30", "private"),
            ("192.0.2.180", "smtpd lines forged from a user's session"),
            ("192.0.2.181", "ban lines forged from a user's session"),
            ("192.0.2.182", "only in a spam subject that cleanup logged"),
            ("209.85.221.41", "sends mail"),
            ("192.0.2.9", "sends mail after logging in"),
            ("198.51.100.185", "8 failures while Dovecot's auth service was away: Connection lost"),
        ],
    );
}

#[test]
fn exim_example() {
    let attacker = "203.0.113.70";
    check_example(
        "exim",
        &[
            ban(attacker, MAIL4, HOUR),
            ban("203.0.113.71", MAIL4, HOUR),
            ban(attacker, MAIL4, HOUR),
            ban64("2001:db8:70::7", MAIL_NET6, HOUR),
            ban("198.51.100.99", MAIL4, DAY),
            ban(attacker, MAIL4, HOUR),
            ban(attacker, MAIL4, WEEK),
        ],
        &[
            ("198.51.100.72", "4 failed logins"),
            ("192.168.4.4", "private"),
            ("10.1.1.1", "private"),
            ("192.0.2.190", "only in the HELO name 203.0.113.71 gave"),
            ("192.0.2.191", "exim lines forged from a user's session"),
            ("192.0.2.192", "ban lines forged from a user's session"),
            ("192.0.2.9", "sends mail after logging in"),
            ("198.51.100.2", "receives mail"),
        ],
    );
}

#[test]
fn nextcloud_example() {
    check_example(
        "nextcloud",
        &[ban("203.0.113.30", WEB4, HOUR), ban64("2001:db8:77::1", WEB_NET6, HOUR), ban("203.0.113.31", WEB4, HOUR)],
        &[
            ("198.51.100.61", "3 failed logins"),
            ("192.168.0.42", "private"),
            ("127.0.0.1", "loopback: the reverse proxy before trusted_proxies was set"),
            ("192.0.2.160", "records forged from a user's session"),
            ("192.0.2.161", "only inside the login names 203.0.113.31 tried"),
            ("203.0.113.88", "a trusted-domain warning"),
        ],
    );
}

#[test]
fn prosody_example() {
    check_example(
        "prosody",
        &[ban("203.0.113.90", XMPP4, HOUR), ban64("2001:db8:90::9", XMPP_NET6, HOUR)],
        &[
            ("198.51.100.91", "3 failed logins"),
            ("198.51.100.93", "failed for a server-side reason (temporary-auth-failure)"),
            ("192.168.3.3", "private"),
            ("192.0.2.190", "lines forged from a user's session"),
        ],
    );
}

/// `count` journal entries in `journalctl -o json` form, a second apart:
/// `message`, logged as `ident` by a process of `unit` running as `uid`.
fn entries(unit: &str, ident: &str, uid: u32, message: &str, count: u64) -> String {
    (0..count)
        .map(|i| {
            let entry = json!({
                "__REALTIME_TIMESTAMP": ((1_763_726_400 + i) * 1_000_000).to_string(),
                "_TRANSPORT": "syslog",
                "SYSLOG_IDENTIFIER": ident,
                "_UID": uid.to_string(),
                "_SYSTEMD_UNIT": unit,
                "MESSAGE": message,
            });
            format!("{entry}\n")
        })
        .collect()
}

/// Each kind of sshd line, alone, five times from one address (a port
/// each: five connections) bans it; the lines of legitimate sessions, many
/// times over, ban nobody; the lines of one connection that never
/// authenticated count once together.
#[test]
fn sshd_counts_every_kind_of_line_and_no_legitimate_one() {
    let kinds: [(&str, fn(&str, u32) -> String); 11] = [
        ("198.51.100.1", |ip, port| format!("Failed password for root from {ip} port {port} ssh2")),
        ("198.51.100.2", |ip, port| format!("Invalid user admin from {ip} port {port}")),
        ("198.51.100.3", |ip, port| format!("Connection closed by invalid user admin {ip} port {port} [preauth]")),
        ("198.51.100.4", |ip, port| format!("Disconnected from invalid user admin {ip} port {port} [preauth]")),
        ("198.51.100.5", |ip, port| format!("Disconnected from authenticating user root {ip} port {port} [preauth]")),
        ("198.51.100.6", |ip, port| format!("Connection reset by authenticating user root {ip} port {port} [preauth]")),
        ("198.51.100.7", |ip, port| {
            format!("error: maximum authentication attempts exceeded for root from {ip} port {port} ssh2 [preauth]")
        }),
        ("198.51.100.8", |ip, _| format!("User root from {ip} not allowed because listed in DenyUsers")),
        ("198.51.100.9", |ip, port| format!("Failed none for invalid user oracle from {ip} port {port} ssh2")),
        ("198.51.100.10", |ip, port| {
            format!("Failed publickey for invalid user git from {ip} port {port} ssh2: RSA SHA256:AAAA")
        }),
        ("2001:db8:9::8", |ip, port| {
            format!("drop connection #1 from [{ip}]:{port} on [2001:db8::22]:22 penalty: failed authentication")
        }),
    ];
    let legitimate = |ip: &str, port: u32| {
        [
            format!("Accepted password for bob from {ip} port {port} ssh2"),
            format!("Accepted publickey for bob from {ip} port {port} ssh2: ED25519 SHA256:AAAA"),
            format!("Failed publickey for bob from {ip} port {port} ssh2: ED25519 SHA256:BBBB"),
            format!("Received disconnect from {ip} port {port}:11: disconnected by user"),
            format!("Disconnected from user bob {ip} port {port}"),
            format!("Connection closed by {ip} port {port} [preauth]"),
            format!("Connection closed by {ip} port {port}"),
            format!("drop connection #0 from [{ip}]:{port} on [192.0.2.22]:22 past MaxStartups"),
            "pam_unix(sshd:session): session closed for user bob".to_owned(),
        ]
    };
    let mut input = String::new();
    for (ip, line) in kinds {
        for port in 0..5 {
            input.push_str(&entries("ssh.service", "sshd-session", 0, &line(ip, 40000 + port), 1));
        }
    }
    for port in 0..10 {
        for line in legitimate("198.51.100.20", 41000 + port) {
            input.push_str(&entries("ssh.service", "sshd-session", 0, &line, 1));
        }
    }
    // One connection that never authenticated, all its lines: one offence
    // (four such connections stay under the threshold of five).
    for port in 0..4 {
        let (ip, port) = ("198.51.100.21", 42000 + port);
        for line in [
            format!("Invalid user oracle from {ip} port {port}"),
            format!("Failed none for invalid user oracle from {ip} port {port} ssh2"),
            format!("Failed publickey for invalid user oracle from {ip} port {port} ssh2: RSA SHA256:AAAA"),
            format!("Connection closed by invalid user oracle {ip} port {port} [preauth]"),
        ] {
            input.push_str(&entries("ssh.service", "sshd-session", 0, &line, 1));
        }
    }
    let expected: Vec<Ban> = kinds
        .iter()
        .map(|(ip, _)| if ip.contains(':') { ban64(ip, SSH_NET6, HOUR) } else { ban(ip, SSH4, HOUR) })
        .collect();
    assert_eq!(replay("sshd", None, input.as_bytes()), expected);
}

/// The samples come from Debian; the routes also take the unit names of
/// other distributions and of socket activation.
#[test]
fn examples_route_other_distributions_units() {
    let sshd = |unit: &str, ident: &str, uid: u32, ip: &str| {
        entries(unit, ident, uid, &format!("Failed password for root from {ip} port 50000 ssh2"), 5)
    };
    let input = [
        sshd("sshd.service", "sshd-session", 0, "198.51.100.1"),
        sshd("sshd@3-192.0.2.10:22-198.51.100.2:51234.service", "sshd-session", 0, "198.51.100.2"),
        sshd("ssh@7-[2001:db8::10]:22-[2001:db8::2]:51234.service", "sshd", 0, "2001:db8::2"),
        // A user's process left in ssh.service (no PAM session): not sshd.
        sshd("ssh.service", "sshd", 1000, "198.51.100.3"),
    ]
    .concat();
    assert_eq!(
        replay("sshd", None, input.as_bytes()),
        [ban("198.51.100.1", SSH4, HOUR), ban("198.51.100.2", SSH4, HOUR), ban64("2001:db8::2", SSH_NET6, HOUR)]
    );

    let sasl = |ip: &str| format!("warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6");
    // With smtpd_client_port_logging = yes, the client's port follows.
    let sasl_port =
        |ip: &str| format!("warning: unknown[{ip}]:2525: SASL PLAIN authentication failed: (reason unavailable)");
    let relay = |ip: &str| {
        format!(
            "NOQUEUE: reject: RCPT from unknown[{ip}]:61023: 454 4.7.1 <a@example.com>: Relay access denied; \
             from=<b@example.net> to=<a@example.com> proto=ESMTP helo=<x>"
        )
    };
    let input = [
        entries("postfix.service", "postfix/submission/smtpd", 89, &sasl("198.51.100.4"), 5),
        entries("postfix.service", "postfix/smtps/smtpd", 89, &sasl_port("198.51.100.9"), 5),
        entries("postfix.service", "postfix/smtpd", 89, &relay("198.51.100.10"), 3),
    ]
    .concat();
    assert_eq!(
        replay("postfix", None, input.as_bytes()),
        [ban("198.51.100.4", MAIL4, HOUR), ban("198.51.100.9", MAIL4, HOUR), ban("198.51.100.10", MAIL4, DAY)]
    );

    // Exim with syslog_timestamp = false: no time stamp of its own.
    let auth = "login authenticator failed for (User) [198.51.100.5]: 535 Incorrect authentication data (set_id=a)";
    let input = entries("exim.service", "exim", 93, auth, 5);
    assert_eq!(replay("exim", None, input.as_bytes()), [ban("198.51.100.5", MAIL4, HOUR)]);

    let record = |ip: &str| {
        format!(
            r#"{{"reqId":"r","level":2,"time":"t","remoteAddr":"{ip}","user":"--","app":"no app in context","method":"POST","url":"/login","message":"Login failed: a (Remote IP: {ip})","userAgent":"u","version":"31.0.10.2"}}"#
        )
    };
    let input = [
        entries("php-fpm.service", "Nextcloud", 48, &record("198.51.100.6"), 5),
        entries("httpd.service", "Nextcloud", 48, &record("198.51.100.7"), 5),
        entries("apache2.service", "Nextcloud", 33, &record("198.51.100.8"), 5),
    ]
    .concat();
    assert_eq!(
        replay("nextcloud", None, input.as_bytes()),
        [ban("198.51.100.6", WEB4, HOUR), ban("198.51.100.7", WEB4, HOUR), ban("198.51.100.8", WEB4, HOUR)]
    );
}

/// examples/ssh-networks.json, sshguard's subnet blocking as a rule: an
/// address is banned after 5 failures; once 3 addresses of one IPv6 /64
/// (IPv4 /24) are banned within a week, the whole network is, for a day.
#[test]
fn ssh_networks_example_escalates_to_the_network() {
    // (address, failures), a minute apart, as root's sshd logs them.
    let attacks = [
        ("2001:db8:1:2::a", 5),
        ("2001:db8:1:2::b", 5),
        ("2001:db8:9::1", 4), // under the threshold
        ("2001:db8:1:2::c", 5),
        ("2001:db8:1:2::d", 5), // inside the banned /64 (its counter starts again)
        ("203.0.113.5", 5),
        ("203.0.113.6", 5),
        ("198.51.100.7", 5), // another /24: 2 bans in 203.0.113.0/24 only
        ("192.168.1.20", 9), // private
    ];
    let mut input = String::new();
    let mut t = 1_763_726_400u64;
    for (ip, failures) in attacks {
        for _ in 0..failures {
            t += 60;
            let entry = json!({
                "__REALTIME_TIMESTAMP": (t * 1_000_000).to_string(),
                "_TRANSPORT": "syslog",
                "SYSLOG_IDENTIFIER": "sshd",
                "_UID": "0",
                "_SYSTEMD_UNIT": "ssh.service",
                "MESSAGE": format!("Failed password for root from {ip} port 50000 ssh2"),
            });
            input.push_str(&format!("{entry}\n"));
        }
    }
    let out = banwarden(&["replay", "--config", "examples/ssh-networks.json"], input.as_bytes());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && !stderr.contains("step errors"), "{stderr}");
    let bans: Vec<(String, String, Option<u64>)> = stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|effect| effect["action"] == "action_nftBan")
        .map(|e| {
            (e["IP"].as_str().unwrap().to_owned(), e["set"].as_str().unwrap().to_owned(), e["banSeconds"].as_u64())
        })
        .collect();
    let ban = |ip: &str, set: &str, secs: u64| (ip.to_owned(), set.to_owned(), Some(secs));
    let (net4, net6) = ("inet banwarden ssh_net4", "inet banwarden ssh_net6");
    assert_eq!(
        bans,
        [
            ban("2001:db8:1:2::a", SSH6, HOUR),
            ban("2001:db8:1:2::b", SSH6, HOUR),
            ban("2001:db8:1:2::c", SSH6, HOUR),
            ban("2001:db8:1:2::/64", net6, DAY),
            ban("2001:db8:1:2::d", SSH6, HOUR),
            ban("203.0.113.5", SSH4, HOUR),
            ban("203.0.113.6", SSH4, HOUR),
            ban("198.51.100.7", SSH4, HOUR),
        ],
        "{stdout}"
    );
    assert!(!bans.iter().any(|b| b.1 == net4), "no /24 reached 3 bans");
}
