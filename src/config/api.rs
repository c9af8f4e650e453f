//! The top-level keys `api` (rfw's REST interface and banwarden's `/v1`
//! JSON API) and `resp` (RedisPushIptables' commands over the Redis
//! protocol): keys Pyruse never had, so they add meaning and change none.
//!
//! Secure by default: a TCP listener is refused unless users (for `api`)
//! or a password (for `resp`) are configured; a Unix socket is guarded by
//! its file mode and group instead. Passwords are kept hashed only
//! (`banwarden hash-password` makes a hash).

use std::path::PathBuf;

use super::args::Args;
use super::json::{dedup_pairs, Json};
use super::problem::{Location, Problems};
use crate::vocab::{Backend, Network, SetRef};

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    Tcp(std::net::SocketAddr),
    /// `unix:/path`.
    Unix(PathBuf),
}

/// A certificate chain and its private key, PEM files read at start and at
/// each reload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

/// A basic-auth user of the REST API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiUser {
    pub name: String,
    /// A PHC-format password hash (see `banwarden hash-password`).
    pub hash: String,
}

/// What an API request does to an address: rfw's two targets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Drop,
    Accept,
}

/// Where one kind of request writes (`api.sets` entries), with the ban
/// actions' argument names for the sets (`nfSetIPv4`/`nfSetIPv6` or
/// `ipSetIPv4`/`ipSetIPv6`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiSet {
    pub target: Target,
    /// rfw's chain: `input` (default), `output` or `forward`.
    pub chain: String,
    /// rfw's interface: `None` is `any`.
    pub interface: Option<String>,
    pub ipv4: Option<SetRef>,
    pub ipv6: Option<SetRef>,
    /// Where networks go (`nftSetIPv4Networks`...), when apart from single
    /// addresses: an interval set's kernel commit walks the whole set at
    /// every transaction, a hash set's does not, so a large set of single
    /// addresses stays fast beside a small one of networks.
    pub ipv4_networks: Option<SetRef>,
    pub ipv6_networks: Option<SetRef>,
}

impl ApiSet {
    /// Every set of the entry: (set, holds IPv6, receives networks).
    pub fn sets(&self) -> impl Iterator<Item = (&SetRef, bool, bool)> + '_ {
        let apart = |n: &Option<SetRef>| n.is_none();
        [
            (self.ipv4.as_ref(), false, apart(&self.ipv4_networks)),
            (self.ipv6.as_ref(), true, apart(&self.ipv6_networks)),
            (self.ipv4_networks.as_ref(), false, true),
            (self.ipv6_networks.as_ref(), true, true),
        ]
        .into_iter()
        .filter_map(|(set, ipv6, networks)| set.map(|s| (s, ipv6, networks)))
    }
}

/// Unix socket permissions for the listeners given as `unix:` paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketAccess {
    /// File mode (default 0660).
    pub mode: u32,
    /// Group owning the socket (default: the daemon's own).
    pub group: Option<String>,
}

impl Default for SocketAccess {
    fn default() -> Self {
        SocketAccess { mode: 0o660, group: None }
    }
}

/// `api`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ApiSettings {
    /// `api.http`: plain HTTP listeners.
    pub http: Vec<Listen>,
    /// `api.https`: TLS listeners.
    pub https: Vec<Listen>,
    /// `api.tls`.
    pub tls: Option<TlsFiles>,
    /// `api.users`.
    pub users: Vec<ApiUser>,
    /// `api.clients`: networks allowed to connect to the HTTPS listeners;
    /// requests about these addresses are ignored (and said so), as in rfw.
    pub clients: Vec<Network>,
    /// `api.defaultExpire` in seconds; `None` (0 in the file) is permanent.
    pub default_expire: Option<u64>,
    /// `api.sets`.
    pub sets: Vec<ApiSet>,
    /// `api.nonRestful`: rfw's `non.restful` (GET for every verb).
    pub non_restful: bool,
    /// `api.socket`: mode and group of the `unix:` listeners.
    pub socket: SocketAccess,
}

/// `resp`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RespSettings {
    /// `resp.listen`: plain listeners.
    pub listen: Vec<Listen>,
    /// `resp.listenTls`: TLS listeners (with `resp.tls`).
    pub listen_tls: Vec<Listen>,
    pub tls: Option<TlsFiles>,
    /// `resp.password`: a PHC-format hash checked by `AUTH`.
    pub password: Option<String>,
    /// `resp.socket`: mode and group of the `unix:` listeners.
    pub socket: SocketAccess,
}

/// The default `api.sets`: the sets the shipped ruleset
/// (`etc/nftables/banwarden.nft`) makes for the API, which take networks
/// and timeouts.
pub fn default_sets() -> Vec<ApiSet> {
    let nft = |name: &str| SetRef::parse_nft(&format!("inet banwarden {name}")).ok();
    let set = |target, four, six| ApiSet {
        target,
        chain: "input".into(),
        interface: None,
        ipv4: nft(four),
        ipv6: nft(six),
        ipv4_networks: None,
        ipv6_networks: None,
    };
    // Bans: single addresses in hash sets, networks in interval sets (see
    // `ApiSet::ipv4_networks`); accepts are few, one interval set each.
    let drop = ApiSet {
        ipv4_networks: nft("api_drop_net4"),
        ipv6_networks: nft("api_drop_net6"),
        ..set(Target::Drop, "api_drop4", "api_drop6")
    };
    vec![drop, set(Target::Accept, "api_accept4", "api_accept6")]
}

impl ApiSettings {
    /// The set a request about `net` writes into, for rfw's target, chain
    /// and interface (`None`: any); or why there is none (a 4xx for the
    /// client: never a silent ban everywhere).
    pub fn set_for(
        &self,
        target: Target,
        chain: &str,
        interface: Option<&str>,
        net: Network,
    ) -> Result<&SetRef, String> {
        let what = match target {
            Target::Drop => "drop",
            Target::Accept => "accept",
        };
        let entry = self
            .sets
            .iter()
            .find(|s| s.target == target && s.chain.eq_ignore_ascii_case(chain) && s.interface.as_deref() == interface)
            .ok_or_else(|| match interface {
                None => format!("no set is configured for {what} on chain {chain} (api.sets)"),
                Some(i) => format!("no set is configured for {what} on chain {chain}, interface {i} (api.sets)"),
            })?;
        let (set, family) = match (net.is_ipv6(), net.is_host()) {
            (true, false) if entry.ipv6_networks.is_some() => (&entry.ipv6_networks, "IPv6"),
            (false, false) if entry.ipv4_networks.is_some() => (&entry.ipv4_networks, "IPv4"),
            (true, _) => (&entry.ipv6, "IPv6"),
            (false, _) => (&entry.ipv4, "IPv4"),
        };
        set.as_ref().ok_or_else(|| format!("no {family} set is configured for {what} on chain {chain} (api.sets)"))
    }
}

/// The keys of `api`, for the reference's test and the warnings.
pub const API_KEYS: [&str; 9] =
    ["http", "https", "tls", "users", "clients", "defaultExpire", "nonRestful", "socket", "sets"];
/// The keys of `resp`.
pub const RESP_KEYS: [&str; 5] = ["listen", "listenTls", "tls", "password", "socket"];
/// The keys of an `api.sets` entry. `nfSetIPv4`/`nfSetIPv6` are accepted as
/// another spelling of the nft ban action's `nftSetIPv4`/`nftSetIPv6`.
pub const SET_KEYS: [&str; 15] = [
    "target",
    "chain",
    "interface",
    "nftSetIPv4",
    "nftSetIPv6",
    "nfSetIPv4",
    "nfSetIPv6",
    "ipSetIPv4",
    "ipSetIPv6",
    "nftSetIPv4Networks",
    "nftSetIPv6Networks",
    "nfSetIPv4Networks",
    "nfSetIPv6Networks",
    "ipSetIPv4Networks",
    "ipSetIPv6Networks",
];
/// rfw's chains.
pub const CHAINS: [&str; 3] = ["input", "output", "forward"];

/// Reads `api`; what is wrong goes to `problems`, each with its place.
pub fn read_api(value: &Json, here: Location, problems: &mut Problems) -> Option<ApiSettings> {
    let errors = problems.errors.len();
    let mut args = Args::new(Some(value), here.clone(), problems);
    let mut api = ApiSettings {
        http: listeners(&mut args, "http", problems),
        https: listeners(&mut args, "https", problems),
        tls: args.get("tls").and_then(|v| tls_files(v, sub(&here, "tls"), problems)),
        sets: default_sets(),
        ..ApiSettings::default()
    };
    if let Some(users) = args.get("users") {
        api.users = read_users(users, &args.at("users"), problems);
    }
    if let Some(clients) = args.opt_string_list("clients", problems) {
        for (i, text) in clients.iter().enumerate() {
            match Network::parse(text) {
                Ok(net) => api.clients.push(net),
                Err(e) => problems.error(&args.at("clients"), format!("item {i}: {e}")),
            }
        }
    }
    match args.opt_seconds("defaultExpire", problems) {
        Some(0) | None => {}
        Some(secs) if secs > crate::vocab::KERNEL_MAX_TIMEOUT.as_secs() => problems.error(
            &args.at("defaultExpire"),
            format!("{secs} s is longer than the kernel can time a ban; 0 means permanent"),
        ),
        Some(secs) => api.default_expire = Some(secs),
    }
    match args.get("nonRestful") {
        None => {}
        Some(Json::Bool(b)) => api.non_restful = *b,
        Some(other) => {
            problems.error(&args.at("nonRestful"), format!("expected true or false, found {}", other.type_name()))
        }
    }
    if let Some(socket) = args.get("socket") {
        api.socket = socket_access(socket, sub(&here, "socket"), problems);
    }
    if let Some(sets) = args.get("sets") {
        api.sets = read_sets(sets, &here, problems);
    }
    let tcp = api.http.iter().chain(&api.https).find(|l| matches!(l, Listen::Tcp(_)));
    if let (Some(Listen::Tcp(addr)), true) = (tcp, api.users.is_empty()) {
        problems.error(
            &args.at("users"),
            format!(
                "the TCP listener {addr} needs users: every request over TCP must authenticate \
                 (make a password hash with `banwarden hash-password`; a unix: socket needs none)"
            ),
        );
    }
    if !api.https.is_empty() && api.tls.is_none() {
        problems.error(&args.at("tls"), "\"https\" listeners need \"tls\": {\"certificate\": ..., \"key\": ...}");
    }
    if api.tls.is_some() && api.https.is_empty() {
        problems.warn(&args.at("tls"), "no \"https\" listener uses it");
    }
    if !api.clients.is_empty() && api.https.is_empty() {
        problems.warn(&args.at("clients"), "only the \"https\" listeners check it, and there are none");
    }
    args.finish(problems);
    (problems.errors.len() == errors).then_some(api)
}

/// Reads `resp`; what is wrong goes to `problems`, each with its place.
pub fn read_resp(value: &Json, here: Location, problems: &mut Problems) -> Option<RespSettings> {
    let errors = problems.errors.len();
    let mut args = Args::new(Some(value), here.clone(), problems);
    let mut resp = RespSettings {
        listen: listeners(&mut args, "listen", problems),
        listen_tls: listeners(&mut args, "listenTls", problems),
        tls: args.get("tls").and_then(|v| tls_files(v, sub(&here, "tls"), problems)),
        ..RespSettings::default()
    };
    if let Some(password) = args.opt_string("password", problems) {
        match check_hash(password) {
            Ok(()) => resp.password = Some(password.to_owned()),
            Err(e) => problems.error(&args.at("password"), e),
        }
    }
    if let Some(socket) = args.get("socket") {
        resp.socket = socket_access(socket, sub(&here, "socket"), problems);
    }
    let tcp = resp.listen.iter().chain(&resp.listen_tls).find(|l| matches!(l, Listen::Tcp(_)));
    if let (Some(Listen::Tcp(addr)), true) = (tcp, resp.password.is_none() && !args.has("password")) {
        problems.error(
            &args.at("password"),
            format!(
                "the TCP listener {addr} needs a password: clients must AUTH over TCP \
                 (make a hash with `banwarden hash-password`; a unix: socket needs none)"
            ),
        );
    }
    if !resp.listen_tls.is_empty() && resp.tls.is_none() {
        problems.error(&args.at("tls"), "\"listenTls\" listeners need \"tls\": {\"certificate\": ..., \"key\": ...}");
    }
    if resp.tls.is_some() && resp.listen_tls.is_empty() {
        problems.warn(&args.at("tls"), "no \"listenTls\" listener uses it");
    }
    args.finish(problems);
    (problems.errors.len() == errors).then_some(resp)
}

impl super::Settings {
    /// Whether an API server is configured (`api` or `resp`).
    pub fn serves_api(&self) -> bool {
        self.api.is_some() || self.resp.is_some()
    }

    /// The sets the API servers write, when any is configured: `api.sets`,
    /// or the default ones when only `resp` is.
    pub fn api_sets(&self) -> Vec<ApiSet> {
        match (&self.api, &self.resp) {
            (Some(api), _) => api.sets.clone(),
            (None, Some(_)) => default_sets(),
            (None, None) => Vec::new(),
        }
    }

    /// Every set of them (of `target` only, when given), each once, in
    /// order: what the listing follows and the firewall watch puts back.
    pub fn api_set_refs(&self, target: Option<Target>) -> Vec<SetRef> {
        let entries = self.api_sets();
        let mut sets: Vec<SetRef> = entries
            .iter()
            .filter(|s| target.is_none_or(|t| s.target == t))
            .flat_map(|s| s.sets().map(|(set, _, _)| set.clone()))
            .collect();
        sets.sort();
        sets.dedup();
        sets
    }

    /// The allow sets among them: what no ban may touch while they hold it.
    pub fn allow_sets(&self) -> Vec<SetRef> {
        self.api_set_refs(Some(Target::Accept))
    }
}

impl super::Settings {
    /// What the API's sets must be in the kernel (they take networks and
    /// timed bans), for the checks at start and reload.
    pub fn api_set_needs(&self) -> Vec<crate::firewall::check::SetNeed> {
        let mut needs = Vec::new();
        for (i, s) in self.api_sets().iter().enumerate() {
            for (set, ipv6, networks) in s.sets() {
                needs.push(crate::firewall::check::SetNeed {
                    set: set.clone(),
                    ipv6,
                    timeout: true,
                    networks,
                    place: Some(match self.api.is_some() {
                        true => format!("api.sets[{i}]"),
                        false => "the API's default sets".into(),
                    }),
                });
            }
        }
        needs
    }
}
/// The place of a nested object: `key "api.tls"`.
pub(super) fn sub(here: &Location, name: &str) -> Location {
    let key = here.key.as_deref().unwrap_or_default();
    Location::key(&format!("{key}.{name}"))
}

fn listeners(args: &mut Args, name: &'static str, problems: &mut Problems) -> Vec<Listen> {
    let mut out = Vec::new();
    for (i, text) in args.opt_string_list(name, problems).unwrap_or_default().iter().enumerate() {
        match parse_listen(text) {
            Ok(listen) if out.contains(&listen) => {
                problems.warn(&args.at(name), format!("item {i}: {text:?} is given twice"));
            }
            Ok(listen) => out.push(listen),
            Err(e) => problems.error(&args.at(name), format!("item {i}: {e}")),
        }
    }
    out
}

/// A listen address: `unix:/absolute/path`, `IPv4:PORT` or `[IPv6]:PORT`.
pub fn parse_listen(text: &str) -> Result<Listen, String> {
    if let Some(path) = text.strip_prefix("unix:") {
        return match path.starts_with('/') && path.len() > 1 && !path.contains('\0') {
            // sun_path holds 108 bytes with the final NUL (unix(7)).
            true if path.len() < 108 => Ok(Listen::Unix(PathBuf::from(path))),
            true => Err(format!("{text:?}: a Unix socket path is at most 107 bytes (unix(7))")),
            false => Err(format!("{text:?}: expected unix: followed by an absolute path")),
        };
    }
    text.parse::<std::net::SocketAddr>().map(Listen::Tcp).map_err(|_| {
        format!("{text:?}: expected unix:/path, IPv4:PORT or [IPv6]:PORT (such as 127.0.0.1:8080 or [::1]:8080)")
    })
}

fn tls_files(value: &Json, here: Location, problems: &mut Problems) -> Option<TlsFiles> {
    let mut args = Args::new(Some(value), here, problems);
    let mut path = |name: &'static str, problems: &mut Problems| {
        let text = args.string(name, problems)?;
        match text.starts_with('/') {
            true => Some(PathBuf::from(text)),
            false => {
                problems.error(&args.at(name), format!("{text:?}: expected an absolute path"));
                None
            }
        }
    };
    let certificate = path("certificate", problems);
    let key = path("key", problems);
    args.finish(problems);
    Some(TlsFiles { certificate: certificate?, key: key? })
}

fn read_users(value: &Json, here: &Location, problems: &mut Problems) -> Vec<ApiUser> {
    let Json::Object(pairs) = value else {
        problems
            .error(here, format!("expected an object of user names and password hashes, found {}", value.type_name()));
        return Vec::new();
    };
    let (pairs, duplicates) = dedup_pairs(pairs);
    for dup in duplicates {
        problems.warn(here, format!("user {dup:?} given twice; the last hash is used"));
    }
    let mut users = Vec::new();
    for (name, hash) in pairs {
        if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
            // Basic auth splits "user:password" at the first colon (RFC 7617).
            problems.error(here, format!("user {name:?}: a user name is not empty and has no colon"));
            continue;
        }
        match hash.as_str().ok_or_else(|| format!("expected a password hash, found {}", hash.type_name())) {
            Ok(text) => match check_hash(text) {
                Ok(()) => users.push(ApiUser { name: name.to_owned(), hash: text.to_owned() }),
                Err(e) => problems.error(here, format!("user {name:?}: {e}")),
            },
            Err(e) => problems.error(here, format!("user {name:?}: {e}")),
        }
    }
    users
}

/// Accepts only an argon2 hash in the PHC string format.
pub fn check_hash(text: &str) -> Result<(), String> {
    let plain = "plain text passwords are not accepted: make a hash with `banwarden hash-password`";
    if !text.starts_with("$argon2") {
        return Err(format!("not an argon2 password hash; {plain}"));
    }
    let bad = |why: String| format!("not a valid argon2 PHC hash ({why}); {plain}");
    let hash = argon2::PasswordHash::new(text).map_err(|e| bad(e.to_string()))?;
    argon2::Algorithm::try_from(hash.algorithm).map_err(|e| bad(e.to_string()))?;
    argon2::Params::try_from(&hash).map_err(|e| bad(e.to_string()))?;
    match (hash.salt, hash.hash) {
        (Some(_), Some(_)) => Ok(()),
        _ => Err(bad("no salt or no hash".into())),
    }
}

fn socket_access(value: &Json, here: Location, problems: &mut Problems) -> SocketAccess {
    let mut args = Args::new(Some(value), here, problems);
    let access = access_from(&mut args, problems);
    args.finish(problems);
    access
}

/// `mode` and `group` of a Unix socket, read among `args` (also the keys of
/// `control` and `metrics`).
pub(super) fn access_from(args: &mut Args, problems: &mut Problems) -> SocketAccess {
    let mut access = SocketAccess::default();
    let mode = match args.get("mode") {
        None => None,
        Some(Json::String(s)) => u32::from_str_radix(s, 8).ok().filter(|_| !s.is_empty()),
        // A number is read as written: 660 means 0660, as chmod reads it.
        Some(Json::Number(n)) => n.as_u64().and_then(|n| u32::from_str_radix(&n.to_string(), 8).ok()),
        Some(_) => Some(u32::MAX),
    };
    match mode {
        Some(mode) if mode <= 0o777 => access.mode = mode,
        Some(_) => problems.error(&args.at("mode"), "expected an octal file mode such as \"0660\""),
        None if args.has("mode") => problems.error(&args.at("mode"), "expected an octal file mode such as \"0660\""),
        None => {}
    }
    if let Some(group) = args.opt_string("group", problems) {
        match group.is_empty() {
            true => problems.error(&args.at("group"), "expected a group name or number"),
            false => access.group = Some(group.to_owned()),
        }
    }
    access
}

fn read_sets(value: &Json, here: &Location, problems: &mut Problems) -> Vec<ApiSet> {
    let Json::Array(items) = value else {
        problems.error(&here.with_arg("sets"), format!("expected a list of sets, found {}", value.type_name()));
        return Vec::new();
    };
    let mut sets: Vec<ApiSet> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let place = sub(here, &format!("sets[{i}]"));
        let Some(set) = read_set(item, place.clone(), problems) else { continue };
        if sets.iter().any(|s| (s.target, &s.chain, &s.interface) == (set.target, &set.chain, &set.interface)) {
            problems.error(&place, "another entry has the same target, chain and interface");
            continue;
        }
        sets.push(set);
    }
    sets
}

fn read_set(value: &Json, here: Location, problems: &mut Problems) -> Option<ApiSet> {
    let errors = problems.errors.len();
    let mut args = Args::new(Some(value), here.clone(), problems);
    let target = match args.string("target", problems) {
        Some("drop") => Some(Target::Drop),
        Some("accept") => Some(Target::Accept),
        Some(other) => {
            problems.error(&args.at("target"), format!("{other:?}: expected \"drop\" or \"accept\""));
            None
        }
        None => None,
    };
    let chain = args.opt_string("chain", problems).unwrap_or("input");
    if !CHAINS.contains(&chain) {
        problems.error(&args.at("chain"), format!("{chain:?}: expected \"input\", \"output\" or \"forward\""));
    }
    let interface = match args.opt_string("interface", problems) {
        None | Some("any") => None,
        // IFNAMSIZ is 16 with the final NUL (netdevice(7)).
        Some(name) if !name.is_empty() && name.len() < 16 && !name.contains(['/', ' ', '\0']) => Some(name.to_owned()),
        Some(name) => {
            problems.error(&args.at("interface"), format!("{name:?}: expected \"any\" or an interface name"));
            None
        }
    };
    let mut family = |names: [&'static str; 3], problems: &mut Problems| -> Option<SetRef> {
        let mut found = None;
        for (name, backend) in names.into_iter().zip([Backend::Nft, Backend::Nft, Backend::Ipset]) {
            let Some(text) = args.opt_string(name, problems) else { continue };
            if found.is_some() {
                problems.error(&args.at(name), "a second set for the same family: give one");
                continue;
            }
            match SetRef::parse(backend, text) {
                Ok(set) => found = Some(set),
                Err(e) => problems.error(&args.at(name), e),
            }
        }
        found
    };
    let ipv4 = family(["nftSetIPv4", "nfSetIPv4", "ipSetIPv4"], problems);
    let ipv6 = family(["nftSetIPv6", "nfSetIPv6", "ipSetIPv6"], problems);
    let ipv4_networks = family(["nftSetIPv4Networks", "nfSetIPv4Networks", "ipSetIPv4Networks"], problems);
    let ipv6_networks = family(["nftSetIPv6Networks", "nfSetIPv6Networks", "ipSetIPv6Networks"], problems);
    for (networks, name, plain) in [(&ipv4_networks, "IPv4", &ipv4), (&ipv6_networks, "IPv6", &ipv6)] {
        if networks.is_some() && plain.is_none() {
            problems.error(&here, format!("a set for {name} networks but none for single {name} addresses"));
        }
    }
    if ipv4.is_none() && ipv6.is_none() && problems.errors.len() == errors {
        problems.error(&here, "no set: give nftSetIPv4/nftSetIPv6 or ipSetIPv4/ipSetIPv6");
    }
    args.finish(problems);
    (problems.errors.len() == errors).then(|| ApiSet {
        target: target.expect("no error means a target"),
        chain: chain.to_owned(),
        interface,
        ipv4,
        ipv6,
        ipv4_networks,
        ipv6_networks,
    })
}

#[cfg(test)]
#[path = "api_tests.rs"]
pub mod tests;
