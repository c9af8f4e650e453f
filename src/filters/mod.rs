//! Filters: tests on an entry that answer pass or fail.
//!
//! The set of filters is closed, so it is an enum and a `match`, not a
//! registry. Filters do no I/O, except `filter_userExists`, which asks the
//! system user database as Pyruse did. A filter that cannot judge an entry
//! (a field that is not a number or not an address, a regex that hit its
//! backtracking limit) returns an error; the workflow logs it and takes the
//! `else` link, as the spec says.

pub mod compare;
pub mod in_list;
pub mod networks;
pub mod pcre;
pub mod pyregex;
pub mod user_exists;

use crate::entry::Entry;

pub use compare::{Compare, Number, Op, Operand};
pub use in_list::InList;
pub use networks::InNetworks;
pub use pcre::{Pcre, PcreAny};
pub use user_exists::UserExists;

/// Every filter name Pyruse configurations may use.
pub const NAMES: [&str; 8] = [
    "filter_equals",
    "filter_lowerOrEquals",
    "filter_greaterOrEquals",
    "filter_in",
    "filter_inNetworks",
    "filter_pcre",
    "filter_pcreAny",
    "filter_userExists",
];

#[derive(Debug)]
pub enum Filter {
    /// `filter_equals`, `filter_lowerOrEquals`, `filter_greaterOrEquals`.
    Compare(Compare),
    In(InList),
    InNetworks(InNetworks),
    // Boxed: a compiled regex is large, and steps are walked by the million.
    Pcre(Box<Pcre>),
    PcreAny(Box<PcreAny>),
    UserExists(UserExists),
}

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("value {0:?} is not a number")]
    NotANumber(String),
    #[error("value {0:?} is not an IP address")]
    NotAnAddress(String),
    #[error(transparent)]
    Regex(#[from] pyregex::MatchError),
}

impl Filter {
    /// The field the filter tests.
    pub fn field(&self) -> crate::fields::FieldId {
        match self {
            Filter::Compare(f) => f.field(),
            Filter::In(f) => f.field(),
            Filter::InNetworks(f) => f.field(),
            Filter::Pcre(f) => f.field(),
            Filter::PcreAny(f) => f.field(),
            Filter::UserExists(f) => f.field(),
        }
    }

    /// The fields the filter writes when it passes (regex captures), for
    /// the configuration's analyses (`config::lint`) and `banwarden test`.
    pub fn writes(&self) -> Vec<crate::fields::FieldId> {
        let mut fields: Vec<crate::fields::FieldId> = match self {
            Filter::Pcre(f) => f.writes().collect(),
            Filter::PcreAny(f) => f.writes().collect(),
            Filter::Compare(_) | Filter::In(_) | Filter::InNetworks(_) | Filter::UserExists(_) => Vec::new(),
        };
        // The regexes of a filter_pcreAny often name the same groups.
        let mut seen = std::collections::HashSet::new();
        fields.retain(|f| seen.insert(*f));
        fields
    }

    /// Whether the entry passes. Regex filters write their captures into it.
    pub fn test(&self, entry: &mut Entry) -> Result<bool, FilterError> {
        match self {
            Filter::Compare(f) => f.test(entry),
            Filter::In(f) => Ok(f.test(entry)),
            Filter::InNetworks(f) => f.test(entry),
            Filter::Pcre(f) => f.test(entry),
            Filter::PcreAny(f) => f.test(entry),
            Filter::UserExists(f) => Ok(f.test(entry)),
        }
    }
}
