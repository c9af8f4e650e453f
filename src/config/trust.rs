//! Which bans a forged journal line could cause: the warning `check` gives
//! for a ban that an entry can reach without having passed a filter on a
//! field journald writes about the sender itself.
//!
//! Any local user can write a line with any `SYSLOG_IDENTIFIER` and
//! `MESSAGE` (`logger -t sshd ...`, or the native protocol); only the fields
//! journald derives from the kernel's view of the sending process (`_UID`,
//! `_SYSTEMD_UNIT`, `_EXE`, ...) tell who wrote it. A few `_` fields do not:
//! `_COMM` and `_CMDLINE` are the process's own choice (prctl(2), argv),
//! `_TRANSPORT` is the socket it chose to write to, and a user names their
//! own user units (`_SYSTEMD_USER_UNIT`). See [`is_trusted_field`].
//!
//! The analysis runs on the linked graph, never on paths (a configuration
//! may have 100,000 chains): a node is *unguarded* when the start reaches it
//! along links other than the pass link of a filter on a trusted field. That
//! is one breadth-first walk, linear in nodes and links, with no recursion;
//! the parent each node was first reached from gives one unguarded way to
//! each ban for the message. Each ban step is reported once, however many
//! copies of it linking made.

use std::collections::VecDeque;

use super::problem::{Location, Problems};
use crate::actions::Action;
use crate::workflow::{Link, StepKind, Workflow};

/// `_` fields that the sending process chooses, so that they say nothing
/// about who wrote the line (systemd.journal-fields(7)).
const CHOSEN_BY_THE_SENDER: [&str; 9] = [
    "_COMM",
    "_CMDLINE",
    "_TRANSPORT",
    "_SYSTEMD_USER_UNIT",
    "_SYSTEMD_USER_SLICE",
    "_HOSTNAME",
    "_SOURCE_REALTIME_TIMESTAMP",
    "_SOURCE_MONOTONIC_TIMESTAMP",
    "_STREAM_ID",
];

/// At most this many chains are named for the way to a ban; a longer way
/// is shortened in its middle.
const MAX_CHAINS_NAMED: usize = 8;

/// Ban steps warned about one by one; the others are counted in one last
/// warning. Each message walks its way back to the start, which in a large
/// generated configuration (50,000 routing chains in a row) is long: more
/// messages than a reader would read cost quadratic time for nothing.
const MAX_WARNINGS: usize = 100;

/// Whether journald writes `name` from what the kernel says about the
/// sender, so that a client cannot set it: a single leading `_` (clients'
/// `_` fields are dropped by journald; `__` fields are the journal's
/// addresses, such as `__REALTIME_TIMESTAMP`) and not a field the sender
/// chooses anyway.
pub fn is_trusted_field(name: &str) -> bool {
    name.starts_with('_') && !name.starts_with("__") && !CHOSEN_BY_THE_SENDER.contains(&name)
}

/// Adds a warning for every ban step that an entry can reach without
/// passing a filter on a trusted field.
pub fn warn_unguarded_bans(workflow: &Workflow, problems: &mut Problems) {
    let (nodes, start) = workflow.graph();
    let steps = workflow.steps();
    let guards = |node: usize| match &steps[nodes[node].step as usize].kind {
        StepKind::Filter(filter) => is_trusted_field(workflow.fields().name(filter.field())),
        StepKind::Action(_) => false,
    };
    // parent[n]: the node n was first reached from, unguarded; START for the
    // first node; UNREACHED when every way to n passed a guard.
    const UNREACHED: u32 = u32::MAX;
    const START: u32 = u32::MAX - 1;
    let mut parent = vec![UNREACHED; nodes.len()];
    let mut queue = VecDeque::new();
    if let Some(first) = start.node() {
        parent[first] = START;
        queue.push_back(first);
    }
    let mut reported = vec![false; steps.len()];
    let (mut warned, mut unlisted) = (0, None);
    while let Some(n) = queue.pop_front() {
        let node = nodes[n];
        let step = &steps[node.step as usize];
        if matches!(step.kind, StepKind::Action(Action::Ban(_))) && !reported[node.step as usize] {
            reported[node.step as usize] = true;
            let location = Location::step(workflow.label(step.chain), step.index as usize).with_module(step.module);
            if warned < MAX_WARNINGS {
                warned += 1;
                problems.warn(&location, message(workflow, nodes, &parent, n));
            } else {
                let (count, _) = unlisted.get_or_insert((0, location));
                *count += 1;
            }
        }
        let mut follow = |link: Link| {
            if let Some(next) = link.node() {
                if parent[next] == UNREACHED {
                    parent[next] = n as u32;
                    queue.push_back(next);
                }
            }
        };
        match step.kind {
            StepKind::Filter(_) => {
                // Failing a guard proves nothing about the sender either.
                if !guards(n) {
                    follow(node.then);
                }
                follow(node.else_);
            }
            StepKind::Action(_) => follow(node.then),
        }
    }
    if let Some((count, first)) = unlisted {
        let what = format!(
            "a line any local user can write reaches this ban and {} more (not listed one by one: \
             the first {MAX_WARNINGS} are above; route them on a trusted field too)",
            count - 1
        );
        problems.warn(&first, what);
    }
}

/// The warning for the ban at node `ban`: the chains of one unguarded way
/// to it, the client-set fields it was routed on, and what to add.
fn message(workflow: &Workflow, nodes: &[crate::workflow::Node], parent: &[u32], ban: usize) -> String {
    let steps = workflow.steps();
    let mut way = vec![ban];
    let mut at = ban;
    while (parent[at] as usize) < nodes.len() {
        at = parent[at] as usize;
        way.push(at);
    }
    way.reverse();
    let mut chains: Vec<&str> = Vec::new();
    let mut routed_on: Vec<&str> = Vec::new();
    for (i, &n) in way.iter().enumerate() {
        let step = &steps[nodes[n].step as usize];
        let label = workflow.label(step.chain);
        if chains.last() != Some(&label) {
            chains.push(label);
        }
        // A filter passed on the way (the next node is its `then`).
        if let (StepKind::Filter(filter), Some(&next)) = (&step.kind, way.get(i + 1)) {
            let name = workflow.fields().name(filter.field());
            // Computed fields (`thatIP`, `failures`) come from the others.
            let from_journal = crate::journal::sd::is_journal_field(name);
            if from_journal && nodes[n].then.node() == Some(next) && !routed_on.contains(&name) {
                routed_on.push(name);
            }
        }
    }
    let mut named: Vec<String> = chains.iter().map(|c| format!("{c:?}")).collect();
    if named.len() > MAX_CHAINS_NAMED {
        let tail = named.split_off(named.len() - MAX_CHAINS_NAMED / 2);
        named.truncate(MAX_CHAINS_NAMED / 2);
        named.push("…".into());
        named.extend(tail);
    }
    let (who, passed) = match routed_on.is_empty() {
        true => ("any line, whoever wrote it,", "no filter".to_owned()),
        false => (
            "a line any local user can write",
            format!("only filters on {}, which the sender sets", routed_on.join(", ")),
        ),
    };
    format!(
        "{who} reaches this ban: through chains {}, it passes {passed}; \
         add a filter on a field journald writes itself on the way, \
         such as _SYSTEMD_UNIT (the service's unit) and _UID (0 for a service that logs as root)",
        named.join(" -> ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::compile;

    fn warnings(actions: &str) -> Vec<String> {
        let text = format!(r#"{{"actions": {actions}, "storage": "/nonexistent"}}"#);
        let config = compile(&text, "test.json").unwrap_or_else(|e| panic!("{e:?}"));
        config.warnings.iter().map(|w| w.to_string()).filter(|w| w.contains("reaches this ban")).collect()
    }

    const BAN: &str =
        r#"{"action": "action_nftBan", "args": {"IP": "thatIP", "nftSetIPv4": "ip t s4", "nftSetIPv6": "ip6 t s6"}}"#;
    const MATCH: &str =
        r#"{"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed from (?P<thatIP>\\S+)$"}}"#;

    #[test]
    fn trusted_fields() {
        for name in ["_SYSTEMD_UNIT", "_UID", "_EXE", "_GID", "_SYSTEMD_CGROUP", "_PID"] {
            assert!(is_trusted_field(name), "{name}");
        }
        for name in ["SYSLOG_IDENTIFIER", "MESSAGE", "thatIP", "_COMM", "_CMDLINE", "_TRANSPORT", "__CURSOR"] {
            assert!(!is_trusted_field(name), "{name}");
        }
    }

    #[test]
    fn a_guarded_path_gives_no_warning() {
        let w = warnings(&format!(
            r#"{{"Route": [
                {{"filter": "filter_equals", "args": {{"field": "_SYSTEMD_UNIT", "value": "ssh.service"}}}},
                {{"filter": "filter_equals", "args": {{"field": "SYSLOG_IDENTIFIER", "value": "sshd"}}, "then": "Ban"}}],
               "Rest": [{{"action": "action_noop"}}],
               "Ban": [{MATCH}, {BAN}]}}"#
        ));
        assert_eq!(w, Vec::<String>::new());
    }

    #[test]
    fn a_route_on_the_identifier_alone_is_named() {
        let w = warnings(&format!(
            r#"{{"Route own log": [
                {{"filter": "filter_equals", "args": {{"field": "SYSLOG_IDENTIFIER", "value": "banwarden"}}, "then": "recidive"}}],
               "Rest": [{{"action": "action_noop"}}],
               "recidive": [{MATCH}, {BAN}]}}"#
        ));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with(r#"chain "recidive", step 1 (action_nftBan): "#), "{}", w[0]);
        assert!(w[0].contains(r#"through chains "Route own log" -> "recidive""#), "{}", w[0]);
        assert!(w[0].contains("only filters on SYSLOG_IDENTIFIER, MESSAGE,"), "{}", w[0]);
        assert!(w[0].contains("_SYSTEMD_UNIT"), "{}", w[0]);
    }

    #[test]
    fn a_join_with_one_unguarded_way_is_named() {
        // Two routes lead to the same ban: one on the unit, one on the
        // identifier alone. The ban is reported once, through the second.
        let w = warnings(&format!(
            r#"{{"Route sshd": [
                {{"filter": "filter_equals", "args": {{"field": "_SYSTEMD_UNIT", "value": "ssh.service"}}, "then": "Ban"}}],
               "Route postfix": [
                {{"filter": "filter_equals", "args": {{"field": "SYSLOG_IDENTIFIER", "value": "postfix/smtpd"}}, "then": "Ban"}}],
               "Rest": [{{"action": "action_noop"}}],
               "Ban": [{MATCH}, {BAN}]}}"#
        ));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains(r#""Route sshd" -> "Route postfix" -> "Ban""#), "{}", w[0]);
        // Failing a filter on a trusted field does not guard: the way in
        // went through the sshd route's else.
        assert!(w[0].contains("only filters on SYSLOG_IDENTIFIER, MESSAGE,"), "{}", w[0]);
    }

    #[test]
    fn a_sender_chosen_underscore_field_does_not_guard() {
        let w = warnings(&format!(
            r#"{{"Route": [
                {{"filter": "filter_equals", "args": {{"field": "_COMM", "value": "sshd"}}}},
                {{"filter": "filter_equals", "args": {{"field": "_TRANSPORT", "value": "journal"}}, "then": "Ban"}}],
               "Rest": [{{"action": "action_noop"}}],
               "Ban": [{MATCH}, {BAN}]}}"#
        ));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("only filters on _COMM, _TRANSPORT, MESSAGE,"), "{}", w[0]);
    }

    #[test]
    fn the_walk_is_linear_on_a_long_chain_of_routes() {
        // 10,000 routing chains, each guarded, all leading to one ban:
        // nothing to report, and no recursion to overflow.
        let mut actions = String::from("{");
        for i in 0..10_000 {
            actions.push_str(&format!(
                r#""r{i}": [{{"filter": "filter_equals", "args": {{"field": "_SYSTEMD_UNIT", "value": "u{i}.service"}}, "then": "Ban"}}],"#
            ));
        }
        actions.push_str(&format!(r#""Rest": [{{"action": "action_noop"}}], "Ban": [{MATCH}, {BAN}]}}"#));
        assert_eq!(warnings(&actions), Vec::<String>::new());
    }

    #[test]
    fn many_unguarded_bans_are_listed_up_to_a_limit_then_counted() {
        // 300 routes on a client-set field, each to a ban of its own: the
        // first 100 are named, the 200 others counted in one warning.
        let mut actions = String::from("{");
        for i in 0..300 {
            actions.push_str(&format!(
                r#""r{i}": [{{"filter": "filter_equals", "args": {{"field": "SYSLOG_IDENTIFIER", "value": "s{i}"}}, "then": "b{i}"}}],
                   "b{i}": [{MATCH}, {BAN}],"#
            ));
        }
        actions.push_str(r#""Rest": [{"action": "action_noop"}]}"#);
        let w = warnings(&actions);
        assert_eq!(w.len(), MAX_WARNINGS + 1, "{:?}", &w[MAX_WARNINGS..]);
        assert!(w[MAX_WARNINGS].contains("reaches this ban and 199 more"), "{}", w[MAX_WARNINGS]);
    }
}
