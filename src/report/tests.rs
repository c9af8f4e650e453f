//! Tests of the daily report: its content, and its file across restarts and
//! crashes. Times are built in the local zone of the test process, so the
//! tests hold whatever `TZ` is; the DST test sets its own in a child process.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use chrono::{Local, NaiveDate, TimeZone};

use super::*;
use crate::time::format_local;

const MIN: u64 = 60_000_000;
const HOUR: u64 = 60 * MIN;

/// The instant of a local wall-clock time (the earlier one if it is doubled).
fn local(day: (i32, u32, u32), h: u32, m: u32, s: u32) -> u64 {
    let naive = NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap().and_hms_opt(h, m, s).unwrap();
    Local.from_local_datetime(&naive).earliest().expect("a time outside DST gaps").timestamp_micros() as u64
}

const DAY: (i32, u32, u32) = (2025, 11, 20);
const NEXT: (i32, u32, u32) = (2025, 11, 21);

fn line(level: ReportLevel, details: Details, message: &str, time_us: u64) -> Line {
    Line { level, details, message: message.into(), time_us }
}

fn warn(details: Details, message: &str, time_us: u64) -> Line {
    line(ReportLevel::Warn, details, message, time_us)
}

fn info(message: &str, time_us: u64) -> Line {
    line(ReportLevel::Info, Details::All, message, time_us)
}

fn other(message: &str, time_us: u64) -> Line {
    line(ReportLevel::Other, Details::All, message, time_us)
}

fn open(dir: &Path) -> PendingReport {
    let (report, warnings) = PendingReport::open(dir).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    report
}

/// The report of `lines`, all of one day.
fn rendered(lines: &[Line]) -> Rendered {
    let dir = tempfile::tempdir().unwrap();
    let mut pending = open(dir.path());
    pending.add(lines).unwrap();
    pending.render().unwrap()
}

/// The text of one section: from its heading to the next one.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("no {heading:?} in\n{text}"));
    let rest = &text[start + heading.len() + 2..];
    let end = ["\nWarnings\n", "\nInformation\n", "\nOther log events\n"]
        .iter()
        .filter_map(|h| rest.find(h))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn each_details_shows_its_times() {
    let t = [local(DAY, 9, 0, 0), local(DAY, 10, 0, 0), local(DAY, 11, 0, 0)];
    let mut lines = Vec::new();
    for (details, message) in [
        (Details::All, "all"),
        (Details::None, "none"),
        (Details::First, "first"),
        (Details::Last, "last"),
        (Details::FirstLast, "firstlast"),
    ] {
        lines.extend(t.iter().map(|&time| warn(details, message, time)));
    }
    lines.push(warn(Details::FirstLast, "firstlast once", t[1]));
    let r = rendered(&lines);
    let [t0, t1, t2] = t.map(format_local);
    let warnings = section(&r.text, "Warnings");
    // The times under a row: the lines indented past the message column.
    let row = |message: &str| {
        let mut lines =
            warnings.lines().skip_while(|l| !l.ends_with(&format!("  {message}")) || l.starts_with("      "));
        assert!(lines.next().is_some(), "no row {message:?} in {warnings}");
        lines.take_while(|l| l.starts_with("         ")).map(str::trim).collect::<Vec<_>>()
    };
    assert_eq!(row("all"), [&t0, &t1, &t2], "{warnings}");
    assert!(row("none").is_empty(), "{warnings}");
    assert_eq!(row("first"), [format!("From:  {t0}")]);
    assert_eq!(row("last"), [format!("Until: {t2}")]);
    assert_eq!(row("firstlast"), [format!("From:  {t0}"), format!("Until: {t2}")]);
    assert_eq!(row("firstlast once"), [&t1], "a single occurrence is shown plainly");
    for (message, count) in [("all", 3), ("none", 3), ("first", 3), ("firstlast once", 1)] {
        assert!(warnings.contains(&format!("{count:>5}  {message}\n")), "{message}: {warnings}");
    }
    // The same in HTML, one cell per row.
    assert!(r.html.contains(&format!("<td class=\"message\">all</td><td class=\"time\">{t0}<br>{t1}<br>{t2}</td>")));
    assert!(r.html.contains("<td class=\"count\">3</td><td class=\"message\">none</td><td class=\"time\"></td>"));
    assert!(r.html.contains(&format!(">first</td><td class=\"time\">From:  {t0}</td>")));
    assert!(r.html.contains(&format!(">last</td><td class=\"time\">Until: {t2}</td>")));
    assert!(r.html.contains(&format!(">firstlast</td><td class=\"time\">From:  {t0}<br>Until: {t2}</td>")));
}

#[test]
fn one_message_with_two_details_gets_two_groups() {
    let (a, b, c) = (local(DAY, 9, 0, 0), local(DAY, 10, 0, 0), local(DAY, 11, 0, 0));
    let r = rendered(&[warn(Details::Last, "m", c), warn(Details::All, "m", a), warn(Details::Last, "m", b)]);
    let (a, b, c) = (format_local(a), format_local(b), format_local(c));
    assert!(r.text.contains(&format!("    3  m\n         {a}\n\n         Until: {c}\n")), "{}", r.text);
    assert!(r.html.contains(&format!("<td class=\"time\">{a}<br><br>Until: {c}</td>")), "{}", r.html);
    assert!(!r.text.contains(&b), "LAST shows only the last of its own group");
}

#[test]
fn distinct_messages_are_counted_and_sorted() {
    let t = local(DAY, 8, 0, 0);
    let mut lines: Vec<Line> = (0..12).map(|i| info("ssh: login from 192.0.2.7", t + i * MIN)).collect();
    lines.push(info("XMPP peer without TLS", t + HOUR));
    lines.push(info("Apache restarted", t + 2 * HOUR));
    lines.push(warn(Details::None, "ssh: login from 192.0.2.7", t));
    let r = rendered(&lines);
    let infos = section(&r.text, "Information");
    let rows: Vec<&str> = infos.lines().filter(|l| l.starts_with(|c: char| c == ' ' || c.is_ascii_digit())).collect();
    let rows: Vec<&str> = rows.into_iter().filter(|l| !l.starts_with("      ")).collect();
    // Byte order, as Pyruse's sorted(): upper case first.
    assert_eq!(rows, ["    1  Apache restarted", "    1  XMPP peer without TLS", "   12  ssh: login from 192.0.2.7"]);
    assert!(infos.starts_with("-----------\nCount  Message\n"), "{infos}");
    // Levels are counted apart.
    assert!(section(&r.text, "Warnings").contains("    1  ssh: login from 192.0.2.7\n"));
    assert!(r.html.contains("<td class=\"count\">12</td><td class=\"message\">ssh: login from 192.0.2.7</td>"));
    assert_eq!(r.lines, 15);
}

#[test]
fn the_count_column_widens_for_large_counts() {
    let t = local(DAY, 8, 0, 0);
    let lines: Vec<Line> = (0..123_456).map(|i| warn(Details::None, "flood", t + i)).collect();
    let r = rendered(&lines);
    assert!(r.text.contains(" Count  Message\n123456  flood\n"), "{}", r.text);
}

#[test]
fn other_events_are_in_time_order_whatever_the_order_they_came_in() {
    let t = local(DAY, 12, 0, 0);
    let dir = tempfile::tempdir().unwrap();
    let mut pending = open(dir.path());
    pending.add(&[other("third", t + 3 * MIN), other("first", t + MIN)]).unwrap();
    pending.add(&[other("second", t + 2 * MIN), other("second, same instant", t + 2 * MIN)]).unwrap();
    pending.add(&[other("zeroth", t)]).unwrap();
    let r = pending.render().unwrap();
    let events = section(&r.text, "Other log events");
    let messages: Vec<&str> = events.lines().skip(1).map(|l| l.split("  ").nth(1).unwrap()).collect();
    assert_eq!(messages, ["zeroth", "first", "second", "second, same instant", "third"]);
    assert!(events.contains(&format!("{}  first\n", format_local(t + MIN))));
    let order: Vec<usize> = ["zeroth", "first", "second<", "second, same", "third"]
        .iter()
        .map(|m| r.html.find(&format!("\"message\">{m}")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", r.html);
}

#[test]
fn hostile_messages_are_escaped() {
    let t = local(DAY, 12, 0, 0);
    let evil = "<script>alert(\"x\")</script> & 'q' <img src=x onerror=alert(1)>\u{1b}[31mred\u{7}\u{0}";
    let r = rendered(&[warn(Details::All, evil, t), info(evil, t), other(evil, t)]);
    for forbidden in ["<script", "<img", "\u{1b}", "\u{7}", "\u{0}", "\"x\"", "'q'"] {
        assert!(!r.html.contains(forbidden), "{forbidden:?} in {}", r.html);
    }
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; \
                   &lt;img src=x onerror=alert(1)&gt;\\u{1b}[31mred\\u{7}\\u{0}";
    assert_eq!(r.html.matches(escaped).count(), 3, "{}", r.html);
    // The text body keeps the markup as text, without terminal controls.
    for forbidden in ["\u{1b}", "\u{7}", "\u{0}"] {
        assert!(!r.text.contains(forbidden), "{forbidden:?} in {}", r.text);
    }
    assert_eq!(r.text.matches("<script>alert(\"x\")</script> & 'q'").count(), 3);
    assert!(r.text.contains("\\u{1b}[31mred\\u{7}\\u{0}"));
}

#[test]
fn multi_line_messages_stay_in_their_column() {
    let t = local(DAY, 12, 0, 0);
    let r = rendered(&[info("first line\nsecond line", t), other("a\nb", t)]);
    assert!(r.text.contains("    1  first line\n       second line\n"), "{}", r.text);
    let time = format_local(t);
    assert!(r.text.contains(&format!("{time}  a\n{:w$}b\n", "", w = time.len() + 2)), "{}", r.text);
    assert!(r.html.contains("<td class=\"message\">first line\nsecond line</td>"));
}

#[test]
fn empty_sections_say_so_and_the_html_is_a_document() {
    let r = rendered(&[other("only this", local(DAY, 12, 0, 0))]);
    assert_eq!(section(&r.text, "Warnings"), "--------\nNothing recorded.\n");
    assert_eq!(section(&r.text, "Information"), "-----------\nNothing recorded.\n");
    assert!(r.text.starts_with("banwarden report for 2025-11-20\n===============================\n"), "{}", r.text);
    assert_eq!(r.period, "2025-11-20");
    assert_eq!(r.html.matches("<p>Nothing recorded.</p>").count(), 2);
    assert!(r.html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"));
    assert!(r.html.ends_with("</body>\n</html>\n"));
    for tag in ["html", "head", "title", "style", "body", "h1", "table", "tr", "td", "th", "p"] {
        assert_eq!(
            r.html.matches(&format!("<{tag}>")).count() + r.html.matches(&format!("<{tag} ")).count(),
            r.html.matches(&format!("</{tag}>")).count(),
            "<{tag}> balanced in {}",
            r.html
        );
    }
    assert!(PendingReport::open(tempfile::tempdir().unwrap().path()).unwrap().0.render().is_none());
}

#[test]
fn midnight_splits_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut pending = open(dir.path());
    let (before, after) = (local(DAY, 23, 59, 59), local(NEXT, 0, 0, 1));
    pending.add(&[other("late", before), warn(Details::All, "w", local(DAY, 1, 0, 0))]).unwrap();
    assert!(!pending.is_due(before), "the day is not over");
    assert!(pending.due(before).is_none());
    // A line of the new day comes in while yesterday's are pending.
    pending.add(&[other("early", after), warn(Details::All, "w", after)]).unwrap();
    assert!(pending.is_due(after));
    let report = pending.due(after).unwrap();
    assert_eq!((report.lines, report.period.as_str()), (2, "2025-11-20"));
    assert!(report.text.contains("late") && !report.text.contains("early"), "{}", report.text);
    assert!(report.text.contains("    1  w\n"), "only yesterday's occurrence: {}", report.text);
    // Nothing changes until it was sent.
    assert_eq!(pending.len(), 4);
    assert_eq!(open(dir.path()).len(), 4);
    pending.sent(&report).unwrap();
    let today = [other("early", after), warn(Details::All, "w", after)];
    assert_eq!(pending.lines().cloned().collect::<Vec<_>>(), today);
    assert!(!pending.is_due(local(NEXT, 23, 59, 59)));
    assert!(pending.is_due(local((2025, 11, 22), 0, 0, 0)));
    assert_eq!(open(dir.path()).lines().cloned().collect::<Vec<_>>(), today, "on disk too");
    pending.sent(&report).unwrap();
    assert_eq!(pending.len(), 2, "sending twice removes nothing more");
}

#[test]
fn days_missed_while_down_go_in_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut pending = open(dir.path());
    pending.add(&[other("a", local((2025, 11, 18), 12, 0, 0)), other("b", local(DAY, 12, 0, 0))]).unwrap();
    let report = pending.due(local(NEXT, 8, 0, 0)).unwrap();
    assert_eq!(report.period, "2025-11-18 to 2025-11-20");
    assert!(report.text.starts_with("banwarden report for 2025-11-18 to 2025-11-20\n"));
}

#[test]
fn lines_added_after_rendering_are_not_removed_by_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut pending = open(dir.path());
    pending.add(&[other("a", local(DAY, 12, 0, 0))]).unwrap();
    let report = pending.due(local(NEXT, 0, 1, 0)).unwrap();
    // Came in while the mail was going out, still of the day before.
    let straggler = other("straggler", local(DAY, 23, 59, 0));
    pending.add(std::slice::from_ref(&straggler)).unwrap();
    pending.sent(&report).unwrap();
    assert_eq!(open(dir.path()).lines().cloned().collect::<Vec<_>>(), [straggler]);
    assert!(pending.is_due(local(NEXT, 0, 2, 0)), "it goes out in a report of its own");
}

/// Brazil's old rule: DST began at 00:00, so that day had no midnight.
/// In a child process, since `TZ` is process-wide.
#[test]
fn a_day_without_midnight() {
    let exe = std::env::current_exe().unwrap();
    let child = std::process::Command::new(exe)
        .args(["--exact", "report::tests::a_day_without_midnight_in_child"])
        .env("TZ", "BRT3BRST,M10.3.0/0,M2.3.0/0")
        .env("BW_REPORT_CHILD", "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(child.status.success() && out.contains("1 passed"), "{out}{}", String::from_utf8_lossy(&child.stderr));
}

#[test]
fn a_day_without_midnight_in_child() {
    if std::env::var_os("BW_REPORT_CHILD").is_none() {
        return;
    }
    // Saturday 2025-10-18 23:59:30 -03:00; 30 s later it is Sunday 01:00:00 -02:00.
    let saturday = local((2025, 10, 18), 23, 59, 30);
    let sunday = saturday + MIN;
    assert_eq!(format_local(sunday), "2025-10-19 01:00:30-02:00");
    let dir = tempfile::tempdir().unwrap();
    let mut pending = open(dir.path());
    pending.add(&[other("saturday", saturday), other("sunday", sunday)]).unwrap();
    assert!(!pending.is_due(saturday + 29_000_000));
    let report = pending.due(sunday).unwrap();
    assert_eq!((report.lines, report.period.as_str()), (1, "2025-10-18"));
    assert!(report.text.contains("2025-10-18 23:59:30-03:00  saturday\n"), "{}", report.text);
    pending.sent(&report).unwrap();
    assert_eq!(pending.lines().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["sunday"]);
}

#[test]
fn reopening_gives_back_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let t = local(DAY, 12, 0, 0);
    let lines = vec![
        warn(Details::FirstLast, "w \"quoted\" é \u{1b}", t + 5),
        info("i", t),
        line(ReportLevel::Other, Details::None, "o\nmulti-line", t + 1),
    ];
    {
        let mut pending = open(dir.path());
        pending.add(&lines[..1]).unwrap();
        pending.add(&lines[1..]).unwrap();
        pending.add(&[]).unwrap();
    }
    let again = open(dir.path());
    assert_eq!(again.lines().cloned().collect::<Vec<_>>(), lines);
    assert_eq!(again.render(), open(dir.path()).render());
    let text = fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.starts_with(&format!(
        "{{\"time_us\":{},\"level\":\"WARN\",\"details\":\"FIRSTLAST\",\"message\":\"w \\\"quoted\\\" é \\u001b\"}}\n",
        t + 5
    )));
}

/// A batch being appended when the machine stopped: part of a line at the
/// end. It was never acknowledged, so it goes without a word, and the next
/// batch does not get glued to it.
#[test]
fn a_torn_last_line_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let t = local(DAY, 12, 0, 0);
    let kept = [other("kept", t), other("kept too", t + 1)];
    open(dir.path()).add(&kept).unwrap();
    let path = dir.path().join(FILE_NAME);
    fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"time_us\":17637264001").unwrap();
    let mut pending = open(dir.path());
    assert_eq!(pending.lines().cloned().collect::<Vec<_>>(), kept);
    pending.add(&[other("after the crash", t + 2)]).unwrap();
    let reopened = open(dir.path());
    assert_eq!(reopened.len(), 3);
    assert_eq!(reopened.lines().last().unwrap().message, "after the crash");
    assert!(fs::read_to_string(&path).unwrap().lines().all(|l| l.starts_with("{\"time_us\":") && l.ends_with('}')));
    // Zeros where the file system extended the file but lost the data.
    fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&[0; 300]).unwrap();
    assert_eq!(open(dir.path()).len(), 3);
}

#[test]
fn a_garbage_line_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let t = local(DAY, 12, 0, 0);
    open(dir.path()).add(&[other("one", t)]).unwrap();
    let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(b"not json\n\n{\"time_us\":1,\"level\":\"DEBUG\",\"details\":\"ALL\",\"message\":\"m\"}\n").unwrap();
    file.write_all(b"{\"time_us\":1,\"level\":\"WARN\",\"details\":\"SOME\",\"message\":\"m\"}\n").unwrap();
    file.write_all(&[0xff, b'\n']).unwrap();
    drop(file);
    let (mut pending, warnings) = PendingReport::open(dir.path()).unwrap();
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(warnings[0].starts_with(&format!("{}: line 2: not a report line: ", path.display())), "{warnings:?}");
    assert!(warnings[1].contains("line 4: level \"DEBUG\" is none of [\"WARN\", \"INFO\", \"OTHER\"]; skipped"));
    assert!(warnings[2].contains("line 5: details \"SOME\" is none of"), "{warnings:?}");
    assert!(warnings[3].contains("line 6: not a report line"), "{warnings:?}");
    assert_eq!(pending.len(), 1);
    // The next write rewrites the file without them: reported once.
    pending.add(&[other("two", t + 1)]).unwrap();
    let again = open(dir.path());
    assert_eq!(again.lines().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["one", "two"]);
}

#[test]
fn clear_then_reopen_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut pending = open(dir.path());
    pending.add(&[other("a", local(DAY, 12, 0, 0))]).unwrap();
    pending.clear().unwrap();
    assert!(pending.is_empty() && !pending.is_due(u64::MAX >> 4));
    assert!(open(dir.path()).is_empty());
    assert_eq!(fs::metadata(dir.path().join(FILE_NAME)).unwrap().len(), 0);
    // And it goes on working.
    pending.add(&[other("b", local(DAY, 13, 0, 0))]).unwrap();
    assert_eq!(open(dir.path()).len(), 1);
}

#[test]
fn a_failed_write_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    fs::create_dir(&storage).unwrap();
    let mut pending = open(&storage);
    let t = local(DAY, 12, 0, 0);
    pending.add(&[other("acknowledged", t)]).unwrap();
    // Make the file a directory's name: appends fail.
    let moved = dir.path().join("moved");
    fs::rename(&storage, &moved).unwrap();
    let err = pending.add(&[other("refused", t + 1)]).unwrap_err();
    assert!(err.to_string().contains("cannot add to the pending report"), "{err}");
    assert_eq!(pending.len(), 1, "a refused batch is not recorded");
    fs::rename(&moved, &storage).unwrap();
    pending.add(&[other("retried", t + 2)]).unwrap();
    let messages: Vec<String> = open(&storage).lines().map(|l| l.message.clone()).collect();
    assert_eq!(messages, ["acknowledged", "retried"]);
}

#[test]
fn lines_come_from_report_effects() {
    let effect = crate::effect::Effect::Report {
        level: ReportLevel::Info,
        details: Details::Last,
        message: "m".into(),
        time_us: 7,
    };
    assert_eq!(Line::from_effect(&effect), Some(line(ReportLevel::Info, Details::Last, "m", 7)));
    let log = crate::effect::Effect::Log { level: crate::effect::Level::Info, message: "m".into(), chain: None };
    assert_eq!(Line::from_effect(&log), None);
}

/// 100,000 lines of a busy day, added in batches of 100 (1,000 `fsync`s),
/// reopened, rendered and sent. `cargo test --release --lib report::tests::volume -- --nocapture`
/// prints the figures.
#[test]
fn volume() {
    const N: u64 = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let mut pending = open(dir.path());
    let start = local(DAY, 0, 30, 0);
    let step = 23 * HOUR / N;
    let lines: Vec<Line> = (0..N)
        .map(|i| match i % 10 {
            0 => warn(Details::FirstLast, &format!("ssh scan from 192.0.2.{}", i % 200), start + i * step),
            1..=3 => info(&format!("banned 198.51.100.{}", i % 250), start + i * step),
            _ => other(&format!("[6/host/unit.service] unexpected line number {i}"), start + i * step),
        })
        .collect();

    let clock = Instant::now();
    for batch in lines.chunks(100) {
        pending.add(batch).unwrap();
    }
    let add = clock.elapsed();
    let clock = Instant::now();
    let reopened = open(dir.path());
    let reopen = clock.elapsed();
    assert_eq!(reopened.len(), N as usize);
    let clock = Instant::now();
    let report = pending.due(local(NEXT, 0, 0, 5)).unwrap();
    let render = clock.elapsed();
    assert_eq!(report.lines, N as usize);
    let clock = Instant::now();
    pending.sent(&report).unwrap();
    let sent = clock.elapsed();
    assert!(open(dir.path()).is_empty());
    let file_mb = lines.iter().map(|l| l.message.len() + 60).sum::<usize>() as f64 / 1e6;
    println!(
        "report volume: {N} lines (~{file_mb:.1} MB file): add in batches of 100 {add:.2?}, reopen {reopen:.2?}, \
         due+render {render:.2?} (text {} kB, html {} kB), sent {sent:.2?}",
        report.text.len() / 1000,
        report.html.len() / 1000
    );
    assert!(add.as_secs() < 60 && reopen.as_secs() < 10 && render.as_secs() < 10, "far too slow");
}
