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

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// CAP_NET_ADMIN in <linux/capability.h>.
const CAP_NET_ADMIN: u32 = 12;
/// _LINUX_CAPABILITY_VERSION_3: 64-bit capability sets, two words.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Becomes the owner of `storage` when running as root and it belongs to
/// another user; returns that user's uid. Nothing happens for other users,
/// a root-owned or a missing directory. The supplementary groups become
/// `groups` (the daemon keeps `systemd-journal`, to read the journal).
pub fn become_storage_owner(storage: &Path, groups: &[libc::gid_t]) -> io::Result<Option<u32>> {
    // SAFETY: geteuid has no failure and no side effect.
    if unsafe { libc::geteuid() } != 0 {
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
    let context = |what: &str| {
        let e = io::Error::last_os_error();
        io::Error::new(e.kind(), format!("cannot become uid {uid}, the owner of {}: {what}: {e}", storage.display()))
    };
    // SAFETY: plain system calls on this process, with valid arguments; the
    // capability structs have the layout capset(2) documents.
    unsafe {
        if libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 {
            return Err(context("PR_SET_KEEPCAPS"));
        }
        if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
            return Err(context("setgroups"));
        }
        if libc::setresgid(gid, gid, gid) != 0 {
            return Err(context("setresgid"));
        }
        if libc::setresuid(uid, uid, uid) != 0 {
            return Err(context("setresuid"));
        }
        let header = CapHeader { version: CAPABILITY_VERSION_3, pid: 0 };
        let net_admin = 1 << CAP_NET_ADMIN;
        let data = [CapData { effective: net_admin, permitted: net_admin, inheritable: 0 }, CapData::default()];
        if libc::syscall(libc::SYS_capset, &header, data.as_ptr()) != 0 {
            return Err(context("capset CAP_NET_ADMIN"));
        }
        libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0);
    }
    Ok(Some(uid))
}

/// The id of a group, if it exists.
pub fn group_id(name: &str) -> Option<libc::gid_t> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: getgrnam returns a pointer to static storage or null; it is
    // read at once, before any other call could overwrite it.
    let group = unsafe { libc::getgrnam(name.as_ptr()) };
    (!group.is_null()).then(|| unsafe { (*group).gr_gid })
}

/// The login name of a user id, if it has one.
pub fn user_name(uid: libc::uid_t) -> Option<String> {
    // SAFETY: getpwuid returns a pointer to static storage or null; the name
    // is copied out at once, before any other call could overwrite it.
    unsafe {
        let pw = libc::getpwuid(uid);
        if pw.is_null() || (*pw).pw_name.is_null() {
            return None;
        }
        Some(std::ffi::CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned())
    }
}
