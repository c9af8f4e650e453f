//! A scratch network namespace for the kernel tests of both backends, so that
//! they never touch the host's ruleset or sets.
//!
//! The namespace is made with `ip netns add` and deleted on drop, even when the
//! test panics. The test thread itself never leaves the host namespace: code
//! that talks to the kernel runs on a thread of its own that has entered the
//! namespace with `setns()` (CLONE_NEWNET changes only the calling thread), and
//! a socket opened there stays bound to the namespace afterwards.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;

use crate::testenv;

pub(crate) struct Netns {
    pub(crate) name: String,
}

impl Netns {
    /// `None` when not root: the test then passes as skipped, or fails under
    /// CI (see [`crate::testenv`]).
    pub(crate) fn new(name: String) -> Option<Netns> {
        if !testenv::require_root("network namespaces") {
            return None;
        }
        let ok = Command::new("ip").args(["netns", "add", &name]).status().is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name} failed");
        Some(Netns { name })
    }

    /// `ip netns exec NAME program`, for the caller to add arguments to.
    pub(crate) fn exec(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// Runs `f` on a thread inside the namespace and returns what it returns.
    pub(crate) fn inside<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).expect("opening the netns file");
                // SAFETY: a valid namespace descriptor; CLONE_NEWNET affects this thread only.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap()
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.name]).status();
    }
}
