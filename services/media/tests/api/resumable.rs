//! Resumable uploads: chunks in order, state in MongoDB across a restart.

use image::ImageFormat;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, executable, image_bytes, restart, spawn_app};

async fn put(
    app: &TestApp,
    id: &str,
    bytes: &[u8],
    start: usize,
    total: usize,
) -> crate::helpers::Reply {
    let end = start + bytes.len() - 1;
    let request = app
        .client
        .put(app.url(&format!("/v1/uploads/{id}")))
        .bearer_auth(&app.writer)
        .header("content-range", format!("bytes {start}-{end}/{total}"))
        .body(bytes.to_vec());
    app.send(request).await
}

async fn open(app: &TestApp, filename: &str, length: usize) -> String {
    let request = app
        .client
        .post(app.url("/v1/uploads"))
        .bearer_auth(&app.writer)
        .json(&json!({ "filename": filename, "length": length }));
    let body = app.send(request).await.expect(StatusCode::CREATED);
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_chunked_upload_survives_a_restart() {
    let app = spawn_app().await;
    let jpeg = image_bytes(300, 200, ImageFormat::Jpeg);
    let third = jpeg.len() / 3;
    let id = open(&app, "big.jpg", jpeg.len()).await;
    let body = put(&app, &id, &jpeg[..third], 0, jpeg.len())
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["offset"], third);
    // Out of order: skipping ahead is a conflict.
    put(&app, &id, &jpeg[2 * third..], 2 * third, jpeg.len())
        .await
        .problem(StatusCode::CONFLICT);

    let again = restart(&app).await;
    let state = again
        .send(
            again
                .client
                .get(again.url(&format!("/v1/uploads/{id}")))
                .bearer_auth(&again.writer),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(state["offset"], third);
    // A retried first chunk is acknowledged, not stored twice.
    put(&again, &id, &jpeg[..third], 0, jpeg.len())
        .await
        .expect(StatusCode::OK);
    put(&again, &id, &jpeg[third..], third, jpeg.len())
        .await
        .expect(StatusCode::OK);
    let request = again
        .client
        .post(again.url(&format!("/v1/uploads/{id}/complete")))
        .bearer_auth(&again.writer);
    let asset = again.send(request).await.expect(StatusCode::CREATED);
    assert_eq!(
        (asset["width"].as_u64(), asset["height"].as_u64()),
        (Some(300), Some(200))
    );
    let got = again.get(asset["url"].as_str().unwrap(), &[]).await;
    assert_eq!(got.bytes, jpeg);
}

#[tokio::test]
async fn a_disguised_chunked_upload_is_refused_at_completion() {
    let app = spawn_app().await;
    let exe = executable();
    let id = open(&app, "cat.png", exe.len()).await;
    put(&app, &id, &exe, 0, exe.len())
        .await
        .expect(StatusCode::OK);
    let request = app
        .client
        .post(app.url(&format!("/v1/uploads/{id}/complete")))
        .bearer_auth(&app.writer);
    app.send(request)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.stored_counts().await, (0, 0));
    // The session is gone with its chunks.
    let request = app
        .client
        .get(app.url(&format!("/v1/uploads/{id}")))
        .bearer_auth(&app.writer);
    app.send(request).await.problem(StatusCode::NOT_FOUND);
}
