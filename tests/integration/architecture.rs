//! The architecture map of src/lib.rs, enforced. Its `//!` doc lists the
//! modules top to bottom, one `//! - [`name`]: ...` line each, "dependencies
//! pointing down": the order is the layering. This test checks that the list
//! and the `mod` declarations of lib.rs name the same modules, and that no
//! module refers to one listed above it.
//!
//! A reference is a path from the crate root, `crate::x` (also `$crate::x` in
//! a macro, and each first segment of a `use crate::{a, b::c}` group), or a
//! chain of `super::` that climbs to the root. Comments, doc comments and
//! string literals are not code; test code may reach anywhere, so items under
//! `#[cfg(test)]` (or `#[cfg(all(test, ...))]`), the files of such modules, and
//! files named `tests.rs` or `*_tests.rs` are left out. src/main.rs is the
//! binary, above everything, and lib.rs is the map itself: neither is scanned.
//! A module missing from the map is reported once, and references to or from
//! it are checked once it is listed.
//!
//! The scanner is a small lexer, not a Rust parser; the tests at the bottom
//! show what it understands.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::util::root;

#[test]
fn modules_depend_only_on_modules_listed_below_them() {
    let src = root().join("src");
    let lib = read(&src.join("lib.rs"));
    let listed = listed_modules(&lib);
    let declared = declared_modules(&clean(&lib).text);
    let mut violations = Vec::new();

    for (name, line) in &declared {
        if !listed.iter().any(|(n, _)| n == name) {
            violations.push(format!("src/lib.rs:{line}: module {name} is declared but not listed in the map"));
        }
    }
    for (i, (name, line)) in listed.iter().enumerate() {
        if !declared.iter().any(|(n, _)| n == name) {
            violations.push(format!("src/lib.rs:{line}: module {name} is listed but not declared"));
        }
        if listed[..i].iter().any(|(n, _)| n == name) {
            violations.push(format!("src/lib.rs:{line}: module {name} is listed twice"));
        }
    }

    let layer: HashMap<&str, usize> = listed.iter().enumerate().map(|(i, (name, _))| (name.as_str(), i)).collect();
    for (own, (module, _)) in listed.iter().enumerate() {
        for file in module_files(&src, module) {
            let shown = file.strip_prefix(root()).unwrap().display().to_string();
            let mut seen = BTreeSet::new();
            for (used, line) in references(&read(&file), file_depth(&src, &file)) {
                let above = layer.get(used.as_str()).is_some_and(|&theirs| theirs < own);
                if above && seen.insert((line, used.clone())) {
                    violations.push(format!(
                        "{shown}:{line}: module {module} uses module {used}, which is listed above it in src/lib.rs"
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "{} violation(s) of the architecture map in src/lib.rs:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `//! - [`name`]: ...` lines, in order, with their line numbers.
fn listed_modules(lib: &str) -> Vec<(String, usize)> {
    let mut listed = Vec::new();
    for (i, line) in lib.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("//! - [`") else { continue };
        if let Some((name, _)) = rest.split_once("`]") {
            listed.push((name.to_owned(), i + 1));
        }
    }
    assert!(!listed.is_empty(), "src/lib.rs: no \"//! - [`module`]: ...\" lines");
    listed
}

/// The `mod x;` and `mod x { ... }` of the crate root's top level, in cleaned
/// text (test-only ones already blanked).
fn declared_modules(text: &str) -> Vec<(String, usize)> {
    let tokens = tokenize(text);
    let mut depth = 0usize;
    let mut declared = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match token.text.as_str() {
            "{" => depth += 1,
            "}" => depth = depth.saturating_sub(1),
            "mod" if depth == 0 => {
                if let Some(name) = tokens.get(i + 1).filter(|t| t.is_ident()) {
                    declared.push((name.text.clone(), name.line));
                }
            }
            _ => {}
        }
    }
    declared
}

/// The files of top-level module `module`: src/module.rs and every .rs
/// under src/module/, sorted, without test files.
fn module_files(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let single = src.join(format!("{module}.rs"));
    if single.is_file() {
        files.push(single);
    }
    let dir = src.join(module);
    if dir.is_dir() {
        walk(&dir, &mut files);
    }
    files.sort();
    let mut test_only = BTreeSet::new();
    for file in &files {
        for child in clean(&read(file)).test_modules {
            let dir = children_dir(file);
            test_only.insert(dir.join(format!("{child}.rs")));
            test_only.insert(dir.join(child));
        }
    }
    files.retain(|f| !is_test_file(f) && !test_only.iter().any(|t| f.starts_with(t)));
    files
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|x| x == "rs") {
            files.push(path);
        }
    }
}

fn is_test_file(file: &Path) -> bool {
    let name = file.file_name().unwrap().to_str().unwrap();
    name == "tests.rs" || name.ends_with("_tests.rs")
}

/// Where the files of `file`'s child modules are: beside a mod.rs or
/// lib.rs, in a directory named after any other file.
fn children_dir(file: &Path) -> PathBuf {
    let parent = file.parent().unwrap();
    match file.file_stem().unwrap().to_str().unwrap() {
        "mod" | "lib" => parent.to_owned(),
        stem => parent.join(stem),
    }
}

/// How many `super::` lead from `file`'s module to the crate root:
/// 1 for src/a.rs and src/a/mod.rs, 2 for src/a/b.rs, and so on.
fn file_depth(src: &Path, file: &Path) -> usize {
    let parts = file.strip_prefix(src).unwrap().components().count();
    if file.file_name().is_some_and(|n| n == "mod.rs") {
        parts - 1
    } else {
        parts
    }
}

// ---------------------------------------------------------------------------
// The lexer

/// Source with comments, string and char literals and test-only items
/// blanked (newlines kept, so lines still count), and the names of the
/// test-only `mod x;` whose files are to be left out.
struct Cleaned {
    text: String,
    test_modules: Vec<String>,
}

fn clean(source: &str) -> Cleaned {
    let mut text = blank_comments_and_literals(source.as_bytes());
    let mut test_modules = Vec::new();
    let mut from = 0;
    while let Some(start) = next_test_attribute(&text, from) {
        let end = item_end(&text, start);
        let item = String::from_utf8_lossy(&text[start..end]).into_owned();
        let tokens = tokenize(&item);
        // `... mod name ;`: the module's file is test-only.
        if let [.., a, b, c] = tokens.as_slice() {
            if a.text == "mod" && b.is_ident() && c.text == ";" {
                test_modules.push(b.text.clone());
            }
        }
        blank(&mut text[start..end]);
        from = end;
    }
    Cleaned { text: String::from_utf8(text).expect("blanking keeps UTF-8"), test_modules }
}

fn blank(bytes: &mut [u8]) {
    for b in bytes.iter_mut().filter(|b| **b != b'\n') {
        *b = b' ';
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Blanks `//` and (nested) `/* */` comments, "strings", r#"raw strings"#
/// (and their b prefixes) and 'c'har literals; lifetimes are left alone.
fn blank_comments_and_literals(src: &[u8]) -> Vec<u8> {
    let mut out = src.to_vec();
    let mut i = 0;
    let at = |i: usize| src.get(i).copied().unwrap_or(0);
    while i < src.len() {
        let start = i;
        let before = if i == 0 { 0 } else { src[i - 1] };
        let before2 = if i < 2 { 0 } else { src[i - 2] };
        if at(i) == b'/' && at(i + 1) == b'/' {
            while i < src.len() && src[i] != b'\n' {
                i += 1;
            }
        } else if at(i) == b'/' && at(i + 1) == b'*' {
            let mut depth = 0;
            while i < src.len() {
                if at(i) == b'/' && at(i + 1) == b'*' {
                    depth += 1;
                    i += 2;
                } else if at(i) == b'*' && at(i + 1) == b'/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if at(i) == b'"' {
            i += 1;
            while i < src.len() && src[i] != b'"' {
                i += if src[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if at(i) == b'r' && (at(i + 1) == b'"' || at(i + 1) == b'#') && raw_prefix_ok(src, i) {
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == b'#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != b'"' {
                // `r#ident`, a raw identifier.
                i += 1;
                continue;
            }
            j += 1;
            let closes = |j: usize| src[j] == b'"' && src[j + 1..].iter().take_while(|&&b| b == b'#').count() >= hashes;
            while j < src.len() && !closes(j) {
                j += 1;
            }
            i = (j + 1 + hashes).min(src.len());
        } else if at(i) == b'\'' && (!is_ident_byte(before) || (before == b'b' && !is_ident_byte(before2))) {
            match char_literal_len(&src[i..]) {
                Some(len) => i += len,
                None => {
                    i += 1;
                    continue;
                }
            }
        } else {
            i += 1;
            continue;
        }
        let end = i.min(src.len());
        blank(&mut out[start..end]);
        i = end;
    }
    out
}

/// Whether the `r` at `i` starts a raw string: not inside an identifier,
/// except after a lone `b`.
fn raw_prefix_ok(src: &[u8], i: usize) -> bool {
    let before = |k: usize| if i >= k { src[i - k] } else { 0 };
    !is_ident_byte(before(1)) || (before(1) == b'b' && !is_ident_byte(before(2)))
}

/// The length of the char literal `'x'` or `'\n'` at the start of `s`, or
/// `None` for a lifetime or label.
fn char_literal_len(s: &[u8]) -> Option<usize> {
    if s.get(1) == Some(&b'\\') {
        let close = s[2..].iter().skip(1).position(|&b| b == b'\'')?;
        return Some(close + 4);
    }
    let text = std::str::from_utf8(&s[1..s.len().min(5)]).or_else(|e| std::str::from_utf8(&s[1..1 + e.valid_up_to()]));
    let c = text.ok()?.chars().next()?;
    (s.get(1 + c.len_utf8()) == Some(&b'\'')).then_some(2 + c.len_utf8())
}

/// The next `#[cfg(test)]` or `#[cfg(all(test, ...))]` at or after `from`.
fn next_test_attribute(text: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < text.len() {
        if text[i] == b'#' && text[i + 1] == b'[' {
            let end = matching(text, i + 1, b'[', b']');
            let inner: String =
                String::from_utf8_lossy(&text[i + 2..end.saturating_sub(1)]).split_whitespace().collect();
            if is_test_cfg(&inner) {
                return Some(i);
            }
            i = end;
        } else {
            i += 1;
        }
    }
    None
}

fn is_test_cfg(attribute: &str) -> bool {
    if attribute == "cfg(test)" {
        return true;
    }
    let Some(args) = attribute.strip_prefix("cfg(all(").and_then(|a| a.strip_suffix("))")) else { return false };
    let mut depth = 0;
    let mut arg = String::new();
    for c in args.chars().chain([',']) {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                if arg == "test" {
                    return true;
                }
                arg.clear();
                continue;
            }
            _ => {}
        }
        arg.push(c);
    }
    false
}

/// The end (exclusive) of the item whose attributes start at `start`: its
/// `;` (not one within brackets, as in `[u8; 4]`), or the `}` closing its
/// first `{`.
fn item_end(text: &[u8], start: usize) -> usize {
    let mut i = start;
    let mut nested = 0usize;
    while i < text.len() {
        match text[i] {
            b'#' if text.get(i + 1) == Some(&b'[') => i = matching(text, i + 1, b'[', b']'),
            b'(' | b'[' => {
                nested += 1;
                i += 1;
            }
            b')' | b']' => {
                nested = nested.saturating_sub(1);
                i += 1;
            }
            b';' if nested == 0 => return i + 1,
            b'{' => return matching(text, i, b'{', b'}'),
            _ => i += 1,
        }
    }
    text.len()
}

/// The end (exclusive) of the bracketed group opening at `open`.
fn matching(text: &[u8], open: usize, left: u8, right: u8) -> usize {
    let mut depth = 0;
    for (i, &b) in text.iter().enumerate().skip(open) {
        if b == left {
            depth += 1;
        } else if b == right {
            depth -= 1;
            if depth == 0 {
                return i + 1;
            }
        }
    }
    text.len()
}

struct Token {
    text: String,
    line: usize,
}

impl Token {
    fn is_ident(&self) -> bool {
        self.text.bytes().next().is_some_and(|b| is_ident_byte(b) && !b.is_ascii_digit())
    }
}

/// Identifiers, `::`, and every other non-blank byte on its own.
fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        if b == b'\n' {
            line += 1;
            i += 1;
            continue;
        } else if b.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if is_ident_byte(b) {
            while i < bytes.len() && is_ident_byte(bytes[i]) {
                i += 1;
            }
        } else if b == b':' && bytes.get(i + 1) == Some(&b':') {
            i += 2;
        } else {
            i += 1;
        }
        tokens.push(Token { text: text[start..i].to_owned(), line });
    }
    tokens
}

// ---------------------------------------------------------------------------
// References

/// The top-level modules `source` refers to, with the line of each mention,
/// for a file `depth` modules below the crate root.
fn references(source: &str, depth: usize) -> Vec<(String, usize)> {
    let tokens = tokenize(&clean(source).text);
    let text = |i: usize| tokens.get(i).map_or("", |t| t.text.as_str());
    let mut found = Vec::new();
    // One entry per open brace: whether it opened an inline `mod`.
    let mut braces: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match text(i) {
            "{" => braces.push(i >= 2 && text(i - 2) == "mod" && tokens[i - 1].is_ident()),
            "}" => {
                braces.pop();
            }
            "crate" if text(i + 1) == "::" && text(i.wrapping_sub(1)) != "::" => {
                root_path(&tokens, i + 2, &mut found);
            }
            "super" if text(i.wrapping_sub(1)) != "::" => {
                let mut n = 0;
                while text(i + 2 * n) == "super" && text(i + 2 * n + 1) == "::" {
                    n += 1;
                }
                let here = depth + braces.iter().filter(|&&m| m).count();
                if n > 0 && n == here {
                    root_path(&tokens, i + 2 * n, &mut found);
                }
                // On to the path's head, which may open a group: its braces must be counted.
                i += (2 * n).saturating_sub(1);
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Records the first segment(s) of a path from the crate root starting at
/// token `i`: `x`, or each entry of a `{a, b::c}` group.
fn root_path(tokens: &[Token], i: usize, found: &mut Vec<(String, usize)>) {
    let Some(first) = tokens.get(i) else { return };
    if first.text != "{" {
        if first.is_ident() && first.text != "self" {
            found.push((first.text.clone(), first.line));
        }
        return;
    }
    let mut depth = 0;
    let mut expect_name = false;
    for token in &tokens[i..] {
        match token.text.as_str() {
            "{" => {
                depth += 1;
                expect_name = depth == 1;
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            "," if depth == 1 => expect_name = true,
            _ if expect_name => {
                if token.is_ident() && token.text != "self" {
                    found.push((token.text.clone(), token.line));
                }
                expect_name = false;
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// The scanner's own tests

fn names(source: &str, depth: usize) -> Vec<String> {
    references(source, depth).into_iter().map(|(name, line)| format!("{name}@{line}")).collect()
}

#[test]
fn paths_and_groups_from_the_crate_root_are_references() {
    let source = "use crate::a::X;\nuse crate::{b, c::{d, e}, self};\nfn f() { crate::g::h(); $crate::i::j!(); }\n";
    assert_eq!(names(source, 1), ["a@1", "b@2", "c@2", "g@3", "i@3"]);
    // A group over several lines: each name on its own line.
    assert_eq!(names("use crate::{\n    a::X,\n    b,\n};\n", 1), ["a@2", "b@3"]);
    // Neither `pub(crate)` nor a path that merely ends in `crate`.
    assert_eq!(names("pub(crate) fn f() { other::crate::x(); mycrate::y(); }\n", 1), Vec::<String>::new());
}

#[test]
fn super_counts_only_when_it_climbs_to_the_root() {
    let source =
        "use super::a;\nuse super::super::b;\nmod inner {\n    use super::super::c;\n}\nuse super::{d, e::F};\n";
    // In src/m.rs (depth 1): super:: is the root; inside `mod inner` it takes two.
    assert_eq!(names(source, 1), ["a@1", "c@4", "d@6", "e@6"]);
    // In src/m/x.rs (depth 2): only super::super:: is.
    assert_eq!(names(source, 2), ["b@2"]);
}

#[test]
fn comments_strings_and_test_code_are_not_references() {
    let source = r####"// use crate::a;
/// [`crate::b`]
/* crate::c /* nested crate::d */ crate::e */
const S: &str = "crate::f \" crate::g";
const R: &str = r#"crate::h " crate::i"#;
const C: char = '"'; const B: u8 = b'"'; fn l<'a>(x: &'a str) -> &'a str { crate::j::k(x) }
#[cfg(test)]
mod tests {
    use crate::m;
}
#[cfg(all(test, target_endian = "little"))]
fn only_in_tests() { crate::n::o(); }
#[cfg(any(test, feature = "x"))]
use crate::p;
"####;
    assert_eq!(names(source, 1), ["j@6", "p@14"]);
}

#[test]
fn test_only_module_files_are_named() {
    let cleaned = clean("mod a;\n#[cfg(test)]\nmod b;\n#[cfg(test)]\n#[path = \"x.rs\"]\nmod c;\n");
    assert_eq!(cleaned.test_modules, ["b", "c"]);
    assert_eq!(declared_modules(&cleaned.text).iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["a"]);
}

#[test]
fn the_map_is_read_in_order() {
    let lib = "//! x\n//!\n//! - [`cmd`]: subcommands\n//! - [`daemon`]: the loop\n\npub mod cmd;\n";
    assert_eq!(listed_modules(lib), [("cmd".to_owned(), 3), ("daemon".to_owned(), 4)]);
}
