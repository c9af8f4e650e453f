//! `banwarden boot`: put every stored ban back into the kernel, with the
//! time it has left ([`crate::bans::Bans::restore_all`]). Idempotent: a ban
//! already there gets the same end.

use super::{admin, warn, Exit};
use crate::config::ConfigFile;
use crate::progress::{Measure, Progress};

pub fn run(file: &ConfigFile) -> anyhow::Result<Exit> {
    let Some(mut admin) = admin(file)? else { return Ok(Exit::Invalid) };
    let mut progress: Option<Progress> = None;
    let report = admin.bans.restore_all(
        &mut |_, sent, total| {
            let bar = progress.get_or_insert_with(|| Progress::new("boot", "bans", Measure::Items, Some(total)));
            bar.update(sent, sent);
            if sent == total {
                progress.take().expect("made above").finish();
            }
        },
        &mut warn,
    )?;
    // A million records take a while to free, and the process ends now.
    std::mem::forget(admin);
    for (set, size) in &report.unchecked {
        eprintln!("note: {set} holds {size} bans, too many to read back quickly; not checked");
    }
    for (set, e) in &report.unverified {
        eprintln!("warning: cannot read {set} back to check it: {e}");
    }
    for e in &report.not_compacted {
        eprintln!("warning: the store could not be rewritten ({e}); every ban was restored all the same");
    }
    for e in &report.unreadable {
        eprintln!("error: {e}; the bans it holds were not restored");
    }
    for (set, missing) in &report.resent {
        eprintln!("warning: {missing} bans of {set} acknowledged by the kernel are not in the set; sending them again");
    }
    for (ip, from, to) in &report.moved {
        eprintln!("note: {ip} moved from {from} to {to}, the set of its address family");
    }
    crate::out!("restored {} bans", report.restored)?;
    for (ip, set, why) in &report.unrestored {
        eprintln!("error: {ip} in {set} not restored: {why}");
    }
    let listed = report.unrestored.len();
    for (set, (count, error)) in &report.failed {
        eprintln!("error: {count} bans of {set} not restored: {error}");
    }
    if report.failed.values().map(|(count, _)| count).sum::<usize>() > listed {
        eprintln!("(the first {listed} records not restored are listed above)");
    }
    // Stored before the never-ban list said otherwise (or written by hand):
    // left in the store for the admin to unban, never put in the kernel.
    for (ip, set) in &report.refused {
        eprintln!(
            "warning: {ip} in {set} not restored: the address is on the never-ban list (`banwarden unban` forgets it)"
        );
    }
    Ok(Exit::failed_if(!report.failed.is_empty() || !report.unreadable.is_empty()))
}
