//! [`Profiles`]: the accumulated implicit feedback the model is derived from.
//!
//! An interaction at `ts` adds `weight × 0.5^(max(anchor − ts, 0) / half-life)`
//! to its (user, item) cell. The decay is measured from a fixed `anchor`
//! rather than from "now", so the sum is the same whether the events arrive in
//! one batch or in many: that is what lets the service fold in new events
//! incrementally and get exactly what a full recompute (anchored at the same
//! instant) would. Events after the anchor count at full weight until the next
//! full rebuild moves the anchor.
//!
//! Ordered maps throughout: the model derived from equal profiles must be equal
//! to the last bit, whatever order the users arrived in.

use std::collections::BTreeMap;

use super::Interaction;

/// One (user, item) cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Σ event weight × decay (relative to the anchor).
    pub weight: f64,
    /// The latest interaction, milliseconds since the epoch.
    pub last_ms: i64,
}

/// Per user, per item accumulated weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profiles {
    /// The instant decay is measured from.
    pub anchor_ms: i64,
    /// Half-life of an interaction's weight; `None`: no decay.
    pub half_life_ms: Option<i64>,
    /// user → item → cell.
    pub users: BTreeMap<String, BTreeMap<String, Cell>>,
}

impl Profiles {
    /// Empty profiles decayed from `anchor_ms`.
    pub fn new(anchor_ms: i64, half_life_ms: Option<i64>) -> Self {
        Self {
            anchor_ms,
            half_life_ms,
            users: BTreeMap::new(),
        }
    }

    /// Profiles of `interactions`.
    pub fn of(interactions: &[Interaction], anchor_ms: i64, half_life_ms: Option<i64>) -> Self {
        let mut profiles = Self::new(anchor_ms, half_life_ms);
        interactions.iter().for_each(|i| profiles.add(i));
        profiles
    }

    /// Folds in one interaction.
    pub fn add(&mut self, interaction: &Interaction) {
        let decay = match self.half_life_ms {
            Some(h) if h > 0 => {
                0.5f64.powf((self.anchor_ms - interaction.ts_ms).max(0) as f64 / h as f64)
            }
            _ => 1.0,
        };
        let cell = self
            .users
            .entry(interaction.user.clone())
            .or_default()
            .entry(interaction.item.clone())
            .or_insert(Cell {
                weight: 0.0,
                last_ms: i64::MIN,
            });
        cell.weight += interaction.weight.max(0.0) * decay;
        cell.last_ms = cell.last_ms.max(interaction.ts_ms);
    }

    /// Number of (user, item) cells.
    pub fn cells(&self) -> usize {
        self.users.values().map(BTreeMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(user: &str, item: &str, weight: f64, ts_ms: i64) -> Interaction {
        Interaction {
            user: user.to_owned(),
            item: item.to_owned(),
            weight,
            ts_ms,
        }
    }

    #[test]
    fn decay_is_measured_from_the_anchor_and_later_events_count_fully() {
        let p = Profiles::of(
            &[
                i("u", "a", 2.0, 0),
                i("u", "a", 1.0, 200),
                i("u", "b", 1.0, 50),
            ],
            100,
            Some(100),
        );
        let a = p.users["u"]["a"];
        assert!((a.weight - (1.0 + 1.0)).abs() < 1e-12, "{a:?}");
        assert_eq!(a.last_ms, 200);
        assert!((p.users["u"]["b"].weight - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(p.cells(), 2);
    }

    #[test]
    fn batches_add_up_to_the_whole() {
        let events = [
            i("u", "a", 1.0, 5),
            i("v", "a", 3.0, 7),
            i("u", "b", 5.0, 9),
        ];
        let whole = Profiles::of(&events, 10, Some(4));
        let mut parts = Profiles::new(10, Some(4));
        events.iter().for_each(|e| parts.add(e));
        assert_eq!(whole, parts);
    }
}
