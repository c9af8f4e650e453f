//! `banwarden list [--json]`: every ban, the store and the kernel side by
//! side, so that a ban missing from either shows.

use serde_json::json;

use super::{admin, warn, Exit};
use crate::cli::ListArgs;
use crate::config::ConfigFile;
use crate::store::Until;
use crate::time::format_local;
use crate::vocab::SetRef;

pub fn run(file: &ConfigFile, args: &ListArgs) -> anyhow::Result<Exit> {
    let Some(mut admin) = admin(file)? else { return Ok(Exit::Invalid) };
    let named: Vec<SetRef> = admin.config.sets.iter().map(|u| u.set.clone()).collect();
    let inventory = admin.bans.inventory(&named, &mut warn)?;
    for (set, e) in &inventory.unreadable {
        eprintln!("warning: cannot read {set}: {e}");
    }
    let rows = &inventory.rows;
    if args.json {
        for row in rows {
            let until = row.until.map(|u| match u {
                Until::Forever => json!(null),
                Until::At(t) => json!(t / 1_000_000),
            });
            let obj = json!({
                "IP": row.ip.to_string(),
                "set": row.set.to_string(),
                "in_store": row.until.is_some(),
                "until": until,
                "in_kernel": row.left.is_some(),
                "seconds_left": row.left.map(|l| l.map(|d| d.as_secs())),
                "kernel_error": row.kernel_error.as_ref().map(|e| e.to_string()),
                "unrestorable": row.unrestorable,
                "covered_by": row.covered_by.map(|net| net.to_string()),
            });
            crate::out!("{obj}")?;
        }
        return Ok(Exit::Success);
    }
    crate::out!("{:<40} {:<28} {:<33} {:<14} NOTE", "ADDRESS", "SET", "ENDS (store)", "LEFT (kernel)")?;
    for row in rows {
        let ends = match row.until {
            None => "-".to_owned(),
            Some(Until::Forever) => "never".to_owned(),
            Some(Until::At(t)) => format_local(t),
        };
        let left = match row.left {
            None => "-".to_owned(),
            Some(None) => "permanent".to_owned(),
            Some(Some(d)) => format!("{} s", d.as_secs()),
        };
        let note = match (&row.kernel_error, row.until.is_some(), row.left.is_some()) {
            (Some(e), _, _) => format!("kernel: {e}"),
            (None, true, false) if row.covered_by.is_some() => {
                format!("inside {}, whose element holds it", row.covered_by.expect("checked"))
            }
            (None, true, false) if row.unrestorable.is_some() => {
                format!("cannot be restored: {}", row.unrestorable.as_deref().unwrap_or_default())
            }
            (None, true, false) => "not in the kernel set (banwarden boot restores it)".to_owned(),
            (None, false, true) => "not in the store (will not survive a reboot)".to_owned(),
            _ => String::new(),
        };
        crate::out!("{:<40} {:<28} {:<33} {:<14} {note}", row.ip, row.set.to_string(), ends, left)?;
    }
    eprintln!("{} ban{}", rows.len(), if rows.len() == 1 { "" } else { "s" });
    Ok(Exit::Success)
}
