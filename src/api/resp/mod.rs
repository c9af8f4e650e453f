//! STUB (helper C): RedisPushIptables' commands over the Redis protocol.

use std::sync::Arc;

use super::{Peer, Shared};

/// Serves the Redis protocol on one accepted connection (TLS already done,
/// if any) until the client is gone or says QUIT.
pub async fn serve_connection<S>(stream: S, peer: Peer, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let _ = (stream, peer, shared);
}
