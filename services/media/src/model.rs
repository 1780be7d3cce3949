//! Stored documents and API bodies.

use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An uploaded original, as stored in `assets`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssetDoc {
    /// The asset id (random, URL-safe).
    #[serde(rename = "_id")]
    pub id: String,
    /// The client's filename, if any.
    pub filename: Option<String>,
    /// The sniffed media type.
    pub content_type: String,
    /// `image`, `video` or `file`.
    pub kind: String,
    /// Size in bytes.
    pub length: i64,
    /// Hex SHA-256 of the content (the strong ETag).
    pub sha256: String,
    /// Pixel width of an image.
    pub width: Option<u32>,
    /// Pixel height of an image.
    pub height: Option<u32>,
    /// GridFS file id.
    pub file_id: String,
    /// GridFS chunk size of the file.
    pub chunk_size: i64,
    /// Who uploaded it (token subject).
    pub owner: Option<String>,
    /// Upload time.
    pub created_at: DateTime,
    /// The `media.processed` event waiting for the relay: stored in the same
    /// document as the asset, so both are written atomically without transactions.
    pub outbox: Outbox,
}

/// The asset's pending event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outbox {
    /// The event id (consumers deduplicate on it: delivery is at least once).
    pub event_id: String,
    /// True until RabbitMQ confirmed the event.
    pub pending: bool,
    /// When it was confirmed.
    pub published_at: Option<DateTime>,
}

/// A derived variant, as stored in `variants`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantDoc {
    /// Hex SHA-256 of (asset id, canonical transform).
    #[serde(rename = "_id")]
    pub key: String,
    /// The original.
    pub asset_id: String,
    /// The canonical transform.
    pub params: String,
    /// Media type.
    pub content_type: String,
    /// Size in bytes.
    pub length: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// GridFS file id.
    pub file_id: String,
    /// GridFS chunk size.
    pub chunk_size: i64,
    /// Creation time.
    pub created_at: DateTime,
}

/// A resumable upload in progress, as stored in `upload_sessions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionDoc {
    /// The session id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The final filename.
    pub filename: Option<String>,
    /// The declared media type.
    pub content_type: Option<String>,
    /// Total size announced at creation.
    pub length: i64,
    /// Bytes received so far (the next chunk starts here).
    pub offset: i64,
    /// Who opened it.
    pub owner: Option<String>,
    /// Creation time.
    pub created_at: DateTime,
}

/// Metadata of an asset, as returned by the API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Asset {
    /// The asset id.
    pub id: String,
    /// The client's filename.
    pub filename: Option<String>,
    /// The sniffed media type.
    pub content_type: String,
    /// `image`, `video` or `file`.
    pub kind: String,
    /// Size in bytes.
    pub length: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Pixel width of an image.
    pub width: Option<u32>,
    /// Pixel height of an image.
    pub height: Option<u32>,
    /// Upload time (RFC 3339).
    pub created_at: String,
    /// Where to fetch it.
    pub url: String,
}

impl From<&AssetDoc> for Asset {
    fn from(doc: &AssetDoc) -> Self {
        Self {
            id: doc.id.clone(),
            filename: doc.filename.clone(),
            content_type: doc.content_type.clone(),
            kind: doc.kind.clone(),
            length: doc.length,
            sha256: doc.sha256.clone(),
            width: doc.width,
            height: doc.height,
            created_at: doc.created_at.try_to_rfc3339_string().unwrap_or_default(),
            url: format!("/v1/media/{}", doc.id),
        }
    }
}

/// Opens a resumable upload.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// The file's name (its extension must agree with the content).
    pub filename: Option<String>,
    /// The file's media type (must agree with the content).
    pub content_type: Option<String>,
    /// Total size in bytes.
    pub length: u64,
}

/// A resumable upload's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Session {
    /// The session id.
    pub id: String,
    /// Total size.
    pub length: i64,
    /// Bytes received; the next chunk starts here.
    pub offset: i64,
    /// Largest chunk accepted per PUT.
    pub max_chunk_bytes: usize,
    /// Where to PUT chunks.
    pub url: String,
}

/// Asks for a signed URL.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// Lifetime in seconds (1 to 7 days; default 1 hour).
    pub ttl_seconds: Option<u64>,
    /// Variant parameters to bake in (`w`, `h`, `fit`, `format`, `q`, `crop`).
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
}

/// A signed URL.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignedUrl {
    /// Path and query, relative to the service.
    pub url: String,
    /// Expiry, unix seconds.
    pub expires_at: u64,
}
