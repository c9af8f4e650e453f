//! `banwarden ban ADDR --set SET [--for DURATION] [--ipset]`: a ban by hand.

use super::{admin, warn, Exit};
use crate::bans::Outcome;
use crate::cli::BanArgs;
use crate::config::ConfigFile;
use crate::firewall::check::SetNeed;
use crate::vocab::{BanRequest, Lifetime, Origin};

pub fn run(file: &ConfigFile, args: &BanArgs) -> anyhow::Result<Exit> {
    let set = args.set()?;
    let Some(mut admin) = admin(file)? else { return Ok(Exit::Invalid) };
    let (ip, lifetime) = (args.address, args.lifetime());
    // A set that cannot keep this ban as asked (a permanent ban in a set
    // with a default timeout...) is said so, but the ban is made.
    let need = SetNeed { set: set.clone(), ipv6: ip.is_ipv6(), timeout: lifetime != Lifetime::Forever, place: None };
    for problem in admin.bans.check_sets(&[need]) {
        warn(problem);
    }
    let request = BanRequest { ip, set: set.clone(), lifetime, origin: Origin::Cli { user: user_name() } };
    let outcome = admin.bans.ban(&[request], &mut warn).remove(0);
    match outcome {
        Outcome::Banned => {
            crate::out!("banned {ip} in {set} {lifetime}")?;
            return Ok(Exit::Success);
        }
        Outcome::Refused => {
            eprintln!("error: {ip} is on the never-ban list (neverBan, or one of this host's addresses): not banned")
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

/// Who runs the command, for the ban's origin: the login name behind sudo
/// when there is one, else the user of the real uid.
fn user_name() -> String {
    if let Ok(name) = std::env::var("SUDO_USER") {
        return name;
    }
    // SAFETY: getuid cannot fail and has no side effects.
    let uid = unsafe { libc::getuid() };
    super::owner::user_name(uid).unwrap_or_else(|| format!("uid {uid}"))
}
