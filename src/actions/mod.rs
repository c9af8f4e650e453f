//! Actions: steps that do something, then (normally) let the entry go on.
//!
//! Actions change the entry (a counter's `save` field, a DNAT replacement),
//! change the engine's [`State`] (counters, DNAT captures), or push an
//! [`Effect`] for the caller to carry out. They never do I/O themselves. An
//! action that fails (its key field is absent, its address is not one) stops
//! the entry; the workflow logs the error with the step's place.

pub mod ban;
pub mod counter;
pub mod dnat;
pub mod log;
pub mod network;
pub mod notify;

use crate::effect::Effect;
use crate::entry::Entry;
use crate::fields::{FieldId, FieldTable};
use crate::vocab::NeverBan;

pub use ban::Ban;
pub use counter::{CounterRaise, CounterReset, Counters, News};
pub use dnat::{DnatCapture, DnatReplace, DnatTable};
pub use log::Log;
pub use network::NetworkOf;
pub use notify::{DailyReport, Email};

/// Every action name Pyruse configurations may use.
pub const NAMES: [&str; 11] = [
    "action_noop",
    "action_log",
    "action_counterRaise",
    "action_counterReset",
    "action_nftBan",
    "action_ipsetBan",
    "action_email",
    "action_dailyReport",
    "action_dnatCapture",
    "action_dnatReplace",
    "action_network",
];

#[derive(Debug)]
pub enum Action {
    Noop,
    Log(Log),
    CounterRaise(CounterRaise),
    CounterReset(CounterReset),
    /// `action_nftBan` and `action_ipsetBan`.
    Ban(Ban),
    Email(Email),
    DailyReport(DailyReport),
    DnatCapture(DnatCapture),
    DnatReplace(DnatReplace),
    /// `action_network`: an address field's network, into another field.
    Network(NetworkOf),
}

/// What actions remember between entries, and what they must respect.
#[derive(Debug, Default)]
pub struct State {
    pub counters: Counters,
    pub dnat: DnatTable,
    /// Networks no ban may touch (`neverBan`, the host's own addresses):
    /// the value the ban service reads too, replaced when they change.
    pub never_ban: NeverBan,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("field {0:?} is absent")]
    MissingField(String),
    #[error("field {field:?} holds {value:?}, which is not an IP address")]
    NotAnAddress { field: String, value: String },
    #[error("{0} is on the never-ban list (neverBan, or one of this host's addresses): not banned")]
    NeverBan(crate::vocab::Network),
    #[error("{0} is never a peer's address (unspecified, broadcast, multicast or reserved): not banned")]
    NotAPeer(crate::vocab::Network),
}

impl ActionError {
    pub(crate) fn missing(fields: &FieldTable, id: FieldId) -> ActionError {
        ActionError::MissingField(fields.name(id).to_owned())
    }
}

impl Action {
    /// The fields the action reads (template placeholders included), for
    /// the configuration's analyses (`config::lint`) and `banwarden test`.
    pub fn reads(&self) -> Vec<FieldId> {
        match self {
            Action::Noop => Vec::new(),
            Action::Log(_) | Action::Email(_) | Action::DailyReport(_) => {
                self.template().map(|t| t.fields().collect()).unwrap_or_default()
            }
            Action::CounterRaise(a) => vec![a.parts().1],
            Action::CounterReset(a) => vec![a.parts().1],
            Action::Ban(a) => vec![a.field()],
            Action::DnatCapture(a) => a.reads(),
            Action::DnatReplace(a) => a.reads(),
            Action::Network(a) => vec![a.reads()],
        }
    }

    /// The fields the action may write into the entry.
    pub fn writes(&self) -> Vec<FieldId> {
        match self {
            Action::CounterRaise(a) => a.parts().2.into_iter().collect(),
            Action::CounterReset(a) => a.parts().2.into_iter().collect(),
            Action::DnatReplace(a) => a.writes(),
            Action::Network(a) => vec![a.writes().0],
            _ => Vec::new(),
        }
    }

    /// The message template of `action_log`, `action_email` and `action_dailyReport`.
    pub fn template(&self) -> Option<&crate::template::Template> {
        match self {
            Action::Log(a) => Some(a.message()),
            Action::Email(a) => Some(a.message()),
            Action::DailyReport(a) => Some(a.message()),
            _ => None,
        }
    }

    pub fn run(
        &self,
        entry: &mut Entry,
        fields: &FieldTable,
        state: &mut State,
        effects: &mut Vec<Effect>,
    ) -> Result<(), ActionError> {
        match self {
            Action::Noop => Ok(()),
            Action::Log(a) => {
                effects.push(a.effect(entry, fields));
                Ok(())
            }
            Action::CounterRaise(a) => a.run(entry, fields, &mut state.counters),
            Action::CounterReset(a) => a.run(entry, fields, &mut state.counters),
            Action::Ban(a) => {
                effects.push(a.effect(entry, fields, state)?);
                Ok(())
            }
            Action::Email(a) => {
                effects.push(a.effect(entry, fields));
                Ok(())
            }
            Action::DailyReport(a) => {
                effects.push(a.effect(entry, fields));
                Ok(())
            }
            Action::DnatCapture(a) => {
                a.run(entry, &mut state.dnat);
                Ok(())
            }
            Action::DnatReplace(a) => {
                a.run(entry, &mut state.dnat);
                Ok(())
            }
            Action::Network(a) => a.run(entry, fields),
        }
    }
}
