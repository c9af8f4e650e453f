//! `banwarden list [ADDRESS] [--kernel] [--json]`: every ban, the store and
//! the kernel side by side, so that a ban missing from either shows; or the
//! bans of one address or network, each set asked by one lookup.
//!
//! A large kernel set is not read unless `--kernel` asks (see
//! `bans::KernelRead`): its rows then say "not read" rather than call a
//! ban missing from the kernel, and a footer names the sets left unread.

use std::io::{BufWriter, Write};

use serde_json::json;

use super::{admin, warn, why, Exit};
use crate::bans::{Inventory, KernelRead, Look, Row, Size};
use crate::cli::ListArgs;
use crate::config::ConfigFile;
use crate::firewall::Held;
use crate::store::Until;
use crate::time::format_local;
use crate::vocab::{Network, SetRef};

pub fn run(file: &ConfigFile, args: &ListArgs) -> anyhow::Result<Exit> {
    let Some(mut admin) = admin(file)? else { return Ok(Exit::Invalid) };
    let named: Vec<SetRef> = admin.config.sets.iter().map(|u| u.set.clone()).collect();
    // A million lines: one write per buffer, not per line.
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if let Some(net) = args.address {
        let named: Vec<SetRef> =
            admin.config.sets.iter().filter(|u| u.ipv6 == net.is_ipv6()).map(|u| u.set.clone()).collect();
        let looks = admin.bans.inspect(net, &named, &mut warn)?;
        address(&mut out, net, &looks, args.json)?;
        out.flush()?;
        return Ok(Exit::Success);
    }
    let read = if args.kernel { KernelRead::All } else { KernelRead::Cheap };
    let inventory = admin.bans.inventory(&named, read, &mut warn)?;
    for (set, e) in &inventory.unreadable {
        eprintln!("warning: cannot read {set}: {e}");
    }
    match args.json {
        true => rows_json(&mut out, &inventory.rows)?,
        false => table(&mut out, &inventory.rows)?,
    }
    out.flush()?;
    let rows = inventory.rows.len();
    eprintln!("{rows} ban{}", if rows == 1 { "" } else { "s" });
    footer(&inventory);
    Ok(Exit::Success)
}

fn until_json(until: Option<Until>) -> serde_json::Value {
    match until {
        None | Some(Until::Forever) => json!(null),
        Some(Until::At(t)) => json!(t / 1_000_000),
    }
}

fn rows_json(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    for row in rows {
        let obj = json!({
            "IP": row.ip.to_string(),
            "set": row.set.to_string(),
            "in_store": row.until.is_some(),
            "until": until_json(row.until),
            "kernel_checked": row.checked,
            "in_kernel": row.checked.then_some(row.left.is_some()),
            "seconds_left": row.left.map(|l| l.map(|d| d.as_secs())),
            "kernel_error": row.kernel_error.as_ref().map(|e| e.to_string()),
            "unrestorable": row.unrestorable,
            "covered_by": row.covered_by.map(|net| net.to_string()),
            "by": row.by.as_deref(),
            "reason": row.why.as_deref().map(why::reason_json),
        });
        writeln!(out, "{obj}")?;
    }
    Ok(())
}

fn ends(until: Option<Until>) -> String {
    match until {
        None => "-".to_owned(),
        Some(Until::Forever) => "never".to_owned(),
        Some(Until::At(t)) => format_local(t),
    }
}

fn header(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<40} {:<28} {:<33} {:<14} {:<32} NOTE",
        "ADDRESS", "SET", "ENDS (store)", "LEFT (kernel)", "REASON"
    )
}

fn table(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    header(out)?;
    for row in rows {
        let left = match (row.checked, row.left) {
            (false, _) => "not read".to_owned(),
            (true, None) => "-".to_owned(),
            (true, Some(None)) => "permanent".to_owned(),
            (true, Some(Some(d))) => format!("{} s", d.as_secs()),
        };
        let note = match (&row.kernel_error, row.until.is_some(), row.left.is_some()) {
            (Some(e), _, _) => format!("kernel: {e}"),
            (None, true, false) if row.covered_by.is_some() => {
                format!("inside {}, whose element holds it", row.covered_by.expect("checked"))
            }
            (None, true, _) if !row.checked => String::new(),
            (None, true, false) if row.unrestorable.is_some() => {
                format!("cannot be restored: {}", row.unrestorable.as_deref().unwrap_or_default())
            }
            (None, true, false) => "not in the kernel set (banwarden boot restores it)".to_owned(),
            (None, false, true) => "not in the store (will not survive a reboot)".to_owned(),
            _ => String::new(),
        };
        let by = why::short(row.by.as_deref(), row.why.as_deref());
        writeln!(
            out,
            "{:<40} {:<28} {:<33} {:<14} {by:<32} {note}",
            row.ip,
            row.set.to_string(),
            ends(row.until),
            left
        )?;
    }
    Ok(())
}

/// Says which sets were not read, so that no row passes for checked.
fn footer(inventory: &Inventory) {
    for (set, size) in &inventory.unread {
        let size = match size {
            Size::Kernel(n) => format!("{n} elements"),
            Size::Stored(n) => format!("{n} stored bans"),
        };
        eprintln!(
            "note: {set} ({size}) was not read from the kernel: too large to dump unasked; its rows show the \
             store only (`banwarden list --kernel` reads it, `banwarden list ADDRESS` looks one address up)"
        );
    }
}

/// `list ADDRESS`: one row per stored ban of it or of a network holding
/// it, then what only the kernel holds, each with the kernel's lookup.
fn address(out: &mut impl Write, net: Network, looks: &[Look], json: bool) -> std::io::Result<()> {
    if json {
        for look in looks {
            let (in_kernel, left_known, left) = match &look.kernel {
                Ok(Held::By { left, .. }) => (json!(true), true, json!(left.map(|d| d.as_secs()))),
                Ok(Held::Matched) => (json!(true), false, json!(null)),
                Ok(Held::No) => (json!(false), true, json!(null)),
                Err(_) => (json!(null), false, json!(null)),
            };
            let element = match &look.kernel {
                Ok(Held::By { element, .. }) => json!(element.to_string()),
                _ => json!(null),
            };
            let obj = json!({
                "IP": look.net.to_string(),
                "asked": net.to_string(),
                "set": look.set.to_string(),
                "in_store": look.until.is_some(),
                "until": until_json(look.until),
                "kernel_checked": look.kernel.is_ok(),
                "in_kernel": in_kernel,
                "kernel_element": element,
                "seconds_left": left,
                "seconds_left_known": left_known,
                "kernel_error": look.kernel.as_ref().err().map(|e| e.to_string()),
                "by": look.by.as_deref(),
                "reason": look.why.as_deref().map(why::reason_json),
            });
            writeln!(out, "{obj}")?;
        }
        return Ok(());
    }
    if looks.is_empty() {
        return writeln!(out, "{net} is not banned");
    }
    header(out)?;
    for look in looks {
        let left = match &look.kernel {
            Ok(Held::By { left: None, .. }) => "permanent".to_owned(),
            Ok(Held::By { left: Some(d), .. }) => format!("{} s", d.as_secs()),
            Ok(Held::Matched) => "held".to_owned(),
            Ok(Held::No) | Err(_) => "-".to_owned(),
        };
        let inside = (look.net != net).then(|| format!("{net} is inside it"));
        let kernel = match (&look.kernel, look.until.is_some()) {
            (Err(e), _) => Some(format!("kernel: {e}")),
            (Ok(Held::By { element, .. }), _) if *element != look.net => Some(format!("held by element {element}")),
            (Ok(Held::Matched), _) => Some("ipset test says held, not by which element nor for how long".into()),
            (Ok(Held::No), true) => Some("not in the kernel set (banwarden boot restores it)".into()),
            _ => None,
        };
        let unstored = look.until.is_none().then(|| "not in the store (will not survive a reboot)".to_owned());
        let note = [inside, kernel, unstored].into_iter().flatten().collect::<Vec<_>>().join("; ");
        let by = why::short(look.by.as_deref(), look.why.as_deref());
        writeln!(
            out,
            "{:<40} {:<28} {:<33} {:<14} {by:<32} {note}",
            look.net,
            look.set.to_string(),
            ends(look.until),
            left
        )?;
    }
    Ok(())
}
