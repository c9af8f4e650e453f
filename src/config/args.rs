//! Reading a step's `args` object (or a top-level settings object) with
//! every problem recorded at its place instead of stopping at the first.
//!
//! Each getter marks the argument as known; [`Args::finish`] then warns
//! about the rest, naming the closest known argument, because Pyruse ignored
//! unknown arguments silently and a typo (`banSecond`) meant a permanent ban.

use super::json::{dedup_pairs, Json};
use super::problem::{suggestion, Location, Problems};

pub struct Args<'a> {
    pairs: Vec<(&'a str, &'a Json)>,
    known: Vec<&'static str>,
    location: Location,
}

impl<'a> Args<'a> {
    /// `value` is the `args` object (absent means no arguments).
    pub fn new(value: Option<&'a Json>, location: Location, problems: &mut Problems) -> Args<'a> {
        let pairs = match value {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Object(pairs)) => {
                let (resolved, duplicates) = dedup_pairs(pairs);
                for dup in duplicates {
                    problems.warn(&location.with_arg(dup), "argument given twice; the last value is used");
                }
                resolved
            }
            Some(other) => {
                problems.error(&location, format!("\"args\" must be an object, not {}", other.type_name()));
                Vec::new()
            }
        };
        Args { pairs, known: Vec::new(), location }
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    pub fn at(&self, name: &str) -> Location {
        self.location.with_arg(name)
    }

    /// The raw value of an argument, if given.
    pub fn get(&mut self, name: &'static str) -> Option<&'a Json> {
        self.known.push(name);
        self.pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| *k == name)
    }

    fn missing(&self, name: &str, what: &str, problems: &mut Problems) {
        problems.error(&self.at(name), format!("missing mandatory argument ({what})"));
    }

    fn wrong_type(&self, name: &str, expected: &str, got: &Json, problems: &mut Problems) {
        problems.error(&self.at(name), format!("expected {expected}, found {}", got.type_name()));
    }

    /// A mandatory string.
    pub fn string(&mut self, name: &'static str, problems: &mut Problems) -> Option<&'a str> {
        match self.get(name) {
            None => {
                self.missing(name, "a string", problems);
                None
            }
            Some(value) => self.as_string(name, value, problems),
        }
    }

    pub fn opt_string(&mut self, name: &'static str, problems: &mut Problems) -> Option<&'a str> {
        let value = self.get(name)?;
        self.as_string(name, value, problems)
    }

    fn as_string(&self, name: &str, value: &'a Json, problems: &mut Problems) -> Option<&'a str> {
        match value {
            Json::String(s) if !s.is_empty() => Some(s),
            Json::String(_) => {
                problems.error(&self.at(name), "must not be empty");
                None
            }
            other => {
                self.wrong_type(name, "a string", other, problems);
                None
            }
        }
    }

    /// A mandatory non-empty list of strings.
    pub fn string_list(&mut self, name: &'static str, problems: &mut Problems) -> Option<Vec<&'a str>> {
        match self.get(name) {
            None => {
                self.missing(name, "a list of strings", problems);
                None
            }
            Some(value) => self.as_string_list(name, value, problems),
        }
    }

    pub fn opt_string_list(&mut self, name: &'static str, problems: &mut Problems) -> Option<Vec<&'a str>> {
        let value = self.get(name)?;
        self.as_string_list(name, value, problems)
    }

    fn as_string_list(&self, name: &str, value: &'a Json, problems: &mut Problems) -> Option<Vec<&'a str>> {
        let Json::Array(items) = value else {
            self.wrong_type(name, "a list of strings", value, problems);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match item {
                Json::String(s) => out.push(s.as_str()),
                other => {
                    problems.error(&self.at(name), format!("item {i}: expected a string, found {}", other.type_name()));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// An optional duration in whole seconds (Pyruse accepted any number;
    /// a fraction is rounded up so a ban is never shorter than asked).
    pub fn opt_seconds(&mut self, name: &'static str, problems: &mut Problems) -> Option<u64> {
        let value = self.get(name)?;
        let Json::Number(n) = value else {
            self.wrong_type(name, "a number of seconds", value, problems);
            return None;
        };
        if let Some(secs) = n.as_u64() {
            return Some(secs);
        }
        match n.as_f64() {
            Some(f) if (0.0..1e15).contains(&f) => Some(f.ceil() as u64),
            _ => {
                problems.error(&self.at(name), format!("{n} is not a number of seconds (0 or more)"));
                None
            }
        }
    }

    /// Warns about every argument no getter asked for.
    pub fn finish(self, problems: &mut Problems) {
        for (name, _) in &self.pairs {
            if !self.known.contains(name) {
                let hint = suggestion(name, self.known.iter().copied());
                problems.warn(&self.at(name), format!("unknown argument, ignored{hint}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Json {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn collects_every_problem() {
        let value = json(r#"{"field": 3, "values": ["a", 1], "banSecond": 10, "keep": -1}"#);
        let mut p = Problems::default();
        let mut args = Args::new(Some(&value), Location::step("c", 0), &mut p);
        assert_eq!(args.string("field", &mut p), None);
        assert_eq!(args.string("re", &mut p), None);
        assert_eq!(args.string_list("values", &mut p), None);
        assert_eq!(args.opt_seconds("banSeconds", &mut p), None);
        assert_eq!(args.opt_seconds("keep", &mut p), None);
        args.finish(&mut p);
        let errors: Vec<String> = p.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            errors,
            [
                r#"chain "c", step 0, arg "field": expected a string, found a number"#,
                r#"chain "c", step 0, arg "re": missing mandatory argument (a string)"#,
                r#"chain "c", step 0, arg "values": item 1: expected a string, found a number"#,
                r#"chain "c", step 0, arg "keep": -1 is not a number of seconds (0 or more)"#,
            ]
        );
        assert_eq!(p.warnings.len(), 1);
        assert_eq!(
            p.warnings[0].to_string(),
            r#"chain "c", step 0, arg "banSecond": unknown argument, ignored; nearest known: "banSeconds""#
        );
    }

    #[test]
    fn seconds_accept_floats_rounded_up() {
        let value = json(r#"{"a": 600, "b": 1.5}"#);
        let mut p = Problems::default();
        let mut args = Args::new(Some(&value), Location::default(), &mut p);
        assert_eq!(args.opt_seconds("a", &mut p), Some(600));
        assert_eq!(args.opt_seconds("b", &mut p), Some(2));
        assert_eq!(args.opt_seconds("c", &mut p), None);
        assert!(p.errors.is_empty());
    }

    #[test]
    fn args_must_be_an_object() {
        let value = json(r#"["x"]"#);
        let mut p = Problems::default();
        Args::new(Some(&value), Location::step("c", 1), &mut p);
        assert_eq!(p.errors[0].to_string(), r#"chain "c", step 1: "args" must be an object, not a list"#);
    }
}
