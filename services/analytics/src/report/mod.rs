//! Reports computed exactly from stored events (pure): time series, breakdowns,
//! funnels and retention cohorts, and their CSV form. The HTTP layer scans the events;
//! everything here is unit-tested on known data.

pub mod csv;
pub mod funnel;
pub mod retention;
pub mod series;

pub use funnel::{FunnelStep, funnel};
pub use retention::{Cohort, CohortSize, retention};
pub use series::{Aggregate, Point, Series, breakdown, from_cells, timeseries};
