//! How `banwarden test` prints a judged line: text for a person, or one
//! JSON object per line (`--json`) for a script.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use super::{CounterShown, Judged, Taken};
use crate::effect::Effect;

#[derive(Clone, Copy)]
pub enum Shown {
    Text,
    Json,
}

impl Shown {
    pub fn write(self, out: &mut impl Write, judged: &Judged) -> io::Result<()> {
        match self {
            Shown::Text => text(out, judged, ""),
            Shown::Json => {
                serde_json::to_writer(&mut *out, &to_json(judged))?;
                out.write_all(b"\n")
            }
        }
    }
}

fn text(out: &mut impl Write, judged: &Judged, indent: &str) -> io::Result<()> {
    let read_back = !indent.is_empty();
    match read_back {
        false => writeln!(out, "line {}: {}", judged.number, judged.message)?,
        true => writeln!(out, "{indent}read back (banwarden's own line, as the daemon reads it): {}", judged.message)?,
    }
    // The time is now, as the line's: nothing to read in it.
    let fields: Vec<String> = judged
        .fields
        .iter()
        .filter(|(name, _)| name != "__REALTIME_TIMESTAMP")
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    writeln!(
        out,
        "{indent}  fields the rules read: {}",
        if fields.is_empty() { "none".into() } else { fields.join(" ") }
    )?;
    if judged.path.is_empty() {
        writeln!(out, "{indent}  path: no step (there are no chains)")?;
    } else {
        writeln!(out, "{indent}  path:")?;
    }
    for taken in &judged.path {
        writeln!(out, "{indent}    {}", step_line(taken))?;
    }
    let captures: Vec<String> = set_fields(judged).iter().map(|(name, value)| format!("{name}={value:?}")).collect();
    if !captures.is_empty() {
        writeln!(out, "{indent}  set: {}", captures.join(" "))?;
    }
    for counter in &judged.counters {
        writeln!(out, "{indent}  counter {}", counter_line(counter))?;
    }
    if judged.effects.is_empty() {
        writeln!(out, "{indent}  would do: nothing")?;
    }
    for effect in &judged.effects {
        writeln!(out, "{indent}  would {}", effect_line(effect))?;
    }
    for again in &judged.read_back {
        text(out, again, &format!("{indent}    "))?;
    }
    if judged.loop_cut {
        writeln!(out, "{indent}  (not read back further: the rules log what they read back, in a loop)")?;
    }
    if !read_back {
        writeln!(out, "{}", if judged.bans() { "=> banned" } else { "=> not banned" })?;
    }
    Ok(())
}

/// Every field the steps set, with its last value, in the order first set.
fn set_fields(judged: &Judged) -> Vec<(&str, &str)> {
    let mut set: Vec<(&str, &str)> = Vec::new();
    for (name, value) in judged.path.iter().flat_map(|t| &t.captures) {
        match set.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => set.push((name, value)),
        }
    }
    set
}

fn step_line(taken: &Taken) -> String {
    let mut line = format!("{:?} step {} {}: {}", taken.chain, taken.index, taken.module, taken.verdict);
    if let Some(reason) = &taken.reason {
        line.push_str(&format!(" ({reason})"));
    }
    let captures: Vec<String> = taken.captures.iter().map(|(name, value)| format!("{name}={value:?}")).collect();
    if !captures.is_empty() {
        line.push_str(&format!(" -> {}", captures.join(" ")));
    }
    line
}

fn number(n: f64) -> String {
    match n.fract() == 0.0 && n.abs() < 1e15 {
        true => format!("{}", n as i64),
        false => n.to_string(),
    }
}

fn counter_line(c: &CounterShown) -> String {
    let top = c.reached.unwrap_or(c.count);
    let threshold = match c.threshold {
        Some(t) if (top as f64) >= t => format!(" (threshold {} reached)", number(t)),
        Some(t) => format!(" of {}", number(t)),
        None => String::new(),
    };
    match c.reached {
        Some(reached) => format!("{:?} for {:?}: {reached}{threshold}, then reset to {}", c.counter, c.key, c.count),
        None => format!("{:?} for {:?}: {}{threshold}", c.counter, c.key, c.count),
    }
}

fn effect_line(effect: &Effect) -> String {
    match effect {
        Effect::Ban(ban) => {
            let backend = match ban.set.backend() {
                crate::vocab::Backend::Nft => "nftables set",
                crate::vocab::Backend::Ipset => "ipset",
            };
            format!("ban {} in {backend} {:?} {} ({})", ban.net, ban.set.to_string(), ban.lifetime, ban.origin)
        }
        Effect::Log { level, message, .. } => format!("log at {}: {message}", level.name()),
        Effect::Email { subject, message } => match subject {
            Some(subject) => format!("mail {subject:?}: {message}"),
            None => format!("mail: {message}"),
        },
        Effect::Report { level, message, .. } => format!("add to the daily report ({}): {message}", level.name()),
    }
}

fn to_json(judged: &Judged) -> Value {
    let fields: Map<String, Value> = judged.fields.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
    let captures: Map<String, Value> =
        set_fields(judged).into_iter().map(|(k, v)| (k.to_owned(), Value::from(v))).collect();
    let path: Vec<Value> = judged
        .path
        .iter()
        .map(|t| {
            let set: Map<String, Value> =
                t.captures.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
            json!({"chain": t.chain, "step": t.index, "module": t.module, "verdict": t.verdict,
                   "reason": t.reason, "set": set})
        })
        .collect();
    let counters: Vec<Value> = judged
        .counters
        .iter()
        .map(|c| json!({"counter": c.counter, "key": c.key, "count": c.count, "reached": c.reached, "threshold": c.threshold}))
        .collect();
    let effects: Vec<Value> = judged.effects.iter().map(Effect::to_json).collect();
    let read_back: Vec<Value> = judged.read_back.iter().map(to_json).collect();
    json!({
        "line": judged.number,
        "message": judged.message,
        "fields": fields,
        "path": path,
        "set": captures,
        "counters": counters,
        "effects": effects,
        "read_back": read_back,
        "read_back_cut": judged.loop_cut,
        "banned": judged.bans(),
    })
}
