//! Go-compatible rendering of values, so messages match kube-apiserver byte for byte.
//!
//! The apiserver builds messages with Go's `fmt` (`%v`, `%q`) and `encoding/json`;
//! each has its own float and string conventions, reproduced here.

use serde_json::{Number, Value};

/// How `field.Error.ErrorBody` prints a bad value: scalars with `%v`/`%q`, the rest
/// as JSON.
pub(crate) fn render_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number_v(n),
        Value::String(s) => go_quote(s),
        Value::Array(_) | Value::Object(_) => go_json(value),
    }
}

/// Go's `%v` of a decoded JSON number: `int64` when it fits, `float64` otherwise.
pub(crate) fn go_number_v(n: &Number) -> String {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(f)) => go_float_v(f),
        (None, None) => n.to_string(),
    }
}

/// Go's `%v` (= `strconv.FormatFloat(f, 'g', -1, 64)`): shortest digits, exponent
/// form when the exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`).
pub(crate) fn go_float_v(f: f64) -> String {
    let (digits, exp) = shortest_digits(f);
    if !(-4..6).contains(&exp) {
        exp_form(f.is_sign_negative(), &digits, exp)
    } else {
        // Rust's Display is the shortest round-trip decimal without exponent, as Go's %f part.
        format!("{f}")
    }
}

/// Go's `encoding/json` float format: `'f'` unless the magnitude is below 1e-6 or at
/// least 1e21, then `'e'` with a one-digit negative exponent cleaned up (`1e-7`).
fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (digits, exp) = shortest_digits(f);
        let mut s = exp_form(f.is_sign_negative(), &digits, exp);
        if let Some(pos) = s.find("e-0") {
            s.remove(pos + 2);
        }
        s
    } else {
        format!("{f}")
    }
}

/// Shortest round-trip significant digits and the decimal exponent of the first one.
fn shortest_digits(f: f64) -> (String, i32) {
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    (mantissa.replace('.', ""), exp.parse().unwrap_or(0))
}

/// `d.ddde±XX` with at least two exponent digits, like Go's `%e`.
fn exp_form(negative: bool, digits: &str, exp: i32) -> String {
    let sign = if negative { "-" } else { "" };
    let (head, tail) = digits.split_at(1);
    let frac = if tail.is_empty() {
        String::new()
    } else {
        format!(".{tail}")
    };
    let exp_sign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{head}{frac}e{exp_sign}{:02}", exp.abs())
}

/// Go's `strconv.Quote` / `%q`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if !is_go_printable(c) => push_unicode_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn push_unicode_escape(out: &mut String, c: char) {
    let code = c as u32;
    if code < 0x10000 {
        out.push_str(&format!("\\u{code:04x}"));
    } else {
        out.push_str(&format!("\\U{code:08x}"));
    }
}

/// An approximation of Go's `unicode.IsPrint` without Unicode tables: control and
/// the common invisible format characters are not printable.
fn is_go_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}')
        || matches!(c, '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

/// Go's `json.Marshal` of a decoded value: keys sorted, HTML characters escaped.
pub(crate) fn go_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => out.push_str(&i.to_string()),
            (None, Some(f)) => out.push_str(&go_json_float(f)),
            (None, None) => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_json(out, &map[key]);
            }
            out.push('}');
        }
    }
}

fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn floats_print_like_go_percent_v() {
        let cases = [
            (1.0, "1"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1e21, "1e+21"),
        ];
        for (f, want) in cases {
            assert_eq!(go_float_v(f), want, "{f}");
        }
    }

    #[test]
    fn json_floats_print_like_go_encoding_json() {
        assert_eq!(go_json(&json!(1e20)), "100000000000000000000");
        assert_eq!(go_json(&json!(1e21)), "1e+21");
        assert_eq!(go_json(&json!(1e-7)), "1e-7");
        assert_eq!(go_json(&json!(0.5)), "0.5");
    }

    #[test]
    fn quote_escapes_like_strconv_quote() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("line\nnext\ttab"), r#""line\nnext\ttab""#);
        assert_eq!(go_quote("\u{1}"), r#""\x01""#);
        assert_eq!(go_quote("héllo ✓"), "\"héllo ✓\"");
        assert_eq!(go_quote("\u{200b}"), r#""\u200b""#);
    }

    #[test]
    fn json_sorts_keys_and_escapes_html() {
        let value = json!({"b": [1, 2.5, null], "a": "<&>"});
        assert_eq!(
            go_json(&value),
            r#"{"a":"\u003c\u0026\u003e","b":[1,2.5,null]}"#
        );
    }

    #[test]
    fn values_render_like_error_body() {
        assert_eq!(render_value(&json!(0)), "0");
        assert_eq!(render_value(&json!(2.0)), "2");
        assert_eq!(render_value(&json!("Foo")), "\"Foo\"");
        assert_eq!(render_value(&json!(null)), "null");
        assert_eq!(render_value(&json!({"name": "a"})), r#"{"name":"a"}"#);
    }
}
