//! The Redis-protocol server in the real daemon, driven by real clients:
//! `redis-cli` over the Unix socket, over TCP with the password and over
//! TLS (a CA the test makes with openssl), `redis-cli --pipe` of 100,000
//! commands, redis-py's `execute_command` and pipelines; and 10,000 hostile
//! commands. Each test runs `banwarden run` in a network namespace of its
//! own (the API's sets made there) on a private journald, and checks the
//! kernel sets, the store (`banwarden list`) and that the journal is still
//! judged. Needs root, redis-tools, python3-redis and openssl.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::bans::{Netns, SSH_RULES};
use super::journald::PrivateJournald;
use super::util::{require, test_ca, text, wait_until, Daemon, API_SETS};

const PASSWORD: &str = "correct horse battery";
const PORT: &str = "6380";
const TLS_PORT: &str = "6390";
/// redis-py from Debian (python3-redis), whatever python3 comes first in PATH.
const PYTHON: &str = "/usr/bin/python3";

/// A daemon serving the Redis protocol in its own namespace.
struct Server {
    // Dropped in this order: the daemon before its namespace and journal.
    daemon: Option<Daemon>,
    ns: Netns,
    journald: PrivateJournald,
    socket: PathBuf,
    ca: PathBuf,
}

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn tools() -> bool {
    require(have("redis-cli", &["--version"]), "needs redis-cli (Debian's redis-tools)")
        && require(have(PYTHON, &["-c", "import redis"]), "needs redis-py (Debian's python3-redis)")
        && require(have("openssl", &["version"]), "needs openssl")
}

/// A CA and a certificate for 127.0.0.1 signed by it, in `dir`: (ca, cert, key).

fn password_hash() -> String {
    let out = super::util::banwarden(&["hash-password"], format!("{PASSWORD}\n").as_bytes());
    assert!(out.status.success(), "hash-password: {}", text(&out.stderr));
    let hash = text(&out.stdout).trim().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    hash
}

impl Server {
    fn start() -> Option<Server> {
        if !tools() {
            return None;
        }
        let journald = PrivateJournald::start()?;
        let ns = Netns::new(SSH_RULES)?;
        ns.nft_script(API_SETS);
        let lo =
            Command::new("ip").args(["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"]).status().unwrap();
        assert!(lo.success());
        let (ca, cert, key) = test_ca(ns.state.path());
        let socket = ns.state.path().join("resp.sock");
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&ns.config).unwrap()).unwrap();
        config["resp"] = serde_json::json!({
            "listen": [format!("unix:{}", socket.display()), format!("127.0.0.1:{PORT}")],
            "listenTls": [format!("127.0.0.1:{TLS_PORT}")],
            "tls": {"certificate": cert, "key": key},
            "password": password_hash(),
        });
        std::fs::write(&ns.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        let daemon = ns.run(&journald);
        assert!(wait_until(10, || socket.exists()), "no socket at {}", socket.display());
        Some(Server { daemon: Some(daemon), ns, journald, socket, ca })
    }

    /// `redis-cli ARGS` in the namespace; its stdout, trimmed.
    fn cli(&self, args: &[&str]) -> String {
        let out = self.cli_output(args, b"");
        assert!(out.status.success(), "redis-cli {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    }

    fn cli_output(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.ns.name, "redis-cli"]).args(args);
        crate::util::output_with_stdin(&mut command, stdin)
    }

    fn unix(&self, command: &[&str]) -> String {
        let mut args = vec!["-s", self.socket.to_str().unwrap()];
        args.extend(command);
        self.cli(&args)
    }

    fn python(&self, script: &str) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns.name, PYTHON, "-c", script])
            .arg(&self.socket)
            .output()
            .unwrap();
        assert!(out.status.success(), "python: {}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    }

    /// The addresses (or networks) in an API set.
    fn set(&self, name: &str) -> Vec<String> {
        self.ns.elements("inet", name).into_iter().map(|(e, _)| e).collect()
    }

    fn list(&self) -> String {
        let out = self.ns.banwarden(&["list"]);
        assert!(out.status.success(), "list: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// An sshd failure in the journal is still banned into `ip banwarden ban4`.
    fn still_judges_the_journal(&self, address: &str) {
        self.journald.log("sshd", &format!("Failed password for root from {address} port 22 ssh2"));
        let banned = wait_until(10, || self.ns.elements("ip", "ban4").iter().any(|(e, _)| e == address));
        assert!(banned, "the journal's ban of {address} did not land");
    }

    fn stop(mut self) -> String {
        let (status, stderr) = self.daemon.take().unwrap().stop();
        assert!(status.success(), "{stderr}");
        stderr
    }
}

#[test]
fn redis_cli_over_the_unix_socket_tcp_and_tls() {
    let Some(server) = Server::start() else { return };
    assert_eq!(server.unix(&["drop_insert", "192.0.2.1"]), "1");
    assert_eq!(server.unix(&["DROP.INSERT", "192.0.2.1"]), "0", "already banned for ever");
    assert_eq!(server.unix(&["TTL.DROP.INSERT", "2001:db8:7::/48", "600"]), "1");
    assert_eq!(server.unix(&["accept_insert", "198.51.100.0/24"]), "1");
    let refused = server.unix(&["drop_insert", "198.51.100.5"]);
    assert!(refused.starts_with("ERR refused: 198.51.100.5"), "{refused}");
    let bad = server.unix(&["drop_insert", "192.0.2.1; flush ruleset"]);
    assert!(bad.starts_with("ERR not an address or network"), "{bad}");
    assert_eq!(server.unix(&["ping"]), "PONG");

    // TCP: nothing before AUTH; the password from the hash works.
    let tcp = ["-h", "127.0.0.1", "-p", PORT];
    let denied = server.cli(&[&tcp[..], &["drop_insert", "192.0.2.2"]].concat());
    assert!(denied.starts_with("NOAUTH"), "{denied}");
    let wrong = server.cli(&[&tcp[..], &["-a", "guess", "--no-auth-warning", "drop_insert", "192.0.2.2"]].concat());
    assert!(wrong.contains("WRONGPASS") || wrong.contains("NOAUTH"), "{wrong}");
    let with_password = [&tcp[..], &["-a", PASSWORD, "--no-auth-warning"]].concat();
    assert_eq!(server.cli(&[&with_password[..], &["ttl_drop_insert", "192.0.2.2", "600"]].concat()), "1");

    // TLS, checked against the test's own CA.
    let ca = server.ca.to_str().unwrap().to_owned();
    let tls = ["--tls", "--cacert", &ca, "-h", "127.0.0.1", "-p", TLS_PORT, "-a", PASSWORD, "--no-auth-warning"];
    assert_eq!(server.cli(&[&tls[..], &["TTL_DROP_INSERT", "192.0.2.3", "600"]].concat()), "1");

    assert_eq!(server.set("api_drop4"), ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
    assert_eq!(server.set("api_drop_net6"), ["2001:db8:7::/48"]);
    assert_eq!(server.set("api_accept4"), ["198.51.100.0/24"]);
    let timeouts = server.ns.elements("inet", "api_drop4");
    assert_eq!(timeouts[0].1, None, "drop_insert is permanent");
    assert!(timeouts[1].1.is_some_and(|left| left <= 600 && left > 500), "{timeouts:?}");

    let list = server.list();
    for net in ["192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8:7::/48", "198.51.100.0/24"] {
        assert!(list.contains(net), "{net} not in list:\n{list}");
    }
    assert!(list.contains("redis:uid=0") && list.contains("redis:default"), "origins:\n{list}");

    assert_eq!(server.unix(&["drop_delete", "192.0.2.1"]), "1");
    assert_eq!(server.unix(&["drop.delete", "192.0.2.1"]), "0", "nothing left to delete");
    assert_eq!(server.set("api_drop4"), ["192.0.2.2", "192.0.2.3"]);
    assert!(!server.list().contains("192.0.2.1 "), "deleted from the store");
    server.still_judges_the_journal("203.0.113.50");
    let stderr = server.stop();
    assert!(stderr.contains("failed AUTH from 127.0.0.1"), "the failed AUTH is logged with its address:\n{stderr}");
}

/// `COUNT` distinct addresses of 10.0.0.0/8, from `first`.
fn addresses(first: u32, count: u32) -> impl Iterator<Item = String> {
    (first..first + count).map(|i| format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255))
}

#[test]
fn a_pipe_of_100000_commands_and_python_clients() {
    let Some(server) = Server::start() else { return };
    const N: u32 = 100_000;
    let mut pipe = Vec::new();
    for address in addresses(0, N) {
        pipe.extend(crate::util::resp_command(&["TTL_DROP_INSERT", &address, "3600"]));
    }
    let out = server.cli_output(&["-s", server.socket.to_str().unwrap(), "--pipe"], &pipe);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && said.contains(&format!("errors: 0, replies: {N}")), "{said}");
    assert_eq!(server.set("api_drop4").len(), N as usize);

    // redis-py: execute_command, and a pipeline with a bad line in it.
    let script = r#"
import sys, redis
r = redis.Redis(unix_socket_path=sys.argv[1])
print(r.execute_command("ttl_drop_insert", "192.0.2.70", 600))
print(r.execute_command("drop_insert", "10.0.0.1"))
pipe = r.pipeline(transaction=False)
for i in range(1000):
    pipe.execute_command("drop.insert", "172.16.%d.%d" % (i // 256, i % 256))
pipe.execute_command("drop_insert", "not-an-address")
results = pipe.execute(raise_on_error=False)
print(sum(1 for x in results if x == 1), sum(1 for x in results if isinstance(x, redis.ResponseError)))
print(results[-1])
tx = r.pipeline()  # redis-py's default: MULTI ... EXEC
tx.execute_command("drop_insert", "192.0.2.71")
tx.execute_command("accept_insert", "198.51.100.71")
print(tx.execute())
"#;
    let said = server.python(script);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines[0], "1");
    assert_eq!(lines[1], "1", "a TTL ban made permanent is a change");
    assert_eq!(lines[2], "1000 1");
    assert!(lines[3].starts_with("not an address or network"), "{said}");
    assert_eq!(lines[4], "[1, 1]");
    let v4 = server.set("api_drop4");
    assert_eq!(v4.len(), N as usize + 1 + 1000 + 1);
    assert_eq!(server.set("api_accept4"), ["198.51.100.71"]);
    let list = server.list();
    assert!(
        list.contains("10.1.134.159") && list.contains("172.16.3.231"),
        "the pipe's last and python's last in list"
    );
    server.still_judges_the_journal("203.0.113.51");
    server.stop();
}

/// A deterministic stream of numbers (the tests' own LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
}

/// Reads what the server answers until it closes or is quiet for `quiet`.
fn drain(stream: &mut UnixStream, quiet: Duration) -> Vec<u8> {
    stream.set_read_timeout(Some(quiet)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[test]
fn ten_thousand_hostile_commands_leave_only_parsed_addresses_in_the_kernel() {
    let Some(server) = Server::start() else { return };
    let mut lcg = Lcg(15);
    let hostile = [
        "1.2.3.4; flush ruleset",
        "1.2.3.4 }; flush ruleset; {",
        "$(reboot)",
        "`id`",
        "ip saddr 1.2.3.4 drop",
        "999.1.1.1",
        "1.2.3.4/33",
        "1.2.3.4/24",
        "::ffff:1.2.3.4.5",
        "0x01020304",
        "1.2.3.4\r\n*1\r\n$8\r\nFLUSHALL",
        "",
        "-1",
        "1.2.3.4%eth0",
    ];
    let names = [
        "drop_insert",
        "TTL.DROP.INSERT",
        "accept.insert",
        "drop_delete",
        "ttl_drop_insert",
        "FLUSHALL",
        "CONFIG",
        "EVAL",
        "drop_insert\0",
    ];
    let mut wanted: Vec<String> = Vec::new();
    let mut pipeline = Vec::new();
    let mut count = 0;
    // Well framed, hostile content: answered with errors, in one pipeline.
    while count < 9_000 {
        let name = lcg.pick(&names);
        let drop = matches!(name, "drop_insert" | "TTL.DROP.INSERT" | "ttl_drop_insert");
        let arg = match lcg.next() % 10 {
            // Distinct addresses, so that no delete or accept of the same
            // one comes later: these are the bans expected in the kernel.
            0 if drop => {
                let k = wanted.len();
                let address = format!("10.99.{}.{}", k >> 8, k & 255);
                wanted.push(address.clone());
                address
            }
            1 => "9".repeat(1 + (lcg.next() % 60_000) as usize),
            // Printable noise, never an address ("x" first).
            2 => {
                "x".chars().chain((0..(lcg.next() % 40)).map(|_| char::from(b' ' + (lcg.next() % 95) as u8))).collect()
            }
            _ => lcg.pick(&hostile).to_owned(),
        };
        let ttl = match lcg.next() % 4 {
            0 => "0".to_string(),
            1 => "18446744073709551615".to_string(),
            2 => "-5".to_string(),
            _ => (1 + lcg.next() % 3600).to_string(),
        };
        let words: Vec<&str> = match name {
            "TTL.DROP.INSERT" | "ttl_drop_insert" if ttl.parse::<u64>().is_ok_and(|t| (1..1 << 40).contains(&t)) => {
                vec![name, &arg, &ttl]
            }
            "TTL.DROP.INSERT" | "ttl_drop_insert" => {
                // A bad TTL: the address is not banned.
                if arg.starts_with("10.99.") {
                    wanted.pop();
                }
                vec![name, &arg, &ttl]
            }
            _ => vec![name, &arg],
        };
        pipeline.extend(crate::util::resp_command(&words));
        count += 1;
    }
    let mut stream = UnixStream::connect(&server.socket).unwrap();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        std::thread::spawn(move || stream.write_all(&pipeline).unwrap())
    };
    let replies = drain(&mut stream, Duration::from_secs(5));
    writer.join().unwrap();
    let lines = replies.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
    assert_eq!(lines, 9_000, "one reply line per command, the connection still open");

    // Broken framing and oversized frames: each closes its own connection
    // with a protocol error.
    let broken: [&[u8]; 8] = [
        b"drop_insert 1.2.3.4\r\n",
        b"*2\r\n$11\r\ndrop_insert\r\n:5\r\n",
        b"*-5\r\n",
        b"*99999999999999999999\r\n",
        b"*2\r\n$11\r\ndrop_insert\r\n$-7\r\n",
        b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n$4\r\nPING\r\n",
        b"*17\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n",
        b"\x00\xff\xfe*\r\n",
    ];
    for i in 0..1_000 {
        let mut stream = UnixStream::connect(&server.socket).unwrap();
        let mut bytes = broken[i % broken.len()].to_vec();
        if i % 100 == 0 {
            // Announced huge, then sent past the frame limit.
            bytes = b"*2\r\n$11\r\ndrop_insert\r\n$999999999\r\n".to_vec();
            bytes.extend(vec![b'1'; 70_000]);
        }
        let _ = stream.write_all(&bytes);
        let reply = drain(&mut stream, Duration::from_secs(5));
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("-ERR Protocol error"), "{i}: {reply:?}");
    }
    // A slowloris holds its connection while others are served.
    let mut slow = UnixStream::connect(&server.socket).unwrap();
    slow.write_all(b"*2\r\n$11\r\ndrop_").unwrap();
    assert_eq!(server.unix(&["drop_insert", "192.0.2.99"]), "1");
    wanted.push("192.0.2.99".into());

    wanted.sort();
    wanted.dedup();
    let mut in_kernel = server.set("api_drop4");
    in_kernel.sort();
    assert_eq!(in_kernel, wanted, "only the parsed addresses sent are in the kernel");
    assert!(server.set("api_drop6").is_empty() && server.set("api_accept6").is_empty());
    assert!(server.set("api_drop_net4").is_empty() && server.set("api_drop_net6").is_empty());
    for element in server.set("api_accept4") {
        assert!(element.parse::<std::net::IpAddr>().is_ok(), "{element}");
    }
    server.still_judges_the_journal("203.0.113.52");
    drop(slow);
    server.stop();
}
