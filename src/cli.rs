//! The command line: a global `--config` and one subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::DEFAULT_PATH;

#[derive(Debug, Parser)]
#[command(name = "banwarden", version, about = "Watches the systemd journal and bans abusive IP addresses")]
pub struct Cli {
    /// The configuration file (Pyruse's JSON format)
    #[arg(long, short = 'c', global = true, value_name = "FILE", default_value = DEFAULT_PATH)]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration; list every problem with its place
    Check,
    /// Run recorded journal entries through the rules, printing what would be done
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Entries in journal export format or JSON lines (`journalctl -o export|json`); stdin when absent
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Print the path of each entry through the chains on stderr
    #[arg(long)]
    pub trace: bool,
}
