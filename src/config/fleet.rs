//! `fleet`: the bans this host shares with the others through a Redis
//! stream, and how it applies theirs. A key Pyruse never had, so it adds
//! meaning and changes none.
//!
//! Secure by default: the password is read from a file (`passwordFile`),
//! never from the configuration itself, and never logged; a `rediss://`
//! connection checks the server's certificate against `tls.ca` (or the
//! system's roots). What is shared is explicit: bans decided by rules by
//! default, API bans when `share` names them, bans by hand only with
//! `banwarden ban --fleet` (or `share` naming `cli`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::api::sub;
use super::args::Args;
use super::json::{dedup_pairs, Json};
use super::problem::{Location, Problems};
use super::settings::describe;
use crate::vocab::{Origin, SetRef};

/// The stream's name when `fleet.stream` is not given.
pub const DEFAULT_STREAM: &str = "banwarden:bans";
/// Entries the stream keeps (about, `MAXLEN ~`) when `fleet.maxLen` is not
/// given.
pub const DEFAULT_MAX_LEN: u64 = 1_000_000;
/// Connection and reply timeout when `fleet.timeout` is not given.
pub const DEFAULT_TIMEOUT_SECS: u64 = 5;
/// Longest host, set or origin name an entry may carry (bytes).
pub const NAME_MAX: usize = 64;
/// The keys of `fleet` (the documentation is checked against them).
pub const FLEET_KEYS: [&str; 12] =
    ["redis", "user", "passwordFile", "tls", "stream", "host", "share", "sets", "map", "maxLen", "replicas", "timeout"];
/// The keys of `fleet.tls`, and of a `fleet.map` target.
pub const FLEET_TLS_KEYS: [&str; 3] = ["ca", "certificate", "key"];
pub const FLEET_MAP_KEYS: [&str; 2] = ["nftSet", "ipSet"];

/// Whose bans are published (`fleet.share`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Bans decided by the rules (the default).
    Rules,
    /// Bans and unbans asked for through the REST or Redis-protocol API.
    Api,
    /// Every `banwarden ban`/`unban` by hand, as if `--fleet` were given.
    Cli,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Rules => "rules",
            Source::Api => "api",
            Source::Cli => "cli",
        }
    }
}

/// A client certificate for `rediss://` servers that ask for one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

/// `fleet.tls`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FleetTls {
    /// The CA that signed the server's certificate (`ca`); `None`: the
    /// system's roots.
    pub ca: Option<PathBuf>,
    /// `certificate` and `key`, when the server asks for a client's.
    pub client: Option<ClientCert>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetSettings {
    /// `fleet.redis`: one URL, or several (a primary and its replicas):
    /// the client uses the first that says it is a primary (`ROLE`).
    /// `redis://`, `rediss://` or `unix://`, with an ACL user; a password
    /// written in it is taken, though `passwordFile` is better.
    pub redis: Vec<String>,
    /// `fleet.user`: the ACL user, when not in the URL.
    pub user: Option<String>,
    /// `fleet.passwordFile`: its first line is the password.
    pub password_file: Option<PathBuf>,
    pub tls: Option<FleetTls>,
    /// `fleet.stream`; the snapshot of live shared bans is kept beside it,
    /// in `<stream>:live` (a hash) and `<stream>:ends` (a sorted set).
    pub stream: String,
    /// `fleet.host`: this host's name in the entries it writes; default
    /// the hostname.
    pub host: String,
    /// `fleet.share`: whose bans this host publishes.
    pub share: Vec<Source>,
    /// `fleet.sets`: only these shared names are published and applied;
    /// `None`: all.
    pub sets: Option<Vec<String>>,
    /// `fleet.map`: shared name → this host's set, when the names differ.
    pub map: BTreeMap<String, SetRef>,
    /// `fleet.maxLen`: entries the stream keeps, about (`MAXLEN ~`).
    pub max_len: u64,
    /// `fleet.replicas`: an entry counts as published once this many
    /// replicas have it too (`WAIT`), so a failover loses none.
    pub replicas: u32,
    /// `fleet.timeout`: connecting, and each reply (seconds).
    pub timeout_secs: u64,
}

impl FleetSettings {
    /// Whether a ban or unban of `origin` is published.
    pub fn shares(&self, origin: &Origin) -> bool {
        let source = match origin {
            Origin::Rule { .. } => Source::Rules,
            Origin::Api { .. } => Source::Api,
            Origin::Cli { .. } => Source::Cli,
            Origin::Fleet { .. } | Origin::Store => return false,
        };
        self.share.contains(&source)
    }

    /// The name `set` goes by in the fleet: the key of `map` that names
    /// it, else its own name (an nftables set's name without family and
    /// table, an ipset's name).
    pub fn shared_name(&self, set: &SetRef) -> String {
        if let Some((name, _)) = self.map.iter().find(|(_, local)| *local == set) {
            return name.clone();
        }
        bare_name(set)
    }

    /// Whether the shared name `name` is published and applied here.
    pub fn shares_set(&self, name: &str) -> bool {
        self.sets.as_ref().is_none_or(|sets| sets.iter().any(|s| s == name))
    }

    /// The URLs as they may be shown: without their password.
    pub fn shown_urls(&self) -> Vec<String> {
        self.redis.iter().map(|u| hide_password(u)).collect()
    }
}

/// A set's own name: what the fleet calls it unless `fleet.map` says
/// otherwise.
pub fn bare_name(set: &SetRef) -> String {
    match (set.as_nft(), set.as_ipset()) {
        (Some(nft), _) => nft.name.clone(),
        (None, Some(name)) => name.to_owned(),
        (None, None) => set.to_string(),
    }
}

/// `redis://user:secret@host` as `redis://user:***@host`.
pub fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Whether `name` may name a host or a shared set in an entry: 1 to
/// [`NAME_MAX`] bytes of letters, digits, `.`, `_` and `-`.
pub fn is_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= NAME_MAX && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// This host's name (uname's nodename), for `fleet.host`'s default.
fn hostname() -> String {
    // SAFETY: uname fills a zeroed struct we own.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    // SAFETY: nodename is NUL-terminated by uname.
    let name = unsafe { std::ffi::CStr::from_ptr(u.nodename.as_ptr()) };
    name.to_string_lossy().into_owned()
}

/// Reads `fleet`; what is wrong goes to `problems`, each with its place.
pub fn read_fleet(value: &Json, here: Location, problems: &mut Problems) -> Option<FleetSettings> {
    let errors = problems.errors.len();
    let mut args = Args::new(Some(value), here.clone(), problems);
    let redis = match args.get("redis") {
        None => {
            problems.error(&args.at("redis"), "missing: the Redis server's URL (redis://, rediss:// or unix://)");
            Vec::new()
        }
        Some(Json::String(url)) => vec![url.clone()],
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).map(str::to_owned).collect(),
        Some(other) => {
            problems.error(&args.at("redis"), format!("expected a URL or a list of URLs, found {}", other.type_name()));
            Vec::new()
        }
    };
    if matches!(args.get("redis"), Some(Json::Array(items)) if items.is_empty() || items.iter().any(|i| i.as_str().is_none()))
    {
        problems.error(&args.at("redis"), "expected a non-empty list of URLs (strings)");
    }
    for (i, url) in redis.iter().enumerate() {
        if let Err(e) = check_url(url) {
            let which = if redis.len() > 1 { format!("item {i}: ") } else { String::new() };
            problems.error(&args.at("redis"), format!("{which}{e}"));
        }
    }
    let user = args.opt_string("user", problems).map(str::to_owned);
    let password_file = args.opt_string("passwordFile", problems).map(PathBuf::from);
    if let Some(path) = &password_file {
        if !path.is_absolute() {
            problems.error(&args.at("passwordFile"), format!("{}: expected an absolute path", path.display()));
        }
    }
    let tls = args.get("tls").and_then(|v| read_tls(v, sub(&here, "tls"), problems));
    if tls.is_some() && !redis.iter().any(|u| u.starts_with("rediss://")) {
        problems.warn(&args.at("tls"), "no rediss:// URL uses it");
    }
    let stream = args.opt_string("stream", problems).unwrap_or(DEFAULT_STREAM).to_owned();
    if stream.len() > 200 || stream.chars().any(|c| c.is_whitespace() || c.is_control()) {
        problems.error(&args.at("stream"), "expected a Redis key of at most 200 characters, without blanks");
    }
    let host = match args.opt_string("host", problems) {
        Some(h) => h.to_owned(),
        None => hostname(),
    };
    if !is_name(&host) {
        let place = args.at("host");
        let hint = if args.has("host") { "" } else { " (this host's name; set \"host\")" };
        problems.error(&place, format!("{host:?}{hint}: expected 1 to {NAME_MAX} letters, digits, '.', '_' or '-'"));
    }
    let mut share = vec![Source::Rules];
    if let Some(list) = args.opt_string_list("share", problems) {
        share.clear();
        for (i, item) in list.iter().enumerate() {
            match *item {
                "rules" => share.push(Source::Rules),
                "api" => share.push(Source::Api),
                "cli" => share.push(Source::Cli),
                other => problems
                    .error(&args.at("share"), format!("item {i}: {other:?} is not one of \"rules\", \"api\", \"cli\"")),
            }
        }
        share.sort();
        share.dedup();
    }
    let sets = args.opt_string_list("sets", problems).map(|list| {
        for (i, name) in list.iter().enumerate() {
            if !is_name(name) {
                problems.error(&args.at("sets"), format!("item {i}: {name:?} is not a set name"));
            }
        }
        list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    });
    let map = args.get("map").map(|v| read_map(v, sub(&here, "map"), problems)).unwrap_or_default();
    let max_len = match args.get("maxLen") {
        None => DEFAULT_MAX_LEN,
        Some(Json::Number(n)) if n.as_u64().is_some_and(|n| n >= 1000) => n.as_u64().unwrap_or(DEFAULT_MAX_LEN),
        Some(other) => {
            problems.error(
                &args.at("maxLen"),
                format!("expected a whole number of entries, 1000 or more, found {}", describe(other)),
            );
            DEFAULT_MAX_LEN
        }
    };
    let replicas = match args.get("replicas") {
        None => 0,
        Some(Json::Number(n)) if n.as_u64().is_some_and(|n| n <= 16) => n.as_u64().unwrap_or(0) as u32,
        Some(other) => {
            problems.error(
                &args.at("replicas"),
                format!("expected a number of replicas, 0 to 16, found {}", describe(other)),
            );
            0
        }
    };
    let timeout_secs = match args.opt_seconds("timeout", problems) {
        None => DEFAULT_TIMEOUT_SECS,
        Some(s) if (1..=300).contains(&s) => s,
        Some(s) => {
            problems.error(&args.at("timeout"), format!("{s} s: expected 1 to 300 seconds"));
            DEFAULT_TIMEOUT_SECS
        }
    };
    args.finish(problems);
    let fleet = FleetSettings {
        redis,
        user,
        password_file,
        tls,
        stream,
        host,
        share,
        sets,
        map,
        max_len,
        replicas,
        timeout_secs,
    };
    (problems.errors.len() == errors).then_some(fleet)
}

/// What is wrong with a `fleet.redis` URL, if anything.
pub fn check_url(url: &str) -> Result<(), String> {
    let shown = hide_password(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("{shown:?}: expected redis://HOST[:PORT], rediss://HOST[:PORT] or unix:///PATH"));
    };
    match scheme {
        "redis" | "rediss" => {
            let authority = rest.split(['/', '?']).next().unwrap_or_default();
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            match host.is_empty() {
                true => Err(format!("{shown:?}: no host")),
                false => Ok(()),
            }
        }
        "unix" | "redis+unix" => {
            let path = rest.rsplit_once('@').map_or(rest, |(_, p)| p);
            match path.starts_with('/') {
                true => Ok(()),
                false => Err(format!("{shown:?}: expected unix:///absolute/path")),
            }
        }
        other => Err(format!("{shown:?}: {other}:// is not redis://, rediss:// nor unix://")),
    }
}

fn read_tls(value: &Json, here: Location, problems: &mut Problems) -> Option<FleetTls> {
    let errors = problems.errors.len();
    let mut args = Args::new(Some(value), here, problems);
    let path = |args: &mut Args, name: &'static str, problems: &mut Problems| {
        let text = args.opt_string(name, problems)?;
        let path = PathBuf::from(text);
        if !path.is_absolute() {
            problems.error(&args.at(name), format!("{text}: expected an absolute path"));
        }
        Some(path)
    };
    let ca = path(&mut args, "ca", problems);
    let certificate = path(&mut args, "certificate", problems);
    let key = path(&mut args, "key", problems);
    let client = match (certificate, key) {
        (Some(certificate), Some(key)) => Some(ClientCert { certificate, key }),
        (None, None) => None,
        (Some(_), None) => {
            problems.error(&args.at("key"), "a client \"certificate\" needs its \"key\"");
            None
        }
        (None, Some(_)) => {
            problems.error(&args.at("certificate"), "a client \"key\" needs its \"certificate\"");
            None
        }
    };
    args.finish(problems);
    (problems.errors.len() == errors).then_some(FleetTls { ca, client })
}

/// `fleet.map`: `{"ban4": {"nftSet": "ip filter ssh4"}, "ban6": {"ipSet": "ssh6"}}`.
fn read_map(value: &Json, here: Location, problems: &mut Problems) -> BTreeMap<String, SetRef> {
    let mut map = BTreeMap::new();
    let Json::Object(pairs) = value else {
        problems.error(&here, format!("expected an object of shared names, found {}", value.type_name()));
        return map;
    };
    let (pairs, duplicates) = dedup_pairs(pairs);
    for dup in duplicates {
        problems.warn(&here.with_arg(dup), "given twice; the last value is used");
    }
    for (name, target) in pairs {
        let place = here.with_arg(name);
        if !is_name(name) {
            problems.error(&place, format!("{name:?} is not a set name (letters, digits, '.', '_', '-')"));
            continue;
        }
        let set = match target {
            Json::Object(kv) => match kv.as_slice() {
                [(k, Json::String(s))] if k == "nftSet" => SetRef::parse_nft(s),
                [(k, Json::String(s))] if k == "ipSet" => SetRef::parse_ipset(s),
                _ => Err("expected {\"nftSet\": \"FAMILY TABLE SET\"} or {\"ipSet\": \"NAME\"}".to_owned()),
            },
            other => Err(format!(
                "expected {{\"nftSet\": \"FAMILY TABLE SET\"}} or {{\"ipSet\": \"NAME\"}}, found {}",
                other.type_name()
            )),
        };
        match set {
            Ok(set) if map.values().any(|s| *s == set) => {
                problems.error(&place, format!("{set} is already the target of another shared name"));
            }
            Ok(set) => {
                map.insert(name.to_owned(), set);
            }
            Err(e) => problems.error(&place, e),
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Option<FleetSettings>, Problems) {
        let json: Json = serde_json::from_str(text).unwrap();
        let mut p = Problems::default();
        (read_fleet(&json, Location::key("fleet"), &mut p), p)
    }

    #[test]
    fn defaults() {
        let (fleet, p) = read(r#"{"redis": "redis://10.0.0.5:6379", "host": "web-1"}"#);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let fleet = fleet.unwrap();
        assert_eq!(fleet.stream, DEFAULT_STREAM);
        assert_eq!(fleet.share, [Source::Rules]);
        assert_eq!(fleet.max_len, DEFAULT_MAX_LEN);
        assert_eq!(fleet.replicas, 0);
        assert!(fleet.shares(&Origin::Rule { chain: "sshd".into(), step: 2 }));
        assert!(!fleet.shares(&Origin::Api { user: "a".into() }));
        assert!(!fleet.shares(&Origin::Fleet { host: "web-2".into() }));
        let (fleet, _) = read(r#"{"redis": "unix:///run/redis.sock"}"#);
        assert!(fleet.is_some_and(|f| is_name(&f.host)), "the hostname by default");
    }

    #[test]
    fn every_problem_has_its_place() {
        let (fleet, p) = read(
            r#"{"redis": ["http://x", "redis://"], "host": "a b", "share": ["rules", "mail"],
                "map": {"ban4": {"nftSet": "nope"}, "x y": {"ipSet": "s"}}, "maxLen": 5, "replicas": -1,
                "timeout": 0, "tls": {"ca": "rel/ca.pem", "certificate": "/c.pem"}, "stram": 1}"#,
        );
        assert!(fleet.is_none());
        let all: Vec<String> = p.errors.iter().map(|e| e.to_string()).collect();
        let text = all.join("\n");
        for needle in [
            "http:// is not redis://",
            "\"redis://\": no host",
            "\"a b\"",
            "\"mail\" is not one of",
            "ban4",
            "\"x y\" is not a set name",
            "1000 or more",
            "0 to 16",
            "1 to 300 seconds",
            "rel/ca.pem: expected an absolute path",
            "needs its \"key\"",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        assert!(p.warnings.iter().any(|w| w.to_string().contains("stram")), "{:?}", p.warnings);
    }

    #[test]
    fn shared_names_and_maps() {
        let (fleet, p) = read(
            r#"{"redis": "rediss://bw:secret@r:6380/0", "host": "h", "tls": {"ca": "/etc/ca.pem"},
                "map": {"ban4": {"nftSet": "ip filter ssh4"}}, "sets": ["ban4", "web"]}"#,
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let fleet = fleet.unwrap();
        assert_eq!(fleet.shared_name(&SetRef::parse_nft("ip filter ssh4").unwrap()), "ban4");
        assert_eq!(fleet.shared_name(&SetRef::parse_nft("inet banwarden web").unwrap()), "web");
        assert_eq!(fleet.shared_name(&SetRef::parse_ipset("mail4").unwrap()), "mail4");
        assert!(fleet.shares_set("web") && !fleet.shares_set("mail4"));
        assert_eq!(fleet.shown_urls(), ["rediss://bw:***@r:6380/0"]);
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(hide_password("redis://u:p@h:1/2"), "redis://u:***@h:1/2");
        assert_eq!(hide_password("redis://:p@h"), "redis://:***@h");
        assert_eq!(hide_password("redis://h:6379"), "redis://h:6379");
        assert_eq!(hide_password("unix:///run/r.sock"), "unix:///run/r.sock");
    }
}
