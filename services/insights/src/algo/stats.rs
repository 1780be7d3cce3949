//! Small statistics helpers: the normal tail, medians and the MAD.
//!
//! Written here rather than pulled from a crate because we need four
//! functions, and each is short enough to check against known values.

/// Scale that makes the MAD a consistent estimator of a normal's σ.
pub const MAD_TO_SIGMA: f64 = 1.4826;

/// `P(Z > z)` for a standard normal `Z` (one-sided upper tail).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, with fractional error below 1.2e-7
/// everywhere (Chebyshev fit from Numerical Recipes, `erfcc`).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The median of `values` (mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

/// Median absolute deviation around `center`; `None` when empty.
pub fn mad(values: &[f64], center: f64) -> Option<f64> {
    let deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median(&deviations)
}

/// Benjamini–Hochberg: which of `p_values` are discoveries at false-discovery
/// rate `q`. Used so that testing thousands of items does not flood the trend
/// list with chance winners.
pub fn benjamini_hochberg(p_values: &[f64], q: f64) -> Vec<bool> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    // The largest rank k with p_(k) <= k/m * q; every p at or below it is kept.
    let cutoff = order
        .iter()
        .enumerate()
        .filter(|(rank, idx)| p_values[**idx] <= (rank + 1) as f64 / m as f64 * q)
        .map(|(rank, _)| rank)
        .next_back();
    let mut keep = vec![false; m];
    if let Some(cutoff) = cutoff {
        for &idx in &order[..=cutoff] {
            keep[idx] = true;
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_tail_matches_tables() {
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_sf(1.96) - 0.024_997_9).abs() < 1e-6);
        assert!((normal_sf(3.0) - 0.001_349_9).abs() < 1e-6);
        assert!((normal_sf(-1.0) - 0.841_344_7).abs() < 1e-6);
    }

    #[test]
    fn median_and_mad() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        // Deviations from 2: 1, 0, 1, 2, 98 -> median 1; the outlier does not move it.
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 100.0], 2.0), Some(1.0));
    }

    #[test]
    fn bh_keeps_the_step_up_set() {
        // m = 4, q = 0.05: thresholds 0.0125, 0.025, 0.0375, 0.05.
        let keep = benjamini_hochberg(&[0.01, 0.03, 0.02, 0.5], 0.05);
        assert_eq!(keep, vec![true, true, true, false]);
        // Step-up: 0.04 misses its rank-2 threshold (0.033) but is kept because
        // rank 3 passes (0.045 <= 0.05).
        let keep = benjamini_hochberg(&[0.001, 0.04, 0.045], 0.05);
        assert_eq!(keep, vec![true, true, true]);
        assert_eq!(benjamini_hochberg(&[0.2, 0.3], 0.05), vec![false, false]);
    }
}
