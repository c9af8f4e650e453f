//! Regular expressions written in Python's `re` dialect, run by Rust engines.
//!
//! Pyruse configurations hold patterns meant for Python's `re` module. A
//! pattern is read once, token by token, the way Python 3.11's own parser
//! (`re/_parser.py`) reads it, and rewritten into Rust engine syntax with the
//! same meaning. What Python rejects is rejected with Python's message and
//! character offset, so a pattern that worked in Pyruse compiles here unless
//! it uses one of the few refused features listed below.
//!
//! # Engines
//!
//! The [`regex`] crate runs in time linear in the haystack and is used
//! whenever it can be; a search then allocates nothing. [`fancy_regex`]
//! backtracks, like Python, and is used only for what needs it:
//! back-references (`\1`, `(?P=name)`), look-around (`(?=`, `(?!`, `(?<=`,
//! `(?<!`), atomic groups `(?>...)`, possessive quantifiers (`*+`, `++`, `?+`,
//! `{m,n}+`) and conditionals `(?(1)yes|no)`. The choice falls out of the
//! tokenizer, so `[(?=]` or `\(?=` do not count. A backtracking search gives
//! up with a [`MatchError`] after [`BACKTRACK_LIMIT`] steps, so a hostile log
//! line cannot stall the daemon; Python had no such limit.
//!
//! # Python syntax rewritten
//!
//! - `(?P<name>...)` becomes a plain group: names are kept here (see
//!   [`PyRegex::named_groups`]), numbering is Python's since named groups are
//!   numbered in both dialects, and `fancy_regex`, which refuses numbered
//!   back-references next to named groups, never sees a name. `(?P=name)` and
//!   `\N` become `\k<N>`, which a following digit cannot extend.
//! - `\Z` (end of string) becomes `\z`; `\A` stays.
//! - `{` that does not start a valid quantifier (`a{`, `{foo}`, `x{1,a}`,
//!   `{}`) is a literal; `{,n}` becomes `{0,n}`.
//! - Character classes are rebuilt item by item: a `]` right after `[` or
//!   `[^`, `[`, `&&`, `~~`, `--` and `^` are literals, as in Python, never
//!   nested classes or set operations as in Rust.
//! - `(?#...)` is dropped. Verbose mode (`x`) is applied here, because Rust's
//!   also ignores whitespace inside classes and Python's does not; `i`, `m`
//!   and `s` are passed on, globally or scoped.
//! - `(?a)` (ASCII), global or scoped: `\d \w \s` and their negations become
//!   POSIX classes (`[[:digit:]]`, `[[:^word:]]`...), `\b \B` become
//!   `(?-u:\b)`, or look-arounds on the backtracking engine, which cannot
//!   turn Unicode off. `(?u)` is the default. `(?L)` is an error, as in
//!   Python for text patterns.
//! - Escapes: `\a \f \n \r \t \v`, `\b` in a class, `\xhh \uhhhh
//!   \Uhhhhhhhh`, octal (`\0`, `\012`, `\377`, and `\1`..`\7` in a class),
//!   escaped punctuation; other `\letter` is an error. Literals are
//!   re-escaped for Rust, control characters as `\x{..}`.
//!
//! # Differences knowingly left
//!
//! - `$` without MULTILINE matches only at the very end; Python also matches
//!   before a final `\n`. Replicating it needs a look-ahead `(?=\n\z)`, which
//!   would put every pattern ending in `$`, i.e. most Pyruse patterns, on the
//!   backtracking engine, while journal messages essentially never end in a
//!   newline (journald splits stream output at newlines).
//! - Back-references compare case-sensitively even under `(?i)`
//!   (`fancy_regex` has no case-insensitive back-reference).
//! - Under `(?ai)` non-ASCII letters still match their other case; Unicode
//!   classes follow Rust's tables, which differ from Python's at the edges
//!   (Python's `\s` has `\x1c`-`\x1f`, its `\w` lacks combining marks).
//! - A repeated group that can match the empty string may capture
//!   differently (Python records a last, empty iteration), and with a
//!   possessive quantifier on the backtracking engine even match
//!   differently. Python's `\B` never matches an empty haystack; Rust's does.
//! - Refused: `\N{name}`, surrogate code points, `(?t)`, a conditional on a
//!   group opened after it. The backtracking engine also refuses a repeated
//!   look-around or empty group (`(?=a)*`, `(?:)*`) and a look-behind whose
//!   width varies; Python refuses the latter too.

mod translate;

use std::cell::RefCell;
use std::fmt;

use translate::{Mode, Translation, Translator};

/// Steps the backtracking engine may take in one search before giving up.
///
/// One step costs 40 to 50 ns: `catastrophic_backtracking_gives_up` trips the
/// limit after about 5 ms in a release build (50 ms in a debug build) on the
/// 2-core development machine. So a flood of hostile lines still lets some
/// 200 lines per second through, instead of hanging on the first one (the
/// `fancy_regex` default, 1 000 000, would allow only 20). Legit lines stay
/// far below it: an unanchored search costs 1 to 4 steps per haystack
/// character (16 000 for `(\w+) \1 z` on a 4 KB line), and journal
/// messages are a few hundred bytes.
pub const BACKTRACK_LIMIT: usize = 100_000;

/// A regular expression written in Python's `re` dialect, compiled once.
pub struct PyRegex {
    pattern: String,
    engine: Engine,
    group_count: usize,
    named_groups: Vec<(usize, String)>,
}

enum Engine {
    /// `locations` is reused by every search, so a search allocates nothing.
    Linear { regex: regex::Regex, locations: RefCell<regex::CaptureLocations> },
    /// `prefilter` (see [`Mode::Superset`]) rules out most haystacks
    /// without the backtracking engine, which allocates per search; `None`
    /// when the loosened pattern would not compile for the linear engine.
    Backtracking { regex: fancy_regex::Regex, prefilter: Option<regex::Regex> },
}

#[derive(Debug, thiserror::Error)]
pub enum PyRegexError {
    /// Not valid in Python either; the wording is Python's.
    #[error("invalid regular expression: {message} at offset {offset}")]
    Syntax { message: String, offset: usize },
    /// Valid in Python, but not translated.
    #[error("unsupported regular expression feature: {feature} at offset {offset}")]
    Unsupported { feature: String, offset: usize },
    /// The engine refused the translation (size limit, look-behind width...);
    /// its message refers to the translated pattern, so that is shown too.
    #[error("invalid regular expression: the {engine} engine rejected its translation {translated:?}: {message}")]
    Engine { engine: &'static str, translated: String, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("regular expression gave up after {} backtracking steps", BACKTRACK_LIMIT)]
    BacktrackLimit,
    #[error("regular expression exhausted the backtracking stack")]
    StackOverflow,
    #[error("regular expression failed: {0}")]
    Engine(String),
}

impl From<fancy_regex::Error> for MatchError {
    fn from(error: fancy_regex::Error) -> MatchError {
        use fancy_regex::{Error, RuntimeError};
        match error {
            Error::RuntimeError(RuntimeError::BacktrackLimitExceeded) => MatchError::BacktrackLimit,
            Error::RuntimeError(RuntimeError::StackOverflow) => MatchError::StackOverflow,
            other => MatchError::Engine(other.to_string()),
        }
    }
}

impl PyRegex {
    pub fn new(pattern: &str) -> Result<PyRegex, PyRegexError> {
        let mut translation = Translator::new(pattern, Mode::Linear).run()?;
        if translation.backtracking {
            // Only ASCII word boundaries are spelled differently for it.
            translation = Translator::new(pattern, Mode::Backtracking).run()?;
        }
        let Translation { rust, backtracking, group_count, named_groups } = translation;
        let engine = if backtracking {
            let regex = fancy_regex::RegexBuilder::new(&rust)
                .backtrack_limit(BACKTRACK_LIMIT)
                .build()
                .map_err(|e| engine_error("backtracking", &rust, backtracking_message(e)))?;
            debug_assert_eq!(regex.captures_len(), group_count + 1, "{rust}");
            let prefilter = Translator::new(pattern, Mode::Superset)
                .run()
                .ok()
                .and_then(|superset| regex::Regex::new(&superset.rust).ok());
            Engine::Backtracking { regex, prefilter }
        } else {
            let regex = regex::Regex::new(&rust).map_err(|e| engine_error("linear", &rust, linear_message(e)))?;
            debug_assert_eq!(regex.captures_len(), group_count + 1, "{rust}");
            let locations = RefCell::new(regex.capture_locations());
            Engine::Linear { regex, locations }
        };
        Ok(PyRegex { pattern: pattern.to_owned(), engine, group_count, named_groups })
    }

    /// The original Python pattern.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the backtracking engine runs this pattern.
    pub fn is_backtracking(&self) -> bool {
        matches!(self.engine, Engine::Backtracking { .. })
    }

    /// Capture groups, not counting group 0.
    pub fn group_count(&self) -> usize {
        self.group_count
    }

    /// (group index >= 1, name) of the named groups, in pattern order.
    pub fn named_groups(&self) -> &[(usize, String)] {
        &self.named_groups
    }

    /// Python `re.search` semantics (found anywhere). On a match calls
    /// `on_group(i, text)` for every group i in 1..=group_count, in order,
    /// with None for a group that did not participate; returns Ok(true).
    /// Ok(false) when no match.
    pub fn search(&self, haystack: &str, mut on_group: impl FnMut(usize, Option<&str>)) -> Result<bool, MatchError> {
        if self.group_count == 0 {
            return self.is_match(haystack);
        }
        match &self.engine {
            Engine::Linear { regex, locations } => {
                // A callback that searches with this same regex finds the
                // scratch locations borrowed: it gets fresh ones, not a panic.
                let (mut guard, mut fresh);
                let locations = match locations.try_borrow_mut() {
                    Ok(borrowed) => {
                        guard = borrowed;
                        &mut *guard
                    }
                    Err(_) => {
                        fresh = regex.capture_locations();
                        &mut fresh
                    }
                };
                if regex.captures_read(locations, haystack).is_none() {
                    return Ok(false);
                }
                for group in 1..=self.group_count {
                    on_group(group, locations.get(group).map(|(start, end)| &haystack[start..end]));
                }
            }
            Engine::Backtracking { regex, prefilter } => {
                if prefilter.as_ref().is_some_and(|p| !p.is_match(haystack)) {
                    return Ok(false);
                }
                let Some(captures) = regex.captures(haystack)? else {
                    return Ok(false);
                };
                for group in 1..=self.group_count {
                    on_group(group, captures.get(group).map(|m| m.as_str()));
                }
            }
        }
        Ok(true)
    }

    /// Whether the pattern is found anywhere in `haystack`.
    pub fn is_match(&self, haystack: &str) -> Result<bool, MatchError> {
        match &self.engine {
            Engine::Linear { regex, .. } => Ok(regex.is_match(haystack)),
            Engine::Backtracking { regex, prefilter } => {
                if prefilter.as_ref().is_some_and(|p| !p.is_match(haystack)) {
                    return Ok(false);
                }
                Ok(regex.is_match(haystack)?)
            }
        }
    }

    fn translated(&self) -> &str {
        match &self.engine {
            Engine::Linear { regex, .. } => regex.as_str(),
            Engine::Backtracking { regex, .. } => regex.as_str(),
        }
    }
}

impl fmt::Debug for PyRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyRegex")
            .field("pattern", &self.pattern)
            .field("translated", &self.translated())
            .field("backtracking", &self.is_backtracking())
            .finish()
    }
}

fn engine_error(engine: &'static str, translated: &str, message: String) -> PyRegexError {
    PyRegexError::Engine { engine, translated: translated.to_owned(), message }
}

/// The `regex` crate's syntax errors draw the pattern over several lines;
/// only the last one, the diagnosis, fits in a log line.
fn linear_message(error: regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => {
            let last = text.lines().last().unwrap_or_default();
            last.strip_prefix("error: ").unwrap_or(last).to_owned()
        }
        regex::Error::CompiledTooBig(limit) => format!("the compiled pattern exceeds the size limit of {limit} bytes"),
        other => other.to_string(),
    }
}

fn backtracking_message(error: fancy_regex::Error) -> String {
    use fancy_regex::{CompileError, Error};
    match error {
        Error::CompileError(CompileError::LookBehindNotConst) => "look-behind requires fixed-width pattern".to_owned(),
        Error::CompileError(CompileError::InnerError(inner)) => inner.to_string(),
        other => other.to_string(),
    }
}

fn syntax(message: impl Into<String>, offset: usize) -> PyRegexError {
    PyRegexError::Syntax { message: message.into(), offset }
}

fn unsupported(feature: impl Into<String>, offset: usize) -> PyRegexError {
    PyRegexError::Unsupported { feature: feature.into(), offset }
}

#[cfg(test)]
mod tests;
