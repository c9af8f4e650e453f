//! `banwarden boot`: put every stored ban back into the kernel, with the
//! time it has left. Idempotent: a ban already there gets the same end.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::process::ExitCode;

use super::{act_as_storage_owner, load_config, warn, EXIT_INVALID};
use crate::bans::{restoring, Bans};
use crate::config::ConfigFile;
use crate::effect::Backend;
use crate::firewall::Ban;
use crate::progress::{Measure, Progress};
use crate::store::Record;
use crate::time::{Clock, SystemClock};

/// Bans sent per firewall call; the client splits them into transactions.
const BOOT_SLICE: usize = 65_536;
/// Largest set read back after the bans are sent (see below).
const VERIFY_MAX: usize = 200_000;

pub fn run(file: &ConfigFile) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(file) else { return Ok(ExitCode::from(EXIT_INVALID)) };
    act_as_storage_owner(&config.settings.storage)?;
    let now = SystemClock.now_us();
    let mut bans = Bans::new(&config.settings.storage, config.settings.never_ban.clone());
    let mut restored = 0usize;
    let mut failed: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut refused: Vec<String> = Vec::new();
    for backend in [Backend::Nft, Backend::Ipset] {
        let Some(store) = bans.existing_store(backend, &mut warn)? else { continue };
        // Expired records go now, so the file shrinks back.
        store.compact(now)?;
        let records = store.live_unsorted(now)?;
        let send = |bans: &mut Bans, records: &[&Record]| -> Vec<Result<(), String>> {
            let requests: Vec<Ban> = records.iter().map(|r| restoring(backend, r, now)).collect();
            bans.firewall().ban(&requests)
        };
        let wanted: Vec<&Record> = records
            .iter()
            .filter(|r| {
                let never = bans.is_never_banned(r.ip);
                if never {
                    refused.push(format!("{} in {}", r.ip, r.set));
                }
                !never
            })
            .collect();
        // In slices, so that only one slice of requests exists at a time.
        let mut progress = Progress::new("boot", "bans", Measure::Items, Some(wanted.len() as u64));
        let mut sent = 0;
        for slice in wanted.chunks(BOOT_SLICE) {
            for (r, result) in slice.iter().zip(send(&mut bans, slice)) {
                match result {
                    Ok(()) => restored += 1,
                    Err(e) => failed.entry(r.set.clone()).or_insert((0, e)).0 += 1,
                }
            }
            sent += slice.len() as u64;
            progress.update(sent, sent);
        }
        progress.finish();
        // Read the sets back: a ban the kernel acknowledged must be there.
        // (Seen once in testing: a few thousand of 50,000 acknowledged
        // elements absent; sending them again put them in.)
        // Reading a set back costs the kernel time quadratic in its size
        // (each dump chunk walks the hash table from its start: 0.4 s for
        // 100,000 elements, 80 s for 1,000,000), so only sets of up to
        // VERIFY_MAX bans are read back.
        let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
        for r in wanted.iter().filter(|r| !failed.contains_key(&r.set)) {
            *sizes.entry(r.set.as_str()).or_default() += 1;
        }
        for (&set, &size) in &sizes {
            if size > VERIFY_MAX {
                eprintln!("note: {set} holds {size} bans, too many to read back quickly; not checked");
                continue;
            }
            for attempt in 0..3 {
                let held: HashSet<IpAddr> = match bans.firewall().list(backend, set) {
                    Ok(elements) => elements.into_iter().map(|(ip, _)| ip).collect(),
                    Err(e) => {
                        eprintln!("warning: cannot read {set} back to check it: {e}");
                        break;
                    }
                };
                let missing: Vec<&Record> =
                    wanted.iter().copied().filter(|r| r.set == set && !held.contains(&r.ip)).collect();
                if missing.is_empty() {
                    break;
                }
                if attempt == 2 {
                    eprintln!("error: {} bans of {set} acknowledged by the kernel are not in the set", missing.len());
                    failed.entry(set.to_owned()).or_insert((missing.len(), "missing after three tries".into()));
                    break;
                }
                eprintln!(
                    "warning: {} bans of {set} acknowledged by the kernel are not in the set; sending them again",
                    missing.len()
                );
                let _ = send(&mut bans, &missing);
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
