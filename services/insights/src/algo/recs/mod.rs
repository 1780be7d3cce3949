//! Recommendations: item-to-item cosine similarity over implicit feedback.
//!
//! - [`model`]: [`Model::train`] builds user profiles (weighted, optionally
//!   time-decayed), item–item cosine neighbours and the popularity ranking;
//!   [`Model::for_user`] and [`Model::similar`] answer queries.
//! - [`profiles`]: [`Profiles`], the accumulated (user, item) weights the
//!   model is derived from; folding events in batches gives the same profiles.
//! - [`diversity`]: MMR re-ranking and a per-category cap.
//! - [`evaluate`]: leave-last-out split and hit-rate@k against popularity.

pub mod diversity;
pub mod evaluate;
pub mod model;
pub mod profiles;

use serde::Serialize;

pub use model::Model;
pub use profiles::Profiles;

/// One implicit-feedback signal: `user` did something to `item`.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// Actor id (or anonymous id).
    pub user: String,
    /// Item id.
    pub item: String,
    /// How much this kind of event says about taste (a purchase > a view).
    pub weight: f64,
    /// When it happened, milliseconds since the epoch.
    pub ts_ms: i64,
}

/// Model settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RecParams {
    /// Neighbours kept per item.
    pub neighbours: usize,
    /// Length of the precomputed lists (the largest `k` served).
    pub list_len: usize,
    /// Half-life of an interaction's weight; `None` disables time decay.
    pub half_life_ms: Option<i64>,
    /// Only a user's most recent this-many items enter the similarity
    /// computation, which bounds its cost at `O(users × cap²)`.
    pub max_profile: usize,
    /// MMR trade-off: 1.0 is pure relevance, lower values favour diversity.
    pub mmr_lambda: f64,
    /// At most this many items of one category per list (items without a category are exempt).
    pub max_per_category: Option<usize>,
}

impl Default for RecParams {
    fn default() -> Self {
        Self {
            neighbours: 50,
            list_len: 50,
            half_life_ms: Some(30 * 24 * 3_600_000),
            max_profile: 200,
            mmr_lambda: 0.8,
            max_per_category: None,
        }
    }
}

/// Why an item is on a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Similar to what the user (or the given item) interacted with.
    Similar,
    /// Rising right now (cold-start fallback).
    Trending,
    /// Popular overall (cold-start fallback and filler).
    Popular,
}

/// A recommended item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// Item id.
    pub item: String,
    /// Relevance (cosine-weighted for `similar`, normalised popularity otherwise).
    pub score: f64,
    /// Where it came from.
    pub reason: Reason,
}
