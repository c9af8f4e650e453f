//! `banwarden why ADDRESS [--json]`: every ban of an address (or of a
//! network that holds it), in every set, with who made it and why: the
//! counter that reached its threshold, and the journal entry that
//! triggered it, read again by its cursor while the journal still has it
//! (from the same journal the daemon reads: `--journal-namespace` and the
//! others, as for `run`). It also says whether the kernel holds the
//! address now, and whether the never-ban list or an allow set (the API's
//! accepts) protects it.
//!
//! Exit status: 0 when a ban of it is found (in the store or the kernel),
//! 1 when none is, 2 when the configuration is invalid.

use serde_json::{json, Value};

use super::{clock, load_config, owner, warn, Exit};
use crate::bans::{Bans, Look};
use crate::cli::WhyArgs;
use crate::config::ConfigFile;
use crate::firewall::Held;
use crate::journal::sd::{JournalReader, Source};
use crate::store::Until;
use crate::time::format_local;
use crate::vocab::{Network, Reason, SetRef};

/// The fields of a triggering entry shown as text (`--json` gives all).
const SHOWN: [&str; 5] = ["_HOSTNAME", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER", "_PID", "MESSAGE"];

pub fn run(file: &ConfigFile, args: &WhyArgs) -> anyhow::Result<Exit> {
    let Some(config) = load_config(file) else { return Ok(Exit::Invalid) };
    // Reading the journal needs its group, as for `run`.
    let journal_group: Vec<libc::gid_t> = owner::group_id("systemd-journal").into_iter().collect();
    owner::become_storage_owner(&config.settings.storage, &journal_group)?;
    let mut bans = Bans::new(&config.settings.storage, config.settings.never_ban.clone(), clock());
    bans.set_pairs(config.set_pairs());
    bans.set_allow_sets(config.settings.allow_sets());
    let net = args.address;
    let named: Vec<SetRef> = config.sets.iter().filter(|u| u.ipv6 == net.is_ipv6()).map(|u| u.set.clone()).collect();
    let looks = bans.inspect(net, &named, &mut warn)?;
    let (accepts, bans_of): (Vec<&Look>, Vec<&Look>) = looks.iter().partition(|l| bans.is_allow_set(&l.set));
    let never = config.settings.never_ban.iter().find(|n| n.covers(&net) || net.covers(n)).copied();
    let mut source = args.journal.source();
    if let Source::System { other_machines, .. } = &mut source {
        *other_machines = config.settings.journal_other_machines;
    }
    let mut journal = Journal::new(source, config.settings.decoder);
    let found = !bans_of.is_empty();
    match args.json {
        true => {
            let obj = json!({
                "address": net.to_string(),
                "banned": found,
                "bans": bans_of.iter().map(|l| look_json(l, &mut journal)).collect::<Vec<_>>(),
                "never_ban": never.map(|n| n.to_string()),
                "allowed": accepts.iter().map(|l| look_json(l, &mut journal)).collect::<Vec<_>>(),
                "journal_error": journal.error(),
            });
            crate::out!("{obj:#}")?;
        }
        false => text(net, &bans_of, &accepts, never, &mut journal)?,
    }
    Ok(if found { Exit::Success } else { Exit::Failure })
}

/// The journal, opened at the first cursor to look up (a ban by hand has
/// none, and then the journal is never opened).
struct Journal {
    source: Source,
    decoder: crate::entry::TextDecoder,
    reader: Option<Result<JournalReader, String>>,
}

/// What the journal says of a cursor.
enum Lookup {
    Found(Vec<(String, String)>),
    Gone,
    Failed(String),
}

impl Journal {
    fn new(source: Source, decoder: crate::entry::TextDecoder) -> Journal {
        Journal { source, decoder, reader: None }
    }

    fn lookup(&mut self, cursor: &str) -> Lookup {
        let (source, decoder) = (&self.source, self.decoder);
        let reader = self.reader.get_or_insert_with(|| {
            JournalReader::open(source, &crate::fields::FieldTable::new(), decoder).map_err(|e| e.to_string())
        });
        match reader {
            Err(e) => Lookup::Failed(e.clone()),
            Ok(reader) => match reader.entry_at(cursor) {
                Ok(Some(fields)) => Lookup::Found(fields),
                Ok(None) => Lookup::Gone,
                Err(e) => Lookup::Failed(e.to_string()),
            },
        }
    }

    /// Why the journal could not be opened, if it was tried.
    fn error(&self) -> Option<String> {
        match &self.reader {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        }
    }
}

fn until_text(until: Option<Until>) -> String {
    match until {
        None => "not in the store".to_owned(),
        Some(Until::Forever) => "never ends".to_owned(),
        Some(Until::At(t)) => format!("ends {}", format_local(t)),
    }
}

fn kernel_text(look: &Look) -> String {
    match &look.kernel {
        Ok(Held::By { left: None, element }) => format!("in the kernel now (element {element}, permanent)"),
        Ok(Held::By { left: Some(d), element }) => {
            format!("in the kernel now (element {element}, {} s left)", d.as_secs())
        }
        Ok(Held::Matched) => "in the kernel now (ipset test: held)".to_owned(),
        Ok(Held::No) => "NOT in the kernel set (banwarden boot restores it)".to_owned(),
        Err(e) => format!("kernel set not read: {e}"),
    }
}

fn text(
    net: Network,
    bans: &[&Look],
    accepts: &[&Look],
    never: Option<Network>,
    journal: &mut Journal,
) -> anyhow::Result<()> {
    match bans.len() {
        0 => crate::out!("{net} is not banned")?,
        1 => crate::out!("{net} is banned in 1 set")?,
        n => crate::out!("{net} is banned in {n} sets")?,
    }
    for look in bans {
        describe(net, look, journal)?;
    }
    for look in accepts {
        crate::out!("\n{net} is ACCEPTED by allow set {} (no ban of it is made)", look.set)?;
        describe(net, look, journal)?;
    }
    if let Some(never) = never {
        crate::out!("\n{net} is on the never-ban list ({never}): no rule or command bans it")?;
    }
    Ok(())
}

fn describe(asked: Network, look: &Look, journal: &mut Journal) -> anyhow::Result<()> {
    let inside = match look.net == asked {
        true => String::new(),
        false => format!(" (the network {} holds it)", look.net),
    };
    crate::out!("\n{}{inside}: {}; {}", look.set, until_text(look.until), kernel_text(look))?;
    let origin = look.by.as_deref().unwrap_or(if look.until.is_some() { "not recorded" } else { "not stored" });
    crate::out!("  by:       {origin}")?;
    let Some(reason) = look.why.as_deref() else { return Ok(()) };
    if let Some(c) = &reason.counter {
        crate::out!("  counter:  {:?} reached {} for {:?}", c.name, c.count, c.key)?;
    }
    if let Some(note) = &reason.note {
        crate::out!("  reason:   {note}")?;
    }
    if let Some(client) = &reason.client {
        crate::out!("  client:   {client}")?;
    }
    if let Some(t) = reason.time_us {
        crate::out!("  entry:    {}", format_local(t))?;
    }
    if let Some(message) = &reason.message {
        crate::out!("  message:  {message}")?;
    }
    let Some(cursor) = &reason.cursor else { return Ok(()) };
    crate::out!("  cursor:   {cursor}")?;
    match journal.lookup(cursor) {
        Lookup::Found(fields) => {
            crate::out!("  in the journal:")?;
            for name in SHOWN {
                if let Some((_, value)) = fields.iter().find(|(n, _)| n == name) {
                    crate::out!("    {name}={}", Reason::shorten(value, 1000))?;
                }
            }
        }
        Lookup::Gone => crate::out!("  the entry is no longer in the journal (rotated or vacuumed away)")?,
        Lookup::Failed(e) => crate::out!("  the journal could not be read: {e}")?,
    }
    Ok(())
}

/// A reason as `list --json` and `why --json` give it.
pub fn reason_json(reason: &Reason) -> Value {
    json!({
        "time": reason.time_us.map(|t| t as f64 / 1e6),
        "cursor": reason.cursor.as_deref(),
        "message": reason.message.as_deref(),
        "counter": reason.counter.as_ref().map(|c| json!({"name": &*c.name, "key": &*c.key, "count": c.count})),
        "note": reason.note.as_deref(),
        "client": reason.client.as_deref(),
    })
}

/// The reason in `list`'s one column: the origin, and the counter and
/// count (or the note) in brackets: `rule sshd#3 (sshd=5)`.
pub fn short(by: Option<&str>, why: Option<&Reason>) -> String {
    let by = by.unwrap_or("-");
    match why.and_then(Reason::short) {
        Some(short) => format!("{by} ({})", Reason::shorten(&short, 40)),
        None => by.to_owned(),
    }
}

fn look_json(look: &Look, journal: &mut Journal) -> Value {
    let (in_kernel, left) = match &look.kernel {
        Ok(Held::By { left, .. }) => (json!(true), json!(left.map(|d| d.as_secs()))),
        Ok(Held::Matched) => (json!(true), json!(null)),
        Ok(Held::No) => (json!(false), json!(null)),
        Err(_) => (json!(null), json!(null)),
    };
    let entry = match look.why.as_deref().and_then(|r| r.cursor.as_deref()).map(|c| journal.lookup(c)) {
        None => json!(null),
        Some(Lookup::Found(fields)) => {
            let map: serde_json::Map<String, Value> = fields.into_iter().map(|(n, v)| (n, Value::String(v))).collect();
            json!({"found": true, "fields": map})
        }
        Some(Lookup::Gone) => json!({"found": false}),
        Some(Lookup::Failed(e)) => json!({"found": null, "error": e}),
    };
    json!({
        "IP": look.net.to_string(),
        "set": look.set.to_string(),
        "in_store": look.until.is_some(),
        "until": match look.until {
            None | Some(Until::Forever) => json!(null),
            Some(Until::At(t)) => json!(t / 1_000_000),
        },
        "permanent": look.until == Some(Until::Forever),
        "in_kernel": in_kernel,
        "seconds_left": left,
        "kernel_error": look.kernel.as_ref().err().map(|e| e.to_string()),
        "by": look.by.as_deref(),
        "reason": look.why.as_deref().map(reason_json),
        "entry": entry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::CounterValue;

    #[test]
    fn the_short_reason_names_the_origin_and_the_counter() {
        let counter = CounterValue { name: "sshd".into(), key: "192.0.2.7".into(), count: 5 };
        let reason = Reason { counter: Some(counter), ..Reason::default() };
        assert_eq!(short(Some("rule sshd#3"), Some(&reason)), "rule sshd#3 (sshd=5)");
        assert_eq!(short(Some("cli root"), Some(&Reason::default().with_note("abuse"))), "cli root (abuse)");
        assert_eq!(short(None, None), "-");
        let json = reason_json(&reason);
        assert_eq!(json["counter"], json!({"name": "sshd", "key": "192.0.2.7", "count": 5}));
        assert_eq!(json["cursor"], Value::Null);
    }
}
