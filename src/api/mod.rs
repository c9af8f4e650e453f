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
pub mod tls;

use std::sync::RwLock;

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

/// The settings in force, replaced whole at each reload of the
/// configuration (certificates read again, users and sets changed).
pub struct Live {
    pub api: Option<ApiSettings>,
    pub resp: Option<RespSettings>,
    /// `api.users`, ready to check.
    pub users: auth::Users,
    /// `resp.password`, ready to check.
    pub resp_password: Option<auth::Password>,
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
