//! `action_log`: a message for the journal.
//!
//! The rendered message goes out as an [`Effect::Log`]; the daemon writes it
//! under its `SYSLOG_IDENTIFIER` and later reads it back like any entry, which
//! is how repeat offenders are counted.

use crate::effect::{Effect, Level};
use crate::entry::Entry;
use crate::fields::FieldTable;
use crate::template::Template;

#[derive(Debug)]
pub struct Log {
    level: Level,
    message: Template,
}

impl Log {
    pub fn new(level: Level, message: Template) -> Log {
        Log { level, message }
    }

    pub fn message(&self) -> &Template {
        &self.message
    }

    pub fn effect(&self, entry: &Entry, fields: &FieldTable) -> Effect {
        Effect::Log { level: self.level, message: self.message.render_to_string(entry, fields) }
    }
}
