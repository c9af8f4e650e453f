//! rfw's URLs: `PUT|DELETE /{drop|accept}/{chain}/{interface|any}/{address}[/{mask}]`
//! with `?expire=`, `GET /list[/{chain}]`, and, with `api.nonRestful`, rfw's
//! `GET ...?modify=insert|delete` for clients that only speak GET.
//!
//! The grammar follows rfw's `cmdparse.py` (the path read case-blind, a
//! trailing slash ignored, so `/drop/input/any/1.2.3.4/?expire=10m` works)
//! with two differences: the address is read by [`Network::target`] (so
//! IPv6 and any prefix length work, and host bits after the prefix are an
//! error rather than a silent mask), and a rule lands only where `api.sets`
//! maps its target, chain and interface ([`ApiSettings::set_for`]);
//! anything else, including rfw's `reject` and a forward rule's
//! destination, is a 400 that says why, never a ban somewhere else.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, Uri};
use axum::Extension;
use serde_json::{json, Value};

use super::reply::{self, Answer};
use super::{Caller, Conn, Ctx};
use crate::config::api::{ApiSettings, Target};
use crate::vocab::{BanRequest, Lifetime, Network, Origin};

/// rfw's chains.
const CHAINS: [&str; 3] = ["input", "output", "forward"];
/// Linux's longest interface name (IFNAMSIZ less the NUL).
const IFNAME_MAX: usize = 15;

/// One of rfw's rules, as a path gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub target: Target,
    pub chain: &'static str,
    /// `None`: `any`.
    pub interface: Option<String>,
    pub net: Network,
}

/// What a path asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Path {
    /// `/`.
    Help,
    /// `/list` (every chain) or `/list/{chain}`.
    List(Option<&'static str>),
    Rule(Rule),
}

pub(super) fn chain(word: &str) -> Result<&'static str, String> {
    let lower = word.to_ascii_lowercase();
    CHAINS.into_iter().find(|c| *c == lower).ok_or_else(|| format!("{word:?} is not a chain: input, output or forward"))
}

pub(super) fn interface(word: &str) -> Result<Option<String>, String> {
    if word.eq_ignore_ascii_case("any") {
        return Ok(None);
    }
    let valid = !word.is_empty()
        && word.len() <= IFNAME_MAX
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b'+'));
    match valid {
        true => Ok(Some(word.to_owned())),
        false => {
            Err(format!("{word:?} is not an interface name (at most {IFNAME_MAX} letters, digits, - _ . @ +) nor any"))
        }
    }
}

/// Parses a decoded path in rfw's grammar.
pub fn parse_path(path: &str) -> Result<Path, String> {
    let trimmed = path.trim();
    let trimmed = trimmed.strip_prefix('/').ok_or_else(|| format!("{path:?} does not start with /"))?;
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Ok(Path::Help);
    }
    let parts: Vec<&str> = trimmed.split('/').map(str::trim).collect();
    let action = parts[0].to_ascii_lowercase();
    let target = match action.as_str() {
        "list" => {
            return match parts.len() {
                1 => Ok(Path::List(None)),
                2 => Ok(Path::List(Some(chain(parts[1])?))),
                _ => Err("too many parts for list: /list or /list/{chain}".into()),
            }
        }
        "drop" => Target::Drop,
        "accept" => Target::Accept,
        "reject" => return Err("reject is not supported: banwarden drops or accepts (use /drop/...)".into()),
        _ => return Err(format!("{:?} is not a command: drop, accept or list", parts[0])),
    };
    if parts.len() < 4 {
        return Err(format!("not enough parts: /{action}/{{chain}}/{{interface|any}}/{{address}}[/{{mask}}]"));
    }
    let chain = chain(parts[1])?;
    let interface = interface(parts[2])?;
    let mut rest = &parts[3..];
    let text = match rest {
        [ip, mask, ..] if !mask.is_empty() && mask.bytes().all(|b| b.is_ascii_digit()) => {
            rest = &rest[2..];
            format!("{ip}/{mask}")
        }
        [ip, ..] => {
            rest = &rest[1..];
            (*ip).to_owned()
        }
        [] => unreachable!("at least 4 parts"),
    };
    let net = Network::target(&text)?;
    if !rest.is_empty() {
        return Err(match chain {
            "forward" => {
                "a forward rule's output interface or destination is not supported: api.sets map a source only".into()
            }
            _ => format!("too many parts after the address for the {chain} chain"),
        });
    }
    Ok(Path::Rule(Rule { target, chain, interface, net }))
}

/// rfw's expiry forms: `600`, `600s`, `10m`, `24h`, `1d`; `0` is for good.
pub fn parse_expire(text: &str) -> Result<Lifetime, String> {
    let t = text.trim();
    let (digits, unit) = match t.as_bytes().last() {
        Some(b's') => (&t[..t.len() - 1], 1),
        Some(b'm') => (&t[..t.len() - 1], 60),
        Some(b'h') => (&t[..t.len() - 1], 3600),
        Some(b'd') => (&t[..t.len() - 1], 86_400),
        _ => (t, 1),
    };
    let wrong = || format!("{text:?} is not a duration: seconds, or a number with s, m, h or d (600, 10m, 24h, 1d)");
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(wrong());
    }
    let n: u64 = digits.parse().map_err(|_| wrong())?;
    match n.checked_mul(unit) {
        Some(0) => Ok(Lifetime::Forever),
        Some(secs) => Lifetime::checked(Duration::from_secs(secs)),
        None => Err(format!("{text:?} is longer than the kernel can time a ban: leave it out for a permanent ban")),
    }
}

/// The lifetime a request gets: its own, or `api.defaultExpire`.
pub fn lifetime(asked: Option<&str>, api: &ApiSettings) -> Result<Lifetime, String> {
    match asked {
        Some(text) => parse_expire(text),
        None => Ok(Lifetime::from_seconds(api.default_expire)),
    }
}

/// Whether a request about `net` is one rfw ignores: it touches one of the
/// clients (`api.clients`), which must never be locked out.
pub fn ignored(api: &ApiSettings, net: Network) -> Option<Answer> {
    let client = api.clients.iter().find(|c| c.overlaps(&net))?;
    Some(Answer::ok(json!({
        "network": net.to_string(),
        "result": "ignored",
        "message": format!("ignored: {net} overlaps the client network {client} (api.clients)"),
    })))
}

const HELP: &str = "banwarden's rfw interface: PUT|DELETE /drop|accept/{chain}/{interface|any}/{address}[/{mask}][?expire=600|10m|24h|1d], GET /list[/{chain}]; JSON API under /v1 (doc/api.md)";

/// Every request outside `/v1`.
pub async fn handle(
    State(ctx): State<Ctx>,
    Extension(caller): Extension<Caller>,
    Extension(conn): Extension<Conn>,
    method: Method,
    uri: Uri,
) -> Answer {
    let decoded = match percent_encoding::percent_decode_str(uri.path()).decode_utf8() {
        Ok(p) => p.into_owned(),
        Err(_) => return Answer::bad("the path is not UTF-8 once decoded"),
    };
    if decoded.starts_with("/v1/") || decoded == "/v1" {
        return Answer::error(StatusCode::NOT_FOUND, format!("no such path {decoded:?} (see doc/openapi.json)"));
    }
    let query = match Query::<HashMap<String, String>>::try_from_uri(&uri) {
        Ok(Query(q)) => q,
        Err(e) => return Answer::bad(format!("query: {e}")),
    };
    let path = match parse_path(&decoded) {
        Ok(p) => p,
        Err(e) => return Answer::bad(format!("{decoded:?}: {e}")),
    };
    let live = ctx.shared.live();
    let Some(api) = live.api.as_ref() else {
        return Answer::error(StatusCode::SERVICE_UNAVAILABLE, "the API is not configured (api)");
    };
    let insert = match (&path, &method) {
        (Path::Help, &Method::GET) => return Answer::ok(json!({ "help": HELP })),
        (Path::List(chain), &Method::GET) => return list(&ctx, api, *chain),
        (Path::Rule(_), &Method::PUT) => true,
        (Path::Rule(_), &Method::DELETE) => false,
        (Path::Rule(_), &Method::GET) if api.non_restful => match query.get("modify").map(|m| m.to_ascii_lowercase()) {
            Some(m) if m == "insert" => true,
            Some(m) if m == "delete" => false,
            _ => return Answer::bad("api.nonRestful: GET needs ?modify=insert or ?modify=delete"),
        },
        (Path::Rule(_), &Method::GET) => {
            return Answer::bad("GET of a rule needs api.nonRestful (with ?modify=insert|delete); use PUT or DELETE")
        }
        _ => return Answer::error(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not one of rfw's verbs here")),
    };
    let Path::Rule(rule) = path else { unreachable!("matched above") };
    if let Some(answer) = ignored(api, rule.net) {
        crate::diag!(
            Notice,
            "api: ignored a request of {} about {}: a client network (api.clients)",
            caller.0,
            rule.net
        );
        return answer;
    }
    let set = match api.set_for(rule.target, rule.chain, rule.interface.as_deref(), rule.net) {
        Ok(set) => set.clone(),
        Err(e) => return Answer::bad(e),
    };
    let origin = Origin::Api { user: caller.0 };
    if !insert {
        return match reply::unban(&ctx.shared.context.door, rule.net, vec![set], origin).await {
            Err(not_done) => not_done.into(),
            Ok(Err(e)) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e),
            Ok(Ok(lifted)) => {
                let (status, mut items) = reply::lifted_items(rule.net, &lifted);
                Answer { status, body: items.pop().unwrap_or(Value::Null), retry_after: None }
            }
        };
    }
    let lifetime = match lifetime(query.get("expire").map(String::as_str), api) {
        Ok(l) => l,
        Err(e) => return Answer::bad(format!("expire: {e}")),
    };
    let request = BanRequest::new(rule.net, set.clone(), lifetime, origin).with_reason(conn.peer.reason());
    match reply::ban(&ctx.shared.context.door, vec![request]).await {
        Err(not_done) => not_done.into(),
        Ok(outcomes) => match outcomes.first() {
            None => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, "the daemon gave no outcome"),
            Some(outcome) => {
                let (status, item) = reply::outcome_item(rule.net, &set, outcome, ctx.shared.context.clock.now_us());
                Answer { status, body: item, retry_after: None }
            }
        },
    }
}

/// `GET /list[/{chain}]`: the live entries of the sets the chain's rules
/// write, in rfw's shape (its fields, numbers as strings), plus `expires`
/// (seconds left, `null` for good), `until` and `origin`.
fn list(ctx: &Ctx, api: &ApiSettings, chain: Option<&'static str>) -> Answer {
    let now = ctx.shared.context.clock.now_us();
    let mut rows = Vec::new();
    let mut seen: Vec<&crate::vocab::SetRef> = Vec::new();
    for entry in api.sets.iter().filter(|s| chain.is_none_or(|c| s.chain.eq_ignore_ascii_case(c))) {
        let iface = entry.interface.as_deref().unwrap_or("*");
        for (set, _, _) in entry.sets() {
            // Two entries of api.sets may share a set: its bans once.
            if seen.contains(&set) {
                continue;
            }
            seen.push(set);
            for (net, listed) in ctx.shared.context.listing.list(set, None, now, usize::MAX) {
                let any = if net.is_ipv6() { "::/0" } else { "0.0.0.0/0" };
                let output = entry.chain.eq_ignore_ascii_case("output");
                let (inp, out, source, destination) = match output {
                    true => ("*", iface, any.to_owned(), net.to_string()),
                    false => (iface, "*", net.to_string(), any.to_owned()),
                };
                rows.push(json!({
                    "chain": entry.chain.to_ascii_uppercase(),
                    "num": (rows.len() + 1).to_string(),
                    "pkts": "0", "bytes": "0",
                    "target": match entry.target { Target::Drop => "DROP", Target::Accept => "ACCEPT" },
                    "prot": "all", "opt": "--",
                    "inp": inp, "out": out, "source": source, "destination": destination,
                    "extra": "",
                    "set": set.to_string(),
                    "expires": reply::left_json(listed.until, now),
                    "until": reply::until_json(listed.until),
                    "origin": &*listed.origin,
                }));
            }
        }
    }
    Answer::ok(Value::Array(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(target: Target, chain: &'static str, interface: Option<&str>, net: &str) -> Path {
        Path::Rule(Rule { target, chain, interface: interface.map(Into::into), net: net.parse().unwrap() })
    }

    #[test]
    fn rfw_paths() {
        assert_eq!(parse_path("/"), Ok(Path::Help));
        assert_eq!(parse_path("/list"), Ok(Path::List(None)));
        assert_eq!(parse_path("/LIST/Input/"), Ok(Path::List(Some("input"))));
        assert_eq!(parse_path("/drop/input/any/11.22.33.44"), Ok(rule(Target::Drop, "input", None, "11.22.33.44")));
        assert_eq!(parse_path("/DROP/INPUT/ANY/11.22.33.44/"), Ok(rule(Target::Drop, "input", None, "11.22.33.44")));
        assert_eq!(
            parse_path("/drop/input/eth0/11.22.33.44"),
            Ok(rule(Target::Drop, "input", Some("eth0"), "11.22.33.44"))
        );
        assert_eq!(
            parse_path("/accept/input/any/192.168.0.0/24"),
            Ok(rule(Target::Accept, "input", None, "192.168.0.0/24"))
        );
        assert_eq!(
            parse_path("/drop/output/any/2001:db8::/32"),
            Ok(rule(Target::Drop, "output", None, "2001:db8::/32"))
        );
        assert_eq!(
            parse_path("/drop/forward/ppp/1.2.3.0/24"),
            Ok(rule(Target::Drop, "forward", Some("ppp"), "1.2.3.0/24"))
        );
    }

    #[test]
    fn bad_rfw_paths_say_why() {
        let err = |p: &str| parse_path(p).unwrap_err();
        assert!(err("/drop/input/any").contains("not enough parts"));
        assert!(err("/reject/input/any/1.2.3.4").contains("reject is not supported"));
        assert!(err("/drop/prerouting/any/1.2.3.4").contains("not a chain"));
        assert!(err("/drop/input/any/1.2.3.4/33").contains("1.2.3.4/33"));
        assert!(err("/drop/input/any/1.2.3.4/8").contains("bits set after the prefix"));
        assert!(err("/drop/input/any/1.2.3.0/24/extra").contains("too many parts"));
        assert!(err("/drop/forward/ppp/1.2.3.0/24/eth0/5.5.5.5").contains("destination is not supported"));
        assert!(err("/drop/input/an;y/1.2.3.4").contains("not an interface"));
        assert!(err("/drop/input/any/1.2.3.4 }; flush ruleset").contains("1.2.3.4 }"));
        assert!(err("/frobnicate").contains("not a command"));
        assert!(err("no-slash").contains("does not start with /"));
    }

    #[test]
    fn rfw_expiry_forms() {
        let secs = |t: &str| parse_expire(t).map(Lifetime::seconds);
        assert_eq!(secs("600"), Ok(Some(600)));
        assert_eq!(secs("600s"), Ok(Some(600)));
        assert_eq!(secs("10m"), Ok(Some(600)));
        assert_eq!(secs("24h"), Ok(Some(86_400)));
        assert_eq!(secs("1d"), Ok(Some(86_400)));
        assert_eq!(secs("0"), Ok(None), "0 is for good, as api.defaultExpire");
        for bad in ["", "m", "-5", "1w", "1.5h", "99999999999999999999999d", "1e9"] {
            assert!(parse_expire(bad).is_err(), "{bad:?}");
        }
        assert!(parse_expire("999999999999d").unwrap_err().contains("kernel"));
    }

    #[test]
    fn fuzzed_paths_never_panic_and_a_rule_holds_a_parsed_network_only() {
        const ALPHABET: &[&str] = &[
            "/", "drop", "accept", "list", "input", "forward", "any", "eth0", "1", "2", "0", "255", "24", ".", ":",
            "::", "ff", " ", "}", ";", "%", "é", "\n", "\0", "s", "m", "d", "-", "[", "]",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut rules = 0;
        for _ in 0..10_000 {
            // A rule's shape, each part a likely word or fuzz.
            let mut fuzz = |words: &[&str], n: usize| match next(3) {
                0 => (0..next(n)).map(|_| ALPHABET[next(ALPHABET.len())]).collect::<String>(),
                _ => words[next(words.len())].to_owned(),
            };
            let octets: String = ["1", ".", "2", ".", "0", ".", "255", ":", "ff", "::"][..].join("");
            let parts = [
                fuzz(&["drop", "accept", "DROP", "list"], 3),
                fuzz(&["input", "output", "forward"], 3),
                fuzz(&["any", "eth0", "ppp"], 3),
                fuzz(&["203.0.113.7", "203.0.113.0", "2001:db8::", "::ffff:203.0.113.7", &octets], 8),
                fuzz(&["24", "32", "64", "0", "", "33"], 3),
                fuzz(&["", "eth1", "5.5.5.5"], 2),
            ];
            let path = format!("/{}", parts[..2 + next(5)].join("/"));
            if let Ok(Path::Rule(rule)) = parse_path(&path) {
                rules += 1;
                assert_eq!(Network::target(&rule.net.to_string()), Ok(rule.net), "{path:?}");
            }
            let _ = parse_expire(&path[1..]);
        }
        assert!(rules > 200, "only {rules} of the paths were rules: is the generator broken?");
    }
}
