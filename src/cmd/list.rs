//! `banwarden list [--json]`: every ban, the store and the kernel side by
//! side, so that a ban missing from either shows.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::process::ExitCode;

use serde_json::json;

use super::{act_as_storage_owner, load_config, warn, EXIT_INVALID};
use crate::bans::Bans;
use crate::cli::ListArgs;
use crate::config::ConfigFile;
use crate::effect::Backend;
use crate::store::Until;
use crate::time::{format_local, Clock, SystemClock};

struct Row {
    set: String,
    ip: IpAddr,
    /// From the store: when the ban ends (None: not in the store).
    until: Option<Until>,
    /// From the kernel: ms left, `Some(None)` without timeout, None: absent.
    left_ms: Option<Option<u64>>,
    kernel_error: Option<String>,
}

pub fn run(file: &ConfigFile, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(file) else { return Ok(ExitCode::from(EXIT_INVALID)) };
    act_as_storage_owner(&config.settings.storage)?;
    let now = SystemClock.now_us();
    let mut bans = Bans::new(&config.settings.storage, config.settings.never_ban.clone());
    let mut rows: Vec<Row> = Vec::new();
    for backend in [Backend::Nft, Backend::Ipset] {
        let records = match bans.existing_store(backend, &mut warn)? {
            Some(store) => store.live(now)?,
            None => Vec::new(),
        };
        // The sets the rules name, and any other the store has bans in.
        let mut sets: BTreeSet<String> =
            config.sets.iter().filter(|u| u.backend == backend).map(|u| u.set.clone()).collect();
        sets.extend(records.iter().map(|r| r.set.clone()));
        let mut by_set: BTreeMap<String, BTreeMap<IpAddr, Row>> = BTreeMap::new();
        for r in records {
            let row = Row { set: r.set.clone(), ip: r.ip, until: Some(r.until), left_ms: None, kernel_error: None };
            by_set.entry(r.set).or_default().insert(r.ip, row);
        }
        for set in sets {
            let rows_of_set = by_set.entry(set.clone()).or_default();
            match bans.firewall().list(backend, &set) {
                Ok(elements) => {
                    for (ip, left) in elements {
                        rows_of_set
                            .entry(ip)
                            .or_insert(Row { set: set.clone(), ip, until: None, left_ms: None, kernel_error: None })
                            .left_ms = Some(left);
                    }
                }
                Err(e) if rows_of_set.is_empty() => eprintln!("warning: cannot read {set}: {e}"),
                Err(e) => rows_of_set.values_mut().for_each(|row| row.kernel_error = Some(e.clone())),
            }
        }
        rows.extend(by_set.into_values().flat_map(BTreeMap::into_values));
    }
    if args.json {
        for row in &rows {
            let until = row.until.map(|u| match u {
                Until::Forever => json!(null),
                Until::At(t) => json!(t / 1_000_000),
            });
            let obj = json!({
                "IP": row.ip.to_string(),
                "set": row.set,
                "in_store": row.until.is_some(),
                "until": until,
                "in_kernel": row.left_ms.is_some(),
                "seconds_left": row.left_ms.map(|l| l.map(|ms| ms / 1000)),
                "kernel_error": row.kernel_error,
            });
            println!("{obj}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<40} {:<28} {:<33} {:<14} NOTE", "ADDRESS", "SET", "ENDS (store)", "LEFT (kernel)");
    for row in &rows {
        let ends = match row.until {
            None => "-".to_owned(),
            Some(Until::Forever) => "never".to_owned(),
            Some(Until::At(t)) => format_local(t),
        };
        let left = match row.left_ms {
            None => "-".to_owned(),
            Some(None) => "permanent".to_owned(),
            Some(Some(ms)) => format!("{} s", ms / 1000),
        };
        let note = match (&row.kernel_error, row.until.is_some(), row.left_ms.is_some()) {
            (Some(e), _, _) => format!("kernel: {e}"),
            (None, true, false) => "not in the kernel set (banwarden boot restores it)".to_owned(),
            (None, false, true) => "not in the store (will not survive a reboot)".to_owned(),
            _ => String::new(),
        };
        println!("{:<40} {:<28} {:<33} {:<14} {note}", row.ip, row.set, ends, left);
    }
    eprintln!("{} ban{}", rows.len(), if rows.len() == 1 { "" } else { "s" });
    Ok(ExitCode::SUCCESS)
}
