//! Comments in configuration files: `//` to the end of the line and
//! `/* ... */`, outside strings.
//!
//! An extension of JSON (Pyruse's `json.load` refuses them, so a file that
//! uses them is banwarden's only). They are blanked out before parsing:
//! every byte of a comment becomes a space, newlines stay, so the line and
//! column serde_json reports for a later mistake are still the file's.

use std::borrow::Cow;

/// An unterminated `/*`: where it starts (line and column from 1).
#[derive(Debug, PartialEq, Eq)]
pub struct Unterminated {
    pub line: usize,
    pub column: usize,
}

/// `text` with its comments blanked out (borrowed when it has none).
pub fn blank(text: &str) -> Result<Cow<'_, str>, Unterminated> {
    if !text.contains('/') {
        return Ok(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let mut in_string = false;
    let mut changed = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match (b, bytes.get(i + 1)) {
            (b'"', _) => in_string = true,
            (b'/', Some(b'/')) => {
                let end = bytes[i..].iter().position(|&c| c == b'\n').map_or(bytes.len(), |n| i + n);
                out[i..end].fill(b' ');
                changed = true;
                i = end;
                continue;
            }
            (b'/', Some(b'*')) => {
                let Some(n) = text[i + 2..].find("*/") else {
                    let before = &text[..i];
                    let line = before.matches('\n').count() + 1;
                    let column = i - before.rfind('\n').map_or(0, |nl| nl + 1) + 1;
                    return Err(Unterminated { line, column });
                };
                let end = i + 2 + n + 2;
                for c in &mut out[i..end] {
                    if *c != b'\n' {
                        *c = b' ';
                    }
                }
                changed = true;
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if !changed {
        return Ok(Cow::Borrowed(text));
    }
    // Only ASCII bytes outside strings were replaced, by ASCII spaces, and
    // whole comments at that: the text is still UTF-8.
    Ok(Cow::Owned(String::from_utf8(out).expect("comments blanked on whole characters")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_become_spaces_and_strings_are_left_alone() {
        let text = "{\n  // the chains\n  \"a\": \"http://x/*y*/\", /* two\n lines é */ \"b\": 1 // end\n}";
        let blanked = blank(text).unwrap();
        assert_eq!(blanked.len(), text.len());
        assert_eq!(blanked.lines().count(), text.lines().count());
        let value: serde_json::Value = serde_json::from_str(&blanked).unwrap();
        assert_eq!(value, serde_json::json!({"a": "http://x/*y*/", "b": 1}));
    }

    #[test]
    fn escaped_quotes_do_not_end_a_string() {
        let text = r#"{"a": "say \"// not a comment\"", "b": "\\"} // one"#;
        let value: serde_json::Value = serde_json::from_str(&blank(text).unwrap()).unwrap();
        assert_eq!(value["a"], "say \"// not a comment\"");
        assert_eq!(value["b"], "\\");
    }

    #[test]
    fn text_without_comments_is_borrowed() {
        assert!(matches!(blank(r#"{"re": "a/b"}"#).unwrap(), Cow::Borrowed(_)));
        assert!(matches!(blank("{}").unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn later_mistakes_keep_their_place() {
        let text = "{ /* x */\n  \"a\": 1,\n  \"b\": ,\n}";
        let err = serde_json::from_str::<serde_json::Value>(&blank(text).unwrap()).unwrap_err();
        assert_eq!((err.line(), err.column()), (3, 8));
    }

    #[test]
    fn an_unterminated_block_says_where_it_starts() {
        assert_eq!(blank("{\n  \"a\": 1 /* open").unwrap_err(), Unterminated { line: 2, column: 10 });
    }
}
