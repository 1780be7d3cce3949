//! Uploads: what is accepted, what is refused, and that refusals store nothing.

use image::ImageFormat;
use reqwest::StatusCode;

use crate::helpers::{executable, image_bytes, spawn_app};

#[tokio::test]
async fn an_image_is_stored_with_sniffed_metadata_and_served_back() {
    let app = spawn_app().await;
    let png = image_bytes(40, 30, ImageFormat::Png);
    let reply = app.upload(png.clone(), "cat.png", "image/png").await;
    let body = reply.expect(StatusCode::CREATED);
    assert_eq!(body["content_type"], "image/png");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(40), Some(30))
    );
    assert_eq!(
        reply.header("location"),
        format!("/v1/media/{}", body["id"].as_str().unwrap())
    );
    let got = app.get(body["url"].as_str().unwrap(), &[]).await;
    got.expect(StatusCode::OK);
    assert_eq!(got.bytes, png);
    assert_eq!(got.header("content-type"), "image/png");
    assert_eq!(
        got.header("etag"),
        format!("\"{}\"", body["sha256"].as_str().unwrap())
    );
}

#[tokio::test]
async fn a_disguised_executable_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let body = app
        .upload(executable(), "cat.png", "image/png")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "content_type", "{body}");
    // Declared as octet-stream, only the name lies.
    let body = app
        .upload(executable(), "cat.png", "application/octet-stream")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "filename", "{body}");
    // No claims at all: an executable is simply not accepted.
    app.upload(executable(), "blob", "application/octet-stream")
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.stored_counts().await, (0, 0));
}

#[tokio::test]
async fn a_corrupt_jpeg_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let jpeg = image_bytes(256, 256, ImageFormat::Jpeg);
    let mut corrupt = jpeg[..jpeg.len() / 2].to_vec();
    corrupt.extend(std::iter::repeat_n(0xA5u8, 1000));
    let body = app
        .upload(corrupt, "photo.jpg", "image/jpeg")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("cannot be decoded"),
        "{body}"
    );
    assert_eq!(app.stored_counts().await, (0, 0));
}

#[tokio::test]
async fn bad_requests_get_problem_json_and_write_nothing() {
    let app = spawn_app().await;
    // No file part.
    let form = reqwest::multipart::Form::new().text("other", "x");
    let request = app
        .client
        .post(app.url("/v1/media"))
        .bearer_auth(&app.writer)
        .multipart(form);
    let body = app
        .send(request)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "file");
    // Empty file.
    app.upload(Vec::new(), "a.png", "image/png")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    // Larger than MAX_UPLOAD_BYTES (4 MiB in tests).
    app.upload(vec![0u8; 5 << 20], "big.png", "image/png")
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE);
    // No token, and a token without media:write.
    let png = image_bytes(8, 8, ImageFormat::Png);
    let request = app.client.post(app.url("/v1/media")).body(png.clone());
    app.send(request).await.problem(StatusCode::UNAUTHORIZED);
    let request = app
        .client
        .post(app.url("/v1/media"))
        .bearer_auth(&app.reader)
        .header("content-type", "image/png")
        .body(png);
    app.send(request).await.problem(StatusCode::FORBIDDEN);
    // Unknown media and bad variant parameters.
    app.get("/v1/media/0123456789abcdef0123456789abcdef", &[])
        .await
        .problem(StatusCode::NOT_FOUND);
    app.get("/v1/media/nope", &[])
        .await
        .problem(StatusCode::NOT_FOUND);
    assert_eq!(app.stored_counts().await, (0, 0));
    let id = app
        .upload_ok(image_bytes(8, 8, ImageFormat::Png), "a.png", "image/png")
        .await;
    for query in ["w=0", "w=abc", "fit=zoom", "zoom=2", "q=101", "format=gif"] {
        let body = app
            .get(&format!("/v1/media/{id}?{query}"), &[])
            .await
            .problem(StatusCode::BAD_REQUEST);
        assert!(body["field"].is_string(), "{query}: {body}");
    }
    let variants = app
        .media
        .store()
        .variants()
        .count_documents(mongodb::bson::doc! {})
        .await
        .unwrap();
    assert_eq!(variants, 0);
}

#[tokio::test]
async fn a_raw_body_upload_works_too() {
    let app = spawn_app().await;
    let jpeg = image_bytes(64, 48, ImageFormat::Jpeg);
    let request = app
        .client
        .post(app.url("/v1/media?filename=photo.jpeg"))
        .bearer_auth(&app.writer)
        .header("content-type", "image/jpeg")
        .body(jpeg);
    let body = app.send(request).await.expect(StatusCode::CREATED);
    assert_eq!(body["content_type"], "image/jpeg");
    assert_eq!(body["filename"], "photo.jpeg");
}
