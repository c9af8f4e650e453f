//! The control socket's protocol: one JSON object on one line each way.
//!
//! The client sends `{"command": "status", "top": 20}` and a newline; the
//! daemon answers `{"ok": true, "status": {...}}` (a [`Snapshot`]) or
//! `{"ok": false, "error": "..."}` and closes the connection. A request
//! longer than [`REQUEST_MAX`] bytes, not finished within [`TIMEOUT`], not
//! JSON or naming another command is answered with an error and closed:
//! the socket is only for root and one group, yet a stuck or hostile
//! client must cost no more than a few bytes and one task.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::stats::Snapshot;

/// The longest request line accepted.
pub const REQUEST_MAX: usize = 4096;
/// The longest answer a client reads (a snapshot of thousands of chains
/// and sets is a few hundred KB).
pub const ANSWER_MAX: u64 = 64 << 20;
/// How long either side waits for the other (the loop answers between two
/// entries: milliseconds, unless it is stuck).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The most counter keys a request may ask for.
pub const TOP_MAX: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub command: String,
    /// Counter keys closest to their threshold to include.
    #[serde(default)]
    pub top: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Box<Snapshot>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Answer {
    pub fn error(message: impl Into<String>) -> Answer {
        Answer { ok: false, status: None, error: Some(message.into()) }
    }
}

/// A request line, checked: what to answer if it is refused.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    let request: Request =
        serde_json::from_slice(line).map_err(|e| format!("the request is not a JSON object of this protocol: {e}"))?;
    if request.command != "status" {
        return Err(format!("unknown command {:?} (known: \"status\")", request.command));
    }
    if request.top > TOP_MAX {
        return Err(format!("\"top\": {} is more than {TOP_MAX}", request.top));
    }
    Ok(request)
}

/// Why the daemon could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// Nothing listens: the daemon is not running (or has no control socket).
    #[error("no daemon answers on {path}: {source}")]
    NotRunning { path: String, source: std::io::Error },
    /// The socket is there but this user may not use it.
    #[error("{path}: {source} (the control socket is for root and the group of \"control.group\")")]
    Denied { path: String, source: std::io::Error },
    #[error("the daemon on {path} did not answer well: {why}")]
    Protocol { path: String, why: String },
    #[error("the daemon on {path} refused: {0}", .why)]
    Refused { path: String, why: String },
}

/// Asks the daemon listening on `path` for its status.
pub fn ask_status(path: &Path, top: usize) -> Result<Box<Snapshot>, AskError> {
    let shown = path.display().to_string();
    let mut stream = UnixStream::connect(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::PermissionDenied => AskError::Denied { path: shown.clone(), source },
        _ => AskError::NotRunning { path: shown.clone(), source },
    })?;
    let protocol = |why: String| AskError::Protocol { path: shown.clone(), why };
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    let mut line = serde_json::to_vec(&Request { command: "status".into(), top }).expect("plain data");
    line.push(b'\n');
    stream.write_all(&line).map_err(|e| protocol(format!("cannot send the request: {e}")))?;
    let mut answer = Vec::new();
    BufReader::new(stream.take(ANSWER_MAX))
        .read_until(b'\n', &mut answer)
        .map_err(|e| protocol(format!("cannot read the answer: {e}")))?;
    let answer: Answer = serde_json::from_slice(&answer).map_err(|e| protocol(format!("not an answer: {e}")))?;
    match (answer.ok, answer.status) {
        (true, Some(status)) => Ok(status),
        _ => Err(AskError::Refused { path: shown, why: answer.error.unwrap_or_else(|| "no reason given".into()) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked() {
        assert_eq!(
            parse_request(br#"{"command":"status","top":20}"#),
            Ok(Request { command: "status".into(), top: 20 })
        );
        assert_eq!(parse_request(br#"{"command":"status"}"#).unwrap().top, 0);
        assert!(parse_request(br#"{"command":"reload"}"#).unwrap_err().contains("\"reload\""));
        assert!(parse_request(br#"{"command":"status","top":100000}"#).unwrap_err().contains("100000"));
        assert!(parse_request(br#"{"command":"status","x":1}"#).is_err());
        assert!(parse_request(b"\xff\xfe").is_err());
    }
}
