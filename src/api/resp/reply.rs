//! What the server answers, as one enum, written out by the
//! `redis-protocol` crate's encoders: RESP2 frames for everything, and the
//! RESP3 map for `HELLO 3` (every other reply is the same in both
//! versions: integers, simple strings, errors, bulk strings and arrays).

use bytes::{Bytes, BytesMut};
use redis_protocol::resp2::types::BytesFrame as Frame2;
use redis_protocol::resp3::types::{BytesFrame as Frame3, FrameMap};

/// One reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// RedisPushIptables' integer: 1 changed, 0 already so.
    Int(i64),
    /// `+OK`, `+PONG`.
    Status(&'static str),
    Bulk(Bytes),
    /// An error line, its code first (`ERR ...`, `BUSY ...`, `NOAUTH ...`).
    Error(String),
    EmptyArray,
    /// `EXEC`'s replies.
    Array(Vec<Out>),
    /// `HELLO`'s description of the server, in the protocol asked for.
    Hello {
        protocol: u8,
    },
}

/// The server's name and version as `HELLO` and `INFO` give them.
pub const SERVER: &str = "banwarden";
/// The Redis version announced: clients that look at it (to decide which
/// commands to send) see a recent one; the commands here are the same.
pub const REDIS_VERSION: &str = "7.0.0";

/// Appends `out` to `buf` in the wire format.
pub fn encode(out: &Out, buf: &mut BytesMut) {
    // A frame built here from known parts always encodes.
    if let Out::Hello { protocol: 3 } = out {
        let _ = redis_protocol::resp3::encode::complete::extend_encode(buf, &hello3(), false);
    } else {
        let _ = redis_protocol::resp2::encode::extend_encode(buf, &frame(out), false);
    }
}

/// The RESP2 frame of a reply (`HELLO 3` aside: see [`hello3`]).
fn frame(out: &Out) -> Frame2 {
    match out {
        Out::Int(n) => Frame2::Integer(*n),
        Out::Status(s) => Frame2::SimpleString(Bytes::from_static(s.as_bytes())),
        Out::Bulk(b) => Frame2::BulkString(b.clone()),
        Out::Error(e) => Frame2::Error(super::command::one_line(e).into()),
        Out::EmptyArray => Frame2::Array(Vec::new()),
        Out::Array(items) => Frame2::Array(items.iter().map(frame).collect()),
        Out::Hello { protocol } => Frame2::Array(
            hello_fields(*protocol)
                .into_iter()
                .flat_map(|(k, v)| {
                    let value = match v {
                        Value::Text(t) => Frame2::BulkString(t),
                        Value::Number(n) => Frame2::Integer(n),
                        Value::Empty => Frame2::Array(Vec::new()),
                    };
                    [Frame2::BulkString(Bytes::from_static(k.as_bytes())), value]
                })
                .collect(),
        ),
    }
}

/// `HELLO 3`'s answer: a RESP3 map.
fn hello3() -> Frame3 {
    let map: FrameMap<Frame3, Frame3> = hello_fields(3)
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                Value::Text(t) => Frame3::BlobString { data: t, attributes: None },
                Value::Number(n) => Frame3::Number { data: n, attributes: None },
                Value::Empty => Frame3::Array { data: Vec::new(), attributes: None },
            };
            (Frame3::BlobString { data: Bytes::from_static(k.as_bytes()), attributes: None }, value)
        })
        .collect();
    Frame3::Map { data: map, attributes: None }
}

enum Value {
    Text(Bytes),
    Number(i64),
    Empty,
}

/// What Redis's own `HELLO` answers, field by field.
fn hello_fields(protocol: u8) -> Vec<(&'static str, Value)> {
    let text = |s: &'static str| Value::Text(Bytes::from_static(s.as_bytes()));
    vec![
        ("server", text(SERVER)),
        ("version", text(REDIS_VERSION)),
        ("proto", Value::Number(protocol.into())),
        ("id", Value::Number(1)),
        ("mode", text("standalone")),
        ("role", text("master")),
        ("modules", Value::Empty),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(out: Out) -> String {
        let mut buf = BytesMut::new();
        encode(&out, &mut buf);
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[test]
    fn replies_on_the_wire() {
        assert_eq!(wire(Out::Int(1)), ":1\r\n");
        assert_eq!(wire(Out::Status("OK")), "+OK\r\n");
        assert_eq!(wire(Out::Bulk(Bytes::from_static(b"hi"))), "$2\r\nhi\r\n");
        assert_eq!(wire(Out::Error("ERR bad\r\nthing".into())), "-ERR bad  thing\r\n");
        assert_eq!(wire(Out::EmptyArray), "*0\r\n");
        assert_eq!(wire(Out::Array(vec![Out::Int(1), Out::Error("ERR x".into())])), "*2\r\n:1\r\n-ERR x\r\n");
        let two = wire(Out::Hello { protocol: 2 });
        assert!(two.starts_with("*14\r\n$6\r\nserver\r\n$9\r\nbanwarden\r\n"), "{two}");
        let three = wire(Out::Hello { protocol: 3 });
        assert!(three.starts_with("%7\r\n") && three.contains("$5\r\nproto\r\n:3\r\n"), "{three}");
    }
}
