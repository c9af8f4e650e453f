//! Test harness: a private systemd-journald, and journal files built from export text.
//!
//! [`PrivateJournald`] runs `/lib/systemd/systemd-journald NAME`, a *namespaced* instance
//! with its own sockets (`/run/systemd/journal.NAME/`) and files
//! (`/var/log/journal/<machine-id>.NAME/`), so tests never write to or read from the host's
//! journal. Readers open it with `journalctl --namespace=NAME` or
//! `sd_journal_open_namespace()`. Every instance has a unique name, so tests may run in
//! parallel; each one is stopped by its PID and its files are removed on drop (panics
//! included).
//!
//! Live entries cannot carry faked trusted fields (`_SYSTEMD_UNIT`, `_UID`, ...), and in a
//! sandbox without systemd as PID 1 they have no unit at all. Tests that need such fields
//! build journal files with [`journal_from_export`] instead.
//!
//! Facts cited as "notes" are measurements in `/work/shared/notes/netlink-and-journal.md`
//! (section sd-journal). `PrivateJournald` needs root and skips without it, and
//! `journal_from_export` skips without `systemd-journal-remote`, each with a "skipped: ..."
//! line on stderr (or a panic under `CI=true`: `util::require`); callers then return early.

use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

// The unit tests' rule for skips, the same file (see its module doc). It is
// compiled in here, and `util` takes it from here, because benches/ include
// this file on its own.
#[path = "../../src/testenv.rs"]
pub mod testenv;
use testenv::{require, require_root};

const JOURNALD: &str = "/lib/systemd/systemd-journald";
const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";
/// journald binds its sockets within a few milliseconds; this only bounds a broken start.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// SIGTERM makes journald sync and close its files first; SIGKILL after this.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long one entry may wait for room in journald's receive queue before we give up.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound for one `journalctl` run (≈ 60k entries/s on export, notes).
const JOURNALCTL_TIMEOUT: Duration = Duration::from_secs(60);

/// One journal entry: its fields in order, values as raw bytes.
pub type Entry = Vec<(String, Vec<u8>)>;

/// A private journald, `/lib/systemd/systemd-journald NAME`, stopped (by PID) and cleaned up
/// on drop.
pub struct PrivateJournald {
    /// A stdout-stream client held open for the instance's life: a hand-started namespaced
    /// journald exits after 30 s without one, datagrams do not count (notes; re-checked).
    _keepalive: UnixStream,
    /// One unbound datagram socket, reused for every entry.
    socket: UnixDatagram,
    socket_path: PathBuf,
    /// Declared last so it is dropped last: stops journald and removes its files.
    instance: Instance,
}

/// The journald process and its files; split out so that a start that fails half-way
/// cleans up too.
struct Instance {
    namespace: String,
    child: Child,
    /// journald's stderr (an anonymous temporary file), quoted when it misbehaves.
    stderr: File,
}

impl PrivateJournald {
    /// Starts one with a unique namespace name, waits until it accepts connections and holds
    /// a stream connection open. `None`, after a "skipped: ..." line on stderr, when not root
    /// or when journald is missing.
    pub fn start() -> Option<PrivateJournald> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        if !require_root("a private journald binds sockets in /run/systemd")
            || !require(Path::new(JOURNALD).exists(), format_args!("{JOURNALD} is missing (Debian package systemd)"))
        {
            return None;
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let namespace = format!("bwtest-{}-{n}", std::process::id());
        // Leftovers of a killed run with the same PID would satisfy the wait below too early.
        remove_files(&namespace);
        write_config(&namespace);
        let stderr = tempfile::tempfile().expect("temporary file for journald's stderr");
        let (child, keepalive) = launch(&namespace, &stderr);
        let instance = Instance { namespace, child, stderr };
        let socket_path = PathBuf::from(format!("/run/systemd/journal.{}/socket", instance.namespace));

        let socket = UnixDatagram::unbound().expect("datagram socket");
        // A blocking send waits while journald's receive queue is full instead of dropping
        // the entry; the timeout only bounds a hung journald (EAGAIN, retried in `send`).
        socket.set_write_timeout(Some(Duration::from_secs(1))).expect("SO_SNDTIMEO");
        Some(PrivateJournald { _keepalive: keepalive, socket, socket_path, instance })
    }

    /// Stops journald (SIGTERM, as systemd would on a restart) and starts it
    /// again on the same namespace and files.
    pub fn restart(&mut self) {
        let pid = self.instance.child.id();
        // SAFETY: kill(2) with our own child's PID, not yet reaped.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        poll(STOP_GRACE, || self.instance.child.try_wait().ok().flatten())
            .unwrap_or_else(|| panic!("journald {} (PID {pid}) ignored SIGTERM", self.namespace()));
        // The dead instance leaves its socket files behind; `launch` takes their existence
        // as "bound", so a send could otherwise reach a file nobody listens on
        // (ECONNREFUSED: seen once in CI, the new instance binding `socket` after `stdout`).
        let dir = PathBuf::from(format!("/run/systemd/journal.{}", self.namespace()));
        for name in SOCKETS {
            match fs::remove_file(dir.join(name)) {
                Err(e) if e.kind() != ErrorKind::NotFound => panic!("{}: {e}", dir.join(name).display()),
                _ => {}
            }
        }
        let (child, keepalive) = launch(&self.instance.namespace, &self.instance.stderr);
        self.instance.child = child;
        self._keepalive = keepalive;
    }

    pub fn namespace(&self) -> &str {
        &self.instance.namespace
    }

    /// The native protocol socket, `/run/systemd/journal.NAME/socket`.
    pub fn socket_path(&self) -> PathBuf {
        self.socket_path.clone()
    }

    /// The PID of journald (to check it is gone after drop).
    pub fn pid(&self) -> u32 {
        self.instance.child.id()
    }

    /// Writes one entry through the native protocol, byte-exact (values may hold newlines or
    /// be non-UTF-8).
    pub fn write(&self, fields: &[(&str, &[u8])]) {
        let mut datagram = Vec::new();
        encode(fields.iter().copied(), &mut datagram);
        self.send(&datagram);
    }

    /// Convenience: MESSAGE, SYSLOG_IDENTIFIER and PRIORITY=6 (info).
    pub fn log(&self, identifier: &str, message: &str) {
        self.write(&[
            ("MESSAGE", message.as_bytes()),
            ("SYSLOG_IDENTIFIER", identifier.as_bytes()),
            ("PRIORITY", b"6"),
        ]);
    }

    /// Writes many entries over the same socket, one datagram each. Measured: ≈ 100k
    /// entries/s (journald is the bottleneck: a non-blocking sender meets a full queue on
    /// most attempts), and all of 100,000 arrive.
    pub fn write_many(&self, entries: impl Iterator<Item = Entry>) {
        let mut datagram = Vec::new();
        for entry in entries {
            datagram.clear();
            encode(entry.iter().map(|(k, v)| (k.as_str(), v.as_slice())), &mut datagram);
            self.send(&datagram);
        }
    }

    /// Sends one datagram. A full receive queue blocks the send (then EAGAIN after the
    /// socket timeout); ENOBUFS means no kernel memory right now: both are retried until
    /// `SEND_TIMEOUT`, so no entry is silently lost.
    fn send(&self, datagram: &[u8]) {
        let deadline = Instant::now() + SEND_TIMEOUT;
        loop {
            let err = match self.socket.send_to(datagram, &self.socket_path) {
                Ok(sent) if sent == datagram.len() => return,
                Ok(sent) => panic!("journald {}: sent {sent} of {} bytes", self.namespace(), datagram.len()),
                Err(e) => e,
            };
            let retry = matches!(err.raw_os_error(), Some(libc::EAGAIN | libc::ENOBUFS));
            if !retry || Instant::now() >= deadline {
                // EMSGSIZE: entries beyond the socket buffer (~200 KiB) would need the
                // memfd variant of the native protocol, which this harness does not do.
                panic!(
                    "journald {}: sending a {}-byte entry: {err}; journald stderr: {}",
                    self.namespace(),
                    datagram.len(),
                    log_of(&self.instance.stderr)
                );
            }
            if err.raw_os_error() == Some(libc::ENOBUFS) {
                thread::sleep(Duration::from_millis(1)); // nothing to poll: memory frees up
            }
        }
    }

    /// Every entry of this journal, through `journalctl --namespace=NAME -o export`
    /// (restricted to `fields` plus the `__`-fields journalctl always adds, if not empty).
    pub fn export(&self, fields: &[&str]) -> Vec<Entry> {
        let mut cmd = Command::new("journalctl");
        cmd.arg(format!("--namespace={}", self.namespace())).args(["-o", "export", "--no-pager"]);
        if !fields.is_empty() {
            cmd.arg(format!("--output-fields={}", fields.join(",")));
        }
        let out = run(&mut cmd, b"", JOURNALCTL_TIMEOUT);
        assert!(out.status.success(), "{cmd:?}: {}: {}", out.status, String::from_utf8_lossy(&out.stderr));
        parse_export(&out.stdout)
    }

    /// Blocks until the journal shows at least `n` entries whose MESSAGE starts with
    /// `prefix`, or panics after `timeout`. journald writes into the mmapped file as it
    /// receives, so this also means the entries are in its files.
    pub fn wait_for(&self, prefix: &str, n: usize, timeout: Duration) {
        let start = Instant::now();
        let mut seen = 0;
        let reached = poll(timeout, || {
            let entries = self.export(&["MESSAGE"]);
            seen = entries
                .iter()
                .filter(|e| field(e, "MESSAGE").is_some_and(|m| m.starts_with(prefix.as_bytes())))
                .count();
            (seen >= n).then_some(())
        });
        if reached.is_none() {
            panic!(
                "journald {}: {seen} of {n} entries with MESSAGE starting {prefix:?} after {:?}; journald stderr: {}",
                self.namespace(),
                start.elapsed(),
                log_of(&self.instance.stderr)
            );
        }
    }

    /// Directory of its journal files (`/var/log/journal/<machine-id>.NAME`, or the `/run`
    /// one if it uses volatile storage).
    pub fn journal_dir(&self) -> PathBuf {
        let dirs = journal_dirs(self.namespace());
        dirs.iter()
            .find(|d| d.is_dir())
            .cloned()
            .unwrap_or_else(|| panic!("journald {}: none of {dirs:?} exists", self.namespace()))
    }
}

/// Spawns journald on `namespace`, waits until it accepts connections, and
/// returns it with a stream connection that keeps it alive.
/// journald's sockets under `/run/systemd/journal.NAME/`; `stdout` second (see `launch`).
const SOCKETS: [&str; 3] = ["socket", "stdout", "dev-log"];

fn launch(namespace: &str, stderr: &File) -> (Child, UnixStream) {
    let mut child = Command::new(JOURNALD)
        .arg(namespace)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr.try_clone().expect("stderr file cloned"))
        .spawn()
        .unwrap_or_else(|e| panic!("{JOURNALD} {namespace}: {e}"));
    let dir = PathBuf::from(format!("/run/systemd/journal.{namespace}"));
    let sockets = SOCKETS.map(|s| dir.join(s));
    // A socket file exists from bind() on, but connect() is refused until listen():
    // a successful connection to `stdout` is the readiness signal.
    let keepalive = poll(START_TIMEOUT, || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("journald {namespace} exited at start ({status}): {}", log_of(stderr));
        }
        if !sockets.iter().all(|s| s.exists()) {
            return None;
        }
        UnixStream::connect(&sockets[1]).ok()
    })
    .unwrap_or_else(|| panic!("journald {namespace} not ready after {START_TIMEOUT:?}: {}", log_of(stderr)));
    // Stream protocol header: identifier, unit (empty), priority, level prefix, and
    // forwarding to syslog, kmsg and console (all off). Nothing is ever sent after it.
    (&keepalive).write_all(b"bwtest-keepalive\n\n6\n0\n0\n0\n0\n").expect("stream header sent to journald");
    (child, keepalive)
}

/// What journald wrote on stderr so far, for panic messages.
fn log_of(stderr: &File) -> String {
    let mut bytes = vec![0; 64 * 1024];
    let len = stderr.read_at(&mut bytes, 0).unwrap_or(0);
    bytes.truncate(len);
    if bytes.is_empty() {
        "(nothing)".into()
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let pid = self.child.id();
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill(2) with our own child's PID, not yet reaped (try_wait above).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            if poll(STOP_GRACE, || self.child.try_wait().ok().flatten()).is_none() {
                eprintln!("journald {} (PID {pid}) ignored SIGTERM for {STOP_GRACE:?}; killing it", self.namespace);
                let _ = self.child.kill();
            }
        }
        // Reaps it (immediate if try_wait already did), so the PID is gone afterwards.
        let _ = self.child.wait();
        remove_files(&self.namespace);
    }
}

/// Builds a journal file from export-format text with `systemd-journal-remote` (which keeps
/// trusted fields such as `_SYSTEMD_UNIT`, notes). Returns `dir`, to be opened as a
/// directory: journal-remote 252 rotates every ~64k entries into further files. `None`,
/// after a "skipped: ..." line, when the program is missing.
pub fn journal_from_export(export: &[u8], dir: &Path) -> Option<PathBuf> {
    let exists = Path::new(JOURNAL_REMOTE).exists();
    if !require(exists, format_args!("{JOURNAL_REMOTE} is missing (Debian package systemd-journal-remote)")) {
        return None;
    }
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut cmd = Command::new(JOURNAL_REMOTE);
    cmd.args(["--split-mode=none", "-o"]).arg(dir.join("x.journal")).arg("-");
    // Measured ≈ 25 MB/s of export text (100k sshd-like entries, 22 MB, 0.9 s): 1 s per MB is
    // a wide margin for a loaded machine.
    let timeout = Duration::from_secs(60 + export.len() as u64 / 1_000_000);
    let out = run(&mut cmd, export, timeout);
    assert!(out.status.success(), "{cmd:?}: {}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    Some(dir.to_path_buf())
}

/// Parses journal export format: entries separated by an empty line; a field is either
/// `NAME=value\n` or `NAME\n` + u64 LE length + bytes + `\n` (binary-safe form).
pub fn parse_export(mut data: &[u8]) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut entry = Entry::new();
    while !data.is_empty() {
        let eol = data.iter().position(|&b| b == b'\n').expect("export: unterminated line");
        let line = &data[..eol];
        data = &data[eol + 1..];
        if line.is_empty() {
            entries.push(std::mem::take(&mut entry));
        } else if let Some(eq) = line.iter().position(|&b| b == b'=') {
            entry.push((String::from_utf8_lossy(&line[..eq]).into_owned(), line[eq + 1..].to_vec()));
        } else {
            let len = data.get(..8).expect("export: truncated binary field length");
            let len = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
            assert_eq!(data.get(8 + len), Some(&b'\n'), "export: binary field not followed by a newline");
            entry.push((String::from_utf8_lossy(line).into_owned(), data[8..8 + len].to_vec()));
            data = &data[9 + len..];
        }
    }
    if !entry.is_empty() {
        entries.push(entry);
    }
    entries
}

/// The value of the first field `name` of `entry`.
pub fn field<'a>(entry: &'a Entry, name: &str) -> Option<&'a [u8]> {
    entry.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_slice())
}

/// Appends one native-protocol datagram to `out`. Every field uses the binary-safe form,
/// valid for any value: `NAME\n` + u64 LE length + bytes + `\n`.
fn encode<'a>(fields: impl Iterator<Item = (&'a str, &'a [u8])>, out: &mut Vec<u8>) {
    for (name, value) in fields {
        // journald silently drops fields with other names (and `_` ones are trusted-only).
        let valid = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_uppercase())
            && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        assert!(valid, "journald would drop field {name:?}: names are A-Z, 0-9, _ and start with a letter");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        out.extend_from_slice(value);
        out.push(b'\n');
    }
}

/// A drop-in read only by this namespace (journald looks in `/run/systemd/journald@NAME.conf.d/`):
/// no rate limiting (on a host where the test runs inside a unit, 100k entries would hit the
/// default 10,000 per 30 s), no forwarding (`PRIORITY=0` would be sent to every terminal by
/// wall), and persistent storage so the files are where readers expect them.
fn write_config(namespace: &str) {
    let dir = PathBuf::from(format!("/run/systemd/journald@{namespace}.conf.d"));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let conf = "[Journal]\nStorage=persistent\nRateLimitBurst=0\nForwardToSyslog=no\n\
                ForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\n";
    fs::write(dir.join("bwtest.conf"), conf).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
}

fn journal_dirs(namespace: &str) -> [PathBuf; 2] {
    let machine_id = fs::read_to_string("/etc/machine-id").expect("/etc/machine-id");
    let name = format!("{}.{namespace}", machine_id.trim());
    [Path::new("/var/log/journal").join(&name), Path::new("/run/log/journal").join(&name)]
}

/// Removes everything a namespace leaves behind (journald does not remove its sockets).
fn remove_files(namespace: &str) {
    let run = [format!("/run/systemd/journal.{namespace}"), format!("/run/systemd/journald@{namespace}.conf.d")];
    for dir in run.iter().map(PathBuf::from).chain(journal_dirs(namespace)) {
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != ErrorKind::NotFound => eprintln!("warning: {}: {e}", dir.display()),
            _ => {}
        }
    }
}

/// Calls `ready` every 5 ms until it returns `Some`, or gives up after `timeout`.
fn poll<T>(timeout: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = ready() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `cmd` with `stdin` as input and collects its output; kills it and panics after
/// `timeout`.
fn run(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin piped");
    let data = stdin.to_vec();
    // Threads, because the child may fill its output pipes before it reads all its input.
    let writer = thread::spawn(move || input.write_all(&data));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).map(|_| bytes)
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr piped")));
    let Some(status) = poll(timeout, || child.try_wait().expect("waitpid")) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} still running after {timeout:?}; killed");
    };
    // A child that exits without reading all its input is reported by its status.
    let _ = writer.join().expect("stdin writer");
    Output {
        status,
        stdout: stdout.join().expect("stdout reader").expect("stdout read"),
        stderr: stderr.join().expect("stderr reader").expect("stderr read"),
    }
}

#[test]
fn private_journald_keeps_fields_byte_exact_and_cleans_up() {
    let Some(journald) = PrivateJournald::start() else { return };
    let entries: [&[(&str, &[u8])]; 3] = [
        &[("MESSAGE", b"bwtest plain"), ("SYSLOG_IDENTIFIER", b"sshd"), ("PRIORITY", b"6"), ("BW_EQ", b"a=b")],
        &[("MESSAGE", b"bwtest latin-1 \xe9\xff\xfe"), ("SYSLOG_IDENTIFIER", b"sshd"), ("PRIORITY", b"4")],
        &[("MESSAGE", b"bwtest two\nlines\n"), ("SYSLOG_IDENTIFIER", b"nginx"), ("BW_EMPTY", b"")],
    ];
    for entry in entries {
        journald.write(entry);
    }
    journald.log("bwlog", "bwtest through log()");
    journald.wait_for("bwtest ", 4, Duration::from_secs(10));

    let exported = journald.export(&[]);
    for written in entries {
        let found = exported
            .iter()
            .find(|e| field(e, "MESSAGE") == Some(written[0].1))
            .unwrap_or_else(|| panic!("entry {:?} not exported", String::from_utf8_lossy(written[0].1)));
        for &(name, value) in written {
            assert_eq!(field(found, name), Some(value), "field {name} of {found:?}");
        }
        assert_eq!(field(found, "_TRANSPORT"), Some(&b"journal"[..]));
        assert_eq!(field(found, "_NAMESPACE"), Some(journald.namespace().as_bytes()));
    }
    let logged = exported.iter().find(|e| field(e, "SYSLOG_IDENTIFIER") == Some(b"bwlog")).expect("log() entry");
    assert_eq!(field(logged, "MESSAGE"), Some(&b"bwtest through log()"[..]));

    let pid = journald.pid();
    let run_dir = journald.socket_path().parent().expect("socket directory").to_path_buf();
    let dirs = [run_dir, journald.journal_dir()];
    assert!(dirs.iter().all(|d| d.is_dir()), "{dirs:?} exist while it runs");
    drop(journald);
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "journald PID {pid} still exists after drop");
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn journal_from_export_keeps_trusted_fields() {
    // Needs no root: journal-remote and `journalctl --directory` work on any writable directory.
    let mut export = b"__REALTIME_TIMESTAMP=1700000000000000\n__MONOTONIC_TIMESTAMP=1000\n\
        _BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT=sshd.service\n_UID=0\n\
        MESSAGE=Invalid user admin from 192.0.2.7 port 22\n\n\
        __REALTIME_TIMESTAMP=1700000001000000\n__MONOTONIC_TIMESTAMP=2000\n\
        _BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT=nginx.service\nMESSAGE\n"
        .to_vec();
    let binary = b"two\nlines \xff";
    export.extend_from_slice(&(binary.len() as u64).to_le_bytes());
    export.extend_from_slice(binary);
    export.extend_from_slice(b"\n\n");

    let tmp = tempfile::tempdir().expect("temporary directory");
    let Some(dir) = journal_from_export(&export, tmp.path()) else { return };
    let mut cmd = Command::new("journalctl");
    cmd.arg("--directory").arg(&dir).args(["-o", "export", "--no-pager"]);
    let out = run(&mut cmd, b"", JOURNALCTL_TIMEOUT);
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    let read = parse_export(&out.stdout);
    assert_eq!(read.len(), 2, "{read:?}");
    assert_eq!(field(&read[0], "_SYSTEMD_UNIT"), Some(&b"sshd.service"[..]));
    assert_eq!(field(&read[0], "_UID"), Some(&b"0"[..]));
    assert_eq!(field(&read[0], "MESSAGE"), Some(&b"Invalid user admin from 192.0.2.7 port 22"[..]));
    assert_eq!(field(&read[1], "_SYSTEMD_UNIT"), Some(&b"nginx.service"[..]));
    assert_eq!(field(&read[1], "MESSAGE"), Some(&binary[..]));
    assert_eq!(field(&read[1], "__REALTIME_TIMESTAMP"), Some(&b"1700000001000000"[..]));
}

/// Measures the write path; run with `--nocapture` to see the figures.
#[test]
fn private_journald_takes_100k_entries() {
    const N: usize = 100_000;
    let started = Instant::now();
    let Some(journald) = PrivateJournald::start() else { return };
    let start_time = started.elapsed();
    let entry = |i: usize| -> Entry {
        vec![
            (
                "MESSAGE".into(),
                format!("bwbulk Failed password for root from 192.0.2.{} port {i}", i % 256).into_bytes(),
            ),
            ("SYSLOG_IDENTIFIER".into(), b"sshd".to_vec()),
            ("PRIORITY".into(), b"6".to_vec()),
        ]
    };
    let written = Instant::now();
    journald.write_many((0..N).map(entry));
    let write_time = written.elapsed();
    journald.wait_for("bwbulk ", N, Duration::from_secs(120));
    let total_time = written.elapsed();
    eprintln!(
        "journald {}: started in {start_time:?}; {N} native writes in {write_time:?} ({:.0}/s); \
         all {N} readable after {total_time:?}",
        journald.namespace(),
        N as f64 / write_time.as_secs_f64()
    );
}

/// Checks the keep-alive connection: without it journald exits after 30 s (notes).
/// Ignored because it takes 35 s.
#[test]
#[ignore]
fn private_journald_outlives_its_idle_exit() {
    let Some(journald) = PrivateJournald::start() else { return };
    thread::sleep(Duration::from_secs(35));
    journald.log("bwlog", "bwtest still there");
    journald.wait_for("bwtest still there", 1, Duration::from_secs(10));
}
