//! The documentation checked against the code.
//!
//! Every top-level key, filter and action the configuration accepts (the
//! lists the compiler itself uses) is documented both in
//! doc/configuration.md and in the man page banwarden.json(5); no page of
//! doc/ names a filter or action the code does not accept; and every rule
//! file or step shown as JSON in doc/*.md or in the man page's examples
//! passes `banwarden check` without a warning.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::util::{banwarden, root, text};

const CONFIGURATION: &str = "doc/configuration.md";
const MAN_PAGE: &str = "doc/man/banwarden.json.5";

/// Names the docs show on purpose as mistakes (`check` output for a typo).
const DELIBERATE_MISTAKES: [&str; 1] = ["filter_pcer"];

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every name the configuration code accepts: top-level keys, filters, actions.
fn accepted_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = banwarden::config::settings::KNOWN_KEYS.to_vec();
    names.extend(banwarden::filters::NAMES);
    names.extend(banwarden::actions::NAMES);
    names
}

/// Every file of doc/, in its subdirectories too.
fn doc_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("doc"), &mut files);
    files.sort();
    files
}

/// Roff escapes as they render: `\-` is a hyphen, `\(dq` a double quote,
/// `\e` a backslash, `\&` nothing.
fn unescape_roff(text: &str) -> String {
    text.replace("\\-", "-").replace("\\(dq", "\"").replace("\\&", "").replace("\\e", "\\")
}

/// The arguments of a roff macro line, double quotes grouping words.
fn macro_args(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { return args };
        let mut arg = String::new();
        if first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' if chars.next_if_eq(&'"').is_some() => arg.push('"'),
                    '"' => break,
                    c => arg.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                arg.push(c);
            }
        }
        args.push(arg);
    }
}

/// The words a man page sets in bold: `.B` lines, the bold half of
/// `.BR`/`.RB`/`.BI`/`.IB` lines, and `\fB...\fR` runs.
fn bold_words(roff: &str) -> BTreeSet<String> {
    let mut bold = Vec::new();
    for line in roff.lines() {
        if let Some(request) = line.strip_prefix('.') {
            let (name, rest) = request.split_once(' ').unwrap_or((request, ""));
            let args = macro_args(rest);
            let first_bold = match name {
                "B" => {
                    bold.extend(args);
                    continue;
                }
                "BR" | "BI" => 0,
                "RB" | "IB" => 1,
                _ => continue,
            };
            bold.extend(args.into_iter().skip(first_bold).step_by(2));
        }
        let mut rest = line;
        while let Some(start) = rest.find("\\fB") {
            let after = &rest[start + 3..];
            let end = after.find("\\f").unwrap_or(after.len());
            bold.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    bold.iter().map(|word| unescape_roff(word).trim().to_owned()).collect()
}

#[test]
fn every_accepted_name_is_in_the_reference_and_the_man_page() {
    let reference = read(CONFIGURATION);
    let man_bold = bold_words(&read(MAN_PAGE));
    let mut missing = Vec::new();
    for name in accepted_names() {
        if !reference.contains(&format!("`{name}`")) {
            missing.push(format!("{CONFIGURATION}: `{name}`"));
        }
        if !man_bold.contains(name) {
            missing.push(format!("{MAN_PAGE}: {name} (in bold)"));
        }
    }
    assert!(missing.is_empty(), "undocumented names:\n{}", missing.join("\n"));
}

#[test]
fn the_docs_name_no_filter_or_action_the_code_does_not_accept() {
    let known = accepted_names();
    for mistake in DELIBERATE_MISTAKES {
        assert!(!known.contains(&mistake), "{mistake} is accepted now: take it out of DELIBERATE_MISTAKES");
    }
    let pattern = regex::Regex::new(r"\b(?:filter|action)_[A-Za-z]+").unwrap();
    // Markdown link targets (`](#filter_pcreany)`) are lower-cased anchors.
    let link_target = regex::Regex::new(r"\]\([^)]*\)").unwrap();
    let mut unknown = Vec::new();
    for path in doc_files() {
        let Ok(content) = std::fs::read_to_string(&path) else { continue };
        let content = link_target.replace_all(&content, "]");
        for found in pattern.find_iter(&unescape_roff(&content)) {
            let name = found.as_str();
            if !known.contains(&name) && !DELIBERATE_MISTAKES.contains(&name) {
                unknown.push(format!("{}: {name}", path.strip_prefix(root()).unwrap_or(&path).display()));
            }
        }
    }
    assert!(unknown.is_empty(), "names the configuration does not accept:\n{}", unknown.join("\n"));
}

/// The fenced ```json blocks of a Markdown text.
fn json_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, fence) if fence.starts_with("```json") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().expect("in a block")),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// The `.EX`/`.EE` example blocks of a man page, unescaped.
fn man_examples(roff: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in roff.lines() {
        match (&mut current, line) {
            (None, ".EX") => current = Some(String::new()),
            (Some(_), ".EE") => blocks.push(current.take().expect("in a block")),
            (Some(block), _) => {
                block.push_str(&unescape_roff(line));
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn is_step(value: &Value) -> bool {
    value.get("filter").is_some() || value.get("action").is_some()
}

/// The rule file to check for a JSON example: the example itself when it
/// is one, its steps in a chain of their own (with the chains they jump
/// to) when it is a step or a list of steps; `None` for anything else.
fn as_rule_file(example: &Value) -> Option<Value> {
    if example.get("actions").is_some() {
        return Some(example.clone());
    }
    let steps = match example {
        Value::Array(items) if !items.is_empty() && items.iter().all(is_step) => items.clone(),
        step if is_step(step) => vec![step.clone()],
        _ => return None,
    };
    let mut chains = serde_json::Map::new();
    chains.insert("Example".into(), Value::Array(steps.clone()));
    for target in steps.iter().flat_map(|s| [s.get("then"), s.get("else")]).flatten() {
        if let Some(label) = target.as_str() {
            chains.insert(label.into(), serde_json::json!([{"action": "action_noop"}]));
        }
    }
    Some(serde_json::json!({ "actions": chains }))
}

fn check_example(origin: &str, index: usize, rule_file: &Value, dir: &Path) -> Option<String> {
    let path = dir.join(format!("example-{index}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(rule_file).unwrap()).unwrap();
    let out = banwarden(&["check", "--config", path.to_str().unwrap()], b"");
    let stderr = text(&out.stderr);
    (!out.status.success() || stderr.contains("warning")).then(|| {
        format!("{origin}, JSON example {index}:\n{}\n{stderr}", serde_json::to_string_pretty(rule_file).unwrap())
    })
}

#[test]
fn the_rule_files_and_steps_shown_pass_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut examples: Vec<(String, Vec<String>)> = Vec::new();
    for path in doc_files().into_iter().filter(|p| p.extension().is_some_and(|x| x == "md")) {
        let origin = path.strip_prefix(root()).unwrap_or(&path).display().to_string();
        examples.push((origin, json_blocks(&std::fs::read_to_string(&path).unwrap())));
    }
    examples.push((MAN_PAGE.to_owned(), man_examples(&read(MAN_PAGE))));
    for (origin, blocks) in examples {
        for (index, block) in blocks.iter().enumerate() {
            let parsed: Value = match serde_json::from_str(block) {
                Ok(value) => value,
                // The reference shows only JSON that parses; other pages may
                // show JSON lines, say.
                Err(e) if origin == CONFIGURATION => {
                    failures.push(format!("{origin}, JSON example {index}: does not parse: {e}\n{block}"));
                    continue;
                }
                Err(_) => continue,
            };
            if let Some(rule_file) = as_rule_file(&parsed) {
                checked += 1;
                failures.extend(check_example(&origin, index, &rule_file, dir.path()));
            }
        }
    }
    assert!(checked >= 20, "only {checked} examples found: is the extraction broken?");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_extractors_find_what_they_should() {
    assert_eq!(macro_args(r#"a "b c" "d""e" f"#), ["a", "b c", "d\"e", "f"]);
    let bold = bold_words(".B one\n.BR two \", \" three\n.RB ( four )\nsome \\fBfive\\-six\\fR text\n.I seven\n");
    assert_eq!(bold, ["five-six", "four", "one", "three", "two"].map(String::from).into());
    assert_eq!(json_blocks("x\n```json\n{\"a\": 1}\n```\n```\nno\n```\n"), ["{\"a\": 1}\n"]);
    assert_eq!(man_examples(".EX\n{\"a\": \"\\-\"}\n.EE\n"), ["{\"a\": \"-\"}\n"]);
    let step = serde_json::json!({"filter": "filter_in", "args": {}, "else": "Other"});
    let wrapped = as_rule_file(&step).unwrap();
    assert!(wrapped["actions"]["Other"].is_array() && wrapped["actions"]["Example"][0] == step);
    assert!(as_rule_file(&serde_json::json!({"IP": "192.0.2.1"})).is_none());
}
