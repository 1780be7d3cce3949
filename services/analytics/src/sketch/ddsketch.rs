//! DDSketch (Masson, Rim, Lee, VLDB 2019): values go to logarithmic buckets
//! `ceil(log_γ |x|)` with `γ = (1+α)/(1−α)`, so every quantile is answered within
//! relative error `α` of the true value, and two sketches merge by adding bucket counts.

use std::collections::BTreeMap;

/// Relative accuracy of the sketches the worker keeps.
pub const DEFAULT_ALPHA: f64 = 0.01;
/// Values closer to zero than this count as zero.
const MIN_INDEXABLE: f64 = 1e-9;

/// A quantile sketch of `f64` values.
#[derive(Debug, Clone, PartialEq)]
pub struct DdSketch {
    alpha: f64,
    gamma_ln: f64,
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
    zero: u64,
    count: u64,
}

impl Default for DdSketch {
    fn default() -> Self {
        Self::new(DEFAULT_ALPHA)
    }
}

impl DdSketch {
    /// An empty sketch with relative accuracy `alpha` (0 < α < 1).
    pub fn new(alpha: f64) -> Self {
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        Self {
            alpha,
            gamma_ln: gamma.ln(),
            positive: BTreeMap::new(),
            negative: BTreeMap::new(),
            zero: 0,
            count: 0,
        }
    }

    /// The relative accuracy.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn index(&self, magnitude: f64) -> i32 {
        (magnitude.ln() / self.gamma_ln).ceil() as i32
    }

    fn value(&self, index: i32) -> f64 {
        // The point of bucket (γ^(i-1), γ^i] with relative error α to both ends.
        2.0 * (self.gamma_ln * f64::from(index)).exp() / (1.0 + self.gamma_ln.exp())
    }

    /// Adds a value (NaN and infinities are ignored).
    pub fn insert(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.count += 1;
        if x.abs() < MIN_INDEXABLE {
            self.zero += 1;
        } else if x > 0.0 {
            *self.positive.entry(self.index(x)).or_default() += 1;
        } else {
            *self.negative.entry(self.index(-x)).or_default() += 1;
        }
    }

    /// Merges `other` (same α) in: the sketch of both inputs.
    pub fn merge(&mut self, other: &Self) {
        for (i, c) in &other.positive {
            *self.positive.entry(*i).or_default() += c;
        }
        for (i, c) in &other.negative {
            *self.negative.entry(*i).or_default() += c;
        }
        self.zero += other.zero;
        self.count += other.count;
    }

    /// The `q`-quantile (0 ≤ q ≤ 1): within α of the value of rank `floor(q·(n−1))`.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = (q * (self.count - 1) as f64).floor() as u64;
        let mut seen = 0u64;
        for (i, c) in self.negative.iter().rev() {
            seen += c;
            if seen > rank {
                return Some(-self.value(*i));
            }
        }
        seen += self.zero;
        if seen > rank {
            return Some(0.0);
        }
        for (i, c) in &self.positive {
            seen += c;
            if seen > rank {
                return Some(self.value(*i));
            }
        }
        None
    }

    /// Bytes for storage: version `1`, α, zero count, then both stores as
    /// `(len u32, (index i32, count u64)*)`, big-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![1u8];
        out.extend_from_slice(&self.alpha.to_be_bytes());
        out.extend_from_slice(&self.zero.to_be_bytes());
        for store in [&self.positive, &self.negative] {
            out.extend_from_slice(&(store.len() as u32).to_be_bytes());
            for (i, c) in store {
                out.extend_from_slice(&i.to_be_bytes());
                out.extend_from_slice(&c.to_be_bytes());
            }
        }
        out
    }

    /// The sketch stored by [`DdSketch::to_bytes`]; `None` when the bytes are not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut reader = Reader(bytes);
        if reader.take::<1>()? != [1] {
            return None;
        }
        let alpha = f64::from_be_bytes(reader.take()?);
        if !(alpha > 0.0 && alpha < 1.0) {
            return None;
        }
        let mut sketch = Self::new(alpha);
        sketch.zero = u64::from_be_bytes(reader.take()?);
        sketch.count = sketch.zero;
        for negative in [false, true] {
            let len = u32::from_be_bytes(reader.take()?);
            for _ in 0..len {
                let i = i32::from_be_bytes(reader.take()?);
                let c = u64::from_be_bytes(reader.take()?);
                sketch.count += c;
                let store = if negative {
                    &mut sketch.negative
                } else {
                    &mut sketch.positive
                };
                store.insert(i, c);
            }
        }
        reader.0.is_empty().then_some(sketch)
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed pseudo-random sequence (xorshift64*), so the test data never changes.
    fn uniform(seed: &mut u64) -> f64 {
        *seed ^= *seed >> 12;
        *seed ^= *seed << 25;
        *seed ^= *seed >> 27;
        (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn exact(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
    }

    #[test]
    fn quantiles_are_within_the_relative_error_bound() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        // Latency-like data: log-normal-ish over five orders of magnitude, some negatives, zeros.
        let mut values: Vec<f64> = (0..100_000)
            .map(|i| {
                let u = uniform(&mut seed);
                match i % 50 {
                    0 => 0.0,
                    1 => -(u * 100.0),
                    _ => (u * 11.5).exp() / 10.0,
                }
            })
            .collect();
        let mut sketch = DdSketch::default();
        for v in &values {
            sketch.insert(*v);
        }
        values.sort_by(f64::total_cmp);
        for q in [0.0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let truth = exact(&values, q);
            let got = sketch.quantile(q).expect("quantile");
            let error = if truth == 0.0 {
                got.abs()
            } else {
                ((got - truth) / truth).abs()
            };
            assert!(
                error <= DEFAULT_ALPHA + 1e-12,
                "q={q} truth={truth} got={got}"
            );
        }
    }

    #[test]
    fn merge_equals_one_sketch_of_everything() {
        let (mut a, mut b, mut all) = (
            DdSketch::default(),
            DdSketch::default(),
            DdSketch::default(),
        );
        for i in 1..=1_000 {
            let v = f64::from(i) * 1.5;
            if i % 3 == 0 {
                a.insert(v)
            } else {
                b.insert(v)
            }
            all.insert(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        assert_eq!(a.count(), 1_000);
    }

    #[test]
    fn bytes_round_trip() {
        let mut s = DdSketch::default();
        for v in [-3.0, 0.0, 1.0, 250.0, 1e6] {
            s.insert(v);
        }
        assert_eq!(DdSketch::from_bytes(&s.to_bytes()), Some(s.clone()));
        assert_eq!(DdSketch::from_bytes(&[2]), None);
        assert_eq!(DdSketch::default().quantile(0.5), None);
        let mut bytes = s.to_bytes();
        bytes.push(0);
        assert_eq!(DdSketch::from_bytes(&bytes), None);
    }
}
