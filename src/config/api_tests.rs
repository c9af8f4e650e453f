//! Reading `api` and `resp`.

use super::*;
use crate::config::json::Json;

/// A real hash of "secret" (argon2id, small costs to keep tests fast).
pub const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$wBE6JbldfhNrQWtkDrqsVmK3f5GmWqHutcVgY1qoWIU";

fn api(text: &str) -> (Option<ApiSettings>, Problems) {
    let json: Json = serde_json::from_str(text).unwrap();
    let mut p = Problems::default();
    (read_api(&json, Location::key("api"), &mut p), p)
}

fn resp(text: &str) -> (Option<RespSettings>, Problems) {
    let json: Json = serde_json::from_str(text).unwrap();
    let mut p = Problems::default();
    (read_resp(&json, Location::key("resp"), &mut p), p)
}

fn texts(problems: &[crate::config::Problem]) -> Vec<String> {
    problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn the_whole_format() {
    let text = format!(
        r#"{{"http": ["unix:/run/banwarden/api.sock", "127.0.0.1:8080"], "https": ["0.0.0.0:7393", "[::1]:7394"],
            "tls": {{"certificate": "/etc/banwarden/api.crt", "key": "/etc/banwarden/api.key"}},
            "users": {{"alice": "{HASH}"}}, "clients": ["192.0.2.0/24"], "defaultExpire": 600,
            "nonRestful": true, "socket": {{"mode": "0640", "group": "adm"}},
            "sets": [{{"target": "drop", "chain": "input", "interface": "any",
                       "nftSetIPv4": "inet banwarden api_drop4", "nfSetIPv6": "inet banwarden api_drop6"}},
                     {{"target": "accept", "chain": "forward", "interface": "eth0",
                       "ipSetIPv4": "api_accept4", "ipSetIPv6": "api_accept6"}}]}}"#
    );
    let (a, p) = api(&text);
    assert!(p.errors.is_empty() && p.warnings.is_empty(), "{:?} {:?}", p.errors, p.warnings);
    let a = a.unwrap();
    assert_eq!(
        a.http,
        [Listen::Unix("/run/banwarden/api.sock".into()), Listen::Tcp("127.0.0.1:8080".parse().unwrap())]
    );
    assert_eq!(a.https[1], Listen::Tcp("[::1]:7394".parse().unwrap()));
    assert_eq!(a.tls.as_ref().unwrap().key, PathBuf::from("/etc/banwarden/api.key"));
    assert_eq!(a.users, [ApiUser { name: "alice".into(), hash: HASH.into() }]);
    assert_eq!(a.clients, [Network::parse("192.0.2.0/24").unwrap()]);
    assert_eq!(a.default_expire, Some(600));
    assert!(a.non_restful);
    assert_eq!(a.socket, SocketAccess { mode: 0o640, group: Some("adm".into()) });
    assert_eq!(a.sets.len(), 2);
    assert_eq!(a.sets[0].interface, None);
    assert_eq!(a.sets[0].ipv6.as_ref().unwrap().to_string(), "inet banwarden api_drop6");
    assert_eq!(a.sets[1].chain, "forward");
    assert_eq!(a.sets[1].interface.as_deref(), Some("eth0"));
    assert_eq!(a.sets[1].ipv4.as_ref().unwrap().as_ipset(), Some("api_accept4"));
    let net = Network::parse("192.0.2.1").unwrap();
    assert_eq!(a.set_for(Target::Accept, "forward", Some("eth0"), net).unwrap().to_string(), "api_accept4");
    assert!(a.set_for(Target::Accept, "input", None, net).is_err());
}

#[test]
fn defaults() {
    let (a, p) = api(r#"{"http": ["unix:/run/banwarden/api.sock"]}"#);
    assert!(p.errors.is_empty() && p.warnings.is_empty(), "{:?} {:?}", p.errors, p.warnings);
    let a = a.unwrap();
    assert_eq!(a.sets, default_sets());
    assert_eq!(a.socket, SocketAccess::default());
    assert_eq!(a.default_expire, None);
    assert!(!a.non_restful);
    let (a, p) = api(r#"{"defaultExpire": 0, "socket": {"mode": 600}}"#);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let a = a.unwrap();
    assert_eq!(a.default_expire, None, "0 is permanent");
    assert_eq!(a.socket.mode, 0o600, "a number is read as octal, as chmod does");
}

#[test]
fn tcp_listeners_demand_authentication() {
    let (a, p) = api(r#"{"http": ["127.0.0.1:8080"]}"#);
    assert!(a.is_none());
    let errors = texts(&p.errors);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains(r#"key "api", arg "users": the TCP listener 127.0.0.1:8080 needs users"#), "{errors:?}");
    assert!(errors[0].contains("banwarden hash-password"), "{errors:?}");
    let (r, p) = resp(r#"{"listen": ["unix:/run/banwarden/resp.sock", "[::1]:6380"]}"#);
    assert!(r.is_none());
    assert!(texts(&p.errors)[0].contains("the TCP listener [::1]:6380 needs a password"), "{:?}", p.errors);
    // A Unix socket alone needs none.
    let (r, p) = resp(r#"{"listen": ["unix:/run/banwarden/resp.sock"]}"#);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(r.unwrap().listen, [Listen::Unix("/run/banwarden/resp.sock".into())]);
}

#[test]
fn tls_listeners_need_files() {
    let (_, p) = api(&format!(r#"{{"https": ["0.0.0.0:7393"], "users": {{"a": "{HASH}"}}}}"#));
    assert_eq!(
        texts(&p.errors),
        [r#"key "api", arg "tls": "https" listeners need "tls": {"certificate": ..., "key": ...}"#]
    );
    let (r, p) = resp(&format!(
        r#"{{"listenTls": ["127.0.0.1:6390"], "password": "{HASH}", "tls": {{"certificate": "cert.pem"}}}}"#
    ));
    assert!(r.is_none());
    let errors = texts(&p.errors);
    assert!(
        errors
            .iter()
            .any(|e| e.contains(r#"key "resp.tls", arg "certificate": "cert.pem": expected an absolute path"#)),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains(r#"key "resp.tls", arg "key": missing mandatory argument"#)),
        "{errors:?}"
    );
    let (r, p) = resp(&format!(
        r#"{{"listenTls": ["127.0.0.1:6390"], "password": "{HASH}", "tls": {{"certificate": "/c", "key": "/k"}}}}"#
    ));
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(r.unwrap().password.as_deref(), Some(HASH));
}

#[test]
fn plain_text_passwords_are_refused() {
    let (_, p) = api(r#"{"users": {"alice": "hunter2", "bob": "$argon2id$v=19$nonsense", "": "x", "c:d": 5}}"#);
    let errors = texts(&p.errors);
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].contains(r#"user "alice": not an argon2 password hash; plain text passwords are not accepted"#));
    assert!(errors[0].contains("banwarden hash-password"));
    assert!(errors[1].contains(r#"user "bob": not a valid argon2 PHC hash"#), "{errors:?}");
    assert!(errors[2].contains("a user name is not empty and has no colon"));
    let (_, p) = resp(r#"{"password": "hunter2"}"#);
    assert!(texts(&p.errors)[0].starts_with(r#"key "resp", arg "password": not an argon2 password hash"#));
}

#[test]
fn every_problem_at_its_place() {
    let (a, p) = api(
        r#"{"http": ["localhost:80", "unix:relative", "1.2.3.4"], "clients": ["10.0.0.0/33"], "defaultExpire": -5,
            "nonRestful": "yes", "socket": {"mode": "0999", "grup": "adm"}, "htps": [],
            "sets": [{"target": "reject", "chain": "prerouting", "interface": "a very long interface name"},
                     {"target": "drop", "nftSetIPv4": "inet t s extra"},
                     {"target": "drop", "ipSetIPv4": "a", "nftSetIPv4": "inet t s"},
                     {"target": "accept", "ipSetIPv4": "ok4"}, {"target": "accept", "chain": "input", "ipSetIPv6": "ok6"}]}"#,
    );
    assert!(a.is_none());
    let errors = texts(&p.errors);
    let expect = [
        r#"key "api", arg "http": item 0: "localhost:80": expected unix:/path"#,
        r#"key "api", arg "http": item 1: "unix:relative": expected unix: followed by an absolute path"#,
        r#"key "api", arg "http": item 2: "1.2.3.4""#,
        r#"key "api", arg "clients": item 0:"#,
        r#"key "api", arg "defaultExpire": -5 is not a number of seconds"#,
        r#"key "api", arg "nonRestful": expected true or false, found a string"#,
        r#"key "api.socket", arg "mode": expected an octal file mode"#,
        r#"key "api.sets[0]", arg "target": "reject": expected "drop" or "accept""#,
        r#"key "api.sets[0]", arg "chain": "prerouting": expected"#,
        r#"key "api.sets[0]", arg "interface": "a very long interface name": expected"#,
        r#"key "api.sets[1]", arg "nftSetIPv4": "#,
        r#"key "api.sets[2]", arg "#,
        r#"key "api.sets[4]": another entry has the same target, chain and interface"#,
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for (e, want) in errors.iter().zip(expect) {
        assert!(e.starts_with(want), "{e:?} does not start with {want:?}");
    }
    let warnings = texts(&p.warnings);
    assert!(
        warnings.iter().any(|w| w.contains(r#"arg "grup": unknown argument, ignored; nearest known: "group""#)),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains(r#"arg "htps": unknown argument, ignored; nearest known: "https""#)),
        "{warnings:?}"
    );
}

#[test]
fn listen_addresses() {
    assert_eq!(parse_listen("[2001:db8::1]:443").unwrap(), Listen::Tcp("[2001:db8::1]:443".parse().unwrap()));
    assert!(parse_listen("2001:db8::1:443").is_err(), "IPv6 needs brackets");
    assert!(parse_listen(&format!("unix:/{}", "x".repeat(120))).unwrap_err().contains("107 bytes"));
    assert!(parse_listen("unix:").is_err());
}

#[test]
fn the_api_sets_need_timeouts_and_networks() {
    let text = r#"{"api": {"http": ["unix:/run/banwarden/api.sock"],
                           "sets": [{"target": "drop", "nftSetIPv4": "inet t drop4", "nftSetIPv6": "inet t drop6"},
                                    {"target": "accept", "ipSetIPv4": "allow4"}]},
                   "actions": {"a": [{"action": "action_noop"}]}}"#;
    let config = crate::config::compile(text, "test").unwrap();
    let needs: Vec<(String, bool, bool, bool, Option<String>)> = config
        .settings
        .api_set_needs()
        .into_iter()
        .map(|n| (n.set.to_string(), n.ipv6, n.timeout, n.networks, n.place))
        .collect();
    let need = |set: &str, ipv6, place: &str| (set.to_owned(), ipv6, true, true, Some(place.to_owned()));
    assert_eq!(
        needs,
        [
            need("inet t drop4", false, "api.sets[0]"),
            need("inet t drop6", true, "api.sets[0]"),
            need("allow4", false, "api.sets[1]"),
        ]
    );
    assert_eq!(config.settings.allow_sets().iter().map(|s| s.to_string()).collect::<Vec<_>>(), ["allow4"]);
    // Without api.sets: the shipped ruleset's four sets.
    let config = crate::config::compile(
        r#"{"api": {"http": ["unix:/run/a.sock"]}, "actions": {"a": [{"action": "action_noop"}]}}"#,
        "test",
    )
    .unwrap();
    let names: Vec<String> = config.settings.api_set_needs().iter().map(|n| n.set.to_string()).collect();
    assert_eq!(
        names,
        [
            "inet banwarden api_drop4",
            "inet banwarden api_drop6",
            "inet banwarden api_drop_net4",
            "inet banwarden api_drop_net6",
            "inet banwarden api_accept4",
            "inet banwarden api_accept6"
        ]
    );
}

#[test]
fn networks_may_have_sets_of_their_own() {
    let config = crate::config::compile(
        r#"{"api": {"http": ["unix:/run/a.sock"], "sets": [{"target": "drop",
              "nftSetIPv4": "inet t drop4", "nftSetIPv4Networks": "inet t net4", "ipSetIPv6": "drop6"}]},
            "actions": {"a": [{"action": "action_noop"}]}}"#,
        "test",
    )
    .unwrap();
    let needs: Vec<(String, bool)> =
        config.settings.api_set_needs().into_iter().map(|n| (n.set.to_string(), n.networks)).collect();
    // The hash set needs no intervals once networks go elsewhere; the IPv6
    // set without a networks' set takes both.
    assert_eq!(needs, [("inet t drop4".into(), false), ("drop6".into(), true), ("inet t net4".into(), true)]);
    let api = config.settings.api.as_ref().unwrap();
    let set = |net: &str| api.set_for(Target::Drop, "input", None, net.parse().unwrap()).unwrap().to_string();
    assert_eq!(set("192.0.2.1"), "inet t drop4");
    assert_eq!(set("192.0.2.0/24"), "inet t net4");
    assert_eq!(set("2001:db8::/64"), "drop6");
    let refused = crate::config::compile(
        r#"{"api": {"http": ["unix:/run/a.sock"], "sets": [{"target": "drop", "nftSetIPv6Networks": "inet t net6"}]},
            "actions": {"a": [{"action": "action_noop"}]}}"#,
        "test",
    );
    let Err(crate::config::ConfigError::Invalid { errors, .. }) = refused else { panic!("accepted") };
    let wanted = "a set for IPv6 networks but none for single IPv6 addresses";
    assert!(errors.iter().any(|e| e.to_string().contains(wanted)), "{errors:?}");
}
