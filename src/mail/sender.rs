//! Handing messages to the mailer program: [`Mailer`], a worker thread behind a bounded
//! queue for the daemon, and [`send_now`] for a command that waits for the outcome.
//!
//! One delivery ([`deliver`]) runs `sendmail[0]` with `sendmail[1..]` as its arguments,
//! never through a shell, writes the message on its standard input from a thread of its
//! own, and waits at most the timeout for it to exit; past that it is killed (by its pid,
//! `Child::kill`) and reaped. Nothing the mailer does can block the caller for longer:
//! a mailer that does not read its input only fills a pipe that the writer thread, not
//! the worker, waits on; a process the mailer leaves behind holding the pipes open only
//! keeps those helper threads (detached) alive until it exits.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStderr, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::MailError;
use crate::config::EmailSettings;

/// How many messages may wait for the mailer. A burst of `action_email` beyond this means
/// the mailer is far behind (or hanging on every message until its timeout); keeping more
/// would only hold memory for mail that arrives late, if at all.
pub const QUEUE_CAPACITY: usize = 64;

/// How long, once the mailer has exited, to wait for the end of its stderr and for the
/// writer thread. Both end with the mailer unless it left a process holding its pipes.
const PIPE_GRACE: Duration = Duration::from_millis(100);

/// The longest pause between two checks of a running mailer.
const POLL_MAX: Duration = Duration::from_millis(20);

/// What of the mailer's stderr goes into an error: the first lines, at most this much.
const STDERR_LINES: usize = 3;
const STDERR_CHARS: usize = 300;
/// What is kept of stderr while reading it (the rest is read and thrown away, so that a
/// chatty mailer does not block on a full pipe).
const STDERR_KEEP: usize = 4096;

/// Sends mail from a worker thread: [`Mailer::send`] only queues, so the journal loop never
/// waits for a mailer. Failures reach the `on_failure` callback, always called on the
/// worker thread (never inside `send`), as one line each.
pub struct Mailer {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a message is queued or the mailer is closed.
    wake: Condvar,
    /// Signalled when the worker has finished.
    done: Condvar,
    /// Set when the owner gives up waiting: the worker kills the running mailer and drops
    /// the queue.
    abandon: AtomicBool,
    capacity: usize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Vec<u8>>,
    /// Messages refused because the queue was full, not yet reported.
    dropped: usize,
    closed: bool,
    finished: bool,
}

impl Mailer {
    /// Starts the worker. Each message is handed to `settings.sendmail` and given
    /// `timeout` to be accepted.
    pub fn start(settings: EmailSettings, timeout: Duration, on_failure: impl Fn(String) + Send + 'static) -> Mailer {
        Mailer::with_capacity(settings, timeout, QUEUE_CAPACITY, on_failure)
    }

    pub(super) fn with_capacity(
        settings: EmailSettings,
        timeout: Duration,
        capacity: usize,
        on_failure: impl Fn(String) + Send + 'static,
    ) -> Mailer {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
            abandon: AtomicBool::new(false),
            capacity: capacity.max(1),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = thread::Builder::new()
            .name("mailer".into())
            .spawn(move || work(&worker_shared, &settings.sendmail, timeout, &on_failure))
            .expect("spawning the mailer thread");
        Mailer { shared, worker: Some(worker) }
    }

    /// Queues a message; never waits for the mailer.
    ///
    /// When [`QUEUE_CAPACITY`] messages are already waiting, this one (the newest) is
    /// dropped and reported, rather than the oldest: what is queued stays in order and is
    /// never taken back, and the first mails of a burst, which tell how it started, are
    /// the ones that get through (later ones mostly repeat them).
    pub fn send(&self, message: impl Into<Vec<u8>>) {
        let mut state = self.lock();
        if state.queue.len() >= self.shared.capacity {
            state.dropped += 1;
        } else {
            state.queue.push_back(message.into());
        }
        drop(state);
        self.shared.wake.notify_one();
    }

    /// Stops taking messages and lets the worker deliver those queued, for at most `wait`.
    /// Then it gives up: the running mailer is killed and what is left is dropped; both are
    /// reported. Returns once the worker has ended (a few milliseconds past `wait` at
    /// worst, plus what it takes the kernel to reap a killed process).
    pub fn shutdown(mut self, wait: Duration) {
        self.close();
        let state = self.lock();
        let (state, _) =
            self.shared.done.wait_timeout_while(state, wait, |s| !s.finished).unwrap_or_else(|p| p.into_inner());
        let finished = state.finished;
        drop(state);
        if !finished {
            self.shared.abandon.store(true, Ordering::SeqCst);
            self.shared.wake.notify_all();
        }
        if let Some(worker) = self.worker.take() {
            // A panic in the worker was already printed by the panic hook.
            let _ = worker.join();
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.shared.wake.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.shared)
    }
}

/// Dropped without [`Mailer::shutdown`] (an early return of the daemon): the worker is told
/// to give up at once and left to end on its own.
impl Drop for Mailer {
    fn drop(&mut self) {
        if self.worker.is_some() {
            self.close();
            self.shared.abandon.store(true, Ordering::SeqCst);
            self.shared.wake.notify_all();
        }
    }
}

/// The state lock; a panic while holding it (in `on_failure`, which runs without it, or
/// here) leaves plain data behind, safe to go on with.
fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|p| p.into_inner())
}

/// The worker: one message at a time, in order, until closed and empty or abandoned.
fn work(shared: &Shared, command: &[String], timeout: Duration, on_failure: &dyn Fn(String)) {
    loop {
        let mut state = lock(shared);
        while state.queue.is_empty() && !state.closed && !shared.abandon.load(Ordering::SeqCst) {
            state = shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        let dropped = std::mem::take(&mut state.dropped);
        let abandoned = match shared.abandon.load(Ordering::SeqCst) {
            true => std::mem::take(&mut state.queue).len(),
            false => 0,
        };
        let next = state.queue.pop_front();
        drop(state);
        if dropped > 0 {
            on_failure(format!(
                "mail not sent: {dropped} message(s) dropped, the queue of {} was full",
                shared.capacity
            ));
        }
        if abandoned > 0 {
            on_failure(format!("mail not sent: {abandoned} queued message(s) dropped at shutdown"));
        }
        let Some(message) = next else { break };
        if let Err(e) = deliver(command, message, timeout, &shared.abandon) {
            on_failure(format!("mail not sent: {e}"));
        }
    }
    lock(shared).finished = true;
    shared.done.notify_all();
}

/// Hands one message to the mailer and waits for its verdict, at most `timeout`; for
/// `banwarden report --send` and other commands that report the outcome themselves.
pub fn send_now(settings: &EmailSettings, message: impl Into<Vec<u8>>, timeout: Duration) -> Result<(), MailError> {
    deliver(&settings.sendmail, message.into(), timeout, &AtomicBool::new(false))
}

/// One run of the mailer: spawn, feed, wait (polling, so that `abandon` is noticed), judge.
fn deliver(command: &[String], message: Vec<u8>, timeout: Duration, abandon: &AtomicBool) -> Result<(), MailError> {
    let (program, args) = command.split_first().ok_or(MailError::NoCommand)?;
    let program = program.as_str();
    // Real time: the timeout bounds a real child process.
    #[allow(clippy::disallowed_methods, reason = "the timeout of a real child process")]
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| MailError::Spawn { program: program.into(), error })?;
    let written = feed(child.stdin.take().expect("stdin is piped"), message);
    let stderr = collect(child.stderr.take().expect("stderr is piped"));
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(error) => {
                stop(&mut child);
                return Err(MailError::Wait { program: program.into(), error });
            }
        }
        #[allow(clippy::disallowed_methods, reason = "the timeout of a real child process")]
        let elapsed = started.elapsed();
        if abandon.load(Ordering::SeqCst) {
            stop(&mut child);
            return Err(MailError::Abandoned { program: program.into() });
        }
        if elapsed >= timeout {
            stop(&mut child);
            let stderr = first_lines(&stderr.recv_timeout(PIPE_GRACE).unwrap_or_default());
            return Err(MailError::Timeout { program: program.into(), timeout, stderr });
        }
        thread::sleep(pause.min(timeout - elapsed));
        pause = (pause * 2).min(POLL_MAX);
    };
    let stderr = first_lines(&stderr.recv_timeout(PIPE_GRACE).unwrap_or_default());
    if !status.success() {
        return Err(MailError::Failed { program: program.into(), status: describe(status), stderr });
    }
    // Exited happy: it must also have read the whole message, or what it sent is cut.
    match written.recv_timeout(PIPE_GRACE) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(MailError::Unread { program: program.into(), error }),
        Err(_) => Err(MailError::Unread {
            program: program.into(),
            error: io::Error::new(io::ErrorKind::TimedOut, "the message was still being written when it exited"),
        }),
    }
}

/// Kills a mailer that is still running and reaps it, so no zombie is left behind.
fn stop(child: &mut Child) {
    // Fails only if it has exited meanwhile, which is what we wanted.
    let _ = child.kill();
    let _ = child.wait();
}

/// Writes the message on the mailer's stdin from a thread, then closes it (EOF). The
/// receiver gets the outcome. The thread ends when the mailer has read everything or
/// when the pipe's last reader is gone: the write then fails with `EPIPE`.
fn feed(mut stdin: ChildStdin, message: Vec<u8>) -> Receiver<io::Result<()>> {
    let (tx, rx) = mpsc::channel();
    let spawned = thread::Builder::new().name("mailer-stdin".into()).spawn(move || {
        block_sigpipe();
        let _ = tx.send(stdin.write_all(&message));
    });
    if let Err(e) = spawned {
        let (tx, rx) = mpsc::channel();
        let _ = tx.send(Err(e));
        return rx;
    }
    rx
}

/// Blocks `SIGPIPE` in the calling thread. Rust's runtime ignores it process-wide, but a
/// command that restores the default (for `banwarden list | head`) would then be killed by
/// a mailer that exits without reading. The signal a write raises is sent to the writing
/// thread (signal(7)): blocked, it stays pending there and goes with the thread.
fn block_sigpipe() {
    // SAFETY: `set` is a local, initialised by sigemptyset before use; pthread_sigmask
    // changes only this thread's mask, and the old mask is not asked for.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Reads the mailer's stderr to its end from a thread, keeping the first [`STDERR_KEEP`]
/// bytes.
fn collect(mut stderr: ChildStderr) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    let _ = thread::Builder::new().name("mailer-stderr".into()).spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stderr.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let room = STDERR_KEEP.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(kept);
    });
    rx
}

/// `exited with status 1`, `killed by signal 9`.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// The first lines of the mailer's stderr on one line, `" / "` between them, control
/// characters made spaces (what banwarden logs, it reads back from the journal).
pub(super) fn first_lines(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>())
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .take(STDERR_LINES)
        .collect();
    let joined = lines.join(" / ");
    match joined.char_indices().nth(STDERR_CHARS) {
        Some((cut, _)) => format!("{}...", &joined[..cut]),
        None => joined,
    }
}
