//! `banwarden ban ADDR --set SET [--for DURATION] [--ipset]`: a ban by hand.

use std::process::ExitCode;

use super::{act_as_storage_owner, load_config, set_of, warn, EXIT_INVALID};
use crate::bans::{Bans, Outcome, Request};
use crate::cli::BanArgs;
use crate::config::{ConfigFile, Location, SetUse};
use crate::filters::networks::parse_address;
use crate::firewall::check::check_sets;
use crate::time::{parse_duration, Clock, SystemClock};

pub fn run(file: &ConfigFile, args: &BanArgs) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(file) else { return Ok(ExitCode::from(EXIT_INVALID)) };
    act_as_storage_owner(&config.settings.storage)?;
    let Some(ip) = parse_address(&args.address) else {
        eprintln!("error: {:?} is not an IP address", args.address);
        return Ok(ExitCode::from(EXIT_INVALID));
    };
    let (backend, set) = match set_of(&args.set, args.ipset) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: --set: {e}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    let ban_seconds = match args.duration.as_deref().map(parse_duration).transpose() {
        Ok(d) => d.map(|d| d.as_secs().max(1)),
        Err(e) => {
            eprintln!("error: --for: {e}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    let mut bans = Bans::new(&config.settings.storage, config.settings.never_ban.clone());
    // A set that cannot keep this ban as asked (a permanent ban in a set
    // with a default timeout...) is said so, but the ban is made.
    let this_use = SetUse {
        backend,
        set: set.clone(),
        ipv6: ip.is_ipv6(),
        timeout: ban_seconds.is_some(),
        location: Location::default(),
    };
    for problem in check_sets(bans.firewall(), &[this_use]) {
        warn(problem);
    }
    let request = Request { backend, ip, set: set.clone(), ban_seconds };
    let outcome = bans.apply(&[request], SystemClock.now_us(), &mut warn).remove(0);
    let how_long = ban_seconds.map_or("for good".to_owned(), |s| format!("for {s} s"));
    match outcome {
        Outcome::Banned => {
            println!("banned {ip} in {set} {how_long}");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Refused => {
            eprintln!("error: {ip} is on the never-ban list (neverBan, or one of this host's addresses): not banned");
            Ok(ExitCode::from(1))
        }
        Outcome::NotStored(e) => {
            eprintln!("error: {ip} is banned in {set} {how_long}, but the store could not record it: {e}; the ban will not survive a reboot");
            Ok(ExitCode::from(1))
        }
        Outcome::Failed(e) => {
            eprintln!("error: {ip} is not banned: {e}");
            Ok(ExitCode::from(1))
        }
        Outcome::KernelFailed(e) => {
            eprintln!("error: {ip} is stored for {set} but the kernel refused it: {e}; `banwarden boot` applies it once fixed");
            Ok(ExitCode::from(1))
        }
    }
}
