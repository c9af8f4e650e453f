//! `banwarden run`: follow the journal and judge every new entry.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;

use super::{load_config, EXIT_INVALID};
use crate::cli::RunArgs;
use crate::daemon::{Daemon, Options};
use crate::diag;

/// Set by SIGTERM and SIGINT: finish the current entry, save, exit.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Installs the stop handler. Without SA_RESTART, a wait in progress
/// returns at once (EINTR) and the loop sees the request.
fn install_signal_handlers() -> std::io::Result<()> {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; the struct is fully initialised before use.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = request_stop as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

pub fn run(config_path: &Path, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(config_path) else { return Ok(ExitCode::from(EXIT_INVALID)) };
    install_signal_handlers().context("installing signal handlers")?;
    let options = Options { source: args.journal.source(), from_tail: args.from_tail };
    let daemon = Daemon::open(config, &options)?;
    diag!(Info, "started, judging entries of {}", options.source.describe());
    let totals = daemon.run(&STOP);
    diag!(
        Info,
        "stopped: {} entries judged, {} effects, {} bans, {} step errors",
        totals.judged,
        totals.effects,
        totals.bans,
        totals.step_errors
    );
    Ok(ExitCode::SUCCESS)
}
