//! Reports on a known dataset stored directly: numbers equal to totals computed from the
//! raw events here, funnels and retention on hand-made data, CSV, bad parameters.

use crate::support::TestApp;
use chrono::{DateTime, Duration, DurationRound, Utc};
use machina_analytics::event::Event;
use machina_analytics::report::{self, Aggregate};
use machina_analytics::rollup::bucket::GranularityKey;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const BASE: &str = "2026-01-05T00:00:00Z"; // a Monday
const RANGE: &str = "from=2026-01-05T00:00:00Z&to=2026-01-08T00:00:00Z";
const COUNTRIES: [&str; 4] = ["DE", "FR", "US", "JP"];
const TYPES: [&str; 3] = ["page.viewed", "item.viewed", "item.purchased"];

fn base() -> DateTime<Utc> {
    BASE.parse().expect("base")
}

fn event(id: String, kind: &str, ts: DateTime<Utc>, actor: &str, properties: Value) -> Event {
    serde_json::from_value(json!({"id": id, "type": kind, "timestamp": ts, "actorId": actor, "properties": properties}))
        .expect("event")
}

/// 600 events over two days: 23 actors, three types, four countries, prices.
fn dataset() -> Vec<Event> {
    (0..600)
        .map(|i: i64| {
            let props = json!({"price": (i % 13) as f64 + 0.25, "country": COUNTRIES[(i % 4) as usize], "itemId": format!("sku-{}", i % 9)});
            event(format!("d{i}"), TYPES[(i % 3) as usize], base() + Duration::minutes(i * 5), &format!("u{}", i % 23), props)
        })
        .collect()
}

/// Funnel: f1 → f2 → f3 within 1h: a completes, b stops at f2, c only f1, d too slow.
fn funnel_data() -> Vec<Event> {
    let t = |m: i64| base() + Duration::minutes(m);
    let e = |id: &str, kind: &str, m: i64, who: &str| event(id.into(), kind, t(m), who, json!({}));
    vec![
        e("f1", "f.one", 0, "a"),
        e("f2", "f.two", 10, "a"),
        e("f3", "f.three", 20, "a"),
        e("f4", "f.one", 0, "b"),
        e("f5", "f.two", 50, "b"),
        e("f6", "f.one", 5, "c"),
        e("f7", "f.one", 0, "d"),
        e("f8", "f.two", 30, "d"),
        e("f9", "f.three", 90, "d"),
        e("f10", "f.three", 1, "e"),
    ]
}

/// Retention: r.active events; x and y first seen Monday, z Tuesday.
fn retention_data() -> Vec<Event> {
    let d = |days: i64, h: i64| base() + Duration::days(days) + Duration::hours(h);
    let e = |id: &str, t, who: &str| event(id.into(), "r.active", t, who, json!({}));
    vec![
        e("r1", d(0, 1), "x"),
        e("r2", d(0, 2), "y"),
        e("r3", d(1, 3), "x"),
        e("r4", d(2, 4), "x"),
        e("r5", d(2, 5), "y"),
        e("r6", d(1, 6), "z"),
    ]
}

async fn seeded() -> (TestApp, Vec<Event>) {
    let app = TestApp::spawn(false).await;
    let data = dataset();
    let store = app.events();
    for chunk in data.chunks(200) {
        store.insert(chunk, Utc::now()).await.expect("insert");
    }
    store
        .insert(&funnel_data(), Utc::now())
        .await
        .expect("insert");
    store
        .insert(&retention_data(), Utc::now())
        .await
        .expect("insert");
    (app, data)
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let (status, _, body) = app.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("json")
}

fn hour(ts: DateTime<Utc>) -> DateTime<Utc> {
    ts.duration_trunc(Duration::hours(1)).expect("trunc")
}

#[tokio::test]
async fn reports_match_totals_computed_from_the_raw_events() {
    let (app, data) = seeded().await;
    let purchases: Vec<&Event> = data.iter().filter(|e| e.kind == "item.purchased").collect();

    // Count per hour.
    let r = json_of(
        &app,
        &format!("/v1/reports/timeseries?{RANGE}&type=item.purchased&bucket=hour"),
    )
    .await;
    let mut expected: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
    for e in &purchases {
        *expected.entry(hour(e.timestamp)).or_default() += 1.0;
    }
    let points = r["series"][0]["points"].as_array().expect("points");
    assert_eq!(points.len(), 72);
    for p in points {
        let t: DateTime<Utc> = p["t"].as_str().expect("t").parse().expect("time");
        assert_eq!(
            p["value"].as_f64(),
            Some(expected.get(&t).copied().unwrap_or(0.0)),
            "hour {t}"
        );
    }

    // Sum of price by country.
    let r = json_of(&app, &format!("/v1/reports/timeseries?{RANGE}&type=item.purchased&metric=sum&property=properties.price&bucket=day&groupBy=properties.country")).await;
    for series in r["series"].as_array().expect("series") {
        let country = series["group"].as_str().expect("group");
        let total: f64 = series["points"]
            .as_array()
            .expect("points")
            .iter()
            .filter_map(|p| p["value"].as_f64())
            .sum();
        let direct: f64 = purchases
            .iter()
            .filter(|e| e.properties["country"] == country)
            .filter_map(|e| e.properties["price"].as_f64())
            .sum();
        assert!(
            (total - direct).abs() < 1e-9,
            "{country}: {total} vs {direct}"
        );
    }

    // Unique actors per day, all types, with a property filter.
    let r = json_of(&app, &format!("/v1/reports/timeseries?{RANGE}&metric=unique&bucket=day&filter=properties.country:in:DE|FR&type=page.viewed,item.viewed,item.purchased")).await;
    let day0 = r["series"][0]["points"][0]["value"].as_f64();
    let direct: BTreeSet<&str> = data
        .iter()
        .filter(|e| {
            e.timestamp < base() + Duration::days(1)
                && ["DE", "FR"].contains(&e.properties["country"].as_str().unwrap_or_default())
        })
        .filter_map(|e| e.actor_id.as_deref())
        .collect();
    assert_eq!(day0, Some(direct.len() as f64));

    // p95 of price, whole range: the value of rank floor(0.95·(n−1)).
    let r = json_of(&app, &format!("/v1/reports/breakdown?{RANGE}&type=item.purchased&metric=p95&property=properties.price&groupBy=type")).await;
    let mut prices: Vec<f64> = purchases
        .iter()
        .filter_map(|e| e.properties["price"].as_f64())
        .collect();
    prices.sort_by(f64::total_cmp);
    let rank = (0.95 * (prices.len() - 1) as f64).floor() as usize;
    assert_eq!(r["rows"][0]["value"].as_f64(), Some(prices[rank]));

    // Breakdown of counts by country, largest first, and as CSV.
    let r = json_of(&app, &format!("/v1/reports/breakdown?{RANGE}&groupBy=properties.country&type=page.viewed,item.viewed,item.purchased")).await;
    let rows = r["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 4);
    let total: f64 = rows.iter().filter_map(|row| row["value"].as_f64()).sum();
    assert_eq!(total, data.len() as f64);
    let (status, content_type, csv) = app.get(&format!("/v1/reports/breakdown?{RANGE}&groupBy=properties.country&type=item.purchased&format=csv")).await;
    assert_eq!((status, content_type.starts_with("text/csv")), (200, true));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "group,value");
    assert_eq!(lines.len(), 5);
    app.cleanup().await;
}

#[tokio::test]
async fn pipeline_series_equal_the_streaming_computation() {
    let (app, data) = seeded().await;
    let all: Vec<Event> = data
        .into_iter()
        .chain(funnel_data())
        .chain(retention_data())
        .collect();
    let (from, to) = (base(), base() + Duration::days(3));
    for (metric, aggregate, group_by) in [
        ("count", Aggregate::Count, None),
        ("count", Aggregate::Count, Some("type")),
        ("unique", Aggregate::Unique, None),
        ("unique", Aggregate::Unique, Some("properties.country")),
    ] {
        let group = group_by
            .map(|g| format!("&groupBy={g}"))
            .unwrap_or_default();
        let r = json_of(
            &app,
            &format!("/v1/reports/timeseries?{RANGE}&metric={metric}&bucket=hour{group}"),
        )
        .await;
        assert_eq!(r["pipeline"], true);
        let property = if metric == "unique" { "identity" } else { "" };
        let direct = report::timeseries(
            &all,
            aggregate,
            property,
            GranularityKey::Hour,
            group_by,
            from,
            to,
        );
        assert_eq!(
            r["series"],
            serde_json::to_value(&direct).expect("json"),
            "{metric} by {group_by:?}"
        );
    }
    app.cleanup().await;
}

#[tokio::test]
async fn funnels_and_retention_on_known_data() {
    let (app, _) = seeded().await;
    let r = json_of(
        &app,
        &format!("/v1/reports/funnel?{RANGE}&steps=f.one,f.two,f.three&window=1h"),
    )
    .await;
    let counts: Vec<u64> = r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["count"].as_u64())
        .collect();
    assert_eq!(counts, [4, 3, 1]);
    assert_eq!(r["steps"][1]["conversionFromPrevious"].as_f64(), Some(0.75));

    let r = json_of(
        &app,
        &format!("/v1/reports/retention?{RANGE}&type=r.active&cohort=day&periods=3"),
    )
    .await;
    let cohorts = r["cohorts"].as_array().expect("cohorts");
    assert_eq!(cohorts.len(), 2);
    assert_eq!(
        (cohorts[0]["size"].as_u64(), cohorts[0]["retained"].clone()),
        (Some(2), json!([2, 1, 2]))
    );
    assert_eq!(
        (cohorts[1]["size"].as_u64(), cohorts[1]["retained"].clone()),
        (Some(1), json!([1, 0, 0]))
    );

    let response = app
        .http
        .get(format!(
            "{}/v1/reports/retention?{RANGE}&type=r.active&cohort=week&periods=1",
            app.base
        ))
        .header("accept", "text/csv")
        .send()
        .await
        .expect("csv");
    let body = response.text().await.expect("body");
    assert_eq!(
        body,
        "cohort,size,period,retained,rate\r\n2026-01-05T00:00:00+00:00,3,0,3,1\r\n"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn bad_report_parameters_name_the_parameter() {
    let app = TestApp::spawn(false).await;
    for (query, field) in [
        ("timeseries?metric=avg", "metric"),
        ("timeseries?metric=sum", "property"),
        ("timeseries?bucket=week", "bucket"),
        (
            "timeseries?bucket=minute&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "bucket",
        ),
        ("timeseries?from=yesterday", "from"),
        (
            "timeseries?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        ("timeseries?filter=properties.x:like:1", "filter"),
        ("timeseries?groupBy=password", "groupBy"),
        ("timeseries?format=xml", "format"),
        ("breakdown", "groupBy"),
        ("funnel?steps=a", "steps"),
        ("funnel?steps=a,b&window=soon", "window"),
        ("retention?cohort=month", "cohort"),
        ("retention?periods=0", "periods"),
    ] {
        let (status, _, body) = app.get(&format!("/v1/reports/{query}")).await;
        let body: Value = serde_json::from_str(&body).expect("problem");
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some(field)),
            "{query}: {body}"
        );
    }
    app.cleanup().await;
}
