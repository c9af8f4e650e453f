//! The linking rules, checked two ways:
//! - random configurations of 30 to 45 chains with nested and shared jump
//!   chains, where the compiled graph must visit exactly the steps that a
//!   naive reference walk of the spec visits, for every entry tried, and the
//!   dispatch fast path must have the same effects;
//! - a hand-written 32-chain configuration whose paths are spelled out.

use banwarden::config::{self, ConfigError};
use banwarden::entry::Entry;
use banwarden::workflow::{Observer, Outcome, Quiet, Step, Workflow};
use serde_json::{json, Value};

/// Records (chain label, step index) of every step visited.
#[derive(Default)]
struct Path(Vec<(String, u32)>);

impl Observer for Path {
    fn step(&mut self, workflow: &Workflow, step: &Step, _: &Outcome<'_>) {
        self.0.push((workflow.label(step.chain).to_owned(), step.index));
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A random configuration. Filter `c.i` passes when field `p_c_i` is "y";
/// action `c.i` logs "c.i". Routing chains (one `filter_equals` on `unit`
/// with an explicit then) are mixed in so dispatch tables get exercised.
fn random_config(rng: &mut Rng) -> Value {
    let n = 30 + rng.below(16) as usize;
    let mut actions = serde_json::Map::new();
    for c in 0..n {
        let mut steps = Vec::new();
        // Jumps go mostly forward (jump chains below their callers),
        // sometimes anywhere (loops, and jumps to earlier chains).
        let target = |rng: &mut Rng| {
            let forward = c + 1 < n && rng.chance(97);
            let t = if forward { c + 1 + rng.below((n - c - 1) as u64) as usize } else { rng.below(n as u64) as usize };
            format!("c{t}")
        };
        if rng.chance(30) {
            // A routing chain.
            let unit = format!("u{}", rng.below(6));
            steps.push(
                json!({"filter": "filter_equals", "args": {"field": "unit", "value": unit}, "then": target(rng)}),
            );
        } else {
            let len = rng.below(5) as usize;
            for i in 0..len {
                let mut step = if rng.chance(55) {
                    json!({"filter": "filter_equals", "args": {"field": format!("p_{c}_{i}"), "value": "y"}})
                } else {
                    json!({"action": "action_log", "args": {"message": format!("{c}.{i}")}})
                };
                if rng.chance(20) {
                    step["then"] = json!(target(rng));
                }
                if step.get("filter").is_some() && rng.chance(20) {
                    step["else"] = json!(target(rng));
                }
                steps.push(step);
            }
        }
        actions.insert(format!("c{c}"), Value::Array(steps));
    }
    json!({"actions": actions})
}

/// The spec, walked naively: no graph, jump chains run in place, a dangling
/// link returns to the top-level loop, which goes on with the next chain.
struct Reference<'a> {
    chains: Vec<(&'a str, &'a Vec<Value>)>,
    top_level: Vec<usize>,
}

enum Flow {
    Fall,
    Stop,
}

impl<'a> Reference<'a> {
    fn new(config: &'a Value) -> Reference<'a> {
        let chains: Vec<(&str, &Vec<Value>)> =
            config["actions"].as_object().unwrap().iter().map(|(k, v)| (k.as_str(), v.as_array().unwrap())).collect();
        let mut r = Reference { chains, top_level: Vec::new() };
        let mut seen = vec![false; r.chains.len()];
        for c in 0..r.chains.len() {
            if !seen[c] {
                r.top_level.push(c);
                r.mark(c, &mut seen);
            }
        }
        r
    }

    fn index(&self, label: &str) -> usize {
        self.chains.iter().position(|(l, _)| *l == label).unwrap()
    }

    /// The steps that run, up to and including the first explicit then.
    fn live_steps(&self, c: usize) -> &'a [Value] {
        let steps = self.chains[c].1;
        match steps.iter().position(|s| s.get("then").is_some()) {
            Some(i) => &steps[..=i],
            None => steps,
        }
    }

    fn mark(&self, c: usize, seen: &mut [bool]) {
        for step in self.live_steps(c) {
            for key in ["then", "else"] {
                if key == "else" && step.get("filter").is_none() {
                    continue;
                }
                if let Some(label) = step.get(key).and_then(Value::as_str) {
                    let t = self.index(label);
                    if !seen[t] {
                        seen[t] = true;
                        self.mark(t, seen);
                    }
                }
            }
        }
    }

    /// Whether some chain leads back to itself through then/else jumps.
    fn has_loop(&self) -> bool {
        fn from(r: &Reference, c: usize, path: &mut Vec<usize>) -> bool {
            if path.contains(&c) {
                return true;
            }
            path.push(c);
            let found = r.live_steps(c).iter().any(|step| {
                ["then", "else"].iter().any(|key| {
                    (*key == "then" || step.get("filter").is_some())
                        && step.get(*key).and_then(Value::as_str).is_some_and(|l| from(r, r.index(l), path))
                })
            });
            path.pop();
            found
        }
        (0..self.chains.len()).any(|c| from(self, c, &mut Vec::new()))
    }

    fn walk(&self, passes: &dyn Fn(&str) -> bool) -> Vec<(String, u32)> {
        let mut path = Vec::new();
        for &c in &self.top_level {
            if let Flow::Stop = self.exec(c, passes, &mut path) {
                break;
            }
        }
        path
    }

    fn exec(&self, c: usize, passes: &dyn Fn(&str) -> bool, path: &mut Vec<(String, u32)>) -> Flow {
        let steps = self.live_steps(c);
        for (i, step) in steps.iter().enumerate() {
            path.push((self.chains[c].0.to_owned(), i as u32));
            let jump = |key: &str| step.get(key).and_then(Value::as_str).map(|l| self.index(l));
            if let Some(field) = step.get("filter").and(step["args"]["field"].as_str()) {
                let value = step["args"]["value"].as_str().unwrap();
                if !passes(&format!("{field}={value}")) {
                    return match jump("else") {
                        Some(t) => self.exec(t, passes, path),
                        None => Flow::Fall,
                    };
                }
                if let Some(t) = jump("then") {
                    return self.exec(t, passes, path);
                }
            } else {
                if let Some(t) = jump("then") {
                    return self.exec(t, passes, path);
                }
                if i + 1 == steps.len() {
                    return Flow::Stop;
                }
            }
        }
        Flow::Fall
    }
}

/// A random entry: each filter passes with some probability.
fn random_entry(workflow: &Workflow, rng: &mut Rng) -> (Entry, Vec<String>) {
    let mut entry = workflow.new_entry();
    let mut set = Vec::new();
    for (id, name) in workflow.fields().iter() {
        if name.starts_with("p_") && rng.chance(50) {
            entry.set(id, "y");
            set.push(format!("{name}=y"));
        } else if name == "unit" && rng.chance(80) {
            let unit = format!("u{}", rng.below(7));
            entry.set(id, &unit);
            set.push(format!("unit={unit}"));
        }
    }
    (entry, set)
}

#[test]
fn compiled_graph_walks_like_the_reference_on_random_configs() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut compared, mut loops) = (0, 0);
    for _ in 0..300 {
        let config_json = random_config(&mut rng);
        let reference = Reference::new(&config_json);
        let mut workflow = match config::compile(&config_json.to_string(), "random") {
            Ok(config) => config.workflow,
            Err(ConfigError::Invalid { errors, .. }) => {
                assert!(errors.iter().all(|e| e.message.starts_with("loop: ")), "{errors:?}");
                assert!(reference.has_loop(), "loop reported where the reference sees none: {errors:?}");
                loops += 1;
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        assert!(!reference.has_loop(), "a loop went unnoticed in {config_json:#}");
        for _ in 0..40 {
            let (entry, set) = random_entry(&workflow, &mut rng);
            let expected = reference.walk(&|test| set.iter().any(|s| s == test));

            let mut path = Path::default();
            let mut traced_effects = Vec::new();
            workflow.run(&mut entry.clone(), &mut traced_effects, &mut path);
            assert_eq!(path.0, expected, "entry {set:?} in {config_json:#}");

            // The dispatch fast path does the same actions in the same order.
            let mut fast_effects = Vec::new();
            workflow.run(&mut entry.clone(), &mut fast_effects, &mut Quiet);
            assert_eq!(fast_effects, traced_effects, "fast path, entry {set:?} in {config_json:#}");
            compared += 1;
        }
    }
    assert!(compared > 5_000, "{compared} entries compared, {loops} configs with loops");
    assert!(loops > 0, "the generator must also produce loops");
}

fn trace(workflow: &mut Workflow, fields: &[(&str, &str)]) -> Vec<String> {
    let mut entry = workflow.new_entry();
    for (name, value) in fields {
        let id = workflow.fields().get(name).unwrap_or_else(|| panic!("field {name} is not used"));
        entry.set(id, value);
    }
    let mut path = Path::default();
    workflow.run(&mut entry, &mut Vec::new(), &mut path);
    path.0.into_iter().map(|(label, i)| format!("{label}.{i}")).collect()
}

/// tests/fixtures/linking-32.json: 32 chains, routing first; jump chains
/// nested three deep and shared by several callers, some with dangling
/// links (one copy per fall-through), some without (one shared copy).
#[test]
fn thirty_two_chains_step_by_step() {
    let path = super::util::root().join("tests/fixtures/linking-32.json");
    let mut workflow = config::load(&path).expect("fixture is valid").workflow;
    assert_eq!(workflow.chains(), 32);

    // Noise: discarded by the shared "drop" chain (no dangling link).
    assert_eq!(trace(&mut workflow, &[("unit", "cron")]), ["noise cron.0", "drop.0"]);
    // An unknown unit walks every routing chain, then the catch-all.
    let unknown = trace(&mut workflow, &[("unit", "php")]);
    assert_eq!(unknown.len(), 14);
    assert_eq!(unknown.first().unwrap(), "noise cron.0");
    assert_eq!(unknown.last().unwrap(), "catch-all.0");

    // sshd, a failure from an outside address: sshd -> sshd failure ->
    // count (shared, dangling) -> ban (nested, shared, no dangling).
    assert_eq!(
        trace(&mut workflow, &[("unit", "sshd"), ("kind", "failure"), ("local", "no"), ("many", "yes")]),
        [
            "noise cron.0",
            "noise logind.0",
            "noise dbus.0",
            "route sshd.0",
            "sshd.0",
            "sshd failure.0",
            "sshd failure.1",
            "count.0",
            "count.1",
            "ban.0",
            "ban.1"
        ]
    );
    // Not yet many failures: count's dangling then falls to the chain after
    // "route sshd", i.e. "route nginx", and on to the catch-all.
    let few = trace(&mut workflow, &[("unit", "sshd"), ("kind", "failure"), ("local", "no")]);
    assert_eq!(
        &few[..9],
        [
            "noise cron.0",
            "noise logind.0",
            "noise dbus.0",
            "route sshd.0",
            "sshd.0",
            "sshd failure.0",
            "sshd failure.1",
            "count.0",
            "route nginx.0"
        ]
    );
    assert_eq!(few.last().unwrap(), "catch-all.0");
    // The same shared "count" chain reached from nginx falls through to the
    // chain after "route nginx" instead.
    let nginx_few = trace(&mut workflow, &[("unit", "nginx"), ("kind", "scan"), ("local", "no")]);
    assert_eq!(
        &nginx_few[..8],
        [
            "noise cron.0",
            "noise logind.0",
            "noise dbus.0",
            "route sshd.0",
            "route nginx.0",
            "nginx.0",
            "nginx scan.0",
            "count.0"
        ]
    );
    assert_eq!(nginx_few[8], "route mail.0");
    // A local address: sshd failure's else is taken by no one; it passes to
    // "sshd local", which ends in an action.
    assert_eq!(
        trace(&mut workflow, &[("unit", "sshd"), ("kind", "failure"), ("local", "yes")]),
        [
            "noise cron.0",
            "noise logind.0",
            "noise dbus.0",
            "route sshd.0",
            "sshd.0",
            "sshd failure.0",
            "sshd failure.1",
            "sshd local.0"
        ]
    );
    // Mail: route mail -> mail (filter_in) -> mail auth -> count, ban shared.
    assert_eq!(
        trace(&mut workflow, &[("unit", "postfix"), ("kind", "auth"), ("local", "no"), ("many", "yes")]),
        [
            "noise cron.0",
            "noise logind.0",
            "noise dbus.0",
            "route sshd.0",
            "route nginx.0",
            "route mail.0",
            "mail.0",
            "mail auth.0",
            "count.0",
            "count.1",
            "ban.0",
            "ban.1"
        ]
    );
    // Own log lines: recidive, three levels deep (recidive -> repeat -> long ban).
    assert_eq!(
        trace(&mut workflow, &[("ident", "banwarden"), ("kind", "ban"), ("many", "yes"), ("unit", "banwarden")]),
        [
            "noise cron.0",
            "noise logind.0",
            "noise dbus.0",
            "route sshd.0",
            "route nginx.0",
            "route mail.0",
            "route ftp.0",
            "route own.0",
            "recidive.0",
            "recidive.1",
            "repeat.0",
            "long ban.0",
            "long ban.1"
        ]
    );
    // A recidive line without "many": repeat's dangling filter falls through
    // to the chain after "route own": "route kernel".
    let once = trace(&mut workflow, &[("ident", "banwarden"), ("kind", "ban"), ("unit", "banwarden")]);
    assert_eq!(
        &once[8..],
        [
            "recidive.0",
            "recidive.1",
            "repeat.0",
            "route kernel.0",
            "route audit.0",
            "route cron2.0",
            "route mysql.0",
            "route redis.0",
            "catch-all.0"
        ]
    );
    // Audit: nested jump to "audit selinux", whose then reaches the shared
    // "drop"; a local one dangles back to the chain after "route audit".
    assert_eq!(
        &trace(&mut workflow, &[("unit", "audit"), ("kind", "avc"), ("local", "no")])[9..],
        ["route audit.0", "audit.0", "audit selinux.0", "drop.0"]
    );
    assert_eq!(
        &trace(&mut workflow, &[("unit", "audit"), ("kind", "avc"), ("local", "yes")])[9..],
        [
            "route audit.0",
            "audit.0",
            "audit selinux.0",
            "route cron2.0",
            "route mysql.0",
            "route redis.0",
            "catch-all.0"
        ]
    );
}

/// Configurations larger than any written by hand go through the real
/// `check`: nothing recursive overflows the stack, and nothing quadratic
/// makes it crawl (the speed itself is measured by benches/suite.py).
mod large {
    use super::super::util::{text, TestDir};
    use serde_json::{json, Map, Value};

    fn check(config: &Value) -> String {
        let dir = TestDir::new();
        dir.config(&config.to_string());
        let out = dir.banwarden(&["check"], b"");
        assert!(out.status.success(), "check failed: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// Chain i tests one field and jumps to chain i+1; the last one bans.
    pub fn jump_chain(n: usize) -> Value {
        let mut actions = Map::new();
        for i in 0..n - 1 {
            let step =
                json!({"filter": "filter_equals", "args": {"field": "f", "value": "x"}, "then": format!("c{}", i + 1)});
            actions.insert(format!("c{i}"), json!([step]));
        }
        actions.insert(
            format!("c{}", n - 1),
            json!([{"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "ip banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 60}}]),
        );
        json!({"storage": "STORAGE", "actions": actions})
    }

    #[test]
    fn a_50000_step_jump_chain_is_checked() {
        let out = check(&jump_chain(50_000));
        assert!(out.contains("valid: 50000 chains, 50000 steps (50000 linked nodes)"), "{out}");
    }

    #[test]
    fn a_100000_chain_configuration_is_checked() {
        // 50,000 routing chains (one dispatch table), each to its own
        // jump chain that counts under its own name and bans.
        let mut actions = Map::new();
        let routes = 50_000;
        for i in 0..routes {
            let route = json!({"filter": "filter_equals", "args": {"field": "unit", "value": format!("u{i}")}, "then": format!("j{i}")});
            actions.insert(format!("r{i}"), json!([route]));
        }
        for i in 0..routes {
            actions.insert(
                format!("j{i}"),
                json!([
                    {"action": "action_counterRaise", "args": {"counter": format!("n{i}"), "for": "ip", "keepSeconds": 60, "save": "n"}},
                    {"filter": "filter_greaterOrEquals", "args": {"field": "n", "value": 3}},
                    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "ip banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6"}}
                ]),
            );
        }
        let out = check(&json!({"storage": "STORAGE", "actions": actions}));
        assert!(out.contains("valid: 100000 chains, 200000 steps (200000 linked nodes)"), "{out}");
    }

    #[test]
    fn a_50000_step_jump_chain_runs() {
        // In process: an entry walks the whole chain to the ban.
        let text = jump_chain(50_000).to_string().replace("STORAGE", "/nonexistent");
        let mut workflow = banwarden::config::compile(&text, "jump").unwrap().workflow;
        let (f, ip) = (workflow.fields().get("f").unwrap(), workflow.fields().get("ip").unwrap());
        let mut entry = workflow.new_entry();
        entry.set(f, "x");
        entry.set(ip, "192.0.2.7");
        let mut effects = Vec::new();
        workflow.run(&mut entry, &mut effects, &mut banwarden::workflow::Quiet);
        assert_eq!(effects.len(), 1, "{effects:?}");
    }
}
