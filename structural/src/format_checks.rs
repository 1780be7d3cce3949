//! The individual `format` checks behind [`Format::is_valid`](crate::formats::Format).
//!
//! Each mirrors go-openapi `strfmt` (or the Go standard-library parser it calls);
//! the ones marked "approximates" are close but not byte-for-byte equivalents.

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;

use crate::formats::Lazy;

pub(crate) static DATE_TIME_CLOCK: Lazy = LazyLock::new(|| {
    Regex::new(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$").ok()
});
pub(crate) static DURATION_PART: Lazy =
    LazyLock::new(|| Regex::new(r"(([0-9]+)\s*([A-Za-zµ]+))").ok());

/// `time.Parse("2006-01-02", s)`: exact widths and a real calendar day.
pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num =
        |r: std::ops::Range<usize>| s.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit()));
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let (y, m, d): (u32, u32, u32) = (
        y.parse().unwrap_or(0),
        m.parse().unwrap_or(0),
        d.parse().unwrap_or(0),
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// strfmt `IsDateTime`: a valid date, `t` (any case), and a clock with zone.
pub(crate) fn is_date_time(s: &str) -> bool {
    let lower = s.to_lowercase();
    let mut parts = lower.split('t');
    let (Some(date), Some(clock)) = (parts.next(), parts.next()) else {
        return false;
    };
    if s.len() < 4 || !is_date(date) {
        return false;
    }
    let Some(re) = DATE_TIME_CLOCK.as_ref() else {
        return true;
    };
    re.captures(clock)
        .is_some_and(|c| &c[1] <= "23" && &c[2] <= "59" && &c[3] <= "59")
}

/// Go's `base64.StdEncoding.DecodeString` (padded; CR/LF ignored).
pub(crate) fn is_base64(s: &str) -> bool {
    let body: Vec<u8> = s.bytes().filter(|b| *b != b'\r' && *b != b'\n').collect();
    if !body.len().is_multiple_of(4) {
        return false;
    }
    let pad = body.iter().rev().take_while(|b| **b == b'=').count();
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    pad <= 2 && body[..body.len() - pad].iter().all(alphabet)
}

/// strfmt `ParseDuration`: Go's `time.ParseDuration`, else `<n> <unit>` groups with
/// units from ns to weeks.
pub(crate) fn is_duration(s: &str) -> bool {
    if is_go_duration(s) {
        return true;
    }
    let Some(re) = DURATION_PART.as_ref() else {
        return true;
    };
    let mut found = false;
    for caps in re.captures_iter(s) {
        if !DURATION_UNITS.contains(&caps[3].to_lowercase().trim()) {
            return false;
        }
        found = true;
    }
    found
}

const DURATION_UNITS: &[&str] = &[
    "ns",
    "nanosecond",
    "nanoseconds",
    "us",
    "µs",
    "microsecond",
    "microseconds",
    "mcs",
    "ms",
    "millisecond",
    "milliseconds",
    "s",
    "sec",
    "secs",
    "second",
    "seconds",
    "m",
    "min",
    "mins",
    "minute",
    "minutes",
    "h",
    "hr",
    "hrs",
    "hour",
    "hours",
    "d",
    "day",
    "days",
    "w",
    "wk",
    "week",
    "weeks",
];

/// Go's `time.ParseDuration`: `[-+]` then one or more `<decimal><unit>`, or `0`.
pub(crate) fn is_go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() || number == "." {
            return false;
        }
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&&rest[..unit_len]) {
            return false;
        }
        rest = &rest[unit_len..];
    }
    !s.is_empty()
}

/// `net.ParseCIDR`: an IPv4 or IPv6 address, `/`, and an in-range decimal prefix.
pub(crate) fn is_cidr(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let bits: u32 = prefix.parse().unwrap_or(u32::MAX);
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => bits <= 32,
        Ok(IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

/// `net.ParseMAC`: 6, 8 or 20 hex octets separated by `:` or `-`, or dotted quads.
pub(crate) fn is_mac(s: &str) -> bool {
    let octet_counts = [6, 8, 20];
    for sep in [':', '-'] {
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() > 1 {
            return octet_counts.contains(&parts.len())
                && parts
                    .iter()
                    .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
    let groups: Vec<&str> = s.split('.').collect();
    octet_counts.contains(&(groups.len() * 2))
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn isbn_digits(s: &str) -> String {
    s.chars().filter(|c| *c != ' ' && *c != '-').collect()
}

pub(crate) fn is_isbn10(s: &str) -> bool {
    let d = isbn_digits(s);
    let b = d.as_bytes();
    if b.len() != 10 || !b[..9].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let last = match b[9] {
        b'X' => 10,
        c if c.is_ascii_digit() => u32::from(c - b'0'),
        _ => return false,
    };
    let sum: u32 = b[..9]
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u32 + 1) * u32::from(c - b'0'))
        .sum();
    (sum + 10 * last).is_multiple_of(11)
}

pub(crate) fn is_isbn13(s: &str) -> bool {
    let d = isbn_digits(s);
    if d.len() != 13 || !d.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = d
        .bytes()
        .enumerate()
        .map(|(i, c)| u32::from(c - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    sum.is_multiple_of(10)
}

/// Approximates Go's `url.ParseRequestURI`: an absolute URI (`scheme:...`) or an
/// absolute path, without spaces, control characters or broken `%` escapes.
pub(crate) fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.chars().any(|c| c.is_control() || c == ' ') || !valid_percent_escapes(s) {
        return false;
    }
    if s.starts_with('/') {
        return true;
    }
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn valid_percent_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter()
        .enumerate()
        .filter(|(_, c)| **c == b'%')
        .all(|(i, _)| {
            b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        })
}

/// Approximates Go's `mail.ParseAddress`: `local@domain` with RFC 5322 dot-atoms,
/// optionally inside `Display Name <...>`.
pub(crate) fn is_email(s: &str) -> bool {
    let addr = match (s.find('<'), s.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        _ => s.trim(),
    };
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let dot_atom =
        |p: &str| !p.is_empty() && p.split('.').all(|a| !a.is_empty() && a.chars().all(atext));
    dot_atom(local) && dot_atom(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_patterns_compile() {
        assert!(DATE_TIME_CLOCK.is_some() && DURATION_PART.is_some());
    }
}
