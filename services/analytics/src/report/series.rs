//! Time series and breakdowns: count, sum, unique identities, and percentiles of a
//! numeric property, per bucket and per value of one dimension.

use crate::event::Event;
use crate::rollup::bucket::GranularityKey;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// What a point measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregate {
    /// Events.
    Count,
    /// Sum of the property.
    Sum,
    /// Distinct values of the property.
    Unique,
    /// The q-quantile of the property (0 < q < 1), exact: value of rank ⌊q·(n−1)⌋.
    Quantile(f64),
}

impl Aggregate {
    /// The aggregate named `name` (`count`, `sum`, `unique`, `p50`, `p95`, `p99`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "count" => Self::Count,
            "sum" => Self::Sum,
            "unique" => Self::Unique,
            "p50" => Self::Quantile(0.5),
            "p95" => Self::Quantile(0.95),
            "p99" => Self::Quantile(0.99),
            _ => return None,
        })
    }

    /// Whether it reads a numeric property.
    pub fn numeric(self) -> bool {
        matches!(self, Self::Sum | Self::Quantile(_))
    }
}

#[derive(Default)]
struct Acc {
    count: u64,
    sum: f64,
    distinct: HashSet<String>,
    values: Vec<f64>,
}

impl Acc {
    fn add(&mut self, aggregate: Aggregate, property: &str, event: &Event) {
        match aggregate {
            Aggregate::Count => self.count += 1,
            Aggregate::Sum => self.sum += event.number(property).unwrap_or(0.0),
            Aggregate::Unique => {
                if let Some(v) = event.dimension(property) {
                    self.distinct.insert(v);
                }
            }
            Aggregate::Quantile(_) => self.values.extend(event.number(property)),
        }
    }

    fn value(mut self, aggregate: Aggregate) -> Option<f64> {
        match aggregate {
            Aggregate::Count => Some(self.count as f64),
            Aggregate::Sum => Some(self.sum),
            Aggregate::Unique => Some(self.distinct.len() as f64),
            Aggregate::Quantile(q) => {
                if self.values.is_empty() {
                    return None;
                }
                self.values.sort_by(f64::total_cmp);
                let rank = (q * (self.values.len() - 1) as f64).floor() as usize;
                self.values.get(rank).copied()
            }
        }
    }
}

/// One point of a series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Point {
    /// Bucket start.
    pub t: DateTime<Utc>,
    /// The value (`null` for a quantile of no values).
    pub value: Option<f64>,
}

/// The points of one group (value of the group-by dimension, `null` when absent).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Series {
    /// Group value.
    pub group: Option<String>,
    /// One point per bucket from `from` to `to`, empty buckets included.
    pub points: Vec<Point>,
}

/// Series of `aggregate` over `property` by `bucket` for `[from, to)`, one per value of
/// `group_by` (a single series with group `null` without it).
pub fn timeseries(
    events: &[Event],
    aggregate: Aggregate,
    property: &str,
    bucket: GranularityKey,
    group_by: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Series> {
    let mut groups: BTreeMap<Option<String>, BTreeMap<DateTime<Utc>, Acc>> = BTreeMap::new();
    if group_by.is_none() {
        groups.insert(None, BTreeMap::new());
    }
    for e in events
        .iter()
        .filter(|e| e.timestamp >= from && e.timestamp < to)
    {
        let group = group_by.and_then(|g| e.dimension(g));
        groups
            .entry(group)
            .or_default()
            .entry(bucket.floor(e.timestamp))
            .or_default()
            .add(aggregate, property, e);
    }
    let starts = bucket_starts(bucket, from, to);
    groups
        .into_iter()
        .map(|(group, mut accs)| Series {
            group,
            points: starts
                .iter()
                .map(|t| Point {
                    t: *t,
                    value: accs.remove(t).unwrap_or_default().value(aggregate),
                })
                .collect(),
        })
        .collect()
}

/// Series from values already aggregated per group and bucket start (a database
/// pipeline's answer), with every bucket of `[from, to)` present (0 where absent).
pub fn from_cells(
    cells: BTreeMap<Option<String>, BTreeMap<DateTime<Utc>, f64>>,
    bucket: GranularityKey,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    grouped: bool,
) -> Vec<Series> {
    let mut cells = cells;
    if !grouped {
        cells.entry(None).or_default();
    }
    let starts = bucket_starts(bucket, from, to);
    cells
        .into_iter()
        .map(|(group, values)| Series {
            group,
            points: starts
                .iter()
                .map(|t| Point {
                    t: *t,
                    value: Some(values.get(t).copied().unwrap_or(0.0)),
                })
                .collect(),
        })
        .collect()
}

/// Bucket starts covering `[from, to)`.
pub fn bucket_starts(
    bucket: GranularityKey,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut t = bucket.floor(from);
    let mut out = Vec::new();
    while t < to {
        out.push(t);
        t += bucket.length();
    }
    out
}

/// `aggregate` per value of `group_by`, largest first (ties by group).
pub fn breakdown(
    events: &[Event],
    aggregate: Aggregate,
    property: &str,
    group_by: &str,
) -> Vec<(Option<String>, Option<f64>)> {
    let mut groups: BTreeMap<Option<String>, Acc> = BTreeMap::new();
    for e in events {
        groups
            .entry(e.dimension(group_by))
            .or_default()
            .add(aggregate, property, e);
    }
    let mut rows: Vec<_> = groups
        .into_iter()
        .map(|(g, acc)| (g, acc.value(aggregate)))
        .collect();
    rows.sort_by(|a, b| {
        b.1.unwrap_or(f64::MIN)
            .total_cmp(&a.1.unwrap_or(f64::MIN))
            .then(a.0.cmp(&b.0))
    });
    rows
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn ev(id: &str, kind: &str, ts: &str, who: &str, props: serde_json::Value) -> Event {
        serde_json::from_value(
            json!({"id": id, "type": kind, "timestamp": ts, "actorId": who, "properties": props}),
        )
        .expect("event")
    }

    fn data() -> Vec<Event> {
        vec![
            ev(
                "1",
                "item.purchased",
                "2026-01-01T10:01:00Z",
                "a",
                json!({"price": 10, "country": "DE"}),
            ),
            ev(
                "2",
                "item.purchased",
                "2026-01-01T10:30:00Z",
                "b",
                json!({"price": 20, "country": "FR"}),
            ),
            ev(
                "3",
                "item.purchased",
                "2026-01-01T11:10:00Z",
                "a",
                json!({"price": 30, "country": "DE"}),
            ),
            ev(
                "4",
                "item.purchased",
                "2026-01-01T11:20:00Z",
                "a",
                json!({"price": "40", "country": "DE"}),
            ),
        ]
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn series_per_hour_with_empty_buckets() {
        let (from, to) = (t("2026-01-01T09:00:00Z"), t("2026-01-01T12:00:00Z"));
        let count = timeseries(
            &data(),
            Aggregate::Count,
            "",
            GranularityKey::Hour,
            None,
            from,
            to,
        );
        let values: Vec<_> = count[0].points.iter().map(|p| p.value).collect();
        assert_eq!(values, [Some(0.0), Some(2.0), Some(2.0)]);
        let sum = timeseries(
            &data(),
            Aggregate::Sum,
            "properties.price",
            GranularityKey::Hour,
            None,
            from,
            to,
        );
        assert_eq!(sum[0].points[2].value, Some(70.0));
        let unique = timeseries(
            &data(),
            Aggregate::Unique,
            "identity",
            GranularityKey::Day,
            None,
            from,
            to,
        );
        assert_eq!(unique[0].points[0].value, Some(2.0));
        let p50 = timeseries(
            &data(),
            Aggregate::Quantile(0.5),
            "properties.price",
            GranularityKey::Hour,
            None,
            from,
            to,
        );
        assert_eq!(
            p50[0].points.iter().map(|p| p.value).collect::<Vec<_>>(),
            [None, Some(10.0), Some(30.0)]
        );
        let by = timeseries(
            &data(),
            Aggregate::Count,
            "",
            GranularityKey::Hour,
            Some("properties.country"),
            from,
            to,
        );
        assert_eq!(by.len(), 2);
        assert_eq!(by[0].group.as_deref(), Some("DE"));
        assert_eq!(by[0].points[2].value, Some(2.0));
    }

    #[test]
    fn breakdown_sorts_largest_first() {
        let rows = breakdown(
            &data(),
            Aggregate::Sum,
            "properties.price",
            "properties.country",
        );
        assert_eq!(
            rows,
            [
                (Some("DE".into()), Some(80.0)),
                (Some("FR".into()), Some(20.0))
            ]
        );
        let p99 = breakdown(
            &data(),
            Aggregate::Quantile(0.99),
            "properties.price",
            "type",
        );
        assert_eq!(p99, [(Some("item.purchased".into()), Some(30.0))]);
        assert_eq!(Aggregate::parse("p95"), Some(Aggregate::Quantile(0.95)));
        assert_eq!(Aggregate::parse("avg"), None);
    }
}
