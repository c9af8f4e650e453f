//! Configuration drop-ins: `banwarden.d/*.json` beside the main file, each
//! a set of chains and its place in the order of the main file's chains.
//!
//! Enabling a service is adding one file (as fail2ban's `jail.d`): the
//! drop-ins of `/etc/banwarden/banwarden.json` are the `*.json` files of
//! `/etc/banwarden/banwarden.d/` (for `x.json`, `x.d/`), read in the byte
//! order of their names; hidden files and other names (`.dpkg-old`, `~`)
//! are left out. A drop-in holds `actions` (chains, as in the main file)
//! and at most one of `before` and `after`, the label of a chain of the
//! main file or of an earlier drop-in: its chains go, in their own order,
//! right before or after that chain. Without either they go after every
//! chain read so far. Since chains link in file order (Pyruse's rule), the
//! place decides which routes come first, and a drop-in placed after a
//! chain that ends every entry's walk is never reached (`check` says so).
//!
//! A drop-in sets no other key (storage, email, APIs...: the main file's
//! alone), and its labels are new: a label already used is an error, not
//! Python's "last one wins", since two files naming one chain is surely a
//! mistake. Problems in a drop-in's chains name its file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::json::Json;
use super::{parse, ConfigError, Location, Problems};

/// The keys a drop-in may have.
pub const DROPIN_KEYS: [&str; 3] = ["actions", "before", "after"];

/// The drop-in directory of a main file: `x.d` beside `x.json`.
pub fn directory(main: &Path) -> PathBuf {
    let stem = main.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    main.with_file_name(format!("{stem}.d"))
}

/// The drop-ins of `main`, in the order they apply; none when the directory
/// does not exist.
pub fn list(main: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let dir = directory(main);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ConfigError::Read { path: dir, source }),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ConfigError::Read { path: dir.clone(), source })?;
        let name = entry.file_name();
        let bytes = name.as_encoded_bytes();
        if bytes.starts_with(b".") || !bytes.ends_with(b".json") {
            continue;
        }
        files.push(entry.path());
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// ", with 2 drop-ins: 10-nginx.json, 20-postfix.json" (file names, in
/// order), or nothing: for the lines that say what was loaded.
pub fn describe(files: &[PathBuf]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap_or_default().to_string_lossy()).collect();
    format!(", with {} drop-in(s): {}", files.len(), names.join(", "))
}

/// Where the chains of the drop-ins came from: label -> file, so that
/// problems in them name it.
#[derive(Debug, Default)]
pub struct Origins(HashMap<String, String>);

impl Origins {
    /// Names the file of every problem found in a drop-in's chain.
    pub fn mark(&self, problems: &mut Problems) {
        for problem in problems.errors.iter_mut().chain(problems.warnings.iter_mut()) {
            if problem.location.file.is_some() {
                continue; // found while merging, in the file it names
            }
            if let Some(file) = problem.location.chain.as_ref().and_then(|c| self.0.get(c)) {
                problem.location.file = Some(file.clone());
            }
        }
    }
}

/// Reads every drop-in of `files` and puts its chains into `root`'s
/// `actions`, at the place it asks for. Syntax errors stop at once (as the
/// main file's do); other problems are collected.
pub fn merge(root: &mut Json, files: &[PathBuf], problems: &mut Problems) -> Result<Origins, ConfigError> {
    let mut origins = Origins::default();
    let Some(chains) = actions_of(root) else { return Ok(origins) };
    // Each label's file, for the message about a label used twice.
    let main_labels: Vec<String> = chains.iter().map(|(label, _)| label.clone()).collect();
    let mut defined: HashMap<String, Option<String>> = main_labels.into_iter().map(|l| (l, None)).collect();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let shown = path.display().to_string();
        let dropin = parse(&text, &shown)?;
        let here = Location { file: Some(shown.clone()), ..Location::default() };
        let Json::Object(pairs) = dropin else {
            problems.error(&here, format!("a drop-in is an object with \"actions\", found {}", dropin.type_name()));
            continue;
        };
        let (mut new_chains, mut place) = (None, None);
        for (key, value) in pairs {
            match (key.as_str(), value) {
                ("actions", Json::Object(list)) => new_chains = Some(list),
                ("actions", other) => problems.error(
                    &Location { key: Some(key), ..here.clone() },
                    format!("expected an object of chains, found {}", other.type_name()),
                ),
                ("before" | "after", Json::String(label)) if place.is_none() => place = Some((key, label)),
                ("before" | "after", Json::String(_)) => problems.error(
                    &Location { key: Some(key), ..here.clone() },
                    "a drop-in has one place: \"before\" or \"after\", not both",
                ),
                ("before" | "after", other) => problems.error(
                    &Location { key: Some(key), ..here.clone() },
                    format!("expected the label of a chain, found {}", other.type_name()),
                ),
                (_, _) => problems.error(
                    &Location { key: Some(key.clone()), ..here.clone() },
                    format!(
                        "a drop-in holds chains only (\"actions\", with \"before\" or \"after\"): {key:?} belongs in the main file{}",
                        super::problem::suggestion(&key, DROPIN_KEYS)
                    ),
                ),
            }
        }
        let Some(new_chains) = new_chains else {
            problems.warn(&here, "no \"actions\": this drop-in adds nothing");
            continue;
        };
        let at = match &place {
            None => chains.len(),
            Some((side, label)) => match chains.iter().position(|(l, _)| l == label) {
                Some(i) if side == "before" => i,
                Some(i) => i + 1,
                None => {
                    let known = chains.iter().map(|(l, _)| l.as_str());
                    problems.error(
                        &Location { key: Some(side.clone()), ..here.clone() },
                        format!(
                            "no chain {label:?} in the main file or an earlier drop-in{}",
                            super::problem::suggestion(label, known)
                        ),
                    );
                    continue;
                }
            },
        };
        let mut kept = Vec::with_capacity(new_chains.len());
        for (label, steps) in new_chains {
            if let Some(first) = defined.get(&label) {
                let other = first.as_deref().unwrap_or("the main file");
                problems.error(
                    &Location { chain: Some(label.clone()), ..here.clone() },
                    format!("chain already defined in {other}: a drop-in's labels must be new"),
                );
                continue;
            }
            defined.insert(label.clone(), Some(shown.clone()));
            origins.0.insert(label.clone(), shown.clone());
            kept.push((label, steps));
        }
        chains.splice(at..at, kept);
    }
    Ok(origins)
}

/// The main file's chains (the last `actions`, as Python reads it); `None`
/// when it has none, which compiling reports.
fn actions_of(root: &mut Json) -> Option<&mut Vec<(String, Json)>> {
    let Json::Object(pairs) = root else { return None };
    match pairs.iter_mut().rev().find(|(k, _)| k == "actions") {
        Some((_, Json::Object(chains))) => Some(chains),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, ConfigError};

    const MAIN: &str = r#"{
        // The system's routes, then a catch-all.
        "actions": {
            "Route sshd": [{"filter": "filter_equals", "args": {"field": "_SYSTEMD_UNIT", "value": "sshd.service"}, "then": "sshd"}],
            "sshd": [{"action": "action_noop"}],
            "Discard everything else": [{"action": "action_noop"}]
        },
        "storage": "/tmp/unused"
    }"#;

    fn route(unit: &str, target: &str) -> String {
        format!(
            r#"[{{"filter": "filter_equals", "args": {{"field": "_SYSTEMD_UNIT", "value": "{unit}"}}, "then": "{target}"}}]"#
        )
    }

    /// A main file and its drop-ins (name, text) in a temporary directory.
    fn files(dropins: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("banwarden.json");
        std::fs::write(&main, MAIN).unwrap();
        std::fs::create_dir(dir.path().join("banwarden.d")).unwrap();
        for (name, text) in dropins {
            std::fs::write(dir.path().join("banwarden.d").join(name), text).unwrap();
        }
        (dir, main)
    }

    fn labels(main: &Path) -> Vec<String> {
        let config = load(main).unwrap_or_else(|e| panic!("{e}: {e:?}"));
        (0..config.workflow.chains()).map(|c| config.workflow.label(c as u32).to_owned()).collect()
    }

    fn problems(main: &Path) -> Vec<String> {
        match load(main) {
            Err(ConfigError::Invalid { errors, .. }) => errors.iter().map(|p| p.to_string()).collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn drop_ins_go_where_they_ask_in_name_order() {
        let nginx = format!(
            r#"{{"before": "Discard everything else", "actions": {{"Route nginx": {}, "nginx": [{{"action": "action_noop"}}]}}}}"#,
            route("nginx.service", "nginx")
        );
        let postfix = format!(
            r#"/* after nginx's route */ {{"after": "Route nginx", "actions": {{"Route postfix": {}, "postfix": [{{"action": "action_noop"}}]}}}}"#,
            route("postfix.service", "postfix")
        );
        let last = r#"{"actions": {"Last": [{"action": "action_noop"}]}}"#;
        // Left out: hidden files, backups, other extensions.
        let (dir, main) = files(&[
            ("20-postfix.json", &postfix),
            ("10-nginx.json", &nginx),
            ("30-last.json", last),
            (".hidden.json", "not json"),
            ("10-nginx.json.dpkg-old", "not json"),
            ("notes.txt", "not json"),
        ]);
        assert_eq!(
            labels(&main),
            [
                "Route sshd",
                "sshd",
                "Route nginx",
                "Route postfix",
                "postfix",
                "nginx",
                "Discard everything else",
                "Last"
            ]
        );
        let config = load(&main).unwrap();
        let names: Vec<_> = config.dropins.iter().map(|p| p.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(names, ["10-nginx.json", "20-postfix.json", "30-last.json"]);
        assert_eq!(directory(&main), dir.path().join("banwarden.d"));
        assert_eq!(directory(Path::new("/etc/pyruse/pyruse.json")), Path::new("/etc/pyruse/pyruse.d"));
    }

    #[test]
    fn no_directory_means_no_drop_ins() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("x.json");
        std::fs::write(&main, MAIN).unwrap();
        assert_eq!(labels(&main), ["Route sshd", "sshd", "Discard everything else"]);
    }

    #[test]
    fn every_problem_of_every_drop_in_names_its_file() {
        let (dir, main) = files(&[
            ("a.json", r#"{"storage": "/elsewhere", "before": "No such chain", "actions": {"sshd": []}}"#),
            ("b.json", r#"{"after": "sshd", "before": "sshd", "actions": {"b": [{"filter": "filter_nope"}]}}"#),
            ("c.json", r#"["not", "an", "object"]"#),
        ]);
        let d = dir.path().join("banwarden.d");
        let (a, b, c) = (d.join("a.json"), d.join("b.json"), d.join("c.json"));
        let found = problems(&main);
        for expected in [
            format!("in {}, key \"storage\": a drop-in holds chains only", a.display()),
            format!("in {}, key \"before\": no chain \"No such chain\"", a.display()),
            format!("in {}, key \"before\": a drop-in has one place", b.display()),
            format!("in {}, chain \"b\", step 0", b.display()),
            format!("in {}: a drop-in is an object with \"actions\", found a list", c.display()),
        ] {
            assert!(found.iter().any(|p| p.starts_with(&expected)), "{expected}\nnot in {found:#?}");
        }
    }

    #[test]
    fn a_label_used_twice_is_an_error_naming_both_files() {
        let (dir, main) = files(&[
            ("a.json", r#"{"actions": {"sshd": [{"action": "action_noop"}], "x": [{"action": "action_noop"}]}}"#),
            ("b.json", r#"{"actions": {"x": [{"action": "action_noop"}]}}"#),
        ]);
        let d = dir.path().join("banwarden.d");
        let found = problems(&main);
        assert!(found.contains(&format!(
            "in {}, chain \"sshd\": chain already defined in the main file: a drop-in's labels must be new",
            d.join("a.json").display()
        )));
        assert!(found.contains(&format!(
            "in {}, chain \"x\": chain already defined in {}: a drop-in's labels must be new",
            d.join("b.json").display(),
            d.join("a.json").display()
        )));
    }

    #[test]
    fn a_syntax_error_in_a_drop_in_names_the_drop_in_and_its_line() {
        let (dir, main) = files(&[("a.json", "{\n  \"actions\": {,\n}")]);
        match load(&main) {
            Err(ConfigError::Syntax { path, line, .. }) => {
                assert_eq!(path, dir.path().join("banwarden.d/a.json").display().to_string());
                assert_eq!(line, 2);
            }
            other => panic!("{other:?}"),
        }
    }
}
