//! From raw events to every result the service serves, without I/O.
//!
//! [`compute`] takes the events of the lookback window and returns a
//! [`Snapshot`]: the trend list, one anomaly report per series (all events,
//! and each event type), a precomputed list per user and per item, and the
//! cold-start list. The store and the cache only move snapshots around.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::{
    algo::{
        anomalies::{self, AnomalyParams, Direction},
        recs::{RecParams, Scored},
        trends::{self, Subject, Trend, TrendParams},
    },
    incremental::{Lists, RecState},
};

const HOUR_MS: i64 = 3_600_000;

/// Series of one event type are computed for at most this many types (the busiest).
pub const MAX_TYPE_SERIES: usize = 50;

/// The fields of a raw event the algorithms use.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `type`, e.g. `item.viewed`.
    pub kind: String,
    /// `ts`, milliseconds since the epoch.
    pub ts_ms: i64,
    /// `actorId`, else `anonymousId`.
    pub user: Option<String>,
    /// `properties.itemId`.
    pub item: Option<String>,
    /// `properties.category`.
    pub category: Option<String>,
    /// `_id`, the analytics service's event id (what makes a replay detectable).
    pub id: Option<String>,
    /// `receivedAt` (else `ts`), milliseconds since the epoch: the watermark's clock.
    pub received_ms: i64,
}

/// How much each event type counts as an interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct EventWeights {
    by_type: HashMap<String, f64>,
    /// Weight of types not listed (`*`); 0 ignores them.
    default: f64,
}

impl Default for EventWeights {
    fn default() -> Self {
        Self {
            by_type: HashMap::from([
                ("item.viewed".to_owned(), 1.0),
                ("item.added_to_cart".to_owned(), 3.0),
                ("item.purchased".to_owned(), 5.0),
            ]),
            default: 1.0,
        }
    }
}

impl EventWeights {
    /// Parses `type=weight,...` (`*=w` sets the default); `None` if malformed.
    pub fn parse(spec: &str) -> Option<Self> {
        let mut weights = Self {
            by_type: HashMap::new(),
            default: 1.0,
        };
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, weight) = pair.split_once('=')?;
            let weight: f64 = weight
                .trim()
                .parse()
                .ok()
                .filter(|w: &f64| w.is_finite() && *w >= 0.0)?;
            match kind.trim() {
                "" => return None,
                "*" => weights.default = weight,
                kind => {
                    weights.by_type.insert(kind.to_owned(), weight);
                }
            }
        }
        Some(weights)
    }

    /// The weight of `kind`, `None` when it is 0 (ignored).
    pub fn weight(&self, kind: &str) -> Option<f64> {
        Some(self.by_type.get(kind).copied().unwrap_or(self.default)).filter(|w| *w > 0.0)
    }
}

/// Every algorithm setting.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeParams {
    /// How far back events are read.
    pub lookback_ms: i64,
    /// Only anomalies this recent are reported.
    pub anomaly_report_ms: i64,
    /// Trend detection.
    pub trends: TrendParams,
    /// Anomaly detection.
    pub anomalies: AnomalyParams,
    /// Recommendations.
    pub recs: RecParams,
    /// Interaction weights.
    pub weights: EventWeights,
}

impl Default for ComputeParams {
    fn default() -> Self {
        Self {
            lookback_ms: 28 * 24 * HOUR_MS,
            anomaly_report_ms: 7 * 24 * HOUR_MS,
            trends: TrendParams::default(),
            anomalies: AnomalyParams::default(),
            recs: RecParams::default(),
            weights: EventWeights::default(),
        }
    }
}

/// One reported anomaly, in the series' time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnomalyPoint {
    /// Start of the hour, milliseconds since the epoch.
    pub ts_ms: i64,
    /// Events in that hour.
    pub value: f64,
    /// The seasonal baseline.
    pub expected: f64,
    /// Robust z-score.
    pub z: f64,
    /// Spike or dip.
    pub direction: Direction,
}

/// The anomaly report of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesReport {
    /// `events` or `type:<event type>`.
    pub series: String,
    /// Bucket width (always one hour).
    pub bucket_ms: i64,
    /// Start of the first bucket.
    pub start_ms: i64,
    /// Number of buckets.
    pub points: usize,
    /// Season used, in hours (168, 24), or none.
    pub season_hours: Option<usize>,
    /// Anomalies within the report window, oldest first.
    pub anomalies: Vec<AnomalyPoint>,
}

/// Everything one recompute produces.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The instant the results are as of.
    pub now_ms: i64,
    /// Events read.
    pub events: usize,
    /// Length of the trend windows (recent, baseline), in milliseconds.
    pub trend_windows_ms: (i64, i64),
    /// Rising items and event types.
    pub trends: Vec<Trend>,
    /// Anomaly report per series name.
    pub series: BTreeMap<String, SeriesReport>,
    /// Personalised list per user.
    pub users: Vec<(String, Vec<Scored>)>,
    /// Similar-items list per item.
    pub items: Vec<(String, Vec<Scored>)>,
    /// The cold-start list: trending, then popular items.
    pub fallback: Vec<Scored>,
}

/// Computes every result from `events` as of `now_ms`.
pub fn compute(events: &[Event], now_ms: i64, params: &ComputeParams) -> Snapshot {
    full(events, now_ms, params).0
}

/// A full recompute: the snapshot, plus the recommendation state (anchored at
/// `now_ms`) and lists the incremental step continues from.
pub fn full(events: &[Event], now_ms: i64, params: &ComputeParams) -> (Snapshot, RecState, Lists) {
    let trends = detect_trends(events, now_ms, &params.trends);
    let series = detect_anomalies(events, now_ms, params);
    let mut state = RecState::new(now_ms, &params.recs);
    state.fold(events, &params.weights, false);
    state.trending = trends
        .iter()
        .filter(|t| t.subject.dimension == "item")
        .map(|t| t.subject.key.clone())
        .collect();
    let model = state.model(&params.recs);
    let lists = Lists::of(&model, &state.trending, params.recs.list_len);
    let snapshot = Snapshot {
        now_ms,
        events: events.len(),
        trend_windows_ms: (params.trends.recent_ms, params.trends.baseline_ms),
        fallback: lists.fallback.clone(),
        trends,
        series,
        users: lists
            .users
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        items: lists
            .items
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    (snapshot, state, lists)
}

fn detect_trends(events: &[Event], now_ms: i64, params: &TrendParams) -> Vec<Trend> {
    let subjects: Vec<(Subject, i64)> = events
        .iter()
        .flat_map(|e| {
            let by_type = Subject {
                dimension: "type".to_owned(),
                key: e.kind.clone(),
            };
            let by_item = e.item.as_ref().map(|item| Subject {
                dimension: "item".to_owned(),
                key: item.clone(),
            });
            std::iter::once((by_type, e.ts_ms)).chain(by_item.map(|s| (s, e.ts_ms)))
        })
        .collect();
    let counts = trends::count_windows(subjects.iter().map(|(s, ts)| (s, *ts)), now_ms, params);
    trends::detect(&counts, params)
}

/// Hourly counts of all events and of the busiest types, each checked for anomalies.
fn detect_anomalies(
    events: &[Event],
    now_ms: i64,
    params: &ComputeParams,
) -> BTreeMap<String, SeriesReport> {
    // Only whole hours: the current, partial hour would always look like a dip.
    let end = now_ms.div_euclid(HOUR_MS) * HOUR_MS;
    let start = end - params.lookback_ms.div_euclid(HOUR_MS).max(1) * HOUR_MS;
    let buckets = ((end - start) / HOUR_MS) as usize;
    let mut all = vec![0.0; buckets];
    let mut by_type: HashMap<&str, Vec<f64>> = HashMap::new();
    for e in events.iter().filter(|e| (start..end).contains(&e.ts_ms)) {
        let b = ((e.ts_ms - start) / HOUR_MS) as usize;
        all[b] += 1.0;
        by_type.entry(&e.kind).or_insert_with(|| vec![0.0; buckets])[b] += 1.0;
    }
    let mut types: Vec<(&str, Vec<f64>)> = by_type.into_iter().collect();
    types.sort_by(|a, b| {
        b.1.iter()
            .sum::<f64>()
            .total_cmp(&a.1.iter().sum())
            .then(a.0.cmp(b.0))
    });
    types.truncate(MAX_TYPE_SERIES);
    let report_from = end - params.anomaly_report_ms;
    std::iter::once(("events".to_owned(), all))
        .chain(types.into_iter().map(|(t, v)| (format!("type:{t}"), v)))
        .map(|(name, values)| {
            let fit = anomalies::detect(&values, &params.anomalies);
            let anomalies = fit
                .anomalies
                .into_iter()
                .map(|a| AnomalyPoint {
                    ts_ms: start + a.index as i64 * HOUR_MS,
                    value: a.value,
                    expected: a.expected,
                    z: a.z,
                    direction: a.direction,
                })
                .filter(|a| a.ts_ms >= report_from)
                .collect();
            let report = SeriesReport {
                series: name.clone(),
                bucket_ms: HOUR_MS,
                start_ms: start,
                points: values.len(),
                season_hours: fit.season,
                anomalies,
            };
            (name, report)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::synthetic::{ClusteredSpec, clustered_interactions};

    fn ev(kind: &str, ts_ms: i64, user: Option<&str>, item: Option<&str>) -> Event {
        Event {
            kind: kind.to_owned(),
            ts_ms,
            user: user.map(str::to_owned),
            item: item.map(str::to_owned),
            category: None,
            id: None,
            received_ms: ts_ms,
        }
    }

    #[test]
    fn weights_parse_and_ignore_zero() {
        let w = EventWeights::parse("item.viewed=1, item.purchased=5,*=0").unwrap();
        assert_eq!(w.weight("item.purchased"), Some(5.0));
        assert_eq!(w.weight("page.viewed"), None);
        assert!(EventWeights::parse("item.viewed").is_none());
        assert!(EventWeights::parse("x=-1").is_none());
        assert!(EventWeights::parse("=2").is_none());
    }

    #[test]
    fn snapshot_covers_users_items_series_and_trends() {
        let now = 1_000 * HOUR_MS + 1;
        let mut events = Vec::new();
        let data = clustered_interactions(
            &ClusteredSpec {
                users: 50,
                ..ClusteredSpec::default()
            },
            now - 400 * HOUR_MS,
        );
        events.extend(
            data.interactions
                .iter()
                .map(|i| ev("item.viewed", i.ts_ms, Some(&i.user), Some(&i.item))),
        );
        // A burst of anonymous views of one item in the last hours: trending, and the fallback leads with it.
        for n in 0..40 {
            let visitor = format!("anon{n}");
            events.push(ev(
                "item.viewed",
                now - n * 60_000,
                Some(&visitor),
                Some("hot"),
            ));
        }
        events.push(ev("page.viewed", now - 10, Some("u0"), None));
        let snap = compute(&events, now, &ComputeParams::default());
        assert_eq!(snap.events, events.len());
        assert_eq!(snap.users.len(), 90);
        assert!(snap.items.iter().any(|(i, _)| i == "hot"));
        assert!(
            snap.trends.iter().any(|t| t.subject.key == "hot"),
            "{:?}",
            snap.trends
        );
        assert_eq!(snap.fallback[0].item, "hot");
        assert!(snap.series.contains_key("events"));
        assert!(snap.series.contains_key("type:page.viewed"));
        assert_eq!(snap.series["events"].points, 672);
    }

    #[test]
    fn empty_input_gives_an_empty_snapshot() {
        let snap = compute(&[], 10 * HOUR_MS, &ComputeParams::default());
        assert!(snap.users.is_empty() && snap.fallback.is_empty() && snap.trends.is_empty());
        assert_eq!(snap.series.len(), 1);
    }
}
