//! Configuration problems: where each one is, and what is wrong.
//!
//! Validation never stops at the first problem: every chain and step is
//! checked and every problem collected, so an administrator fixes a broken
//! configuration in one pass. Warnings (things Pyruse accepted silently, such
//! as an unknown argument) are collected the same way but do not fail `check`.

use std::fmt;

/// Where a problem is in the configuration file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The drop-in the problem is in (`None`: the main file).
    pub file: Option<String>,
    /// A top-level key other than `actions`, e.g. `email`.
    pub key: Option<String>,
    pub chain: Option<String>,
    /// Index of the step in its chain's JSON list, counted from 0.
    pub step: Option<usize>,
    /// The step's filter or action name, when known.
    pub module: Option<String>,
    pub arg: Option<String>,
}

impl Location {
    pub fn key(key: &str) -> Location {
        Location { key: Some(key.to_owned()), ..Location::default() }
    }

    pub fn chain(label: &str) -> Location {
        Location { chain: Some(label.to_owned()), ..Location::default() }
    }

    pub fn step(label: &str, step: usize) -> Location {
        Location { step: Some(step), ..Location::chain(label) }
    }

    pub fn with_module(mut self, module: &str) -> Location {
        self.module = Some(module.to_owned());
        self
    }

    pub fn with_arg(&self, arg: &str) -> Location {
        Location { arg: Some(arg.to_owned()), ..self.clone() }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(file) = &self.file {
            parts.push(format!("in {file}"));
        }
        if let Some(key) = &self.key {
            parts.push(format!("key {key:?}"));
        }
        if let Some(chain) = &self.chain {
            parts.push(format!("chain {chain:?}"));
        }
        match (self.step, &self.module) {
            (Some(step), Some(module)) => parts.push(format!("step {step} ({module})")),
            (Some(step), None) => parts.push(format!("step {step}")),
            _ => {}
        }
        if let Some(arg) = &self.arg {
            parts.push(format!("arg {arg:?}"));
        }
        if parts.is_empty() {
            f.write_str("top level")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub location: Location,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// The errors and warnings found while compiling a configuration.
#[derive(Debug, Default)]
pub struct Problems {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl Problems {
    pub fn error(&mut self, location: &Location, message: impl Into<String>) {
        self.errors.push(Problem { location: location.clone(), message: message.into() });
    }

    pub fn warn(&mut self, location: &Location, message: impl Into<String>) {
        self.warnings.push(Problem { location: location.clone(), message: message.into() });
    }
}

/// The known names closest to `wrong` (edit distance), best first, at most `n`.
pub fn nearest<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>, n: usize) -> Vec<&'a str> {
    let wrong_lower = wrong.to_lowercase();
    let mut scored: Vec<(usize, &str)> =
        known.into_iter().map(|k| (edit_distance(&wrong_lower, &k.to_lowercase()), k)).collect();
    scored.sort();
    scored.into_iter().take(n).map(|(_, k)| k).collect()
}

/// "nearest known" text for an unknown name, or empty when nothing is near
/// (within half the name's length in edits, at least 3).
pub fn suggestion<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let limit = (wrong.chars().count() / 2).max(3);
    let near: Vec<&str> =
        nearest(wrong, known, 3).into_iter().filter(|k| nearest_distance(wrong, k) <= limit).collect();
    if near.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = near.iter().map(|n| format!("{n:?}")).collect();
    format!("; nearest known: {}", quoted.join(", "))
}

/// Edit distance between two names, ignoring case.
pub fn nearest_distance(a: &str, b: &str) -> usize {
    edit_distance(&a.to_lowercase(), &b.to_lowercase())
}

/// Levenshtein distance over chars (strsim's, already in the tree through clap).
fn edit_distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_display() {
        let loc = Location::step("sshd", 2).with_module("filter_pcre").with_arg("re");
        assert_eq!(loc.to_string(), r#"chain "sshd", step 2 (filter_pcre), arg "re""#);
        assert_eq!(Location::key("email").with_arg("to").to_string(), r#"key "email", arg "to""#);
        assert_eq!(Location::default().to_string(), "top level");
    }

    #[test]
    fn nearest_names() {
        let known = ["filter_equals", "filter_pcre", "filter_pcreAny", "filter_in"];
        assert_eq!(nearest("filter_pcer", known, 2), ["filter_pcre", "filter_in"]);
        assert_eq!(nearest("Filter_Equal", known, 1), ["filter_equals"]);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(suggestion("x", []), "");
    }
}
