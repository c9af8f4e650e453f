//! The servers' thread: a tokio runtime of two workers on a thread of its
//! own, the accept loops, and their orderly stop.
//!
//! The thread blocks SIGTERM, SIGINT and SIGHUP before it builds the
//! runtime, so every runtime thread inherits the mask and the daemon's loop
//! stays the one place those signals are handled. Every listener is opened
//! before [`start`] returns, so a bad address fails the start with its
//! name. Each accepted connection takes one of [`CONNECTIONS_MAX`] permits
//! (over the limit it is closed at once), TLS handshakes get
//! [`HANDSHAKE_TIMEOUT`], HTTPS clients outside `api.clients` are closed
//! before it, and an accept error (EMFILE, ENOBUFS...) is logged once per
//! episode with a short pause between tries, never a busy loop.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::listen::{self, Inherited, Service, Socket};
use super::{Live, Peer, Shared};
use crate::config::api::Listen;

/// Connections served at once, over every listener.
pub const CONNECTIONS_MAX: usize = 1_024;
/// How long a client has to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop waits for the connections under way.
pub const STOP_GRACE: Duration = Duration::from_secs(3);
/// The pause after a failed accept.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// What serves an accepted connection: the REST or Redis-protocol server
/// (a test puts its own).
pub(crate) trait Serve: Send + Sync + 'static {
    fn serve<S>(stream: S, peer: Peer, service: Service, shared: Arc<Shared>) -> impl Future<Output = ()> + Send
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static;
}

/// The real servers.
struct Protocols;

impl Serve for Protocols {
    async fn serve<S>(stream: S, peer: Peer, service: Service, shared: Arc<Shared>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        match service {
            Service::Http => super::rest::serve_connection(stream, peer, false, shared).await,
            Service::Https => super::rest::serve_connection(stream, peer, true, shared).await,
            Service::Resp | Service::RespTls => super::resp::serve_connection(stream, peer, shared).await,
        }
    }
}

/// The running servers.
pub struct Servers {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Each listener as configured, and where it listens.
    listening: Vec<(Service, Listen, Listen)>,
}

/// Starts the servers `shared`'s settings ask for, adopting sockets from
/// `inherited`; returns once every listener is open, or with the first
/// that could not be (naming its key and address).
pub fn start(shared: Arc<Shared>, inherited: Inherited) -> Result<Servers, String> {
    start_with::<Protocols>(shared, inherited, CONNECTIONS_MAX)
}

/// [`start`] with another server and connection limit (tests).
pub(crate) fn start_with<H: Serve>(
    shared: Arc<Shared>,
    mut inherited: Inherited,
    connections_max: usize,
) -> Result<Servers, String> {
    let (stop, stopped) = watch::channel(false);
    let (report, opened) = std::sync::mpsc::channel();
    let thread_shared = shared.clone();
    let thread = std::thread::Builder::new()
        .name("banwarden-api".into())
        .spawn(move || {
            crate::daemon::signals::block_in_this_thread();
            let live = thread_shared.live();
            let mut sockets: Vec<(Service, Listen, Socket, Option<PathBuf>)> = Vec::new();
            for (service, listen, access) in live.listeners() {
                match listen::open(&listen, service, &access, &mut inherited) {
                    Ok((socket, made)) => sockets.push((service, listen, socket, made)),
                    Err(e) => {
                        // Leaves no socket file behind that no one serves.
                        for made in sockets.into_iter().filter_map(|s| s.3) {
                            let _ = std::fs::remove_file(made);
                        }
                        return drop(report.send(Err(e)));
                    }
                }
            }
            for warning in inherited.leftovers() {
                crate::diag!(Warning, "{warning}");
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .max_blocking_threads(16)
                .thread_name("banwarden-api")
                .enable_io()
                .enable_time()
                .build();
            let runtime = match runtime {
                Ok(runtime) => runtime,
                Err(e) => return drop(report.send(Err(format!("cannot start the servers' runtime: {e}")))),
            };
            runtime.block_on(serve::<H>(sockets, thread_shared, stopped, report, connections_max));
            runtime.shutdown_timeout(Duration::from_millis(500));
        })
        .map_err(|e| format!("cannot start the servers' thread: {e}"))?;
    match opened.recv() {
        Ok(Ok(listening)) => Ok(Servers { shared, stop, thread: Some(thread), listening }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err("the servers' thread ended while starting".into())
        }
    }
}

type Report = std::sync::mpsc::Sender<Result<Vec<(Service, Listen, Listen)>, String>>;

/// Registers the sockets, reports them open, accepts until told to stop,
/// then gives the connections under way [`STOP_GRACE`].
async fn serve<H: Serve>(
    sockets: Vec<(Service, Listen, Socket, Option<PathBuf>)>,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
    report: Report,
    connections_max: usize,
) {
    let permits = Arc::new(Semaphore::new(connections_max));
    let mut listening = Vec::new();
    let mut loops = Vec::new();
    for (service, listen, socket, owned) in sockets {
        let local = socket.local().unwrap_or_else(|_| listen.clone());
        let what = format!("{} {}", service.key(), listen::display(&local));
        let listener = match socket {
            Socket::Tcp(l) => TcpListener::from_std(l).map(Listener::Tcp),
            Socket::Unix(l) => UnixListener::from_std(l).map(Listener::Unix),
        };
        let listener = match listener {
            Ok(listener) => listener,
            Err(e) => return drop(report.send(Err(format!("{what}: {e}")))),
        };
        listening.push((service, listen, local));
        let (shared, permits, stopped) = (shared.clone(), permits.clone(), stopped.clone());
        loops.push(tokio::spawn(accept_loop::<H>(listener, service, what, shared, permits, stopped, owned)));
    }
    if report.send(Ok(listening)).is_err() {
        return;
    }
    for accept in loops {
        let _ = accept.await;
    }
    let all = u32::try_from(connections_max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(STOP_GRACE, permits.acquire_many(all)).await;
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

enum Accepted {
    Tcp(TcpStream, std::net::SocketAddr),
    Unix(UnixStream),
}

impl Listener {
    async fn accept(&self) -> std::io::Result<Accepted> {
        match self {
            Listener::Tcp(l) => l.accept().await.map(|(s, a)| Accepted::Tcp(s, a)),
            Listener::Unix(l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
        }
    }
}

async fn accept_loop<H: Serve>(
    listener: Listener,
    service: Service,
    what: String,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    mut stopped: watch::Receiver<bool>,
    owned: Option<PathBuf>,
) {
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        let conn = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                if !failing {
                    crate::diag!(Err, "{what}: cannot accept connections: {e}; trying again every 100 ms");
                    failing = true;
                }
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        if failing {
            crate::diag!(Notice, "{what}: accepting connections again");
            failing = false;
        }
        // Over the limit: dropped, so closed at once.
        let Ok(permit) = permits.clone().try_acquire_owned() else { continue };
        tokio::spawn(connection::<H>(conn, service, shared.clone(), permit));
    }
    drop(listener);
    if let Some(path) = owned {
        let _ = std::fs::remove_file(path);
    }
}

/// One connection: the allowlist, the TLS handshake, then the server.
async fn connection<H: Serve>(conn: Accepted, service: Service, shared: Arc<Shared>, _permit: OwnedSemaphorePermit) {
    let live = shared.live();
    match conn {
        Accepted::Tcp(stream, addr) => {
            // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
            let peer = Peer::Tcp(std::net::SocketAddr::new(addr.ip().to_canonical(), addr.port()));
            if service == Service::Https && !client_allowed(&live, &peer) {
                return;
            }
            let _ = stream.set_nodelay(true);
            run::<H, _>(stream, peer, service, shared, &live).await;
        }
        Accepted::Unix(stream) => {
            let peer = match stream.peer_cred() {
                Ok(cred) => Peer::Unix { uid: cred.uid(), pid: cred.pid().unwrap_or(0) },
                Err(_) => return,
            };
            run::<H, _>(stream, peer, service, shared, &live).await;
        }
    }
}

async fn run<H: Serve, S>(stream: S, peer: Peer, service: Service, shared: Arc<Shared>, live: &Live)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if !service.tls() {
        return H::serve(stream, peer, service, shared).await;
    }
    let config = match service {
        Service::Https => live.api_tls.clone(),
        _ => live.resp_tls.clone(),
    };
    // The configuration check makes TLS listeners come with their files.
    let Some(config) = config else { return };
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    // A failed or slow handshake is the client's problem, and a scanner's
    // daily noise: not logged.
    if let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        H::serve(tls, peer, service, shared).await;
    }
}

/// `api.clients`: when set, only these networks reach the HTTPS servers.
fn client_allowed(live: &Live, peer: &Peer) -> bool {
    let Peer::Tcp(addr) = peer else { return true };
    let clients = live.api.as_ref().map(|a| &a.clients[..]).unwrap_or_default();
    clients.is_empty() || clients.iter().any(|net| net.contains(addr.ip()))
}

/// Blocks the signals the daemon's loop handles in the calling thread; the
/// threads it starts inherit the mask (pthread_sigmask(3)), so a signal
/// sent to the process is never delivered to a runtime thread.
impl Servers {
    /// Where each listener listens (the port chosen, for port 0), with its
    /// service.
    pub fn listening(&self) -> Vec<(Service, Listen)> {
        self.listening.iter().map(|(s, _, local)| (*s, local.clone())).collect()
    }

    /// Puts new settings (users, password, certificates, sets) in force for
    /// new connections and requests. Listeners stay as they are: a change
    /// to them takes a restart, and a warning says so.
    pub fn reload(&self, live: Live) {
        let mut wanted: Vec<(Service, Listen)> = live.listeners().into_iter().map(|(s, l, _)| (s, l)).collect();
        let mut have: Vec<(Service, Listen)> = self.listening.iter().map(|(s, l, _)| (*s, l.clone())).collect();
        let key = |(s, l): &(Service, Listen)| (s.key(), listen::display(l));
        wanted.sort_by_key(key);
        have.sort_by_key(key);
        if wanted != have {
            crate::diag!(Warning, "the servers' listeners changed: they take effect when banwarden restarts");
        }
        self.shared.replace(live);
    }

    /// Stops accepting, gives the connections under way [`STOP_GRACE`],
    /// and ends the thread.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop_now();
    }
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
