//! banwarden: watches the systemd journal and bans abusive IP addresses.
//!
//! The architecture, one line per module, dependencies pointing down:
//!
//! - [`cmd`]: one file per subcommand; the only users of `anyhow`
//! - [`daemon`]: the event loop of `run`: journal in, effects out, position saved
//! - [`notify`]: READY, STATUS and watchdog keep-alives for systemd (sd_notify)
//! - [`diag`]: banwarden's own diagnostics, and the observer reporting step errors
//! - [`config`]: the Pyruse JSON format, read and validated into a [`workflow::Workflow`]
//! - [`workflow`]: the chains linked into one static graph of steps, and running an entry through it
//! - [`filters`]: one file per filter kind; pure functions of the entry
//! - [`actions`]: one file per action kind; they change the entry or state and emit [`effect::Effect`]s
//! - [`effect`]: what an action wants done to the outside world (log, ban, mail)
//! - [`template`]: Python `str.format` templates, parsed once
//! - [`journal`]: the sd-journal reader and writer, the saved cursor, export and JSON-lines readers
//! - [`bans`]: carrying out bans: never-ban list, store first, then the kernel
//! - [`firewall`]: nftables and ipset sets over netlink, behind one type
//! - [`store`]: the ban store on disk: Pyruse's JSON snapshot plus an append log, crash-safe
//! - [`mail`]: MIME messages and the sendmail worker that sends them without blocking the loop
//! - [`outbox`]: mail and the daily report carried out for the daemon, never blocking it
//! - [`progress`]: the progress line of long commands, on a terminal only
//! - [`report`]: the daily report: lines pending on disk until their day is over, rendered as text and HTML
//! - [`entry`]: one record: interned fields as text, plus its time
//! - [`fields`]: field names interned into small ids
//! - [`durable`]: replacing a small state file crash-safely
//! - [`time`]: rendering of journal timestamps the way Pyruse printed them

pub mod actions;
pub mod bans;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod daemon;
pub mod diag;
pub mod durable;
pub mod effect;
pub mod entry;
pub mod fields;
pub mod filters;
pub mod firewall;
pub mod journal;
pub mod mail;
pub mod notify;
pub mod outbox;
pub mod progress;
pub mod report;
pub mod store;
pub mod template;
#[cfg(test)]
mod testenv;
pub mod time;
pub mod workflow;
