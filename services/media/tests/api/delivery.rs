//! Delivery: ranges, conditional GET, variants cached, WebP from `Accept`.

use image::ImageFormat;
use reqwest::StatusCode;

use crate::helpers::{image_bytes, rgba_png, spawn_app};

#[tokio::test]
async fn a_range_request_returns_exactly_the_bytes_asked() {
    let app = spawn_app().await;
    // Larger than one GridFS chunk (255 KiB) so ranges cross chunk borders.
    let jpeg = image_bytes(1000, 1000, ImageFormat::Jpeg);
    assert!(jpeg.len() > 300 * 1024, "{}", jpeg.len());
    let id = app.upload_ok(jpeg.clone(), "a.jpg", "image/jpeg").await;
    let path = format!("/v1/media/{id}");
    let len = jpeg.len();
    for (range, start, end) in [
        ("bytes=0-99".to_owned(), 0, 99),
        (format!("bytes={}-{}", 261_000, 261_200), 261_000, 261_200),
        ("bytes=-10".to_owned(), len - 10, len - 1),
        (format!("bytes={}-", len - 5), len - 5, len - 1),
    ] {
        let reply = app.get(&path, &[("range", &range)]).await;
        reply.expect(StatusCode::PARTIAL_CONTENT);
        assert_eq!(reply.bytes, jpeg[start..=end], "{range}");
        assert_eq!(
            reply.header("content-range"),
            format!("bytes {start}-{end}/{len}")
        );
        assert_eq!(
            reply.header("content-length"),
            (end - start + 1).to_string()
        );
    }
    let reply = app.get(&path, &[("range", &format!("bytes={len}-"))]).await;
    reply.problem(StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(reply.header("content-range"), format!("bytes */{len}"));
    // If-Range with another ETag: the whole file.
    let reply = app
        .get(&path, &[("range", "bytes=0-9"), ("if-range", "\"other\"")])
        .await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.bytes.len(), len);
}

#[tokio::test]
async fn a_matching_etag_gets_304() {
    let app = spawn_app().await;
    let id = app
        .upload_ok(image_bytes(20, 20, ImageFormat::Png), "a.png", "image/png")
        .await;
    let first = app.get(&format!("/v1/media/{id}"), &[]).await;
    let etag = first.header("etag").to_owned();
    assert!(etag.starts_with('"'), "strong ETag: {etag}");
    assert!(
        first.header("cache-control").contains("private"),
        "token-authorised reads are private"
    );
    let again = app
        .get(&format!("/v1/media/{id}"), &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.bytes.is_empty());
    assert_eq!(again.header("etag"), etag);
}

#[tokio::test]
async fn a_webp_thumbnail_is_served_for_accept_webp_and_cached() {
    let app = spawn_app().await;
    let id = app
        .upload_ok(
            image_bytes(640, 480, ImageFormat::Jpeg),
            "a.jpg",
            "image/jpeg",
        )
        .await;
    let path = format!("/v1/media/{id}/thumbnail?size=64");
    let accept = [("accept", "image/webp,image/*;q=0.8")];
    let first = app.get(&path, &accept).await;
    first.expect(StatusCode::OK);
    assert_eq!(first.header("content-type"), "image/webp");
    assert_eq!(first.header("vary"), "Accept");
    assert!(first.header("cache-control").contains("immutable"));
    assert_eq!(first.header("x-media-cache"), "miss");
    let decoded = image::load_from_memory(&first.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (64, 64));
    assert_eq!(infer::get(&first.bytes).unwrap().mime_type(), "image/webp");

    let processed = app.media.processed_count();
    let second = app.get(&path, &accept).await;
    assert_eq!(second.header("x-media-cache"), "hit");
    assert_eq!(second.bytes, first.bytes);
    assert_eq!(
        app.media.processed_count(),
        processed,
        "not processed again"
    );

    // Without WebP in Accept the same URL gives JPEG.
    let jpeg = app.get(&path, &[("accept", "image/jpeg")]).await;
    assert_eq!(jpeg.header("content-type"), "image/jpeg");
}

#[tokio::test]
async fn format_auto_prefers_avif_then_webp_and_caches_each() {
    let app = spawn_app().await;
    let id = app
        .upload_ok(
            image_bytes(640, 480, ImageFormat::Jpeg),
            "a.jpg",
            "image/jpeg",
        )
        .await;
    let path = format!("/v1/media/{id}/thumbnail?size=64&format=auto");

    let avif = app.get(&path, &[("accept", "image/avif,image/webp")]).await;
    avif.expect(StatusCode::OK);
    assert_eq!(avif.header("content-type"), "image/avif");
    assert_eq!(avif.header("vary"), "Accept");
    assert_eq!(&avif.bytes[4..12], b"ftypavif");
    assert_eq!(infer::get(&avif.bytes).unwrap().mime_type(), "image/avif");

    let webp = app.get(&path, &[("accept", "image/webp")]).await;
    webp.expect(StatusCode::OK);
    assert_eq!(webp.header("content-type"), "image/webp");
    assert_eq!(webp.header("vary"), "Accept");
    assert_eq!(webp.header("x-media-cache"), "miss", "not the AVIF variant");
    let decoded = image::load_from_memory(&webp.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (64, 64));

    let again = app.get(&path, &[("accept", "image/avif,image/webp")]).await;
    assert_eq!(again.header("x-media-cache"), "hit");
    assert_eq!(again.bytes, avif.bytes);

    // An explicit format=avif needs no Accept and does not vary on it.
    let fixed = app
        .get(&format!("/v1/media/{id}?w=32&format=avif&q=50"), &[])
        .await;
    fixed.expect(StatusCode::OK);
    assert_eq!(fixed.header("content-type"), "image/avif");
    assert_eq!(&fixed.bytes[4..12], b"ftypavif");
}

#[tokio::test]
async fn resize_crop_and_fit_produce_the_asked_geometry() {
    let app = spawn_app().await;
    let id = app
        .upload_ok(rgba_png(400, 200), "a.png", "image/png")
        .await;
    for (query, size) in [
        ("w=100", (100, 50)),
        ("w=100&h=100&fit=contain&format=png", (100, 100)),
        ("w=100&h=100&fit=inside&format=png", (100, 50)),
        ("w=100&h=100&fit=cover&format=jpeg", (100, 100)),
        ("crop=10,10,50,40&format=png", (50, 40)),
    ] {
        let reply = app.get(&format!("/v1/media/{id}?{query}"), &[]).await;
        reply.expect(StatusCode::OK);
        let decoded = image::load_from_memory(&reply.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), size, "{query}");
    }
    let body = app
        .get(&format!("/v1/media/{id}?crop=390,0,50,50"), &[])
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "crop");
}

#[tokio::test]
async fn a_video_variant_without_ffmpeg_is_415() {
    let app = spawn_app().await;
    // A minimal MP4 `ftyp` box is enough for sniffing.
    let mut mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    mp4.extend(std::iter::repeat_n(0u8, 512));
    let id = app.upload_ok(mp4, "clip.mp4", "video/mp4").await;
    let body = app
        .get(&format!("/v1/media/{id}/thumbnail"), &[])
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body["detail"].as_str().unwrap().contains("ffmpeg"),
        "{body}"
    );
}

#[tokio::test]
async fn excess_processing_is_shed_with_503_and_retry_after() {
    let app =
        crate::helpers::spawn_with(&[("PROCESSING_CONCURRENCY", "1"), ("PROCESSING_QUEUE", "0")])
            .await;
    let id = app
        .upload_ok(
            image_bytes(1200, 1200, ImageFormat::Png),
            "a.png",
            "image/png",
        )
        .await;
    let requests = (0..6).map(|i| {
        let path = format!("/v1/media/{id}?w={}&format=png", 100 + i);
        let app = &app;
        async move { app.get(&path, &[]).await }
    });
    let replies = futures::future::join_all(requests).await;
    let shed: Vec<_> = replies
        .iter()
        .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(
        !shed.is_empty(),
        "one slot, no queue: concurrent requests are shed"
    );
    assert!(replies.iter().any(|r| r.status == StatusCode::OK));
    for reply in shed {
        reply.problem(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.header("retry-after"), "2");
    }
}
