//! The command line: a global `--config` and one subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::journal::sd::Source;
use crate::vocab::{Backend, Lifetime, Network, SetRef};

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
    /// Run log lines through the rules as a service's entries, showing the path each takes,
    /// what filters set, the counters and what would be done, without doing it (exit 0 once
    /// run, whatever the verdict)
    Test(TestArgs),
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
    /// Show what the running daemon is doing: entries judged, per-chain matches and bans,
    /// sets, counters near their threshold, errors, latency (exit 3 when it is not running,
    /// after what its files tell)
    Status(StatusArgs),
    /// Say why an address is banned: every ban of it with who made it, the counter and the
    /// journal entry that led to it; exit 0 when banned, 1 when not
    Why(WhyArgs),
    /// Print the pending daily report now (or mail it with --send)
    Report(ReportArgs),
    /// Import the ban stores of a Pyruse storage directory
    Migrate(MigrateArgs),
    /// The bans shared with the other hosts through Redis (the configuration's fleet key)
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Print the argon2id hash of a password, for api.users and resp.password (reads one
    /// line from standard input, or prompts twice without echo on a terminal)
    HashPassword,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also check that every firewall set the rules name exists in the kernel with a
    /// suitable type and flags (needs CAP_NET_ADMIN; exit 1 if one does not)
    #[arg(long)]
    pub kernel: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The line was logged by this unit's main process ("sshd.service"; "sshd" means
    /// sshd.service): _SYSTEMD_UNIT, and SYSLOG_IDENTIFIER and _COMM from its name, _UID 0,
    /// _TRANSPORT syslog, as journald records a typical service's line
    #[arg(long, value_name = "UNIT")]
    pub unit: Option<String>,
    /// SYSLOG_IDENTIFIER (and _COMM); without --unit, the line is what `logger -t NAME`
    /// typed by you in a login session gives (your _UID, unit session-1.scope)
    #[arg(long, value_name = "NAME")]
    pub identifier: Option<String>,
    /// Add a field, or replace one of those above ("_UID=33", "_TRANSPORT=journal");
    /// repeatable
    #[arg(long = "field", value_name = "NAME=VALUE", value_parser = field_value)]
    pub fields: Vec<(String, String)>,
    /// The counters start empty, or with the daemon's last saved ones (counters.json in the
    /// storage directory, read only)
    #[arg(long, value_enum, value_name = "FROM", default_value = "empty")]
    pub counters: CountersFrom,
    /// One JSON object per line instead of text
    #[arg(long)]
    pub json: bool,
    /// The log line (MESSAGE); without it, lines are read from stdin, one entry each, and
    /// run in order through the same counters
    #[arg(value_name = "LINE")]
    pub line: Option<String>,
}

/// Where `banwarden test`'s counters start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CountersFrom {
    Empty,
    Saved,
}

/// `--field NAME=VALUE`: a journal field name or one a rule captures.
fn field_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() && !name.contains(char::is_whitespace) => {
            Ok((name.to_owned(), value.to_owned()))
        }
        _ => Err(format!("{text:?} is not NAME=VALUE (a field name, \"=\", its value)")),
    }
}

#[derive(Debug, Args)]
pub struct BanArgs {
    /// The address or network to ban (IPv4 or IPv6: "203.0.113.7", "203.0.113.0/24",
    /// "2001:db8:1:2::/64"); a network needs a set that takes networks
    #[arg(value_parser = address, value_name = "ADDRESS")]
    pub address: Network,
    /// The set: "family table set" for nftables ("table set" means family ip), a set name with --ipset
    #[arg(long, value_name = "SET")]
    pub set: String,
    /// How long: seconds ("3600") or nft style ("1d12h", "3d31m16s"); forever when absent
    #[arg(long = "for", value_name = "DURATION", value_parser = lifetime)]
    pub duration: Option<Lifetime>,
    /// The set is an ipset set
    #[arg(long)]
    pub ipset: bool,
    /// Replace a ban already in place even if it ends later (without it, a ban only ever
    /// extends: a shorter one leaves the longer one as it is)
    #[arg(long)]
    pub replace: bool,
    /// Why, in your words: kept with the ban in the store and shown by `why` and `list` (at
    /// most 200 characters are kept)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Share the ban with the fleet too: once banned here, it waits in the spool
    /// (fleet.spool in the storage directory) for the daemon to publish it (always so when
    /// fleet.share names "cli")
    #[arg(long)]
    pub fleet: bool,
}

impl BanArgs {
    /// The set, parsed for its backend (`--set` alone cannot know it).
    pub fn set(&self) -> Result<SetRef, clap::Error> {
        set(&self.set, self.ipset)
    }

    pub fn lifetime(&self) -> Lifetime {
        self.duration.unwrap_or(Lifetime::Forever)
    }
}

#[derive(Debug, Args)]
pub struct UnbanArgs {
    /// The address or network to unban (a network as it was banned: "203.0.113.0/24")
    #[arg(value_parser = address, value_name = "ADDRESS")]
    pub address: Network,
    /// Only from this set (every set the store has it in when absent)
    #[arg(long, value_name = "SET")]
    pub set: Option<String>,
    /// The set is an ipset set
    #[arg(long)]
    pub ipset: bool,
    /// Lift it on every host of the fleet too, through the spool the daemon publishes
    /// (always so when fleet.share names "cli"); with --set, even when this host had no
    /// such ban
    #[arg(long)]
    pub fleet: bool,
}

impl UnbanArgs {
    pub fn set(&self) -> Result<Option<SetRef>, clap::Error> {
        self.set.as_deref().map(|s| set(s, self.ipset)).transpose()
    }
}

/// An address or network as clap's value parser: the same reading as a
/// log field's (or a store's, for a network), and one that can be a peer's
/// (not 0.0.0.0, a broadcast or multicast one).
fn address(text: &str) -> Result<Network, String> {
    let net = Network::target(text)?;
    match crate::vocab::is_peer(net.first()) {
        true => Ok(net),
        false => Err(format!("{net} is never the address of a peer (unspecified, broadcast, multicast or reserved)")),
    }
}

/// A ban's length: at least a second, as the kernel counts no less. 0 is
/// refused rather than read as a second (a rule's `banSeconds: 0` means
/// permanent); a length beyond what the kernel can hold is refused too.
fn lifetime(text: &str) -> Result<Lifetime, String> {
    let d = crate::time::parse_duration(text)?;
    if d.is_zero() {
        return Err("0 is no length: leave --for out for a permanent ban".to_owned());
    }
    Lifetime::checked(d.max(std::time::Duration::from_secs(1)))
}

/// `--set` with `--ipset`, as a usage error (exit 2) when it names no set.
fn set(text: &str, ipset: bool) -> Result<SetRef, clap::Error> {
    let backend = if ipset { Backend::Ipset } else { Backend::Nft };
    SetRef::parse(backend, text).map_err(|e| {
        use clap::CommandFactory;
        Cli::command().error(clap::error::ErrorKind::ValueValidation, format!("invalid value for '--set <SET>': {e}"))
    })
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Whether the daemon is connected to Redis, its position in the stream and its lag,
    /// what it published and what waits, and what each other host's entries did here
    /// (exit 0 when running and connected, 1 when not, 2 without a fleet key)
    Status(FleetStatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the daemon's snapshot as JSON (with "running": true), or what the files tell
    /// (with "running": false)
    #[arg(long)]
    pub json: bool,
    /// The control socket to ask [default: control.socket of the configuration,
    /// /run/banwarden/control]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Counter keys closest to their threshold to show
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u16).range(0..=1000))]
    pub top: u16,
}

#[derive(Debug, Args)]
pub struct FleetStatusArgs {
    /// The daemon's status file as JSON, with "running" (true or false) added
    #[arg(long)]
    pub json: bool,
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
    /// Only the bans of this address or network and of the networks that hold it, each
    /// set asked by one kernel lookup (fast whatever the set's size)
    #[arg(value_parser = address, value_name = "ADDRESS")]
    pub address: Option<Network>,
    /// Read every kernel set whole, however large (without it, an nftables set with over
    /// 50,000 stored bans or an ipset of over 200,000 elements is not read, and the listing
    /// says so): what shows the elements added by hand to a large set
    #[arg(long, conflicts_with = "address")]
    pub kernel: bool,
    /// One JSON object per ban instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The address or network to explain (the bans of the networks that hold it count)
    #[arg(value_parser = address, value_name = "ADDRESS")]
    pub address: Network,
    /// One JSON document, with every field of the journal entries found
    #[arg(long)]
    pub json: bool,
    /// The journal the daemon reads, where the entries that led to a ban are looked up
    #[command(flatten)]
    pub journal: JournalArgs,
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
            Source::System { users: self.user_journals, other_machines: false }
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
    /// Entries in journal export format or JSON lines (`journalctl -o export|json`); "-" for
    /// stdin, which is also read when neither this nor a journal is given (unless stdin is a
    /// terminal: replay then says what it needs and exits with 2)
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
    fn addresses_durations_and_sets_are_parsed_by_clap() {
        let cli = Cli::try_parse_from(["banwarden", "ban", "::ffff:192.0.2.7", "--set", "t s", "--for", "1h"]).unwrap();
        let Command::Ban(args) = cli.command else { panic!("not ban") };
        assert_eq!(args.address.to_string(), "192.0.2.7");
        assert_eq!(args.lifetime().seconds(), Some(3600));
        assert_eq!(args.set().unwrap().to_string(), "ip t s");
        let bad = Cli::try_parse_from(["banwarden", "ban", "1.2.3.4; nft flush ruleset", "--set", "t s"]).unwrap_err();
        assert!(bad.to_string().contains("is not an IP address"), "{bad}");
        assert_eq!(bad.exit_code(), 2);
        let bad = Cli::try_parse_from(["banwarden", "ban", "192.0.2.1", "--set", "t s", "--for", "soon"]).unwrap_err();
        assert!(bad.to_string().contains("is not a duration"), "{bad}");
        let cli = Cli::try_parse_from(["banwarden", "ban", "192.0.2.1", "--set", "a b c d"]).unwrap();
        let Command::Ban(args) = cli.command else { panic!("not ban") };
        let bad = args.set().unwrap_err();
        assert!(bad.to_string().contains("is not a set path"), "{bad}");
        assert_eq!(bad.exit_code(), 2);
        let cli = Cli::try_parse_from(["banwarden", "unban", "192.0.2.1", "--set", "has space", "--ipset"]).unwrap();
        let Command::Unban(args) = cli.command else { panic!("not unban") };
        assert!(args.set().is_err());
    }

    #[test]
    fn relative_times_may_start_with_a_hyphen() {
        let cli = Cli::try_parse_from(["banwarden", "replay", "--since", "-7d", "--until", "-2h"]).unwrap();
        let Command::Replay(args) = cli.command else { panic!("not replay") };
        assert_eq!((args.since.as_deref(), args.until.as_deref()), (Some("-7d"), Some("-2h")));
    }
}
