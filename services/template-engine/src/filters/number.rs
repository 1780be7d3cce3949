//! `number` and `currency`: fixed-point numbers with a thousands separator.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, State};

use super::args::{arg, invalid, on_undefined};

/// Most decimals a format may ask for.
const MAX_DECIMALS: usize = 12;

/// `{{ 1234.5|number(2) }}` → `1,234.50`;
/// `number(decimals=0, thousands_sep=',', decimal_point='.')`.
pub(super) fn number(
    state: &State<'_, '_>,
    value: &Value,
    decimals: Option<usize>,
    thousands_sep: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    if let Some(result) = on_undefined(state, value) {
        return result;
    }
    let decimals = arg("number", "decimals", decimals, &kwargs, 0)?;
    let sep = arg(
        "number",
        "thousands_sep",
        thousands_sep,
        &kwargs,
        String::from(","),
    )?;
    let point = arg("number", "decimal_point", None, &kwargs, String::from("."))?;
    kwargs.assert_all_used()?;
    let (negative, digits) = fixed("number", value, decimals)?;
    Ok(format!(
        "{}{}",
        if negative { "-" } else { "" },
        group(&digits, decimals, &sep, &point)
    ))
}

/// `{{ 1234.5|currency }}` → `$1,234.50`, `{{ -3|currency('€ ') }}` → `-€ 3.00`;
/// `currency(symbol='$', decimals=2, thousands_sep=',', decimal_point='.')`.
pub(super) fn currency(
    state: &State<'_, '_>,
    value: &Value,
    symbol: Option<String>,
    decimals: Option<usize>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    if let Some(result) = on_undefined(state, value) {
        return result;
    }
    let symbol = arg("currency", "symbol", symbol, &kwargs, String::from("$"))?;
    let decimals = arg("currency", "decimals", decimals, &kwargs, 2)?;
    let sep = arg(
        "currency",
        "thousands_sep",
        None,
        &kwargs,
        String::from(","),
    )?;
    let point = arg(
        "currency",
        "decimal_point",
        None,
        &kwargs,
        String::from("."),
    )?;
    kwargs.assert_all_used()?;
    let (negative, digits) = fixed("currency", value, decimals)?;
    let sign = if negative { "-" } else { "" };
    Ok(format!(
        "{sign}{symbol}{}",
        group(&digits, decimals, &sep, &point)
    ))
}

/// The value rounded to `decimals` as (is negative, unsigned digits with a `.`).
/// Integers are exact; floats use Rust's correctly rounded formatting. A result that
/// rounds to zero is never negative.
fn fixed(filter: &str, value: &Value, decimals: usize) -> Result<(bool, String), Error> {
    if decimals > MAX_DECIMALS {
        return Err(invalid(
            filter,
            format!("decimals must be at most {MAX_DECIMALS}, got {decimals}"),
        ));
    }
    let text = match value.kind() {
        ValueKind::Number if value.is_integer() => integer_text(value, decimals),
        ValueKind::Number => float_text(filter, f64::try_from(value.clone())?, decimals)?,
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default().trim();
            let parsed = s.parse::<f64>().map_err(|_| not_a_number(filter, value))?;
            float_text(filter, parsed, decimals)?
        }
        _ => return Err(not_a_number(filter, value)),
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, text),
    };
    let is_zero = digits.chars().all(|c| c == '0' || c == '.');
    Ok((negative && !is_zero, digits))
}

fn integer_text(value: &Value, decimals: usize) -> String {
    let int = i128::try_from(value.clone()).map_or_else(|_| value.to_string(), |i| i.to_string());
    if decimals == 0 {
        int
    } else {
        format!("{int}.{}", "0".repeat(decimals))
    }
}

fn float_text(filter: &str, f: f64, decimals: usize) -> Result<String, Error> {
    if !f.is_finite() {
        return Err(invalid(filter, format!("cannot format {f}")));
    }
    Ok(format!("{f:.decimals$}"))
}

fn not_a_number(filter: &str, value: &Value) -> Error {
    let shown = if value.kind() == ValueKind::String {
        format!("string {:?}", value.as_str().unwrap_or_default())
    } else {
        value.kind().to_string()
    };
    invalid(filter, format!("expected a number, got {shown}"))
}

/// Inserts `sep` every three integer digits and swaps the decimal point.
fn group(digits: &str, decimals: usize, sep: &str, point: &str) -> String {
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut out = String::with_capacity(digits.len() + int.len() / 3 * sep.len());
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push_str(sep);
        }
        out.push(c);
    }
    if decimals > 0 {
        out.push_str(point);
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::filters::test_support::render;

    #[test]
    fn groups_thousands_and_rounds() {
        assert_eq!(
            render("{{ v|number }}", 1_234_567).as_deref(),
            Ok("1,234,567")
        );
        assert_eq!(
            render("{{ v|number(2) }}", 1234.5).as_deref(),
            Ok("1,234.50")
        );
        assert_eq!(
            render("{{ v|number(1, ' ') }}", -9_876_543.21).as_deref(),
            Ok("-9 876 543.2")
        );
        let got = render(
            "{{ v|number(2, thousands_sep='.', decimal_point=',') }}",
            "1234.567",
        );
        assert_eq!(got.as_deref(), Ok("1.234,57"));
        assert_eq!(render("{{ v|number(2) }}", -0.001).as_deref(), Ok("0.00"));
        assert_eq!(render("{{ v|number }}", 999).as_deref(), Ok("999"));
    }

    #[test]
    fn currency_puts_the_sign_before_the_symbol() {
        assert_eq!(
            render("{{ v|currency }}", 1234.5).as_deref(),
            Ok("$1,234.50")
        );
        assert_eq!(
            render("{{ v|currency('€ ', 0) }}", -3).as_deref(),
            Ok("-€ 3")
        );
        assert_eq!(
            render("{{ v|currency(symbol='£') }}", 0).as_deref(),
            Ok("£0.00")
        );
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let err = render("{{ v|number }}", "abc").unwrap_err();
        assert_eq!(err, "number: expected a number, got string \"abc\"");
        let err = render("{{ v|currency }}", [1]).unwrap_err();
        assert_eq!(err, "currency: expected a number, got sequence");
        let err = render("{{ v|number(40) }}", 1).unwrap_err();
        assert_eq!(err, "number: decimals must be at most 12, got 40");
        let err = render("{{ v|number }}", "inf").unwrap_err();
        assert_eq!(err, "number: cannot format inf");
    }
}
