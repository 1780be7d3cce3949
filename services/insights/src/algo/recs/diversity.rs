//! Diversity: Maximal Marginal Relevance re-ranking with a per-category cap.
//!
//! MMR (Carbonell & Goldstein, 1998) picks, one at a time, the candidate
//! maximising `λ · relevance − (1 − λ) · max similarity to those already
//! picked`, so a list is not ten near-copies of the user's favourite item.

use std::collections::HashMap;

/// A candidate for re-ranking: index, relevance in `[0, 1]`, category.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Item index in the model.
    pub item: u32,
    /// Relevance normalised to `[0, 1]`.
    pub relevance: f64,
    /// Category, if known.
    pub category: Option<u32>,
}

/// Picks up to `k` candidates by MMR. `similarity(a)` lists the known
/// neighbours of `a` with their similarity (absent pairs count as 0).
pub fn mmr<'a>(
    candidates: &[Candidate],
    k: usize,
    lambda: f64,
    max_per_category: Option<usize>,
    similarity: impl Fn(u32) -> &'a [(u32, f32)],
) -> Vec<usize> {
    let position: HashMap<u32, usize> = candidates
        .iter()
        .enumerate()
        .map(|(pos, c)| (c.item, pos))
        .collect();
    // Max similarity of each candidate to the picked set, updated sparsely.
    let mut redundancy = vec![0.0f64; candidates.len()];
    let mut taken = vec![false; candidates.len()];
    let mut per_category: HashMap<u32, usize> = HashMap::new();
    let mut picked = Vec::with_capacity(k);
    while picked.len() < k {
        let best = candidates
            .iter()
            .enumerate()
            .filter(|(pos, c)| {
                !taken[*pos]
                    && match (c.category, max_per_category) {
                        (Some(cat), Some(cap)) => {
                            per_category.get(&cat).copied().unwrap_or(0) < cap
                        }
                        _ => true,
                    }
            })
            .map(|(pos, c)| (pos, lambda * c.relevance - (1.0 - lambda) * redundancy[pos]))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let Some((pos, _)) = best else { break };
        taken[pos] = true;
        picked.push(pos);
        if let Some(cat) = candidates[pos].category {
            *per_category.entry(cat).or_default() += 1;
        }
        for &(other, sim) in similarity(candidates[pos].item) {
            if let Some(&o) = position.get(&other) {
                redundancy[o] = redundancy[o].max(f64::from(sim));
            }
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(item: u32, relevance: f64, category: Option<u32>) -> Candidate {
        Candidate {
            item,
            relevance,
            category,
        }
    }

    #[test]
    fn lambda_one_is_plain_ranking() {
        let c = [cand(0, 0.5, None), cand(1, 1.0, None), cand(2, 0.7, None)];
        assert_eq!(mmr(&c, 3, 1.0, None, |_| &[]), vec![1, 2, 0]);
    }

    #[test]
    fn near_duplicates_are_pushed_down() {
        // Items 0 and 1 are near-identical; 2 is different and a bit less relevant.
        let sims: HashMap<u32, Vec<(u32, f32)>> =
            HashMap::from([(0, vec![(1, 0.95)]), (1, vec![(0, 0.95)]), (2, vec![])]);
        let c = [cand(0, 1.0, None), cand(1, 0.95, None), cand(2, 0.8, None)];
        let order = mmr(&c, 3, 0.7, None, |i| sims[&i].as_slice());
        assert_eq!(order, vec![0, 2, 1]);
    }

    #[test]
    fn category_cap_is_enforced() {
        let c = [
            cand(0, 1.0, Some(1)),
            cand(1, 0.9, Some(1)),
            cand(2, 0.8, Some(1)),
            cand(3, 0.1, Some(2)),
            cand(4, 0.05, None),
        ];
        let order = mmr(&c, 5, 1.0, Some(2), |_| &[]);
        assert_eq!(order, vec![0, 1, 3, 4]);
    }
}
