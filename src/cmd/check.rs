//! `banwarden check`: validate a configuration.

use std::path::Path;
use std::process::ExitCode;

use super::{load_config, EXIT_INVALID};

pub fn run(path: &Path) -> ExitCode {
    match load_config(path) {
        Some(config) => {
            println!("{}: valid: {}", path.display(), config.stats);
            ExitCode::SUCCESS
        }
        None => ExitCode::from(EXIT_INVALID),
    }
}
