//! Events in MongoDB → recompute → per-user lists that exclude seen items and
//! come from the user's taste cluster; unknown users and items get the fallback.

use std::collections::{HashMap, HashSet};

use machina_insights::algo::synthetic::{ClusteredData, ClusteredSpec, clustered_interactions};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{HOUR_MS, TestApp, event, now_ms, spawn_app};

/// 60 users in 4 clusters of 12 items; inserts their views and returns the truth.
async fn seed(app: &TestApp) -> ClusteredData {
    let spec = ClusteredSpec {
        users: 60,
        clusters: 4,
        items_per_cluster: 12,
        per_user: (5, 8),
        in_cluster: 0.9,
        seed: 3,
    };
    let data = clustered_interactions(&spec, now_ms() - 30 * HOUR_MS);
    let events = data
        .interactions
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let kind = if n % 5 == 0 {
                "item.purchased"
            } else {
                "item.viewed"
            };
            event(n, kind, i.ts_ms, Some(&i.user), Some(&i.item))
        })
        .collect();
    app.insert(events).await;
    data
}

fn items(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("items is an array")
        .iter()
        .map(|i| i["item"].as_str().expect("item id").to_owned())
        .collect()
}

fn cluster_of(item: &str) -> &str {
    item.split_once('-').map_or("", |(c, _)| c)
}

#[tokio::test]
async fn users_get_unseen_items_from_their_own_cluster() {
    let app = spawn_app("recs").await;
    let data = seed(&app).await;
    let summary = app.recompute().await;
    assert_eq!(summary["users"], 60, "{summary}");
    assert_eq!(summary["events"], data.interactions.len(), "{summary}");

    let mut seen: HashMap<&str, HashSet<&str>> = HashMap::new();
    for i in &data.interactions {
        seen.entry(&i.user).or_default().insert(&i.item);
    }
    let mut top3_in_cluster = 0usize;
    let mut top3_total = 0usize;
    for (u, cluster) in data.user_cluster.iter().enumerate() {
        let user = format!("u{u}");
        let body = app
            .get(&format!("/v1/recommendations/users/{user}?k=10"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(body["userId"], user.as_str());
        assert_eq!(body["source"], "personalized", "{body}");
        let list = items(&body);
        assert_eq!(list.len(), 10, "{body}");
        for item in &list {
            assert!(
                !seen[user.as_str()].contains(item.as_str()),
                "{user} already saw {item}"
            );
        }
        let own = format!("c{cluster}");
        top3_total += 3;
        top3_in_cluster += list.iter().take(3).filter(|i| cluster_of(i) == own).count();
    }
    let share = top3_in_cluster as f64 / top3_total as f64;
    assert!(
        share >= 0.8,
        "only {share:.2} of top-3 items are from the user's cluster"
    );
}

#[tokio::test]
async fn unknown_users_and_items_get_the_fallback() {
    let app = spawn_app("recs_fallback").await;
    seed(&app).await;
    app.recompute().await;

    let body = app
        .get("/v1/recommendations/users/never-seen?k=5")
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["source"], "fallback", "{body}");
    assert_eq!(items(&body).len(), 5, "{body}");

    let body = app
        .get("/v1/recommendations/items/no-such-item/similar")
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["source"], "fallback");
    assert_eq!(items(&body).len(), 10, "default k is 10: {body}");
}

#[tokio::test]
async fn similar_items_come_from_the_same_cluster() {
    let app = spawn_app("recs_similar").await;
    seed(&app).await;
    app.recompute().await;
    let body = app
        .get("/v1/recommendations/items/c1-i0/similar?k=5")
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["source"], "personalized");
    let list = items(&body);
    assert!(!list.contains(&"c1-i0".to_owned()), "{body}");
    let same = list.iter().filter(|i| cluster_of(i) == "c1").count();
    assert!(same >= 4, "{body}");
}

#[tokio::test]
async fn a_user_who_has_seen_everything_gets_an_empty_list_not_seen_items() {
    let app = spawn_app("recs_exhausted").await;
    let now = now_ms();
    let mut events = Vec::new();
    for (n, item) in ["a", "b", "c"].iter().enumerate() {
        events.push(event(
            n,
            "item.viewed",
            now - HOUR_MS,
            Some("all"),
            Some(item),
        ));
    }
    events.push(event(
        9,
        "item.viewed",
        now - HOUR_MS,
        Some("other"),
        Some("a"),
    ));
    app.insert(events).await;
    app.recompute().await;
    let body = app
        .get("/v1/recommendations/users/all")
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["source"], "personalized", "{body}");
    assert_eq!(items(&body), Vec::<String>::new(), "{body}");
    let body = app
        .get("/v1/recommendations/users/other")
        .await
        .expect(StatusCode::OK);
    let mut got = items(&body);
    got.sort();
    assert_eq!(got, vec!["b", "c"], "{body}");
}
