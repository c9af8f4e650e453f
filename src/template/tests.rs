//! Template tests; expectations checked against Python 3.11's str.format.

use super::*;

/// Renders `template` with `values` set; `count` (like `PRIORITY`) is numeric.
fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut fields = FieldTable::new();
    let count = fields.intern("count");
    fields.mark_numeric(count);
    let parsed = Template::parse(template, &mut fields).unwrap_or_else(|e| panic!("{template}: {e}"));
    let ids: Vec<_> = values.iter().map(|&(name, _)| fields.intern(name)).collect();
    let mut entry = Entry::new(&fields);
    for (id, &(_, value)) in ids.into_iter().zip(values) {
        entry.set(id, value);
    }
    parsed.render_to_string(&entry, &fields)
}

/// Checks `(template, value of x and count, expected)` rows.
fn check(rows: &[(&str, &str, &str)]) {
    for &(template, value, expected) in rows {
        let got = render(template, &[("x", value), ("count", value)]);
        assert_eq!(got, expected, "{template} with {value:?}");
    }
}

fn error(template: &str) -> String {
    Template::parse(template, &mut FieldTable::new()).unwrap_err().to_string()
}

#[test]
fn literals_and_fields() {
    assert_eq!(render("", &[]), "");
    assert_eq!(render("{{literal}}", &[]), "{literal}");
    assert_eq!(render("a{{{x}}}b }}{{", &[("x", "v")]), "a{v}b }{");
    assert_eq!(render("{x:}}}", &[("x", "v")]), "v}");
    let values = [("thatIP", "192.0.2.1"), ("_SYSTEMD_UNIT", "sshd.service")];
    assert_eq!(render("ban {thatIP} ({_SYSTEMD_UNIT})", &values), "ban 192.0.2.1 (sshd.service)");
    // Python takes any name without `{}:!.[`, spaces and `]` included.
    assert_eq!(render("{ a }{a]}{é}", &[(" a ", "1"), ("a]", "2"), ("é", "3")]), "123");
}

#[test]
fn missing_fields_render_none_with_the_spec() {
    check(&[("{x}", "", ""), ("{x!r}", "", "''")]);
    assert_eq!(render("{x}", &[]), "None");
    assert_eq!(render("{x!r}", &[]), "None");
    assert_eq!(render("{x:>6}", &[]), "  None");
    // Python would raise: None takes no spec.
    assert_eq!(render("{count:^9d}", &[]), "  None   ");
}

#[test]
fn strings_format_like_python_str() {
    // Expected values from Python 3.11.
    check(&[
        ("{x:*>10}", "abc", "*******abc"),
        ("{x:.3}", "abcdef", "abc"),
        ("{x:^6}", "ab", "  ab  "),
        ("{x:^5}", "ab", " ab  "),
        ("{x:5}", "ab", "ab   "),
        ("{x:*^7.2}", "abc", "**ab***"),
        ("{x:05}", "ab", "ab000"),
        ("{x:é>6}", "ab", "ééééab"),
        ("{x:!<5}", "ab", "ab!!!"),
        ("{x::^6}", "ab", "::ab::"),
        ("{x:>5s}", "ab", "   ab"),
        ("{x:.0}", "ab", ""),
        ("{x:>3}", "abcdef", "abcdef"),
        // widths and precisions count code points
        ("{x:^7}", "é€😀", "  é€😀  "),
        ("{x:.2}", "é€😀", "é€"),
    ]);
}

#[test]
fn numbers_format_like_python_int() {
    check(&[
        ("{count:^9d}", "12", "   12    "),
        ("{count}", "007", "7"),
        ("{count:5}", "42", "   42"),
        ("{count:<5}", "42", "42   "),
        ("{count:^4}", "5", " 5  "),
        ("{count:05}", "-5", "-0005"),
        ("{count:<05}", "5", "50000"),
        ("{count:+d}", "5", "+5"),
        ("{count: d}", "5", " 5"),
        ("{count:=+6}", "5", "+    5"),
        ("{count:=^5}", "5", "==5=="),
        ("{count:#d}", "5", "5"),
        ("{count:,}", "1234567", "1,234,567"),
        ("{count:_d}", "1234567", "1_234_567"),
        ("{count:x=10,}", "1234", "xxxxx1,234"),
        // zero padding goes inside the groups, even past the width
        ("{count:010,}", "1234", "00,001,234"),
        ("{count:09,}", "1234", "0,001,234"),
        ("{count:+010,}", "-1234", "-0,001,234"),
        ("{count:,}", "-123456789012345678901234567890", "-123,456,789,012,345,678,901,234,567,890"),
    ]);
    assert_eq!(render("{PRIORITY:>3}|{PRIORITY:3}", &[("PRIORITY", "6")]), "  6|  6");
}

#[test]
fn only_numeric_fields_holding_integers_are_numbers() {
    check(&[("{count:5}", "many", "many "), ("{count:^9d}", "n/a", "   n/a   "), ("{count:5}", "1.5", "1.5  ")]);
    assert_eq!(render("{x:5}", &[("x", "42")]), "42   ");
    // Numeric-ness is read at render time: marking may come after parsing.
    let mut fields = FieldTable::new();
    let template = Template::parse("{n:4}", &mut fields).unwrap();
    let n = fields.get("n").unwrap();
    fields.mark_numeric(n);
    let mut entry = Entry::new(&fields);
    entry.set(n, "7");
    assert_eq!(template.render_to_string(&entry, &fields), "   7");
}

#[test]
fn where_python_would_raise_the_text_is_formatted_as_a_str() {
    check(&[
        ("{x:d}", "ab", "ab"),
        ("{x:^6d}", "ab", "  ab  "),
        ("{x:+,}", "ab", "ab"),
        ("{x:=5}", "ab", "   ab"),
        ("{count:>6s}", "1234", "  1234"),
        // a precision never cuts a number's digits
        ("{count:6.2}", "1234", "1234  "),
    ]);
}

#[test]
fn conversions() {
    check(&[
        ("{x!s:>4}", "ab", "  ab"),
        ("{x!r}", "abc", "'abc'"),
        ("{x!r}", "it's", r#""it's""#),
        ("{x!r}", r#"a'b"c"#, r#"'a\'b"c'"#),
        ("{x!r}", "tab\there\nnul\0\x7f\\", r"'tab\there\nnul\x00\x7f\\'"),
        ("{x!r}", "é\u{a0}\u{200b}😀", r"'é\xa0\u200b😀'"),
        ("{x!a}", "é\u{a0}\u{200b}😀", r"'\xe9\xa0\u200b\U0001f600'"),
        ("{x!r:>7}", "abc", "  'abc'"),
        ("{x!r:.3}", "abc", "'ab"),
        ("{count!r}", "12", "12"),
        ("{count!s:>4}", "12", "  12"),
    ]);
}

#[test]
fn realtime_timestamp_renders_as_local_time() {
    let mut fields = FieldTable::new();
    let template = Template::parse("at {__REALTIME_TIMESTAMP}|{__REALTIME_TIMESTAMP:>34.19}|", &mut fields).unwrap();
    let mut entry = Entry::new(&fields);
    assert_eq!(template.render_to_string(&entry, &fields), "at None|                              None|");
    let time_us = 1_735_689_624_931_461;
    entry.set_time_us(time_us);
    let local = crate::time::format_local(time_us);
    let expected = format!("at {local}|{:>34}|", &local[..19]);
    assert_eq!(template.render_to_string(&entry, &fields), expected);
}

#[test]
fn fields_and_source() {
    let mut fields = FieldTable::new();
    let text = "{thatIP} {MESSAGE!r:>5} {thatIP}";
    let template = Template::parse(text, &mut fields).unwrap();
    let ip = fields.get("thatIP").unwrap();
    assert_eq!(template.fields().collect::<Vec<_>>(), [ip, crate::fields::MESSAGE, ip]);
    assert_eq!(template.as_str(), text);
}

#[test]
fn errors_say_what_and_where() {
    for (template, message) in [
        ("ab{", "unmatched '{' at offset 2: write '{{' for a literal brace"),
        ("é{x", "unmatched '{' at offset 1: write '{{' for a literal brace"),
        ("abc}", "single '}' at offset 3: write '}}' for a literal brace"),
        ("{x}}", "single '}' at offset 3: write '}}' for a literal brace"),
        ("{x:{w}}", "nested '{' at offset 3 is not supported"),
        ("a {}", "positional field '{}' at offset 2 is not supported: name a field"),
        ("{0:>5}", "positional field '{0:>5}' at offset 0 is not supported: name a field"),
        ("{!r}", "positional field '{!r}' at offset 0 is not supported: name a field"),
        ("{a.b}", "attribute or index access in '{a.b}' at offset 0 is not supported"),
        ("{a[0]}", "attribute or index access in '{a[0]}' at offset 0 is not supported"),
        ("{x!q}", "bad conversion in '{x!q}' at offset 0: expected '!s', '!r' or '!a'"),
        ("{x!}", "bad conversion in '{x!}' at offset 0: expected '!s', '!r' or '!a'"),
        ("{x!rr}", "bad conversion in '{x!rr}' at offset 0: expected '!s', '!r' or '!a'"),
        ("{x:q}", "unknown format type 'q' in '{x:q}' at offset 0"),
        ("{x:>8f}", "format type 'f' in '{x:>8f}' at offset 0 is not supported: use 's', 'd' or none"),
        ("{x:5x5}", "invalid format spec in '{x:5x5}' at offset 0: expected [[fill]align][sign][#][0][width][,|_][.precision][type]"),
        ("{x:.}", "invalid format spec in '{x:.}' at offset 0: missing precision after '.'"),
        ("{x:,_}", "invalid format spec in '{x:,_}' at offset 0: more than one grouping option"),
        ("{x:z}", "invalid format spec in '{x:z}' at offset 0: 'z' is for float types, which are not supported"),
        ("{x:99999}", "invalid format spec in '{x:99999}' at offset 0: width or precision above 65535"),
        ("{x:.3d}", "invalid format spec in '{x:.3d}' at offset 0: 'd' is for numbers, and a number takes no precision"),
        ("{x:+s}", "invalid format spec in '{x:+s}' at offset 0: a string takes no sign, and 's' is for strings"),
        ("{x:,.2}", "invalid format spec in '{x:,.2}' at offset 0: a string takes no grouping, and a number takes no precision"),
        ("{x!r:d}", "invalid format spec in '{x!r:d}' at offset 0: 'd' is for numbers, and '!r' makes a string"),
    ] {
        assert_eq!(error(template), message, "{template}");
    }
}
