//! Who may ask: the layer in front of every route.
//!
//! A request over TCP (HTTP or HTTPS) must carry basic-auth credentials of
//! one of `api.users`; a request over a Unix socket needs none (its file
//! mode and group guard it) and is made in the name of the peer's user.
//! Over HTTPS the client's address must also be inside `api.clients` when
//! that list is given (rfw's outward server). A wrong password is logged
//! with the client's address and answered 401 only after a delay that
//! doubles with each failure from that address (its /64 for IPv6), up to
//! [`MAX_DELAY`]; the wait is that request's own task, so other clients
//! never wait for it. The table of failing addresses is bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::reply::Answer;
use super::{Caller, Conn, Ctx};
use crate::api::Peer;

/// The first failure's delay; each further one doubles it.
pub const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest delay a failing client waits for its 401.
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// A client's failures are forgotten after this long without one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Failing addresses remembered at most (a flood from many addresses
/// empties the table rather than growing it).
const TABLE_MAX: usize = 10_000;

/// Failures per client address (IPv6: per /64, what one host holds).
struct Failures {
    table: HashMap<IpAddr, (u32, Instant)>,
}

fn failures() -> &'static Mutex<Failures> {
    static TABLE: OnceLock<Mutex<Failures>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(Failures { table: HashMap::new() }))
}

fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

/// Counts a failure of `ip` at `now` and gives the delay before its 401.
fn strike(ip: IpAddr, now: Instant) -> Duration {
    let mut f = failures().lock().unwrap_or_else(|e| e.into_inner());
    if f.table.len() >= TABLE_MAX {
        f.table.retain(|_, (_, last)| now.saturating_duration_since(*last) < FORGET_AFTER);
        if f.table.len() >= TABLE_MAX {
            f.table.clear();
        }
    }
    let entry = f.table.entry(client_key(ip)).or_insert((0, now));
    if now.saturating_duration_since(entry.1) >= FORGET_AFTER {
        entry.0 = 0;
    }
    entry.0 = entry.0.saturating_add(1);
    entry.1 = now;
    delay_after(entry.0)
}

/// The delay after `n` failures in a row.
pub fn delay_after(n: u32) -> Duration {
    FIRST_DELAY.saturating_mul(1u32 << n.saturating_sub(1).min(16)).min(MAX_DELAY)
}

fn forgive(ip: IpAddr) {
    let mut f = failures().lock().unwrap_or_else(|e| e.into_inner());
    if !f.table.is_empty() {
        f.table.remove(&client_key(ip));
    }
}

/// `user:password` of a basic `Authorization` header (RFC 7617).
fn credentials(value: &HeaderValue) -> Option<(String, String)> {
    let text = value.to_str().ok()?;
    let (scheme, encoded) = text.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn unauthorized(why: &str) -> Response {
    let mut response = Answer::error(StatusCode::UNAUTHORIZED, why).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"banwarden\""));
    response
}

/// The login name of a Unix socket's peer, or `uid N`.
pub fn unix_user(uid: u32) -> String {
    let mut buf = vec![0u8; 1024];
    // SAFETY: getpwuid_r writes into the zeroed passwd and our buffer only,
    // and sets `found` to it or to null; the name is copied out at once.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut found);
        if rc == 0 && !found.is_null() && !pw.pw_name.is_null() {
            return std::ffi::CStr::from_ptr(pw.pw_name).to_string_lossy().into_owned();
        }
    }
    format!("uid {uid}")
}

/// The layer: lets the request through with its [`Caller`], or answers.
pub async fn gate(State(Ctx { shared }): State<Ctx>, mut request: Request, next: Next) -> Response {
    let Some(conn) = request.extensions().get::<Conn>().cloned() else {
        return Answer::error(StatusCode::INTERNAL_SERVER_ERROR, "connection unknown").into_response();
    };
    let live = shared.live();
    let Some(api) = live.api.as_ref() else {
        return Answer::error(StatusCode::SERVICE_UNAVAILABLE, "the API is not configured (api)").into_response();
    };
    let ip = match conn.peer {
        Peer::Unix { uid, .. } => {
            let name = conn.unix_user.as_deref().map_or_else(|| unix_user(uid), str::to_owned);
            request.extensions_mut().insert(Caller(name));
            return next.run(request).await;
        }
        Peer::Tcp(addr) => crate::vocab::normalize(addr.ip()),
    };
    if conn.tls && !api.clients.is_empty() && !crate::vocab::any_contains(&api.clients, ip) {
        crate::diag!(Warning, "api: refused a request from {ip}: not inside api.clients");
        return Answer::error(StatusCode::FORBIDDEN, format!("{ip} is not one of the clients (api.clients)"))
            .into_response();
    }
    let Some((user, password)) = request.headers().get(header::AUTHORIZATION).and_then(credentials) else {
        return unauthorized("basic authentication is needed (api.users)");
    };
    if live.users.check(&user, &password).await {
        forgive(ip);
        request.extensions_mut().insert(Caller(user));
        return next.run(request).await;
    }
    let delay = strike(ip, shared.context.clock.instant());
    crate::diag!(Warning, "api: failed authentication from {ip} as {user:?} (answered in {} ms)", delay.as_millis());
    tokio::time::sleep(delay).await;
    unauthorized("wrong user or password")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Clock;

    #[test]
    fn delays_double_up_to_the_bound() {
        assert_eq!(delay_after(1), FIRST_DELAY);
        assert_eq!(delay_after(2), FIRST_DELAY * 2);
        assert_eq!(delay_after(3), FIRST_DELAY * 4);
        assert_eq!(delay_after(40), MAX_DELAY);
        assert_eq!(delay_after(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn failures_count_per_client_and_an_ipv6_host_is_its_64() {
        let now = crate::time::SystemClock.instant();
        let a: IpAddr = "2001:db8:1:2::5".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2::6".parse().unwrap();
        assert_eq!(strike(a, now), FIRST_DELAY);
        assert_eq!(strike(b, now), FIRST_DELAY * 2, "the same /64");
        assert_eq!(strike("2001:db8:1:3::5".parse().unwrap(), now), FIRST_DELAY, "another /64");
        assert_eq!(strike(a, now + FORGET_AFTER), FIRST_DELAY, "forgotten after a quiet while");
        forgive(a);
        assert_eq!(strike(b, now), FIRST_DELAY);
    }

    #[test]
    fn basic_credentials_are_read() {
        let v = HeaderValue::from_static("Basic YWxpY2U6czNjcjN0OndpdGg6Y29sb25z");
        assert_eq!(credentials(&v), Some(("alice".into(), "s3cr3t:with:colons".into())));
        assert_eq!(credentials(&HeaderValue::from_static("Bearer abc")), None);
        assert_eq!(credentials(&HeaderValue::from_static("Basic !!!")), None);
        assert_eq!(unix_user(0), "root");
        assert_eq!(unix_user(4_000_000_000), "uid 4000000000");
    }
}
