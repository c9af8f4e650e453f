//! Compiling one step's `args` into a filter or an action.
//!
//! Everything that can be checked before the first entry is checked here:
//! regexes compiled, networks and set paths parsed, templates parsed, field
//! names interned. Each problem is recorded with its place and the step is
//! dropped; the caller keeps going so that every problem is reported.

use super::args::Args;
use super::json::Json;
use super::problem::Problems;
use crate::actions::dnat::{self, Source, Tuple};
use crate::actions::{
    Action, Ban, CounterRaise, CounterReset, DailyReport, DnatCapture, DnatReplace, Email, Log, State,
};
use crate::effect::{Details, Level, ReportLevel};
use crate::fields::{FieldId, FieldTable};
use crate::filters::pyregex::PyRegex;
use crate::filters::{self, Compare, Filter, InList, InNetworks, Number, Op, Operand, Pcre, PcreAny, UserExists};
use crate::template::Template;
use crate::vocab::{Backend, Lifetime, Network, Origin, SetRef, KERNEL_MAX_TIMEOUT};

/// What compiling steps needs and produces besides the step itself.
pub struct Context<'a> {
    pub fields: &'a mut FieldTable,
    pub state: &'a mut State,
    pub problems: &'a mut Problems,
    /// Regexes compiled, and how many need the backtracking engine.
    pub regexes: usize,
    pub backtracking: usize,
    pub sets: Vec<super::SetUse>,
    /// The fields `action_network` writes, and whether they hold networks
    /// (rather than single addresses) for IPv4 and for IPv6.
    pub network_fields: std::collections::HashMap<FieldId, (bool, bool)>,
}

impl Context<'_> {
    fn field(&mut self, args: &mut Args, name: &'static str) -> Option<FieldId> {
        args.string(name, self.problems).map(|f| self.fields.intern(f))
    }

    fn opt_field(&mut self, args: &mut Args, name: &'static str) -> Option<FieldId> {
        args.opt_string(name, self.problems).map(|f| self.fields.intern(f))
    }

    fn template(&mut self, args: &mut Args, name: &'static str) -> Option<Template> {
        let text = args.string(name, self.problems)?;
        Template::parse(text, self.fields).map_err(|e| self.problems.error(&args.at(name), e.to_string())).ok()
    }

    fn regex(&mut self, args: &Args, arg: &str, pattern: &str) -> Option<PyRegex> {
        match PyRegex::new(pattern) {
            Ok(re) => {
                self.regexes += 1;
                self.backtracking += usize::from(re.is_backtracking());
                Some(re)
            }
            Err(e) => {
                self.problems.error(&args.at(arg), format!("{pattern:?}: {e}"));
                None
            }
        }
    }

    /// The fields receiving a regex's named groups, in its order.
    fn named_fields(&mut self, re: &PyRegex) -> Vec<FieldId> {
        re.named_groups().iter().map(|(_, name)| self.fields.intern(name)).collect()
    }
}

/// The `&'static` spelling of a known module name.
fn canonical(name: &str, known: &[&'static str]) -> Option<&'static str> {
    known.iter().copied().find(|k| *k == name)
}

/// Compiles a filter; `None` when the name is unknown or an argument is bad
/// (the problem is recorded).
pub fn filter(name: &str, args: &mut Args, cx: &mut Context) -> Option<(&'static str, Filter)> {
    let module = canonical(name, &filters::NAMES)?;
    let built = match module {
        "filter_equals" => compare(args, cx, Op::Equals),
        "filter_lowerOrEquals" => compare(args, cx, Op::LowerOrEquals),
        "filter_greaterOrEquals" => compare(args, cx, Op::GreaterOrEquals),
        "filter_in" => in_list(args, cx),
        "filter_inNetworks" => in_networks(args, cx),
        "filter_pcre" => pcre(args, cx),
        "filter_pcreAny" => pcre_any(args, cx),
        "filter_userExists" => cx.field(args, "field").map(|f| Filter::UserExists(UserExists::new(f))),
        _ => unreachable!("every name of filters::NAMES is handled"),
    };
    built.map(|f| (module, f))
}

fn compare(args: &mut Args, cx: &mut Context, op: Op) -> Option<Filter> {
    let field = cx.field(args, "field");
    let value = match args.get("value") {
        None => {
            cx.problems.error(&args.at("value"), "missing mandatory argument (a string or a number)");
            None
        }
        Some(v) => operand(args, "value", v, cx.problems),
    };
    if let Some(Operand::Number(n)) = &value {
        note_compared(cx, *n);
    }
    Some(Filter::Compare(Compare::new(field?, op, value?)))
}

/// Counter values must stay exact up to any number a filter compares a
/// field with (the counters keep that many ticks a key, at least).
fn note_compared(cx: &mut Context, n: Number) {
    cx.state.counters.compared_with(match n {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
    });
}

fn operand(args: &Args, arg: &str, value: &Json, problems: &mut Problems) -> Option<Operand> {
    match value {
        Json::String(s) => Some(Operand::Text(s.clone())),
        Json::Number(n) => Number::from_json(n).map(Operand::Number),
        other => {
            problems.error(&args.at(arg), format!("expected a string or a number, found {}", other.type_name()));
            None
        }
    }
}

fn in_list(args: &mut Args, cx: &mut Context) -> Option<Filter> {
    let field = cx.field(args, "field");
    let values = match args.get("values") {
        Some(Json::Array(items)) => {
            let (mut texts, mut numbers, mut ok) = (Vec::new(), Vec::new(), true);
            for item in items {
                match operand(args, "values", item, cx.problems) {
                    Some(Operand::Text(t)) => texts.push(t),
                    Some(Operand::Number(n)) => {
                        note_compared(cx, n);
                        numbers.push(n);
                    }
                    None => ok = false,
                }
            }
            ok.then_some((texts, numbers))
        }
        Some(other) => {
            cx.problems.error(&args.at("values"), format!("expected a list, found {}", other.type_name()));
            None
        }
        None => {
            cx.problems.error(&args.at("values"), "missing mandatory argument (a list of values)");
            None
        }
    };
    let (texts, numbers) = values?;
    Some(Filter::In(InList::new(field?, texts, numbers)))
}

fn in_networks(args: &mut Args, cx: &mut Context) -> Option<Filter> {
    let field = cx.field(args, "field");
    let list = args.string_list("nets", cx.problems)?;
    let mut nets = Vec::with_capacity(list.len());
    for text in list {
        match Network::parse(text) {
            Ok(net) => {
                if net.has_host_bits() {
                    cx.problems.warn(&args.at("nets"), format!("{text:?} has host bits set; they are ignored"));
                }
                nets.push(net);
            }
            Err(e) => cx.problems.error(&args.at("nets"), e),
        }
    }
    Some(Filter::InNetworks(InNetworks::new(field?, nets)))
}

fn pcre(args: &mut Args, cx: &mut Context) -> Option<Filter> {
    let field = cx.field(args, "field");
    let pattern = args.string("re", cx.problems);
    let save = args.opt_string_list("save", cx.problems).unwrap_or_default();
    let re = cx.regex(args, "re", pattern?)?;
    if save.len() > re.group_count() {
        cx.problems.error(
            &args.at("save"),
            format!("{} names to save but the regex has {} groups", save.len(), re.group_count()),
        );
        return None;
    }
    let save: Vec<FieldId> = save.iter().map(|s| cx.fields.intern(s)).collect();
    let named = cx.named_fields(&re);
    Some(Filter::Pcre(Box::new(Pcre::new(field?, re, &save, &named))))
}

fn pcre_any(args: &mut Args, cx: &mut Context) -> Option<Filter> {
    let field = cx.field(args, "field");
    let patterns = args.string_list("re", cx.problems)?;
    let mut regexes = Vec::with_capacity(patterns.len());
    let mut all_compiled = true;
    for pattern in patterns {
        match cx.regex(args, "re", pattern) {
            Some(re) => {
                let named = cx.named_fields(&re);
                regexes.push((re, named));
            }
            None => all_compiled = false,
        }
    }
    if !all_compiled {
        return None;
    }
    Some(Filter::PcreAny(Box::new(PcreAny::new(field?, regexes))))
}

/// Compiles an action; `None` when the name is unknown or an argument is bad.
pub fn action(name: &str, args: &mut Args, cx: &mut Context) -> Option<(&'static str, Action)> {
    let module = canonical(name, &crate::actions::NAMES)?;
    let built = match module {
        "action_noop" => Some(Action::Noop),
        "action_log" => log(args, cx),
        "action_counterRaise" => counter(args, cx, true),
        "action_counterReset" => counter(args, cx, false),
        "action_nftBan" => nft_ban(args, cx),
        "action_ipsetBan" => ipset_ban(args, cx),
        "action_email" => {
            let subject = args.opt_string("subject", cx.problems).map(str::to_owned);
            cx.template(args, "message").map(|m| Action::Email(Email::new(subject, m)))
        }
        "action_dailyReport" => daily_report(args, cx),
        "action_dnatCapture" => dnat_capture(args, cx),
        "action_dnatReplace" => dnat_replace(args, cx),
        "action_network" => network(args, cx),
        _ => unreachable!("every name of actions::NAMES is handled"),
    };
    built.map(|a| (module, a))
}

fn log(args: &mut Args, cx: &mut Context) -> Option<Action> {
    let level = match args.opt_string("level", cx.problems) {
        None => Some(Level::Info),
        Some(name) => Level::from_name(name).or_else(|| {
            let msg = format!("unknown level {name:?}; expected one of {}", Level::NAMES.join(", "));
            cx.problems.error(&args.at("level"), msg);
            None
        }),
    };
    let message = cx.template(args, "message");
    let Origin::Rule { chain, .. } = origin(args) else { unreachable!("a step's origin is a rule") };
    Some(Action::Log(Log::new(level?, message?, chain)))
}

fn counter(args: &mut Args, cx: &mut Context, raise: bool) -> Option<Action> {
    let category = args.string("counter", cx.problems).map(|c| cx.state.counters.category(c));
    let key = cx.field(args, "for");
    let seconds = args.opt_seconds(if raise { "keepSeconds" } else { "graceSeconds" }, cx.problems);
    let save = cx.opt_field(args, "save");
    if let Some(id) = save {
        cx.fields.mark_numeric(id);
    }
    Some(match raise {
        true => Action::CounterRaise(CounterRaise::new(category?, key?, seconds, save)),
        false => Action::CounterReset(CounterReset::new(category?, key?, seconds, save)),
    })
}

fn set_name(args: &mut Args, cx: &mut Context, name: &'static str, backend: Backend) -> Option<SetRef> {
    let text = args.string(name, cx.problems)?;
    SetRef::parse(backend, text).map_err(|e| cx.problems.error(&args.at(name), e)).ok()
}

/// The place of the step, which its bans carry as their origin.
fn origin(args: &Args) -> Origin {
    let at = args.location();
    Origin::Rule { chain: at.chain.as_deref().unwrap_or_default().into(), step: at.step.unwrap_or_default() }
}

fn nft_ban(args: &mut Args, cx: &mut Context) -> Option<Action> {
    let ip = cx.field(args, "IP");
    let v4 = set_name(args, cx, "nftSetIPv4", Backend::Nft);
    let v6 = set_name(args, cx, "nftSetIPv6", Backend::Nft);
    for (set, arg, for_ipv6) in [(&v4, "nftSetIPv4", false), (&v6, "nftSetIPv6", true)] {
        if let Some(warning) = set.as_ref().and_then(|s| s.as_nft()?.family_warning(for_ipv6)) {
            cx.problems.warn(&args.at(arg), warning);
        }
    }
    let secs = ban_seconds(args, cx);
    record_sets(cx, args, ip, [(&v4, "nftSetIPv4"), (&v6, "nftSetIPv6")], secs.is_some());
    Some(Action::Ban(Ban::new(ip?, v4?, v6?, Lifetime::from_seconds(secs), origin(args))))
}

fn ipset_ban(args: &mut Args, cx: &mut Context) -> Option<Action> {
    let ip = cx.field(args, "IP");
    let v4 = set_name(args, cx, "ipSetIPv4", Backend::Ipset);
    let v6 = set_name(args, cx, "ipSetIPv6", Backend::Ipset);
    let secs = ban_seconds(args, cx);
    record_sets(cx, args, ip, [(&v4, "ipSetIPv4"), (&v6, "ipSetIPv6")], secs.is_some());
    Some(Action::Ban(Ban::new(ip?, v4?, v6?, Lifetime::from_seconds(secs), origin(args))))
}

/// `banSeconds`; 0 means permanent, as it did in Pyruse (which tested it
/// for truth), rather than a ban that ends as it starts.
/// A length beyond what the kernel can time (about 584 years) is banned
/// permanently, with a warning, rather than refused by the kernel at every
/// ban (or stored with an end the store's reader would reject).
fn ban_seconds(args: &mut Args, cx: &mut Context) -> Option<u64> {
    match args.opt_seconds("banSeconds", cx.problems) {
        Some(0) => {
            cx.problems.warn(&args.at("banSeconds"), "0 means a permanent ban (as in Pyruse); leave it out to say so");
            None
        }
        Some(secs) if secs > KERNEL_MAX_TIMEOUT.as_secs() => {
            let why = format!(
                "{secs} s is longer than the kernel can time a ban ({} s, about 584 years): banned permanently; \
                 leave it out to say so",
                KERNEL_MAX_TIMEOUT.as_secs()
            );
            cx.problems.warn(&args.at("banSeconds"), why);
            None
        }
        secs => secs,
    }
}

/// Notes the sets of a ban action for the startup check (see `SetUse`).
fn record_sets(
    cx: &mut Context,
    args: &Args,
    field: Option<FieldId>,
    sets: [(&Option<SetRef>, &str); 2],
    timeout: bool,
) {
    let Some(field) = field else { return };
    for (ipv6, (set, arg)) in [false, true].into_iter().zip(sets) {
        if let Some(set) = set {
            let location = args.at(arg);
            // The other set of this action: where an address of the other
            // family belongs (an IPv4-mapped one in a Pyruse store's IPv6 set).
            let pair = sets[usize::from(!ipv6)].0.clone();
            let networks = false; // settled once every step is compiled
            cx.sets.push(super::SetUse { set: set.clone(), ipv6, timeout, location, pair, field, networks });
        }
    }
}

/// `action_network`: `IP` (the address field), `save` (the field to
/// write), `ipv4Prefix` and `ipv6Prefix` (lengths, by default 32 and 64).
fn network(args: &mut Args, cx: &mut Context) -> Option<Action> {
    use crate::actions::network::{DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX};
    let ip = cx.field(args, "IP");
    let save = cx.field(args, "save");
    let v4 = prefix_length(args, cx, "ipv4Prefix", 32, DEFAULT_IPV4_PREFIX);
    let v6 = prefix_length(args, cx, "ipv6Prefix", 128, DEFAULT_IPV6_PREFIX);
    let action = crate::actions::NetworkOf::new(ip?, save?, v4?, v6?);
    let (field, v4_nets, v6_nets) = action.writes();
    let known = cx.network_fields.entry(field).or_insert((false, false));
    *known = (known.0 | v4_nets, known.1 | v6_nets);
    Some(Action::Network(action))
}

/// A prefix length from 1 to `max` (0 would be every address of the family).
fn prefix_length(args: &mut Args, cx: &mut Context, name: &'static str, max: u8, default: u8) -> Option<u8> {
    let Some(value) = args.get(name) else { return Some(default) };
    match value {
        Json::Number(n) if n.as_u64().is_some_and(|n| (1..=u64::from(max)).contains(&n)) => n.as_u64().map(|n| n as u8),
        other => {
            let found = match other {
                Json::Number(n) => n.to_string(),
                other => other.type_name().to_owned(),
            };
            cx.problems.error(&args.at(name), format!("expected a prefix length from 1 to {max}, found {found}"));
            None
        }
    }
}

fn daily_report(args: &mut Args, cx: &mut Context) -> Option<Action> {
    let level = args.string("level", cx.problems).and_then(|name| {
        ReportLevel::from_name(name).or_else(|| {
            let msg = format!("unknown level {name:?}; expected one of {}", ReportLevel::NAMES.join(", "));
            cx.problems.error(&args.at("level"), msg);
            None
        })
    });
    let details = match args.opt_string("details", cx.problems) {
        None => Some(Details::All),
        Some(name) => Details::from_name(name).or_else(|| {
            let msg = format!("unknown details {name:?}; expected one of {}", Details::NAMES.join(", "));
            cx.problems.error(&args.at("details"), msg);
            None
        }),
    };
    let message = cx.template(args, "message");
    Some(Action::DailyReport(DailyReport::new(level?, details?, message?)))
}

const TUPLE: [(&str, &str); 4] =
    [("addr", "addrValue"), ("port", "portValue"), ("daddr", "daddrValue"), ("dport", "dportValue")];

fn dnat_capture(args: &mut Args, cx: &mut Context) -> Option<Action> {
    let saddr = cx.field(args, "saddr");
    let sport = cx.opt_field(args, "sport");
    let mut tuple: Tuple<Source> = Default::default();
    for (slot, (field_arg, value_arg)) in tuple.iter_mut().zip(TUPLE) {
        let field = cx.opt_field(args, field_arg);
        let value = args.opt_string(value_arg, cx.problems);
        *slot = match (field, value) {
            (Some(_), Some(_)) => {
                let msg = format!("give either {field_arg:?} (a field) or {value_arg:?} (a value), not both");
                cx.problems.error(&args.at(value_arg), msg);
                None
            }
            (Some(f), None) => Some(Source::Field(f)),
            (None, Some(v)) => Some(Source::Value(v.to_owned())),
            (None, None) => None,
        };
    }
    if tuple[0].is_none() {
        cx.problems.error(args.location(), "one of \"addr\" or \"addrValue\" is mandatory");
        return None;
    }
    let keep = args.opt_seconds("keepSeconds", cx.problems).unwrap_or(dnat::DEFAULT_KEEP_SECONDS);
    Some(Action::DnatCapture(DnatCapture::new(saddr?, sport, tuple, keep)))
}

fn dnat_replace(args: &mut Args, cx: &mut Context) -> Option<Action> {
    let mut tuple: Tuple<FieldId> = [None; 4];
    for (slot, (field_arg, _)) in tuple.iter_mut().zip(TUPLE) {
        *slot = cx.opt_field(args, field_arg);
    }
    let saddr_into = cx.opt_field(args, "saddrInto");
    let sport_into = cx.opt_field(args, "sportInto");
    let mut ok = true;
    if tuple.iter().all(Option::is_none) {
        cx.problems.error(args.location(), "at least one of \"addr\", \"port\", \"daddr\", \"dport\" is mandatory");
        ok = false;
    }
    if saddr_into.is_none() && sport_into.is_none() {
        cx.problems.error(args.location(), "at least one of \"saddrInto\", \"sportInto\" is mandatory");
        ok = false;
    }
    ok.then(|| Action::DnatReplace(DnatReplace::new(tuple, saddr_into, sport_into)))
}
