//! Tests of configuration compiling: what loads, and how every problem of a
//! broken configuration is reported at once with its place.

use super::*;
use crate::vocab::Backend;

fn errors_of(text: &str) -> Vec<String> {
    match compile(text, "test.json") {
        Ok(_) => panic!("expected errors"),
        Err(ConfigError::Invalid { errors, .. }) => errors.iter().map(|e| e.to_string()).collect(),
        Err(other) => panic!("unexpected {other}"),
    }
}

/// The warnings on bans a forged line reaches and on fields nothing sets:
/// most of these small configurations ban unguarded, and read fields whose
/// setting steps they leave out (`trust` and `lint` test those warnings).
fn is_out_of_context(warning: &str) -> bool {
    warning.contains("reaches this ban") || warning.contains("can never be set")
}

/// The warnings, but for those out of context.
fn warnings_of(text: &str) -> Vec<String> {
    match compile(text, "test.json") {
        Ok(config) => config.warnings.iter().map(|e| e.to_string()).filter(|w| !is_out_of_context(w)).collect(),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

/// A configuration in the shape Pyruse's documentation gives, untouched.
const PYRUSE_STYLE: &str = r#"{
  "actions": {
    "SSH entries": [
      { "filter": "filter_equals", "args": { "field": "_SYSTEMD_UNIT", "value": "sshd.service" }, "then": "… SSHd" }
    ],
    "Own entries": [
      { "filter": "filter_equals", "args": { "field": "SYSLOG_IDENTIFIER", "value": "pyruse" }, "then": "… recidive" }
    ],
    "Mail entries": [
      { "filter": "filter_in", "args": { "field": "_SYSTEMD_UNIT", "values": ["dovecot.service", "postfix.service"] }, "then": "… unknown" }
    ],
    "… SSHd": [
      { "filter": "filter_pcre", "args": { "field": "MESSAGE", "re": "^Failed password for (?:invalid user )?(.*) from ([^ ]*) port", "save": ["thatUser", "thatIP"] } },
      { "filter": "filter_inNetworks", "args": { "field": "thatIP", "nets": ["127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8"] }, "else": "… SSHd ban" },
      { "action": "action_noop" }
    ],
    "… SSHd ban": [
      { "action": "action_counterRaise", "args": { "counter": "sshd", "for": "thatIP", "keepSeconds": 600, "save": "IPfailures" } },
      { "filter": "filter_greaterOrEquals", "args": { "field": "IPfailures", "value": 4 } },
      { "action": "action_counterReset", "args": { "counter": "sshd", "for": "thatIP", "graceSeconds": 60 } },
      { "action": "action_nftBan", "args": { "IP": "thatIP", "banSeconds": 3600, "nftSetIPv4": "Inet4 ssh_ban", "nftSetIPv6": "Inet6 ssh_ban" } },
      { "action": "action_log", "args": { "level": "NOTICE", "message": "Ban from SSH for {thatIP}." } }
    ],
    "… recidive": [
      { "filter": "filter_pcreAny", "args": { "field": "MESSAGE", "re": ["^Ban from (?P<service>\\S+) for (?P<thatIP>[^ ]+)\\.$", "^Recidive ban (?P<thatIP>\\S+)$"] } },
      { "action": "action_dailyReport", "args": { "level": "INFO", "message": "{service} ban for {thatIP}", "details": "FIRSTLAST" } }
    ],
    "… unknown": [
      { "filter": "filter_lowerOrEquals", "args": { "field": "PRIORITY", "value": 3 } },
      { "filter": "filter_userExists", "args": { "field": "USER" } },
      { "action": "action_email", "args": { "message": "Urgent: {MESSAGE}" } },
      { "action": "action_dnatCapture", "args": { "saddr": "src", "addr": "dst", "port": "dpt", "keepSeconds": 30 } },
      { "action": "action_dnatReplace", "args": { "port": "dpt", "saddrInto": "thatIP" } },
      { "action": "action_ipsetBan", "args": { "IP": "thatIP", "ipSetIPv4": "ban4", "ipSetIPv6": "ban6" } }
    ],
    "Discard the rest": [
      { "action": "action_noop" }
    ]
  },
  "storage": "/var/lib/pyruse",
  "8bit-message-encoding": "iso-8859-1",
  "email": { "from": "pyruse@example.org", "to": ["root@example.org"], "subject": "Pyruse", "sendmail": ["/usr/sbin/sendmail", "-t"] },
  "nftBan": { "nft": ["/usr/bin/nft"] },
  "debug": false
}"#;

#[test]
fn pyruse_configuration_loads_unchanged() {
    let config = compile(PYRUSE_STYLE, "pyruse.json").unwrap();
    assert_eq!(config.stats.chains, 8);
    assert_eq!(config.stats.steps, 20);
    assert_eq!(config.stats.regexes, 3);
    assert_eq!(config.settings.storage, PathBuf::from("/var/lib/pyruse"));
    // Warnings only: the nft command, which netlink replaces, the IPv6 set
    // written as a two-word path (family ip), as Pyruse's docs did, and
    // the route on Pyruse's own identifier, which banwarden does not write.
    let warnings: Vec<String> =
        config.warnings.iter().map(|w| w.to_string()).filter(|w| !is_out_of_context(w)).collect();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(warnings[0].starts_with(r#"key "nftBan""#));
    assert!(warnings[1].starts_with(r#"chain "… SSHd ban", step 3 (action_nftBan), arg "nftSetIPv6""#));
    assert!(warnings[2].starts_with(
        r#"chain "Own entries", step 0 (filter_equals), arg "value": routes on SYSLOG_IDENTIFIER "pyruse""#
    ));
}

#[test]
fn every_problem_is_listed_with_its_place() {
    let errors = errors_of(
        r#"{"actions": {
            "main": [
                {"filter": "filter_pcer", "args": {"field": "MESSAGE", "re": "x"}},
                {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "(unclosed"}},
                {"filter": "filter_equals", "args": {"value": [1]}},
                {"action": "action_log", "args": {"message": "{oops", "level": "LOUD"}},
                {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "(a)", "save": ["x", "y"]}},
                {"filter": "filter_inNetworks", "args": {"field": "ip", "nets": ["10.0.0.0/40"]}},
                {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "Inet6 ban", "nftSetIPv6": "ip6 Inet6 ban"}},
                {"filter": "filter_equals", "args": {"field": "a", "value": "b"}, "else": "mian"},
                {"action": "filter_in"},
                {"args": {}}
            ]
        }}"#,
    );
    let expected = [
        r#"chain "main", step 0 (filter_pcer): unknown filter "filter_pcer"; nearest known: "filter_pcre", "filter_in", "filter_pcreAny""#,
        r#"chain "main", step 1 (filter_pcre), arg "re": "(unclosed": "#,
        r#"chain "main", step 2 (filter_equals), arg "field": missing mandatory argument (a string)"#,
        r#"chain "main", step 2 (filter_equals), arg "value": expected a string or a number, found a list"#,
        r#"chain "main", step 3 (action_log), arg "level": unknown level "LOUD"; expected one of EMERG, ALERT, CRIT, ERR, WARNING, NOTICE, INFO, DEBUG"#,
        r#"chain "main", step 3 (action_log), arg "message": "#,
        r#"chain "main", step 4 (filter_pcre), arg "save": 2 names to save but the regex has 1 groups"#,
        r#"chain "main", step 5 (filter_inNetworks), arg "nets": prefix length "40" is not a number from 0 to 32"#,
        r#"chain "main", step 8 (filter_in): "filter_in" is a filter, not an action: write "filter": "filter_in""#,
        r#"chain "main", step 9: a step needs a "filter" or an "action" name"#,
        r#"chain "main", step 7 (filter_equals), arg "else": no chain is labelled "mian"; nearest known: "main""#,
    ];
    // Step 6 is valid: a two-word set path means family ip, right for IPv4.
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (got, want) in errors.iter().zip(expected) {
        assert!(got.starts_with(want), "\n got: {got}\nwant: {want}");
    }
}

#[test]
fn regex_errors_carry_the_engine_message() {
    let errors = errors_of(r#"{"actions": {"c": [{"filter": "filter_pcre", "args": {"field": "F", "re": "a(b"}}]}}"#);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("unclosed") || errors[0].contains("missing )") || errors[0].contains("parenthes"),
        "{}",
        errors[0]
    );
}

#[test]
fn loops_are_printed_as_paths() {
    let errors = errors_of(
        r#"{"actions": {
            "a": [{"filter": "filter_equals", "args": {"field": "x", "value": 1}, "then": "b"}],
            "b": [{"filter": "filter_equals", "args": {"field": "x", "value": 1}, "else": "c"}, {"action": "action_noop"}],
            "c": [{"action": "action_noop", "then": "a"}]
        }}"#,
    );
    assert_eq!(errors, [r#"chain "a": loop: "a" -> "b" -> "c" -> "a""#]);
}

#[test]
fn malformed_json_reports_line_and_column() {
    let err = compile("{\n  \"actions\": {\n    \"a\": [,]\n  }\n}", "bad.json").unwrap_err();
    match err {
        ConfigError::Syntax { line, column, ref message, .. } => {
            assert_eq!((line, column), (3, 11));
            assert!(!message.contains(" at line "), "{message}");
            assert!(err.to_string().starts_with("bad.json: line 3, column 11: "), "{err}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn structural_errors() {
    assert_eq!(errors_of("[]"), ["top level: expected an object, found a list"]);
    assert_eq!(errors_of("{}"), [r#"top level: missing the "actions" key: there are no chains"#]);
    assert_eq!(errors_of(r#"{"actions": []}"#), [r#"key "actions": expected an object of chains, found a list"#]);
    assert_eq!(
        errors_of(r#"{"actions": {"a": {"filter": "x"}, "b": [3]}}"#),
        [
            r#"chain "a": expected a list of steps, found an object"#,
            r#"chain "b", step 0: expected a step object, found a number"#
        ]
    );
    assert_eq!(
        errors_of(r#"{"actions": {"a": [{"filter": "filter_equals", "action": "action_noop"}]}}"#),
        [r#"chain "a", step 0: a step has either "filter" or "action", not both"#]
    );
}

#[test]
fn warnings_for_what_pyruse_ignored() {
    let warnings = warnings_of(
        r#"{"actions": {
            "a": [
                {"action": "action_log", "args": {"message": "x", "levle": "INFO"}, "else": "b"},
                {"filter": "filter_equals", "args": {"field": "x", "value": 1}, "then": "b", "comment": "hi"},
                {"action": "action_noop"}
            ],
            "b": [],
            "b": [{"action": "action_noop"}]
        }}"#,
    );
    let expected = [
        r#"chain "b": chain defined twice; the last definition is used, at the place of the first"#,
        r#"chain "a", step 0 (action_log), arg "else": only filters have an "else"; ignored on an action"#,
        r#"chain "a", step 0 (action_log), arg "levle": unknown argument, ignored; nearest known: "level""#,
        r#"chain "a", step 1 (filter_equals): unknown step key "comment", ignored"#,
        r#"chain "a", step 2: never reached: the step before has an explicit "then", which ends the chain"#,
    ];
    assert_eq!(warnings.len(), expected.len(), "{warnings:#?}");
    for (got, want) in warnings.iter().zip(expected) {
        assert!(got.starts_with(want), "\n got: {got}\nwant: {want}");
    }
}

#[test]
fn no_panic_on_odd_input() {
    for text in [
        "", "null", "1", "\"x\"", "{\"actions\": null}", "{\"actions\": {\"\": []}}",
        "{\"actions\": {\"a\": [{\"filter\": 1}]}}", "{\"actions\": {\"a\": [{\"filter\": \"filter_pcre\", \"args\": null}]}}",
        "{\"actions\": {\"a\": [{\"action\": \"action_log\", \"args\": {\"message\": \"}\"}}]}}",
        "{\"actions\": {\"a\": [{\"filter\": \"filter_in\", \"args\": {\"field\": \"f\", \"values\": [true, null, {}]}}]}}",
        "{\"actions\": {\"a\": [{\"filter\": \"filter_equals\", \"args\": {\"field\": \"f\", \"value\": 1e400}}]}}",
    ] {
        let _ = compile(text, "odd.json");
    }
}

/// Random damage to a real configuration: every variant must compile or be
/// refused with problems, never panic. Structural mutations replace a node of
/// the JSON tree with another value; textual ones cut or flip bytes.
#[test]
fn mutated_configurations_never_panic() {
    let text = include_str!("../../examples/recidive.json");
    let original: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut seed = 0x853c_49e6_748f_ea9b_u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let replacements = [
        serde_json::json!(null),
        serde_json::json!(true),
        serde_json::json!(-1),
        serde_json::json!(1.5e300),
        serde_json::json!(""),
        serde_json::json!("(?P<x>"),
        serde_json::json!("{"),
        serde_json::json!("Discard"),
        serde_json::json!([]),
        serde_json::json!([1, "x", null]),
        serde_json::json!({}),
        serde_json::json!({"filter": "filter_pcre"}),
    ];
    fn nodes(v: &serde_json::Value, out: &mut Vec<String>, path: String) {
        out.push(path.clone());
        match v {
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    nodes(item, out, format!("{path}/{i}"));
                }
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    nodes(item, out, format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")));
                }
            }
            _ => {}
        }
    }
    let mut paths = Vec::new();
    nodes(&original, &mut paths, String::new());
    for _ in 0..600 {
        let mut mutated = original.clone();
        for _ in 0..1 + next(3) {
            let path = &paths[next(paths.len())];
            if let Some(node) = mutated.pointer_mut(path) {
                *node = replacements[next(replacements.len())].clone();
            }
        }
        let _ = compile(&mutated.to_string(), "mutated.json");
    }
    let bytes = text.as_bytes();
    for _ in 0..600 {
        let mut damaged = bytes[..next(bytes.len())].to_vec();
        for _ in 0..next(4) {
            if !damaged.is_empty() {
                let at = next(damaged.len());
                damaged[at] = b"{}[]\",:\\x0 "[next(11)];
            }
        }
        let _ = compile(&String::from_utf8_lossy(&damaged), "damaged.json");
    }
}

#[test]
fn ban_seconds_zero_is_permanent_and_sets_are_listed_for_the_kernel_check() {
    let text = r#"{"actions": {"c": [
        {"action": "action_nftBan", "args": {"IP": "ip", "banSeconds": 0, "nftSetIPv4": "t s4", "nftSetIPv6": "ip6 t s6"}},
        {"action": "action_ipsetBan", "args": {"IP": "ip", "banSeconds": 60, "ipSetIPv4": "b4", "ipSetIPv6": "b6"}}
    ]}}"#;
    let warnings = warnings_of(text);
    assert_eq!(
        warnings,
        [
            r#"chain "c", step 0 (action_nftBan), arg "banSeconds": 0 means a permanent ban (as in Pyruse); leave it out to say so"#
        ]
    );
    let config = compile(text, "t").unwrap();
    let sets: Vec<(Backend, String, bool, bool)> =
        config.sets.iter().map(|u| (u.set.backend(), u.set.to_string(), u.ipv6, u.timeout)).collect();
    assert_eq!(
        sets,
        [
            (Backend::Nft, "ip t s4".into(), false, false),
            (Backend::Nft, "ip6 t s6".into(), true, false),
            (Backend::Ipset, "b4".into(), false, true),
            (Backend::Ipset, "b6".into(), true, true),
        ]
    );
    assert_eq!(config.sets[1].location.to_string(), r#"chain "c", step 0 (action_nftBan), arg "nftSetIPv6""#);
}

#[test]
fn a_ban_longer_than_the_kernel_can_time_is_permanent_with_a_warning() {
    let text = r#"{"actions": {"c": [{"action": "action_nftBan",
        "args": {"IP": "ip", "nftSetIPv4": "t s4", "nftSetIPv6": "ip6 t s6", "banSeconds": 99999999999}}]}}"#;
    let warnings = warnings_of(text);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("longer than the kernel can time a ban") && warnings[0].contains("banned permanently")
    );
    let config = compile(text, "t").unwrap();
    assert!(!config.sets[0].timeout, "permanent: the set needs no timeouts for it");
}

#[test]
fn counters_keep_ticks_up_to_the_largest_number_compared() {
    let text = |n: &str| {
        format!(
            r#"{{"actions": {{"a": [
                {{"filter": "filter_in", "args": {{"field": "x", "values": ["a", 2, {n}]}}}},
                {{"action": "action_counterRaise", "args": {{"counter": "c", "for": "x", "save": "n"}}}},
                {{"filter": "filter_greaterOrEquals", "args": {{"field": "n", "value": 5}}}},
                {{"filter": "filter_equals", "args": {{"field": "PRIORITY", "value": "7"}}}}
            ]}}}}"#
        )
    };
    let max_ticks = |n: &str| compile(&text(n), "t.json").unwrap().workflow.state().counters.max_ticks();
    // 5, 2 and text ask for no more than the floor.
    assert_eq!(max_ticks("3"), crate::actions::counter::MIN_TICKS);
    // A number in a list counts as much as one compared alone.
    assert_eq!(max_ticks("1000"), 1_001);
    assert_eq!(max_ticks("2.5e9"), crate::actions::counter::MAX_TICKS);
}
