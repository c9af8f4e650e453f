//! The top-level keys `api` (rfw's REST interface and banwarden's `/v1`
//! JSON API) and `resp` (RedisPushIptables' commands over the Redis
//! protocol): keys Pyruse never had, so they add meaning and change none.
//!
//! Secure by default: a TCP listener is refused unless users (for `api`)
//! or a password (for `resp`) are configured; a Unix socket is guarded by
//! its file mode and group instead. Passwords are kept hashed only
//! (`banwarden hash-password` makes a hash).

use std::path::PathBuf;

use crate::vocab::{Network, SetRef};

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

impl ApiSettings {
    /// Every set the API writes, for the kernel check and the listing.
    pub fn all_sets(&self) -> impl Iterator<Item = (Target, &SetRef)> + '_ {
        self.sets.iter().flat_map(|s| s.ipv4.iter().chain(s.ipv6.iter()).map(move |set| (s.target, set)))
    }
}

/// The default `api.sets`: the sets the shipped ruleset
/// (`etc/nftables/banwarden.nft`) makes for the API, which take networks
/// and timeouts.
pub fn default_sets() -> Vec<ApiSet> {
    let nft = |name: &str| SetRef::parse_nft(&format!("inet banwarden {name}")).ok();
    let set = |target, four, six| ApiSet { target, chain: "input".into(), interface: None, ipv4: nft(four), ipv6: nft(six) };
    vec![set(Target::Drop, "api_drop4", "api_drop6"), set(Target::Accept, "api_accept4", "api_accept6")]
}

impl ApiSettings {
    /// The set a request about `net` writes into, for rfw's target, chain
    /// and interface (`None`: any); or why there is none (a 4xx for the
    /// client: never a silent ban everywhere).
    pub fn set_for(&self, target: Target, chain: &str, interface: Option<&str>, net: Network) -> Result<&SetRef, String> {
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
        let (set, family) = match net.is_ipv6() {
            true => (&entry.ipv6, "IPv6"),
            false => (&entry.ipv4, "IPv4"),
        };
        set.as_ref().ok_or_else(|| format!("no {family} set is configured for {what} on chain {chain} (api.sets)"))
    }
}

/// Reads `api`; what is wrong goes to `problems`, each with its place.
pub fn read_api(value: &super::json::Json, here: super::Location, problems: &mut super::Problems) -> Option<ApiSettings> {
    let _ = value;
    problems.error(&here, "not read yet");
    None
}

/// Reads `resp`; what is wrong goes to `problems`, each with its place.
pub fn read_resp(value: &super::json::Json, here: super::Location, problems: &mut super::Problems) -> Option<RespSettings> {
    let _ = value;
    problems.error(&here, "not read yet");
    None
}

impl super::Settings {
    /// The sets the API servers write, when any is configured: `api.sets`,
    /// or the default ones when only `resp` is.
    pub fn api_sets(&self) -> Vec<ApiSet> {
        match (&self.api, &self.resp) {
            (Some(api), _) => api.sets.clone(),
            (None, Some(_)) => default_sets(),
            (None, None) => Vec::new(),
        }
    }

    /// The allow sets among them: what no ban may touch while they hold it.
    pub fn allow_sets(&self) -> Vec<SetRef> {
        let sets = self.api_sets();
        let mut allow: Vec<SetRef> = sets
            .iter()
            .filter(|s| s.target == Target::Accept)
            .flat_map(|s| s.ipv4.iter().chain(s.ipv6.iter()).cloned())
            .collect();
        allow.sort();
        allow.dedup();
        allow
    }
}

impl super::Settings {
    /// What the API's sets must be in the kernel (they take networks and
    /// timed bans), for the checks at start and reload.
    pub fn api_set_needs(&self) -> Vec<crate::firewall::check::SetNeed> {
        let mut needs = Vec::new();
        for (i, s) in self.api_sets().iter().enumerate() {
            for (set, ipv6) in [(&s.ipv4, false), (&s.ipv6, true)] {
                let Some(set) = set else { continue };
                needs.push(crate::firewall::check::SetNeed {
                    set: set.clone(),
                    ipv6,
                    timeout: true,
                    networks: true,
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
