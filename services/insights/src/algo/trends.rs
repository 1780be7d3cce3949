//! Trend detection: which subjects (items, event types) are rising.
//!
//! For each subject we count events in a recent window of length `R` and in
//! the baseline window of length `B` just before it. Under "no change" the
//! rate is the same in both, so given `n = recent + baseline` events the
//! recent count is `Binomial(n, p0)` with `p0 = R / (R + B)`. The score is the
//! binomial z statistic `(x - n p0) / sqrt(n p0 (1 - p0))`, its one-sided
//! p-value comes from the normal tail, and Benjamini–Hochberg keeps the false
//! discovery rate at `fdr` across all subjects tested in one run. Subjects
//! below the minimum support are not tested at all (a jump from 1 to 3 views
//! is noise, and untested subjects do not dilute the correction).

use std::collections::HashMap;

use serde::Serialize;

use super::stats::{benjamini_hochberg, normal_sf};

/// What the detector needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendParams {
    /// Length of the recent window, in milliseconds.
    pub recent_ms: i64,
    /// Length of the baseline window (just before the recent one), in milliseconds.
    pub baseline_ms: i64,
    /// A subject needs at least this many recent events to be tested.
    pub min_recent: u64,
    /// A subject needs at least this many events over both windows to be tested.
    pub min_total: u64,
    /// Target false discovery rate for Benjamini–Hochberg.
    pub fdr: f64,
    /// At most this many trends are returned (the highest z first).
    pub max_results: usize,
}

impl Default for TrendParams {
    fn default() -> Self {
        Self {
            recent_ms: 24 * 3_600_000,
            baseline_ms: 7 * 24 * 3_600_000,
            min_recent: 10,
            min_total: 20,
            fdr: 0.01,
            max_results: 100,
        }
    }
}

/// What a subject is: its dimension (`item`, `type`) and key within it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Subject {
    /// `item` or `type`.
    pub dimension: String,
    /// The item id or event type.
    pub key: String,
}

/// Event counts of one subject in the two windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowCounts {
    /// Events in the recent window.
    pub recent: u64,
    /// Events in the baseline window.
    pub baseline: u64,
}

/// A rising subject with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trend {
    /// What is rising.
    #[serde(flatten)]
    pub subject: Subject,
    /// Events in the recent window.
    pub recent: u64,
    /// Events in the baseline window.
    pub baseline: u64,
    /// Recent events expected from the baseline rate.
    pub expected: f64,
    /// Recent rate over baseline rate, with +1 smoothing so a new subject has a finite lift.
    pub lift: f64,
    /// Binomial z statistic; the ranking score.
    pub z: f64,
    /// One-sided p-value of `z`.
    pub p_value: f64,
}

/// Counts `(subject, timestamp)` observations into the two windows ending at `now_ms`.
pub fn count_windows<'a>(
    observations: impl IntoIterator<Item = (&'a Subject, i64)>,
    now_ms: i64,
    params: &TrendParams,
) -> HashMap<Subject, WindowCounts> {
    let recent_start = now_ms - params.recent_ms;
    let baseline_start = recent_start - params.baseline_ms;
    let mut counts: HashMap<Subject, WindowCounts> = HashMap::new();
    for (subject, ts) in observations {
        if ts >= now_ms || ts < baseline_start {
            continue;
        }
        let entry = counts.entry(subject.clone()).or_default();
        if ts >= recent_start {
            entry.recent += 1;
        } else {
            entry.baseline += 1;
        }
    }
    counts
}

/// Tests every subject with enough support and returns the significant risers, highest z first.
pub fn detect(counts: &HashMap<Subject, WindowCounts>, params: &TrendParams) -> Vec<Trend> {
    let recent = params.recent_ms.max(1) as f64;
    let baseline = params.baseline_ms.max(1) as f64;
    let p0 = recent / (recent + baseline);
    let mut tested: Vec<Trend> = counts
        .iter()
        .filter(|(_, c)| c.recent >= params.min_recent && c.recent + c.baseline >= params.min_total)
        .map(|(subject, c)| {
            let n = (c.recent + c.baseline) as f64;
            let expected = n * p0;
            let z = (c.recent as f64 - expected) / (n * p0 * (1.0 - p0)).sqrt();
            Trend {
                subject: subject.clone(),
                recent: c.recent,
                baseline: c.baseline,
                expected: c.baseline as f64 * recent / baseline,
                lift: (c.recent as f64 / recent) / ((c.baseline as f64 + 1.0) / baseline),
                z,
                p_value: normal_sf(z),
            }
        })
        .collect();
    let p_values: Vec<f64> = tested.iter().map(|t| t.p_value).collect();
    let keep = benjamini_hochberg(&p_values, params.fdr);
    let mut keep = keep.into_iter();
    tested.retain(|t| keep.next().unwrap_or(false) && t.z > 0.0);
    tested.sort_by(|a, b| b.z.total_cmp(&a.z).then_with(|| a.subject.cmp(&b.subject)));
    tested.truncate(params.max_results);
    tested
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn item(key: &str) -> Subject {
        Subject {
            dimension: "item".to_owned(),
            key: key.to_owned(),
        }
    }

    fn params() -> TrendParams {
        TrendParams {
            recent_ms: 24 * HOUR,
            baseline_ms: 6 * 24 * HOUR,
            min_recent: 5,
            min_total: 10,
            fdr: 0.01,
            max_results: 10,
        }
    }

    fn counts(entries: &[(&str, u64, u64)]) -> HashMap<Subject, WindowCounts> {
        entries
            .iter()
            .map(|(k, recent, baseline)| {
                let c = WindowCounts {
                    recent: *recent,
                    baseline: *baseline,
                };
                (item(k), c)
            })
            .collect()
    }

    #[test]
    fn windows_split_at_the_boundaries() {
        let s = item("a");
        let now = 1_000 * HOUR;
        let obs = [
            (&s, now - 1),                 // recent
            (&s, now - 24 * HOUR),         // recent (inclusive start)
            (&s, now - 24 * HOUR - 1),     // baseline
            (&s, now - 7 * 24 * HOUR),     // baseline start
            (&s, now - 7 * 24 * HOUR - 1), // too old
            (&s, now),                     // in the future
        ];
        let c = count_windows(obs, now, &params())[&s];
        assert_eq!(
            c,
            WindowCounts {
                recent: 2,
                baseline: 2
            }
        );
    }

    #[test]
    fn a_tripled_rate_is_a_trend_and_a_steady_one_is_not() {
        // Baseline 6 days at 10/day = 60; steady recent 10, rising recent 30.
        let found = detect(
            &counts(&[("steady", 10, 60), ("rising", 30, 60)]),
            &params(),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        let t = &found[0];
        assert_eq!(t.subject.key, "rising");
        assert!((t.expected - 10.0).abs() < 1e-9);
        assert!(t.z > 4.0 && t.p_value < 1e-4, "{t:?}");
        assert!(t.lift > 2.5);
    }

    #[test]
    fn falling_and_low_support_subjects_are_not_reported() {
        let found = detect(
            &counts(&[("falling", 5, 200), ("tiny", 4, 0), ("new", 12, 0)]),
            &params(),
        );
        let keys: Vec<&str> = found.iter().map(|t| t.subject.key.as_str()).collect();
        assert_eq!(keys, vec!["new"]);
    }

    #[test]
    fn ranked_by_z_and_capped() {
        let mut p = params();
        p.max_results = 2;
        let found = detect(
            &counts(&[("x2", 40, 120), ("x5", 50, 60), ("x3", 60, 120)]),
            &p,
        );
        let keys: Vec<&str> = found.iter().map(|t| t.subject.key.as_str()).collect();
        assert_eq!(keys, vec!["x5", "x3"]);
        assert!(found[0].z >= found[1].z);
    }
}
