//! Mergeable sketches for the aggregation worker: [`Hll`] for distinct counts and
//! [`DdSketch`] for quantiles. Both are written here (about a hundred lines each) rather
//! than taken from a crate because their state is persisted in rollups and merged across
//! worker versions: the byte format and the hash must stay fixed, which a crate's serde
//! representation and hasher choice do not promise.

mod ddsketch;
mod hll;

pub use ddsketch::DdSketch;
pub use hll::Hll;
