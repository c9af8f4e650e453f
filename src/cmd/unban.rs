//! `banwarden unban ADDR [--set SET] [--ipset]`: lift a ban, from the kernel
//! and the store in one step.

use std::process::ExitCode;

use super::{act_as_storage_owner, load_config, set_of, warn, EXIT_INVALID};
use crate::bans::Bans;
use crate::cli::UnbanArgs;
use crate::config::ConfigFile;
use crate::effect::Backend;
use crate::filters::networks::parse_address;
use crate::time::{Clock, SystemClock};

pub fn run(file: &ConfigFile, args: &UnbanArgs) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(file) else { return Ok(ExitCode::from(EXIT_INVALID)) };
    act_as_storage_owner(&config.settings.storage)?;
    let Some(ip) = parse_address(&args.address) else {
        eprintln!("error: {:?} is not an IP address", args.address);
        return Ok(ExitCode::from(EXIT_INVALID));
    };
    let now = SystemClock.now_us();
    let mut bans = Bans::new(&config.settings.storage, config.settings.never_ban.clone());
    // Where to lift it from: the set given, or every set the store has it in.
    let mut targets: Vec<(Backend, String)> = Vec::new();
    match &args.set {
        Some(set) => match set_of(set, args.ipset) {
            Ok(target) => targets.push(target),
            Err(e) => {
                eprintln!("error: --set: {e}");
                return Ok(ExitCode::from(EXIT_INVALID));
            }
        },
        None => {
            for backend in [Backend::Nft, Backend::Ipset] {
                if let Some(store) = bans.existing_store(backend, &mut warn)? {
                    for set in store.sets_of(ip, now)? {
                        targets.push((backend, set));
                    }
                }
            }
            // And the sets the rules name that hold it without a record
            // (added by hand with nft, or a record lost with its file).
            for set_use in &config.sets {
                let target = (set_use.backend, set_use.set.clone());
                if set_use.ipv6 != ip.is_ipv6() || targets.contains(&target) {
                    continue;
                }
                let held = bans.firewall().list(set_use.backend, &set_use.set);
                if held.is_ok_and(|elements| elements.iter().any(|(found, _)| *found == ip)) {
                    targets.push(target);
                }
            }
        }
    }
    if targets.is_empty() {
        println!("{ip} is not banned");
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = false;
    for (backend, set) in targets {
        let kernel = bans.firewall().unban(backend, &set, &[ip]);
        let stored = match bans.existing_store(backend, &mut warn)? {
            Some(store) => store.unban(&[(ip, set.clone())], now)?,
            None => Vec::new(),
        };
        match (kernel, stored.is_empty()) {
            (Ok(()), false) => println!("unbanned {ip} from {set}"),
            (Ok(()), true) => {
                println!("{ip} was not in the store for {set}; removed from the kernel set if it was there")
            }
            (Err(e), _) => {
                failed = true;
                eprintln!(
                    "error: {set}: {e}; {}",
                    if stored.is_empty() { "nothing changed" } else { "removed from the store" }
                );
            }
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
