//! RedisPushIptables' commands over the Redis protocol (RESP2, and RESP3
//! after `HELLO 3`), so that any Redis client bans and allows addresses:
//! `drop_insert`, `ttl_drop_insert`, `accept_insert`, their deletes, and
//! the session commands common clients send (`AUTH`, `HELLO`, `PING`,
//! `ECHO`, `COMMAND`, ...). Frames are decoded and encoded by the
//! `redis-protocol` crate; [`command`] turns a frame into one closed enum,
//! [`session`] carries the commands out through the daemon's door, and
//! this module owns the connection: reading, the limits that keep a
//! hostile client from costing memory or time, and writing the replies.
//!
//! Invariants: every frame already in the buffer is decoded before the
//! connection waits for more, and answered in order; one batch is in
//! flight per connection, while at most [`READ_AHEAD`] bytes of the next
//! are read: past that the client waits, which is the back-pressure a
//! `redis-cli --pipe` of millions of lines meets through the socket. A frame is never allocated from the length a client announces:
//! the decoder only looks at bytes that have arrived, and the buffer of an
//! incomplete frame is bounded by [`MAX_FRAME`].

pub mod command;
pub mod reply;
pub mod session;
#[cfg(test)]
mod tests;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use redis_protocol::resp2::decode::decode_range;
use redis_protocol::resp2::types::RangeFrame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use self::command::Request;
use self::reply::{encode, Out};
use self::session::{Next, Session};
use super::{Peer, Shared};

/// The longest argument (bulk string) taken: addresses, counts and the
/// random string of `redis-cli --pipe` are far shorter.
pub const MAX_ARG: usize = 64 * 1024;
/// The most arguments in one command (`HELLO 3 AUTH u p SETNAME n` is 7).
pub const MAX_ARGS: usize = 16;
/// The most bytes one command may take on the wire: an incomplete frame
/// past this closes the connection (so the buffer never grows beyond it,
/// whatever length the client announces).
pub const MAX_FRAME: usize = MAX_ARG + 4096;
/// Inserts gathered into one `Command::Ban`, a quarter of the door's
/// queue. Big batches matter where the kernel pays per transaction: on
/// Linux 6.18 each commit into an interval set walks the whole set
/// (`nft_rbtree_commit`), and a `--pipe` of 1,000,000 into one took 31.6 s
/// in batches of 16,384 against 38.1 s in batches of 4,096.
pub const MAX_BATCH: usize = 16384;
/// How long a command may take to arrive once its first byte has: a
/// client that trickles one (slowloris) is cut off after this.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(30);
/// The most line ends followed by `*` that one command may hold: none in
/// a command's own framing (its arguments are bulk strings, `$`), only in
/// an argument's bytes; many would be arrays nested in arrays, which the
/// decoder would descend into one stack frame each.
pub const MAX_MARKS: usize = 8;
/// Bytes read ahead while a batch is carried out: about two batches of
/// bulk inserts; past this the client waits (TCP's back-pressure).
pub const READ_AHEAD: usize = 2 * 1024 * 1024;
/// Bytes read at a time by a connection that sends now and then.
const READ_CHUNK: usize = 16 * 1024;
/// Bytes read at a time by one that keeps the buffer full (a bulk load):
/// enough for [`MAX_BATCH`] inserts of about 50 bytes, so that batches
/// reach their size.
const BULK_CHUNK: usize = 1024 * 1024;

/// Serves the Redis protocol on one accepted connection (TLS already done,
/// if any) until the client is gone or says QUIT.
pub async fn serve_connection<S>(stream: S, peer: Peer, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // Errors of the stream (a reset, a broken pipe) end the connection:
    // there is nobody left to tell.
    let _ = Connection::new(stream, peer, shared).serve().await;
}

struct Connection<S> {
    stream: S,
    session: Session,
    input: BytesMut,
    output: BytesMut,
    /// Runs from the first byte of a command still incomplete.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Bytes of `input` already tried by the decoder without a complete
    /// frame: it tries again only once a line end has arrived after them.
    tried: usize,
    /// The last read filled all the room it had: a bulk load.
    bulk: bool,
    /// The client has closed its side: what is in the buffer is the last.
    eof: bool,
}

impl<S> Connection<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    fn new(stream: S, peer: Peer, shared: Arc<Shared>) -> Self {
        Connection {
            stream,
            session: Session::new(peer, shared),
            input: BytesMut::with_capacity(READ_CHUNK),
            output: BytesMut::new(),
            deadline: None,
            tried: 0,
            bulk: false,
            eof: false,
        }
    }

    async fn serve(&mut self) -> std::io::Result<()> {
        loop {
            let (requests, fatal) = self.decode();
            if !requests.is_empty() || fatal.is_some() {
                // A command completed: what is left began arriving after it.
                self.deadline = None;
                let next = self.run(requests).await?;
                if let Some(error) = &fatal {
                    encode(&Out::Error(error.clone()), &mut self.output);
                }
                if !self.output.is_empty() {
                    self.stream.write_all(&self.output).await?;
                    self.output.clear();
                }
                if next == Next::Close || fatal.is_some() {
                    return self.stream.shutdown().await;
                }
                // More complete frames may wait in the buffer, read while
                // the batch was carried out.
                continue;
            }
            if self.eof {
                return Ok(());
            }
            if !self.input.is_empty() && self.deadline.is_none() {
                self.deadline = Some(Box::pin(tokio::time::sleep(FRAME_TIMEOUT)));
            }
            if self.input.is_empty() && !self.bulk && self.input.capacity() > READ_CHUNK {
                // A bulk load is over: its buffer goes back.
                self.input = BytesMut::new();
            }
            let read = match self.deadline.as_mut() {
                None => read_some(&mut self.stream, &mut self.input, self.bulk).await?,
                Some(deadline) => tokio::select! {
                    read = read_some(&mut self.stream, &mut self.input, self.bulk) => read?,
                    () = deadline.as_mut() => {
                        let error = format!("ERR Protocol error: a command still incomplete after {} s", FRAME_TIMEOUT.as_secs());
                        encode(&Out::Error(error), &mut self.output);
                        self.stream.write_all(&self.output).await?;
                        return self.stream.shutdown().await;
                    }
                },
            };
            self.after_read(read);
        }
    }

    /// Carries out a batch of requests, reading on meanwhile (up to
    /// [`READ_AHEAD`] bytes), so that the next batch is whole when this
    /// one is answered: one batch in flight, the next one gathering.
    async fn run(&mut self, requests: Vec<Result<Request, String>>) -> std::io::Result<Next> {
        let Connection { stream, session, input, output, bulk, eof, .. } = self;
        let run = session.run(requests, output);
        tokio::pin!(run);
        loop {
            let room = !*eof && input.len() < READ_AHEAD;
            tokio::select! {
                next = &mut run => return Ok(next),
                read = read_some(stream, input, *bulk), if room => {
                    let read = read?;
                    *eof = read.0 == 0;
                    *bulk = read.0 > 0 && read.0 == read.1;
                }
            }
        }
    }

    fn after_read(&mut self, (read, room): (usize, usize)) {
        self.eof = read == 0;
        self.bulk = read > 0 && read == room;
    }

    /// Decodes the complete frames in the buffer (at most [`MAX_BATCH`]),
    /// each into a request or the error to answer; and the error that must
    /// close the connection, if the input cannot go on.
    fn decode(&mut self) -> (Vec<Result<Request, String>>, Option<String>) {
        let mut requests = Vec::new();
        // Without a line end after what was tried, no frame can be complete.
        if memchr::memchr(b'\n', &self.input[self.tried.min(self.input.len())..]).is_none() {
            self.tried = self.input.len();
            return (requests, self.too_long());
        }
        // Where array headers could begin inside a frame: the decoder
        // recurses once per nested array, so it sees at most a few.
        let marks: Vec<usize> = memchr::memmem::find_iter(&self.input, b"\n*").collect();
        let mut mark = 0;
        let mut used = 0;
        let mut fatal = None;
        let mut incomplete = false;
        while requests.len() < MAX_BATCH && used < self.input.len() {
            // Empty lines between commands are skipped, as Redis skips an
            // empty inline command: `redis-cli --pipe` puts one before the
            // ECHO that ends its load.
            if matches!(self.input[used], b'\r' | b'\n') {
                used += 1;
                continue;
            }
            while mark < marks.len() && marks[mark] < used {
                mark += 1;
            }
            let nesting_cut = marks.get(mark + MAX_MARKS).map(|&at| at + 1);
            let end = self.input.len().min(used + MAX_FRAME).min(nesting_cut.unwrap_or(usize::MAX));
            let rest = &self.input[used..end];
            match decode_range(rest) {
                Ok(Some((frame, len))) => {
                    match arguments(&frame, rest) {
                        Ok(args) => requests.push(command::parse(&args)),
                        Err(e) => {
                            fatal = Some(e);
                            break;
                        }
                    }
                    used += len;
                }
                Ok(None) if nesting_cut.is_some_and(|cut| cut == end) => {
                    fatal = Some(format!(
                        "ERR Protocol error: nested arrays, or more than {MAX_MARKS} line ends followed by '*' in one command"
                    ));
                    break;
                }
                Ok(None) => {
                    incomplete = true;
                    break;
                }
                Err(e) => {
                    let e = format!("ERR Protocol error: {}", command::one_line(&e.to_string()));
                    fatal = Some(e + " (commands are RESP arrays of bulk strings)");
                    break;
                }
            }
        }
        self.input.advance(used);
        self.tried = if incomplete { self.input.len() } else { 0 };
        // Only an incomplete command can be too long: complete ones read
        // ahead may fill the buffer past the bound.
        (requests, fatal.or_else(|| if incomplete { self.too_long() } else { None }))
    }

    /// The error closing a connection whose incomplete command is already
    /// longer than any command may be.
    fn too_long(&self) -> Option<String> {
        (self.input.len() >= MAX_FRAME).then(|| {
            format!("ERR Protocol error: a command longer than {MAX_FRAME} bytes (arguments are at most {MAX_ARG})")
        })
    }
}

/// Reads what has arrived, with room for a chunk of its size; (bytes
/// read, room there was).
async fn read_some<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    input: &mut BytesMut,
    bulk: bool,
) -> std::io::Result<(usize, usize)> {
    input.reserve(if bulk { BULK_CHUNK } else { READ_CHUNK });
    let room = input.capacity() - input.len();
    Ok((stream.read_buf(input).await?, room))
}

/// The arguments of a command frame: an array of at most [`MAX_ARGS`] bulk
/// strings of at most [`MAX_ARG`] bytes each; anything else closes the
/// connection (no client sends it, and a stream that does is not in step).
fn arguments<'a>(frame: &RangeFrame, buf: &'a [u8]) -> Result<Vec<&'a [u8]>, String> {
    let RangeFrame::Array(items) = frame else {
        return Err("ERR Protocol error: a command is an array of bulk strings".into());
    };
    if items.len() > MAX_ARGS {
        return Err(format!("ERR Protocol error: {} arguments, more than {MAX_ARGS}", items.len()));
    }
    items
        .iter()
        .map(|item| match item {
            RangeFrame::BulkString((start, end)) if end - start <= MAX_ARG => Ok(&buf[*start..*end]),
            RangeFrame::BulkString(_) => Err(format!("ERR Protocol error: an argument longer than {MAX_ARG} bytes")),
            _ => Err("ERR Protocol error: a command is an array of bulk strings".into()),
        })
        .collect()
}
