//! The control socket (`banwarden status`) and the OpenMetrics endpoint
//! (`metrics.listen`), served by a thread of their own beside the journal
//! loop: a single-threaded tokio runtime, started whether or not the APIs
//! run, and stopped (its socket files removed) when the daemon stops.
//!
//! Neither reads the loop's state directly: each request sends
//! [`Command::Snapshot`] through the door and awaits the loop's answer,
//! given between two entries (a few milliseconds; at most
//! [`protocol::TIMEOUT`]). The fleet's figures come from its own status
//! file, which its thread rewrites every second. Connections are bounded
//! ([`CONNECTIONS_MAX`] per listener), requests small and timed
//! ([`protocol`]); the metrics speak HTTP/1.1 through hyper and answer
//! `GET /metrics` only.

pub mod protocol;

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Semaphore};

use crate::api::listen::{self, Inherited, Socket};
use crate::config::api::Listen;
use crate::config::control::{ControlSettings, MetricsSettings};
use crate::door::{Command, Door};
use crate::stats::{openmetrics, Snapshot, TOP_COUNTERS};
use protocol::{Answer, REQUEST_MAX, TIMEOUT};

/// Connections served at once on each listener; more wait in the backlog.
pub const CONNECTIONS_MAX: usize = 16;
/// How long an HTTP client has to send its request head.
const HEADER_TIME: Duration = Duration::from_secs(10);
/// After an answer, how much of a client's further input is read and
/// dropped, and for how long.
const DRAIN_MAX: u64 = 1 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(1);
/// The `FileDescriptorName=` of sockets systemd passes for each listener.
pub const CONTROL_FD_NAME: &str = "control";
pub const METRICS_FD_NAME: &str = "metrics";

/// What the servers need from the daemon.
pub struct Context {
    pub door: Arc<Door>,
    /// Where the fleet writes its status file, if a fleet is configured.
    pub fleet_storage: Option<PathBuf>,
}

/// The running servers; dropping this stops them.
pub struct Control {
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Where each listens (`control.socket`, `metrics.listen`).
    listening: Vec<(&'static str, Listen)>,
    /// Socket files made here, removed at the stop.
    made: Vec<PathBuf>,
}

impl Control {
    pub fn listening(&self) -> &[(&'static str, Listen)] {
        &self.listening
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        for path in &self.made {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Whether the default control socket's directory is there (the
/// service's `RuntimeDirectory=`).
fn default_place_exists(path: &Path) -> bool {
    path.parent().is_some_and(Path::is_dir)
}

/// Opens the control socket and the metrics listener the settings ask
/// for (adopting sockets systemd passed), and starts serving them. `None`
/// when neither is asked for. A control socket at its default place that
/// cannot be made is only warned about (`warn`); anything configured that
/// cannot be opened fails the start.
pub fn start(
    control: &ControlSettings,
    metrics: Option<&MetricsSettings>,
    inherited: &mut Inherited,
    context: Context,
    warn: &mut dyn FnMut(String),
) -> Result<Option<Control>, String> {
    let mut sockets: Vec<(&'static str, Socket)> = Vec::new();
    let mut listening = Vec::new();
    let mut made = Vec::new();
    let cleanup = |made: &[PathBuf]| made.iter().for_each(|p| drop(std::fs::remove_file(p)));
    if let Some(path) = &control.socket {
        let listen = Listen::Unix(path.clone());
        if control.given || default_place_exists(path) {
            match listen::open_named(&listen, "control.socket", CONTROL_FD_NAME, &control.access, inherited) {
                Ok((socket, file)) => {
                    made.extend(file);
                    sockets.push(("control", socket));
                    listening.push(("control.socket", listen));
                }
                Err(e) if control.given => return Err(e),
                Err(e) => warn(format!("{e}; `banwarden status` cannot reach this daemon")),
            }
        }
    }
    if let Some(metrics) = metrics {
        match listen::open_named(&metrics.listen, "metrics.listen", METRICS_FD_NAME, &metrics.access, inherited) {
            Ok((socket, file)) => {
                made.extend(file);
                let local = socket.local().unwrap_or_else(|_| metrics.listen.clone());
                sockets.push(("metrics", socket));
                listening.push(("metrics.listen", local));
            }
            Err(e) => {
                cleanup(&made);
                return Err(e);
            }
        }
    }
    if sockets.is_empty() {
        return Ok(None);
    }
    let (stop, stopped) = watch::channel(false);
    let context = Arc::new(context);
    let thread = std::thread::Builder::new().name("banwarden-control".into()).spawn(move || {
        crate::daemon::signals::block_in_this_thread();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build();
        let runtime = match runtime {
            Ok(runtime) => runtime,
            Err(e) => return crate::diag!(Err, "cannot start the control socket's runtime: {e}"),
        };
        runtime.block_on(serve(sockets, context, stopped));
        runtime.shutdown_timeout(Duration::from_millis(200));
    });
    match thread {
        Ok(thread) => Ok(Some(Control { stop, thread: Some(thread), listening, made })),
        Err(e) => {
            cleanup(&made);
            Err(format!("cannot start the control socket's thread: {e}"))
        }
    }
}

async fn serve(sockets: Vec<(&'static str, Socket)>, context: Arc<Context>, stopped: watch::Receiver<bool>) {
    let mut tasks = Vec::new();
    for (what, socket) in sockets {
        let (context, stopped) = (context.clone(), stopped.clone());
        let task = match socket {
            Socket::Unix(l) => {
                let Ok(l) = UnixListener::from_std(l) else { continue };
                tokio::spawn(accept_loop(l, stopped, move |stream| {
                    let context = context.clone();
                    async move {
                        match what {
                            "control" => serve_control(stream, &context).await,
                            _ => serve_metrics(stream, context).await,
                        }
                    }
                }))
            }
            Socket::Tcp(l) => {
                let Ok(l) = TcpListener::from_std(l) else { continue };
                tokio::spawn(accept_loop(l, stopped, move |stream| serve_metrics(stream, context.clone())))
            }
        };
        tasks.push(task);
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// A listener of either kind, for [`accept_loop`].
trait Accept: Send + 'static {
    type Stream: Send + 'static;
    fn next(&self) -> impl std::future::Future<Output = std::io::Result<Self::Stream>> + Send;
}

impl Accept for UnixListener {
    type Stream = tokio::net::UnixStream;
    async fn next(&self) -> std::io::Result<Self::Stream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

impl Accept for TcpListener {
    type Stream = tokio::net::TcpStream;
    async fn next(&self) -> std::io::Result<Self::Stream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

/// Accepts connections until `stopped` changes, each served by a task of
/// its own, at most [`CONNECTIONS_MAX`] at once (the others wait in the
/// backlog); a failed accept (no descriptor left) waits a little.
async fn accept_loop<L, F, Fut>(listener: L, mut stopped: watch::Receiver<bool>, serve: F)
where
    L: Accept,
    F: Fn(L::Stream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    loop {
        let permit = limit.clone().acquire_owned().await.expect("never closed");
        let stream = tokio::select! {
            accepted = listener.next() => accepted,
            _ = stopped.changed() => return,
        };
        let Ok(stream) = stream else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let served = serve(stream);
        tokio::spawn(async move {
            served.await;
            drop(permit);
        });
    }
}

/// Asks the loop for a snapshot, with the fleet's status added.
async fn snapshot(context: &Context, top: usize) -> Result<Box<Snapshot>, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let reply = Box::new(move |snapshot| drop(tx.send(snapshot)));
    context
        .door
        .send(Command::Snapshot { top, reply })
        .map_err(|_| "the daemon's queue is full (a flood of API requests?); try again".to_owned())?;
    let mut snapshot = match tokio::time::timeout(TIMEOUT, rx).await {
        Ok(Ok(snapshot)) => snapshot,
        Ok(Err(_)) => return Err("the daemon is stopping".into()),
        Err(_) => return Err(format!("the daemon's loop did not answer within {} s", TIMEOUT.as_secs())),
    };
    if let Some(storage) = &context.fleet_storage {
        snapshot.fleet = match crate::fleet::status::Status::read(storage) {
            Ok(Some(status)) => serde_json::to_value(status).ok(),
            _ => Some(serde_json::json!({"connected": false, "lastError": "no fleet.status written yet"})),
        };
    }
    Ok(snapshot)
}

async fn serve_control(stream: tokio::net::UnixStream, context: &Context) {
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    let mut reader = BufReader::new(read.take(REQUEST_MAX as u64 + 1));
    let read = tokio::time::timeout(TIMEOUT, reader.read_until(b'\n', &mut line)).await;
    let answer = match read {
        Err(_) => Answer::error(format!("no request within {} s", TIMEOUT.as_secs())),
        Ok(Err(e)) => Answer::error(format!("cannot read the request: {e}")),
        Ok(Ok(_)) if line.len() > REQUEST_MAX || !line.ends_with(b"\n") => {
            Answer::error(format!("expected one line of JSON of at most {REQUEST_MAX} bytes"))
        }
        Ok(Ok(_)) => match protocol::parse_request(&line) {
            Err(e) => Answer::error(e),
            Ok(request) => match snapshot(context, request.top).await {
                Ok(status) => Answer { ok: true, status: Some(status), error: None },
                Err(e) => Answer::error(e),
            },
        },
    };
    let mut out = serde_json::to_vec(&answer).unwrap_or_else(|_| br#"{"ok":false,"error":"unserializable"}"#.to_vec());
    out.push(b'\n');
    let _ = tokio::time::timeout(TIMEOUT, write.write_all(&out)).await;
    let _ = write.shutdown().await;
    // What the client sent past the request is read and dropped (a little,
    // for a little while): closing with unread input would reset the
    // connection, and the client could lose the answer that says why.
    let mut rest = reader.into_inner().into_inner().take(DRAIN_MAX);
    let _ = tokio::time::timeout(DRAIN_TIME, tokio::io::copy(&mut rest, &mut tokio::io::sink())).await;
}

async fn serve_metrics<S>(stream: S, context: Arc<Context>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let context = context.clone();
        async move { Ok::<_, Infallible>(metrics_answer(request.method(), request.uri().path(), &context).await) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIME)
        .keep_alive(true)
        .max_buf_size(16 * 1024)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    // A scraper that goes away or times out is no error of ours.
    drop(served);
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8".parse().expect("valid"));
    response
}

async fn metrics_answer(method: &Method, path: &str, context: &Context) -> Response<Full<Bytes>> {
    if path != "/metrics" {
        return text(StatusCode::NOT_FOUND, "banwarden serves its metrics at /metrics\n".into());
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n".into());
        response.headers_mut().insert(hyper::header::ALLOW, "GET, HEAD".parse().expect("valid"));
        return response;
    }
    match snapshot(context, 0).await {
        Ok(snapshot) => {
            let mut response = Response::new(Full::new(Bytes::from(openmetrics::render(&snapshot))));
            response
                .headers_mut()
                .insert(hyper::header::CONTENT_TYPE, openmetrics::CONTENT_TYPE.parse().expect("valid"));
            response
        }
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}

/// The counter keys `status` asks for by default.
pub const STATUS_TOP: usize = TOP_COUNTERS;
