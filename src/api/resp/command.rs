//! The commands a Redis-protocol client may send, as one closed enum, and
//! the parsing of a frame's arguments into it. Parsing is pure: it never
//! reads the settings, the door or the connection's state, so any byte
//! string a client sends can be tried here without a daemon. What is
//! wrong comes back as the text of a RESP error, one line, with the bad
//! value quoted and cut short.

use crate::config::api::Target;
use crate::vocab::{Lifetime, Network};

/// One command, its arguments parsed and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `drop_insert IP`, `accept_insert IP`, `ttl_drop_insert IP SECONDS`,
    /// `ttl_accept_insert IP SECONDS` (and their dotted spellings).
    Insert {
        target: Target,
        net: Network,
        lifetime: Lifetime,
    },
    /// `drop_delete IP`, `accept_delete IP`.
    Delete {
        target: Target,
        net: Network,
    },
    Ping(Option<Vec<u8>>),
    Echo(Vec<u8>),
    Auth {
        user: Option<String>,
        password: Vec<u8>,
    },
    /// `HELLO [protover [AUTH user pass] [SETNAME name]]`.
    Hello {
        protocol: Option<u8>,
        auth: Option<(String, Vec<u8>)>,
    },
    Quit,
    /// `SELECT 0`: the one database there is.
    Select,
    /// `CLIENT SETNAME ...`, `CLIENT SETINFO ...` and the like: answered OK.
    Client,
    /// `COMMAND`, `COMMAND DOCS`: redis-cli asks at start for its hints.
    Command,
    Info,
    /// `MULTI`, `EXEC`, `DISCARD`: redis-py's default pipeline wraps its
    /// commands in them.
    Multi,
    Exec,
    Discard,
}

impl Request {
    /// Whether the request goes to the loop as a ban (gathered with its
    /// neighbours into one batch).
    pub fn is_insert(&self) -> bool {
        matches!(self, Request::Insert { .. })
    }

    /// Whether a client that has not authenticated may send it.
    pub fn before_auth(&self) -> bool {
        matches!(self, Request::Auth { .. } | Request::Hello { .. } | Request::Quit)
    }
}

/// Longest piece of a client's value quoted back in an error.
const QUOTE: usize = 64;

/// `bytes` quoted for an error line: escaped (no CR or LF can end the
/// line early) and cut at [`QUOTE`] characters.
pub fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(QUOTE * 4)]);
    let cut: String = text.chars().take(QUOTE).collect();
    let mut quoted = format!("{cut:?}");
    if cut.len() < bytes.len() {
        quoted.push_str("...");
    }
    quoted
}

/// A whole error line made safe: CR and LF would end the RESP line.
pub fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// Parses one command from its arguments (the frame's bulk strings, the
/// name first). The error is the RESP error's text (`ERR ...`).
pub fn parse(args: &[&[u8]]) -> Result<Request, String> {
    let Some((name, rest)) = args.split_first() else {
        return Err("ERR empty command".into());
    };
    // RedisPushIptables' module registers `drop_insert`, its README shows
    // `drop.insert` and `TTL.DROP.INSERT`: both spellings, any case.
    let lower: String = String::from_utf8_lossy(name).to_ascii_lowercase().replace('.', "_");
    let arity = |want: std::ops::RangeInclusive<usize>| match want.contains(&rest.len()) {
        true => Ok(()),
        false => Err(format!("ERR wrong number of arguments for '{}' command", one_line(&lower))),
    };
    Ok(match lower.as_str() {
        "drop_insert" | "accept_insert" => {
            arity(1..=1)?;
            Request::Insert { target: target_of(&lower), net: network(rest[0])?, lifetime: Lifetime::Forever }
        }
        "ttl_drop_insert" | "ttl_accept_insert" => {
            arity(2..=2)?;
            Request::Insert { target: target_of(&lower), net: network(rest[0])?, lifetime: seconds(rest[1])? }
        }
        "drop_delete" | "accept_delete" => {
            arity(1..=1)?;
            Request::Delete { target: target_of(&lower), net: network(rest[0])? }
        }
        "ping" => {
            arity(0..=1)?;
            Request::Ping(rest.first().map(|m| m.to_vec()))
        }
        "echo" => {
            arity(1..=1)?;
            Request::Echo(rest[0].to_vec())
        }
        "auth" => {
            arity(1..=2)?;
            let (user, password) = match rest {
                [password] => (None, password),
                [user, password] => (Some(String::from_utf8_lossy(user).into_owned()), password),
                _ => unreachable!("arity checked"),
            };
            Request::Auth { user, password: password.to_vec() }
        }
        "hello" => hello(rest)?,
        "quit" => Request::Quit,
        "select" => {
            arity(1..=1)?;
            match rest[0] {
                b"0" => Request::Select,
                other => return Err(format!("ERR DB index is out of range: {} (there is only 0)", quote(other))),
            }
        }
        "client" => Request::Client,
        "command" => Request::Command,
        "info" => Request::Info,
        "multi" => Request::Multi,
        "exec" => Request::Exec,
        "discard" => Request::Discard,
        _ => {
            let listed: Vec<String> = rest.iter().take(3).map(|a| quote(a)).collect();
            return Err(format!("ERR unknown command {}, with args beginning with: {}", quote(name), listed.join(" ")));
        }
    })
}

fn target_of(name: &str) -> Target {
    match name.contains("accept") {
        true => Target::Accept,
        false => Target::Drop,
    }
}

/// An address or network, strictly (no host bits below the prefix).
fn network(arg: &[u8]) -> Result<Network, String> {
    let text = std::str::from_utf8(arg).map_err(|_| format!("ERR not an address or network: {}", quote(arg)))?;
    if text.len() > 64 {
        return Err(format!("ERR not an address or network: {}", quote(arg)));
    }
    Network::target(text).map_err(|e| one_line(&format!("ERR not an address or network: {e}")))
}

/// A TTL in seconds: a whole number of at least 1 (0 would be a ban that
/// never lands; the kernel reads a 0 timeout as none, i.e. forever).
fn seconds(arg: &[u8]) -> Result<Lifetime, String> {
    let invalid = || format!("ERR invalid count: {} (seconds, a whole number from 1)", quote(arg));
    let n: u64 = std::str::from_utf8(arg).ok().and_then(|t| t.parse().ok()).ok_or_else(invalid)?;
    if n == 0 {
        return Err(invalid());
    }
    Lifetime::checked(std::time::Duration::from_secs(n)).map_err(|e| format!("ERR invalid count: {e}"))
}

fn hello(rest: &[&[u8]]) -> Result<Request, String> {
    let Some((version, mut options)) = rest.split_first() else {
        return Ok(Request::Hello { protocol: None, auth: None });
    };
    let protocol = match *version {
        b"2" => 2,
        b"3" => 3,
        _ => return Err("NOPROTO unsupported protocol version (2 and 3 are)".into()),
    };
    let mut auth = None;
    while let Some((option, after)) = options.split_first() {
        match (option.to_ascii_lowercase().as_slice(), after) {
            (b"auth", [user, password, more @ ..]) => {
                auth = Some((String::from_utf8_lossy(user).into_owned(), password.to_vec()));
                options = more;
            }
            (b"setname", [_, more @ ..]) => options = more,
            _ => return Err(format!("ERR syntax error in HELLO option {}", quote(option))),
        }
    }
    Ok(Request::Hello { protocol: Some(protocol), auth })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn p(line: &str) -> Result<Request, String> {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        parse(&args)
    }

    #[test]
    fn both_spellings_in_any_case() {
        let net: Network = "192.0.2.7".parse().unwrap();
        let drop = Request::Insert { target: Target::Drop, net, lifetime: Lifetime::Forever };
        assert_eq!(p("drop_insert 192.0.2.7"), Ok(drop.clone()));
        assert_eq!(p("DROP.INSERT 192.0.2.7"), Ok(drop));
        let ttl = Request::Insert { target: Target::Drop, net, lifetime: Lifetime::For(Duration::from_secs(60)) };
        assert_eq!(p("TTL.DROP.INSERT 192.0.2.7 60"), Ok(ttl.clone()));
        assert_eq!(p("ttl_drop_insert 192.0.2.7 60"), Ok(ttl));
        let accept = Request::Insert { target: Target::Accept, net, lifetime: Lifetime::For(Duration::from_secs(5)) };
        assert_eq!(p("ttl.accept.insert 192.0.2.7 5"), Ok(accept));
        assert_eq!(p("Accept.Delete 192.0.2.7"), Ok(Request::Delete { target: Target::Accept, net }));
        assert_eq!(p("drop_delete 192.0.2.7"), Ok(Request::Delete { target: Target::Drop, net }));
    }

    #[test]
    fn networks_are_taken_strictly() {
        let Ok(Request::Insert { net, .. }) = p("drop_insert 2001:db8::/32") else { panic!() };
        assert_eq!(net, "2001:db8::/32".parse().unwrap());
        let e = p("drop_insert 203.0.113.5/24").unwrap_err();
        assert!(e.starts_with("ERR not an address or network:") && e.contains("203.0.113.0/24"), "{e}");
        for bad in ["1.2.3.4;", "ip saddr 1.2.3.4 drop", "999.1.1.1", "1.2.3.4/33", "", "::ffff:1.2.3.4/200"] {
            let args: Vec<&[u8]> = vec![b"drop_insert", bad.as_bytes()];
            let e = parse(&args).unwrap_err();
            assert!(e.starts_with("ERR not an address or network"), "{bad}: {e}");
        }
        let e = parse(&[b"drop_insert", b"1.2.3.4\r\n+OK"]).unwrap_err();
        assert!(!e.contains('\r') && !e.contains('\n'), "{e}");
        let huge = vec![b'1'; 70_000];
        let e = parse(&[b"drop_insert", &huge]).unwrap_err();
        assert!(e.len() < 200, "a huge value is not echoed whole: {} bytes", e.len());
    }

    #[test]
    fn ttls_are_whole_positive_seconds_the_kernel_can_hold() {
        for bad in ["-1", "0", "1.5", "ten", "99999999999999999999999"] {
            let e = p(&format!("ttl_drop_insert 192.0.2.1 {bad}")).unwrap_err();
            assert!(e.starts_with("ERR invalid count"), "{bad}: {e}");
        }
        let e = p("ttl_drop_insert 192.0.2.1 18446744073709551615").unwrap_err();
        assert!(e.contains("584 years"), "{e}");
    }

    #[test]
    fn arity_and_unknown_commands_are_errors() {
        assert_eq!(p("drop_insert").unwrap_err(), "ERR wrong number of arguments for 'drop_insert' command");
        assert!(p("ttl_drop_insert 192.0.2.1").unwrap_err().contains("wrong number"));
        assert!(p("drop_insert 192.0.2.1 192.0.2.2").unwrap_err().contains("wrong number"));
        let e = p("FLUSHALL now").unwrap_err();
        assert!(e.starts_with("ERR unknown command \"FLUSHALL\""), "{e}");
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn the_session_commands_redis_clients_send() {
        assert_eq!(p("PING"), Ok(Request::Ping(None)));
        assert_eq!(p("echo x"), Ok(Request::Echo(b"x".to_vec())));
        assert_eq!(p("AUTH s3cret"), Ok(Request::Auth { user: None, password: b"s3cret".to_vec() }));
        assert_eq!(
            p("auth default s3cret"),
            Ok(Request::Auth { user: Some("default".into()), password: b"s3cret".to_vec() })
        );
        assert_eq!(p("HELLO"), Ok(Request::Hello { protocol: None, auth: None }));
        assert_eq!(
            p("hello 3 AUTH default pw SETNAME me"),
            Ok(Request::Hello { protocol: Some(3), auth: Some(("default".into(), b"pw".to_vec())) })
        );
        assert!(p("HELLO 4").unwrap_err().starts_with("NOPROTO"));
        assert!(p("HELLO 3 AUTH onlyuser").is_err());
        assert_eq!(p("select 0"), Ok(Request::Select));
        assert!(p("select 1").is_err());
        assert_eq!(p("CLIENT SETNAME x"), Ok(Request::Client));
        assert_eq!(p("COMMAND DOCS"), Ok(Request::Command));
        assert_eq!(p("multi"), Ok(Request::Multi));
        assert_eq!(p("EXEC"), Ok(Request::Exec));
        assert!(p("QUIT").unwrap().before_auth() && !p("PING").unwrap().before_auth());
    }
}
