//! The aggregates of a job over the events of one bucket.

use super::bucket::{Bucket, GranularityKey};
use super::{filter, topic};
use crate::event::Event;
use crate::sketch::{DdSketch, Hll};
use chrono::{DateTime, Duration, Utc};
use machina_crds::analytics_job::{AnalyticsJobSpec, Metric, MetricType};
use std::collections::BTreeMap;

/// A job's spec, with what the worker derives from it.
#[derive(Debug, Clone)]
pub struct Job {
    /// The spec.
    pub spec: AnalyticsJobSpec,
    /// Its windows, finest first, without duplicates.
    pub granularities: Vec<GranularityKey>,
}

impl Job {
    /// The job of `spec`.
    pub fn new(spec: AnalyticsJobSpec) -> Self {
        let mut granularities: Vec<GranularityKey> =
            spec.windows.iter().map(|w| (*w).into()).collect();
        granularities.sort();
        granularities.dedup();
        if granularities.is_empty() {
            granularities.push(GranularityKey::Hour);
        }
        Self {
            spec,
            granularities,
        }
    }

    /// Whether the job aggregates `event`: its type matches a source pattern and every
    /// filter accepts it.
    pub fn selects(&self, event: &Event) -> bool {
        self.spec
            .source
            .event_types
            .iter()
            .any(|p| topic::matches(p, &event.kind))
            && self.spec.filters.iter().all(|f| filter::accepts(f, event))
    }

    /// How late an event may arrive after its bucket ends.
    pub fn allowed_lateness(&self) -> Duration {
        Duration::seconds(i64::from(self.spec.allowed_lateness_seconds.max(0)))
    }

    /// The longest window.
    pub fn coarsest(&self) -> GranularityKey {
        self.granularities
            .last()
            .copied()
            .unwrap_or(GranularityKey::Hour)
    }

    /// The buckets holding `ts` that are still open at `now` (end + lateness not passed).
    pub fn open_buckets(&self, ts: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Bucket> {
        self.granularities
            .iter()
            .map(|g| Bucket::of(*g, ts))
            .filter(|b| b.end() + self.allowed_lateness() > now)
            .collect()
    }
}

/// The state of one metric.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricState {
    /// Events.
    Count(u64),
    /// Sum of the numeric values.
    Sum(f64),
    /// Smallest value, if any.
    Min(Option<f64>),
    /// Largest value, if any.
    Max(Option<f64>),
    /// Sum and number of values.
    Average {
        /// Sum.
        sum: f64,
        /// Values.
        count: u64,
    },
    /// Distinct values.
    Unique(Hll),
    /// Quantile sketch and the percentiles reported.
    Percentiles {
        /// Sketch.
        sketch: DdSketch,
        /// Percentiles (0–100).
        percentiles: Vec<f64>,
    },
}

impl MetricState {
    fn new(metric: &Metric) -> Self {
        match metric.type_ {
            MetricType::Count => Self::Count(0),
            MetricType::Sum => Self::Sum(0.0),
            MetricType::Min => Self::Min(None),
            MetricType::Max => Self::Max(None),
            MetricType::Average => Self::Average { sum: 0.0, count: 0 },
            MetricType::Unique => Self::Unique(Hll::default()),
            MetricType::Percentiles => Self::Percentiles {
                sketch: DdSketch::default(),
                percentiles: metric.percentiles.clone().unwrap_or_default(),
            },
        }
    }

    fn add(&mut self, metric: &Metric, event: &Event) {
        let property = metric.property.as_deref().unwrap_or_default();
        if let Self::Count(n) = self {
            *n += 1;
            return;
        }
        if let Self::Unique(hll) = self {
            if let Some(v) = event.dimension(property) {
                hll.insert(&v);
            }
            return;
        }
        let Some(x) = event.number(property) else {
            return;
        };
        match self {
            Self::Sum(s) => *s += x,
            Self::Min(m) => *m = Some(m.map_or(x, |m| m.min(x))),
            Self::Max(m) => *m = Some(m.map_or(x, |m| m.max(x))),
            Self::Average { sum, count } => {
                *sum += x;
                *count += 1;
            }
            Self::Percentiles { sketch, .. } => sketch.insert(x),
            Self::Count(_) | Self::Unique(_) => {}
        }
    }
}

/// One rollup: a bucket, the values of the job's dimensions, and every metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    /// The bucket.
    pub bucket: Bucket,
    /// Dimension name and value (`None` when the event lacks the field).
    pub dimensions: Vec<(String, Option<String>)>,
    /// Events aggregated.
    pub count: u64,
    /// Metric name and state, in spec order.
    pub metrics: Vec<(String, MetricState)>,
}

/// The rollups of `bucket` from `events` (those outside the bucket or not selected by
/// the job are ignored; duplicates by id count once), ordered by dimension values.
pub fn compute<'a>(
    job: &Job,
    bucket: Bucket,
    events: impl IntoIterator<Item = &'a Event>,
) -> Vec<Rollup> {
    let mut seen = std::collections::HashSet::new();
    let mut groups: BTreeMap<Vec<Option<String>>, Rollup> = BTreeMap::new();
    for event in events {
        if !bucket.contains(event.timestamp) || !job.selects(event) || !seen.insert(&event.id) {
            continue;
        }
        let values: Vec<Option<String>> = job
            .spec
            .dimensions
            .iter()
            .map(|d| event.dimension(d))
            .collect();
        let rollup = groups.entry(values.clone()).or_insert_with(|| Rollup {
            bucket,
            dimensions: job.spec.dimensions.iter().cloned().zip(values).collect(),
            count: 0,
            metrics: job
                .spec
                .metrics
                .iter()
                .map(|m| (m.name.clone(), MetricState::new(m)))
                .collect(),
        });
        rollup.count += 1;
        for (metric, (_, state)) in job.spec.metrics.iter().zip(rollup.metrics.iter_mut()) {
            state.add(metric, event);
        }
    }
    groups.into_values().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn mk_job() -> Job {
        let spec: AnalyticsJobSpec = serde_json::from_value(json!({
            "platformRef": {"name": "acme"},
            "source": {"eventTypes": ["item.*"]},
            "filters": [{"field": "properties.country", "op": "Ne", "value": "XX"}],
            "dimensions": ["type", "properties.country"],
            "metrics": [
                {"name": "events", "type": "Count"},
                {"name": "revenue", "type": "Sum", "property": "properties.price"},
                {"name": "cheapest", "type": "Min", "property": "properties.price"},
                {"name": "dearest", "type": "Max", "property": "properties.price"},
                {"name": "avg_price", "type": "Average", "property": "properties.price"},
                {"name": "users", "type": "Unique", "property": "actorId"},
                {"name": "latency", "type": "Percentiles", "property": "properties.ms", "percentiles": [50, 99]}
            ],
            "windows": ["Hour", "Minute"]
        }))
        .expect("spec");
        Job::new(spec)
    }

    pub(crate) fn mk_event(
        id: &str,
        kind: &str,
        ts: &str,
        actor: &str,
        country: &str,
        price: f64,
    ) -> Event {
        serde_json::from_value(
            json!({"id": id, "type": kind, "timestamp": ts, "actorId": actor,
            "properties": {"country": country, "price": price, "ms": price * 10.0}}),
        )
        .expect("event")
    }

    #[test]
    fn aggregates_per_dimension_values_with_duplicates_once() {
        let job = mk_job();
        assert_eq!(
            job.granularities,
            [GranularityKey::Minute, GranularityKey::Hour]
        );
        let events = vec![
            mk_event(
                "1",
                "item.purchased",
                "2026-01-01T10:05:00Z",
                "a",
                "DE",
                10.0,
            ),
            mk_event(
                "2",
                "item.purchased",
                "2026-01-01T10:06:00Z",
                "b",
                "DE",
                30.0,
            ),
            mk_event(
                "2",
                "item.purchased",
                "2026-01-01T10:06:00Z",
                "b",
                "DE",
                30.0,
            ),
            mk_event(
                "3",
                "item.purchased",
                "2026-01-01T10:07:00Z",
                "a",
                "FR",
                5.0,
            ),
            mk_event("4", "page.viewed", "2026-01-01T10:07:00Z", "a", "FR", 5.0),
            mk_event(
                "5",
                "item.purchased",
                "2026-01-01T10:07:00Z",
                "a",
                "XX",
                5.0,
            ),
            mk_event(
                "6",
                "item.purchased",
                "2026-01-01T11:07:00Z",
                "a",
                "DE",
                5.0,
            ),
        ];
        let bucket = Bucket::of(GranularityKey::Hour, events[0].timestamp);
        let rollups = compute(&job, bucket, &events);
        assert_eq!(rollups.len(), 2);
        let de = &rollups[0];
        assert_eq!(
            de.dimensions[1],
            ("properties.country".into(), Some("DE".into()))
        );
        assert_eq!(de.count, 2);
        let m = |name: &str| {
            de.metrics
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| s.clone())
        };
        assert_eq!(m("events"), Some(MetricState::Count(2)));
        assert_eq!(m("revenue"), Some(MetricState::Sum(40.0)));
        assert_eq!(m("cheapest"), Some(MetricState::Min(Some(10.0))));
        assert_eq!(m("dearest"), Some(MetricState::Max(Some(30.0))));
        assert_eq!(
            m("avg_price"),
            Some(MetricState::Average {
                sum: 40.0,
                count: 2
            })
        );
        let Some(MetricState::Unique(hll)) = m("users") else {
            panic!("unique")
        };
        assert_eq!(hll.estimate(), 2.0);
        assert_eq!(rollups[1].count, 1);
    }

    #[test]
    fn open_buckets_respect_lateness() {
        let job = mk_job(); // default lateness 300 s
        let ts: DateTime<Utc> = "2026-01-01T10:05:30Z".parse().expect("ts");
        let now: DateTime<Utc> = "2026-01-01T10:12:00Z".parse().expect("now");
        // The minute bucket ended 10:06 + 5 min < 10:12: closed; the hour is open.
        let open = job.open_buckets(ts, now);
        assert_eq!(open, [Bucket::of(GranularityKey::Hour, ts)]);
    }
}
