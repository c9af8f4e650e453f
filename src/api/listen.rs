//! The servers' listening sockets: bound here, or handed over by systemd
//! (socket activation, sd_listen_fds(3)).
//!
//! A configured address whose socket systemd passed (same local address, or
//! a `FileDescriptorName=` naming the service: `api`, `api-https`, `resp`,
//! `resp-tls`, as the shipped socket units do) is adopted instead
//! of bound, so the service's sandbox can forbid `AF_INET` and binding
//! privileges. A Unix socket that banwarden binds replaces a stale file
//! left by a crash (but not a socket something still answers on), and gets
//! the configured mode and group before the first connection can come.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use crate::config::api::{Listen, SocketAccess};

/// What a listener serves.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// `api.http`.
    Http,
    /// `api.https`.
    Https,
    /// `resp.listen`.
    Resp,
    /// `resp.listenTls`.
    RespTls,
}

impl Service {
    /// The `FileDescriptorName=` that hands a socket to this service (the
    /// shipped socket units use them).
    pub fn fd_name(self) -> &'static str {
        match self {
            Service::Http => "api",
            Service::Https => "api-https",
            Service::Resp => "resp",
            Service::RespTls => "resp-tls",
        }
    }

    /// The configuration key, for messages.
    pub fn key(self) -> &'static str {
        match self {
            Service::Http => "api.http",
            Service::Https => "api.https",
            Service::Resp => "resp.listen",
            Service::RespTls => "resp.listenTls",
        }
    }

    pub fn tls(self) -> bool {
        matches!(self, Service::Https | Service::RespTls)
    }
}

/// A listening socket, not yet registered with tokio.
#[derive(Debug)]
pub enum Socket {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Socket {
    /// Where it listens (the port chosen, for port 0).
    pub fn local(&self) -> std::io::Result<Listen> {
        match self {
            Socket::Tcp(l) => l.local_addr().map(Listen::Tcp),
            Socket::Unix(l) => {
                let addr = l.local_addr()?;
                Ok(Listen::Unix(addr.as_pathname().map(Path::to_path_buf).unwrap_or_default()))
            }
        }
    }
}

/// Sockets passed by systemd, taken from the environment once.
#[derive(Debug, Default)]
pub struct Inherited {
    fds: Vec<(OwnedFd, Option<String>)>,
}

/// sd_listen_fds(3): passed descriptors start at 3.
const LISTEN_FDS_START: RawFd = 3;

impl Inherited {
    /// Nothing inherited.
    pub fn none() -> Inherited {
        Inherited::default()
    }

    /// Takes `LISTEN_FDS`/`LISTEN_FDNAMES` if `LISTEN_PID` is this process,
    /// and unsets the three variables so that no child takes them too. Call
    /// once, early, while the process has one thread (it changes the
    /// environment).
    pub fn from_env() -> Inherited {
        let var = |name: &str| std::env::var(name).ok();
        let (pid, count, names) = (var("LISTEN_PID"), var("LISTEN_FDS"), var("LISTEN_FDNAMES"));
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            std::env::remove_var(name);
        }
        let ours = pid.and_then(|p| p.parse::<u32>().ok()) == Some(std::process::id());
        let count = count.and_then(|n| n.parse::<RawFd>().ok()).filter(|_| ours).unwrap_or(0);
        Inherited::take(count, names.as_deref())
    }

    /// Takes descriptors 3 to 3 + count - 1, named by `names` (colon-separated).
    fn take(count: RawFd, names: Option<&str>) -> Inherited {
        let fds = (LISTEN_FDS_START..)
            .zip(self::names(count, names))
            .filter_map(|(fd, name)| {
                // SAFETY: F_SETFD on a descriptor number; failing means it is not open.
                if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
                    return None;
                }
                // SAFETY: systemd passed this descriptor to this process (LISTEN_PID),
                // and nothing else in it owns descriptors it did not open.
                Some((unsafe { OwnedFd::from_raw_fd(fd) }, name))
            })
            .collect();
        Inherited { fds }
    }

    /// Takes these descriptors (tests; a daemon's own socket-activation code).
    pub fn from_fds(fds: Vec<(OwnedFd, Option<String>)>) -> Inherited {
        Inherited { fds }
    }

    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// The inherited socket listening on `listen`, or else one named for
    /// `service`.
    fn adopt(&mut self, listen: &Listen, fd_name: &str) -> Option<Socket> {
        let at = self
            .fds
            .iter()
            .position(|(fd, _)| describe(fd).is_some_and(|l| l == *listen))
            .or_else(|| self.fds.iter().position(|(_, name)| name.as_deref() == Some(fd_name)))?;
        let (fd, _) = self.fds.remove(at);
        Some(socket_of(fd))
    }

    /// What no configured address took: each with a warning to give.
    pub fn leftovers(self) -> Vec<String> {
        self.fds
            .into_iter()
            .map(|(fd, name)| {
                let what = describe(&fd).map(|l| display(&l)).unwrap_or_else(|| "not a listening socket".into());
                let name = name.map(|n| format!(" (named {n:?})")).unwrap_or_default();
                format!(
                    "systemd passed socket {}{name}, {what}, which no listener in the configuration names: closed",
                    fd.as_raw_fd()
                )
            })
            .collect()
    }
}

/// The name of each of `count` descriptors, from `LISTEN_FDNAMES`
/// (systemd says "unknown" for a socket it has no name for).
fn names(count: RawFd, names: Option<&str>) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> =
        names.unwrap_or_default().split(':').map(|n| (!n.is_empty() && n != "unknown").then(|| n.to_owned())).collect();
    out.resize(usize::try_from(count).unwrap_or(0), None);
    out
}

/// An address as the configuration writes it.
pub fn display(listen: &Listen) -> String {
    match listen {
        Listen::Tcp(addr) => addr.to_string(),
        Listen::Unix(path) => format!("unix:{}", path.display()),
    }
}

fn sockopt(fd: &OwnedFd, option: libc::c_int) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len are valid for the int-sized option asked.
    let r = unsafe {
        libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, option, (&mut value as *mut libc::c_int).cast(), &mut len)
    };
    (r == 0).then_some(value)
}

/// Where an inherited socket listens, if it is a listening stream socket.
fn describe(fd: &OwnedFd) -> Option<Listen> {
    if sockopt(fd, libc::SO_TYPE)? != libc::SOCK_STREAM || sockopt(fd, libc::SO_ACCEPTCONN)? == 0 {
        return None;
    }
    let copy = fd.try_clone().ok()?;
    match sockopt(fd, libc::SO_DOMAIN)? {
        libc::AF_INET | libc::AF_INET6 => TcpListener::from(copy).local_addr().ok().map(Listen::Tcp),
        libc::AF_UNIX => {
            let addr = UnixListener::from(copy).local_addr().ok()?;
            addr.as_pathname().map(|p| Listen::Unix(p.to_path_buf()))
        }
        _ => None,
    }
}

fn socket_of(fd: OwnedFd) -> Socket {
    match sockopt(&fd, libc::SO_DOMAIN) {
        Some(libc::AF_UNIX) => Socket::Unix(UnixListener::from(fd)),
        _ => Socket::Tcp(TcpListener::from(fd)),
    }
}

/// The socket for `listen`: adopted from `inherited`, or bound now; with
/// the path of the socket file made, if it was bound to one (the servers
/// remove it when they stop; a file systemd made is systemd's).
pub fn open(
    listen: &Listen,
    service: Service,
    access: &SocketAccess,
    inherited: &mut Inherited,
) -> Result<(Socket, Option<PathBuf>), String> {
    open_named(listen, service.key(), service.fd_name(), access, inherited)
}

/// [`open`] for a listener of another key than the APIs' (`metrics.listen`),
/// adopted by address or by the `FileDescriptorName=` `fd_name`.
pub fn open_named(
    listen: &Listen,
    key: &str,
    fd_name: &str,
    access: &SocketAccess,
    inherited: &mut Inherited,
) -> Result<(Socket, Option<PathBuf>), String> {
    let (socket, made) = match inherited.adopt(listen, fd_name) {
        Some(socket) => (socket, None),
        None => {
            let socket = bind(listen, access).map_err(|e| format!("{key} {}: {e}", display(listen)))?;
            let made = match listen {
                Listen::Unix(path) => Some(path.clone()),
                Listen::Tcp(_) => None,
            };
            (socket, made)
        }
    };
    let set_nonblocking = match &socket {
        Socket::Tcp(l) => l.set_nonblocking(true),
        Socket::Unix(l) => l.set_nonblocking(true),
    };
    set_nonblocking.map_err(|e| format!("{key} {}: {e}", display(listen)))?;
    Ok((socket, made))
}

fn bind(listen: &Listen, access: &SocketAccess) -> Result<Socket, String> {
    match listen {
        Listen::Tcp(addr) => bind_tcp(*addr),
        Listen::Unix(path) => bind_unix(path, access),
    }
}

fn bind_tcp(addr: SocketAddr) -> Result<Socket, String> {
    // std sets SO_REUSEADDR on Unix, so a restart does not wait for
    // TIME_WAIT; an address in use by a running program still fails.
    TcpListener::bind(addr).map(Socket::Tcp).map_err(|e| format!("cannot listen: {e}"))
}

fn bind_unix(path: &Path, access: &SocketAccess) -> Result<Socket, String> {
    remove_stale(path)?;
    let listener = UnixListener::bind(path).map_err(|e| format!("cannot listen: {e}"))?;
    // The socket exists with the umask's mode until here; nothing has had
    // time to connect that the mode would have refused, since connecting
    // needs write permission and the directory's (unix(7)).
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(access.mode))
        .map_err(|e| format!("cannot set mode {:04o}: {e}", access.mode))?;
    if let Some(group) = &access.group {
        let gid = group_id(group)?;
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: a NUL-terminated path; uid -1 leaves the owner as it is.
        if unsafe { libc::chown(c_path.as_ptr(), libc::uid_t::MAX, gid) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!("cannot give the socket to group {group:?}: {e} (the daemon's user must be in it)"));
        }
    }
    Ok(Socket::Unix(listener))
}

/// Removes a socket file nothing answers on (left by a crash).
fn remove_stale(path: &Path) -> Result<(), String> {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return Ok(()) };
    if !meta.file_type().is_socket() {
        return Err("the path exists and is not a socket: not replaced".into());
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err("another program listens on this socket".into());
    }
    std::fs::remove_file(path).map_err(|e| format!("cannot remove the stale socket: {e}"))
}

/// A group's id from its name or number.
fn group_id(group: &str) -> Result<libc::gid_t, String> {
    if let Ok(gid) = group.parse::<libc::gid_t>() {
        return Ok(gid);
    }
    let name = std::ffi::CString::new(group).map_err(|_| format!("group {group:?}: not a name"))?;
    let mut buf = vec![0u8; 16_384];
    // SAFETY: zeroed plain struct, filled by getgrnam_r with pointers into buf.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; buf's length is given.
    let r = unsafe { libc::getgrnam_r(name.as_ptr(), &mut grp, buf.as_mut_ptr().cast(), buf.len(), &mut found) };
    match (r, found.is_null()) {
        (0, false) => Ok(grp.gr_gid),
        (0, true) => Err(format!("no group named {group:?}")),
        (e, _) => Err(format!("group {group:?}: {}", std::io::Error::from_raw_os_error(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(path: &Path) -> Listen {
        Listen::Unix(path.to_path_buf())
    }

    #[test]
    fn unix_sockets_get_their_mode_and_replace_stale_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.sock");
        let access = SocketAccess { mode: 0o600, group: Some(unsafe { libc::getgid() }.to_string()) };
        let (first, made) = open(&unix(&path), Service::Http, &access, &mut Inherited::none()).unwrap();
        assert_eq!(made.as_deref(), Some(path.as_path()));
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        // Still listening: not taken over.
        let e = open(&unix(&path), Service::Http, &access, &mut Inherited::none()).unwrap_err();
        assert_eq!(e, format!("api.http unix:{}: another program listens on this socket", path.display()));
        drop(first);
        // Left behind by a crash: replaced.
        let (again, _) = open(&unix(&path), Service::Resp, &SocketAccess::default(), &mut Inherited::none()).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o660);
        assert_eq!(again.local().unwrap(), unix(&path));
        // Not a socket: left alone.
        let file = dir.path().join("file");
        std::fs::write(&file, "keep").unwrap();
        let e = open(&unix(&file), Service::Resp, &SocketAccess::default(), &mut Inherited::none()).unwrap_err();
        assert!(e.ends_with("the path exists and is not a socket: not replaced"), "{e}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
        let bad = SocketAccess { mode: 0o660, group: Some("no-such-group-here".into()) };
        let e = open(&unix(&dir.path().join("g.sock")), Service::Resp, &bad, &mut Inherited::none()).unwrap_err();
        assert!(e.ends_with("no group named \"no-such-group-here\""), "{e}");
    }

    #[test]
    fn a_tcp_address_in_use_is_a_clear_error() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let e = open(&Listen::Tcp(addr), Service::Https, &SocketAccess::default(), &mut Inherited::none()).unwrap_err();
        assert!(e.starts_with(&format!("api.https {addr}: cannot listen: ")), "{e}");
        assert!(e.contains("in use"), "{e}");
    }

    #[test]
    fn inherited_sockets_are_adopted_by_address_or_name() {
        let dir = tempfile::tempdir().unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp_addr = Listen::Tcp(tcp.local_addr().unwrap());
        let path = dir.path().join("resp.sock");
        let by_name = UnixListener::bind(&path).unwrap();
        let stray = TcpListener::bind("127.0.0.1:0").unwrap();
        let not_listening = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut inherited = Inherited::from_fds(vec![
            (OwnedFd::from(tcp), None),
            (OwnedFd::from(by_name), Some("resp".into())),
            (OwnedFd::from(stray), Some("other".into())),
            (OwnedFd::from(not_listening), None),
        ]);
        let (a, made) = open(&tcp_addr, Service::Http, &SocketAccess::default(), &mut inherited).unwrap();
        assert_eq!(made, None);
        assert_eq!(a.local().unwrap(), tcp_addr);
        // Named for the service, at another path than the configuration's.
        let elsewhere = unix(&dir.path().join("configured.sock"));
        let (b, made) = open(&elsewhere, Service::Resp, &SocketAccess::default(), &mut inherited).unwrap();
        assert_eq!(made, None, "systemd's socket file is systemd's");
        assert_eq!(b.local().unwrap(), unix(&path));
        assert!(!dir.path().join("configured.sock").exists(), "adopted, not bound");
        let left = inherited.leftovers();
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(left[0].contains("(named \"other\"), 127.0.0.1:") && left[0].ends_with("closed"), "{left:?}");
        assert!(left[1].contains("not a listening socket"), "{left:?}");
    }

    #[test]
    fn descriptor_names() {
        assert_eq!(names(2, Some("api.http:unknown")), [Some("api.http".to_owned()), None]);
        assert_eq!(names(3, Some("a")), [Some("a".to_owned()), None, None]);
        assert_eq!(names(1, None), [None]);
        assert!(names(-1, Some("a")).is_empty());
    }
}
