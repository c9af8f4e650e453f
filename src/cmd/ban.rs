//! `banwarden ban ADDRESS --set SET [--for DURATION] [--ipset]`: a ban by
//! hand, of an address or a network.

use super::fleet::share;
use super::{admin, warn, Exit};
use crate::bans::{Outcome, Refusal};
use crate::cli::BanArgs;
use crate::config::ConfigFile;
use crate::door::Decision;
use crate::firewall::check::SetNeed;
use crate::vocab::{BanRequest, Lifetime, Origin, Reason, Until};

pub fn run(file: &ConfigFile, args: &BanArgs) -> anyhow::Result<Exit> {
    let set = args.set()?;
    let Some(mut admin) = admin(file)? else { return Ok(Exit::Invalid) };
    let (ip, lifetime) = (args.address, args.lifetime());
    // Whether it is shared is settled before anything is done.
    let fleet = match super::fleet::sharing(&admin.config, args.fleet, Some(&set)) {
        Ok(fleet) => fleet.cloned(),
        Err(why) => {
            eprintln!("error: {why}: {ip} not banned");
            return Ok(Exit::Invalid);
        }
    };
    // What is wrong with the set is said first, with the commands that make
    // a suitable one; a set that cannot keep the ban exactly as asked (a
    // permanent ban in a set with a default timeout) still gets it, while
    // one that can never hold it is refused below, before anything is stored.
    let need = SetNeed {
        set: set.clone(),
        ipv6: ip.is_ipv6(),
        timeout: lifetime != Lifetime::Forever,
        networks: !ip.is_host(),
        place: None,
    };
    for problem in admin.bans.check_sets(&[need]) {
        warn(problem);
    }
    let origin = Origin::Cli { user: user_name() };
    let reason = args.reason.as_deref().map_or_else(Reason::default, |text| Reason::default().with_note(text));
    let request = BanRequest { replace: args.replace, ..BanRequest::new(ip, set.clone(), lifetime, origin.clone()) }
        .with_reason(reason);
    // What the set can never hold is refused before it is stored.
    if let Err(why) = admin.bans.fits(&request) {
        eprintln!("error: {why}: {ip} not banned, nothing stored");
        return Ok(Exit::Failure);
    }
    let outcome = admin.bans.ban(&[request], &mut warn).remove(0);
    // A ban inside a banned network is the network's element in the kernel.
    let covered = match outcome {
        Outcome::Banned(_) | Outcome::Kept(_) => {
            let outer = admin.bans.covering(ip, &mut warn)?.into_iter().filter(|r| r.set == set);
            outer.min_by_key(|r| r.net.prefix_len())
        }
        _ => None,
    };
    if let Some(outer) = &covered {
        crate::out!("{ip} is inside {} banned in {set} {}", outer.net, ends(outer.until))?;
    }
    match outcome {
        Outcome::Banned(until) | Outcome::Kept(until) => {
            if matches!(outcome, Outcome::Banned(_)) {
                crate::out!("banned {ip} in {set} {lifetime}")?;
            } else {
                crate::out!(
                    "{ip} stays banned in {set} {}: the ban in place ends later (--replace shortens it)",
                    ends(until)
                )?;
            }
            // The fleet gets the ban in force here (when kept, the longer one).
            let decided = [Decision::Ban { net: ip, set, until, origin }];
            let shared = share(&admin.config.settings.storage, fleet.as_ref(), &decided)?;
            return Ok(Exit::failed_if(!shared));
        }
        Outcome::Refused(Refusal::NeverBan) => {
            eprintln!("error: {ip} is on the never-ban list (neverBan, or one of this host's addresses): not banned")
        }
        Outcome::Refused(Refusal::NotAPeer) => eprintln!("error: {ip} is never a peer's address: not banned"),
        Outcome::Refused(Refusal::Allowed) => {
            eprintln!("error: {ip} is allowed for now (an allow set holds it): not banned; lift the accept first")
        }
        Outcome::NotStored(e) => eprintln!(
            "error: {ip} is banned in {set} {lifetime}, but the store could not record it: {e}; \
             the ban will not survive a reboot"
        ),
        Outcome::Failed { store, kernel } => eprintln!("error: {ip} is not banned: {kernel}; and not stored: {store}"),
        Outcome::KernelFailed(e) => eprintln!(
            "error: {ip} is stored for {set} but the kernel refused it: {e}; `banwarden boot` applies it once fixed"
        ),
    }
    Ok(Exit::Failure)
}

/// When a ban ends, for a message.
pub(super) fn ends(until: Until) -> String {
    match until {
        Until::Forever => "for good".to_owned(),
        Until::At(t) => format!("until {}", crate::time::format_local(t)),
    }
}

/// Who runs the command, for the ban's origin: the login name behind sudo
/// when there is one, else the user of the real uid.
pub(super) fn user_name() -> String {
    if let Ok(name) = std::env::var("SUDO_USER") {
        return name;
    }
    // SAFETY: getuid cannot fail and has no side effects.
    let uid = unsafe { libc::getuid() };
    super::owner::user_name(uid).unwrap_or_else(|| format!("uid {uid}"))
}
