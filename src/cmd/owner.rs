//! Administrators' commands act as the user who owns the storage directory.
//!
//! The daemon runs as the system user `banwarden` and owns
//! /var/lib/banwarden. An administrator runs `banwarden ban`, `unban`,
//! `boot`... as root: were they to stay root, the store files they create
//! or replace would belong to root, and the daemon could no longer write
//! them. So when root works on a storage directory that belongs to someone
//! else, it first becomes that user and group, keeping only CAP_NET_ADMIN
//! (to change the sets), exactly what the service has.
//!
//! How (capabilities(7)): PR_SET_KEEPCAPS keeps the permitted set across
//! setresuid; the effective set, which setresuid clears, is then raised
//! again to CAP_NET_ADMIN alone, and every other capability is dropped.
//! The system calls go through `nix` and the capability sets through
//! `caps`, which knows capset(2)'s versions and layout.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{self, Gid, Group, Uid, User};

/// Becomes the owner of `storage` when running as root and it belongs to
/// another user; returns that user's uid. Nothing happens for other users,
/// a root-owned or a missing directory. The supplementary groups become
/// `groups` (the daemon keeps `systemd-journal`, to read the journal).
pub fn become_storage_owner(storage: &Path, groups: &[libc::gid_t]) -> io::Result<Option<u32>> {
    if !unistd::geteuid().is_root() {
        return Ok(None);
    }
    let meta = match std::fs::metadata(storage) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let (uid, gid) = (meta.uid(), meta.gid());
    if uid == 0 {
        return Ok(None);
    }
    let context = |what: &str, e: io::Error| {
        io::Error::new(e.kind(), format!("cannot become uid {uid}, the owner of {}: {what}: {e}", storage.display()))
    };
    let errno = |what: &'static str| move |e: nix::Error| context(what, e.into());
    nix::sys::prctl::set_keepcaps(true).map_err(errno("PR_SET_KEEPCAPS"))?;
    let groups: Vec<Gid> = groups.iter().map(|&g| Gid::from_raw(g)).collect();
    unistd::setgroups(&groups).map_err(errno("setgroups"))?;
    let (owner_gid, owner_uid) = (Gid::from_raw(gid), Uid::from_raw(uid));
    unistd::setresgid(owner_gid, owner_gid, owner_gid).map_err(errno("setresgid"))?;
    unistd::setresuid(owner_uid, owner_uid, owner_uid).map_err(errno("setresuid"))?;
    // setresuid cleared the effective set and kept the permitted one: keep
    // CAP_NET_ADMIN alone in both, nothing inheritable.
    let net_admin = CapsHashSet::from([Capability::CAP_NET_ADMIN]);
    let capability = |e: caps::errors::CapsError| context("capset CAP_NET_ADMIN", io::Error::other(e.to_string()));
    caps::clear(None, CapSet::Inheritable).map_err(capability)?;
    caps::set(None, CapSet::Permitted, &net_admin).map_err(capability)?;
    caps::set(None, CapSet::Effective, &net_admin).map_err(capability)?;
    // Failing to reset the flag changes nothing now: the uids are set.
    let _ = nix::sys::prctl::set_keepcaps(false);
    Ok(Some(uid))
}

/// The id of a group, if it exists.
pub fn group_id(name: &str) -> Option<libc::gid_t> {
    Group::from_name(name).ok().flatten().map(|group| group.gid.as_raw())
}

/// The login name of a user id, if it has one.
pub fn user_name(uid: libc::uid_t) -> Option<String> {
    User::from_uid(Uid::from_raw(uid)).ok().flatten().map(|user| user.name)
}
