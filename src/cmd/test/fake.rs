//! The entry journald would make of a line a service logged: the fields of
//! `banwarden test`'s entries.
//!
//! With `--unit NAME.service`, the line is one the service's main process
//! sent through syslog(3), as most daemons (sshd, postfix, dovecot) do:
//! `_SYSTEMD_UNIT` is the unit, `SYSLOG_IDENTIFIER` the unit's name before
//! any `@instance` and the `.service` (the program's name, which syslog(3)
//! takes by default and which names the unit of a typical service), `_COMM`
//! the same cut to the kernel's 15 characters (TASK_COMM_LEN), `_EXE`
//! `/usr/sbin/` and that name, `_UID` and `_GID` 0 (services run as root
//! unless their unit says `User=`), `_PID` and `SYSLOG_PID` 4242 (made up),
//! `_TRANSPORT=syslog`, `PRIORITY=6` (info), `SYSLOG_FACILITY=3` (daemon),
//! `_SYSTEMD_CGROUP=/system.slice/UNIT` and `_SYSTEMD_SLICE=system.slice`.
//! With `--identifier NAME` as well, the process is named NAME
//! (`SYSLOG_IDENTIFIER` and `_COMM`): OpenSSH 9.8's `sshd-session` under
//! `ssh.service`, say.
//!
//! With `--identifier NAME` alone, the line is what `logger -t NAME` run by
//! the caller in a login session gives: `SYSLOG_IDENTIFIER=NAME`,
//! `_COMM=logger`, `_EXE=/usr/bin/logger`, the caller's `_UID` and `_GID`,
//! `_SYSTEMD_UNIT=session-1.scope` in `user-UID.slice`: a line any local
//! user can forge, which rules guarded by the unit (see `config::trust`)
//! must not ban on.
//!
//! Every entry also has `__REALTIME_TIMESTAMP` and
//! `_SOURCE_REALTIME_TIMESTAMP` (now), `_HOSTNAME`, `_BOOT_ID` and
//! `_MACHINE_ID` (this host's). `--field NAME=VALUE` adds a field or
//! replaces any of these. Only the fields some rule reads are kept.

use crate::cli::TestArgs;
use crate::entry::Entry;
use crate::fields::{FieldTable, MESSAGE, REALTIME_TIMESTAMP};

/// The kernel keeps a process name to 15 bytes (TASK_COMM_LEN - 1).
const COMM_LEN: usize = 15;

/// The made-up process id of the service.
const PID: &str = "4242";

/// The fields of every entry of a run, but `MESSAGE` and the times.
pub struct Sender {
    fields: Vec<(String, String)>,
}

impl Sender {
    pub fn new(args: &TestArgs) -> Result<Sender, String> {
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut set = |name: &str, value: &str| fields.push((name.to_owned(), value.to_owned()));
        match (&args.unit, &args.identifier) {
            (Some(unit), identifier) => {
                let unit = unit_name(unit)?;
                let program = identifier.clone().unwrap_or_else(|| program_of(&unit));
                set("_SYSTEMD_UNIT", &unit);
                set("_SYSTEMD_CGROUP", &format!("/system.slice/{unit}"));
                set("_SYSTEMD_SLICE", "system.slice");
                set("SYSLOG_IDENTIFIER", &program);
                set("_COMM", comm(&program));
                set("_EXE", &format!("/usr/sbin/{program}"));
                set("_CMDLINE", &program);
                set("_UID", "0");
                set("_GID", "0");
                set("_PID", PID);
                set("SYSLOG_PID", PID);
            }
            (None, Some(identifier)) => {
                // SAFETY: getuid and getgid cannot fail and have no side effects.
                let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
                set("SYSLOG_IDENTIFIER", identifier);
                set("_COMM", "logger");
                set("_EXE", "/usr/bin/logger");
                set("_CMDLINE", &format!("logger -t {identifier}"));
                set("_UID", &uid.to_string());
                set("_GID", &gid.to_string());
                set("_SYSTEMD_UNIT", "session-1.scope");
                set("_SYSTEMD_SLICE", &format!("user-{uid}.slice"));
                set("_SYSTEMD_CGROUP", &format!("/user.slice/user-{uid}.slice/session-1.scope"));
                set("_PID", PID);
                set("SYSLOG_PID", PID);
            }
            (None, None) => {}
        }
        set("_TRANSPORT", "syslog");
        set("PRIORITY", "6");
        set("SYSLOG_FACILITY", "3");
        for (name, value) in this_host() {
            set(name, &value);
        }
        for (name, value) in &args.fields {
            fields.retain(|(n, _)| n != name);
            fields.push((name.clone(), value.clone()));
        }
        Ok(Sender { fields })
    }

    /// Fills `entry` (cleared) with the line and the sender's fields, at
    /// `now_us` unless `--field __REALTIME_TIMESTAMP=` said otherwise.
    pub fn fill(&self, entry: &mut Entry, table: &FieldTable, line: &str, now_us: u64) {
        entry.clear();
        let now = now_us.to_string();
        entry.set(REALTIME_TIMESTAMP, &now);
        if let Some(id) = table.get("_SOURCE_REALTIME_TIMESTAMP") {
            entry.set(id, &now);
        }
        entry.set(MESSAGE, line);
        for (name, value) in &self.fields {
            if let Some(id) = table.get(name) {
                entry.set(id, value);
            }
        }
    }
}

/// A unit name as systemd reads one given without its type: "sshd" is
/// "sshd.service".
fn unit_name(unit: &str) -> Result<String, String> {
    const TYPES: [&str; 11] = [
        ".service",
        ".socket",
        ".scope",
        ".timer",
        ".mount",
        ".path",
        ".slice",
        ".target",
        ".swap",
        ".device",
        ".automount",
    ];
    if unit.is_empty() || unit.contains('/') || unit.chars().any(char::is_whitespace) {
        return Err(format!("--unit {unit:?}: not a unit name (such as \"sshd.service\")"));
    }
    Ok(match TYPES.iter().any(|t| unit.ends_with(t)) {
        true => unit.to_owned(),
        false => format!("{unit}.service"),
    })
}

/// The program a typical unit runs: its name before `@instance` and type.
fn program_of(unit: &str) -> String {
    let name = unit.rsplit_once('.').map_or(unit, |(name, _)| name);
    name.split_once('@').map_or(name, |(name, _)| name).to_owned()
}

/// A program name as the kernel keeps it.
fn comm(program: &str) -> &str {
    let mut end = program.len().min(COMM_LEN);
    while !program.is_char_boundary(end) {
        end -= 1;
    }
    &program[..end]
}

/// `_HOSTNAME`, `_BOOT_ID` and `_MACHINE_ID` as journald writes them on
/// this host (those it cannot read are left out).
fn this_host() -> Vec<(&'static str, String)> {
    let read = |path: &str| std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut fields = Vec::new();
    if let Some(host) = read("/proc/sys/kernel/hostname") {
        fields.push(("_HOSTNAME", host));
    }
    // The boot id is a UUID; the journal writes it as 32 hex digits.
    if let Some(boot) = read("/proc/sys/kernel/random/boot_id") {
        fields.push(("_BOOT_ID", boot.replace('-', "")));
    }
    if let Some(machine) = read("/etc/machine-id") {
        fields.push(("_MACHINE_ID", machine));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_and_their_programs() {
        assert_eq!(unit_name("sshd").unwrap(), "sshd.service");
        assert_eq!(unit_name("ssh.socket").unwrap(), "ssh.socket");
        assert!(unit_name("a b").unwrap_err().contains("not a unit name"));
        assert_eq!(program_of("sshd.service"), "sshd");
        assert_eq!(program_of("postfix@-.service"), "postfix");
        assert_eq!(program_of("getty@tty1.service"), "getty");
        assert_eq!(comm("systemd-journald"), "systemd-journal");
        assert_eq!(comm("sshd"), "sshd");
    }
}
