//! The incremental step against the real servers: new events are folded into
//! the model and show up in the lists without a full recompute; a replay
//! changes nothing; a restarted replica continues from the persisted watermark.

use machina_devenv::BackingServices;
use mongodb::bson::{Document, doc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{HOUR_MS, Isolation, TestApp, event, now_ms, spawn_with};

fn items(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("items is an array")
        .iter()
        .map(|i| i["item"].as_str().expect("item id").to_owned())
        .collect()
}

/// Two taste clusters of 6 items, 12 users each, seen hours ago.
fn history(now: i64) -> Vec<Document> {
    (0..24)
        .flat_map(|u| {
            let cluster = u % 2;
            (0..4).map(move |k| (u, cluster, (u + k) % 6, k))
        })
        .enumerate()
        .map(|(n, (u, cluster, item, k))| {
            event(
                n,
                "item.viewed",
                now - (10 - k as i64) * HOUR_MS,
                Some(&format!("u{u}")),
                Some(&format!("c{cluster}-i{item}")),
            )
        })
        .collect()
}

async fn watermark(app: &TestApp) -> i64 {
    let client = BackingServices::load_or_panic()
        .mongodb()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .database(&app.database)
        .collection::<Document>("insights_state")
        .find_one(doc! {"_id": "recs"})
        .await
        .expect("state read")
        .expect("state persisted")
        .get_i64("watermarkMs")
        .expect("watermark")
}

#[tokio::test]
async fn new_events_are_folded_in_exactly_once_and_survive_a_restart() {
    let isolation = Isolation::fresh("incremental");
    let settings = [("INCREMENTAL_INTERVAL", "0")];
    let app = spawn_with(&isolation, &settings).await;
    let now = now_ms();
    app.insert(history(now)).await;
    let summary = app.recompute().await;
    assert_eq!(summary["users"], 24, "{summary}");
    let before = app
        .get("/v1/recommendations/users/newcomer?k=5")
        .await
        .expect(StatusCode::OK);
    assert_eq!(before["source"], "fallback");
    let generation = before["generation"].clone();

    // A newcomer views three items of cluster 1; u0 (cluster 0) buys two of them.
    let fresh = vec![
        event(
            1_000,
            "item.viewed",
            now - 3_000,
            Some("newcomer"),
            Some("c1-i0"),
        ),
        event(
            1_001,
            "item.viewed",
            now - 2_000,
            Some("newcomer"),
            Some("c1-i1"),
        ),
        event(
            1_002,
            "item.viewed",
            now - 1_000,
            Some("newcomer"),
            Some("c1-i2"),
        ),
        event(
            1_003,
            "item.purchased",
            now - 900,
            Some("u0"),
            Some("c1-i3"),
        ),
        event(
            1_004,
            "item.purchased",
            now - 800,
            Some("u0"),
            Some("c1-i4"),
        ),
    ];
    app.insert(fresh).await;
    let outcome = app.step().await;
    assert_eq!(outcome["mode"], "incremental", "{outcome}");
    assert_eq!(outcome["applied"], 5, "{outcome}");
    assert_eq!(outcome["usersChanged"], 2, "{outcome}");
    assert_eq!(outcome["generation"], generation, "{outcome}");
    assert!(outcome["userLists"].as_u64().unwrap() >= 2, "{outcome}");

    // The lists reflect the new events, in the same generation.
    let newcomer = app
        .get("/v1/recommendations/users/newcomer?k=3")
        .await
        .expect(StatusCode::OK);
    assert_eq!(newcomer["source"], "personalized", "{newcomer}");
    assert_eq!(newcomer["generation"], generation);
    let recs = items(&newcomer);
    assert!(
        recs.iter()
            .all(|i| i.starts_with("c1-") && !["c1-i0", "c1-i1", "c1-i2"].contains(&i.as_str())),
        "cluster-1 items the newcomer has not seen: {recs:?}"
    );
    let u0 = items(
        &app.get("/v1/recommendations/users/u0?k=50")
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        !u0.iter().any(|i| i == "c1-i3" || i == "c1-i4"),
        "bought items are seen: {u0:?}"
    );

    // The grace window re-reads the same events: nothing is counted twice.
    let again = app.step().await;
    assert_eq!(again["applied"], 0, "{again}");
    assert_eq!(again["duplicates"], 5, "{again}");
    assert_eq!(
        (again["userLists"].clone(), again["itemLists"].clone()),
        (0.into(), 0.into()),
        "{again}"
    );
    let mark = watermark(&app).await;
    assert_eq!(
        mark,
        now - 800 + 5,
        "the watermark is the latest receivedAt"
    );

    // A fresh replica (nothing in memory, as after a restart) continues from
    // the persisted state and watermark. (`app` stays alive: dropping it would
    // clean the database up.)
    let restarted = spawn_with(&isolation, &settings).await;
    let resumed = restarted.step().await;
    assert_eq!(resumed["mode"], "incremental", "{resumed}");
    assert_eq!(resumed["reloaded"], true, "{resumed}");
    assert_eq!(
        (resumed["applied"].clone(), resumed["duplicates"].clone()),
        (0.into(), 5.into()),
        "{resumed}"
    );
    let same = restarted
        .get("/v1/recommendations/users/newcomer?k=3")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        same, newcomer,
        "the restart neither lost nor double-counted events"
    );
    restarted
        .insert(vec![event(
            1_005,
            "item.viewed",
            now_ms(),
            Some("later"),
            Some("c0-i1"),
        )])
        .await;
    let next = restarted.step().await;
    assert_eq!(
        (next["applied"].clone(), next["reloaded"].clone()),
        (1.into(), false.into()),
        "{next}"
    );
    assert!(watermark(&restarted).await > mark);
    let later = restarted
        .get("/v1/recommendations/users/later?k=3")
        .await
        .expect(StatusCode::OK);
    assert_eq!(later["source"], "personalized", "{later}");
    // Both own the same database and prefix; only one may clean up.
    std::mem::forget(restarted);
}

#[tokio::test]
async fn another_replicas_hot_cache_is_emptied_by_the_announcement() {
    let isolation = Isolation::fresh("hot_cache");
    let writer = spawn_with(&isolation, &[("INCREMENTAL_INTERVAL", "0")]).await;
    // A TTL far beyond the test: only the pub/sub announcement can refresh it.
    let reader = spawn_with(
        &isolation,
        &[
            ("INCREMENTAL_INTERVAL", "0"),
            ("HOT_CACHE_TTL", "1h"),
            ("GENERATION_POLL", "1h"),
        ],
    )
    .await;
    let now = now_ms();
    writer.insert(history(now)).await;
    writer.recompute().await;
    let path = "/v1/recommendations/users/newcomer?k=3";
    let cold = reader.get(path).await.expect(StatusCode::OK);
    assert_eq!(cold["source"], "fallback");
    assert_eq!(
        reader.get(path).await.expect(StatusCode::OK),
        cold,
        "served from the hot cache"
    );
    writer
        .insert(vec![event(
            2_000,
            "item.viewed",
            now - 1_000,
            Some("newcomer"),
            Some("c0-i0"),
        )])
        .await;
    assert_eq!(writer.step().await["applied"], 1);
    let mut seen = cold;
    for _ in 0..50 {
        seen = reader.get(path).await.expect(StatusCode::OK);
        if seen["source"] == "personalized" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen["source"], "personalized", "{seen}");
    std::mem::forget(reader);
}
