//! The `events` collection: `{ _id: <event id>, type, ts, actorId, anonymousId,
//! sessionId, properties, context, receivedAt }`, a TTL index on `receivedAt` and
//! indexes for `(type, ts)` and `(actorId, ts)`. Inserting an event whose id is already
//! stored is a no-op: the `_id` unique index is what makes every retry safe, on any
//! number of replicas.

use crate::event::Event;
use crate::rollup::doc::date;
use chrono::{DateTime, Utc};
use futures::{Stream, TryStreamExt};
use mongodb::bson::{self, Bson, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{IndexOptions, InsertManyOptions};
use mongodb::{Collection, Database, IndexModel};
use serde_json::{Map, Value};
use std::time::Duration;

/// Name of the raw event collection.
pub const EVENTS: &str = "events";
/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11_000;

/// The `events` collection.
#[derive(Debug, Clone)]
pub struct EventStore {
    collection: Collection<Document>,
}

/// Which stored events a scan returns (type and time in MongoDB; other filters after).
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Event types (any of); empty for all.
    pub types: Vec<String>,
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// To (exclusive).
    pub to: Option<DateTime<Utc>>,
}

impl EventStore {
    /// The `events` collection of `db`.
    pub fn new(db: &Database) -> Self {
        Self::named(db, EVENTS)
    }

    /// A collection of the same schema named `name` (a worker's staging copy).
    pub fn named(db: &Database, name: &str) -> Self {
        Self {
            collection: db.collection(name),
        }
    }

    /// Creates the indexes (idempotent): TTL after `retention_days`, `(type, ts)`, `(actorId, ts)`.
    pub async fn ensure_indexes(&self, retention_days: u32) -> mongodb::error::Result<()> {
        let ttl = IndexOptions::builder()
            .name("receivedAt_ttl".to_owned())
            .expire_after(Duration::from_secs(u64::from(retention_days) * 86_400))
            .build();
        let indexes = vec![
            IndexModel::builder()
                .keys(doc! {"receivedAt": 1})
                .options(ttl)
                .build(),
            IndexModel::builder()
                .keys(doc! {"type": 1, "ts": 1})
                .build(),
            IndexModel::builder()
                .keys(doc! {"actorId": 1, "ts": 1})
                .build(),
        ];
        self.collection.create_indexes(indexes).await.map(|_| ())
    }

    /// Stores `events` received at `received_at`; returns how many were new.
    pub async fn insert(
        &self,
        events: &[Event],
        received_at: DateTime<Utc>,
    ) -> mongodb::error::Result<u64> {
        let docs: Vec<Document> = events.iter().map(|e| to_doc(e, received_at)).collect();
        insert_idempotent(&self.collection, docs).await
    }

    /// Stored events matching `query`, oldest first.
    pub async fn scan(
        &self,
        query: &EventQuery,
    ) -> mongodb::error::Result<impl Stream<Item = mongodb::error::Result<Event>> + use<>> {
        let mut filter = Document::new();
        if !query.types.is_empty() {
            filter.insert("type", doc! {"$in": query.types.clone()});
        }
        let mut ts = Document::new();
        if let Some(from) = query.from {
            ts.insert("$gte", date(from));
        }
        if let Some(to) = query.to {
            ts.insert("$lt", date(to));
        }
        if !ts.is_empty() {
            filter.insert("ts", ts);
        }
        let cursor = self.collection.find(filter).sort(doc! {"ts": 1}).await?;
        Ok(cursor
            .map_ok(|d| from_doc(&d))
            .try_filter_map(|e| async move { Ok(e) }))
    }

    /// The collection (for tests and reports).
    pub fn collection(&self) -> &Collection<Document> {
        &self.collection
    }
}

/// Inserts `docs` unordered; documents whose `_id` exists already are skipped (they are
/// the same event). Returns how many were new.
pub async fn insert_idempotent(
    collection: &Collection<Document>,
    docs: Vec<Document>,
) -> mongodb::error::Result<u64> {
    if docs.is_empty() {
        return Ok(0);
    }
    let total = docs.len() as u64;
    let options = InsertManyOptions::builder().ordered(false).build();
    match collection.insert_many(docs).with_options(options).await {
        Ok(result) => Ok(result.inserted_ids.len() as u64),
        Err(err) => match err.kind.as_ref() {
            ErrorKind::InsertMany(failure)
                if failure.write_concern_error.is_none()
                    && failure
                        .write_errors
                        .as_ref()
                        .is_some_and(|w| w.iter().all(|e| e.code == DUPLICATE_KEY)) =>
            {
                let duplicates = failure.write_errors.as_ref().map_or(0, Vec::len) as u64;
                Ok(total - duplicates)
            }
            ErrorKind::Write(WriteFailure::WriteError(e)) if e.code == DUPLICATE_KEY => Ok(0),
            _ => Err(err),
        },
    }
}

/// The stored document of `event`.
pub fn to_doc(event: &Event, received_at: DateTime<Utc>) -> Document {
    let opt = |s: &Option<String>| s.clone().map_or(Bson::Null, Bson::String);
    let map = |m: &Map<String, Value>| {
        bson::to_bson(m).unwrap_or_else(|_| Bson::Document(Document::new()))
    };
    doc! {
        "_id": &event.id,
        "type": &event.kind,
        "ts": date(event.timestamp),
        "actorId": opt(&event.actor_id),
        "anonymousId": opt(&event.anonymous_id),
        "sessionId": opt(&event.session_id),
        "properties": map(&event.properties),
        "context": map(&event.context),
        "receivedAt": date(received_at),
    }
}

/// The event of a stored document; `None` for a document that is not one.
pub fn from_doc(doc: &Document) -> Option<Event> {
    let string = |key: &str| doc.get_str(key).ok().map(str::to_owned);
    let map = |key: &str| match doc.get(key) {
        Some(b @ Bson::Document(_)) => match b.clone().into_relaxed_extjson() {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        _ => Map::new(),
    };
    let ts = doc.get_datetime("ts").ok()?;
    Some(Event {
        id: string("_id")?,
        kind: string("type")?,
        timestamp: DateTime::from_timestamp_millis(ts.timestamp_millis())?,
        actor_id: string("actorId"),
        anonymous_id: string("anonymousId"),
        session_id: string("sessionId"),
        properties: map("properties"),
        context: map("context"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::compute::tests::mk_event;

    #[test]
    fn documents_round_trip() {
        let mut event = mk_event(
            "e",
            "item.viewed",
            "2026-01-01T10:00:00.123Z",
            "u",
            "DE",
            2.5,
        );
        event.context.insert("page".into(), "/x".into());
        let doc = to_doc(&event, Utc::now());
        assert_eq!(doc.get_str("_id").expect("id"), "e");
        assert_eq!(doc.get("anonymousId"), Some(&Bson::Null));
        assert_eq!(from_doc(&doc), Some(event));
        assert_eq!(from_doc(&doc! {"_id": 1}), None);
    }
}
