//! `control` and `metrics`: where `banwarden status` reaches the running
//! daemon, and where the OpenMetrics endpoint listens.
//!
//! The control socket is a Unix socket only (it tells everything the
//! daemon knows, to root and one group): on by default at
//! [`DEFAULT_CONTROL_SOCKET`], in the service's `RuntimeDirectory=`, for
//! the daemon of the default storage directory and when that directory
//! exists (a daemon run by hand on other state, or a test, has none unless
//! the file names one). The metrics endpoint is off by
//! default and listens on a loopback address or a Unix socket only: the
//! figures name the rules' chains and sets, which are nobody else's
//! business, and a scraper elsewhere can reach it through a proxy that
//! authenticates.

use std::path::PathBuf;

use super::api::{access_from, parse_listen, Listen, SocketAccess};
use super::args::Args;
use super::json::Json;
use super::problem::{Location, Problems};

/// Where the control socket is made by default.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/banwarden/control";
/// The keys of `control`.
pub const CONTROL_KEYS: [&str; 3] = ["socket", "mode", "group"];
/// The keys of `metrics`.
pub const METRICS_KEYS: [&str; 3] = ["listen", "mode", "group"];

/// `control`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlSettings {
    /// The socket's path; `None`: no control socket (`"socket": false`).
    pub socket: Option<PathBuf>,
    /// The path was given (else it is the default, made only when its
    /// directory exists).
    pub given: bool,
    pub access: SocketAccess,
}

impl Default for ControlSettings {
    fn default() -> Self {
        ControlSettings {
            socket: Some(PathBuf::from(DEFAULT_CONTROL_SOCKET)),
            given: false,
            access: SocketAccess::default(),
        }
    }
}

impl ControlSettings {
    /// The socket a daemon on `storage` serves and `status` asks: the
    /// default one belongs to the daemon of the default storage directory
    /// (the service), so that a second daemon on other state, started by
    /// hand or by a test, never takes it.
    pub fn socket_for(&self, storage: &std::path::Path) -> Option<PathBuf> {
        match self.given || storage == std::path::Path::new(super::settings::DEFAULT_STORAGE) {
            true => self.socket.clone(),
            false => None,
        }
    }
}

/// `metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsSettings {
    pub listen: Listen,
    /// Mode and group of a `unix:` listener.
    pub access: SocketAccess,
}

fn absolute_socket(text: &str) -> Result<PathBuf, String> {
    match parse_listen(&format!("unix:{text}"))? {
        Listen::Unix(path) => Ok(path),
        Listen::Tcp(_) => unreachable!("a unix: address"),
    }
}

/// Reads `control`.
pub fn read_control(value: &Json, here: Location, problems: &mut Problems) -> ControlSettings {
    let mut control = ControlSettings::default();
    let mut args = Args::new(Some(value), here, problems);
    match args.get("socket") {
        None => {}
        Some(Json::Bool(false)) => control.socket = None,
        Some(Json::String(path)) => match absolute_socket(path) {
            Ok(path) => {
                control.socket = Some(path);
                control.given = true;
            }
            Err(_) => problems.error(
                &args.at("socket"),
                format!("{path:?}: expected an absolute path of at most 107 bytes, or false for no control socket"),
            ),
        },
        Some(other) => problems.error(
            &args.at("socket"),
            format!("expected the socket's absolute path, or false, found {}", other.type_name()),
        ),
    }
    control.access = access_from(&mut args, problems);
    args.finish(problems);
    control
}

/// Reads `metrics`; `None` when it is wrong (said in `problems`).
pub fn read_metrics(value: &Json, here: Location, problems: &mut Problems) -> Option<MetricsSettings> {
    let errors = problems.errors.len();
    let mut args = Args::new(Some(value), here, problems);
    let listen = match args.string("listen", problems).map(parse_listen) {
        Some(Ok(Listen::Tcp(addr))) if !addr.ip().is_loopback() => {
            problems.error(
                &args.at("listen"),
                format!(
                    "{addr}: the metrics listen on a loopback address (127.0.0.1, [::1]) or a unix: socket only; \
                     they tell the rules and sets to whoever connects, so scrape them from elsewhere \
                     through a proxy that authenticates"
                ),
            );
            None
        }
        Some(Ok(listen)) => Some(listen),
        Some(Err(e)) => {
            problems.error(&args.at("listen"), e);
            None
        }
        None => None,
    };
    let access = access_from(&mut args, problems);
    args.finish(problems);
    let listen = listen?;
    (problems.errors.len() == errors).then_some(MetricsSettings { listen, access })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str, read: impl FnOnce(&Json, &mut Problems)) -> Vec<String> {
        let value: Json = serde_json::from_str(text).unwrap();
        let mut problems = Problems::default();
        read(&value, &mut problems);
        problems.errors.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn metrics_listen_on_loopback_or_unix_only() {
        for good in [r#"{"listen": "127.0.0.1:9101"}"#, r#"{"listen": "[::1]:9101"}"#, r#"{"listen": "unix:/run/m"}"#] {
            let errors = problems_of(good, |v, p| assert!(read_metrics(v, Location::key("metrics"), p).is_some()));
            assert!(errors.is_empty(), "{good}: {errors:?}");
        }
        let errors = problems_of(r#"{"listen": "0.0.0.0:9101"}"#, |v, p| {
            assert!(read_metrics(v, Location::key("metrics"), p).is_none())
        });
        assert!(errors[0].contains("0.0.0.0:9101") && errors[0].contains("loopback"), "{errors:?}");
        let errors = problems_of(r#"{}"#, |v, p| assert!(read_metrics(v, Location::key("metrics"), p).is_none()));
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn the_control_socket_is_on_by_default_and_can_be_moved_or_turned_off() {
        let default = ControlSettings::default();
        assert_eq!(default.socket.as_deref(), Some(std::path::Path::new(DEFAULT_CONTROL_SOCKET)));
        // The default socket is the service's, on the default storage only.
        assert_eq!(default.socket_for("/var/lib/banwarden".as_ref()), default.socket);
        assert_eq!(default.socket_for("/tmp/other".as_ref()), None);
        let mut control = None;
        let errors = problems_of(r#"{"socket": "/run/x/ctl", "group": "adm", "mode": "0640"}"#, |v, p| {
            control = Some(read_control(v, Location::key("control"), p))
        });
        assert!(errors.is_empty(), "{errors:?}");
        let control = control.unwrap();
        assert_eq!(control.socket.as_deref(), Some(std::path::Path::new("/run/x/ctl")));
        assert!(control.given);
        assert_eq!(control.socket_for("/tmp/other".as_ref()).as_deref(), Some(std::path::Path::new("/run/x/ctl")));
        assert_eq!((control.access.mode, control.access.group.as_deref()), (0o640, Some("adm")));
        let errors = problems_of(r#"{"socket": false}"#, |v, p| {
            assert_eq!(read_control(v, Location::key("control"), p).socket, None)
        });
        assert!(errors.is_empty());
        let errors =
            problems_of(r#"{"socket": "relative"}"#, |v, p| drop(read_control(v, Location::key("control"), p)));
        assert!(errors[0].contains("\"relative\""), "{errors:?}");
    }
}
