//! `action_log`: a message for the journal.
//!
//! The rendered message goes out as an [`Effect::Log`]; the daemon writes it
//! under its `SYSLOG_IDENTIFIER` and later reads it back like any entry, which
//! is how repeat offenders are counted. The line also carries structured
//! fields (`MESSAGE_ID`, `BANWARDEN_CHAIN`, and the address and set of the
//! entry's ban, see `journal::ids`); its `MESSAGE` is exactly the rendered
//! template, as the recidive rules expect.

use std::sync::Arc;

use crate::effect::{Effect, Level};
use crate::entry::Entry;
use crate::fields::FieldTable;
use crate::template::Template;

#[derive(Debug)]
pub struct Log {
    level: Level,
    message: Template,
    /// The label of the step's chain, which its lines carry as
    /// `BANWARDEN_CHAIN` (see `journal::ids`).
    chain: Arc<str>,
}

impl Log {
    pub fn new(level: Level, message: Template, chain: Arc<str>) -> Log {
        Log { level, message, chain }
    }

    pub fn message(&self) -> &Template {
        &self.message
    }

    pub fn effect(&self, entry: &Entry, fields: &FieldTable) -> Effect {
        let message = self.message.render_to_string(entry, fields);
        Effect::Log { level: self.level, message, chain: Some(self.chain.clone()) }
    }
}
