//! Laying a report out, as text for a terminal and as an HTML document.
//!
//! The layout is Pyruse's: a `WARN` table, an `INFO` table, then the `OTHER`
//! events. A table has one row per distinct message, in the messages' byte
//! order (Pyruse sorted them, and Python compares strings by code point,
//! which is the same order), with the number of times it was recorded and
//! the times `details` asks for. The `OTHER` events come one per line in
//! time order, each with its time. A section with nothing in it keeps its
//! heading and says so, so every report has the same shape.
//!
//! Times are local, written as Python's `str()` of an aware `datetime`
//! ([`crate::time::write_local`]), the form of every time banwarden prints.
//!
//! Messages come from log entries, that is from anyone who can make a
//! service log a line: in HTML every message is escaped, and in both bodies
//! control characters other than newline and tab are written as Rust escapes
//! (`\u{1b}`), so no terminal escape sequence reaches the admin's screen and
//! the HTML holds no character it forbids. A newline in a message starts a new
//! line at the message's indentation.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{local_day, Line};
use crate::effect::{Details, ReportLevel};
use crate::time::write_local;

/// A report, ready to be mailed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The local days it covers, for the subject: `2025-11-20`, or
    /// `2025-11-18 to 2025-11-20` when it holds several days (the daemon was
    /// down when one of them ended).
    pub period: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, a complete document.
    pub html: String,
    /// How many report lines it holds.
    pub lines: usize,
    /// The sequence numbers of those lines in the pending report, sorted, so
    /// that [`super::PendingReport::sent`] removes exactly these.
    pub(super) taken: Vec<u64>,
}

const HEADINGS: [(ReportLevel, &str); 3] =
    [(ReportLevel::Warn, "Warnings"), (ReportLevel::Info, "Information"), (ReportLevel::Other, "Other log events")];
const NOTHING: &str = "Nothing recorded.";
/// What introduces a time that is not simply one of the occurrences.
const FROM: &str = "From:  ";
const UNTIL: &str = "Until: ";

/// The occurrences of one message recorded with one `details`.
struct Group {
    details: Details,
    /// In time order.
    times: Vec<u64>,
}

/// One table row: a message, how often, and its occurrences by `details`
/// (in the order each `details` first occurred, as Pyruse showed them).
#[derive(Default)]
struct Row {
    count: usize,
    groups: Vec<Group>,
}

type Table<'a> = BTreeMap<&'a str, Row>;

/// Renders `lines`, which `taken` numbers; `None` when there are none.
pub(super) fn render(mut lines: Vec<&Line>, taken: Vec<u64>) -> Option<Rendered> {
    // Stable: lines of the same microsecond keep the order they were added in.
    lines.sort_by_key(|l| l.time_us);
    let (first, last) = (lines.first()?, lines.last()?);
    let (first_day, last_day) = (local_day(first.time_us), local_day(last.time_us));
    let period = if first_day == last_day { first_day.to_string() } else { format!("{first_day} to {last_day}") };

    let (mut warn, mut info, mut other) = (Table::new(), Table::new(), Vec::new());
    for &line in &lines {
        let table = match line.level {
            ReportLevel::Warn => &mut warn,
            ReportLevel::Info => &mut info,
            ReportLevel::Other => {
                other.push(line);
                continue;
            }
        };
        let row = table.entry(line.message.as_str()).or_default();
        row.count += 1;
        match row.groups.iter_mut().find(|g| g.details == line.details) {
            Some(group) => group.times.push(line.time_us),
            None => row.groups.push(Group { details: line.details, times: vec![line.time_us] }),
        }
    }

    let title = format!("banwarden report for {period}");
    let mut text = String::with_capacity(lines.len() * 64);
    let mut html = String::with_capacity(lines.len() * 96);
    text_start(&mut text, &title);
    html_start(&mut html, &title);
    for (level, heading) in HEADINGS {
        text_heading(&mut text, heading);
        let _ = writeln!(html, "<h2>{heading}</h2>");
        match level {
            ReportLevel::Warn | ReportLevel::Info => {
                let table = if level == ReportLevel::Warn { &warn } else { &info };
                text_table(&mut text, table);
                html_table(&mut html, table);
            }
            ReportLevel::Other => {
                text_events(&mut text, &other);
                html_events(&mut html, &other);
            }
        }
    }
    html.push_str("</body>\n</html>\n");
    Some(Rendered { period, text, html, lines: lines.len(), taken })
}

/// The times a row shows for one group, each with the label that goes before
/// it. `FIRSTLAST` of a single occurrence shows it plainly, as Pyruse did:
/// "from" and "until" the same instant says less than the instant.
fn shown(group: &Group) -> Vec<(&'static str, u64)> {
    let times = &group.times;
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else { return Vec::new() };
    match group.details {
        Details::All => times.iter().map(|&t| ("", t)).collect(),
        Details::None => Vec::new(),
        Details::First => vec![(FROM, first)],
        Details::Last => vec![(UNTIL, last)],
        Details::FirstLast if times.len() == 1 => vec![("", first)],
        Details::FirstLast => vec![(FROM, first), (UNTIL, last)],
    }
}

// ---- text ----

fn text_start(out: &mut String, title: &str) {
    let _ = writeln!(out, "{title}\n{}", "=".repeat(title.chars().count()));
}

fn text_heading(out: &mut String, heading: &str) {
    let _ = writeln!(out, "\n{heading}\n{}", "-".repeat(heading.chars().count()));
}

/// `Count  Message`, then under each message its times, indented two more
/// columns than the message so that they stand apart from a message's own
/// continuation lines. Groups of one row are separated by an empty line.
fn text_table(out: &mut String, table: &Table) {
    if table.is_empty() {
        let _ = writeln!(out, "{NOTHING}");
        return;
    }
    let width = table.values().map(|r| r.count.to_string().len()).max().unwrap_or(0).max("Count".len());
    let _ = writeln!(out, "{:>width$}  Message", "Count");
    for (message, row) in table {
        let _ = write!(out, "{:>width$}  ", row.count);
        push_text(out, message, width + 2);
        out.push('\n');
        let mut groups = row.groups.iter().map(shown).filter(|s| !s.is_empty()).peekable();
        while let Some(times) = groups.next() {
            for (label, time) in times {
                let _ = write!(out, "{:indent$}{label}", "", indent = width + 4);
                let _ = write_local(out, time);
                out.push('\n');
            }
            if groups.peek().is_some() {
                out.push('\n');
            }
        }
    }
}

/// One line per event, `time  message`, the messages aligned.
fn text_events(out: &mut String, events: &[&Line]) {
    if events.is_empty() {
        let _ = writeln!(out, "{NOTHING}");
        return;
    }
    let mut times = Vec::with_capacity(events.len());
    for line in events {
        let mut time = String::with_capacity(32);
        let _ = write_local(&mut time, line.time_us);
        times.push(time);
    }
    let width = times.iter().map(String::len).max().unwrap_or(0);
    for (line, time) in events.iter().zip(&times) {
        let _ = write!(out, "{time:<width$}  ");
        push_text(out, &line.message, width + 2);
        out.push('\n');
    }
}

/// A message for a terminal: controls made visible, each continuation line
/// indented to `indent`.
fn push_text(out: &mut String, message: &str, indent: usize) {
    for (i, part) in message.split('\n').enumerate() {
        if i > 0 {
            let _ = write!(out, "\n{:indent$}", "");
        }
        for c in part.chars() {
            push_visible(out, c);
        }
    }
}

fn push_visible(out: &mut String, c: char) {
    if c.is_control() && c != '\t' && c != '\n' {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

// ---- HTML ----

/// The start of a small HTML5 document. The style is in the head: mail
/// readers that drop it still show plain tables.
fn html_start(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>\n\
         table {{ border-collapse: collapse; }}\n\
         th, td {{ border: 1px solid #999; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }}\n\
         td.count {{ text-align: right; }}\n\
         td.time {{ white-space: nowrap; }}\n\
         td.message {{ white-space: pre-wrap; }}\n\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
}

fn html_table(out: &mut String, table: &Table) {
    if table.is_empty() {
        let _ = writeln!(out, "<p>{NOTHING}</p>");
        return;
    }
    out.push_str("<table>\n<tr><th>Count</th><th>Message</th><th>Times</th></tr>\n");
    for (message, row) in table {
        let _ = write!(out, "<tr><td class=\"count\">{}</td><td class=\"message\">", row.count);
        push_html(out, message);
        out.push_str("</td><td class=\"time\">");
        let groups = row.groups.iter().map(shown).filter(|s| !s.is_empty());
        for (g, times) in groups.enumerate() {
            if g > 0 {
                out.push_str("<br><br>");
            }
            for (i, (label, time)) in times.into_iter().enumerate() {
                if i > 0 {
                    out.push_str("<br>");
                }
                out.push_str(label);
                let _ = write_local(out, time);
            }
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");
}

fn html_events(out: &mut String, events: &[&Line]) {
    if events.is_empty() {
        let _ = writeln!(out, "<p>{NOTHING}</p>");
        return;
    }
    out.push_str("<table>\n<tr><th>Time</th><th>Message</th></tr>\n");
    for line in events {
        out.push_str("<tr><td class=\"time\">");
        let _ = write_local(out, line.time_us);
        out.push_str("</td><td class=\"message\">");
        push_html(out, &line.message);
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");
}

/// Text as HTML character data, safe in an element or a quoted attribute.
fn push_html(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => push_visible(out, c),
        }
    }
}
