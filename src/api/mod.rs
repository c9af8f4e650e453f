//! The servers through which other programs ban and allow addresses:
//! rfw's REST interface and banwarden's `/v1` JSON API (over HTTP, HTTPS
//! or a Unix socket), and RedisPushIptables' commands over the Redis
//! protocol. They run in a tokio runtime on a thread of their own, started
//! after the daemon has dropped its privileges, with the daemon's signals
//! blocked there; they never touch the store or the kernel: every change
//! goes to the event loop through its [`Door`] (the one ban path), and
//! reads come from the [`Listing`] the loop publishes.

use std::sync::Arc;

use crate::door::{Door, Listing};
use crate::time::Clock;

/// What every server shares: the door to the loop, the published bans,
/// and the clock.
#[derive(Clone)]
pub struct Context {
    pub door: Arc<Door>,
    pub listing: Arc<Listing>,
    pub clock: Arc<dyn Clock>,
}

pub mod auth;
pub mod listen;
pub mod resp;
pub mod rest;
mod runtime;
pub mod tls;

pub use listen::{Inherited, Service};
pub use runtime::{start, Servers, CONNECTIONS_MAX, HANDSHAKE_TIMEOUT, STOP_GRACE};

use std::sync::RwLock;

use crate::config;
use crate::config::api::{ApiSettings, RespSettings};

/// Who is on the other end of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    Tcp(std::net::SocketAddr),
    /// A Unix socket's peer, by its credentials (SO_PEERCRED).
    Unix {
        uid: u32,
        pid: i32,
    },
}

impl Peer {
    /// The reason of a ban this peer asks for: its address, for a network
    /// client (a Unix socket's peer is known by its user already).
    pub fn reason(&self) -> crate::vocab::Reason {
        match self {
            Peer::Tcp(addr) => {
                crate::vocab::Reason { client: Some(addr.ip().to_string().into()), ..Default::default() }
            }
            Peer::Unix { .. } => crate::vocab::Reason::default(),
        }
    }
}

/// The settings in force, replaced whole at each reload of the
/// configuration (certificates read again, users and sets changed).
pub struct Live {
    pub api: Option<ApiSettings>,
    pub resp: Option<RespSettings>,
    /// `api.users`, ready to check.
    pub users: auth::Users,
    /// `resp.password`, ready to check.
    pub resp_password: Option<auth::Password>,
    /// `api.tls`, read: what the `api.https` listeners present.
    pub api_tls: Option<Arc<rustls::ServerConfig>>,
    /// `resp.tls`, read: what the `resp.listenTls` listeners present.
    pub resp_tls: Option<Arc<rustls::ServerConfig>>,
}

impl Live {
    /// Settings ready to serve: users and password ready to check,
    /// certificates and keys read (the errors name the file).
    pub fn from_settings(api: Option<ApiSettings>, resp: Option<RespSettings>) -> Result<Live, String> {
        let users = auth::Users::new(api.as_ref().map(|a| &a.users[..]).unwrap_or_default());
        let resp_password = match resp.as_ref().and_then(|r| r.password.as_deref()) {
            Some(hash) => Some(auth::Password::new(hash).map_err(|e| format!("resp.password: {e}"))?),
            None => None,
        };
        let api_tls = match api.as_ref().and_then(|a| a.tls.as_ref()) {
            Some(files) => Some(tls::server_config(files, &[tls::ALPN_HTTP1]).map_err(|e| format!("api.tls: {e}"))?),
            None => None,
        };
        let resp_tls = match resp.as_ref().and_then(|r| r.tls.as_ref()) {
            Some(files) => Some(tls::server_config(files, &[]).map_err(|e| format!("resp.tls: {e}"))?),
            None => None,
        };
        Ok(Live { api, resp, users, resp_password, api_tls, resp_tls })
    }

    /// Every listener these settings ask for, with its service and the
    /// access of its Unix socket.
    pub fn listeners(&self) -> Vec<(Service, config::api::Listen, config::api::SocketAccess)> {
        let mut out = Vec::new();
        if let Some(api) = &self.api {
            let with = |service| move |l: &config::api::Listen| (service, l.clone(), api.socket.clone());
            out.extend(api.http.iter().map(with(Service::Http)));
            out.extend(api.https.iter().map(with(Service::Https)));
        }
        if let Some(resp) = &self.resp {
            let with = |service| move |l: &config::api::Listen| (service, l.clone(), resp.socket.clone());
            out.extend(resp.listen.iter().map(with(Service::Resp)));
            out.extend(resp.listen_tls.iter().map(with(Service::RespTls)));
        }
        out
    }
}

/// The state every connection reads.
pub struct Shared {
    pub context: Context,
    live: RwLock<Arc<Live>>,
}

impl Shared {
    pub fn new(context: Context, live: Live) -> Arc<Shared> {
        Arc::new(Shared { context, live: RwLock::new(Arc::new(live)) })
    }

    /// The settings in force now.
    pub fn live(&self) -> Arc<Live> {
        self.live.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts new settings in force (a reload).
    pub fn replace(&self, live: Live) {
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(live);
    }
}
