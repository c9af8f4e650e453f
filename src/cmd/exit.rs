//! The exit codes of every command, in one place (as fd's `exit_codes.rs`):
//! 0 success, 1 a runtime failure (something could not be done), 2 bad
//! usage or an invalid configuration (nothing was tried). clap exits with 2
//! on bad usage by itself.

use std::process::ExitCode;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// Tried, and something failed (a ban refused, a set missing...).
    Failure,
    /// An invalid configuration or argument: nothing was tried.
    Invalid,
    /// `status`: the daemon is not running (3, as LSB's `status` action
    /// and `systemctl status` say it).
    NotRunning,
}

impl Exit {
    /// Success unless `failed`.
    pub fn failed_if(failed: bool) -> Exit {
        if failed {
            Exit::Failure
        } else {
            Exit::Success
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Invalid => 2,
            Exit::NotRunning => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// Whether an error is only that stdout was closed (`banwarden list | head`):
/// not a failure, as in ripgrep, so the command ends quietly with 0.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == BrokenPipe)
            // serde_json's error hides the io::Error it wraps from the chain.
            || cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind) == Some(BrokenPipe)
    })
}

/// `println!` that returns the write error instead of panicking on it.
#[macro_export]
#[doc(hidden)]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_broken_pipes() {
        assert_eq!((Exit::Success.code(), Exit::Failure.code(), Exit::Invalid.code()), (0, 1, 2));
        assert_eq!(Exit::failed_if(true), Exit::Failure);
        let pipe = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe)).context("writing effects");
        assert!(is_broken_pipe(&pipe));
        assert!(!is_broken_pipe(&anyhow::anyhow!("cannot open the journal")));
        let json = serde_json::to_writer(Closed, &1).unwrap_err();
        assert!(is_broken_pipe(&anyhow::Error::from(json)));
    }

    /// A writer whose reader has gone.
    struct Closed;

    impl std::io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
