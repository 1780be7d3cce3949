//! Video thumbnails through ffmpeg: the spawn, the frame pipe and the timeout,
//! with a stand-in `ffmpeg` script (the real one is not installed on CI).

use std::{os::unix::fs::PermissionsExt as _, path::PathBuf};

use image::ImageFormat;
use reqwest::StatusCode;

use crate::helpers::{TestApp, image_bytes, spawn_with};

/// A minimal MP4: an `ftyp` box is enough for sniffing.
fn mp4() -> Vec<u8> {
    let mut mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    mp4.extend(std::iter::repeat_n(0u8, 512));
    mp4
}

/// Writes an executable script `body` into a fresh temporary directory.
fn script(body: &str) -> (tempdir::Dir, PathBuf) {
    let dir = tempdir::Dir::new();
    let path = dir.0.join("ffmpeg");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, path)
}

mod tempdir {
    /// A directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(machina_devenv::unique_name("media-ffmpeg"));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn app_with_ffmpeg(path: &std::path::Path, timeout: &str) -> TestApp {
    spawn_with(&[
        ("FFMPEG_PATH", path.to_str().unwrap()),
        ("FFMPEG_TIMEOUT", timeout),
    ])
    .await
}

#[tokio::test]
async fn a_video_thumbnail_is_made_from_the_frame_ffmpeg_returns() {
    let (dir, _) = script("");
    let frame = dir.0.join("frame.png");
    std::fs::write(&frame, image_bytes(320, 240, ImageFormat::Png)).unwrap();
    // Checks it was given a readable input file, then "extracts" the frame.
    let body = format!(
        "while [ \"$1\" != -i ]; do shift; done; test -s \"$2\" || exit 3; cat {}",
        frame.display()
    );
    let (_dir, ffmpeg) = script(&body);
    let app = app_with_ffmpeg(&ffmpeg, "5s").await;
    let id = app.upload_ok(mp4(), "clip.mp4", "video/mp4").await;
    let reply = app
        .get(
            &format!("/v1/media/{id}/thumbnail?size=64&format=jpeg"),
            &[],
        )
        .await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.header("content-type"), "image/jpeg");
    let decoded = image::load_from_memory(&reply.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (64, 64));
}

#[tokio::test]
async fn a_hanging_ffmpeg_is_killed_at_the_timeout() {
    let (_dir, ffmpeg) = script("sleep 30");
    let app = app_with_ffmpeg(&ffmpeg, "300ms").await;
    let id = app.upload_ok(mp4(), "clip.mp4", "video/mp4").await;
    let started = std::time::Instant::now();
    let body = app
        .get(&format!("/v1/media/{id}/thumbnail"), &[])
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        body["detail"].as_str().unwrap().contains("no frame within"),
        "{body}"
    );
}
