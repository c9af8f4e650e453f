//! STUB (helper B): rfw's REST interface and the `/v1` JSON API.

use std::sync::Arc;

use super::{Peer, Shared};

/// Serves HTTP/1.1 on one accepted connection (TLS already done, if any)
/// until the client is gone. `tls`: the connection came over HTTPS (the
/// client allowlist applies).
pub async fn serve_connection<S>(stream: S, peer: Peer, tls: bool, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let _ = (stream, peer, tls, shared);
}
