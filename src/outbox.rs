//! Mail and the daily report, carried out for the daemon without ever
//! making the journal wait.
//!
//! `action_email` messages go to a [`Mailer`] worker (a queue, one sendmail
//! process at a time, each with a time limit). Report lines are gathered
//! like bans and written to the pending report in one `fsync` per batch.
//! Once a second at most, [`Outbox::tick`] asks whether a day is over that
//! lines are pending for: that happens at the first entry after midnight,
//! and on the loop's own wake-ups when the journal is quiet. The report of
//! the past days is then mailed from a thread of its own, and its lines are
//! forgotten only once sendmail has accepted it: a failed or hung mailer
//! leaves them pending, to be tried again an hour later, and a crash at any
//! point sends a report twice at worst, never loses a line.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::EmailSettings;
use crate::diag;
use crate::mail::{self, MailError, Mailer, Message};
use crate::report::{Line, PendingReport, Rendered};
use crate::time::Clock;

/// Longest time one sendmail run may take before it is killed.
pub const MAIL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long queued mail may take to go out when the daemon stops.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);
/// How often the report's day is looked at.
const DUE_EVERY: Duration = Duration::from_secs(1);
/// After a report could not be sent, how long before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(3600);

pub struct Outbox {
    email: EmailSettings,
    mailer: Option<Mailer>,
    report: Option<PendingReport>,
    /// Report lines of the entries judged since the last flush.
    lines: Vec<Line>,
    /// The report being mailed, and where the mail's outcome will arrive.
    in_flight: Option<(Rendered, Receiver<Result<(), MailError>>)>,
    next_due_check: Instant,
    clock: Arc<dyn Clock>,
}

impl Outbox {
    /// Takes back the pending report of the storage directory (an error
    /// is logged, and the report left out: the daemon runs on).
    pub fn open(storage: &Path, email: EmailSettings, clock: Arc<dyn Clock>) -> Outbox {
        let report = match PendingReport::open(storage) {
            Ok((report, warnings)) => {
                warnings.iter().for_each(|w| diag!(Warning, "{w}"));
                if !report.is_empty() {
                    diag!(Info, "{} report lines pending from before the restart", report.len());
                }
                Some(report)
            }
            Err(e) => {
                diag!(Err, "{e}; the daily report is off until this is fixed");
                None
            }
        };
        let next_due_check = clock.instant();
        Outbox { email, mailer: None, report, lines: Vec::new(), in_flight: None, next_due_check, clock }
    }

    /// The mail settings of a reloaded configuration, for the next mail.
    /// Mail already queued goes out with the old ones, from a thread of
    /// its own, so that the loop does not wait for it.
    pub fn set_email(&mut self, email: EmailSettings) {
        if email != self.email {
            self.email = email;
            if let Some(old) = self.mailer.take() {
                // The next mail starts a mailer with the new settings.
                std::thread::spawn(move || old.shutdown(MAIL_TIMEOUT * 2));
            }
        }
    }

    /// Queues an `action_email` message; failures are logged by the worker.
    pub fn email(&mut self, subject: Option<&str>, body: &str, now_us: u64) {
        let subject = subject.unwrap_or(&self.email.subject);
        let message = Message::text(&self.email, subject, body, now_us);
        let email = self.email.clone();
        self.mailer
            .get_or_insert_with(|| Mailer::start(email, MAIL_TIMEOUT, |failure| diag!(Err, "{failure}")))
            .send(message);
    }

    pub fn report_line(&mut self, line: Line) {
        self.lines.push(line);
    }

    /// Writes the gathered report lines (one append, one `fsync`).
    pub fn flush(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        match &mut self.report {
            Some(report) => match report.add(&self.lines) {
                Ok(()) => self.lines.clear(),
                // Kept in memory: the next flush tries again.
                Err(e) => diag!(Err, "{e}; {} report lines kept in memory", self.lines.len()),
            },
            None => self.lines.clear(),
        }
    }

    /// Sends the report of the days that are over, and takes in the outcome
    /// of one being sent. Cheap: does its work at most once a second.
    pub fn tick(&mut self, now_us: u64) {
        if self.clock.instant() < self.next_due_check {
            return;
        }
        self.next_due_check = self.clock.instant() + DUE_EVERY;
        self.take_outcome();
        if self.in_flight.is_some() {
            return;
        }
        self.flush();
        let Some(report) = &self.report else { return };
        let Some(rendered) = report.due(now_us) else { return };
        let subject = format!("{}: daily report of {}", self.email.subject, rendered.period);
        let message = Message::alternative(&self.email, &subject, &rendered.text, &rendered.html, now_us);
        let email = self.email.clone();
        let (done, outcome) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(mail::send_now(&email, message, MAIL_TIMEOUT));
        });
        diag!(Info, "mailing the daily report of {} ({} lines)", rendered.period, rendered.lines);
        self.in_flight = Some((rendered, outcome));
    }

    fn take_outcome(&mut self) {
        let Some((rendered, outcome)) = &self.in_flight else { return };
        let result = match outcome.try_recv() {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => Err("the thread sending it stopped".to_owned()),
        };
        match result {
            Ok(()) => {
                if let Some(report) = &mut self.report {
                    if let Err(e) = report.sent(rendered) {
                        diag!(Err, "{e}; the report may be sent again");
                    }
                }
            }
            Err(e) => {
                diag!(
                    Err,
                    "daily report of {} not sent: {e}; its lines stay pending, next try in an hour",
                    rendered.period
                );
                self.next_due_check = self.clock.instant() + RETRY_AFTER;
            }
        }
        self.in_flight = None;
    }

    /// At shutdown: report lines written, queued mail given a few seconds,
    /// a report being mailed given the same.
    pub fn shutdown(&mut self) {
        self.flush();
        if let Some(mailer) = self.mailer.take() {
            mailer.shutdown(SHUTDOWN_WAIT);
        }
        // Real time: this waits for a real thread (and mailer) to finish.
        #[allow(clippy::disallowed_methods, reason = "a bounded wait for a real thread, not a schedule")]
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        #[allow(clippy::disallowed_methods, reason = "a bounded wait for a real thread, not a schedule")]
        while self.in_flight.is_some() && Instant::now() < deadline {
            self.next_due_check = self.clock.instant();
            self.take_outcome();
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
