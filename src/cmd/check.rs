//! `banwarden check`: validate a configuration, and with `--kernel` the
//! firewall sets it names.

use std::process::ExitCode;

use super::{load_config, EXIT_INVALID};
use crate::cli::CheckArgs;
use crate::config::ConfigFile;
use crate::firewall::check::check_sets;
use crate::firewall::Firewall;

pub fn run(file: &ConfigFile, args: &CheckArgs) -> ExitCode {
    let Some(config) = load_config(file) else { return ExitCode::from(EXIT_INVALID) };
    println!("{}: valid: {}", file.path.display(), config.stats);
    if !args.kernel {
        return ExitCode::SUCCESS;
    }
    let problems = check_sets(&mut Firewall::new(), &config.sets);
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    if problems.is_empty() {
        println!("kernel: the {} set(s) named by the rules are ready", distinct(&config.sets));
        ExitCode::SUCCESS
    } else {
        eprintln!("kernel: {} set problem(s)", problems.len());
        ExitCode::from(1)
    }
}

fn distinct(sets: &[crate::config::SetUse]) -> usize {
    let mut names: Vec<_> = sets.iter().map(|s| (s.backend, s.set.as_str())).collect();
    names.sort();
    names.dedup();
    names.len()
}
