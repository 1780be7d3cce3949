//! `date` and `datetimeformat`: format an RFC 3339 string, a `YYYY-MM-DD` date or unix
//! seconds with a strftime pattern.
//!
//! The offset written in an RFC 3339 string is kept (`…+02:00` prints local time at +02:00);
//! unix timestamps are UTC. There is no time-zone database lookup: that would read the
//! filesystem, and the engine is sandboxed.

use chrono::format::StrftimeItems;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, State};

use super::args::{arg, invalid, on_undefined};

/// `{{ ts|date }}`, `{{ ts|date('%d %B %Y') }}`; default format `%Y-%m-%d`.
pub(super) fn date(
    state: &State<'_, '_>,
    value: &Value,
    format: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    if let Some(result) = on_undefined(state, value) {
        return result;
    }
    apply("date", value, format, kwargs, "%Y-%m-%d")
}

/// `{{ ts|datetimeformat }}`; default format `%Y-%m-%d %H:%M`.
pub(super) fn datetimeformat(
    state: &State<'_, '_>,
    value: &Value,
    format: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    if let Some(result) = on_undefined(state, value) {
        return result;
    }
    apply("datetimeformat", value, format, kwargs, "%Y-%m-%d %H:%M")
}

fn apply(
    filter: &str,
    value: &Value,
    format: Option<String>,
    kwargs: Kwargs,
    default: &str,
) -> Result<String, Error> {
    let format = arg(filter, "format", format, &kwargs, default.to_string())?;
    kwargs.assert_all_used()?;
    let at = parse(filter, value)?;
    let items = StrftimeItems::new(&format)
        .parse()
        .map_err(|_| invalid(filter, format!("invalid format string {format:?}")))?;
    Ok(at.format_with_items(items.iter()).to_string())
}

/// The instant `value` denotes.
fn parse(filter: &str, value: &Value) -> Result<DateTime<FixedOffset>, Error> {
    match value.kind() {
        ValueKind::String => parse_str(filter, value.as_str().unwrap_or_default()),
        ValueKind::Number => from_unix(filter, value),
        kind => Err(invalid(
            filter,
            format!("expected an RFC 3339 string or unix seconds, got {kind}"),
        )),
    }
}

fn parse_str(filter: &str, s: &str) -> Result<DateTime<FixedOffset>, Error> {
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Ok(at);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().fixed_offset())
        .ok_or_else(|| {
            invalid(
                filter,
                format!("{s:?} is not an RFC 3339 date-time or YYYY-MM-DD date"),
            )
        })
}

fn from_unix(filter: &str, value: &Value) -> Result<DateTime<FixedOffset>, Error> {
    let at = if let Some(secs) = value.as_i64() {
        DateTime::<Utc>::from_timestamp(secs, 0)
    } else {
        let secs = f64::try_from(value.clone()).unwrap_or(f64::NAN);
        float_timestamp(secs)
    };
    at.map(|at| at.fixed_offset())
        .ok_or_else(|| invalid(filter, format!("timestamp {value} is out of range")))
}

fn float_timestamp(secs: f64) -> Option<DateTime<Utc>> {
    if !secs.is_finite() || secs.abs() > 1e15 {
        return None;
    }
    let whole = secs.floor();
    // Both casts are in range: |whole| <= 1e15 and the fraction is in [0, 1).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (s, ns) = (whole as i64, ((secs - whole) * 1e9) as u32);
    DateTime::<Utc>::from_timestamp(s, ns)
}

#[cfg(test)]
mod tests {
    use crate::filters::test_support::render;

    #[test]
    fn formats_rfc3339_keeping_the_offset() {
        let got = render(
            "{{ v|date('%d %B %Y %H:%M %z') }}",
            "2024-03-05T10:30:00+02:00",
        );
        assert_eq!(got.as_deref(), Ok("05 March 2024 10:30 +0200"));
        assert_eq!(
            render("{{ v|date }}", "2024-03-05").as_deref(),
            Ok("2024-03-05")
        );
    }

    #[test]
    fn formats_unix_seconds_in_utc() {
        let got = render("{{ v|datetimeformat }}", 1_700_000_000);
        assert_eq!(got.as_deref(), Ok("2023-11-14 22:13"));
        let got = render("{{ v|date(format='%H:%M:%S') }}", 1.5);
        assert_eq!(got.as_deref(), Ok("00:00:01"));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let err = render("{{ v|date }}", "yesterday").unwrap_err();
        assert_eq!(
            err,
            "date: \"yesterday\" is not an RFC 3339 date-time or YYYY-MM-DD date"
        );
        let err = render("{{ v|date('%Q') }}", "2024-03-05").unwrap_err();
        assert_eq!(err, "date: invalid format string \"%Q\"");
        let err = render("{{ v|date }}", true).unwrap_err();
        assert!(
            err.contains("expected an RFC 3339 string or unix seconds, got bool"),
            "{err}"
        );
        let err = render("{{ v|date }}", i64::MAX).unwrap_err();
        assert!(err.contains("out of range"), "{err}");
    }
}
