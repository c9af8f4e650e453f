//! Reading what Redis answers about the stream: entry IDs, `XREAD`
//! replies, `XINFO STREAM` (whether a host is behind a trim), and the
//! snapshot's members read as entries, as strictly as the stream's.

use redis::aio::MultiplexedConnection;
use redis::Value;

use super::link;
use super::wire::Fields;

/// A stream ID, compared as numbers.
pub fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// A snapshot member ("SET NET") and value ("END HOST BY") as an entry's
/// fields, read as strictly as the stream's.
pub fn snapshot_fields(member: &[u8], value: &[u8]) -> Option<Fields> {
    let member = std::str::from_utf8(member).ok()?;
    let value = std::str::from_utf8(value).ok()?;
    let (set, net) = member.split_once(' ')?;
    let mut parts = value.splitn(3, ' ');
    let (end, host, by) = (parts.next()?, parts.next()?, parts.next().unwrap_or_default());
    let pairs = [("v", "1"), ("op", "ban"), ("host", host), ("set", set), ("net", net), ("end", end), ("by", by)];
    Some(pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect())
}

/// What `XINFO STREAM` says that matters here.
pub struct StreamInfo {
    pub last: String,
    /// The last entry deleted by `XDEL` (Redis 7; trims do not move it).
    pub max_deleted: Option<(u64, u64)>,
    /// The oldest entry left.
    pub first: Option<(u64, u64)>,
    pub length: u64,
}

impl StreamInfo {
    /// Whether entries after `position` may be gone: the oldest entry
    /// left is past it (a trim, `MAXLEN` or `MINID`), the stream is empty
    /// though entries came after it, or one was deleted after it. A host
    /// that had read up to exactly the trimmed edge resynchronises for
    /// nothing, which costs a read of the snapshot and changes nothing.
    pub fn trimmed_past(&self, position: Option<(u64, u64)>) -> bool {
        let last = parse_id(&self.last);
        match self.first {
            Some(first) => Some(first) > position || self.max_deleted > position,
            None => self.length == 0 && last > position,
        }
    }
}

/// `None` when the stream does not exist yet.
pub async fn stream_info(
    con: &mut MultiplexedConnection,
    url: &str,
    stream: &str,
) -> Result<Option<StreamInfo>, String> {
    let reply: Result<Value, _> = redis::cmd("XINFO").arg("STREAM").arg(stream).query_async(con).await;
    let reply = match reply {
        Ok(v) => v,
        Err(e) if e.to_string().contains("no such key") => return Ok(None),
        Err(e) => return Err(link::failure(url, "reading the stream's state (XINFO STREAM)", &e)),
    };
    let pairs: Vec<(String, Value)> = match reply {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|kv| match kv {
                [k, v] => Some((text(k)?, v.clone())),
                _ => None,
            })
            .collect(),
        Value::Map(items) => items.into_iter().filter_map(|(k, v)| Some((text(&k)?, v))).collect(),
        other => return Err(format!("Redis at {url}: XINFO STREAM gave {other:?}")),
    };
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let last = get("last-generated-id").and_then(text).unwrap_or_else(|| "0-0".to_owned());
    let max_deleted = get("max-deleted-entry-id").and_then(text).and_then(|id| parse_id(&id));
    let first = match get("first-entry") {
        Some(Value::Array(entry)) => entry.first().and_then(text).and_then(|id| parse_id(&id)),
        _ => None,
    };
    let length = match get("length") {
        Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    Ok(Some(StreamInfo { last, max_deleted, first, length }))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The entries of an `XREAD` reply: (ID, fields), in order.
pub fn read_reply(reply: Value) -> Result<Vec<(String, Fields)>, String> {
    let streams = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(streams) => streams,
        Value::Map(pairs) => pairs.into_iter().map(|(k, v)| Value::Array(vec![k, v])).collect(),
        other => return Err(format!("unexpected XREAD reply {other:?}")),
    };
    let mut out = Vec::new();
    for stream in streams {
        let Value::Array(mut kv) = stream else { return Err("unexpected XREAD stream".into()) };
        let Some(Value::Array(entries)) = kv.pop() else { return Err("unexpected XREAD entries".into()) };
        for entry in entries {
            let Value::Array(mut parts) = entry else { continue };
            if parts.len() != 2 {
                continue;
            }
            let fields = parts.pop();
            let Some(id) = parts.pop().as_ref().and_then(text) else { continue };
            let mut pairs = Vec::new();
            match fields {
                Some(Value::Array(items)) => {
                    let mut items = items.into_iter();
                    while let (Some(k), Some(v)) = (items.next(), items.next()) {
                        if let (Value::BulkString(k), Value::BulkString(v)) = (k, v) {
                            pairs.push((k, v));
                        }
                    }
                }
                Some(Value::Map(items)) => {
                    for (k, v) in items {
                        if let (Value::BulkString(k), Value::BulkString(v)) = (k, v) {
                            pairs.push((k, v));
                        }
                    }
                }
                _ => {}
            }
            out.push((id, pairs));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::wire::Wire;

    #[test]
    fn ids_compare_as_numbers() {
        assert!(parse_id("1700000000000-10") > parse_id("1700000000000-9"));
        assert!(parse_id("999-0") < parse_id("1000-0"));
        assert_eq!(parse_id("5"), Some((5, 0)));
        assert_eq!(parse_id("x-1"), None);
    }

    #[test]
    fn a_host_behind_a_trim_is_told_from_one_up_to_date() {
        let info = |first: Option<&str>, length, last: &str, deleted: &str| StreamInfo {
            last: last.into(),
            max_deleted: parse_id(deleted),
            first: first.and_then(parse_id),
            length,
        };
        let at = |id: &str| parse_id(id);
        // MAXLEN kept the newest: a host at 10-0 with 50-0 the oldest left.
        assert!(info(Some("50-0"), 100, "150-0", "0-0").trimmed_past(at("10-0")));
        assert!(!info(Some("50-0"), 100, "150-0", "0-0").trimmed_past(at("120-0")));
        // Trimmed to nothing after the host's position, or not.
        assert!(info(None, 0, "150-0", "0-0").trimmed_past(at("120-0")));
        assert!(!info(None, 0, "120-0", "0-0").trimmed_past(at("120-0")));
        // An XDEL after the position.
        assert!(info(Some("10-0"), 100, "150-0", "130-0").trimmed_past(at("120-0")));
    }

    #[test]
    fn snapshot_members_read_as_entries() {
        let fields = snapshot_fields(b"ban4 192.0.2.7", b"1765000000 web-1 rule sshd#3").unwrap();
        let wire = Wire::read(&fields).unwrap();
        assert_eq!((wire.host.as_str(), wire.set.as_str(), wire.by.as_str()), ("web-1", "ban4", "rule sshd#3"));
        assert!(snapshot_fields(b"nospace", b"1 h").is_none());
        assert!(Wire::read(&snapshot_fields(b"ban4 1.2.3.4;x", b"1 h by").unwrap()).is_err());
    }

    #[test]
    fn xread_replies_are_read_in_order() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("banwarden:bans"),
            Value::Array(vec![
                Value::Array(vec![bulk("1-0"), Value::Array(vec![bulk("v"), bulk("1"), bulk("op"), bulk("ban")])]),
                Value::Array(vec![bulk("1-1"), Value::Array(vec![bulk("v"), bulk("1")])]),
            ]),
        ])]);
        let entries = read_reply(reply).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0, "1-0");
        assert_eq!(entries[0].1[1], (b"op".to_vec(), b"ban".to_vec()));
        assert!(read_reply(Value::Nil).unwrap().is_empty());
    }
}
