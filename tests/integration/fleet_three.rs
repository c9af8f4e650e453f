//! Three daemons A, B and C, each in a network namespace of its own with
//! a private journald, sharing bans through a Redis of the test's own (the
//! harness of `fleet`): an attack on A banned everywhere and an unban on B
//! lifted everywhere, C's never-ban list holding against A's ban, a ban by
//! hand shared with `--fleet`, an entry applied twice changing nothing, and
//! hostile entries written into the stream by hand refused, logged, and
//! never reaching a kernel. Root only, and redis-server.

use serde_json::{json, Value};

use super::fleet::{three, Host, Redis, WAIT_SECS};
use super::util::wait_until;

/// The default stream.
const STREAM: &str = "banwarden:bans";

/// Seconds since the epoch (the test's clock, not the daemon's).
fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// The store's lines about `ip` (records, not the whole file).
fn records_of(host: &Host, ip: &str) -> Vec<String> {
    let quoted = format!("\"{ip}\"");
    host.store().lines().filter(|l| l.contains(&quoted)).map(str::to_owned).collect()
}

/// XADDs `fields` to the default stream by redis-cli, as anyone with
/// write access could; the entry's ID.
fn xadd(redis: &Redis, fields: &[(&'static str, String)]) -> String {
    let mut args = vec!["XADD", STREAM, "*"];
    for (k, v) in fields {
        args.extend([*k, v.as_str()]);
    }
    let id = redis.cli(&args);
    assert!(id.contains('-'), "XADD answered {id:?}");
    id
}

/// A well-formed ban of `net` in `set` by host `x`, ending at `end`
/// (seconds since the epoch).
fn ban_entry(net: &str, set: &str, end: &str) -> Vec<(&'static str, String)> {
    let fields =
        [("v", "1"), ("op", "ban"), ("host", "x"), ("set", set), ("net", net), ("end", end), ("by", "rule sshd#4")];
    fields.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

#[test]
fn an_attack_on_a_is_banned_on_a_b_and_c_and_an_unban_on_b_is_lifted_everywhere() {
    let Some(redis) = Redis::start() else { return };
    let Some([a, b, c]) = three(&redis, |_, _| {}) else { return };
    let ip = "203.0.113.10";
    let before = now();
    a.attack(ip);
    for host in [&a, &b, &c] {
        assert!(host.gets("ban4", ip), "{ip} not banned on {}: {}", host.name, host.log());
        let left = host.held_timeouts("ban4")[0].1.expect("a timeout");
        assert!((580..=600).contains(&left), "{}: {left} s left of a 600 s ban", host.name);
    }
    for host in [&b, &c] {
        let records = records_of(host, ip);
        assert!(!records.is_empty() && records.iter().all(|r| r.contains(r#""by": "fleet a""#)), "{records:?}");
    }
    assert!(records_of(&a, ip).iter().all(|r| r.contains(r#""by": "rule sshd#"#)), "{:?}", records_of(&a, ip));
    // The entry: exactly the documented fields, in order.
    let entries = redis.entries(STREAM);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let fields = &entries[0].1;
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["v", "op", "host", "set", "net", "end", "by"], "{fields:?}");
    let value = |k: &str| fields.iter().find(|(f, _)| f == k).unwrap().1.clone();
    assert_eq!([value("v"), value("op"), value("host"), value("set"), value("net")], ["1", "ban", "a", "ban4", ip]);
    let end: u64 = value("end").parse().unwrap();
    assert!(end >= before + 600 && end <= now() + 601, "end {end}, banned at {before} for 600 s");
    assert!(value("by").starts_with("rule sshd#"), "{fields:?}");
    // The snapshot beside the stream.
    let member = format!("ban4 {ip}");
    assert_eq!(redis.cli(&["HGET", &format!("{STREAM}:live"), &member]), format!("{end} a {}", value("by")));
    assert_eq!(redis.cli(&["ZSCORE", &format!("{STREAM}:ends"), &member]), end.to_string());

    // Unbanned by hand on B, shared: lifted on B, then on A and C.
    let out = b.banwarden(&["unban", ip, "--fleet"]);
    assert!(out.contains(&format!("unbanned {ip}")), "{out}");
    for host in [&b, &a, &c] {
        assert!(host.loses("ban4", ip), "{ip} still banned on {}: {}", host.name, host.log());
    }
    let entries = redis.entries(STREAM);
    assert_eq!(entries.len(), 2, "{entries:?}");
    let keys: Vec<&str> = entries[1].1.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["v", "op", "host", "set", "net", "by"], "an unban has no end: {entries:?}");
    assert_eq!(entries[1].1[1..5].iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(), ["unban", "b", "ban4", ip]);
    assert!(entries[1].1[5].1.starts_with("cli "), "{entries:?}");
    assert!(wait_until(WAIT_SECS, || redis.cli(&["HEXISTS", &format!("{STREAM}:live"), &member]) == "0"));
    assert_eq!(redis.cli(&["ZSCORE", &format!("{STREAM}:ends"), &member]), "");
    for host in [&a, &b, &c] {
        assert!(!host.log().contains("panicked"), "{}", host.log());
    }
}

#[test]
fn a_never_ban_address_of_c_banned_by_a_is_refused_on_c_only() {
    let Some(redis) = Redis::start() else { return };
    let admin = "198.51.100.20";
    let Some([a, b, c]) = three(&redis, |name, config| {
        if name == "c" {
            config["neverBan"] = json!(["198.51.100.0/24"]);
        }
    }) else {
        return;
    };
    a.attack(admin);
    assert!(a.gets("ban4", admin) && b.gets("ban4", admin), "{}{}", a.log(), b.log());
    let refused = |log: &str| {
        log.lines().any(|l| l.contains("fleet: ") && l.contains(admin) && l.contains("refused") && l.contains("a's"))
    };
    assert!(wait_until(WAIT_SECS, || refused(&c.log())), "C does not say it refused: {}", c.log());
    assert!(c.held_everywhere().is_empty(), "{:?}", c.held_everywhere());
    assert!(records_of(&c, admin).is_empty(), "{:?}", records_of(&c, admin));
    assert!(!refused(&b.log()) && !refused(&a.log()));
    assert!(wait_until(WAIT_SECS, || c.status()["hosts"]["a"]["refused"].as_u64() >= Some(1)), "{}", c.status());
    // And C still applies the next one.
    a.attack("203.0.113.21");
    assert!(c.gets("ban4", "203.0.113.21"), "{}", c.log());
    assert_eq!(c.held("ban4"), ["203.0.113.21"]);
}

/// Entries anyone with write access to the stream could add, each to be
/// refused: (what it is, why its reading refuses it as the log says,
/// `None` when it is the host that has no such set, its fields).
fn hostile_entries(end: &str) -> Vec<(&'static str, Option<&'static str>, Vec<(&'static str, String)>)> {
    let with = |net: &str, set: &str, change: &[(&'static str, &str)]| {
        let mut fields = ban_entry(net, set, end);
        for (k, v) in change {
            fields.iter_mut().find(|(f, _)| f == k).unwrap().1 = v.to_string();
        }
        fields
    };
    let without = |name: &str| ban_entry("192.0.2.77", "ban4", end).into_iter().filter(|(k, _)| *k != name).collect();
    let huge = "9".repeat(100 * 1024);
    let mut many = ban_entry("192.0.2.78", "ban4", end);
    many.extend((0..20).map(|i| (["f0", "f1", "f2", "f3"][i % 4], i.to_string())));
    vec![
        ("a bad address", Some("net \"999.1.1.1\""), with("999.1.1.1", "ban4", &[])),
        ("nft syntax", Some("net \"1.2.3.4; flush ruleset\""), with("1.2.3.4; flush ruleset", "ban4", &[])),
        ("nft syntax in a set", Some("set \"ban4 ; flush ruleset\""), with("192.0.2.79", "ban4 ; flush ruleset", &[])),
        ("a closing brace", Some("net \"1.2.3.4}\""), with("1.2.3.4}", "ban4", &[])),
        ("a non-canonical address", Some("net \"192.0.2.080\""), with("192.0.2.080", "ban4", &[])),
        ("a non-canonical /32", Some("net \"192.0.2.81/32\""), with("192.0.2.81/32", "ban4", &[])),
        ("the whole Internet", Some("net 0.0.0.0/0"), with("0.0.0.0/0", "ban4", &[])),
        ("a /7", Some("net 10.0.0.0/7"), with("10.0.0.0/7", "ban4", &[])),
        ("the whole IPv6 Internet", Some("net ::/0"), with("::/0", "ban6", &[])),
        ("a 100 KB address", Some("field \"net\""), with(&format!("192.0.2.83{huge}"), "ban4", &[])),
        ("a 100 KB by", Some("field \"by\""), with("192.0.2.84", "ban4", &[("by", &huge)])),
        ("a 100 KB host", Some("field \"host\""), with("192.0.2.85", "ban4", &[("host", &huge)])),
        ("version 2", Some("version \"2\""), with("192.0.2.88", "ban4", &[("v", "2")])),
        ("an unknown op", Some("op \"flush\""), with("192.0.2.89", "ban4", &[("op", "flush")])),
        ("a negative end", Some("end \"-1\""), with("192.0.2.90", "ban4", &[("end", "-1")])),
        (
            "an end in the year 10000",
            Some("end \"253402300800\""),
            with("192.0.2.91", "ban4", &[("end", "253402300800")]),
        ),
        ("a host with a space", Some("host \"x y\""), with("192.0.2.92", "ban4", &[("host", "x y")])),
        (
            "a by with a newline",
            Some("by \"rule\\nPRIORITY=0\""),
            with("192.0.2.93", "ban4", &[("by", "rule\nPRIORITY=0")]),
        ),
        ("no version", Some("no field \"v\""), without("v")),
        ("no op", Some("no field \"op\""), without("op")),
        ("no host", Some("no field \"host\""), without("host")),
        ("no set", Some("no field \"set\""), without("set")),
        ("no net", Some("no field \"net\""), without("net")),
        ("a ban without an end", Some("no field \"end\""), without("end")),
        ("too many fields", Some("27 fields"), many),
        ("an unknown set", None, with("192.0.2.86", "nosuch", &[])),
        ("a kernel set no rule names", None, with("192.0.2.87", "plain4", &[])),
        ("an IPv6 address for an IPv4 set", None, with("2001:db8::82", "ban4", &[])),
        ("a network for a set of single addresses", None, with("192.0.2.128/25", "ban4", &[])),
    ]
}

#[test]
fn hostile_entries_are_refused_and_logged_and_only_parsed_addresses_reach_a_kernel() {
    let Some(redis) = Redis::start() else { return };
    let Some(hosts) = three(&redis, |_, _| {}) else { return };
    let end = (now() + 3600).to_string();
    // Valid entries interleaved with the hostile ones, and one after all.
    let valid = [("192.0.2.1", "ban4"), ("2001:db8::5", "ban6"), ("192.0.2.2", "ban4"), ("192.0.2.10", "ban4")];
    let mut refused = Vec::new();
    for (i, (what, why, fields)) in hostile_entries(&end).into_iter().enumerate() {
        if i % 10 == 0 {
            let (net, set) = valid[i / 10];
            xadd(&redis, &ban_entry(net, set, &end));
        }
        refused.push((xadd(&redis, &fields), what, why));
    }
    xadd(&redis, &ban_entry(valid[3].0, valid[3].1, &end));
    let mut wanted: Vec<(String, String)> = valid.iter().map(|(n, s)| (s.to_string(), n.to_string())).collect();
    wanted.sort();
    let at_wire = refused.iter().filter(|r| r.2.is_some()).count() as u64;
    let [mut a, mut b, mut c] = hosts;
    for host in [&mut a, &mut b, &mut c] {
        let all = || {
            let mut held = host.held_everywhere();
            held.sort();
            held
        };
        assert!(wait_until(WAIT_SECS, || all() == wanted), "{}: {:?}\n{}", host.name, all(), host.log());
        let log = host.log();
        // Refusals of one kind are logged at the 1st, 10th, 100th... (a
        // hostile stream must not flood the journal banwarden reads), each
        // counted in the status file: the ones logged say why, rightly.
        let mut logged = 0;
        for (id, what, why) in refused.iter().filter_map(|(id, what, why)| why.map(|why| (id, what, why))) {
            let prefix = format!("fleet: entry {id} refused: ");
            if let Some(line) = log.lines().find(|l| l.contains(&prefix)) {
                assert!(
                    line.contains(&format!("{prefix}{why}")),
                    "{}: {what} refused for another reason: {line}",
                    host.name
                );
                logged += 1;
            }
        }
        assert!(logged >= 10, "{}: {logged} refusals logged, one per kind at least:\n{log}", host.name);
        let said = |needle: &str| log.lines().any(|l| l.contains("fleet: ") && l.contains(needle));
        assert!(said("names set \"nosuch\"") && said("names set \"plain4\""), "{}: {log}", host.name);
        // Refused by the ban path, which names them (alike refusals are
        // logged at powers of ten too).
        for net in ["2001:db8::82", "192.0.2.128/25"] {
            let named = log.lines().any(|l| l.contains(&format!("ban of {net} in ip banwarden ban4")));
            assert!(named, "{}: {net} not logged:\n{log}", host.name);
        }
        let longest = log.lines().map(str::len).max().unwrap_or(0);
        assert!(longest < 2000, "{}: a log line of {longest} bytes (a 100 KB field quoted whole?)", host.name);
        assert!(!log.lines().any(|l| l.starts_with("PRIORITY")), "{}: a field's newline reached the log", host.name);
        assert!(host.running(), "{} died: {log}", host.name);
        let counted = |s: &Value| {
            s["malformed"] == json!(at_wire)
                && s["hosts"]["x"]["refused"] == json!(4)
                && s["hosts"]["x"]["applied"] == json!(4)
        };
        assert!(wait_until(WAIT_SECS, || counted(&host.status())), "{}: {}", host.name, host.status());
        // What the set can never hold is refused before it is stored, as a
        // ban by hand into such a set is (`Bans::fits`): stored, it would
        // fail again at every boot.
        for net in ["2001:db8::82", "192.0.2.128/25"] {
            assert!(records_of(host, net).is_empty(), "{}: {net} stored:\n{}", host.name, host.store());
        }
    }
    // Still applying: a ban written after all of it.
    xadd(&redis, &ban_entry("192.0.2.200", "ban4", &end));
    for host in [&a, &b, &c] {
        assert!(host.gets("ban4", "192.0.2.200"), "{}: {}", host.name, host.log());
    }
}

#[test]
fn a_ban_by_hand_on_a_with_fleet_reaches_b_and_c() {
    let Some(redis) = Redis::start() else { return };
    let Some([a, b, c]) = three(&redis, |_, _| {}) else { return };
    let ip = "198.51.100.77";
    let out = a.banwarden(&["ban", ip, "--set", "ip banwarden ban4", "--for", "1h", "--fleet"]);
    assert!(out.contains(&format!("banned {ip}")), "{out}");
    assert_eq!(a.held("ban4"), [ip], "banned on A at once, by the command itself");
    for host in [&b, &c] {
        assert!(host.gets("ban4", ip), "{}: {}", host.name, host.log());
        let left = host.held_timeouts("ban4")[0].1.expect("a timeout");
        assert!((3500..=3600).contains(&left), "{}: {left} s left of an hour", host.name);
        assert!(records_of(host, ip).iter().all(|r| r.contains(r#""by": "fleet a""#)), "{:?}", records_of(host, ip));
    }
    let entries = redis.entries(STREAM);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let by = &entries[0].1.last().unwrap();
    assert!(by.0 == "by" && by.1.starts_with("cli "), "{entries:?}");
    // Without --fleet, a ban by hand stays on A (share is ["rules"]).
    a.banwarden(&["ban", "198.51.100.78", "--set", "ip banwarden ban4", "--for", "1h"]);
    a.attack("198.51.100.79");
    assert!(b.gets("ban4", "198.51.100.79") && c.gets("ban4", "198.51.100.79"));
    assert_eq!(redis.entries(STREAM).len(), 2, "{:?}", redis.entries(STREAM));
    assert!(
        !b.held("ban4").contains(&"198.51.100.78".to_owned()) && !c.held("ban4").contains(&"198.51.100.78".to_owned())
    );
}

#[test]
fn the_same_entry_twice_or_a_shorter_ban_changes_nothing_and_own_entries_are_skipped() {
    let Some(redis) = Redis::start() else { return };
    let Some(b) = Host::start("b", &redis, |_| {}) else { return };
    b.wait_connected();
    let ip = "192.0.2.50";
    let end = (now() + 3600).to_string();
    let entry = ban_entry(ip, "ban4", &end);
    xadd(&redis, &entry);
    assert!(b.gets("ban4", ip), "{}", b.log());
    let store = b.store();
    let records = records_of(&b, ip);
    assert_eq!(records.len(), 1, "{store}");
    // Again, shorter, then B's own, then a sentinel: entries apply in
    // order, so once the sentinel is in, the others have been seen.
    xadd(&redis, &entry);
    xadd(&redis, &ban_entry(ip, "ban4", &(now() + 60).to_string()));
    let mut own = ban_entry("192.0.2.52", "ban4", &end);
    own.iter_mut().find(|(k, _)| *k == "host").unwrap().1 = "b".into();
    xadd(&redis, &own);
    xadd(&redis, &ban_entry("192.0.2.51", "ban4", &end));
    assert!(b.gets("ban4", "192.0.2.51"), "{}", b.log());
    assert_eq!(records_of(&b, ip), records, "the store changed:\n{}", b.store());
    assert!(b.store().starts_with(&store), "the store was rewritten:\n{store}\n---\n{}", b.store());
    let left = b.held_timeouts("ban4").into_iter().find(|(n, _)| n == ip).unwrap().1.unwrap();
    assert!(left > 3500, "the kernel's timeout was shortened to {left} s");
    assert_eq!(b.held("ban4"), ["192.0.2.50", "192.0.2.51"], "B applied its own entry: {}", b.log());
    assert!(records_of(&b, "192.0.2.52").is_empty());
    // Restarted, it does not apply them again either.
    let mut b = b;
    b.stop();
    b.start_again();
    b.wait_connected();
    xadd(&redis, &ban_entry("192.0.2.53", "ban4", &end));
    assert!(b.gets("ban4", "192.0.2.53"), "{}", b.log());
    let again = records_of(&b, ip);
    let key = |line: &str| {
        let record: Value = serde_json::from_str(line.trim().trim_end_matches(',')).unwrap();
        (record["timestamp"].clone(), record["by"].clone())
    };
    assert!(again.iter().all(|r| key(r) == key(&records[0])), "applied again after a restart:\n{}", b.store());
}
