//! The server in-process: a client over `tokio::io::duplex`, and a loop
//! played by a task that drains the door and answers as the ban service
//! would (refusing what the test's never-ban list holds).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;
use crate::api::{Context, Live};
use crate::bans::Outcome;
use crate::config::api::RespSettings;
use crate::door::{Command, Door, Listing};
use crate::time::FixedClock;
use crate::vocab::{BanRequest, Lifetime, Network, Origin, Refusal, SetRef, Until};

struct Loop {
    /// Every ban request the loop was given, in order, and how many
    /// commands carried them.
    bans: Arc<Mutex<(Vec<BanRequest>, usize)>>,
    unbans: Arc<Mutex<Vec<(Network, Vec<SetRef>, Origin)>>>,
}

const NEVER: &str = "203.0.113.9";

/// A server's shared state, and a task playing the daemon's loop.
fn daemon() -> (Arc<Shared>, Loop) {
    let door = Door::new(crate::door::CAPACITY).unwrap();
    let shared = Shared::new(
        Context {
            door: door.clone(),
            listing: Arc::new(Listing::default()),
            clock: Arc::new(FixedClock::new(1_000_000)),
        },
        Live::from_settings(None, None).unwrap(),
    );
    let state = Loop { bans: Default::default(), unbans: Default::default() };
    let (bans, unbans) = (state.bans.clone(), state.unbans.clone());
    tokio::spawn(async move {
        // Bans already made, with their end: a second ban ending sooner is Kept.
        let mut held: std::collections::HashMap<Network, Until> = Default::default();
        loop {
            for command in door.take() {
                match command {
                    Command::Ban { requests, reply } => {
                        let outcomes = requests
                            .iter()
                            .map(|r| {
                                if r.net.overlaps(&NEVER.parse().unwrap()) {
                                    return Outcome::Refused(Refusal::NeverBan);
                                }
                                let until = match r.lifetime {
                                    Lifetime::Forever => Until::Forever,
                                    Lifetime::For(d) => Until::At(1_000_000 + d.as_micros() as u64),
                                    Lifetime::EndsAt(t) => Until::At(t),
                                };
                                match held.get(&r.net) {
                                    Some(old) if *old >= until => Outcome::Kept(*old),
                                    _ => {
                                        held.insert(r.net, until);
                                        Outcome::Banned(until)
                                    }
                                }
                            })
                            .collect();
                        let mut b = bans.lock().unwrap();
                        b.0.extend(requests);
                        b.1 += 1;
                        drop(b);
                        reply(outcomes);
                    }
                    Command::Unban { net, sets, origin, reply } => {
                        let was = held.remove(&net).is_some();
                        let lifted = sets
                            .iter()
                            .map(|set| crate::bans::Lifted {
                                set: set.clone(),
                                was_stored: was,
                                still_covered: None,
                                let_in: 0,
                                kernel: Ok(()),
                            })
                            .collect();
                        unbans.lock().unwrap().push((net, sets, origin));
                        reply(Ok(lifted));
                    }
                    Command::Reload | Command::Fleet { .. } | Command::Snapshot { .. } => {}
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    (shared, state)
}

fn unix() -> Peer {
    Peer::Unix { uid: 1000, pid: 42 }
}

/// A connected client.
fn connect(shared: &Arc<Shared>, peer: Peer) -> DuplexStream {
    let (client, server) = tokio::io::duplex(1 << 20);
    tokio::spawn(serve_connection(server, peer, shared.clone()));
    client
}

/// The RESP array of a command line.
fn cmd(line: &str) -> Vec<u8> {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = format!("*{}\r\n", words.len());
    for w in words {
        out.push_str(&format!("${}\r\n{w}\r\n", w.len()));
    }
    out.into_bytes()
}

/// Reads until `n` reply lines (CRLF-ended) have come, or the stream ends.
async fn lines(client: &mut DuplexStream, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while got.iter().filter(|&&b| b == b'\n').count() < n {
        match tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(k)) => got.extend_from_slice(&buf[..k]),
            Ok(Err(e)) => panic!("{e}"),
        }
    }
    String::from_utf8_lossy(&got).split_terminator("\r\n").map(String::from).collect()
}

async fn ask(client: &mut DuplexStream, line: &str) -> String {
    client.write_all(&cmd(line)).await.unwrap();
    lines(client, 1).await.join("\n")
}

#[tokio::test]
async fn bans_and_accepts_go_to_the_api_sets_with_integer_replies() {
    let (shared, state) = daemon();
    let mut c = connect(&shared, unix());
    assert_eq!(ask(&mut c, "drop_insert 192.0.2.1").await, ":1");
    assert_eq!(ask(&mut c, "DROP.INSERT 192.0.2.1").await, ":0", "already banned for ever");
    assert_eq!(ask(&mut c, "TTL.DROP.INSERT 2001:db8::/64 600").await, ":1");
    assert_eq!(ask(&mut c, "accept_insert 198.51.100.0/24").await, ":1");
    assert_eq!(ask(&mut c, "drop_delete 192.0.2.1").await, ":1");
    assert_eq!(ask(&mut c, "drop.delete 192.0.2.1").await, ":0", "nothing left to delete");
    let bans = state.bans.lock().unwrap().0.clone();
    let sets: Vec<String> = bans.iter().map(|b| b.set.to_string()).collect();
    assert_eq!(
        sets,
        // A network goes to the networks' set (see `default_sets`).
        [
            "inet banwarden api_drop4",
            "inet banwarden api_drop4",
            "inet banwarden api_drop_net6",
            "inet banwarden api_accept4"
        ]
    );
    assert_eq!(bans[0].lifetime, Lifetime::Forever, "drop_insert is permanent, as in RedisPushIptables");
    assert_eq!(bans[2].lifetime, Lifetime::For(Duration::from_secs(600)));
    assert_eq!(bans[0].origin, Origin::Api { user: "redis:uid=1000".into() });
    assert!(bans.iter().all(|b| !b.replace));
    let unbans = state.unbans.lock().unwrap().clone();
    assert_eq!(unbans[0].1, [SetRef::parse_nft("inet banwarden api_drop4").unwrap()]);
}

#[tokio::test]
async fn bad_input_and_refusals_are_resp_errors_and_the_connection_goes_on() {
    let (shared, state) = daemon();
    let mut c = connect(&shared, unix());
    let e = ask(&mut c, "drop_insert 1.2.3.4;flush").await;
    assert!(e.starts_with("-ERR not an address or network:"), "{e}");
    assert_eq!(
        ask(&mut c, &format!("drop_insert {NEVER}")).await,
        format!("-ERR refused: {NEVER} {}", Refusal::NeverBan)
    );
    assert!(ask(&mut c, "ttl_drop_insert 192.0.2.1 soon").await.starts_with("-ERR invalid count"));
    assert!(ask(&mut c, "drop_insert").await.starts_with("-ERR wrong number of arguments"));
    assert!(ask(&mut c, "CONFIG SET dir /").await.starts_with("-ERR unknown command"));
    assert_eq!(ask(&mut c, "PING").await, "+PONG");
    let bans = state.bans.lock().unwrap().0.clone();
    assert_eq!(bans.len(), 1, "only the parsed address reached the loop: {bans:?}");
}

#[tokio::test]
async fn a_pipeline_is_one_batch_answered_in_order() {
    let (shared, state) = daemon();
    let mut c = connect(&shared, unix());
    let mut pipe = Vec::new();
    for i in 0..1000u32 {
        let line = match i {
            500 => "drop_insert not-an-address".to_string(),
            _ => format!("ttl_drop_insert 10.0.{}.{} 60", i / 256, i % 256),
        };
        pipe.extend(cmd(&line));
    }
    // What redis-cli --pipe ends with: an empty line, then its ECHO.
    pipe.extend(b"\r\n");
    pipe.extend(cmd("ECHO the-end"));
    c.write_all(&pipe).await.unwrap();
    // The client is done sending: everything is still answered.
    c.shutdown().await.unwrap();
    let replies = lines(&mut c, 1002).await;
    assert_eq!(replies.len(), 1002, "{:?}", &replies[replies.len().saturating_sub(3)..]);
    assert!(replies[..500].iter().all(|r| r == ":1"));
    assert!(replies[500].starts_with("-ERR not an address"));
    assert!(replies[501..1000].iter().all(|r| r == ":1"));
    assert_eq!(&replies[1000..], ["$7", "the-end"]);
    let (bans, commands) = state.bans.lock().unwrap().clone();
    assert_eq!(bans.len(), 999);
    assert_eq!(bans[500].net, "10.0.1.245".parse().unwrap(), "the order is kept");
    assert!(commands <= 2, "1,000 pipelined inserts took {commands} commands through the door");
}

#[tokio::test]
async fn tcp_needs_auth_first() {
    let (shared, state) = daemon();
    let tcp = || Peer::Tcp("192.0.2.50:5000".parse().unwrap());
    let mut c = connect(&shared, tcp());
    assert_eq!(ask(&mut c, "drop_insert 192.0.2.1").await, "-NOAUTH Authentication required.");
    assert_eq!(ask(&mut c, "PING").await, "-NOAUTH Authentication required.");
    assert!(ask(&mut c, "HELLO 3").await.starts_with("-NOAUTH"));
    // No resp.password configured: no password is right on TCP.
    assert!(ask(&mut c, "AUTH guess").await.starts_with("-WRONGPASS"));
    assert!(state.bans.lock().unwrap().0.is_empty());
    assert_eq!(ask(&mut c, "QUIT").await, "+OK");

    let resp = RespSettings { password: Some(crate::api::auth::hash("s3cret")), ..RespSettings::default() };
    shared.replace(Live::from_settings(None, Some(resp)).unwrap());
    let mut c = connect(&shared, tcp());
    assert!(ask(&mut c, "AUTH default guess").await.starts_with("-WRONGPASS"));
    assert_eq!(ask(&mut c, "AUTH s3cret").await, "+OK");
    assert_eq!(ask(&mut c, "drop_insert 192.0.2.1").await, ":1");
    let mut c = connect(&shared, tcp());
    c.write_all(&cmd("HELLO 3 AUTH ops s3cret")).await.unwrap();
    assert_eq!(lines(&mut c, 15).await[0], "%7");
    assert_eq!(ask(&mut c, "drop_insert 192.0.2.2").await, ":1");
    let origins: Vec<Origin> = state.bans.lock().unwrap().0.iter().map(|b| b.origin.clone()).collect();
    assert_eq!(origins, [Origin::Api { user: "redis:default".into() }, Origin::Api { user: "redis:ops".into() }]);
}

#[tokio::test]
async fn what_redis_clients_ask_at_start() {
    let (shared, _state) = daemon();
    let mut c = connect(&shared, unix());
    assert_eq!(ask(&mut c, "COMMAND DOCS").await, "*0");
    assert_eq!(ask(&mut c, "CLIENT SETINFO LIB-NAME redis-py").await, "+OK");
    assert_eq!(ask(&mut c, "SELECT 0").await, "+OK");
    assert_eq!(ask(&mut c, "AUTH anything").await, "+OK", "a Unix socket takes any password when none is set");
    c.write_all(&cmd("HELLO 3")).await.unwrap();
    let hello = lines(&mut c, 15).await;
    assert_eq!(hello[0], "%7");
    c.write_all(&cmd("INFO")).await.unwrap();
    let info = lines(&mut c, 2).await.join("\n");
    assert!(info.contains("redis_version:"), "{info}");
    assert_eq!(ask(&mut c, "ping hi").await, "$2\nhi");
    assert_eq!(ask(&mut c, "QUIT").await, "+OK");
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "closed after QUIT");
}

/// Sends `bytes` and expects an error line, then the end of the stream.
async fn closes_with_error(shared: &Arc<Shared>, bytes: &[u8]) -> String {
    let mut c = connect(shared, unix());
    // The server may close before it has read everything: ignore a broken pipe.
    let _ = c.write_all(bytes).await;
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), c.read_to_end(&mut got)).await.expect("closed").unwrap();
    let text = String::from_utf8_lossy(&got).to_string();
    assert!(text.starts_with("-ERR Protocol error"), "{text:?}");
    text
}

#[tokio::test]
async fn broken_framing_and_oversized_commands_close_the_connection() {
    let (shared, state) = daemon();
    closes_with_error(&shared, b"drop_insert 1.2.3.4\r\n").await;
    closes_with_error(&shared, b"+OK\r\n").await;
    closes_with_error(&shared, b"*1\r\n:5\r\n").await;
    closes_with_error(&shared, b"*x\r\n").await;
    let many = cmd(&["ping"; 17].join(" "));
    assert!(closes_with_error(&shared, &many).await.contains("more than 16"));
    // Announced, never sent: nothing is allocated for it, and the
    // connection waits (it is cut off by the frame timeout, tested below).
    let mut c = connect(&shared, unix());
    c.write_all(b"*2\r\n$11\r\ndrop_insert\r\n$999999999999\r\n").await.unwrap();
    c.write_all(&vec![b'x'; MAX_FRAME]).await.unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).await.unwrap();
    assert!(String::from_utf8_lossy(&got).contains("longer than"), "{got:?}");
    assert!(state.bans.lock().unwrap().0.is_empty());
}

#[test]
fn deeply_nested_arrays_do_not_overflow_a_worker_stack() {
    // tokio's workers have 2 MiB stacks; the decoder recurses per level and
    // sees at most MAX_FRAME bytes, so 16,000+ levels at most.
    let nested = b"*1\r\n".repeat(MAX_FRAME / 4 + 10);
    let thread = std::thread::Builder::new().stack_size(2 << 20).spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (shared, _state) = daemon();
            closes_with_error(&shared, &nested).await;
            let shallow = [b"*1\r\n".repeat(20), cmd("ping")].concat();
            assert!(closes_with_error(&shared, &shallow).await.contains("nested arrays"));
        });
    });
    thread.unwrap().join().expect("no stack overflow");
}

#[tokio::test(start_paused = true)]
async fn a_trickled_command_is_cut_off_after_the_frame_timeout() {
    let (shared, _state) = daemon();
    let mut c = connect(&shared, unix());
    // A byte every 2 s: never idle, never complete; cut off at 30 s, before
    // its 17th byte.
    let mut sent = 0;
    for byte in b"*2\r\n$11\r\ndrop_insert" {
        if c.write_all(&[*byte]).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert!(sent <= 16, "{sent} bytes went in");
    let mut got = Vec::new();
    c.read_to_end(&mut got).await.unwrap();
    assert!(String::from_utf8_lossy(&got).contains("still incomplete after 30 s"), "{got:?}");
}

#[tokio::test]
async fn a_full_door_is_busy() {
    let door = Door::new(1).unwrap();
    let shared = Shared::new(
        Context { door: door.clone(), listing: Arc::new(Listing::default()), clock: Arc::new(FixedClock::new(0)) },
        Live::from_settings(None, None).unwrap(),
    );
    door.send(Command::Reload).unwrap();
    let mut c = connect(&shared, unix());
    assert!(ask(&mut c, "drop_insert 192.0.2.1").await.starts_with("-BUSY"));
    assert!(ask(&mut c, "accept_delete 192.0.2.1").await.starts_with("-BUSY"));
}

#[tokio::test]
async fn multi_exec_as_redis_py_pipelines_send_them() {
    let (shared, state) = daemon();
    let mut c = connect(&shared, unix());
    let mut pipe = cmd("MULTI");
    pipe.extend(cmd("drop_insert 192.0.2.1"));
    pipe.extend(cmd("ttl_drop_insert 192.0.2.2 60"));
    pipe.extend(cmd("drop_insert nope"));
    pipe.extend(cmd("EXEC"));
    c.write_all(&pipe).await.unwrap();
    let replies = lines(&mut c, 5).await;
    assert_eq!(replies[..3], ["+OK", "+QUEUED", "+QUEUED"]);
    assert!(replies[3].starts_with("-ERR not an address"));
    assert!(replies[4].starts_with("-EXECABORT"), "{replies:?}");
    assert!(state.bans.lock().unwrap().0.is_empty(), "an aborted transaction bans nothing");
    let mut pipe = cmd("MULTI");
    pipe.extend(cmd("drop_insert 192.0.2.1"));
    pipe.extend(cmd("ttl_drop_insert 192.0.2.2 60"));
    pipe.extend(cmd("ping"));
    pipe.extend(cmd("EXEC"));
    c.write_all(&pipe).await.unwrap();
    let replies = lines(&mut c, 8).await;
    assert_eq!(replies, ["+OK", "+QUEUED", "+QUEUED", "+QUEUED", "*3", ":1", ":1", "+PONG"]);
    let (bans, commands) = state.bans.lock().unwrap().clone();
    assert_eq!((bans.len(), commands), (2, 1), "the transaction's inserts went in one batch");
    assert_eq!(ask(&mut c, "EXEC").await, "-ERR EXEC or DISCARD without MULTI");
    c.write_all(&[cmd("MULTI"), cmd("drop_insert 192.0.2.3"), cmd("DISCARD")].concat()).await.unwrap();
    assert_eq!(lines(&mut c, 3).await, ["+OK", "+QUEUED", "+OK"]);
    assert_eq!(state.bans.lock().unwrap().0.len(), 2, "discarded");
}

#[tokio::test]
async fn a_permanent_ban_asked_again_is_zero() {
    let (shared, _state) = daemon();
    // The loop's listing holds it for ever; the loop itself (as the ban
    // service does) answers Banned(Forever) again.
    let set = SetRef::parse_nft("inet banwarden api_drop4").unwrap();
    let net: Network = "192.0.2.44".parse().unwrap();
    let listed = crate::door::Listed { until: Until::Forever, origin: "api x".into(), start: 0 };
    shared.context.listing.reset([(set, [(net, listed)].into())].into());
    let mut c = connect(&shared, unix());
    assert_eq!(ask(&mut c, "drop_insert 192.0.2.44").await, ":0");
    assert_eq!(ask(&mut c, "ttl_drop_insert 192.0.2.45 60").await, ":1");
}
