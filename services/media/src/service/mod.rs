//! [`Media`]: the operations behind the routes: ingest, variants, sessions.

mod ingest;
pub use ingest::too_large;
pub use sessions::ChunkRange;
mod sessions;
mod variants;

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use futures::TryStreamExt as _;
use mongodb::bson::doc;

use crate::{
    Error, Result, Store, events::Outbox, limiter::Limiter, metrics::MediaMetrics, model::AssetDoc,
};

/// Size and pixel limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest stored file.
    pub max_upload_bytes: usize,
    /// Largest chunk of a resumable upload.
    pub max_chunk_bytes: usize,
    /// Decoded pixel cap.
    pub max_pixels: u64,
}

/// The service's operations; shared behind an `Arc`.
#[derive(Debug)]
pub struct Media {
    store: Store,
    limiter: Limiter,
    outbox: Outbox,
    limits: Limits,
    ffmpeg: Option<PathBuf>,
    ffmpeg_timeout: Duration,
    metrics: MediaMetrics,
    processed: Arc<AtomicU64>,
}

impl Media {
    /// Wires the operations.
    pub fn new(
        store: Store,
        limiter: Limiter,
        outbox: Outbox,
        limits: Limits,
        ffmpeg: Option<PathBuf>,
        ffmpeg_timeout: Duration,
        metrics: MediaMetrics,
    ) -> Self {
        Self {
            store,
            limiter,
            outbox,
            limits,
            ffmpeg,
            ffmpeg_timeout,
            metrics,
            processed: Arc::default(),
        }
    }

    /// The store (tests inspect it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// How many variants this replica has computed (cache misses).
    pub fn processed_count(&self) -> u64 {
        self.processed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The asset `id`, or 404.
    pub async fn asset(&self, id: &str) -> Result<AssetDoc> {
        if !is_id(id) {
            return Err(Error::not_found(format!("media {id} does not exist")));
        }
        self.store
            .assets()
            .find_one(doc! { "_id": id })
            .await?
            .ok_or_else(|| Error::not_found(format!("media {id} does not exist")))
    }

    /// Deletes an asset, its file and its variants.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let asset = self.asset(id).await?;
        let mut variants = self.store.variants().find(doc! { "asset_id": id }).await?;
        while let Some(variant) = variants.try_next().await? {
            self.store.delete_file(&variant.file_id).await?;
        }
        self.store
            .variants()
            .delete_many(doc! { "asset_id": id })
            .await?;
        self.store.assets().delete_one(doc! { "_id": id }).await?;
        self.store.delete_file(&asset.file_id).await
    }
}

/// A fresh id: 32 lower-case hex characters.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// True if `id` has the shape of an id (so junk never reaches a query).
pub fn is_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
