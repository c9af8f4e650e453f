//! `banwarden unban ADDR [--set SET] [--ipset]`: lift a ban, from the kernel
//! and the store in one step.

use std::path::Path;
use std::process::ExitCode;

use super::{load_config, set_of, warn, EXIT_INVALID};
use crate::bans::Bans;
use crate::cli::UnbanArgs;
use crate::effect::Backend;
use crate::filters::networks::parse_address;
use crate::time::{Clock, SystemClock};

pub fn run(config_path: &Path, args: &UnbanArgs) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(config_path) else { return Ok(ExitCode::from(EXIT_INVALID)) };
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
                for set in bans.store(backend, &mut warn)?.sets_of(ip, now)? {
                    targets.push((backend, set));
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
        let stored = bans.store(backend, &mut warn)?.unban(&[(ip, set.clone())], now)?;
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
