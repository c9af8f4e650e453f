//! `banwarden unban ADDRESS [--set SET] [--ipset]`: lift a ban of an
//! address or network, from the store and the kernel in one step, saying
//! which network still bans an address inside one.

use super::ban::{ends, user_name};
use super::fleet::share;
use super::{admin, warn, Exit};
use crate::bans::UnbanFrom;
use crate::cli::UnbanArgs;
use crate::config::ConfigFile;
use crate::door::Decision;
use crate::vocab::{Origin, SetRef};

pub fn run(file: &ConfigFile, args: &UnbanArgs) -> anyhow::Result<Exit> {
    let set = args.set()?;
    let Some(mut admin) = admin(file)? else { return Ok(Exit::Invalid) };
    let ip = args.address;
    let fleet = match super::fleet::sharing(&admin.config, args.fleet, set.as_ref()) {
        Ok(fleet) => fleet.cloned(),
        Err(why) => {
            eprintln!("error: {why}: {ip} not unbanned");
            return Ok(Exit::Invalid);
        }
    };
    let asked_set = set.clone();
    // Where to lift it from: the set given, or every set the store has it
    // in, and the sets of its family the rules name.
    let named: Vec<SetRef> =
        admin.config.sets.iter().filter(|u| u.ipv6 == ip.is_ipv6()).map(|u| u.set.clone()).collect();
    let from = match set {
        Some(set) => UnbanFrom::Set(set),
        None => UnbanFrom::Anywhere { named: &named },
    };
    let lifted = admin.bans.unban(ip, from, &mut warn)?;
    // Lifted on the fleet: from the sets lifted here, or from the set named
    // even when this host had no ban in it (other hosts may have one).
    let shared: Vec<SetRef> = match (&asked_set, lifted.is_empty()) {
        (Some(set), true) => vec![set.clone()],
        _ => lifted.iter().filter(|l| l.kernel.is_ok()).map(|l| l.set.clone()).collect(),
    };
    let origin = Origin::Cli { user: user_name() };
    let decisions: Vec<Decision> =
        shared.into_iter().map(|set| Decision::Unban { net: ip, set, origin: origin.clone() }).collect();
    if lifted.is_empty() {
        let outer = admin.bans.covering(ip, &mut warn)?;
        if outer.is_empty() {
            crate::out!("{ip} is not banned")?;
        }
        for r in outer {
            crate::out!("{ip} has no ban of its own, but {} still bans it in {} {}", r.net, r.set, ends(r.until))?;
        }
        let shared = share(&admin.config.settings.storage, fleet.as_ref(), &decisions)?;
        return Ok(Exit::failed_if(!shared));
    }
    let mut failed = false;
    for l in lifted {
        if let Some(outer) = &l.still_covered {
            let what = if l.was_stored { "its own ban is lifted" } else { "it had no ban of its own" };
            crate::out!("{ip}: {what} in {}, but {} still bans it {}", l.set, outer.net, ends(outer.until))?;
            continue;
        }
        if l.let_in > 0 {
            crate::out!("{} bans inside {ip} outlive it and are back in the kernel on their own", l.let_in)?;
        }
        match (l.kernel, l.was_stored) {
            (Ok(()), true) => crate::out!("unbanned {ip} from {}", l.set)?,
            (Ok(()), false) => {
                crate::out!("{ip} was not in the store for {}; removed from the kernel set if it was there", l.set)?
            }
            (Err(e), stored) => {
                failed = true;
                eprintln!(
                    "error: {}: {e}; {}",
                    l.set,
                    if stored { "removed from the store" } else { "nothing changed" }
                );
            }
        }
    }
    let shared = share(&admin.config.settings.storage, fleet.as_ref(), &decisions)?;
    Ok(Exit::failed_if(failed || !shared))
}
