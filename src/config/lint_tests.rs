use crate::config::compile;

/// The lint warnings of a configuration (other warnings left out).
fn lints(actions: &str, extra: &str) -> Vec<String> {
    let text = format!(r#"{{"actions": {actions}, "storage": "/nonexistent"{extra}}}"#);
    let config = compile(&text, "test.json").unwrap_or_else(|e| panic!("{e:?}"));
    config
        .warnings
        .iter()
        .map(|w| w.to_string())
        .filter(|w| !w.contains("reaches this ban") && !w.contains("defined twice") && !w.contains("has no steps"))
        .collect()
}

const ROUTE: &str =
    r#"{"filter": "filter_equals", "args": {"field": "_SYSTEMD_UNIT", "value": "ssh.service"}, "then": "sshd"}"#;
const MATCH: &str =
    r#"{"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed from (?P<thatIP>\\S+)$"}}"#;
const BAN: &str =
    r#"{"action": "action_nftBan", "args": {"IP": "thatIP", "nftSetIPv4": "ip t s4", "nftSetIPv6": "ip6 t s6"}}"#;

/// Also: "Rest" comes after a chain whose filter can fail, so entries reach it.
#[test]
fn a_sound_configuration_gives_no_warning() {
    let w = lints(
        &format!(r#"{{"Route": [{ROUTE}], "Rest": [{{"action": "action_noop"}}], "sshd": [{MATCH}, {BAN}]}}"#),
        "",
    );
    assert_eq!(w, Vec::<String>::new());
}

#[test]
fn a_chain_after_a_catch_all_is_unreachable() {
    let w = lints(
        &format!(
            r#"{{"Route": [{ROUTE}], "Rest": [{{"action": "action_noop"}}], "sshd": [{MATCH}, {BAN}],
                "Route web": [{{"filter": "filter_equals", "args": {{"field": "_SYSTEMD_UNIT", "value": "nginx.service"}}, "then": "sshd"}}],
                "Empty": []}}"#
        ),
        "",
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with(r#"chain "Route web": no entry can reach this chain: "#), "{}", w[0]);
    assert!(w[0].contains(r#"the last one tried is "Rest""#), "{}", w[0]);
}

#[test]
fn a_misspelt_field_is_named_with_the_nearest_set_one() {
    let ban = BAN.replace(r#""IP": "thatIP""#, r#""IP": "thatIPP""#);
    let w = lints(
        &format!(r#"{{"Route": [{ROUTE}], "Rest": [{{"action": "action_noop"}}], "sshd": [{MATCH}, {ban}]}}"#),
        "",
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(
        w[0],
        r#"chain "sshd", step 1 (action_nftBan), arg "IP": field "thatIPP" is read here but can never be set: no filter captures it and no action writes it, and journald only writes upper-case names; nearest known: "thatIP""#
    );
}

#[test]
fn a_journal_field_name_is_never_suspicious() {
    let w = lints(
        r#"{"Route": [{"filter": "filter_equals", "args": {"field": "MY_APP_FIELD", "value": "x"}}, {"action": "action_log", "args": {"message": "{_HOSTNAME} {CODE_FILE}"}}]}"#,
        "",
    );
    assert_eq!(w, Vec::<String>::new());
}

#[test]
fn a_field_set_only_on_another_way_is_named_with_its_writer() {
    // "count" is saved by the counter of chain "b", never on the way to "a".
    let w = lints(
        r#"{"Route": [{"filter": "filter_equals", "args": {"field": "_UID", "value": 0}, "then": "a", "else": "b"}],
            "a": [{"filter": "filter_greaterOrEquals", "args": {"field": "count", "value": 3}}, {"action": "action_noop"}],
            "b": [{"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "(?P<ip>\\S+)"}},
                  {"action": "action_counterRaise", "args": {"counter": "c", "for": "ip", "save": "count"}}]}"#,
        "",
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with(r#"chain "a", step 0 (filter_greaterOrEquals), arg "field": field "count""#), "{}", w[0]);
    assert!(
        w[0].contains(r#"only set at chain "b", step 1 (action_counterRaise), on no way that leads here"#),
        "{}",
        w[0]
    );
}

#[test]
fn a_field_set_on_one_way_in_of_two_is_fine() {
    // "ip" is captured on the way through "a" but not through "b": the
    // shared chain may read it (it may be set), so no warning.
    let w = lints(
        r#"{"Route": [{"filter": "filter_equals", "args": {"field": "_UID", "value": 0}, "then": "a", "else": "b"}],
            "a": [{"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "(?P<ip>\\S+)"}, "then": "shared"}],
            "b": [{"action": "action_noop", "then": "shared"}],
            "shared": [{"action": "action_log", "args": {"message": "seen {ip}"}}]}"#,
        "",
    );
    assert_eq!(w, Vec::<String>::new());
}

#[test]
fn a_capture_written_only_on_a_filter_s_failure_does_not_count() {
    // A regex's captures exist only when it matched: its else way has none.
    let w = lints(
        r#"{"Route": [{"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "(?P<ip>\\S+)"}, "else": "miss"},
                      {"action": "action_noop"}],
            "miss": [{"action": "action_log", "args": {"message": "no {ip}"}}]}"#,
        "",
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with(r#"chain "miss", step 0 (action_log), arg "message": placeholder {ip} can never be set here, so it renders as "None""#),
        "{}",
        w[0]
    );
}

#[test]
fn a_template_placeholder_never_set_is_named() {
    let w = lints(
        &format!(
            r#"{{"Route": [{ROUTE}], "Rest": [{{"action": "action_noop"}}],
                "sshd": [{MATCH}, {{"action": "action_email", "args": {{"message": "{{thatUser}}: {{thatIP}} tried {{thatUser}}"}}}}]}}"#
        ),
        "",
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("placeholder {thatUser} can never be set here"), "{}", w[0]);
}

#[test]
fn routes_for_pyruse_s_own_lines_are_named_unless_the_identifier_is_kept() {
    let actions = r#"{"Route own": [{"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "pyruse"}, "then": "r"}],
        "Route in": [{"filter": "filter_in", "args": {"field": "SYSLOG_IDENTIFIER", "values": ["sshd", "python3"]}, "then": "r"}],
        "Route re": [{"filter": "filter_pcre", "args": {"field": "SYSLOG_IDENTIFIER", "re": "^py(ruse|thon3?)$"}, "then": "r"}],
        "Route any": [{"filter": "filter_pcre", "args": {"field": "SYSLOG_IDENTIFIER", "re": "."}, "then": "r"}],
        "Rest": [{"action": "action_noop"}],
        "r": [{"action": "action_noop"}]}"#;
    let w = lints(actions, "");
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(
        w[0].starts_with(
            r#"chain "Route own", step 0 (filter_equals), arg "value": routes on SYSLOG_IDENTIFIER "pyruse""#
        ),
        "{}",
        w[0]
    );
    assert!(w[0].contains(r#"banwarden writes its lines as "banwarden""#), "{}", w[0]);
    assert!(
        w[1].starts_with(
            r#"chain "Route in", step 0 (filter_in), arg "values": routes on SYSLOG_IDENTIFIER "python3""#
        ),
        "{}",
        w[1]
    );
    assert!(
        w[2].starts_with(r#"chain "Route re", step 0 (filter_pcre), arg "re": routes on SYSLOG_IDENTIFIER "pyruse""#),
        "{}",
        w[2]
    );
    // Kept as Pyruse's: the equals route is right; the others name python.
    let w = lints(actions, r#", "syslogIdentifier": "pyruse""#);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with(r#"chain "Route in""#), "{}", w[0]);
}

#[test]
fn many_unset_fields_are_listed_up_to_a_limit_then_counted() {
    let mut actions = String::from("{");
    for i in 0..150 {
        actions.push_str(&format!(
            r#""r{i}": [{{"filter": "filter_equals", "args": {{"field": "f{i}", "value": "x"}}}}],"#
        ));
    }
    actions.push_str(r#""Rest": [{"action": "action_noop"}]}"#);
    let w = lints(&actions, "");
    assert_eq!(w.len(), super::MAX_UNSET_WARNINGS + 1, "{:?}", &w[..3]);
    assert!(w.iter().any(|w| w.contains("50 more fields read and never set")), "{w:?}");
}

#[test]
fn the_analyses_are_linear_on_many_chains() {
    // 20,000 routes, each writing and reading its own field: one pass over
    // the graph per 64 fields, each linear; nothing unset. (No regexes:
    // compiling 20,000 of them would be most of the test's time.)
    let mut actions = String::from("{");
    for i in 0..20_000 {
        actions.push_str(&format!(
            r#""r{i}": [{{"filter": "filter_equals", "args": {{"field": "_UID", "value": {i}}}}},
                        {{"action": "action_network", "args": {{"IP": "REMOTE_ADDR", "save": "f{i}"}}}},
                        {{"filter": "filter_equals", "args": {{"field": "f{i}", "value": "x"}}}}],"#
        ));
    }
    actions.push_str(r#""Rest": [{"action": "action_noop"}]}"#);
    assert_eq!(lints(&actions, ""), Vec::<String>::new());
}
