//! Reading typed values from environment variables (12-factor configuration).
//!
//! [`Vars`] is a snapshot of the environment, so configuration can be built and
//! tested from a plain map without touching the process environment. Every
//! failure is an [`Error`] that names the variable and says what was expected.

use std::{collections::HashMap, str::FromStr, time::Duration};

use crate::{Error, Result};

/// A snapshot of environment variables to read configuration from.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    vars: HashMap<String, String>,
}

impl Vars {
    /// Snapshots the process environment (variables that are not valid UTF-8 are skipped).
    pub fn from_env() -> Self {
        Self::from_pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Builds a snapshot from `(name, value)` pairs; handy in tests.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self { vars }
    }

    /// The raw value of `name`; an empty or whitespace-only value counts as unset.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Parses `name` with [`FromStr`]; `None` if unset.
    ///
    /// `expected` describes a valid value for the error message ("a port number").
    pub fn optional<T: FromStr>(&self, name: &str, expected: &str) -> Result<Option<T>> {
        self.optional_with(name, expected, |v| v.parse().ok())
    }

    /// Parses `name` with [`FromStr`]; [`Error::MissingVar`] if unset.
    pub fn required<T: FromStr>(&self, name: &str, expected: &str) -> Result<T> {
        self.optional(name, expected)?.ok_or_else(|| missing(name))
    }

    /// Parses `name` with [`FromStr`], falling back to `default` if unset.
    pub fn or<T: FromStr>(&self, name: &str, expected: &str, default: T) -> Result<T> {
        Ok(self.optional(name, expected)?.unwrap_or(default))
    }

    /// Parses `name` with a custom parser that returns `None` on invalid input.
    pub fn optional_with<T>(
        &self,
        name: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>> {
        let Some(value) = self.raw(name) else {
            return Ok(None);
        };
        parse(value).map(Some).ok_or_else(|| Error::InvalidVar {
            name: name.to_owned(),
            expected: expected.to_owned(),
            value: value.to_owned(),
        })
    }

    /// Reads a duration such as `500ms`, `30s`, `5m`, `1h` (a bare number is seconds).
    pub fn duration_or(&self, name: &str, default: Duration) -> Result<Duration> {
        let expected = "a duration such as 500ms, 30s, 5m or 1h";
        Ok(self
            .optional_with(name, expected, parse_duration)?
            .unwrap_or(default))
    }

    /// Reads a byte size such as `1048576`, `512KiB`, `2MiB`, `1MB` (case-insensitive).
    pub fn bytes_or(&self, name: &str, default: usize) -> Result<usize> {
        let expected = "a size in bytes such as 1048576, 512KiB, 2MiB or 1MB";
        Ok(self
            .optional_with(name, expected, parse_bytes)?
            .unwrap_or(default))
    }
}

fn missing(name: &str) -> Error {
    Error::MissingVar {
        name: name.to_owned(),
    }
}

/// Splits `"30s"` into `(30, "s")`.
fn split_number(s: &str) -> Option<(u64, String)> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let number = s[..digits].parse().ok()?;
    Some((number, s[digits..].trim().to_ascii_lowercase()))
}

/// Parses `500ms`, `30s`, `5m`, `1h`; a bare number is seconds.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let (n, unit) = split_number(s)?;
    match unit.as_str() {
        "ms" => Some(Duration::from_millis(n)),
        "" | "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

/// Parses a byte size; `KiB`/`MiB`/`GiB` are powers of 1024, `KB`/`MB`/`GB` of 1000.
pub(crate) fn parse_bytes(s: &str) -> Option<usize> {
    let (n, unit) = split_number(s)?;
    let factor: u64 = match unit.as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    usize::try_from(n.checked_mul(factor)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("10 parsecs"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("2MiB"), Some(2 * 1024 * 1024));
        assert_eq!(parse_bytes("1mb"), Some(1_000_000));
        assert_eq!(parse_bytes("12 KiB"), Some(12 * 1024));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("1TiB"), None);
    }

    #[test]
    fn empty_counts_as_unset() {
        let vars = Vars::from_pairs([("PORT", "  ")]);
        let err = vars.required::<u16>("PORT", "a port").unwrap_err();
        assert!(
            matches!(err, Error::MissingVar { ref name } if name == "PORT"),
            "{err:?}"
        );
    }

    #[test]
    fn invalid_names_variable_expectation_and_value() {
        let vars = Vars::from_pairs([("PORT", "eighty")]);
        let err = vars.required::<u16>("PORT", "a port number").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"environment variable PORT is invalid: expected a port number, got "eighty""#
        );
    }
}
