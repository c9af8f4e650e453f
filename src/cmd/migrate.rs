//! `banwarden migrate --from-pyruse DIR`: Pyruse's ban stores into
//! banwarden's.
//!
//! Pyruse's files are only read: they are copied to a scratch directory
//! and read there by the store's own reader (which takes Pyruse's
//! `.py.json` names), so nothing is written next to them. The live records
//! are then imported through the ban service (`Bans::import`), merged with
//! what is there (one record per address and set, the later end wins: a
//! ban already stored to end later keeps its end). The kernel is not
//! touched: `banwarden boot` does that.

use super::{admin_of, load_config, warn, Exit};
use crate::cli::MigrateArgs;
use crate::config::ConfigFile;
use crate::store::{BanStore, Until};
use crate::vocab::Backend;

pub fn run(file: &ConfigFile, args: &MigrateArgs) -> anyhow::Result<Exit> {
    let Some(config) = load_config(file) else { return Ok(Exit::Invalid) };
    let storage = config.settings.storage.clone();
    let now = super::clock().now_us();
    // Read everything first, with the rights of whoever runs this (Pyruse
    // ran as root), then write as the storage's owner.
    let mut found = Vec::new();
    for backend in Backend::ALL {
        let name = format!("{}.py.json", backend.action_name());
        let source = args.from_pyruse.join(&name);
        if !source.exists() {
            crate::out!("{}: none", source.display())?;
            continue;
        }
        let scratch = Scratch::new()?;
        std::fs::copy(&source, scratch.0.join(&name))?;
        let mut pyruse = BanStore::open(&scratch.0, backend)?;
        for problem in pyruse.warnings.drain(..) {
            // Name Pyruse's file, not the scratch copy.
            warn(problem.replace(&scratch.0.join(&name).display().to_string(), &source.display().to_string()));
        }
        let all = pyruse.len();
        let live = pyruse.live(now)?;
        found.push((backend, source, all, live));
    }
    if found.is_empty() {
        eprintln!(
            "error: no Pyruse ban store (action_nftBan.py.json, action_ipsetBan.py.json) in {}",
            args.from_pyruse.display()
        );
        return Ok(Exit::Failure);
    }
    let mut admin = admin_of(config)?;
    for (backend, source, all, live) in found {
        let permanent = live.iter().filter(|r| r.until == Until::Forever).count();
        let imported = admin.bans.import(&live, &mut warn)?;
        crate::out!(
            "{}: {imported} bans imported into {} ({permanent} permanent), {} expired left out{}",
            source.display(),
            storage.join(crate::store::file_name(backend)).display(),
            all - live.len(),
            match live.len() - imported {
                0 => String::new(),
                kept => format!(", {kept} already stored to end later kept"),
            }
        )?;
    }
    crate::out!("run `banwarden boot` to put them in the kernel sets (the boot unit does it at each boot)")?;
    Ok(Exit::Success)
}

/// A private directory under the temporary directory, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("banwarden-migrate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
