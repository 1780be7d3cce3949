//! Time buckets (UTC) of the rollup granularities.

use chrono::{DateTime, Duration, DurationRound, Utc};
use machina_crds::analytics_job::Granularity;

/// One time bucket of one granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bucket {
    /// Its size.
    pub granularity: GranularityKey,
    /// Its first instant.
    pub start: DateTime<Utc>,
}

/// [`Granularity`] with an order (finest first), usable as a map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GranularityKey {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
}

impl From<Granularity> for GranularityKey {
    fn from(g: Granularity) -> Self {
        match g {
            Granularity::Minute => Self::Minute,
            Granularity::Hour => Self::Hour,
            Granularity::Day => Self::Day,
        }
    }
}

impl GranularityKey {
    /// The bucket length.
    pub fn length(self) -> Duration {
        match self {
            Self::Minute => Duration::minutes(1),
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::days(1),
        }
    }

    /// The name used in documents and query parameters.
    pub fn name(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    /// The granularity named `name` (`minute`, `hour`, `day`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "minute" => Some(Self::Minute),
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            _ => None,
        }
    }

    /// The start of the bucket holding `ts`.
    pub fn floor(self, ts: DateTime<Utc>) -> DateTime<Utc> {
        // Exact for these lengths (they divide a day; the epoch is midnight UTC).
        ts.duration_trunc(self.length()).unwrap_or(ts)
    }
}

/// The document name of a granularity.
pub fn granularity_name(g: Granularity) -> &'static str {
    GranularityKey::from(g).name()
}

impl Bucket {
    /// The bucket of `granularity` holding `ts`.
    pub fn of(granularity: GranularityKey, ts: DateTime<Utc>) -> Self {
        Self {
            granularity,
            start: granularity.floor(ts),
        }
    }

    /// Its end (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.start + self.granularity.length()
    }

    /// Whether `ts` falls in it.
    pub fn contains(&self, ts: DateTime<Utc>) -> bool {
        ts >= self.start && ts < self.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_floor_in_utc() {
        let ts: DateTime<Utc> = "2026-05-04T13:47:12.5Z".parse().expect("ts");
        let day = Bucket::of(GranularityKey::Day, ts);
        assert_eq!(day.start.to_rfc3339(), "2026-05-04T00:00:00+00:00");
        assert_eq!(
            Bucket::of(GranularityKey::Hour, ts).start.to_rfc3339(),
            "2026-05-04T13:00:00+00:00"
        );
        assert_eq!(
            Bucket::of(GranularityKey::Minute, ts).end().to_rfc3339(),
            "2026-05-04T13:48:00+00:00"
        );
        assert!(day.contains(ts));
        assert!(!day.contains(day.end()));
        assert_eq!(GranularityKey::parse("hour"), Some(GranularityKey::Hour));
        assert_eq!(GranularityKey::parse("week"), None);
    }
}
