//! banwarden: watches the systemd journal and bans abusive IP addresses.
//!
//! The architecture, one line per module, dependencies pointing down:
//!
//! - [`cmd`]: one file per subcommand; the only users of `anyhow`
//! - [`cli`]: the command line (clap), with value parsers for addresses, durations and sets
//! - [`control`]: the control socket `status` asks and the OpenMetrics endpoint, on a thread of their own beside the loop
//! - [`api`]: the REST and Redis-protocol servers that ban and allow on request, in a tokio runtime of their own
//! - [`fleet`]: the bans shared with the other hosts through a Redis stream, in a tokio runtime of its own
//! - [`daemon`]: the event loop of `run`: journal in, effects out, position saved
//! - [`door`]: the loop's one door for outside work: a bounded queue and an eventfd, replies once durable; the published bans
//! - [`counters_file`]: the counters saved with the position and taken back at start
//! - [`outbox`]: mail and the daily report carried out for the daemon, never blocking it
//! - [`mail`]: MIME messages and the sendmail worker that sends them without blocking the loop
//! - [`report`]: the daily report: lines pending on disk until their day is over, rendered as text and HTML
//! - [`notify`]: READY, STATUS and watchdog keep-alives for systemd (sd_notify)
//! - [`diag`]: banwarden's own diagnostics, the observer reporting step errors, and the libraries' `log` lines forwarded
//! - [`config`]: the Pyruse JSON format, read and validated into a [`workflow::Workflow`]
//! - [`workflow`]: the chains linked into one static graph of steps, and running an entry through it
//! - [`filters`]: one file per filter kind; pure functions of the entry
//! - [`actions`]: one file per action kind; they change the entry or state and emit [`effect::Effect`]s
//! - [`journal`]: the sd-journal reader and writer, the saved cursor, export and JSON-lines readers
//! - [`effect`]: what an action wants done to the outside world (log, ban, mail)
//! - [`template`]: Python `str.format` templates, parsed once
//! - [`bans`]: the ban service every source uses: never-ban list, store first, then the kernel; unban, inventory, restore
//! - [`firewall`]: nftables and ipset sets over netlink, behind one small trait (and a fake for tests)
//! - [`store`]: the ban store on disk: Pyruse's JSON snapshot plus an append log, crash-safe, indexed by address
//! - [`progress`]: the progress line of long commands, on a terminal only
//! - [`memory`]: giving freed heap memory back to the system
//! - [`entry`]: one record: interned fields as text, plus its time
//! - [`fields`]: field names interned into small ids
//! - [`durable`]: replacing a small state file crash-safely
//! - [`localaddr`]: this host's own addresses, dumped and followed over rtnetlink (`neverBanLocal`)
//! - [`stats`]: the daemon's figures for `status` and the metrics: a snapshot, latency histograms, OpenMetrics text
//! - [`time`]: the clock (wall and monotonic, injected), and journal timestamps rendered the way Pyruse printed them
//! - [`vocab`]: the words of the ban path: addresses and networks, sets, lifetimes, origins, the ban request
//!
//! A module uses only the modules listed below it (`tests/integration/architecture.rs`
//! checks every `crate::` path against this list).

pub mod actions;
pub mod api;
pub mod bans;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod control;
pub mod counters_file;
pub mod daemon;
pub mod diag;
pub mod door;
pub mod durable;
pub mod effect;
pub mod entry;
pub mod fields;
pub mod filters;
pub mod firewall;
pub mod fleet;
pub mod journal;
pub mod localaddr;
pub mod mail;
pub mod memory;
pub mod notify;
pub mod outbox;
pub mod progress;
pub mod report;
pub mod stats;
pub mod store;
pub mod template;
#[cfg(test)]
mod testenv;
pub mod time;
pub mod vocab;
pub mod workflow;
