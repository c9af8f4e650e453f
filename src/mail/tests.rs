//! Tests of the encodings (checked with decoders written here), of whole messages (checked
//! with Python's `email` package, an independent parser), and of delivery through fake
//! mailers: shell scripts in a temporary directory that save what they read, fail, or
//! hang. The scripts are run as `/bin/sh SCRIPT ARGS`: executing a file this process has
//! just written can fail with `ETXTBSY` while a parallel test forks (rust-lang/rust#114554).
//! Our command line still never goes through a shell: `sh` runs the script file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::message::{one_line, pick_boundary};
use super::sender::{first_lines, Mailer};
use super::*;
use crate::config::EmailSettings;

const NOW: u64 = 1_763_726_400_123_456; // 2025-11-21 12:00:00.123456 UTC
const GERMAN_JAPANESE: &str = "Prüfung — 東京";
/// The longest header line (RFC 5322 §2.1.1's "SHOULD").
const HEADER_LINE: usize = 78;

// ---------------------------------------------------------------- decoders for checking

/// Checks what a mailer and an mbox need of every body line: at most 76 characters,
/// ASCII only, no trailing white space, no line starting with a dot (`sendmail` without
/// `-i` stops at a lone one) or with `From ` (mbox writers turn it into `>From `).
fn check_body_line(line: &str) {
    assert!(line.len() <= 76, "line of {} characters: {line:?}", line.len());
    assert!(line.is_ascii(), "not ASCII: {line:?}");
    assert!(!line.ends_with([' ', '\t']), "trailing white space: {line:?}");
    assert!(!line.starts_with('.'), "a line starts with a dot: {line:?}");
    assert!(!line.starts_with("From "), "a line starts with From: {line:?}");
}

/// Decodes quoted-printable written with `\n` line breaks, checking each line.
fn qp_decode(encoded: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let lines: Vec<&str> = encoded.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        check_body_line(line);
        let (content, soft) = match line.strip_suffix('=') {
            Some(c) => (c, true),
            None => (*line, false),
        };
        let bytes = content.as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            if bytes[j] == b'=' {
                let hex = std::str::from_utf8(&bytes[j + 1..j + 3]).unwrap();
                assert_eq!(hex, hex.to_uppercase(), "lower-case hex in {line:?}");
                out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad escape in {line:?}")));
                j += 3;
            } else {
                out.push(bytes[j]);
                j += 1;
            }
        }
        if !soft && i + 1 < lines.len() {
            out.push(b'\n');
        }
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=' && c != b'\n') {
        acc = acc << 6 | ALPHABET.iter().position(|&a| a == c).expect("base64 character") as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The header value after `Name: `, unfolded, with its encoded-words decoded (RFC 2047:
/// white space between two encoded-words disappears). Checks line lengths: 998 is RFC
/// 5322's limit; the 78 it recommends mail-builder keeps where a line can break, but
/// writes a word of up to 77 characters after the header's name unbroken.
fn header_value(header: &str) -> String {
    for line in header.lines() {
        assert!(line.len() <= 998, "header line of {} characters: {line:?}", line.len());
    }
    let unfolded = header.replace('\n', "");
    let (_, value) = unfolded.split_once(": ").unwrap_or((&unfolded, ""));
    let mut out = Vec::new();
    let mut previous_encoded = false;
    for (i, word) in value.split(' ').enumerate() {
        // `=?CHARSET?Q|B?PAYLOAD?=`; the charset is utf-8, or us-ascii for ASCII text.
        let encoded = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?=")).and_then(|w| {
            let (charset, rest) = w.split_once('?')?;
            ["utf-8", "us-ascii"].contains(&charset.to_lowercase().as_str()).then_some(rest)
        });
        match encoded {
            Some(w) => {
                let (kind, payload) = w.split_once('?').unwrap();
                assert!(word.len() <= 75, "encoded-word of {} characters", word.len());
                let bytes = match kind {
                    "q" | "Q" => quoted_word(payload),
                    "b" | "B" => base64_decode(payload),
                    _ => panic!("unknown encoding in {word:?}"),
                };
                if i > 0 && !previous_encoded {
                    out.push(b' ');
                }
                out.extend(bytes);
            }
            None => {
                if i > 0 && !(previous_encoded && word.is_empty()) {
                    out.push(b' ');
                }
                out.extend(word.as_bytes());
            }
        }
        previous_encoded = encoded.is_some();
    }
    String::from_utf8(out).unwrap()
}

/// The payload of a "Q" encoded-word: `_` a space, `=XX` a byte (RFC 2047 §4.2).
fn quoted_word(payload: &str) -> Vec<u8> {
    let bytes = payload.as_bytes();
    let mut out = Vec::new();
    let mut j = 0;
    while j < bytes.len() {
        match bytes[j] {
            b'=' => {
                out.push(u8::from_str_radix(std::str::from_utf8(&bytes[j + 1..j + 3]).unwrap(), 16).unwrap());
                j += 3;
            }
            b'_' => {
                out.push(b' ');
                j += 1;
            }
            b => {
                out.push(b);
                j += 1;
            }
        }
    }
    out
}

/// Deterministic text mixing everything the encoders treat specially.
fn awkward_texts() -> Vec<String> {
    let pieces = [
        "a",
        "Z",
        " ",
        "\t",
        "=",
        ".",
        "F",
        "From ",
        "\n",
        "\r\n",
        "\r",
        "ü",
        "東",
        "😀",
        "\u{1}",
        "\u{7f}",
        "~",
        "_",
        "?",
        "=?",
        "x".repeat(70).leak(),
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut texts = vec![String::new(), " ".into(), "\n".into(), ".".into(), "a ".into()];
    for _ in 0..300 {
        let mut text = String::new();
        let len = (seed % 40) as usize;
        for _ in 0..len {
            // xorshift64
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        texts.push(text);
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    }
    texts
}

/// What the decoded body of `text` should be: CRLF line breaks become LF.
fn expected_body(text: &str) -> String {
    text.replace("\r\n", "\n")
}

fn settings(to: &[&str]) -> EmailSettings {
    EmailSettings {
        from: "Banwarden <banwarden@example.org>".into(),
        to: to.iter().map(|t| t.to_string()).collect(),
        subject: "unused here".into(),
        sendmail: vec!["/bin/false".into()],
    }
}

/// The headers of a message, each unfolded onto one line.
fn headers_of(message: &Message) -> Vec<String> {
    let text = std::str::from_utf8(message.as_bytes()).unwrap();
    let (headers, _) = text.split_once("\n\n").unwrap();
    headers.replace("\n ", " ").lines().map(str::to_owned).collect()
}

/// One header of a message as written (folded), by name.
fn raw_header(message: &Message, name: &str) -> String {
    let text = std::str::from_utf8(message.as_bytes()).unwrap();
    let (head, _) = text.split_once("\n\n").unwrap();
    let mut lines = head.split('\n').skip_while(|l| !l.starts_with(&format!("{name}:")));
    let first = lines.next().unwrap_or_else(|| panic!("no {name} in {head}"));
    let mut header = first.to_owned();
    for more in lines.take_while(|l| l.starts_with(' ')) {
        header.push('\n');
        header.push_str(more);
    }
    header
}

/// The body of a one-part message as written, and its transfer encoding.
fn encoded_body(message: &Message) -> (String, String) {
    let text = std::str::from_utf8(message.as_bytes()).unwrap().to_owned();
    let encoding = headers_of(message)
        .iter()
        .find_map(|h| h.strip_prefix("Content-Transfer-Encoding: ").map(str::to_owned))
        .expect("a transfer encoding");
    (encoding, text.split_once("\n\n").unwrap().1.to_owned())
}

/// The body of a text message, with `body` in it, checked line by line and decoded.
fn body_round_trip(body: &str) -> String {
    let message = Message::text(&settings(&["root"]), "s", body, NOW);
    assert!(message.as_bytes().is_ascii() && !message.as_bytes().contains(&b'\r'));
    let (encoding, encoded) = encoded_body(&message);
    let decoded = match encoding.as_str() {
        "quoted-printable" => qp_decode(&encoded),
        "base64" => {
            encoded.lines().for_each(check_body_line);
            base64_decode(&encoded)
        }
        other => panic!("transfer encoding {other}"),
    };
    String::from_utf8(decoded).unwrap()
}

/// The body of a quoted-printable text message as written, without the final soft
/// break that ends it with a line break.
fn qp_body(body: &str) -> String {
    let (encoding, encoded) = encoded_body(&Message::text(&settings(&["root"]), "s", body, NOW));
    assert_eq!(encoding, "quoted-printable", "{body:?}");
    encoded.strip_suffix("=\n").map(str::to_owned).unwrap_or(encoded)
}

// ---------------------------------------------------------------- bodies

#[test]
fn qp_leaves_plain_text_alone() {
    assert_eq!(
        qp_body("Ban from SSH for 192.0.2.7 (3 tries)\nsecond line"),
        "Ban from SSH for 192.0.2.7 (3 tries)\nsecond line"
    );
    assert_eq!(qp_body(""), "");
    assert_eq!(qp_body("\n"), "\n");
}

#[test]
fn qp_encodes_equals_controls_and_non_ascii() {
    assert_eq!(qp_body("a=b"), "a=3Db");
    assert_eq!(qp_body("bell\u{7}del\u{7f}"), "bell=07del=7F");
    assert_eq!(qp_body("ü"), "=C3=BC");
    assert_eq!(qp_body("東京"), "=E6=9D=B1=E4=BA=AC");
    assert_eq!(qp_body("lone\rcr"), "lone=0Dcr");
    assert_eq!(qp_body("crlf\r\nbecomes lf"), "crlf\nbecomes lf");
    assert_eq!(qp_body("nul\0byte"), "nul=00byte");
}

#[test]
fn qp_encodes_white_space_only_at_line_ends() {
    assert_eq!(qp_body("a b\tc"), "a b\tc");
    assert_eq!(qp_body("trailing \nand tab\t\n  "), "trailing=20\nand tab=09\n =20");
    assert_eq!(qp_body("crlf \r\n"), "crlf=20\n");
}

#[test]
fn line_starts_a_mailer_or_mbox_would_mangle_go_as_base64() {
    for text in [".\n..\na.b", "From me\nFrom\nFromage\nI'm From x", "ok\n.", &format!("{}. more", "x".repeat(75))] {
        let (encoding, _) = encoded_body(&Message::text(&settings(&["root"]), "s", text, NOW));
        assert_eq!(encoding, "base64", "{text:?}");
        assert_eq!(body_round_trip(text), text);
    }
    // Inside a line they are only text.
    assert_eq!(qp_body("a.b\nI'm From x\nFromage"), "a.b\nI'm From x\nFromage");
}

#[test]
fn qp_soft_breaks_long_lines_at_76() {
    // encodify keeps the 76th column of a text's last line for a soft break too.
    let fits = "x".repeat(75);
    assert_eq!(qp_body(&fits), fits, "a line of 75 fits");
    assert_eq!(qp_body(&"x".repeat(76)), format!("{}=\nx", "x".repeat(75)));
    let one_more = "x".repeat(77);
    assert_eq!(qp_body(&one_more), format!("{}=\nxx", "x".repeat(75)));
    let long = "0123456789".repeat(30);
    assert!(qp_body(&long).lines().all(|l| l.len() <= 76));
    assert_eq!(body_round_trip(&long), long);
    // An escape is never cut: `=3D` would fall on columns 75-77 here.
    let encoded = qp_body(&format!("{}={}", "x".repeat(74), "y".repeat(10)));
    assert_eq!(encoded, format!("{}=\n=3D{}", "x".repeat(74), "y".repeat(10)));
    // A trailing space that lands on the break is still encoded where the line ends.
    let encoded = qp_body(&format!("{} ", "x".repeat(75)));
    assert_eq!(encoded, format!("{}=\n=20", "x".repeat(75)));
}

#[test]
fn qp_breaks_long_lines_of_non_ascii_and_decodes_back() {
    for text in ["東".repeat(60), format!("a{}", "ü".repeat(80)), "😀".repeat(40), format!("{}東", "x".repeat(70))]
    {
        assert!(qp_body(&text).lines().count() > 1);
        assert_eq!(body_round_trip(&text), text);
    }
}

#[test]
fn bodies_round_trip_awkward_texts() {
    for text in awkward_texts() {
        assert_eq!(body_round_trip(&text), expected_body(&text), "{text:?}");
    }
}

// ---------------------------------------------------------------- headers

fn subject(text: &str) -> String {
    raw_header(&Message::text(&settings(&["root"]), text, "b", NOW), "Subject")
}

#[test]
fn plain_subjects_stay_readable() {
    assert_eq!(subject("Ban from SSH"), "Subject: Ban from SSH");
    assert_eq!(header_value(&subject("")), "");
    // Longer than a line: encoded-words, which decode to the text.
    let long = "word ".repeat(40);
    assert!(subject(&long).lines().count() > 2, "{}", subject(&long));
    assert_eq!(header_value(&subject(&long)), long.trim());
}

#[test]
fn non_ascii_subjects_become_encoded_words() {
    assert!(subject("Prüfung").starts_with("Subject: =?utf-8?"), "{}", subject("Prüfung"));
    for text in [
        "Prüfung".to_owned(),
        "東京の報告".to_owned(),
        GERMAN_JAPANESE.to_owned(),
        "東京".repeat(50),
        format!("Prüfung {}", "x_y?z=w ".repeat(20)),
        "😀".repeat(30),
    ] {
        assert_eq!(header_value(&subject(&text)), text.trim(), "{}", subject(&text));
    }
}

#[test]
fn awkward_subjects_decode_to_their_one_line_form() {
    // A word too long for any line.
    let word = "x".repeat(100);
    assert!(subject(&word).lines().count() > 1, "{}", subject(&word));
    assert_eq!(header_value(&subject(&word)), word);
    // Text that only looks like an encoded-word (`=?` and `?=` apart) stays text.
    for text in awkward_texts().into_iter().filter(|t| !t.contains("=?")) {
        assert_eq!(header_value(&subject(&text)), one_line(&text), "{text:?}");
    }
}

#[test]
fn header_values_cannot_add_headers() {
    assert_eq!(one_line("hi\r\nBcc: victim@example.org"), "hi Bcc: victim@example.org");
    assert_eq!(one_line("\n a \r\r\n\tb\u{0}c\n"), "a  b c");
    assert_eq!(subject("hi\r\nBcc: victim@example.org"), "Subject: hi Bcc: victim@example.org");
    let settings = EmailSettings {
        from: "me@example.org\r\nX-Injected: from".into(),
        to: vec!["a@example.org\nX-Injected: to".into(), "Name\r\nX-Injected: name <b@example.org>".into()],
        ..EmailSettings::default()
    };
    let message = Message::text(&settings, "s\nX-Injected: subject\r\n\r\nbody?", "body", NOW);
    let text = String::from_utf8(message.into_bytes()).unwrap();
    let (headers, _) = text.split_once("\n\n").unwrap();
    for line in headers.lines() {
        assert!(!line.starts_with("X-Injected"), "injected header: {line:?}");
    }
}

#[test]
fn addresses_keep_ascii_and_encode_display_names() {
    let to = |addresses: &[&str]| header_value(&raw_header(&Message::text(&settings(addresses), "s", "b", NOW), "To"));
    assert_eq!(to(&["root@example.org"]), "<root@example.org>");
    assert_eq!(to(&["Banwarden <bw@example.org>"]), "\"Banwarden\" <bw@example.org>");
    assert_eq!(to(&["Prüfung <root@example.org>"]), "Prüfung <root@example.org>");
    assert_eq!(to(&["\"Prüfung Team\" <root@example.org>"]), "Prüfung Team <root@example.org>");
    assert_eq!(to(&["<root@example.org>"]), "<root@example.org>");
    let written = raw_header(&Message::text(&settings(&["Prüfung <root@example.org>"]), "s", "b", NOW), "To");
    assert!(written.is_ascii() && written.contains("=?utf-8?"), "{written}");
}

#[test]
fn long_recipient_lists_fold_between_addresses() {
    let many: Vec<String> = (0..12).map(|i| format!("user{i}@example.org")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let folded = raw_header(&Message::text(&settings(&refs), "s", "b", NOW), "To");
    assert!(folded.lines().count() > 1);
    assert!(folded.lines().all(|l| l.len() <= HEADER_LINE && !l.ends_with(' ')), "{folded}");
    let unfolded = folded.replace('\n', "");
    for address in &many {
        assert!(unfolded.contains(&format!("<{address}>")), "{unfolded}");
    }
}

// ---------------------------------------------------------------- messages

#[test]
fn text_message_has_the_headers_in_seven_bit_ascii() {
    let message =
        Message::text(&settings(&["root@example.org", "Prüfung <p@example.org>"]), GERMAN_JAPANESE, "body", NOW);
    assert!(message.as_bytes().is_ascii());
    assert!(!message.as_bytes().contains(&b'\r'), "LF line ends only");
    let text = std::str::from_utf8(message.as_bytes()).unwrap();
    let (head, body) = text.split_once("\n\n").unwrap();
    assert!(head.lines().all(|l| l.len() <= HEADER_LINE));
    assert_eq!(body, "body=\n");
    let headers = headers_of(&message);
    let names: Vec<&str> = headers.iter().map(|h| h.split_once(':').unwrap().0).collect();
    assert_eq!(
        names,
        [
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "Auto-Submitted",
            "MIME-Version",
            "Content-Type",
            "Content-Transfer-Encoding"
        ]
    );
    assert_eq!(header_value(&raw_header(&message, "To")), "<root@example.org>, Prüfung <p@example.org>");
    assert_eq!(header_value(&raw_header(&message, "Subject")), GERMAN_JAPANESE);
    assert_eq!(headers[4], format!("Message-ID: {}", message.id()));
    assert_eq!(headers[5], "Auto-Submitted: auto-generated");
    assert_eq!(headers[7], "Content-Type: text/plain; charset=\"utf-8\"");
    assert_eq!(headers[8], "Content-Transfer-Encoding: quoted-printable");
}

#[test]
fn bodies_end_with_a_line_break_without_gaining_one() {
    let s = settings(&["root"]);
    let body = |m: Message| String::from_utf8(m.into_bytes()).unwrap().split_once("\n\n").unwrap().1.to_owned();
    assert_eq!(body(Message::text(&s, "s", "no newline", NOW)), "no newline=\n");
    assert_eq!(body(Message::text(&s, "s", "newline\n", NOW)), "newline\n");
    assert_eq!(body(Message::text(&s, "s", "", NOW)), "");
}

#[test]
fn no_recipient_no_to_header() {
    let message = Message::text(&settings(&[]), "s", "b", NOW);
    assert!(!headers_of(&message).iter().any(|h| h.starts_with("To:")));
}

#[test]
fn message_ids_are_unique_and_well_formed() {
    let s = settings(&["root"]);
    let ids: Vec<String> = (0..100).map(|_| Message::text(&s, "s", "b", NOW).id().to_owned()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    for id in &ids {
        let inner = id.strip_prefix('<').and_then(|i| i.strip_suffix('>')).unwrap();
        let (left, right) = inner.split_once('@').unwrap();
        assert!(left.starts_with(&NOW.to_string()), "{id}");
        assert!(!right.is_empty() && right.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'), "{id}");
    }
}

#[test]
fn boundaries_avoid_the_bodies() {
    let candidates = |salt: u64| format!("=_candidate{salt}");
    assert_eq!(pick_boundary(&["a", "b"], candidates), "=_candidate0");
    assert_eq!(pick_boundary(&["has =_candidate0 and", "=_candidate1"], candidates), "=_candidate2");
    let message = Message::alternative(&settings(&["root"]), "s", "text", "<p>html</p>", NOW);
    let text = std::str::from_utf8(message.as_bytes()).unwrap();
    let boundary = text.split_once("boundary=\"").unwrap().1.split_once('"').unwrap().0;
    assert!(boundary.starts_with("=_") && boundary.len() <= 70, "{boundary}");
    assert_eq!(text.matches(&format!("\n--{boundary}\n")).count(), 2);
    assert!(text.ends_with(&format!("\n--{boundary}--\n")));
}

// ---------------------------------------------------------------- Python's view

const PARSE: &str = r#"
import email, email.policy, email.utils, json, sys

def view(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        parts.append({
            "type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "cte": part["content-transfer-encoding"],
            "body": part.get_payload(decode=True).decode("utf-8"),
            "defects": [type(d).__name__ for d in part.defects],
        })
    defects = [type(d).__name__ for d in msg.defects]
    defects += [type(d).__name__ for _, v in msg.items() for d in getattr(v, "defects", ())]
    return {
        "headers": [[k, str(v)] for k, v in msg.items()],
        "type": msg.get_content_type(),
        "parts": parts,
        "defects": defects,
        "date": email.utils.parsedate_to_datetime(msg["date"]).timestamp(),
        "to": [a.addr_spec for a in msg["to"].addresses] if msg["to"] else [],
    }

print(json.dumps([view(path) for path in sys.argv[1:]]))
"#;

/// The messages in `paths` as Python's `email` package reads them (one Python for all:
/// starting it takes a good part of a second on a busy machine).
fn python_views(paths: &[PathBuf]) -> Vec<Value> {
    let out = Command::new("python3").args(["-c", PARSE]).args(paths).output().expect("running python3");
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    match serde_json::from_slice(&out.stdout).unwrap() {
        Value::Array(views) => views,
        other => panic!("not a list: {other}"),
    }
}

fn python_view(path: &Path) -> Value {
    python_views(&[path.to_owned()]).remove(0)
}

fn header<'a>(view: &'a Value, name: &str) -> Vec<&'a str> {
    view["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap())
        .collect()
}

fn assert_no_defects(view: &Value) {
    assert_eq!(view["defects"], serde_json::json!([]), "{view:#}");
    for part in view["parts"].as_array().unwrap() {
        assert_eq!(part["defects"], serde_json::json!([]), "{view:#}");
    }
}

const BODY: &str = "Prüfung — 東京\n\tindented\ntrailing space \nwith = sign\n.\nFrom here on\r\nemoji 😀 and a very long line that goes on and on, Prüfung — 東京 Prüfung — 東京 Prüfung — 東京 Prüfung\nno final newline ";

// ---------------------------------------------------------------- fake mailers

struct FakeMailer {
    dir: tempfile::TempDir,
}

/// Saves each message as `N.eml` (N counting from 0) and its arguments as `N.args`, one a
/// line; a message containing `FAIL` exits 1 with a complaint on stderr, one containing
/// `HANG` sleeps, one containing `MUTE` sleeps without reading its input.
const FAKE_SENDMAIL: &str = r#"
dir=$1
shift
case "$*" in *MUTE*) exec sleep 30 ;; esac
n=$(ls "$dir" | grep -c '\.eml$')
cat > "$dir/$n.tmp"
printf '%s\n' "$@" > "$dir/$n.args"
if grep -q FAIL "$dir/$n.tmp"; then
  rm "$dir/$n.tmp"
  echo "sendmail: fatal: no such user" >&2
  echo "second line" >&2
  exit 1
fi
if grep -q HANG "$dir/$n.tmp"; then
  rm "$dir/$n.tmp"
  : > "$dir/hanging"
  exec sleep 30
fi
mv "$dir/$n.tmp" "$dir/$n.eml"
"#;

impl FakeMailer {
    fn new() -> FakeMailer {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        fs::write(dir.path().join("sendmail.sh"), FAKE_SENDMAIL).unwrap();
        FakeMailer { dir }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// Settings whose mailer is the fake, with `args` after the output directory.
    fn settings(&self, args: &[&str]) -> EmailSettings {
        let script = self.dir.path().join("sendmail.sh");
        let mut sendmail = vec!["/bin/sh".to_owned(), script.display().to_string(), self.out().display().to_string()];
        sendmail.extend(args.iter().map(|a| a.to_string()));
        EmailSettings {
            from: "Banwarden <banwarden@example.org>".into(),
            to: vec!["root@example.org".into(), "Prüfung Team <team@example.org>".into()],
            subject: "banwarden notification".into(),
            sendmail,
        }
    }

    fn saved(&self) -> Vec<PathBuf> {
        let mut saved: Vec<PathBuf> =
            (0..).map(|n| self.out().join(format!("{n}.eml"))).take_while(|p| p.exists()).collect();
        saved.sort();
        saved
    }

    fn wait_for(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.out().join(name).exists() {
            assert!(Instant::now() < deadline, "the fake mailer never made {name}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Collects what a [`Mailer`] reports.
fn failures() -> (Arc<Mutex<Vec<String>>>, impl Fn(String) + Send + 'static) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    (seen, move |failure| sink.lock().unwrap().push(failure))
}

const TIMEOUT: Duration = Duration::from_secs(1);

#[test]
fn text_mail_round_trip_through_a_mailer() {
    let fake = FakeMailer::new();
    // Arguments reach the mailer as they are: no shell parses our command line.
    let tricky = "a b; echo $(id) `id` \"q\" 'q' *";
    let settings = fake.settings(&["-t", tricky]);
    let message = Message::text(&settings, GERMAN_JAPANESE, BODY, NOW);
    let id = message.id().to_owned();
    send_now(&settings, message, TIMEOUT).unwrap();
    let saved = fake.saved();
    assert_eq!(saved.len(), 1);
    assert_eq!(fs::read_to_string(fake.out().join("0.args")).unwrap(), format!("-t\n{tricky}\n"));
    let view = python_view(&saved[0]);
    assert_no_defects(&view);
    assert_eq!(header(&view, "subject"), [GERMAN_JAPANESE]);
    assert_eq!(header(&view, "from"), ["Banwarden <banwarden@example.org>"]);
    assert_eq!(header(&view, "to"), ["root@example.org, Prüfung Team <team@example.org>"]);
    assert_eq!(view["to"], serde_json::json!(["root@example.org", "team@example.org"]));
    assert_eq!(header(&view, "message-id"), [id.as_str()]);
    assert_eq!(header(&view, "mime-version"), ["1.0"]);
    assert_eq!(view["date"].as_f64().unwrap(), (NOW / 1_000_000) as f64);
    assert_eq!(view["type"], "text/plain");
    let parts = view["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["charset"], "utf-8");
    // BODY has a line "." and one starting "From ": base64 keeps them whole.
    assert_eq!(parts[0]["cte"], "base64");
    assert_eq!(parts[0]["body"], expected_body(BODY));
}

#[test]
fn python_agrees_on_awkward_subjects_and_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(&["root@example.org"]);
    let texts: Vec<String> = awkward_texts().into_iter().step_by(3).collect();
    let paths: Vec<PathBuf> = (0..texts.len()).map(|i| dir.path().join(format!("{i}.eml"))).collect();
    for (text, path) in texts.iter().zip(&paths) {
        fs::write(path, Message::text(&settings, text, text, NOW).into_bytes()).unwrap();
    }
    for (text, view) in texts.iter().zip(python_views(&paths)) {
        assert_no_defects(&view);
        assert_eq!(header(&view, "subject"), [one_line(text).as_str()], "{text:?}");
        assert_eq!(view["parts"][0]["body"], expected_body(text), "{text:?}");
    }
}

#[test]
fn alternative_mail_round_trip_through_the_worker() {
    let fake = FakeMailer::new();
    let settings = fake.settings(&["-t"]);
    let html = format!("<html><body><p style=\"color: red\">{GERMAN_JAPANESE}</p>\n<p>a = b</p></body></html>");
    let text = format!("{BODY}\n");
    let (seen, on_failure) = failures();
    let mailer = Mailer::start(settings.clone(), TIMEOUT, on_failure);
    mailer.send(Message::alternative(&settings, "Daily report: Prüfung", &text, &html, NOW));
    mailer.shutdown(Duration::from_secs(5));
    assert_eq!(*seen.lock().unwrap(), Vec::<String>::new());
    let saved = fake.saved();
    assert_eq!(saved.len(), 1);
    let view = python_view(&saved[0]);
    assert_no_defects(&view);
    assert_eq!(view["type"], "multipart/alternative");
    assert_eq!(header(&view, "subject"), ["Daily report: Prüfung"]);
    let parts = view["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!((&parts[0]["type"], &parts[1]["type"]), (&"text/plain".into(), &"text/html".into()));
    assert_eq!(parts[0]["body"], expected_body(&text), "a final newline is kept");
    assert_eq!(parts[1]["body"], html, "no final newline is added");
    assert!(parts.iter().all(|p| p["charset"] == "utf-8"));
    // The text has BODY's "." and "From " lines (base64); the HTML has none.
    assert_eq!((&parts[0]["cte"], &parts[1]["cte"]), (&"base64".into(), &"quoted-printable".into()));
}

#[test]
fn a_failing_mailer_is_reported_with_its_stderr() {
    let fake = FakeMailer::new();
    let settings = fake.settings(&["-t"]);
    let err = send_now(&settings, Message::text(&settings, "s", "FAIL please", NOW), TIMEOUT).unwrap_err();
    assert!(matches!(err, MailError::Failed { .. }), "{err:?}");
    assert_eq!(err.to_string(), "mailer \"/bin/sh\" exited with status 1: sendmail: fatal: no such user / second line");
    assert!(fake.saved().is_empty());
}

#[test]
fn a_missing_mailer_is_reported_with_its_path() {
    let mut settings = settings(&["root"]);
    settings.sendmail = vec!["/nonexistent/banwarden-test/sendmail".into(), "-t".into()];
    let err = send_now(&settings, b"x".to_vec(), TIMEOUT).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("cannot run mailer \"/nonexistent/banwarden-test/sendmail\": "), "{text}");
    assert!(text.contains("No such file or directory"), "{text}");
    assert!(!text.contains('\n'));

    let (seen, on_failure) = failures();
    let mailer = Mailer::start(settings, TIMEOUT, on_failure);
    mailer.send(b"x".to_vec());
    mailer.shutdown(Duration::from_secs(5));
    assert_eq!(*seen.lock().unwrap(), [format!("mail not sent: {text}")]);

    settings = self::settings(&["root"]);
    settings.sendmail.clear();
    assert_eq!(
        send_now(&settings, b"x".to_vec(), TIMEOUT).unwrap_err().to_string(),
        "the email \"sendmail\" command is empty"
    );
}

#[test]
fn a_hanging_mailer_is_killed_and_the_worker_goes_on() {
    let fake = FakeMailer::new();
    let settings = fake.settings(&["-t"]);
    let (seen, on_failure) = failures();
    let started = Instant::now();
    let mailer = Mailer::start(settings.clone(), TIMEOUT, on_failure);
    mailer.send(Message::text(&settings, "first", "HANG here", NOW));
    mailer.send(Message::text(&settings, "second", "fine", NOW));
    mailer.shutdown(Duration::from_secs(10));
    let elapsed = started.elapsed();
    assert!(elapsed >= TIMEOUT && elapsed < TIMEOUT + Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(
        *seen.lock().unwrap(),
        ["mail not sent: mailer \"/bin/sh\" did not finish within 1s, killed it (nothing on stderr)"]
    );
    let saved = fake.saved();
    assert_eq!(saved.len(), 1);
    assert_eq!(header(&python_view(&saved[0]), "subject"), ["second"]);
}

#[test]
fn a_mailer_that_does_not_read_cannot_block_us() {
    let fake = FakeMailer::new();
    let settings = fake.settings(&["MUTE"]);
    // Far more than a pipe holds (64 KiB on Linux): the writer blocks until the kill.
    let message = Message::text(&settings, "s", &"x".repeat(1 << 20), NOW);
    let started = Instant::now();
    let err = send_now(&settings, message, TIMEOUT).unwrap_err();
    assert!(matches!(err, MailError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < TIMEOUT + Duration::from_secs(1), "{:?}", started.elapsed());
}

#[test]
fn a_mailer_leaving_a_process_behind_cannot_block_us() {
    // `sh` runs `sleep` as a child of its own, which inherits the pipes and outlives the
    // killed `sh` (for 2 s: it ends by itself).
    let started = Instant::now();
    let settings =
        EmailSettings { sendmail: vec!["/bin/sh".into(), "-c".into(), "sleep 2".into()], ..settings(&["root"]) };
    let err = send_now(&settings, b"x".to_vec(), Duration::from_millis(300)).unwrap_err();
    assert!(matches!(err, MailError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_millis(1200), "{:?}", started.elapsed());
}

#[test]
fn a_mailer_that_exits_without_reading_is_reported() {
    let settings =
        EmailSettings { sendmail: vec!["/bin/sh".into(), "-c".into(), "exit 0".into()], ..settings(&["root"]) };
    // More than a pipe holds, so the write cannot complete before `sh` exits.
    let err = send_now(&settings, vec![b'x'; 1 << 20], TIMEOUT).unwrap_err();
    assert!(matches!(err, MailError::Unread { .. }), "{err}");
    assert!(err.to_string().starts_with("mailer \"/bin/sh\" exited without reading the whole message: "), "{err}");
}

/// Runs `sigpipe_in_child` in a child process in which `SIGPIPE` is back to its default
/// (killing): the disposition is process-wide, and tests run in parallel threads.
#[test]
fn a_mailer_that_exits_without_reading_cannot_kill_us() {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "mail::tests::sigpipe_in_child", "--nocapture"])
        .env("BW_MAIL_SIGPIPE_CHILD", "1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&child.stdout);
    // "1 passed" also proves the filter found the test.
    assert!(child.status.success() && report.contains("1 passed"), "{:?}\n{report}", child.status);
}

#[test]
fn sigpipe_in_child() {
    if std::env::var_os("BW_MAIL_SIGPIPE_CHILD").is_none() {
        return;
    }
    // SAFETY: restores the default disposition; no handler is involved.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let settings =
        EmailSettings { sendmail: vec!["/bin/sh".into(), "-c".into(), "exit 0".into()], ..settings(&["root"]) };
    let err = send_now(&settings, vec![b'x'; 1 << 20], TIMEOUT).unwrap_err();
    assert!(matches!(err, MailError::Unread { .. }), "{err}");
}

#[test]
fn a_full_queue_drops_the_newest_and_shutdown_gives_up() {
    let fake = FakeMailer::new();
    let settings = fake.settings(&["-t"]);
    let (seen, on_failure) = failures();
    let mailer = Mailer::with_capacity(settings.clone(), Duration::from_secs(20), 1, on_failure);
    mailer.send(Message::text(&settings, "hangs", "HANG", NOW));
    fake.wait_for("hanging");
    mailer.send(Message::text(&settings, "queued", "fine", NOW));
    mailer.send(Message::text(&settings, "dropped", "fine", NOW));
    mailer.send(Message::text(&settings, "dropped too", "fine", NOW));
    let started = Instant::now();
    mailer.shutdown(Duration::from_millis(200));
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "mail not sent: mailer \"/bin/sh\" killed: banwarden is stopping",
            "mail not sent: 2 message(s) dropped, the queue of 1 was full",
            "mail not sent: 1 queued message(s) dropped at shutdown",
        ]
    );
    assert!(fake.saved().is_empty());
}

#[test]
fn shutdown_delivers_what_is_queued_in_order() {
    let fake = FakeMailer::new();
    let settings = fake.settings(&["-t"]);
    let (seen, on_failure) = failures();
    let mailer = Mailer::start(settings.clone(), TIMEOUT, on_failure);
    for i in 0..3 {
        mailer.send(Message::text(&settings, &format!("mail {i}"), "body", NOW));
    }
    mailer.shutdown(Duration::from_secs(10));
    assert!(seen.lock().unwrap().is_empty(), "{:?}", seen.lock().unwrap());
    let subjects: Vec<String> =
        python_views(&fake.saved()).iter().map(|v| header(v, "subject")[0].to_owned()).collect();
    assert_eq!(subjects, ["mail 0", "mail 1", "mail 2"]);
}

#[test]
fn stderr_is_summed_up_on_one_line() {
    assert_eq!(first_lines(b""), "");
    assert_eq!(first_lines(b"\n  one \n\ntwo\x1b[31m\nthree\nfour\n"), "one / two [31m / three");
    let long = first_lines("é".repeat(1000).as_bytes());
    assert_eq!(long.chars().count(), 303);
    assert!(long.ends_with("..."));
    assert_eq!(first_lines(b"bad \xff byte"), "bad \u{fffd} byte");
}
