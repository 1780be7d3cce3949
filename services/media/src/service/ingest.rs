//! Storing an upload: limits, sniffing, decoding check, GridFS, outbox.

use machina_kit::ApiError;
use mongodb::bson::DateTime;

use super::{Media, new_id, sha256_hex};
use crate::{
    Error, Result,
    imaging::{self, ImageError},
    model::{AssetDoc, Outbox},
    sniff::{self, Kind, SniffError},
    store::{CHUNK_SIZE, Store},
};

/// Bytes enough for every signature `infer` knows.
const SNIFF_BYTES: usize = 8192;

impl Media {
    /// Validates and stores an upload. Nothing is written unless every check
    /// passes: size, sniffed type against the claims, and (for images) a
    /// complete decode.
    pub async fn ingest(
        &self,
        bytes: Vec<u8>,
        declared: Option<&str>,
        filename: Option<&str>,
        owner: Option<String>,
    ) -> Result<AssetDoc> {
        let result = self.try_ingest(bytes, declared, filename, owner).await;
        match &result {
            Ok(_) => self.metrics.upload(true),
            Err(Error::Api(err)) if err.status().is_client_error() => self.metrics.upload(false),
            Err(_) => {}
        }
        result
    }

    async fn try_ingest(
        &self,
        bytes: Vec<u8>,
        declared: Option<&str>,
        filename: Option<&str>,
        owner: Option<String>,
    ) -> Result<AssetDoc> {
        if bytes.is_empty() {
            return Err(Error::invalid("file", "the file is empty"));
        }
        if bytes.len() > self.limits.max_upload_bytes {
            return Err(too_large(self.limits.max_upload_bytes));
        }
        let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
        let sniffed = sniff::check(head, declared, filename).map_err(|err| match err {
            SniffError::Unsupported(reason) => Error::unsupported(reason),
            SniffError::Mismatch { field, reason } => Error::invalid(field, reason),
        })?;
        let (dimensions, bytes, sha256) = self.examine(bytes, sniffed.mime, sniffed.kind).await?;
        let id = new_id();
        let file_id = format!("a:{id}");
        let name = filename.unwrap_or(&id).to_owned();
        self.store.put_file(&file_id, &name, &bytes).await?;
        let asset = AssetDoc {
            id: id.clone(),
            filename: filename.map(str::to_owned),
            content_type: sniffed.mime.to_owned(),
            kind: sniffed.kind.as_str().to_owned(),
            length: bytes.len() as i64,
            sha256,
            width: dimensions.map(|d| d.0),
            height: dimensions.map(|d| d.1),
            file_id: file_id.clone(),
            chunk_size: CHUNK_SIZE.into(),
            owner,
            created_at: DateTime::now(),
            outbox: Outbox {
                event_id: new_id(),
                pending: true,
                published_at: None,
            },
        };
        if let Err(err) = Store::insert_unique(&self.store.assets(), &asset).await {
            let _ = self.store.delete_file(&file_id).await;
            return Err(err);
        }
        self.outbox.wake();
        tracing::info!(asset = %id, content_type = sniffed.mime, length = asset.length, "media stored");
        Ok(asset)
    }

    /// Hashes the bytes and, for an image, decodes it completely (on the
    /// blocking pool, inside a processing slot) to refuse corrupt files.
    async fn examine(
        &self,
        bytes: Vec<u8>,
        mime: &'static str,
        kind: Kind,
    ) -> Result<(Option<(u32, u32)>, Vec<u8>, String)> {
        let max_pixels = self.limits.max_pixels;
        let _slot = if kind == Kind::Image {
            Some(self.limiter.acquire().await?)
        } else {
            None
        };
        let examined = tokio::task::spawn_blocking(move || {
            let sha = sha256_hex(&bytes);
            let dims = match kind {
                Kind::Image => Some(imaging::inspect(&bytes, mime, max_pixels)),
                _ => None,
            };
            (dims, bytes, sha)
        })
        .await
        .map_err(Error::internal)?;
        let (dims, bytes, sha) = examined;
        let dims = dims.transpose().map_err(|err| image_error(err, "file"))?;
        Ok((dims, bytes, sha))
    }
}

/// 413 naming the limit.
pub fn too_large(limit: usize) -> Error {
    Error::Api(ApiError::PayloadTooLarge { limit: Some(limit) })
}

/// Maps an imaging failure: bad input is 422 on `field`, the rest 500.
pub fn image_error(err: ImageError, field: &str) -> Error {
    match err {
        ImageError::Corrupt(_) | ImageError::TooManyPixels { .. } => {
            Error::invalid(field, err.to_string())
        }
        ImageError::Plan(err) => Error::invalid("crop", err.to_string()),
        ImageError::Internal(_) => Error::internal(err),
    }
}
