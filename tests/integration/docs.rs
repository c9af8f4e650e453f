//! The documentation checked against the code.
//!
//! Every top-level key, filter and action the configuration accepts (the
//! lists the compiler itself uses) is documented both in
//! doc/configuration.md and in the man page banwarden.json(5); no page of
//! doc/ names a filter or action the code does not accept; every rule
//! file or step shown as JSON in doc/*.md or in the man page's examples
//! passes `banwarden check` without a warning; and every file the docs
//! send users to on an installed system (an nftables `include`, an
//! `nft -f`, a path under /etc/banwarden/) is one the Debian package
//! installs ([`documented_paths`], checked here against Cargo.toml's
//! assets and in package.rs against the built .deb).

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
    // The members of `api` and `resp`, their sets, TLS files and sockets.
    use banwarden::config::api::{API_KEYS, RESP_KEYS, SET_KEYS};
    names.extend(API_KEYS.iter().chain(&RESP_KEYS).chain(&SET_KEYS));
    names.extend(["certificate", "key", "mode", "group"]);
    // `fleet`, its TLS files and the targets of its map.
    use banwarden::config::fleet::{FLEET_KEYS, FLEET_MAP_KEYS, FLEET_TLS_KEYS};
    names.extend(FLEET_KEYS.iter().chain(&FLEET_TLS_KEYS).chain(&FLEET_MAP_KEYS));
    // `control` and `metrics`.
    use banwarden::config::control::{CONTROL_KEYS, METRICS_KEYS};
    names.extend(CONTROL_KEYS.iter().chain(&METRICS_KEYS));
    names
}

/// Every file of doc/, in its subdirectories too.
fn doc_files() -> Vec<PathBuf> {
    files_under(&root().join("doc"))
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

/// examples/fleet.json shows every key of `fleet`, and `check` takes it
/// without a word: so no key of the list is one the code does not read.
#[test]
fn the_fleet_example_uses_every_key_of_fleet() {
    let example: Value = serde_json::from_str(&read("examples/fleet.json")).unwrap();
    let fleet = example["fleet"].as_object().expect("a fleet object");
    use banwarden::config::fleet::{FLEET_KEYS, FLEET_TLS_KEYS};
    let keys: BTreeSet<&str> = fleet.keys().map(String::as_str).collect();
    assert_eq!(keys, FLEET_KEYS.into_iter().collect(), "examples/fleet.json's fleet keys");
    let tls: BTreeSet<&str> = fleet["tls"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(tls, FLEET_TLS_KEYS.into_iter().collect());
    let out = banwarden(&["check", "--config", "examples/fleet.json"], b"");
    assert!(out.status.success() && out.stderr.is_empty(), "{}", text(&out.stderr));
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

/// The chain a drop-in example places itself by (`before`/`after`).
fn dropin_place(example: &Value) -> Option<&str> {
    ["before", "after"].iter().find_map(|key| example.get(key)).and_then(Value::as_str)
}

fn is_step(value: &Value) -> bool {
    value.get("filter").is_some() || value.get("action").is_some()
}

/// The rule file to check for a JSON example: the example itself when it
/// is one, its steps in a chain of their own after a route on the unit
/// (with the chains they jump to) when it is a step or a list of steps;
/// `None` for anything else.
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
    // A fragment stands for steps behind a route on a field journald writes
    // (as every shipped configuration has): without it, each ban shown would
    // get check's warning about forged lines, which full rule files must not.
    let route =
        serde_json::json!({"filter": "filter_equals", "args": {"field": "_SYSTEMD_UNIT", "value": "example.service"}});
    chains.insert("Example".into(), Value::Array([&[route][..], &steps].concat()));
    for target in steps.iter().flat_map(|s| [s.get("then"), s.get("else")]).flatten() {
        if let Some(label) = target.as_str() {
            chains.insert(label.into(), serde_json::json!([{"action": "action_noop"}]));
        }
    }
    Some(serde_json::json!({ "actions": chains }))
}

/// `fragment`: a step or steps shown alone, which [`as_rule_file`] wrapped.
fn check_example(origin: &str, index: usize, rule_file: &Value, fragment: bool, dir: &Path) -> Option<String> {
    let mut path = dir.join(format!("example-{index}.json"));
    match dropin_place(rule_file) {
        // A drop-in is checked beside a main file that has the chain it
        // names, a catch-all as the shipped file's.
        Some(label) => {
            let main = serde_json::json!({"actions": {label: [{"action": "action_noop"}]}});
            // Its own name: the next page's example N must not find these drop-ins.
            path = dir.join(format!("dropin-{}-{index}.json", origin.replace('/', "_")));
            std::fs::write(&path, main.to_string()).unwrap();
            let dropins = path.with_extension("d");
            std::fs::create_dir_all(&dropins).unwrap();
            std::fs::write(dropins.join("10-example.json"), serde_json::to_string_pretty(rule_file).unwrap()).unwrap();
        }
        None => std::fs::write(&path, serde_json::to_string_pretty(rule_file).unwrap()).unwrap(),
    }
    let out = banwarden(&["check", "--config", path.to_str().unwrap()], b"");
    let stderr = text(&out.stderr);
    // A step shown alone reads fields that the steps around it, not shown,
    // would set (a capture's `thatIP`): check's warning about fields that
    // are never set is for whole rule files only.
    let warned =
        stderr.lines().any(|line| line.starts_with("warning") && !(fragment && line.contains("can never be set")));
    (!out.status.success() || warned).then(|| {
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
                let fragment = parsed.get("actions").is_none();
                failures.extend(check_example(&origin, index, &rule_file, fragment, dir.path()));
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
    assert!(wrapped["actions"]["Other"].is_array() && wrapped["actions"]["Example"][1] == step);
    assert_eq!(wrapped["actions"]["Example"][0]["args"]["field"], "_SYSTEMD_UNIT");
    assert!(as_rule_file(&serde_json::json!({"IP": "192.0.2.1"})).is_none());
}

// ---------------------------------------------------------------------------
// Installed paths the docs name

/// Files the docs name that the administrator makes, not the package.
const MADE_BY_THE_USER: [&str; 8] = [
    // doc/configuration.md: a drop-in the administrator adds.
    "/etc/banwarden/banwarden.d/10-nginx.json",
    // packaging/systemd/mail/smtp-relay.conf: msmtp's configuration.
    "/etc/banwarden/msmtprc",
    // doc/configuration.md: the API's certificate and key, the administrator's own.
    "/etc/banwarden/api.crt",
    "/etc/banwarden/api.key",
    // doc/fleet.md, examples/fleet.json: the Redis password, CA and client certificate.
    "/etc/banwarden/redis.password",
    "/etc/banwarden/redis-ca.pem",
    "/etc/banwarden/redis-client.pem",
    "/etc/banwarden/redis-client.key",
];

/// Every file under `dir` (in its subdirectories too), sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The absolute paths of an installed system that a text tells its reader
/// to use: the target of every nftables `include "..."` and of every
/// `nft -f`, every path under /etc/banwarden/ or /usr/share/doc/banwarden/,
/// and any path to a banwarden.nft or banwarden.json. Relative paths (the
/// source tree's) are left out; roff font and hyphen escapes are read as
/// they render.
fn paths_in(text: &str) -> BTreeSet<String> {
    use std::sync::LazyLock;
    static FONT: LazyLock<regex::Regex> = LazyLock::new(|| regex::Regex::new(r"\\f[BIRP]").unwrap());
    static INCLUDE: LazyLock<regex::Regex> = LazyLock::new(|| regex::Regex::new(r#"\binclude\s+"([^"]+)""#).unwrap());
    static NFT_F: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r#"\bnft\s+(?:-\S+\s+)*-f\s+["'`]?(/[^\s"'`)]+)"#).unwrap());
    static ABSOLUTE: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r#"(?:^|[\s"'`(=\[<]|file://)(/[A-Za-z0-9._*/-]+)"#).unwrap());
    let text = unescape_roff(&FONT.replace_all(text, ""));
    let mut paths = BTreeSet::new();
    for found in INCLUDE.captures_iter(&text).chain(NFT_F.captures_iter(&text)) {
        paths.insert(found[1].to_owned());
    }
    for found in ABSOLUTE.captures_iter(&text) {
        let path = found[1].trim_end_matches(['.', ',']);
        let ours = ["/etc/banwarden", "/usr/share/doc/banwarden"]
            .iter()
            .any(|dir| path == *dir || path.starts_with(&format!("{dir}/")));
        let config = path.ends_with("/banwarden.nft") || path.ends_with("/banwarden.json");
        if ours || config {
            paths.insert(path.to_owned());
        }
    }
    paths
}

/// Every installed path the docs name, with the file that names it: in
/// README.md, doc/ (the man pages too), etc/, examples/,
/// packaging/README.md and the units and drop-ins of packaging/systemd/.
pub fn documented_paths() -> Vec<(String, String)> {
    let mut sources = vec![root().join("README.md"), root().join("packaging/README.md")];
    for dir in ["doc", "etc", "examples", "packaging/systemd"] {
        sources.extend(files_under(&root().join(dir)));
    }
    let mut found = Vec::new();
    for source in sources {
        let bytes = std::fs::read(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        let origin = source.strip_prefix(root()).unwrap_or(&source).display().to_string();
        for path in paths_in(&String::from_utf8_lossy(&bytes)) {
            if !MADE_BY_THE_USER.contains(&path.as_str()) {
                found.push((origin.clone(), path));
            }
        }
    }
    found
}

/// The documented paths that are not in `installed` (absolute paths of
/// files and directories, without a trailing slash), each with where it is
/// named. A `*` in a documented path matches within one path component.
pub fn not_installed(documented: &[(String, String)], installed: &BTreeSet<String>) -> Vec<String> {
    let mut missing = Vec::new();
    for (origin, path) in documented {
        let wanted = path.trim_end_matches('/');
        let present = if wanted.contains('*') {
            let pattern = format!("^{}$", regex::escape(wanted).replace(r"\*", "[^/]*"));
            let pattern = regex::Regex::new(&pattern).unwrap();
            installed.iter().any(|p| pattern.is_match(p))
        } else {
            installed.contains(wanted)
        };
        if !present {
            missing.push(format!("{origin}: {path}"));
        }
    }
    missing
}

/// What the Debian package installs according to Cargo.toml's
/// `[package.metadata.deb]` assets (globs expanded, a destination ending
/// in `/` taking the file's name, man pages gzipped) and what cargo-deb
/// adds itself, with every directory above them.
fn deb_assets() -> BTreeSet<String> {
    let manifest = read("Cargo.toml");
    let deb = manifest.split("\n[package.metadata.deb]\n").nth(1).expect("[package.metadata.deb] in Cargo.toml");
    let assets = deb.split("\nassets = [\n").nth(1).expect("assets = [ in [package.metadata.deb]");
    let mut files = vec![
        "/usr/share/doc/banwarden/copyright".to_owned(),
        "/usr/share/doc/banwarden/changelog.Debian.gz".to_owned(),
    ];
    for line in assets.lines().map(str::trim).take_while(|l| *l != "]") {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // `["source", "destination", "mode"],`: TOML strings without escapes are JSON.
        let [source, dest, _mode]: [String; 3] = serde_json::from_str(line.trim_end_matches(','))
            .unwrap_or_else(|e| panic!("Cargo.toml: cannot read the asset line {line}: {e}"));
        let (dir, name) = source.rsplit_once('/').unwrap_or(("", &source));
        let sources: Vec<String> = if name.contains('*') {
            let pattern = regex::Regex::new(&format!("^{}$", regex::escape(name).replace(r"\*", ".*"))).unwrap();
            let mut names: Vec<String> = std::fs::read_dir(root().join(dir))
                .unwrap_or_else(|e| panic!("{dir}: {e}"))
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| pattern.is_match(n))
                .collect();
            names.sort();
            assert!(!names.is_empty(), "Cargo.toml: the asset {source} matches no file");
            names
        } else {
            vec![name.to_owned()]
        };
        for file in sources {
            let mut installed = if dest.ends_with('/') { format!("/{dest}{file}") } else { format!("/{dest}") };
            if installed.starts_with("/usr/share/man/") {
                installed.push_str(".gz");
            }
            files.push(installed);
        }
    }
    let mut installed = BTreeSet::new();
    for file in files {
        let mut dir = Path::new(&file);
        while let Some(parent) = dir.parent().filter(|p| *p != Path::new("/")) {
            installed.insert(parent.display().to_string());
            dir = parent;
        }
        installed.insert(file);
    }
    installed
}

/// doc/firewall.md, migrating-from-fail2ban.md and banwarden.nft's header
/// once sent users to /etc/nftables/banwarden.nft, which no package
/// installs: an `include` of it made nftables.service load nothing.
#[test]
fn every_path_the_docs_name_is_installed_by_the_package() {
    let documented = documented_paths();
    let paths: BTreeSet<&str> = documented.iter().map(|(_, p)| p.as_str()).collect();
    for expected in ["/etc/banwarden/banwarden.nft", "/etc/banwarden/banwarden.json"] {
        assert!(paths.contains(expected), "{expected} not found in the docs: is the extraction broken? {paths:?}");
    }
    let missing = not_installed(&documented, &deb_assets());
    assert!(
        missing.is_empty(),
        "the docs name paths that Cargo.toml's [package.metadata.deb] assets do not install:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_path_extractor_finds_what_it_should() {
    let text = "include \"/etc/nftables/banwarden.nft\"\n\
                nft -f /etc/x.nft && nft -c -f '/etc/y.nft'\n\
                nft -f etc/nftables/banwarden.nft\n\
                see /usr/share/doc/banwarden/examples/mail-*.conf.\n\
                (../etc/nftables/banwarden.nft) $ROOT/etc/banwarden/banwarden.json\n\
                `/etc/banwarden/banwarden.json`: valid; Documentation=file:///usr/share/doc/banwarden/README.md\n\
                .I /etc/banwarden/banwarden\\-x.nft\\fR and /var/lib/banwarden/state\n";
    let found: Vec<String> = paths_in(text).into_iter().collect();
    assert_eq!(
        found,
        [
            "/etc/banwarden/banwarden-x.nft",
            "/etc/banwarden/banwarden.json",
            "/etc/nftables/banwarden.nft",
            "/etc/x.nft",
            "/etc/y.nft",
            "/usr/share/doc/banwarden/README.md",
            "/usr/share/doc/banwarden/examples/mail-*.conf",
        ]
    );
    let installed: BTreeSet<String> =
        ["/etc", "/etc/banwarden", "/etc/banwarden/banwarden.nft", "/usr/share/doc/banwarden/examples/mail-a.conf"]
            .map(String::from)
            .into();
    let documented = [
        ("a.md", "/etc/banwarden/"),
        ("a.md", "/etc/banwarden/banwarden.nft"),
        ("b.md", "/etc/nftables/banwarden.nft"),
        ("c.md", "/usr/share/doc/banwarden/examples/mail-*.conf"),
        ("c.md", "/usr/share/doc/banwarden/examples/boot-*.conf"),
    ]
    .map(|(o, p)| (o.to_owned(), p.to_owned()));
    assert_eq!(
        not_installed(&documented, &installed),
        ["b.md: /etc/nftables/banwarden.nft", "c.md: /usr/share/doc/banwarden/examples/boot-*.conf"]
    );
}
