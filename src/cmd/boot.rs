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

/// Bans sent per firewall call; the client splits them into transactions.
const BOOT_SLICE: usize = 65_536;

pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(config_path) else { return Ok(ExitCode::from(EXIT_INVALID)) };
    let now = SystemClock.now_us();
    let mut bans = Bans::new(&config.settings.storage, config.settings.never_ban.clone());
    let mut restored = 0usize;
    let mut failed: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut refused: Vec<String> = Vec::new();
    for backend in [Backend::Nft, Backend::Ipset] {
        if !BanStore::exists(&config.settings.storage, backend) {
            continue;
        }
        let store = bans.store(backend, &mut warn)?;
        // Expired records go now, so the file shrinks back.
        store.compact(now)?;
        let records = store.live_unsorted(now)?;
        // In slices, so that only one slice of requests exists at a time.
        for slice in records.chunks(BOOT_SLICE) {
            let mut requests: Vec<Ban> = Vec::with_capacity(slice.len());
            for r in slice {
                if bans.is_never_banned(r.ip) {
                    refused.push(format!("{} in {}", r.ip, r.set));
                    continue;
                }
                let timeout_ms = match r.until {
                    Until::Forever => None,
                    // Round up: a ban is never lifted early.
                    Until::At(t) => Some((t - now).div_ceil(1000)),
                };
                requests.push(Ban { backend, ip: r.ip, set: r.set.clone(), timeout_ms });
            }
            for (request, result) in requests.iter().zip(bans.firewall().ban(&requests)) {
                match result {
                    Ok(()) => restored += 1,
                    Err(e) => failed.entry(request.set.clone()).or_insert((0, e)).0 += 1,
                }
            }
        }
        std::mem::forget(records);
    }
    // A million records take a while to free, and the process ends now.
    std::mem::forget(bans);
    println!("restored {restored} bans");
    for (set, (count, error)) in &failed {
        eprintln!("error: {count} bans of {set} not restored: {error}");
    }
    // Stored before the never-ban list said otherwise (or written by hand):
    // left in the store for the admin to unban, never put in the kernel.
    for ban in &refused {
        eprintln!("warning: {ban} not restored: the address is on the never-ban list (`banwarden unban` forgets it)");
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
