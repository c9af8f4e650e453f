//! The byte-level encodings of a mail: quoted-printable bodies (RFC 2045 §6.7),
//! encoded-words in headers (RFC 2047) and header folding (RFC 5322 §2.2.3).
//!
//! Everything here is a pure function of its input. Line breaks are `\n` only (see
//! [`super`] for why). Every encoded line stays within the limits it promises:
//! 76 characters for a quoted-printable line, 78 for a header line whenever the value
//! can be broken at all (a 998-character address cannot).

/// The longest encoded body line, soft-break `=` included (RFC 2045 §6.7 rule 5).
const QP_LINE: usize = 76;
/// The longest header line we aim for (RFC 5322 §2.1.1's "SHOULD").
pub(super) const HEADER_LINE: usize = 78;
/// The longest encoded-word we write: `Subject: ` (9) plus one word is then at most 75,
/// and a continuation line (one space plus a word) at most 67. RFC 2047 §2 allows 75.
const WORD_MAX: usize = 66;
/// `=?utf-8?q?` and `?=`.
const WORD_FRAME: usize = "=?utf-8?q?".len() + "?=".len();

/// Encodes `text` as quoted-printable, lines separated by `\n`.
///
/// - `\r\n` and `\n` are line breaks (written `\n`); a lone `\r` is data (`=0D`).
/// - Space and tab are literal, except at the end of a line, where a mail relay may strip
///   them: there they become `=20` / `=09`.
/// - A `.` starting a line becomes `=2E`: `sendmail` without `-i` (the default command is
///   `sendmail -t`) ends the message at a line holding a single dot. `From ` starting a line
///   becomes `=46rom `, which mbox writers would otherwise turn into `>From `.
/// - The bytes of one character stay on one line, so every line is valid UTF-8 on its own
///   (decoders would cope with a split, but people reading the raw mail would not).
///
/// The result carries no final line break beyond those of `text`.
pub(super) fn quoted_printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8 + 8);
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        match lines.peek() {
            // A CR that ends the text is no line break: it is data like any other.
            Some(_) => qp_line(line.strip_suffix('\r').unwrap_or(line), &mut out),
            None => qp_line(line, &mut out),
        }
        if lines.peek().is_some() {
            out.push('\n');
        }
    }
    out
}

/// One line of text (no line break in it), soft-broken as needed.
fn qp_line(line: &str, out: &mut String) {
    let mut column = 0;
    let mut token = String::with_capacity(12);
    for (i, c) in line.char_indices() {
        let last = i + c.len_utf8() == line.len();
        qp_token(c, column == 0, last, &line[i..], &mut token);
        // The last token of a line may use the 76th column; any other must leave room for
        // the `=` of a soft break.
        let room = if last { QP_LINE } else { QP_LINE - 1 };
        if column + token.len() > room {
            out.push_str("=\n");
            column = 0;
            // The token may depend on starting a line (`.`, `From `).
            qp_token(c, true, last, &line[i..], &mut token);
        }
        out.push_str(&token);
        column += token.len();
    }
}

/// The encoding of character `c`, the first of `rest`, into `token`.
fn qp_token(c: char, line_start: bool, line_end: bool, rest: &str, token: &mut String) {
    token.clear();
    let literal = match c {
        ' ' | '\t' => !line_end,
        '.' => !line_start,
        'F' => !(line_start && rest.starts_with("From ")),
        '=' => false,
        '!'..='~' => true,
        _ => false,
    };
    if literal {
        token.push(c);
    } else {
        let mut utf8 = [0; 4];
        for byte in c.encode_utf8(&mut utf8).bytes() {
            push_hex(token, byte);
        }
    }
}

/// `=XX`, upper-case hex as RFC 2045 §6.7 requires of encoders.
fn push_hex(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('=');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 15)]));
}

/// A header value as one line of text: each run of control characters (CR and LF above
/// all, which would start a new header: header injection) becomes one space, and the
/// surrounding white space goes.
pub(super) fn one_line(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_run = false;
    for c in value.chars() {
        if c.is_control() {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out.trim().to_owned()
}

/// Whether `text` can be written as it is in a header: printable ASCII, and nothing a
/// reader would take for an encoded-word.
fn plain(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b)) && !text.contains("=?")
}

/// `text` (one line, see [`one_line`]) as encoded-words of at most [`WORD_MAX`]
/// characters, separated by spaces (which decoders drop between encoded-words, RFC 2047
/// §6.2). `q` or `b`, whichever is shorter: `q` keeps mostly-ASCII text readable.
/// A word never ends inside a character (RFC 2047 §5).
fn encoded_words(text: &str) -> String {
    let q = words(text, 'q');
    let b = words(text, 'b');
    if q.len() <= b.len() {
        q
    } else {
        b
    }
}

fn words(text: &str, encoding: char) -> String {
    let room = WORD_MAX - WORD_FRAME;
    let mut out = String::new();
    let mut payload = String::new();
    let mut pending: Vec<u8> = Vec::new(); // `b`: the bytes of the current word
    let mut token = String::with_capacity(12);
    let flush = |out: &mut String, payload: &mut String, pending: &mut Vec<u8>| {
        if encoding == 'b' {
            base64(pending, payload);
            pending.clear();
        }
        if payload.is_empty() {
            return;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("=?utf-8?");
        out.push(encoding);
        out.push('?');
        out.push_str(payload);
        out.push_str("?=");
        payload.clear();
    };
    for c in text.chars() {
        let mut utf8 = [0; 4];
        let bytes = c.encode_utf8(&mut utf8).as_bytes();
        if encoding == 'q' {
            token.clear();
            match c {
                // The characters RFC 2047 §5 (3) allows in a phrase, so that the same
                // encoding serves addresses; `_` stands for a space.
                'A'..='Z' | 'a'..='z' | '0'..='9' | '!' | '*' | '+' | '-' | '/' => token.push(c),
                ' ' => token.push('_'),
                _ => bytes.iter().for_each(|&byte| push_hex(&mut token, byte)),
            }
            if payload.len() + token.len() > room {
                flush(&mut out, &mut payload, &mut pending);
            }
            payload.push_str(&token);
        } else {
            if (pending.len() + bytes.len()).div_ceil(3) * 4 > room {
                flush(&mut out, &mut payload, &mut pending);
            }
            pending.extend_from_slice(bytes);
        }
    }
    flush(&mut out, &mut payload, &mut pending);
    out
}

/// Standard base64 with padding (RFC 4648 §4), appended to `out`.
fn base64(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
}

/// The `Subject` header line(s), without the final line break: the text as it is when it
/// is plain ASCII that folds within [`HEADER_LINE`], otherwise as encoded-words.
pub(super) fn subject(text: &str) -> String {
    let text = one_line(text);
    if plain(&text) {
        let folded = fold("Subject", &text);
        if folded.lines().all(|l| l.len() <= HEADER_LINE) {
            return folded;
        }
    }
    fold("Subject", &encoded_words(&text))
}

/// One address as written in `From` or `To`: control characters made spaces, and a
/// display name that is not ASCII (`Prüfung <root@example.org>`, quoted or not) turned
/// into encoded-words. The address itself is left alone: an address that is not ASCII can
/// only travel as UTF-8 (RFC 6532), and the mailer decides whether it can.
pub(super) fn address(value: &str) -> String {
    let value = one_line(value);
    let split = value.strip_suffix('>').and_then(|v| v.rfind('<'));
    let Some(open) = split else { return value };
    let name = value[..open].trim();
    if plain(name) {
        return value;
    }
    let name = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(name);
    format!("{} {}", encoded_words(name), &value[open..])
}

/// `Name: value`, broken before spaces (RFC 5322 §2.2.3 folding: unfolding removes only
/// the line break) so that lines stay within [`HEADER_LINE`] where possible. Breaks are
/// taken only at a single space between two visible characters, so that no line ends in
/// white space or is white space only.
pub(super) fn fold(name: &str, value: &str) -> String {
    let mut out = String::with_capacity(name.len() + value.len() + 8);
    out.push_str(name);
    out.push(':');
    if value.is_empty() {
        return out;
    }
    out.push(' ');
    let mut line_start = 0;
    // Pieces: the value cut before each foldable space; each piece after the first
    // starts with its space.
    let bytes = value.as_bytes();
    let mut piece_start = 0;
    let mut cuts: Vec<usize> = (1..bytes.len().saturating_sub(1))
        .filter(|&i| bytes[i] == b' ' && bytes[i - 1] != b' ' && bytes[i + 1] != b' ')
        .collect();
    cuts.push(value.len());
    for cut in cuts {
        let piece = &value[piece_start..cut];
        let line_len = out.len() - line_start;
        if piece_start > 0 && line_len + piece.len() > HEADER_LINE {
            out.push('\n');
            line_start = out.len();
        }
        out.push_str(piece);
        piece_start = cut;
    }
    out
}
