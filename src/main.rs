//! The `banwarden` binary: parse the command line, dispatch, map errors to
//! exit codes (0 success, 1 runtime failure, 2 bad usage or invalid
//! configuration).

use std::process::ExitCode;

use clap::Parser;

use banwarden::cli::Cli;
use banwarden::cmd;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("banwarden: error: {err:#}");
            ExitCode::from(1)
        }
    }
}
