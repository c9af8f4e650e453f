//! The REST server: rfw's URLs ([`rfw`]) and banwarden's `/v1` JSON API
//! ([`v1`]), over one accepted connection at a time.
//!
//! axum routes the requests and hyper speaks HTTP/1.1 (keep-alive on, so a
//! client's many bans reuse one connection and one TLS session). Every
//! route sits behind [`gate`] (authentication, the client allowlist, the
//! slowed-down 401). The connection is bounded in what a slow or hostile
//! client can hold: headers must arrive within [`HEADER_TIME`] (a slowloris
//! is cut off), take at most [`HEADER_LIMIT`] bytes, and a body at most
//! [`BODY_LIMIT`] bytes within [`BODY_TIME`] (413, 408 beyond). Handlers
//! never touch the store or the kernel: changes go through the loop's door
//! ([`reply::ban`], [`reply::unban`]), reads come from the published
//! listing.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{delete, post};
use axum::{Extension, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;

use super::{Peer, Shared};

pub mod gate;
pub mod reply;
pub mod rfw;
#[cfg(test)]
mod tests;
pub mod v1;

/// The longest a request's headers may take to arrive (and an idle
/// keep-alive connection may wait for its next request).
pub const HEADER_TIME: Duration = Duration::from_secs(10);
/// Bytes of headers buffered at most (a request line and headers beyond
/// are refused with 431).
pub const HEADER_LIMIT: usize = 16 * 1024;
/// The largest body read: a few hundred `/v1` items.
pub const BODY_LIMIT: usize = 16 * 1024;
/// The longest a body may take to arrive once its headers have.
pub const BODY_TIME: Duration = Duration::from_secs(10);

/// What a handler is given: the state every connection reads.
#[derive(Clone)]
pub struct Ctx {
    pub shared: Arc<Shared>,
}

/// The connection a request came on.
#[derive(Clone, Debug)]
pub struct Conn {
    pub peer: Peer,
    pub tls: bool,
    /// A Unix socket peer's user name (`uid N` when it has none), looked
    /// up once per connection.
    pub unix_user: Option<Arc<str>>,
}

/// Who asked, once [`gate`] let the request in: the basic-auth user, or
/// the Unix socket peer's user name (`uid N` when it has none).
#[derive(Clone, Debug)]
pub struct Caller(pub String);

/// The routes, behind the gate.
pub fn router(shared: Arc<Shared>) -> Router {
    let ctx = Ctx { shared };
    Router::new()
        .route("/v1/bans", post(v1::post_bans).get(v1::get_bans))
        .route("/v1/bans/{*network}", delete(v1::delete_bans))
        .route("/v1/accepts", post(v1::post_accepts).get(v1::get_accepts))
        .route("/v1/accepts/{*network}", delete(v1::delete_accepts))
        .fallback(rfw::handle)
        .layer(axum::middleware::from_fn_with_state(ctx.clone(), gate::gate))
        .with_state(ctx)
}

/// Serves HTTP/1.1 on one accepted connection (TLS already done, if any)
/// until the client is gone. `tls`: the connection came over HTTPS (the
/// client allowlist applies).
pub async fn serve_connection<S>(stream: S, peer: Peer, tls: bool, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let unix_user = match peer {
        Peer::Unix { uid, .. } => Some(gate::unix_user(uid).into()),
        Peer::Tcp(_) => None,
    };
    let app = router(shared).layer(Extension(Conn { peer, tls, unix_user }));
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIME)
        .keep_alive(true)
        .max_buf_size(HEADER_LIMIT)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .await;
    // A client that goes away, breaks the framing or times out ends its
    // own connection; that is no error of ours, and a line per hostile
    // connection would only flood the journal.
    drop(served);
}
