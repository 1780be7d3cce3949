//! Derived variants: computed once per (asset, transform), then served from GridFS.

use std::sync::atomic::Ordering;

use mongodb::bson::{DateTime, doc};

use super::{Media, ingest::image_error, new_id, sha256_hex};
use crate::{
    Error, Result,
    imaging::{self, Transform},
    model::{AssetDoc, VariantDoc},
    store::{CHUNK_SIZE, Store},
    video,
};

impl Media {
    /// The variant of `asset` for `transform`: from the cache, or processed
    /// now (inside a processing slot) and cached. Returns it and whether it was a hit.
    pub async fn variant(
        &self,
        asset: &AssetDoc,
        transform: &Transform,
    ) -> Result<(VariantDoc, bool)> {
        let params = transform.canonical();
        let key = sha256_hex(format!("{}|{params}", asset.id).as_bytes());
        if let Some(found) = self.store.variants().find_one(doc! { "_id": &key }).await? {
            self.metrics.variant(true);
            return Ok((found, true));
        }
        self.metrics.variant(false);
        let (bytes, sha256) = self.render(asset, transform).await?;
        self.processed.fetch_add(1, Ordering::SeqCst);
        let file_id = format!("v:{key}:{}", new_id());
        self.store.put_file(&file_id, &file_id, &bytes).await?;
        let variant = VariantDoc {
            key: key.clone(),
            asset_id: asset.id.clone(),
            params,
            content_type: transform.format.mime().to_owned(),
            length: bytes.len() as i64,
            sha256,
            file_id: file_id.clone(),
            chunk_size: CHUNK_SIZE.into(),
            created_at: DateTime::now(),
        };
        if !Store::insert_unique(&self.store.variants(), &variant).await? {
            // Another request or replica stored it first; keep theirs.
            let _ = self.store.delete_file(&file_id).await;
            let existing = self.store.variants().find_one(doc! { "_id": &key }).await?;
            return existing
                .map(|v| (v, true))
                .ok_or_else(|| Error::internal(anyhow::anyhow!("variant {key} vanished")));
        }
        Ok((variant, false))
    }

    /// Decodes, transforms and encodes inside a processing slot; returns the
    /// bytes and their SHA-256. The slot is taken before the original is
    /// loaded, so waiting requests hold no image bytes.
    async fn render(&self, asset: &AssetDoc, transform: &Transform) -> Result<(Vec<u8>, String)> {
        let _slot = self.limiter.acquire().await?;
        let (source, mime) = self.source_image(asset).await?;
        let transform = transform.clone();
        let max_pixels = self.limits.max_pixels;
        let started = std::time::Instant::now();
        let encoded = tokio::task::spawn_blocking(move || {
            imaging::process(&source, &mime, &transform, max_pixels).map(|out| {
                let sha = sha256_hex(&out);
                (out, sha)
            })
        })
        .await
        .map_err(Error::internal)?
        .map_err(|err| image_error(err, "file"))?;
        self.metrics.processed(started.elapsed());
        Ok(encoded)
    }

    /// The bytes to process and their type: the original image, or a frame of
    /// a video. Called inside a processing slot.
    async fn source_image(&self, asset: &AssetDoc) -> Result<(Vec<u8>, String)> {
        let load = || {
            self.store
                .read_file(&asset.file_id, asset.chunk_size, asset.length)
        };
        match asset.kind.as_str() {
            "image" => Ok((load().await?, asset.content_type.clone())),
            "video" => {
                let Some(ffmpeg) = &self.ffmpeg else {
                    return Err(Error::unsupported(
                        "video thumbnails need ffmpeg, which this instance does not have on PATH",
                    ));
                };
                let video = load().await?;
                let frame = video::frame(ffmpeg, video, self.ffmpeg_timeout)
                    .await
                    .map_err(|err| Error::invalid("file", err.to_string()))?;
                Ok((frame, "image/png".to_owned()))
            }
            _ => Err(Error::unsupported(format!(
                "{} cannot be transformed; fetch it without parameters",
                asset.content_type
            ))),
        }
    }
}
