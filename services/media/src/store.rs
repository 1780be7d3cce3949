//! [`Store`]: MongoDB collections and the GridFS bucket.
//!
//! Files live in the GridFS bucket `media` (`media.files`, `media.chunks`),
//! written through the driver's bucket. Reads of a byte range query
//! `media.chunks` by chunk number directly (a range costs only the chunks it
//! touches), which any MongoDB-compatible server answers.

use futures::{AsyncWriteExt as _, Stream, StreamExt as _, TryStreamExt as _};
use machina_kit::Mongo;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{Bson, DateTime, Document, doc, spec::BinarySubtype},
    error::{ErrorKind, WriteFailure},
    gridfs::GridFsBucket,
    options::{FindOptions, GridFsBucketOptions, IndexOptions},
};
use serde::Deserialize;

use crate::{
    Error, Result,
    model::{AssetDoc, SessionDoc, VariantDoc},
};

/// GridFS chunk size (the driver's default, 255 KiB).
pub const CHUNK_SIZE: u32 = 255 * 1024;
/// GridFS chunks handed to the driver per write (about 4 MiB).
const WRITE_CHUNKS: usize = 16;
/// The bucket name.
const BUCKET: &str = "media";

/// The service's collections; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    mongo: Mongo,
    db: Database,
    bucket: GridFsBucket,
}

#[derive(Debug, Deserialize)]
struct Chunk {
    n: i64,
    data: mongodb::bson::Binary,
}

#[derive(Debug, Deserialize)]
struct Part {
    data: mongodb::bson::Binary,
}

impl Store {
    /// The store on `database`.
    pub fn new(mongo: Mongo, database: &str) -> Self {
        let db = mongo.client().database(database);
        let options = GridFsBucketOptions::builder()
            .bucket_name(BUCKET.to_owned())
            .chunk_size_bytes(CHUNK_SIZE)
            .build();
        let bucket = db.gridfs_bucket(options);
        Self { mongo, db, bucket }
    }

    /// The MongoDB helper (readiness, error counting).
    pub fn mongo(&self) -> &Mongo {
        &self.mongo
    }

    /// Assets.
    pub fn assets(&self) -> Collection<AssetDoc> {
        self.db.collection("assets")
    }

    /// Cached variants.
    pub fn variants(&self) -> Collection<VariantDoc> {
        self.db.collection("variants")
    }

    /// Resumable upload sessions.
    pub fn sessions(&self) -> Collection<SessionDoc> {
        self.db.collection("upload_sessions")
    }

    fn parts(&self) -> Collection<Document> {
        self.db.collection("upload_parts")
    }

    fn chunks(&self) -> Collection<Document> {
        self.db.collection(&format!("{BUCKET}.chunks"))
    }

    /// Creates the indexes (idempotent). GridFS's own indexes are created by the driver.
    pub async fn ensure_indexes(&self) -> Result<()> {
        let index = |keys| IndexModel::builder().keys(keys).build();
        self.assets()
            .create_index(index(doc! { "outbox.pending": 1 }))
            .await?;
        self.variants()
            .create_index(index(doc! { "asset_id": 1 }))
            .await?;
        self.parts()
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "session": 1, "start": 1 })
                    .options(IndexOptions::builder().unique(true).build())
                    .build(),
            )
            .await?;
        self.chunks()
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "files_id": 1, "n": 1 })
                    .options(IndexOptions::builder().unique(true).build())
                    .build(),
            )
            .await?;
        Ok(())
    }

    /// Writes `bytes` as GridFS file `file_id`.
    pub async fn put_file(&self, file_id: &str, filename: &str, bytes: &[u8]) -> Result<()> {
        let mut stream = self
            .bucket
            .open_upload_stream(filename)
            .id(Bson::String(file_id.to_owned()))
            .await?;
        let written = async {
            // The driver copies what one write is given into its buffer and
            // inserts it at once; feeding a few chunks at a time keeps that
            // copy small instead of doubling a large file in memory.
            for piece in bytes.chunks(CHUNK_SIZE as usize * WRITE_CHUNKS) {
                stream.write_all(piece).await?;
            }
            stream.close().await
        }
        .await;
        if let Err(err) = written {
            let _ = stream.abort().await;
            return Err(Error::internal(anyhow::anyhow!(
                "GridFS upload failed: {err}"
            )));
        }
        Ok(())
    }

    /// Deletes GridFS file `file_id` (missing is fine).
    pub async fn delete_file(&self, file_id: &str) -> Result<()> {
        match self.bucket.delete(Bson::String(file_id.to_owned())).await {
            Ok(()) => Ok(()),
            Err(err) if matches!(*err.kind, ErrorKind::GridFs(_)) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Reads all of file `file_id`.
    pub async fn read_file(&self, file_id: &str, chunk_size: i64, length: i64) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
        if length == 0 {
            return Ok(out);
        }
        let mut stream = Box::pin(
            self.read_range(file_id, chunk_size, 0, length as u64 - 1)
                .await?,
        );
        while let Some(piece) = stream.next().await {
            out.extend_from_slice(&piece?);
        }
        Ok(out)
    }

    /// Streams bytes `start..=end` of file `file_id` from its chunks.
    pub async fn read_range(
        &self,
        file_id: &str,
        chunk_size: i64,
        start: u64,
        end: u64,
    ) -> Result<impl Stream<Item = Result<bytes::Bytes>> + Send + 'static> {
        let size = chunk_size.max(1) as u64;
        let (first, last) = (start / size, end / size);
        let options = FindOptions::builder().sort(doc! { "n": 1 }).build();
        let cursor = self
            .chunks()
            .clone_with_type::<Chunk>()
            .find(doc! {
                "files_id": file_id,
                "n": { "$gte": first as i64, "$lte": last as i64 },
            })
            .with_options(options)
            .await?;
        let expected = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(first));
        Ok(cursor.map(move |chunk| {
            let chunk = chunk?;
            let n = chunk.n as u64;
            // A missing chunk would silently shift bytes; refuse instead.
            if expected.fetch_add(1, std::sync::atomic::Ordering::SeqCst) != n {
                return Err(Error::internal(anyhow::anyhow!(
                    "GridFS chunk {n} out of sequence"
                )));
            }
            let data = chunk.data.bytes;
            let offset = n * size;
            let from = start.saturating_sub(offset) as usize;
            let to = ((end + 1 - offset) as usize).min(data.len());
            Ok(bytes::Bytes::from(data).slice(from.min(to)..to))
        }))
    }

    /// Inserts a document, mapping a duplicate key to `Ok(false)`.
    pub async fn insert_unique<T: serde::Serialize + Send + Sync>(
        collection: &Collection<T>,
        value: &T,
    ) -> Result<bool> {
        match collection.insert_one(value).await {
            Ok(_) => Ok(true),
            Err(err) if is_duplicate(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Stores one chunk of session `session` starting at `start`; a retried
    /// chunk (same start) is a duplicate and reported as `false`.
    pub async fn put_part(&self, session: &str, start: i64, data: &[u8]) -> Result<bool> {
        let part = doc! {
            "_id": format!("{session}:{start:020}"),
            "session": session,
            "start": start,
            "data": Bson::Binary(mongodb::bson::Binary {
                subtype: BinarySubtype::Generic,
                bytes: data.to_vec(),
            }),
        };
        Self::insert_unique(&self.parts(), &part).await
    }

    /// Concatenates the parts of `session` in order.
    pub async fn read_parts(&self, session: &str, length: usize) -> Result<Vec<u8>> {
        let options = FindOptions::builder().sort(doc! { "start": 1 }).build();
        let mut cursor = self
            .parts()
            .clone_with_type::<Part>()
            .find(doc! { "session": session })
            .with_options(options)
            .await?;
        let mut out = Vec::with_capacity(length);
        while let Some(part) = cursor.try_next().await? {
            out.extend_from_slice(&part.data.bytes);
        }
        Ok(out)
    }

    /// Removes a session and its parts.
    pub async fn delete_session(&self, session: &str) -> Result<()> {
        self.parts()
            .delete_many(doc! { "session": session })
            .await?;
        self.sessions().delete_one(doc! { "_id": session }).await?;
        Ok(())
    }

    /// Marks an asset's event as published.
    pub async fn mark_published(&self, asset_id: &str) -> Result<()> {
        self.assets()
            .update_one(
                doc! { "_id": asset_id },
                doc! { "$set": { "outbox.pending": false, "outbox.published_at": DateTime::now() } },
            )
            .await?;
        Ok(())
    }
}

/// True for a duplicate key error (E11000).
pub fn is_duplicate(err: &mongodb::error::Error) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == 11000,
        ErrorKind::InsertMany(e) => e
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().any(|e| e.code == 11000)),
        ErrorKind::Command(e) => e.code == 11000,
        _ => false,
    }
}
