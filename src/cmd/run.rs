//! `banwarden run`: follow the journal and judge every new entry.

use anyhow::Context as _;

use super::{load_config, owner, Exit};
use crate::cli::RunArgs;
use crate::config::ConfigFile;
use crate::daemon::{signals, Daemon, Options};
use crate::diag;
use crate::journal::sd::Source;
use crate::notify::Notifier;

pub fn run(file: &ConfigFile, args: &RunArgs) -> anyhow::Result<Exit> {
    // First: it changes the environment, which only a single thread may do.
    let notifier = Notifier::from_env();
    let Some(config) = load_config(file) else { return Ok(Exit::Invalid) };
    // Root running the daemon by hand on the service's storage: act as the
    // service's user, which reads the journal through its group.
    let journal_group: Vec<libc::gid_t> = owner::group_id("systemd-journal").into_iter().collect();
    owner::become_storage_owner(&config.settings.storage, &journal_group)?;
    signals::install().context("installing signal handlers")?;
    let mut source = args.journal.source();
    if let Source::System { other_machines, .. } = &mut source {
        *other_machines = config.settings.journal_other_machines;
    }
    let options = Options { source, from_tail: args.from_tail, config: Some(file.clone()) };
    let daemon = Daemon::open(config, &options, super::clock())?.with_notifier(notifier);
    diag!(Info, "started, judging entries of {}", options.source.describe());
    let totals = daemon.run(&signals::STOP);
    diag!(
        Info,
        "stopped: {} entries judged, {} effects, {} bans, {} step errors",
        totals.judged,
        totals.effects,
        totals.bans,
        totals.step_errors
    );
    Ok(Exit::Success)
}
