//! `banwarden boot`: put every stored ban back into the kernel, with the
//! time it has left. Idempotent: a ban already there gets the same end.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use super::{load_config, warn, EXIT_INVALID};
use crate::bans::Bans;
use crate::effect::Backend;
use crate::firewall::Ban;
use crate::store::{BanStore, Until};
use crate::time::{Clock, SystemClock};

pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(config_path) else { return Ok(ExitCode::from(EXIT_INVALID)) };
    let now = SystemClock.now_us();
    let mut bans = Bans::new(&config.settings.storage, config.settings.never_ban.clone());
    let mut restored = 0usize;
    let mut failed: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for backend in [Backend::Nft, Backend::Ipset] {
        if !BanStore::exists(&config.settings.storage, backend) {
            continue;
        }
        let store = bans.store(backend, &mut warn)?;
        // Expired records go now, so the file shrinks back.
        store.compact(now)?;
        let records = store.live_unsorted(now)?;
        let requests: Vec<Ban> = records
            .iter()
            .map(|r| Ban {
                backend,
                ip: r.ip,
                set: r.set.clone(),
                timeout_ms: match r.until {
                    Until::Forever => None,
                    // Round up: a ban is never lifted early.
                    Until::At(t) => Some((t - now).div_ceil(1000)),
                },
            })
            .collect();
        for (request, result) in requests.iter().zip(bans.firewall().ban(&requests)) {
            match result {
                Ok(()) => restored += 1,
                Err(e) => failed.entry(request.set.clone()).or_insert((0, e)).0 += 1,
            }
        }
    }
    // A million records take a while to free, and the process ends now.
    std::mem::forget(bans);
    println!("restored {restored} bans");
    for (set, (count, error)) in &failed {
        eprintln!("error: {count} bans of {set} not restored: {error}");
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
