//! [`Store`]: the service's MongoDB collections.
//!
//! | collection | one document per | written by |
//! |---|---|---|
//! | `content_types` | content type (`_id` = type id) | type CRUD |
//! | `entries` | entry: latest values, version, workflow state per locale, `rev` guard | entry writes, transitions |
//! | `entry_versions` | saved version (`_id` = `<entry>:<n>`, immutable) | every save |
//! | `published` | published (entry, locale) (`_id` = `<entry>:<locale>`) | publish/unpublish; read by the generative worker |
//! | `outbox` | event to put on RabbitMQ | publish; drained by the relay |
//! | `schedules` | pending scheduled publication (`_id` = `<entry>:<locale>`) | schedule; claimed by the scheduler |
//! | `webhooks`, `webhook_deliveries` | subscription; delivery of one event to one subscription | webhook CRUD; publish; the dispatcher |
//!
//! SecantusDB (the MongoDB stand-in here) has no multi-document transactions, and
//! production MongoDB may be a standalone: every invariant rests on single-document
//! atomic operations (unique indexes, `rev`-guarded replaces, `findOneAndUpdate` claims).

pub mod entries;
mod jobs;
mod types;
mod webhooks;

use machina_kit::Mongo;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{Document, doc},
    error::{ErrorKind, WriteFailure},
    options::IndexOptions,
};

use crate::{
    error::Error,
    model::{ContentType, DeliveryDoc, EntryDoc, PublishedDoc, VersionDoc, WebhookDoc},
};

pub use jobs::{OutboxDoc, ScheduleDoc};

/// MongoDB's duplicate key error code.
const DUPLICATE_KEY: i32 = 11000;

/// The content store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    mongo: Mongo,
    db: Database,
    types: Collection<ContentType>,
    entries: Collection<EntryDoc>,
    versions: Collection<VersionDoc>,
    published: Collection<PublishedDoc>,
    outbox: Collection<OutboxDoc>,
    schedules: Collection<ScheduleDoc>,
    webhooks: Collection<WebhookDoc>,
    deliveries: Collection<DeliveryDoc>,
}

impl Store {
    /// The store in database `database`.
    pub fn new(mongo: Mongo, database: &str) -> Self {
        let db = mongo.client().database(database);
        Self {
            types: db.collection("content_types"),
            entries: db.collection("entries"),
            versions: db.collection("entry_versions"),
            published: db.collection("published"),
            outbox: db.collection("outbox"),
            schedules: db.collection("schedules"),
            webhooks: db.collection("webhooks"),
            deliveries: db.collection("webhook_deliveries"),
            db,
            mongo,
        }
    }

    /// The database (tests and the benchmark read it directly).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Creates the indexes the queries need (idempotent).
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        self.entries
            .create_indexes([
                index(doc! { "type": 1, "slug": 1 }, "type_slug_unique", true),
                index(doc! { "type": 1, "_id": 1 }, "type_id", false),
                index(doc! { "pending.at": 1 }, "pending_at", false),
            ])
            .await?;
        self.versions
            .create_index(index(
                doc! { "entryId": 1, "version": 1 },
                "entry_version_unique",
                true,
            ))
            .await?;
        self.published
            .create_index(index(
                doc! { "type": 1, "slug": 1, "locale": 1 },
                "type_slug_locale",
                false,
            ))
            .await?;
        self.outbox
            .create_index(index(
                doc! { "sent": 1, "nextAttemptAt": 1 },
                "sent_next",
                false,
            ))
            .await?;
        self.schedules
            .create_index(index(doc! { "publishAt": 1 }, "publish_at", false))
            .await?;
        self.deliveries
            .create_indexes([
                index(
                    doc! { "status": 1, "nextAttemptAt": 1 },
                    "status_next",
                    false,
                ),
                index(
                    doc! { "webhookId": 1, "createdAt": -1 },
                    "webhook_created",
                    false,
                ),
            ])
            .await?;
        Ok(())
    }

    /// Counts and logs a failed call; a 503 for the client.
    fn unavailable(&self, err: &mongodb::error::Error) -> Error {
        Error::Api(self.mongo.unavailable(err))
    }
}

fn index(keys: Document, name: &str, unique: bool) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name.to_owned())
                .unique(unique)
                .build(),
        )
        .build()
}

/// Whether `err` is a unique index violation.
fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::Command(e) => e.code == DUPLICATE_KEY,
        _ => err.to_string().contains("E11000"),
    }
}
