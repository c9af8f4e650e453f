//! The `banwarden` binary: parse the command line, dispatch, map errors to
//! exit codes (0 success, 1 runtime failure, 2 bad usage or invalid
//! configuration: see `cmd::exit`). A closed stdout (`banwarden list | head`)
//! ends the command quietly with 0.

use std::process::ExitCode;

use clap::Parser;

use banwarden::cli::Cli;
use banwarden::cmd::{self, exit, Exit};

fn main() -> ExitCode {
    // Before anything that could log: the libraries' lines (nftnl, mnl,
    // redis...) go to banwarden's diagnostics instead of nowhere.
    banwarden::diag::install_log_bridge();
    let cli = Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code.into(),
        Err(err) if exit::is_broken_pipe(&err) => Exit::Success.into(),
        Err(err) => {
            eprintln!("banwarden: error: {err:#}");
            Exit::Failure.into()
        }
    }
}
