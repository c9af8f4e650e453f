//! The signals the daemon obeys: SIGTERM and SIGINT stop it (the current
//! entry is finished, bans sent, position and counters saved), SIGHUP makes
//! it load its configuration again.
//!
//! The handlers only set a flag, which is async-signal-safe; the event loop
//! reads the flags between entries. They are installed without SA_RESTART,
//! so a wait for the journal in progress returns at once (EINTR) and the
//! loop sees the request without waiting out its timeout. SIGHUP also
//! wakes the loop's door ([`wake_with`]), so a reload asked for while the
//! loop waits is acted on at once, however long the wait.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Set by SIGTERM and SIGINT.
pub static STOP: AtomicBool = AtomicBool::new(false);
/// Set by SIGHUP, cleared by [`take_reload`].
static RELOAD: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// The eventfd SIGHUP writes to (-1: none).
static WAKE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn request_reload(_signal: libc::c_int) {
    RELOAD.store(true, Ordering::Relaxed);
    let fd = WAKE.load(Ordering::Relaxed);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: write(2) is async-signal-safe; 8 bytes from a live u64.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

/// Makes SIGHUP wake this eventfd (the loop's door) besides setting its
/// flag. The descriptor must stay open for as long as the handler may run
/// (the door lives as long as the process's daemon).
pub fn wake_with(fd: std::os::fd::RawFd) {
    WAKE.store(fd, Ordering::Relaxed);
}

/// Installs the handlers for SIGTERM, SIGINT and SIGHUP.
pub fn install() -> std::io::Result<()> {
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 3] =
        [(libc::SIGTERM, request_stop), (libc::SIGINT, request_stop), (libc::SIGHUP, request_reload)];
    for (signal, handler) in handlers {
        // SAFETY: the handlers only store to atomics; the struct is fully
        // initialised before use.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether a reload was asked for since the last call.
pub fn take_reload() -> bool {
    RELOAD.swap(false, Ordering::Relaxed)
}

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and the
/// threads it starts), so that the loop's thread stays the one place they
/// are handled: what the servers' and the fleet's threads call first.
pub fn block_in_this_thread() {
    // SAFETY: `set` is a local initialised by sigemptyset; pthread_sigmask
    // changes this thread's mask only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}
