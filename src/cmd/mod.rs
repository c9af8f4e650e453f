//! Subcommands, one file each. They turn library results into output and
//! exit codes; they are the only place that uses `anyhow`.

mod ban;
mod boot;
mod check;
mod list;
mod migrate;
mod replay;
mod report;
mod run;
mod unban;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::config::{self, Config, ConfigError};

/// Exit code for an invalid configuration or bad usage.
pub const EXIT_INVALID: u8 = 2;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => Ok(check::run(&cli.config, &args)),
        Command::Replay(args) => replay::run(&cli.config, &args),
        Command::Run(args) => run::run(&cli.config, &args),
        Command::Boot => boot::run(&cli.config),
        Command::Ban(args) => ban::run(&cli.config, &args),
        Command::Unban(args) => unban::run(&cli.config, &args),
        Command::List(args) => list::run(&cli.config, &args),
        Command::Report(args) => report::run(&cli.config, &args),
        Command::Migrate(args) => migrate::run(&cli.config, &args),
    }
}

/// Loads the configuration, printing warnings; on failure prints every
/// problem on stderr and returns `None`.
fn load_config(path: &std::path::Path) -> Option<Config> {
    match config::load(path) {
        Ok(config) => {
            for warning in &config.warnings {
                eprintln!("warning: {warning}");
            }
            Some(config)
        }
        Err(err) => {
            report_config_error(&err);
            None
        }
    }
}

/// The backend and normalised set of a set given on the command line.
fn set_of(set: &str, ipset: bool) -> Result<(crate::effect::Backend, String), String> {
    use crate::actions::ban::{ipset_name, nft_set_path};
    use crate::effect::Backend;
    if ipset {
        ipset_name(set).map(|s| (Backend::Ipset, s))
    } else {
        nft_set_path(set).map(|s| (Backend::Nft, s))
    }
}

/// Prints what the store found wrong in its files.
fn warn(message: String) {
    eprintln!("warning: {message}");
}

fn report_config_error(err: &ConfigError) {
    match err {
        ConfigError::Invalid { path, errors, warnings } => {
            for error in errors {
                eprintln!("error: {error}");
            }
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            eprintln!("{path}: invalid: {} error(s), {} warning(s)", errors.len(), warnings.len());
        }
        other => eprintln!("error: {other}"),
    }
}
