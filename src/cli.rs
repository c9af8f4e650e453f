//! The command line: a global `--config` and one subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::journal::sd::Source;

#[derive(Debug, Parser)]
#[command(name = "banwarden", version, about = "Watches the systemd journal and bans abusive IP addresses")]
pub struct Cli {
    /// The configuration file (Pyruse's JSON format) [default: /etc/banwarden/banwarden.json
    /// for root, ~/.config/banwarden/banwarden.json for other users]
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration; list every problem with its place
    Check(CheckArgs),
    /// Run recorded journal entries through the rules, printing what would be done
    Replay(ReplayArgs),
    /// Follow the journal and judge every new entry (the daemon)
    Run(RunArgs),
    /// Put every stored ban back into the kernel sets, with the time it has left
    Boot,
    /// Ban an address by hand, in the kernel set and the store together
    Ban(BanArgs),
    /// Lift a ban, from the kernel set(s) and the store together
    Unban(UnbanArgs),
    /// Show every ban: store and kernel side by side
    List(ListArgs),
    /// Print the pending daily report now (or mail it with --send)
    Report(ReportArgs),
    /// Import the ban stores of a Pyruse storage directory
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also check that every firewall set the rules name exists in the kernel with a
    /// suitable type and flags (needs CAP_NET_ADMIN; exit 1 if one does not)
    #[arg(long)]
    pub kernel: bool,
}

#[derive(Debug, Args)]
pub struct BanArgs {
    /// The address to ban (IPv4 or IPv6)
    pub address: String,
    /// The set: "family table set" for nftables ("table set" means family ip), a set name with --ipset
    #[arg(long, value_name = "SET")]
    pub set: String,
    /// How long: seconds ("3600") or nft style ("1d12h", "3d31m16s"); forever when absent
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
    /// The set is an ipset set
    #[arg(long)]
    pub ipset: bool,
}

#[derive(Debug, Args)]
pub struct UnbanArgs {
    /// The address to unban
    pub address: String,
    /// Only from this set (every set the store has it in when absent)
    #[arg(long, value_name = "SET")]
    pub set: Option<String>,
    /// The set is an ipset set
    #[arg(long)]
    pub ipset: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Pyruse's storage directory (where its action_nftBan.py.json is)
    #[arg(long, value_name = "DIR")]
    pub from_pyruse: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Mail it now (text and HTML) with the `email` settings, then forget its lines
    #[arg(long)]
    pub send: bool,
    /// Print the HTML body instead of the text one
    #[arg(long, conflicts_with = "send")]
    pub html: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// One JSON object per ban instead of a table
    #[arg(long)]
    pub json: bool,
}

/// Which journal to read; the system journal when none is given.
#[derive(Clone, Debug, Default, Args)]
pub struct JournalArgs {
    /// Read a journal namespace (as `journalctl --namespace`)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["journal_dir", "journal_file"])]
    pub journal_namespace: Option<String>,

    /// Read every journal file in a directory (e.g. gathered by systemd-journal-remote)
    #[arg(long, value_name = "DIR", conflicts_with = "journal_file")]
    pub journal_dir: Option<PathBuf>,

    /// Read these journal files (repeatable)
    #[arg(long, value_name = "FILE")]
    pub journal_file: Vec<PathBuf>,

    /// With the system journal, read the users' journals too
    #[arg(long)]
    pub user_journals: bool,
}

impl JournalArgs {
    /// Whether a journal was named at all.
    pub fn given(&self) -> bool {
        self.journal_namespace.is_some() || self.journal_dir.is_some() || !self.journal_file.is_empty()
    }

    pub fn source(&self) -> Source {
        if let Some(name) = &self.journal_namespace {
            Source::Namespace(name.clone())
        } else if let Some(dir) = &self.journal_dir {
            Source::Directory(dir.clone())
        } else if !self.journal_file.is_empty() {
            Source::Files(self.journal_file.clone())
        } else {
            Source::System { users: self.user_journals }
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub journal: JournalArgs,

    /// Start at the end of the journal, ignoring the saved position
    #[arg(long)]
    pub from_tail: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Entries in journal export format or JSON lines (`journalctl -o export|json`); stdin when
    /// neither this nor a journal is given
    #[arg(long, short = 'i', value_name = "FILE", conflicts_with_all = ["journal_namespace", "journal_dir", "journal_file"])]
    pub input: Option<PathBuf>,

    #[command(flatten)]
    pub journal: JournalArgs,

    /// Only entries at or after this time ("2025-11-21 13:00", "2025-11-21T12:00:00Z", "@1763726400", "-2h")
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,

    /// Only entries before this time (same forms as --since)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub until: Option<String>,

    /// Print the path of each entry through the chains on stderr
    #[arg(long)]
    pub trace: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_may_start_with_a_hyphen() {
        let cli = Cli::try_parse_from(["banwarden", "replay", "--since", "-7d", "--until", "-2h"]).unwrap();
        let Command::Replay(args) = cli.command else { panic!("not replay") };
        assert_eq!((args.since.as_deref(), args.until.as_deref()), (Some("-7d"), Some("-2h")));
    }
}
