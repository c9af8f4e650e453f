//! The runtime thread with real sockets: TCP on 127.0.0.1, Unix sockets in
//! a temporary directory, TLS with a certificate made by the test; a
//! server of the test's own that tells what it was given.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UnixStream};

use super::*;
use crate::api::tls::tests::self_signed;
use crate::api::{Context, Live, Peer, Shared};
use crate::config::api::{ApiSettings, ApiUser, Listen, RespSettings, TlsFiles};
use crate::door::{Door, Listing};

/// Answers one line: the service, the peer, and whether the daemon's
/// signals are blocked in the worker thread and in the blocking pool; then
/// holds the connection until the client closes it.
struct Tell;

fn sigterm_blocked() -> bool {
    // SAFETY: reads this thread's mask into a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut set);
        [libc::SIGTERM, libc::SIGINT, libc::SIGHUP].iter().all(|&s| libc::sigismember(&set, s) == 1)
    }
}

/// Connections [`Tell`] has served in this process.
static SERVED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Serve for Tell {
    async fn serve<S>(stream: S, peer: Peer, service: Service, _: Arc<Shared>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        SERVED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let pool = tokio::task::spawn_blocking(sigterm_blocked).await.unwrap();
        let mut stream = BufReader::new(stream);
        let line = format!("{service:?} {peer:?} blocked={} pool={pool}\n", sigterm_blocked());
        stream.write_all(line.as_bytes()).await.unwrap();
        stream.flush().await.unwrap();
        let mut rest = String::new();
        let _ = stream.read_line(&mut rest).await;
    }
}

fn shared(api: ApiSettings, resp: RespSettings) -> Arc<Shared> {
    let context = Context {
        door: Door::new(16).unwrap(),
        listing: Arc::new(Listing::default()),
        clock: Arc::new(crate::time::SystemClock),
    };
    Shared::new(context, Live::from_settings(Some(api), Some(resp)).unwrap())
}

fn user() -> Vec<ApiUser> {
    vec![ApiUser { name: "alice".into(), hash: crate::config::api::tests::HASH.into() }]
}

fn any_port() -> Listen {
    Listen::Tcp("127.0.0.1:0".parse().unwrap())
}

fn address(servers: &Servers, service: Service, unix: bool) -> Listen {
    let found = servers.listening().into_iter().find(|(s, l)| *s == service && matches!(l, Listen::Unix(_)) == unix);
    found.unwrap().1
}

async fn first_line<S: AsyncRead + Unpin>(stream: S) -> String {
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).await.unwrap();
    line
}

async fn tcp(listen: &Listen) -> TcpStream {
    let Listen::Tcp(addr) = listen else { panic!("{listen:?}") };
    TcpStream::connect(addr).await.unwrap()
}

fn tls_client(trusted: &rustls::pki_types::CertificateDer<'static>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn tls_line(
    listen: &Listen,
    trusted: &rustls::pki_types::CertificateDer<'static>,
) -> std::io::Result<(String, Option<Vec<u8>>)> {
    let stream = tcp(listen).await;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tls_client(trusted).connect(name, stream).await?;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    Ok((first_line(tls).await, alpn))
}

#[tokio::test]
async fn every_kind_of_listener_reaches_its_server() {
    let dir = tempfile::tempdir().unwrap();
    let (files, cert) = self_signed(dir.path());
    let api_sock = dir.path().join("api.sock");
    let resp_sock = dir.path().join("resp.sock");
    let api = ApiSettings {
        http: vec![any_port(), Listen::Unix(api_sock.clone())],
        https: vec![any_port()],
        tls: Some(files.clone()),
        users: user(),
        ..ApiSettings::default()
    };
    let resp = RespSettings {
        listen: vec![Listen::Unix(resp_sock.clone())],
        listen_tls: vec![any_port()],
        tls: Some(files),
        password: Some(crate::config::api::tests::HASH.into()),
        ..RespSettings::default()
    };
    let servers = start_with::<Tell>(shared(api, resp), Inherited::none(), CONNECTIONS_MAX).unwrap();

    let http = address(&servers, Service::Http, false);
    let line = first_line(tcp(&http).await).await;
    assert!(line.starts_with("Http Tcp(127.0.0.1:") && line.ends_with("blocked=true pool=true\n"), "{line}");

    let uid = unsafe { libc::getuid() };
    let pid = std::process::id();
    let line = first_line(UnixStream::connect(&api_sock).await.unwrap()).await;
    assert_eq!(line, format!("Http Unix {{ uid: {uid}, pid: {pid} }} blocked=true pool=true\n"));
    let line = first_line(UnixStream::connect(&resp_sock).await.unwrap()).await;
    assert!(line.starts_with("Resp Unix {"), "{line}");

    let (line, alpn) = tls_line(&address(&servers, Service::Https, false), &cert).await.unwrap();
    assert!(line.starts_with("Https Tcp(127.0.0.1:"), "{line}");
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    let (line, alpn) = tls_line(&address(&servers, Service::RespTls, false), &cert).await.unwrap();
    assert!(line.starts_with("RespTls Tcp("), "{line}");
    assert_eq!(alpn, None, "the Redis protocol has no ALPN name");

    servers.stop();
    assert!(!api_sock.exists() && !resp_sock.exists(), "the sockets it bound are removed");
    assert!(TcpStream::connect(match http {
        Listen::Tcp(a) => a,
        _ => unreachable!(),
    })
    .await
    .is_err());
}

#[tokio::test]
async fn https_clients_outside_the_allowlist_are_closed_and_a_reload_changes_certificate_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let (files, cert) = self_signed(dir.path());
    let mut api = ApiSettings {
        https: vec![any_port()],
        tls: Some(files),
        users: user(),
        clients: vec![crate::vocab::Network::parse("192.0.2.0/24").unwrap()],
        ..ApiSettings::default()
    };
    let servers = start_with::<Tell>(shared(api.clone(), RespSettings::default()), Inherited::none(), 64).unwrap();
    let https = address(&servers, Service::Https, false);
    assert!(tls_line(&https, &cert).await.is_err(), "127.0.0.1 is not in api.clients");

    // A renewed certificate, and this host allowed.
    let renewed = tempfile::tempdir().unwrap();
    let (new_files, new_cert) = self_signed(renewed.path());
    api.tls = Some(new_files);
    api.clients.push(crate::vocab::Network::parse("127.0.0.0/8").unwrap());
    servers.reload(Live::from_settings(Some(api), None).unwrap());
    let (line, _) = tls_line(&https, &new_cert).await.unwrap();
    assert!(line.starts_with("Https Tcp(127.0.0.1:"), "{line}");
    assert!(tls_line(&https, &cert).await.is_err(), "the old certificate is no longer presented");
}

#[tokio::test]
async fn over_the_connection_limit_a_client_is_closed_at_once() {
    let api = ApiSettings { http: vec![any_port()], users: user(), ..ApiSettings::default() };
    let servers = start_with::<Tell>(shared(api, RespSettings::default()), Inherited::none(), 3).unwrap();
    let http = address(&servers, Service::Http, false);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = BufReader::new(tcp(&http).await);
        let mut line = String::new();
        stream.read_line(&mut line).await.unwrap();
        assert!(line.starts_with("Http"), "{line}");
        held.push(stream);
    }
    let mut line = String::new();
    let n = BufReader::new(tcp(&http).await).read_line(&mut line).await.unwrap_or(0);
    assert_eq!(n, 0, "the fourth connection is closed unanswered: {line:?}");
    // One closes: there is room again.
    drop(held.pop());
    let mut answered = false;
    for _ in 0..50 {
        let mut line = String::new();
        if BufReader::new(tcp(&http).await).read_line(&mut line).await.unwrap_or(0) > 0 {
            answered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(answered, "a permit comes back when its connection ends");
}

#[test]
fn a_bind_error_fails_the_start_with_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("api.sock");
    let http = vec![Listen::Unix(sock.clone()), Listen::Tcp(addr)];
    let api = ApiSettings { http, users: user(), ..ApiSettings::default() };
    let e = start_with::<Tell>(shared(api, RespSettings::default()), Inherited::none(), 8).err().unwrap();
    assert!(e.starts_with(&format!("api.http {addr}: cannot listen: ")), "{e}");
    assert!(!sock.exists(), "the socket bound before the failure is removed");
}

#[test]
fn live_settings_name_the_bad_file() {
    let api = ApiSettings {
        tls: Some(TlsFiles { certificate: "/nonexistent/c.pem".into(), key: "/nonexistent/k.pem".into() }),
        ..ApiSettings::default()
    };
    let e = Live::from_settings(Some(api), None).err().unwrap();
    assert!(e.starts_with("api.tls: cannot read the TLS certificate /nonexistent/c.pem"), "{e}");
    let resp = RespSettings { password: Some("plain".into()), ..RespSettings::default() };
    let e = Live::from_settings(None, Some(resp)).err().unwrap();
    assert!(e.starts_with("resp.password: not an argon2 password hash"), "{e}");
}

/// The test's name, for the child that runs it again.
const ACTIVATED: &str = "api::runtime::tests::socket_activation_hands_the_listener_over";

/// systemd-socket-activate(1) listens, and on the first connection starts
/// this test binary again with the socket (LISTEN_PID, LISTEN_FDS,
/// LISTEN_FDNAMES), as systemd does for a socket unit; the child adopts it
/// and serves the waiting connection.
#[test]
fn socket_activation_hands_the_listener_over() {
    if let Ok(address) = std::env::var("BANWARDEN_TEST_ACTIVATED") {
        return activated(&address);
    }
    let tool = std::path::Path::new("/usr/bin/systemd-socket-activate");
    if !crate::testenv::require(tool.exists(), "systemd-socket-activate (package systemd) is not installed") {
        return;
    }
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = free.local_addr().unwrap();
    drop(free);
    let mut child = std::process::Command::new(tool)
        .arg(format!("--listen={address}"))
        .arg("--fdname=api")
        .arg(format!("--setenv=BANWARDEN_TEST_ACTIVATED={address}"))
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", ACTIVATED, "--nocapture", "--test-threads=1"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stream = None;
    for _ in 0..200 {
        match std::net::TcpStream::connect(address) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    let stream = stream.expect("systemd-socket-activate listens");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&stream), &mut line).unwrap();
    assert!(line.starts_with("Http Tcp(127.0.0.1:"), "{line:?}");
    drop(stream);
    let status = child.wait().unwrap();
    assert!(status.success(), "the activated child failed: {status}");
}

/// The child: adopts the socket systemd-socket-activate passed.
fn activated(address: &str) {
    let inherited = Inherited::from_env();
    assert!(std::env::var_os("LISTEN_FDS").is_none() && std::env::var_os("LISTEN_PID").is_none());
    assert!(!inherited.is_empty(), "LISTEN_FDS was for this process");
    let listen = Listen::Tcp(address.parse().unwrap());
    let api = ApiSettings { http: vec![listen.clone()], users: user(), ..ApiSettings::default() };
    let servers = start_with::<Tell>(shared(api, RespSettings::default()), inherited, 8).unwrap();
    assert_eq!(servers.listening(), [(Service::Http, listen)]);
    // The parent's connection waited in the adopted socket's queue.
    for _ in 0..1_000 {
        if SERVED.load(std::sync::atomic::Ordering::SeqCst) >= 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(SERVED.load(std::sync::atomic::Ordering::SeqCst), 1);
    servers.stop();
}

#[tokio::test]
async fn a_silent_client_is_closed_after_the_handshake_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = self_signed(dir.path());
    let api = ApiSettings { https: vec![any_port()], tls: Some(files), users: user(), ..ApiSettings::default() };
    let servers = start_with::<Tell>(shared(api, RespSettings::default()), Inherited::none(), 8).unwrap();
    let mut silent = tcp(&address(&servers, Service::Https, false)).await;
    let clock = crate::time::SystemClock;
    let start = crate::time::Clock::instant(&clock);
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(HANDSHAKE_TIMEOUT * 2, tokio::io::AsyncReadExt::read(&mut silent, &mut buf)).await;
    let waited = crate::time::Clock::instant(&clock) - start;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "closed: {read:?}");
    assert!(waited >= HANDSHAKE_TIMEOUT - std::time::Duration::from_millis(500), "closed after {waited:?}");
}

/// The test's name, for the child that runs it again.
const EMFILE: &str = "api::runtime::tests::out_of_descriptors_is_logged_once_and_accepting_resumes";

/// Run again in a child (it changes the process's descriptor limit): the
/// child fills its descriptor table so that accept(2) fails with EMFILE,
/// then frees it; its stderr must tell the episode once, and its end.
#[test]
fn out_of_descriptors_is_logged_once_and_accepting_resumes() {
    if std::env::var_os("BANWARDEN_TEST_EMFILE").is_some() {
        return out_of_descriptors();
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", EMFILE, "--nocapture", "--test-threads=1"])
        .env("BANWARDEN_TEST_EMFILE", "1")
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"), "the child ran the test");
    assert_eq!(stderr.matches("cannot accept connections: ").count(), 1, "{stderr}");
    assert!(stderr.contains("Too many open files"), "{stderr}");
    assert_eq!(stderr.matches("accepting connections again").count(), 1, "{stderr}");
}

fn out_of_descriptors() {
    let api = ApiSettings { http: vec![any_port()], users: user(), ..ApiSettings::default() };
    let servers = start_with::<Tell>(shared(api, RespSettings::default()), Inherited::none(), 8).unwrap();
    let Listen::Tcp(addr) = address(&servers, Service::Http, false) else { unreachable!() };
    // A low limit, filled with descriptors of /dev/null but for one, which
    // the client's socket takes.
    let limit = libc::rlimit { rlim_cur: 256, rlim_max: 256 };
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let mut filler = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        filler.push(f);
    }
    filler.pop();
    let client = std::net::TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    // The server cannot take the connection: several tries, 100 ms apart.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(SERVED.load(std::sync::atomic::Ordering::SeqCst), 0);
    filler.truncate(filler.len().saturating_sub(16));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&client), &mut line).unwrap();
    assert!(line.starts_with("Http Tcp(127.0.0.1:"), "{line:?}");
    drop(client);
    servers.stop();
}

#[tokio::test]
async fn a_stop_waits_for_open_connections_a_few_seconds_only() {
    let api = ApiSettings { http: vec![any_port()], users: user(), ..ApiSettings::default() };
    let servers = start_with::<Tell>(shared(api, RespSettings::default()), Inherited::none(), 8).unwrap();
    let http = address(&servers, Service::Http, false);
    let mut held = BufReader::new(tcp(&http).await);
    let mut line = String::new();
    held.read_line(&mut line).await.unwrap();
    let clock = crate::time::SystemClock;
    let start = crate::time::Clock::instant(&clock);
    tokio::task::spawn_blocking(move || servers.stop()).await.unwrap();
    let took = crate::time::Clock::instant(&clock) - start;
    assert!(took >= STOP_GRACE && took < STOP_GRACE + std::time::Duration::from_secs(2), "{took:?}");
    line.clear();
    assert_eq!(held.read_line(&mut line).await.unwrap_or(0), 0, "the held connection is closed");
}
