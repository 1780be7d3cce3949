//! Time as the service stores it: milliseconds since the epoch for anything
//! compared in queries, RFC 3339 for anything shown.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `ms` as RFC 3339 with milliseconds, in UTC.
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp into milliseconds since the epoch.
pub fn parse_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ms = parse_ms("2026-11-24T20:00:00.250+01:00").unwrap();
        assert_eq!(rfc3339(ms), "2026-11-24T19:00:00.250Z");
        assert!(parse_ms("tomorrow").is_none());
    }
}
