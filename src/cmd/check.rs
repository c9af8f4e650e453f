//! `banwarden check`: validate a configuration, and with `--kernel` the
//! firewall sets it names.

use super::{clock, load_config, Exit};
use crate::bans::Bans;
use crate::cli::CheckArgs;
use crate::config::ConfigFile;
use crate::firewall::check::SetNeed;

pub fn run(file: &ConfigFile, args: &CheckArgs) -> anyhow::Result<Exit> {
    let Some(config) = load_config(file) else { return Ok(Exit::Invalid) };
    let dropins = crate::config::dropins::describe(&config.dropins);
    // The warnings (config::lint's among them) went to stderr as loaded.
    let warned = match config.warnings.len() {
        0 => String::new(),
        n => format!("; {n} warning(s)"),
    };
    crate::out!("{}{dropins}: valid: {}{warned}", file.path.display(), config.stats)?;
    if !args.kernel {
        return Ok(Exit::Success);
    }
    // Only asks the kernel: the service opens no store for this.
    let mut bans = Bans::new(&config.settings.storage, config.settings.never_ban.clone(), clock());
    // The rules' sets, and the API servers' (as `run` checks them).
    let mut needs: Vec<SetNeed> = config.sets.iter().map(|u| u.need()).collect();
    needs.extend(config.settings.api_set_needs());
    let problems = bans.check_sets(&needs);
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    if problems.is_empty() {
        let mut distinct: Vec<_> = needs.iter().map(|n| &n.set).collect();
        distinct.sort();
        distinct.dedup();
        let by = if config.settings.api_sets().is_empty() { "the rules" } else { "the rules and the API" };
        crate::out!("kernel: the {} set(s) named by {by} are ready", distinct.len())?;
        Ok(Exit::Success)
    } else {
        eprintln!("kernel: {} set problem(s)", problems.len());
        Ok(Exit::Failure)
    }
}
