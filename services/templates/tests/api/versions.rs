//! Versioning: create, update, immutability, idempotency, activation, retirement,
//! concurrency, listing.

use machina_template_engine::checksum;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn create_update_and_versions_are_immutable() {
    let app = spawn_app("tpl_versions").await;
    let created = app.create_text("greeting", "Hello {{ name }}").await;
    assert_eq!(created["version"], 1);
    assert_eq!(created["activeVersion"], 1);
    assert_eq!(created["checksum"], checksum("Hello {{ name }}"));

    let again = app
        .post(
            "/v1/templates",
            &json!({"name": "greeting", "format": "Text", "source": "x"}),
        )
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        again["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("greeting")
    );

    let updated = app
        .put(
            "/v1/templates/greeting",
            &json!({"format": "Text", "source": "Hi {{ name }}!", "description": "greets"}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        (
            updated["version"].as_i64(),
            updated["activeVersion"].as_i64()
        ),
        (Some(2), Some(2))
    );

    let v1 = app
        .get("/v1/templates/greeting/versions/1")
        .await
        .expect(StatusCode::OK);
    assert_eq!(v1["source"], "Hello {{ name }}");
    assert_eq!(v1["format"], "Text");
    assert_eq!(v1["limits"]["fuel"], 1_000_000);
    assert!(v1["createdAt"].as_str().is_some_and(|s| s.contains('T')));

    let template = app
        .get("/v1/templates/greeting")
        .await
        .expect(StatusCode::OK);
    assert_eq!(template["activeVersion"], 2);
    assert_eq!(template["latestVersion"], 2);
    assert_eq!(template["description"], "greets");
    assert_eq!(template["active"]["source"], "Hi {{ name }}!");

    let versions = app
        .get("/v1/templates/greeting/versions")
        .await
        .expect(StatusCode::OK);
    let items = versions["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[0]["active"].as_bool(), items[1]["active"].as_bool()),
        (Some(false), Some(true))
    );
    app.get("/v1/templates/greeting/versions/3")
        .await
        .problem(StatusCode::NOT_FOUND);
    assert_eq!(
        app.render_ok("greeting", json!({"name": "Ada"})).await,
        "Hi Ada!"
    );
}

#[tokio::test]
async fn put_is_idempotent_on_content() {
    let app = spawn_app("tpl_idem").await;
    // PUT on an unknown name creates it.
    let body = json!({"format": "Text", "source": "a {{ x }}", "limits": {"fuel": 5000}});
    let first = app
        .put("/v1/templates/idem", &body)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(first["version"], 1);
    let same = app
        .put("/v1/templates/idem", &body)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (same["version"].as_i64(), same["created"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(same["contentChecksum"], first["contentChecksum"]);
    assert_eq!(app.count_versions("idem").await, 1);

    // The limits are part of the content.
    let other = json!({"format": "Text", "source": "a {{ x }}", "limits": {"fuel": 6000}});
    let second = app
        .put("/v1/templates/idem", &other)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(second["version"], 2);
    assert_ne!(second["contentChecksum"], first["contentChecksum"]);
    // Re-applying the older content returns that version and leaves v2 active.
    let back = app
        .put("/v1/templates/idem", &body)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (back["version"].as_i64(), back["activeVersion"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(app.count_versions("idem").await, 2);
}

#[tokio::test]
async fn activate_rolls_back_and_retire_hides() {
    let app = spawn_app("tpl_activate").await;
    app.create_text("notice", "one").await;
    app.put(
        "/v1/templates/notice",
        &json!({"format": "Text", "source": "two"}),
    )
    .await
    .expect(StatusCode::CREATED);
    assert_eq!(app.render_ok("notice", json!({})).await, "two");

    let rolled = app
        .post("/v1/templates/notice/activate", &json!({"version": 1}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            rolled["activeVersion"].as_i64(),
            rolled["latestVersion"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(app.render_ok("notice", json!({})).await, "one");
    app.post("/v1/templates/notice/activate", &json!({"version": 9}))
        .await
        .problem(StatusCode::NOT_FOUND);
    app.post("/v1/templates/ghost/activate", &json!({"version": 1}))
        .await
        .problem(StatusCode::NOT_FOUND);

    // Retire: hidden from reads, list and render; idempotent; versions kept.
    assert_eq!(
        app.delete("/v1/templates/notice").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete("/v1/templates/notice").await.status,
        StatusCode::NO_CONTENT
    );
    app.get("/v1/templates/notice")
        .await
        .problem(StatusCode::NOT_FOUND);
    app.post("/v1/templates/notice/render", &json!({}))
        .await
        .problem(StatusCode::NOT_FOUND);
    let list = app.get("/v1/templates").await.expect(StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
    assert_eq!(app.count_versions("notice").await, 2);

    // Creating it again continues the numbering.
    let revived = app.create_text("notice", "three").await;
    assert_eq!(revived["version"], 3);
    assert_eq!(app.render_ok("notice", json!({})).await, "three");
}

#[tokio::test]
async fn concurrent_puts_get_distinct_consecutive_versions() {
    let app = spawn_app("tpl_concurrent").await;
    app.create_text("busy", "v1").await;
    let puts = (0..4).map(|i| {
        let app = &app;
        async move {
            app.put(
                "/v1/templates/busy",
                &json!({"format": "Text", "source": format!("writer {i}")}),
            )
            .await
            .expect(StatusCode::CREATED)["version"]
                .as_i64()
                .unwrap_or_default()
        }
    });
    let mut versions = futures::future::join_all(puts).await;
    versions.sort_unstable();
    assert_eq!(versions, [2, 3, 4, 5]);
    let template = app.get("/v1/templates/busy").await.expect(StatusCode::OK);
    assert_eq!(
        (
            template["activeVersion"].as_i64(),
            template["latestVersion"].as_i64()
        ),
        (Some(5), Some(5))
    );
    assert_eq!(app.count_versions("busy").await, 5);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_yield_one_template() {
    let app = spawn_app("tpl_race").await;
    let posts = (0..3).map(|i| {
        let app = &app;
        async move {
            app.post(
                "/v1/templates",
                &json!({"name": "race", "format": "Text", "source": format!("writer {i}")}),
            )
            .await
            .status
        }
    });
    let statuses = futures::future::join_all(posts).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 2), "{statuses:?}");
    assert_eq!(app.count_versions("race").await, 1);
}

#[tokio::test]
async fn list_paginates_by_name() {
    let app = spawn_app("tpl_list").await;
    for name in ["c-tpl", "a-tpl", "b-tpl"] {
        app.create_text(name, "x").await;
    }
    let first = app
        .get("/v1/templates?limit=2")
        .await
        .expect(StatusCode::OK);
    let names: Vec<&str> = first["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["a-tpl", "b-tpl"]);
    assert_eq!(first["nextCursor"], "b-tpl");
    let second = app
        .get("/v1/templates?limit=2&after=b-tpl")
        .await
        .expect(StatusCode::OK);
    assert_eq!(second["items"][0]["name"], "c-tpl");
    assert!(second["nextCursor"].is_null());
    app.get("/v1/templates?limit=0")
        .await
        .problem(StatusCode::BAD_REQUEST);
}
