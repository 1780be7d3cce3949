//! Synthetic but structured data with a known truth, for tests, the offline
//! evaluation and benchmarks: seasonal count series with injected anomalies,
//! and users with latent taste clusters.
//!
//! Deterministic for a seed (a SplitMix64 generator, so no `rand` dependency
//! and the same numbers on every platform).

use super::recs::Interaction;

/// A small deterministic PRNG (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5851_F42D_4C95_7F2D)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }

    /// A Poisson draw with mean `lambda` (Knuth for small means, a rounded
    /// normal approximation above 30, where it is accurate enough for tests).
    pub fn poisson(&mut self, lambda: f64) -> f64 {
        if lambda <= 0.0 {
            return 0.0;
        }
        if lambda > 30.0 {
            let (u1, u2) = (self.uniform().max(1e-12), self.uniform());
            let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            return (lambda + lambda.sqrt() * normal).round().max(0.0);
        }
        let limit = (-lambda).exp();
        let mut k = 0.0;
        let mut p = self.uniform();
        while p > limit {
            k += 1.0;
            p *= self.uniform();
        }
        k
    }

    /// An index in `0..n` drawn with Zipf-like weights `1 / (i + 1)^s`.
    pub fn zipf(&mut self, n: usize, s: f64) -> usize {
        let total: f64 = (0..n).map(|i| 1.0 / ((i + 1) as f64).powf(s)).sum();
        let mut target = self.uniform() * total;
        for i in 0..n {
            target -= 1.0 / ((i + 1) as f64).powf(s);
            if target <= 0.0 {
                return i;
            }
        }
        n.saturating_sub(1)
    }
}

/// Shape of a synthetic hourly count series.
#[derive(Debug, Clone)]
pub struct SeriesSpec {
    /// Length in weeks (168 hourly points each).
    pub weeks: usize,
    /// Mean hourly count.
    pub level: f64,
    /// Relative growth of the level per week.
    pub growth_per_week: f64,
    /// How many anomalies to inject (half spikes, half dips).
    pub anomalies: usize,
    /// Generator seed.
    pub seed: u64,
}

impl Default for SeriesSpec {
    fn default() -> Self {
        Self {
            weeks: 6,
            level: 60.0,
            growth_per_week: 0.0,
            anomalies: 10,
            seed: 1,
        }
    }
}

/// A series and where its anomalies were injected.
#[derive(Debug, Clone)]
pub struct Series {
    /// Hourly counts; index 0 is Monday 00:00.
    pub values: Vec<f64>,
    /// Indices of the injected anomalies, sorted.
    pub anomalies: Vec<usize>,
}

/// The expected count at hour `t`: daily cycle (quiet nights), quieter weekends, growth.
pub fn seasonal_mean(spec: &SeriesSpec, t: usize) -> f64 {
    let hour = (t % 24) as f64;
    let daily = 1.0 + 0.7 * ((hour - 9.0) / 24.0 * std::f64::consts::TAU).sin();
    let weekend = if (t / 24) % 7 >= 5 { 0.6 } else { 1.0 };
    let growth = 1.0 + spec.growth_per_week * t as f64 / 168.0;
    (spec.level * daily * weekend * growth).max(1.0)
}

/// Poisson counts around [`seasonal_mean`], with spikes (×3) and dips (×0.15)
/// injected at distinct, non-adjacent hours after the first week.
pub fn seasonal_series(spec: &SeriesSpec) -> Series {
    let mut rng = Rng::new(spec.seed);
    let n = spec.weeks * 168;
    let mut anomalies: Vec<usize> = Vec::new();
    while anomalies.len() < spec.anomalies && n > 336 {
        let t = 168 + rng.below(n - 168);
        if anomalies.iter().all(|&a| a.abs_diff(t) > 2) {
            anomalies.push(t);
        }
    }
    anomalies.sort_unstable();
    let values = (0..n)
        .map(|t| {
            let mut mean = seasonal_mean(spec, t);
            if let Some(pos) = anomalies.iter().position(|&a| a == t) {
                // Dips need a busy hour to be visible at all.
                mean = if pos % 2 == 0 {
                    mean * 3.0
                } else {
                    mean.max(spec.level) * 0.15
                };
            }
            rng.poisson(mean)
        })
        .collect();
    Series { values, anomalies }
}

/// Shape of a synthetic interaction dataset with latent taste clusters.
#[derive(Debug, Clone)]
pub struct ClusteredSpec {
    /// Number of users.
    pub users: usize,
    /// Number of taste clusters (each with its own items).
    pub clusters: usize,
    /// Items per cluster.
    pub items_per_cluster: usize,
    /// Interactions per user: `min..=max` distinct draws.
    pub per_user: (usize, usize),
    /// Probability that an interaction is within the user's cluster; the rest
    /// go to globally popular items (the "everyone watches the hit" effect).
    pub in_cluster: f64,
    /// Generator seed.
    pub seed: u64,
}

impl Default for ClusteredSpec {
    fn default() -> Self {
        Self {
            users: 600,
            clusters: 8,
            items_per_cluster: 40,
            per_user: (6, 16),
            in_cluster: 0.8,
            seed: 7,
        }
    }
}

/// Interactions plus the truth behind them.
#[derive(Debug, Clone)]
pub struct ClusteredData {
    /// One interaction per draw, timestamps increasing per user.
    pub interactions: Vec<Interaction>,
    /// Cluster of each user, by user id (`u{n}`).
    pub user_cluster: Vec<usize>,
}

/// Item `i` of cluster `c` is `c{c}-i{i}`; its category is `c{c}`.
pub fn item_id(cluster: usize, index: usize) -> String {
    format!("c{cluster}-i{index}")
}

/// Users `u0..`, each in a random cluster, drawing items Zipf-distributed
/// within it (and sometimes from the global head), one hour apart.
pub fn clustered_interactions(spec: &ClusteredSpec, start_ms: i64) -> ClusteredData {
    let mut rng = Rng::new(spec.seed);
    let mut interactions = Vec::new();
    let mut user_cluster = Vec::with_capacity(spec.users);
    let span = spec.per_user.1.saturating_sub(spec.per_user.0) + 1;
    for u in 0..spec.users {
        let cluster = rng.below(spec.clusters);
        user_cluster.push(cluster);
        let count = spec.per_user.0 + rng.below(span);
        for n in 0..count {
            let item = if rng.uniform() < spec.in_cluster {
                item_id(cluster, rng.zipf(spec.items_per_cluster, 0.8))
            } else {
                // The global head: the first items of every cluster.
                item_id(rng.below(spec.clusters), rng.zipf(3, 1.0))
            };
            interactions.push(Interaction {
                user: format!("u{u}"),
                item,
                weight: 1.0,
                ts_ms: start_ms + (n as i64) * 3_600_000,
            });
        }
    }
    ClusteredData {
        interactions,
        user_cluster,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = Rng::new(3);
        let mut b = Rng::new(3);
        for _ in 0..100 {
            let x = a.uniform();
            assert_eq!(x, b.uniform());
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn poisson_mean_is_close() {
        let mut rng = Rng::new(11);
        for lambda in [4.0, 80.0] {
            let mean: f64 = (0..4000).map(|_| rng.poisson(lambda)).sum::<f64>() / 4000.0;
            assert!((mean - lambda).abs() < lambda * 0.05, "{lambda}: {mean}");
        }
    }

    #[test]
    fn series_has_the_injected_anomalies() {
        let s = seasonal_series(&SeriesSpec::default());
        assert_eq!(s.values.len(), 6 * 168);
        assert_eq!(s.anomalies.len(), 10);
    }
}
