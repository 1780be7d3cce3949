//! Resumable uploads: a session in MongoDB, chunks PUT in order with
//! `Content-Range`, then completed into an asset. State lives only in
//! MongoDB, so a session survives a restart and can move between replicas.

use mongodb::bson::{DateTime, doc};

use super::{Media, ingest::too_large, is_id, new_id};
use crate::{
    Error, Result,
    model::{AssetDoc, CreateSession, Session, SessionDoc},
};

/// A parsed `Content-Range: bytes start-end/total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRange {
    /// First byte.
    pub start: u64,
    /// Last byte, inclusive.
    pub end: u64,
    /// Total size.
    pub total: u64,
}

impl ChunkRange {
    /// Parses the header.
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.trim().strip_prefix("bytes ")?;
        let (range, total) = rest.split_once('/')?;
        let (start, end) = range.split_once('-')?;
        let parsed = Self {
            start: start.trim().parse().ok()?,
            end: end.trim().parse().ok()?,
            total: total.trim().parse().ok()?,
        };
        (parsed.start <= parsed.end && parsed.end < parsed.total).then_some(parsed)
    }
}

impl Media {
    /// Opens a session for a file of `request.length` bytes.
    pub async fn create_session(
        &self,
        request: CreateSession,
        owner: Option<String>,
    ) -> Result<Session> {
        if request.length == 0 {
            return Err(Error::invalid("length", "the file is empty"));
        }
        if request.length > self.limits.max_upload_bytes as u64 {
            return Err(too_large(self.limits.max_upload_bytes));
        }
        let doc = SessionDoc {
            id: new_id(),
            filename: request.filename,
            content_type: request.content_type,
            length: request.length as i64,
            offset: 0,
            owner,
            created_at: DateTime::now(),
        };
        self.store.sessions().insert_one(&doc).await?;
        Ok(self.session_view(&doc))
    }

    /// The session `id` of `owner`, or 404.
    pub async fn session(&self, id: &str, owner: Option<&str>) -> Result<SessionDoc> {
        let missing = || Error::not_found(format!("upload session {id} does not exist"));
        if !is_id(id) {
            return Err(missing());
        }
        let doc = self
            .store
            .sessions()
            .find_one(doc! { "_id": id })
            .await?
            .ok_or_else(missing)?;
        if owner.is_some() && doc.owner.as_deref() != owner {
            return Err(missing());
        }
        Ok(doc)
    }

    /// The API view of a session.
    pub fn session_view(&self, doc: &SessionDoc) -> Session {
        Session {
            id: doc.id.clone(),
            length: doc.length,
            offset: doc.offset,
            max_chunk_bytes: self.limits.max_chunk_bytes,
            url: format!("/v1/uploads/{}", doc.id),
        }
    }

    /// Appends a chunk. Chunks must arrive in order; a retried chunk that was
    /// already stored is acknowledged without writing again.
    pub async fn put_chunk(
        &self,
        id: &str,
        owner: Option<&str>,
        range: ChunkRange,
        data: &[u8],
    ) -> Result<Session> {
        let session = self.session(id, owner).await?;
        if data.len() > self.limits.max_chunk_bytes {
            return Err(too_large(self.limits.max_chunk_bytes));
        }
        if range.total != session.length as u64 {
            return Err(Error::invalid(
                "content-range",
                format!("the total must be the session's length, {}", session.length),
            ));
        }
        if range.end - range.start + 1 != data.len() as u64 {
            return Err(Error::invalid(
                "content-range",
                "the range does not match the body's length",
            ));
        }
        let offset = session.offset as u64;
        if range.start < offset && range.end < offset {
            return Ok(self.session_view(&session)); // a retry of a stored chunk
        }
        if range.start != offset {
            return Err(Error::Api(machina_kit::ApiError::Conflict(format!(
                "the next chunk must start at byte {offset}"
            ))));
        }
        self.store.put_part(id, range.start as i64, data).await?;
        let next = (range.end + 1) as i64;
        self.store
            .sessions()
            .update_one(
                doc! { "_id": id, "offset": session.offset },
                doc! { "$set": { "offset": next } },
            )
            .await?;
        let updated = self.session(id, owner).await?;
        Ok(self.session_view(&updated))
    }

    /// Turns a fully received session into an asset. A refused file (type,
    /// corruption) ends the session and stores nothing.
    pub async fn complete_session(&self, id: &str, owner: Option<&str>) -> Result<AssetDoc> {
        let session = self.session(id, owner).await?;
        if session.offset != session.length {
            return Err(Error::Api(machina_kit::ApiError::Conflict(format!(
                "only {} of {} bytes have been received",
                session.offset, session.length
            ))));
        }
        let bytes = self.store.read_parts(id, session.length as usize).await?;
        if bytes.len() as i64 != session.length {
            return Err(Error::internal(anyhow::anyhow!(
                "session {id} parts are incomplete"
            )));
        }
        let result = self
            .ingest(
                bytes,
                session.content_type.as_deref(),
                session.filename.as_deref(),
                session.owner.clone(),
            )
            .await;
        match &result {
            Err(Error::Api(err)) if err.status().is_server_error() => {}
            _ => self.store.delete_session(id).await?,
        }
        result
    }

    /// Abandons a session.
    pub async fn abort_session(&self, id: &str, owner: Option<&str>) -> Result<()> {
        self.session(id, owner).await?;
        self.store.delete_session(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parses_and_rejects_nonsense() {
        assert_eq!(
            ChunkRange::parse("bytes 0-99/1000"),
            Some(ChunkRange {
                start: 0,
                end: 99,
                total: 1000
            })
        );
        assert_eq!(ChunkRange::parse("bytes 10-5/100"), None);
        assert_eq!(ChunkRange::parse("bytes 0-100/100"), None);
        assert_eq!(ChunkRange::parse("bytes */100"), None);
    }
}
