//! Subcommands, one file each. They turn library results into output and
//! exit codes; they are the only place that uses `anyhow`.

mod ban;
mod boot;
mod check;
pub mod exit;
mod fleet;
mod hash_password;
mod list;
mod migrate;
mod owner;
mod replay;
mod report;
mod run;
mod status;
mod test;
mod unban;
mod why;

use std::sync::Arc;

use crate::bans::Bans;
use crate::cli::{Cli, Command};
use crate::config::{Config, ConfigError, ConfigFile};
use crate::time::{Clock, SystemClock};
pub use exit::Exit;

pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    if let Command::HashPassword = cli.command {
        // Needs no configuration, and says nothing about where it would be.
        return hash_password::run();
    }
    // SAFETY: geteuid cannot fail and has no side effects.
    let euid = unsafe { libc::geteuid() };
    let Some(file) = ConfigFile::locate(cli.config.as_deref(), euid) else {
        eprintln!("banwarden: error: no home directory to find your configuration in; give --config FILE");
        return Ok(Exit::Invalid);
    };
    if file.is_users_own() {
        let storage = file.default_storage.as_deref().unwrap_or(std::path::Path::new("")).display();
        eprintln!(
            "banwarden: not root and no --config: using your own {} (state in {storage} unless it names a storage)",
            file.path.display()
        );
    }
    match cli.command {
        Command::Check(args) => check::run(&file, &args),
        Command::Replay(args) => replay::run(&file, &args),
        Command::Test(args) => test::run(&file, &args),
        Command::Run(args) => run::run(&file, &args),
        Command::Boot => boot::run(&file),
        Command::Ban(args) => ban::run(&file, &args),
        Command::Unban(args) => unban::run(&file, &args),
        Command::List(args) => list::run(&file, &args),
        Command::Status(args) => status::run(&file, &args),
        Command::Why(args) => why::run(&file, &args),
        Command::Report(args) => report::run(&file, &args),
        Command::Migrate(args) => migrate::run(&file, &args),
        Command::Fleet(crate::cli::FleetCommand::Status(args)) => fleet::status(&file, &args),
        Command::HashPassword => unreachable!("dispatched above"),
    }
}

/// Loads the configuration, printing warnings; on failure prints every
/// problem on stderr and returns `None`.
fn load_config(file: &ConfigFile) -> Option<Config> {
    match file.load() {
        Ok(config) => {
            crate::diag::log_debug(config.settings.debug);
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

/// For commands that change the store or the sets: become the storage
/// directory's owner first (see [`owner`]).
fn act_as_storage_owner(storage: &std::path::Path) -> anyhow::Result<()> {
    owner::become_storage_owner(storage, &[])?;
    Ok(())
}

/// The clock of every command: the one place it is made.
fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// What the admin commands (ban, unban, list, boot) start from: the
/// configuration, acting as the storage's owner, and the ban service.
struct Admin {
    config: Config,
    bans: Bans,
}

/// The admin commands' preamble; `None` when the configuration is invalid
/// (its problems printed).
fn admin(file: &ConfigFile) -> anyhow::Result<Option<Admin>> {
    let Some(config) = load_config(file) else { return Ok(None) };
    admin_of(config).map(Some)
}

/// [`admin`] for a configuration loaded already.
fn admin_of(config: Config) -> anyhow::Result<Admin> {
    act_as_storage_owner(&config.settings.storage)?;
    let mut bans = Bans::new(&config.settings.storage, config.settings.never_ban.clone(), clock());
    bans.set_pairs(config.set_pairs());
    // A ban by hand respects the API's accepts as the daemon does.
    bans.set_allow_sets(config.settings.allow_sets());
    Ok(Admin { config, bans })
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
