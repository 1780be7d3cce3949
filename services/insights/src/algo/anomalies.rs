//! Anomaly detection on an evenly spaced series (hourly counts).
//!
//! 1. Counts are put on a variance-stabilised scale (Anscombe: `2 sqrt(x + 3/8)`
//!    has variance about 1 for Poisson counts at any level), so a quiet night
//!    and a busy afternoon share one noise scale.
//! 2. Baseline, STL-like but robust: a level (centred rolling median over one
//!    season) plus a seasonal term (median of the detrended values at the same
//!    phase — same hour of week, else of day — excluding the point itself, so
//!    an anomaly never explains itself away).
//! 3. Robust z-score of the residuals: `(r - median) / (1.4826 MAD)`; a point
//!    is anomalous when `|z|` exceeds the threshold.

use serde::Serialize;

use super::stats::{MAD_TO_SIGMA, mad, median};

/// Hours in a week and in a day: the seasons we look for, longest first.
pub const SEASONS: [usize; 2] = [168, 24];

/// How values are transformed before fitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// Use values as they are.
    Identity,
    /// `2 sqrt(x + 3/8)`, for counts.
    Anscombe,
}

impl Transform {
    fn apply(self, x: f64) -> f64 {
        match self {
            Self::Identity => x,
            Self::Anscombe => 2.0 * (x.max(0.0) + 0.375).sqrt(),
        }
    }

    fn invert(self, y: f64) -> f64 {
        match self {
            Self::Identity => y,
            Self::Anscombe => ((y / 2.0).powi(2) - 0.375).max(0.0),
        }
    }
}

/// Detector settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyParams {
    /// `|z|` above this is an anomaly (3.5 is the usual robust-z cut-off).
    pub threshold: f64,
    /// A season is used only when the series covers at least this many of it.
    pub min_cycles: usize,
    /// Floor for the residual scale, so a flat series does not make every wiggle infinite.
    pub min_scale: f64,
    /// The value transform.
    pub transform: Transform,
}

impl Default for AnomalyParams {
    fn default() -> Self {
        Self {
            threshold: 3.5,
            min_cycles: 3,
            min_scale: 0.5,
            transform: Transform::Anscombe,
        }
    }
}

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Higher than expected.
    Spike,
    /// Lower than expected.
    Dip,
}

/// One anomalous point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    /// Position in the series.
    pub index: usize,
    /// The observed value.
    pub value: f64,
    /// The baseline, in the series' units.
    pub expected: f64,
    /// Robust z-score of the residual.
    pub z: f64,
    /// Spike or dip.
    pub direction: Direction,
}

/// The fitted baseline and the anomalies found.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The season used (168, 24), or `None` when the series is too short for any.
    pub season: Option<usize>,
    /// Anomalies, in series order.
    pub anomalies: Vec<Anomaly>,
}

/// Fits the baseline to `values` and returns the points whose robust z exceeds the threshold.
pub fn detect(values: &[f64], params: &AnomalyParams) -> Fit {
    let y: Vec<f64> = values.iter().map(|&v| params.transform.apply(v)).collect();
    let season = SEASONS
        .into_iter()
        .find(|&p| y.len() >= p * params.min_cycles.max(2));
    let baseline = match season {
        Some(p) => seasonal_baseline(&y, p),
        None => vec![median(&y).unwrap_or(0.0); y.len()],
    };
    let residuals: Vec<f64> = y.iter().zip(&baseline).map(|(a, b)| a - b).collect();
    let center = median(&residuals).unwrap_or(0.0);
    let scale = (MAD_TO_SIGMA * mad(&residuals, center).unwrap_or(0.0)).max(params.min_scale);
    let anomalies = residuals
        .iter()
        .enumerate()
        .filter_map(|(index, r)| {
            let z = (r - center) / scale;
            (z.abs() > params.threshold).then(|| Anomaly {
                index,
                value: values[index],
                expected: params.transform.invert(baseline[index]),
                z,
                direction: if z > 0.0 {
                    Direction::Spike
                } else {
                    Direction::Dip
                },
            })
        })
        .collect();
    Fit { season, anomalies }
}

/// Level (rolling median over one season) plus the leave-one-out phase median of the rest.
fn seasonal_baseline(y: &[f64], period: usize) -> Vec<f64> {
    let half = period / 2;
    let level: Vec<f64> = (0..y.len())
        .map(|t| {
            let lo = t.saturating_sub(half);
            let hi = (t + half + 1).min(y.len());
            median(&y[lo..hi]).unwrap_or(0.0)
        })
        .collect();
    let detrended: Vec<f64> = y.iter().zip(&level).map(|(a, b)| a - b).collect();
    (0..y.len())
        .map(|t| {
            let same_phase: Vec<f64> = (t % period..y.len())
                .step_by(period)
                .filter(|&u| u != t)
                .map(|u| detrended[u])
                .collect();
            level[t] + median(&same_phase).unwrap_or(0.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::synthetic::{SeriesSpec, seasonal_series};

    /// Precision and recall of `found` against the injected indices.
    fn score(found: &[Anomaly], truth: &[usize]) -> (f64, f64) {
        let hits = found.iter().filter(|a| truth.contains(&a.index)).count() as f64;
        let precision = if found.is_empty() {
            1.0
        } else {
            hits / found.len() as f64
        };
        (precision, hits / truth.len() as f64)
    }

    #[test]
    fn finds_injected_anomalies_in_weekly_seasonal_counts() {
        let mut precisions = Vec::new();
        let mut recalls = Vec::new();
        for seed in 1..=5 {
            let series = seasonal_series(&SeriesSpec {
                weeks: 6,
                anomalies: 12,
                seed,
                ..SeriesSpec::default()
            });
            let fit = detect(&series.values, &AnomalyParams::default());
            assert_eq!(fit.season, Some(168));
            let (p, r) = score(&fit.anomalies, &series.anomalies);
            precisions.push(p);
            recalls.push(r);
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (p, r) = (mean(&precisions), mean(&recalls));
        println!("anomaly detection over 5 synthetic series: precision {p:.3}, recall {r:.3}");
        assert!(p >= 0.8, "precision {p:.3} ({precisions:?})");
        assert!(r >= 0.8, "recall {r:.3} ({recalls:?})");
    }

    #[test]
    fn a_growing_series_without_anomalies_is_quiet() {
        let series = seasonal_series(&SeriesSpec {
            weeks: 4,
            anomalies: 0,
            growth_per_week: 0.3,
            seed: 9,
            ..SeriesSpec::default()
        });
        let fit = detect(&series.values, &AnomalyParams::default());
        assert!(fit.anomalies.len() <= 2, "{:?}", fit.anomalies);
    }

    #[test]
    fn short_series_fall_back_to_daily_then_to_the_median() {
        let daily: Vec<f64> = (0..96).map(|h| 10.0 + (h % 24) as f64).collect();
        assert_eq!(detect(&daily, &AnomalyParams::default()).season, Some(24));
        let mut flat = vec![20.0; 10];
        flat[4] = 90.0;
        let fit = detect(&flat, &AnomalyParams::default());
        assert_eq!(fit.season, None);
        assert_eq!(fit.anomalies.len(), 1);
        let a = &fit.anomalies[0];
        assert_eq!((a.index, a.direction), (4, Direction::Spike));
        assert!((a.expected - 20.0).abs() < 1e-9);
    }

    #[test]
    fn empty_series_is_fine() {
        assert!(detect(&[], &AnomalyParams::default()).anomalies.is_empty());
    }
}
