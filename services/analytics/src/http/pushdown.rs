//! Time series of `count` and `unique` computed by a MongoDB aggregation pipeline
//! (`$match` on type and time, `$group` by `$dateTrunc` bucket and dimension, `$sum` or
//! `$addToSet`) instead of streaming every event. Checked on SecantusDB and standard on
//! MongoDB 5+. Used only where its answer is exactly the streaming path's: no property
//! filters (their numeric-or-text comparison has no single MongoDB equivalent), and
//! dimension values normalised to text here, groups that become equal merged.

use crate::event::as_text;
use crate::report::Aggregate;
use crate::rollup::bucket::GranularityKey;
use crate::rollup::doc::date;
use crate::store::{EventQuery, EventStore};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// The MongoDB expression of an event field (names as in report queries).
fn expression(field: &str) -> Bson {
    match field {
        "identity" => Bson::Document(doc! {"$ifNull": ["$actorId", "$anonymousId"]}),
        "source" => Bson::String("$context.source".into()),
        other => Bson::String(format!("${other}")),
    }
}

fn text(value: Option<&Bson>) -> Option<String> {
    match value?.clone().into_relaxed_extjson() {
        Value::Null => None,
        v => Some(as_text(&v)),
    }
}

/// Values per group and bucket start, for `Count` or `Unique` over `property`.
pub async fn cells(
    store: &EventStore,
    query: &EventQuery,
    aggregate: Aggregate,
    property: &str,
    bucket: GranularityKey,
    group_by: Option<&str>,
) -> mongodb::error::Result<BTreeMap<Option<String>, BTreeMap<DateTime<Utc>, f64>>> {
    let mut filter = Document::new();
    if !query.types.is_empty() {
        filter.insert("type", doc! {"$in": query.types.clone()});
    }
    let mut ts = Document::new();
    if let Some(from) = query.from {
        ts.insert("$gte", date(from));
    }
    if let Some(to) = query.to {
        ts.insert("$lt", date(to));
    }
    filter.insert("ts", ts);
    let mut key = doc! {"t": {"$dateTrunc": {"date": "$ts", "unit": bucket.name()}}};
    if let Some(g) = group_by {
        key.insert("g", expression(g));
    }
    let accumulator = match aggregate {
        Aggregate::Unique => doc! {"$addToSet": expression(property)},
        _ => doc! {"$sum": 1},
    };
    let pipeline = vec![
        doc! {"$match": filter},
        doc! {"$group": {"_id": key, "v": accumulator}},
    ];
    let rows: Vec<Document> = store
        .collection()
        .aggregate(pipeline)
        .await?
        .try_collect()
        .await?;
    let mut counts: BTreeMap<Option<String>, BTreeMap<DateTime<Utc>, f64>> = BTreeMap::new();
    let mut sets: BTreeMap<(Option<String>, DateTime<Utc>), HashSet<String>> = BTreeMap::new();
    for row in rows {
        let Ok(id) = row.get_document("_id") else {
            continue;
        };
        let Some(t) = id
            .get_datetime("t")
            .ok()
            .and_then(|t| DateTime::from_timestamp_millis(t.timestamp_millis()))
        else {
            continue;
        };
        let group = text(id.get("g"));
        match (aggregate, row.get("v")) {
            (Aggregate::Unique, Some(Bson::Array(values))) => {
                sets.entry((group, t))
                    .or_default()
                    .extend(values.iter().filter_map(|v| text(Some(v))));
            }
            (_, Some(v)) => {
                let n = v
                    .as_i64()
                    .or_else(|| v.as_i32().map(i64::from))
                    .unwrap_or(0) as f64;
                *counts.entry(group).or_default().entry(t).or_default() += n;
            }
            _ => {}
        }
    }
    for ((group, t), set) in sets {
        counts.entry(group).or_default().insert(t, set.len() as f64);
    }
    Ok(counts)
}
