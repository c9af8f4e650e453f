//! Helpers: run the real binary, in a scratch directory with its
//! configuration ([`TestDir`]), compare with golden files; and the rule
//! for tests that need root or a program ([`require`]: skip on a
//! developer's machine, fail under `CI=true`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// src/testenv.rs, compiled in by `journald` (see there).
pub use super::journald::testenv::{require, require_root};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs banwarden with `args`, feeding `stdin`.
pub fn banwarden(args: &[&str], stdin: &[u8]) -> Output {
    output(Command::new(env!("CARGO_BIN_EXE_banwarden")).args(args).current_dir(root()), stdin)
}

/// The configuration's name in a [`TestDir`].
const CONFIG: &str = "config.json";

/// A temporary directory for one test, holding its configuration and its
/// storage; removed on drop.
pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir { dir: tempfile::tempdir().expect("temporary directory") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` in the directory; its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// Writes the configuration file that [`TestDir::cmd`] passes, with
    /// `STORAGE` replaced by [`TestDir::storage`]; its path.
    pub fn config(&self, json: &str) -> PathBuf {
        self.write(CONFIG, json.replace("STORAGE", self.storage().to_str().unwrap()))
    }

    /// The storage directory, which banwarden makes.
    pub fn storage(&self) -> PathBuf {
        self.path().join("state")
    }

    /// The real binary with `--config` (a global option) set, run in the
    /// repository's root; the caller adds the subcommand.
    pub fn cmd(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_banwarden"));
        command.arg("--config").arg(self.path().join(CONFIG)).current_dir(root());
        command
    }

    /// Runs [`TestDir::cmd`] with `args`, feeding `stdin`.
    pub fn banwarden(&self, args: &[&str], stdin: &[u8]) -> Output {
        output(self.cmd().args(args), stdin)
    }
}

/// Runs `command`, feeding `stdin`, and collects its output.
pub fn output(command: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("banwarden starts");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("banwarden runs");
    writer.join().expect("stdin writer");
    out
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Compares `actual` with the golden file; `BANWARDEN_BLESS=1` rewrites it.
pub fn golden(name: &str, actual: &str) {
    golden_file(&root().join("tests/golden").join(name), actual);
}

/// [`golden`] for a file elsewhere in the tree (a generated file that is
/// committed, such as the man page).
pub fn golden_file(path: &Path, actual: &str) {
    if std::env::var_os("BANWARDEN_BLESS").is_some() {
        std::fs::write(path, actual).expect("golden written");
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with BANWARDEN_BLESS=1 to create it)", path.display()));
    assert!(
        expected == actual,
        "output differs from {}; run with BANWARDEN_BLESS=1 to accept it\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Every `*.json` file under `dir`, in its subdirectories too.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(json_files(&path));
        } else if path.extension().is_some_and(|x| x == "json") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Waits until `done` holds, for at most `secs` seconds; whether it did.
pub fn wait_until(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    true
}

/// A `banwarden run` child. [`Daemon::start`] returns once the daemon says
/// it has started, i.e. its journal is open and positioned: entries written
/// after that are judged (a first run starts at the end of the journal, so
/// entries written before could be skipped on a slow machine). Its stderr
/// is collected by a thread; [`Daemon::stop`] returns it, and
/// [`Daemon::wait_for_stderr`] looks at it while the daemon runs.
pub struct Daemon {
    child: std::process::Child,
    stderr: Option<std::thread::JoinHandle<String>>,
    /// What it has written on stderr so far.
    so_far: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Daemon {
    pub fn start(command: &mut Command) -> Daemon {
        use std::io::BufRead;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("banwarden run starts");
        let pipe = child.stderr.take().expect("stderr piped");
        let (started, ready) = std::sync::mpsc::channel();
        let so_far = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let shared = so_far.clone();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            let mut lines = std::io::BufReader::new(pipe);
            let mut line = Vec::new();
            while lines.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line);
                if text.contains("started, judging entries") {
                    let _ = started.send(());
                }
                all.push_str(&text);
                shared.lock().unwrap().push_str(&text);
                line.clear();
            }
            all
        });
        let daemon = Daemon { child, stderr: Some(reader), so_far };
        if ready.recv_timeout(std::time::Duration::from_secs(30)).is_err() {
            let (status, stderr) = daemon.stop();
            panic!("banwarden run did not start ({status}): {stderr}");
        }
        daemon
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until its stderr holds `needle` `n` times, for at most `secs`
    /// seconds; whether it did.
    pub fn wait_for_stderr(&self, needle: &str, n: usize, secs: u64) -> bool {
        wait_until(secs, || self.so_far.lock().unwrap().matches(needle).count() >= n)
    }

    /// Its exit status, if it has exited (reaped then).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("waitpid")
    }

    /// What it has written on stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.so_far.lock().unwrap().clone()
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: plain kill(2) on our own child's PID.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
    }

    /// SIGTERM, then the exit status and everything it wrote on stderr.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        self.signal(libc::SIGTERM);
        let status = self.child.wait().expect("banwarden run ends");
        let stderr = self.stderr.take().map(|r| r.join().expect("stderr reader")).unwrap_or_default();
        (status, stderr)
    }

    /// SIGKILL; returns what it had written on stderr.
    pub fn kill9(mut self) -> String {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
        self.stderr.take().map(|r| r.join().expect("stderr reader")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// [`require`] as a test sees it, the environment read for real: the test
/// below in a child process of this binary, with `CI=true` and without.
#[test]
fn an_unmet_requirement_skips_or_under_ci_fails() {
    let run = |ci: Option<&str>| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args(["--exact", "util::an_unmet_requirement_in_child", "--nocapture"]);
        command.env("BW_UNMET_CHILD", "1").env_remove("CI");
        if let Some(ci) = ci {
            command.env("CI", ci);
        }
        let out = command.output().unwrap();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let (ok, stdout, stderr) = run(None);
    // "1 passed" also proves the filter found the test.
    assert!(ok && stdout.contains("1 passed") && stderr.contains("skipped: needs a unicorn\n"), "{stdout}{stderr}");
    let (ok, stdout, stderr) = run(Some("true"));
    assert!(!ok && stdout.contains("1 failed"), "{stdout}{stderr}");
    assert!(
        stderr.contains("needs a unicorn, but CI=true: a skip here would hide a broken CI machine"),
        "{stdout}{stderr}"
    );
}

#[test]
fn an_unmet_requirement_in_child() {
    if std::env::var_os("BW_UNMET_CHILD").is_none() {
        return;
    }
    if !require(false, "needs a unicorn") {
        return;
    }
    unreachable!("require(false, ..) went on");
}

/// The sets the default `api.sets` write, shaped as the shipped ruleset
/// makes them (`config::api::default_sets`), for the API servers' tests.
pub const API_SETS: &str = include_str!("api_sets.nft");

/// A test CA and a server certificate for 127.0.0.1 signed by it, made
/// with `openssl` in `dir`: (CA certificate, server certificate, server key).
pub fn test_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    test_ca_for(dir, &["127.0.0.1"])
}

/// [`test_ca`] with a server certificate for these IP addresses (the
/// first is its common name).
pub fn test_ca_for(dir: &Path, ips: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let ca = ["-days", "2", "-subj", "/CN=banwarden test CA", "-keyout", "ca.key", "-out", "ca.crt"];
    openssl(&[&["req", "-x509"][..], &ec, &ca].concat());
    let subject = format!("/CN={}", ips[0]);
    openssl(&[&["req"][..], &ec, &["-subj", &subject, "-keyout", "server.key", "-out", "server.csr"]].concat());
    let names: Vec<String> = ips.iter().map(|ip| format!("IP:{ip}")).collect();
    std::fs::write(dir.join("san.ext"), format!("subjectAltName={}\n", names.join(","))).unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
    ]);
    (dir.join("ca.crt"), dir.join("server.crt"), dir.join("server.key"))
}

/// Runs `command` with `stdin` written to it from a thread (a large input
/// would fill the pipe while the child's output is not read), and waits
/// for its output.
pub fn output_with_stdin(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut input, &data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// A command in the Redis protocol (an array of bulk strings), as
/// `redis-cli --pipe` takes them.
pub fn resp_command(words: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend(format!("${}\r\n", w.len()).bytes());
        out.extend(w.as_bytes());
        out.extend(b"\r\n");
    }
    out
}
