//! The daily report: what `action_dailyReport` records, kept on disk until
//! its day is over, then rendered as the text and HTML bodies of one mail.
//!
//! [`PendingReport`] owns `action_dailyReport.json.log` in the storage
//! directory, one JSON object per report line. A batch of lines is one
//! `write` and one `fsync`, so a line [`PendingReport::add`] acknowledged
//! survives a crash. Sending is two steps: [`PendingReport::due`] renders the
//! lines of the days that are over without touching the file, the caller
//! mails the result, then [`PendingReport::sent`] removes exactly the lines
//! that mail held by rewriting the file atomically. A crash between the
//! mail and `sent` sends the report again at the next start; no crash loses
//! a line.
//!
//! A line belongs to the local calendar day (chrono's `Local`, which honours
//! `TZ` and DST) of its entry's time, not of its arrival: a report holds the
//! lines of the days before the one `now_us` falls in, and lines of that day
//! stay pending for the next report. Pyruse instead mailed everything it had
//! when the first entry after midnight came in, that entry included. An
//! entry of a day whose report is already gone (one that was still on its
//! way through the journal at midnight) gets a report of its own; a caller
//! that would rather wait for stragglers passes a `now_us` a little behind.
//!
//! The report is laid out as Pyruse laid it out, in three sections: the
//! `WARN` and `INFO` tables, one row per distinct message, and the `OTHER`
//! log events in time order. [`PendingReport`] keeps the lines in memory as
//! well as on disk: a day's report is meant to be read by a person, so it
//! stays small next to the ban store.
//!
//! Nothing here sends mail, reads the clock or knows about the daemon: the
//! caller passes `now_us` and does the sending.

mod pending;
mod render;

#[cfg(test)]
mod tests;

use chrono::{Local, NaiveDate, TimeZone};

use crate::effect::{Details, Effect, ReportLevel};

pub use pending::{PendingReport, ReportError, FILE_NAME};
pub use render::Rendered;

/// One line of the report: what an `action_dailyReport` recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub level: ReportLevel,
    /// Which occurrence times the `WARN`/`INFO` row shows; unused for `OTHER`.
    pub details: Details,
    pub message: String,
    /// The entry's `__REALTIME_TIMESTAMP`, in microseconds since the epoch.
    pub time_us: u64,
}

impl Line {
    /// The line an [`Effect::Report`] asks for; `None` for other effects.
    pub fn from_effect(effect: &Effect) -> Option<Line> {
        match effect {
            Effect::Report { level, details, message, time_us } => {
                Some(Line { level: *level, details: *details, message: message.clone(), time_us: *time_us })
            }
            _ => None,
        }
    }
}

/// The local calendar day an instant falls in.
///
/// An instant has exactly one local time, whatever DST does, so this never
/// needs the (possibly missing or doubled) local midnight. A time chrono
/// cannot place, some 262,000 years away, counts as the earliest day: such a
/// line goes out with the next report rather than staying pending forever.
fn local_day(time_us: u64) -> NaiveDate {
    i64::try_from(time_us)
        .ok()
        .and_then(|us| Local.timestamp_micros(us).single())
        .map_or(NaiveDate::MIN, |t| t.date_naive())
}
