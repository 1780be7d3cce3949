//! [`EventStore`]: reads raw events from the analytics service's collection.
//!
//! The collection belongs to the analytics service; we only read it, with a
//! projection of the fields the algorithms use. Documents are decoded field
//! by field so one malformed event is skipped (and counted) instead of
//! failing the whole recompute.

use futures::TryStreamExt;
use machina_kit::Mongo;
use mongodb::{
    Collection,
    bson::{Bson, DateTime, Document, doc},
};

use crate::compute::Event;

/// What can go wrong reading events.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The query or cursor failed.
    #[error("reading events from MongoDB failed")]
    Query(#[source] mongodb::error::Error),
    /// Reading or writing the persisted model state failed.
    #[error("{action} the recommendation state in MongoDB failed")]
    State {
        /// What was being done, e.g. "writing".
        action: &'static str,
        /// The driver's error.
        #[source]
        source: mongodb::error::Error,
    },
}

/// The raw events collection.
#[derive(Debug, Clone)]
pub struct EventStore {
    mongo: Mongo,
    events: Collection<Document>,
}

/// Events read, plus how many documents had to be skipped.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Decoded events.
    pub events: Vec<Event>,
    /// Documents without a usable `type` or `ts`.
    pub skipped: usize,
}

impl EventStore {
    /// The `collection` of `database`.
    pub fn new(mongo: Mongo, database: &str, collection: &str) -> Self {
        let events = mongo.client().database(database).collection(collection);
        Self { mongo, events }
    }

    /// The client, for readiness checks and error reporting.
    pub fn mongo(&self) -> &Mongo {
        &self.mongo
    }

    /// Every event with `since_ms <= ts < until_ms`.
    pub async fn load(&self, since_ms: i64, until_ms: i64) -> Result<Loaded, StoreError> {
        self.find(doc! { "ts": {
            "$gte": DateTime::from_millis(since_ms),
            "$lt": DateTime::from_millis(until_ms),
        } })
        .await
    }

    /// Every event received at or after `received_from_ms` whose `ts` is at or
    /// after `since_ms` (older ones are outside the lookback window).
    pub async fn load_received(
        &self,
        received_from_ms: i64,
        since_ms: i64,
    ) -> Result<Loaded, StoreError> {
        self.find(doc! {
            "receivedAt": { "$gte": DateTime::from_millis(received_from_ms) },
            "ts": { "$gte": DateTime::from_millis(since_ms) },
        })
        .await
    }

    async fn find(&self, filter: Document) -> Result<Loaded, StoreError> {
        let projection = doc! {
            "_id": 1, "type": 1, "ts": 1, "receivedAt": 1, "actorId": 1, "anonymousId": 1,
            "properties.itemId": 1, "properties.category": 1,
        };
        let mut cursor = self
            .events
            .find(filter)
            .projection(projection)
            .batch_size(5_000)
            .await
            .map_err(StoreError::Query)?;
        let mut loaded = Loaded::default();
        while let Some(document) = cursor.try_next().await.map_err(StoreError::Query)? {
            match decode(&document) {
                Some(event) => loaded.events.push(event),
                None => loaded.skipped += 1,
            }
        }
        Ok(loaded)
    }
}

/// The algorithm's view of one stored event; `None` without `type` or `ts`.
pub fn decode(document: &Document) -> Option<Event> {
    let kind = document.get_str("type").ok()?.to_owned();
    let ts_ms = document.get_datetime("ts").ok()?.timestamp_millis();
    let user = id(document.get("actorId")).or_else(|| id(document.get("anonymousId")));
    let properties = document.get_document("properties").ok();
    Some(Event {
        id: document.get("_id").and_then(event_id),
        received_ms: document
            .get_datetime("receivedAt")
            .map_or(ts_ms, |d| d.timestamp_millis()),
        kind,
        ts_ms,
        user,
        item: properties.and_then(|p| id(p.get("itemId"))),
        category: properties.and_then(|p| id(p.get("category"))),
    })
}

/// An event id as text (the analytics service uses strings; ObjectIds as hex).
fn event_id(value: &Bson) -> Option<String> {
    match value {
        Bson::ObjectId(oid) => Some(oid.to_hex()),
        other => id(Some(other)),
    }
}

/// An id as text: strings as they are, integers printed (item ids are often numeric).
fn id(value: Option<&Bson>) -> Option<String> {
    match value? {
        Bson::String(s) if !s.is_empty() => Some(s.clone()),
        Bson::Int32(n) => Some(n.to_string()),
        Bson::Int64(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_event_schema() {
        let d = doc! {
            "_id": "e1", "type": "item.viewed", "ts": DateTime::from_millis(42),
            "anonymousId": "anon", "properties": { "itemId": 7, "category": "books" },
            "receivedAt": DateTime::from_millis(43),
        };
        let e = decode(&d).unwrap();
        assert_eq!((e.kind.as_str(), e.ts_ms), ("item.viewed", 42));
        assert_eq!(e.user.as_deref(), Some("anon"));
        assert_eq!(e.item.as_deref(), Some("7"));
        assert_eq!(e.category.as_deref(), Some("books"));
        assert_eq!((e.id.as_deref(), e.received_ms), (Some("e1"), 43));
    }

    #[test]
    fn actor_wins_over_anonymous_and_bad_documents_are_skipped() {
        let d = doc! { "type": "x", "ts": DateTime::from_millis(1), "actorId": "a", "anonymousId": "b", "properties": {} };
        assert_eq!(decode(&d).unwrap().user.as_deref(), Some("a"));
        assert!(decode(&doc! { "type": "x", "ts": "yesterday" }).is_none());
        assert!(decode(&doc! { "ts": DateTime::from_millis(1) }).is_none());
    }
}
