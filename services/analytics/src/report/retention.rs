//! Retention cohorts: identities grouped by the day or week they were first seen (in the
//! queried range), and how many of them were active in each following period.

use crate::event::Event;
use chrono::{DateTime, Datelike, Duration, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Cohort size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohortSize {
    /// UTC days.
    Day,
    /// ISO weeks (Monday 00:00 UTC).
    Week,
}

impl CohortSize {
    fn length(self) -> Duration {
        match self {
            Self::Day => Duration::days(1),
            Self::Week => Duration::weeks(1),
        }
    }

    fn floor(self, ts: DateTime<Utc>) -> DateTime<Utc> {
        let day = ts.date_naive();
        let day = match self {
            Self::Day => day,
            Self::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        };
        day.and_hms_opt(0, 0, 0).map_or(ts, |d| d.and_utc())
    }
}

/// One cohort.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Cohort {
    /// Start of the period its identities were first seen in.
    pub cohort: DateTime<Utc>,
    /// Identities first seen then.
    pub size: u64,
    /// Identities active in period 0, 1, … after (period 0 is the cohort itself).
    pub retained: Vec<u64>,
    /// `retained / size`.
    pub rates: Vec<f64>,
}

/// Cohorts of `events` by `size`, with `periods` periods each.
pub fn retention(events: &[Event], size: CohortSize, periods: usize) -> Vec<Cohort> {
    let mut first: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for e in events {
        if let Some(who) = e.identity() {
            let seen = first.entry(who).or_insert(e.timestamp);
            *seen = (*seen).min(e.timestamp);
        }
    }
    let mut active: BTreeMap<DateTime<Utc>, Vec<HashSet<&str>>> = BTreeMap::new();
    let mut sizes: BTreeMap<DateTime<Utc>, u64> = BTreeMap::new();
    for ts in first.values() {
        *sizes.entry(size.floor(*ts)).or_default() += 1;
    }
    for e in events {
        let Some(who) = e.identity() else { continue };
        let cohort = size.floor(first[who]);
        let period = ((size.floor(e.timestamp) - cohort).num_seconds()
            / size.length().num_seconds()) as usize;
        if period < periods {
            active
                .entry(cohort)
                .or_insert_with(|| vec![HashSet::new(); periods])[period]
                .insert(who);
        }
    }
    sizes
        .into_iter()
        .map(|(cohort, n)| {
            let retained: Vec<u64> = active
                .get(&cohort)
                .map(|sets| sets.iter().map(|s| s.len() as u64).collect())
                .unwrap_or_else(|| vec![0; periods]);
            let rates = retained.iter().map(|r| *r as f64 / n as f64).collect();
            Cohort {
                cohort,
                size: n,
                retained,
                rates,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::series::tests::ev;
    use serde_json::json;

    #[test]
    fn daily_and_weekly_cohorts() {
        let e = |id: &str, ts: &str, who: &str| ev(id, "page.viewed", ts, who, json!({}));
        let events = vec![
            e("1", "2026-01-05T10:00:00Z", "a"), // Monday
            e("2", "2026-01-05T11:00:00Z", "b"),
            e("3", "2026-01-06T09:00:00Z", "a"),
            e("4", "2026-01-07T09:00:00Z", "a"),
            e("5", "2026-01-07T10:00:00Z", "b"),
            e("6", "2026-01-06T12:00:00Z", "c"),
            e("7", "2026-01-13T12:00:00Z", "c"), // next week
        ];
        let days = retention(&events, CohortSize::Day, 3);
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].size, days[0].retained.clone()), (2, vec![2, 1, 2]));
        assert_eq!(days[0].rates, [1.0, 0.5, 1.0]);
        assert_eq!((days[1].size, days[1].retained.clone()), (1, vec![1, 0, 0]));
        let weeks = retention(&events, CohortSize::Week, 2);
        assert_eq!(weeks.len(), 1);
        assert_eq!(weeks[0].cohort.to_rfc3339(), "2026-01-05T00:00:00+00:00");
        assert_eq!((weeks[0].size, weeks[0].retained.clone()), (3, vec![3, 1]));
    }
}
