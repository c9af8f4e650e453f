//! The pending report on disk: JSON lines appended per batch, rewritten
//! atomically when lines leave.
//!
//! `action_dailyReport.json.log` holds one object per line, in the order the
//! lines were added:
//!
//! ```text
//! {"time_us":1763726400123456,"level":"WARN","details":"ALL","message":"Nextcloud query failed"}
//! ```
//!
//! `time_us` is the entry's time in microseconds since the epoch, `level`
//! and `details` are the `action_dailyReport` argument values; other fields
//! are ignored, so that a later version may add some. Administrators may
//! read the file to see the next report, as Pyruse's documentation suggested
//! for its own. Rewrites go through `action_dailyReport.json.log.tmp` (see
//! [`crate::durable`]).
//!
//! The memory is the truth, the file its durable copy. What a crash leaves
//! is read back this way: the bytes after the last newline are part of a
//! batch that was never acknowledged (its `fsync` had not returned), so
//! they are ignored without a word; a complete line that does not parse is
//! reported and skipped; empty lines are ignored. Before anything is appended
//! after such a file was read, or after a write failed (which may have left
//! part of a batch), the file is rewritten whole from memory: appending to a
//! torn line would glue the new line to it.
//!
//! The daemon is the file's only writer. [`PendingReport::open`] never
//! writes, so a command showing the pending report may open it at any time:
//! a line being appended looks to it like a torn one.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::render::{self, Rendered};
use super::{local_day, Line};
use crate::effect::{Details, ReportLevel};
use crate::store::files;

/// The pending report's file name in the storage directory.
pub const FILE_NAME: &str = "action_dailyReport.json.log";

/// A failed read or write of the pending report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: cannot read the pending report: {error}")]
    Read { path: PathBuf, error: io::Error },
    /// The batch was not recorded.
    #[error("{path}: cannot add to the pending report: {error}")]
    Add { path: PathBuf, error: io::Error },
    /// The lines are gone from memory, not yet from disk: if no later write
    /// succeeds before a restart, they will be reported again.
    #[error("{path}: cannot remove sent lines from the pending report (they may be reported again): {error}")]
    Remove { path: PathBuf, error: io::Error },
}

/// The lines waiting for their report, in memory and on disk.
#[derive(Debug)]
pub struct PendingReport {
    path: PathBuf,
    /// In the order they were added (not necessarily time order).
    lines: Vec<Numbered>,
    /// The number the next added line gets. Numbers live in memory only: a
    /// [`Rendered`] refers to them, and does not outlive the process.
    next_seq: u64,
    /// The earliest time among `lines`, which decides [`Self::is_due`].
    earliest_us: Option<u64>,
    /// The file may not end where `lines` do (a torn or failed write): the
    /// next write must rewrite it whole instead of appending.
    rewrite: bool,
}

#[derive(Debug)]
struct Numbered {
    seq: u64,
    line: Line,
}

#[derive(Serialize)]
struct RecordOut<'a> {
    time_us: u64,
    level: &'static str,
    details: &'static str,
    message: &'a str,
}

#[derive(Deserialize)]
struct RecordIn {
    time_us: u64,
    level: String,
    details: String,
    message: String,
}

impl PendingReport {
    /// Reads the pending report in `storage` (none yet is an empty one).
    /// Lines that cannot be read are skipped, each with a warning for the
    /// caller to log.
    pub fn open(storage: &Path) -> Result<(PendingReport, Vec<String>), ReportError> {
        let path = storage.join(FILE_NAME);
        let bytes = files::read_from(&path, 0).map_err(|error| ReportError::Read { path: path.clone(), error })?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut report =
            PendingReport { path, lines: Vec::new(), next_seq: 0, earliest_us: None, rewrite: complete < bytes.len() };
        let mut warnings = Vec::new();
        let mut lines = Vec::new();
        for (i, raw) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
            if raw.is_empty() {
                continue;
            }
            match decode(raw) {
                Ok(line) => lines.push(line),
                Err(why) => {
                    warnings.push(format!("{}: line {}: {why}; skipped", report.path.display(), i + 1));
                    report.rewrite = true;
                }
            }
        }
        report.push(lines);
        Ok((report, warnings))
    }

    /// Records `lines`, durably: one write and one `fsync` for the batch.
    /// On error none of them is recorded, and the caller may try again.
    pub fn add(&mut self, lines: &[Line]) -> Result<(), ReportError> {
        if lines.is_empty() {
            return Ok(());
        }
        let written = if self.rewrite {
            self.write_all(self.lines.iter().map(|n| &n.line).chain(lines))
        } else {
            let mut bytes = Vec::with_capacity(lines.len() * 128);
            lines.iter().for_each(|line| encode(line, &mut bytes));
            files::append(&self.path, &bytes)
        };
        if let Err(error) = written {
            self.rewrite = true;
            return Err(ReportError::Add { path: self.path.clone(), error });
        }
        self.rewrite = false;
        self.push(lines.to_vec());
        Ok(())
    }

    /// Whether a day is over that lines are pending for: the earliest line
    /// is from a local day before the one `now_us` is in.
    pub fn is_due(&self, now_us: u64) -> bool {
        self.earliest_us.is_some_and(|t| local_day(t) < local_day(now_us))
    }

    /// The report of the days that are over at `now_us`, if any: every
    /// pending line from a local day before `now_us`'s. Lines of `now_us`'s
    /// day (or later) are left out and stay pending. Nothing changes until
    /// [`Self::sent`] is given the result.
    pub fn due(&self, now_us: u64) -> Option<Rendered> {
        if !self.is_due(now_us) {
            return None;
        }
        let today = local_day(now_us);
        let (seqs, lines) =
            self.lines.iter().filter(|n| local_day(n.line.time_us) < today).map(|n| (n.seq, &n.line)).unzip();
        render::render(lines, seqs)
    }

    /// The report of every pending line, whatever its day (to show what the
    /// next report holds so far); `None` when nothing is pending.
    pub fn render(&self) -> Option<Rendered> {
        let (seqs, lines) = self.lines.iter().map(|n| (n.seq, &n.line)).unzip();
        render::render(lines, seqs)
    }

    /// Forgets the lines `report` held, once it has been sent, and rewrites
    /// the file without them (temporary file, `fsync`, `rename`). Lines added
    /// since it was rendered stay. Until this returns, a crash sends the
    /// same lines again after the restart: a report may come twice, a line
    /// is never lost. Giving the same report twice does nothing the second
    /// time.
    pub fn sent(&mut self, report: &Rendered) -> Result<(), ReportError> {
        let before = self.lines.len();
        self.lines.retain(|n| report.taken.binary_search(&n.seq).is_err());
        if self.lines.len() == before && !self.rewrite {
            return Ok(());
        }
        self.forgotten()
    }

    /// Forgets every pending line, in memory and on disk.
    pub fn clear(&mut self) -> Result<(), ReportError> {
        self.lines.clear();
        self.forgotten()
    }

    /// The pending lines, in the order they were added.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().map(|n| &n.line)
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Where the pending report is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Brings the file in line with memory after lines were removed from it.
    fn forgotten(&mut self) -> Result<(), ReportError> {
        self.earliest_us = self.lines.iter().map(|n| n.line.time_us).min();
        // Even if this fails, the lines stay forgotten in memory: the
        // report was sent, and sending it again at every check would flood
        // the admin's mailbox. The next successful write catches up.
        self.rewrite = true;
        self.write_all(self.lines.iter().map(|n| &n.line))
            .map_err(|error| ReportError::Remove { path: self.path.clone(), error })?;
        self.rewrite = false;
        Ok(())
    }

    /// Replaces the file with `lines`, atomically; an empty report is an
    /// empty file, emptied in place (which is atomic too).
    fn write_all<'a>(&self, lines: impl Iterator<Item = &'a Line>) -> io::Result<()> {
        let mut bytes = Vec::new();
        lines.for_each(|line| encode(line, &mut bytes));
        if bytes.is_empty() {
            return files::truncate(&self.path);
        }
        crate::durable::replace_file(&self.path, &bytes)
    }

    fn push(&mut self, lines: Vec<Line>) {
        for line in lines {
            self.earliest_us = Some(self.earliest_us.map_or(line.time_us, |t| t.min(line.time_us)));
            self.lines.push(Numbered { seq: self.next_seq, line });
            self.next_seq += 1;
        }
    }
}

/// Appends one line of the file, newline included.
fn encode(line: &Line, out: &mut Vec<u8>) {
    let record = RecordOut {
        time_us: line.time_us,
        level: line.level.name(),
        details: line.details.name(),
        message: &line.message,
    };
    serde_json::to_writer(&mut *out, &record).expect("strings and integers always serialise");
    out.push(b'\n');
}

fn decode(raw: &[u8]) -> Result<Line, String> {
    let r: RecordIn = serde_json::from_slice(raw).map_err(|e| format!("not a report line: {e}"))?;
    let level = ReportLevel::from_name(&r.level)
        .ok_or_else(|| format!("level {:?} is none of {:?}", r.level, ReportLevel::NAMES))?;
    let details = Details::from_name(&r.details)
        .ok_or_else(|| format!("details {:?} is none of {:?}", r.details, Details::NAMES))?;
    Ok(Line { level, details, message: r.message, time_us: r.time_us })
}
