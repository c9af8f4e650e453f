//! `action_email` and `action_dailyReport`: messages for people.
//!
//! Both render their template against the entry and hand the text over as an
//! effect; sending mail and keeping the pending report belong to the daemon.

use crate::effect::{Details, Effect, ReportLevel};
use crate::entry::Entry;
use crate::fields::FieldTable;
use crate::template::Template;

#[derive(Debug)]
pub struct Email {
    subject: Option<String>,
    message: Template,
}

impl Email {
    pub fn new(subject: Option<String>, message: Template) -> Email {
        Email { subject, message }
    }

    pub fn message(&self) -> &Template {
        &self.message
    }

    pub fn effect(&self, entry: &Entry, fields: &FieldTable) -> Effect {
        Effect::Email { subject: self.subject.clone(), message: self.message.render_to_string(entry, fields) }
    }
}

#[derive(Debug)]
pub struct DailyReport {
    level: ReportLevel,
    details: Details,
    message: Template,
}

impl DailyReport {
    pub fn new(level: ReportLevel, details: Details, message: Template) -> DailyReport {
        DailyReport { level, details, message }
    }

    pub fn message(&self) -> &Template {
        &self.message
    }

    pub fn effect(&self, entry: &Entry, fields: &FieldTable) -> Effect {
        Effect::Report {
            level: self.level,
            details: self.details,
            message: self.message.render_to_string(entry, fields),
            time_us: entry.time_us(),
        }
    }
}
