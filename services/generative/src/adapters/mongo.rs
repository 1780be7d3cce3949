//! MongoDB: the [`DocumentStore`] of LookupDocument/Store, the [`Checkpoints`] of resumable
//! runs (collection `checkpoints`, unique on `(run, component)`), and the job and result
//! documents of asynchronous jobs (collections `jobs` and `results`).
//!
//! Checkpoint outputs are stored as JSON text, not BSON: a component's output is arbitrary
//! JSON (keys with `$` or `.`, integers beyond `i64`) and must come back exactly as saved.

use crate::backends::{BackendError, DocumentStore};
use crate::executor::{Checkpoint, Checkpoints};
use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{self, Bson, DateTime, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, Database, IndexModel};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// Collection of checkpoints.
pub const CHECKPOINTS: &str = "checkpoints";
/// Collection of job documents.
pub const JOBS: &str = "jobs";
/// Collection of job results.
pub const RESULTS: &str = "results";

/// The pipeline's MongoDB database (and the client, for lookups in read databases).
#[derive(Clone)]
pub struct MongoStore {
    client: Client,
    db: Database,
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.db.name())
            .finish_non_exhaustive()
    }
}

impl MongoStore {
    /// The store over `database` of `client`.
    pub fn new(client: Client, database: &str) -> Self {
        let db = client.database(database);
        Self { client, db }
    }

    /// The pipeline's database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Creates the indexes the worker relies on (idempotent).
    pub async fn ensure_indexes(&self) -> Result<(), BackendError> {
        let unique = IndexModel::builder()
            .keys(doc! {"run": 1, "component": 1})
            .options(IndexOptions::builder().unique(true).build())
            .build();
        self.collection(CHECKPOINTS)
            .create_index(unique)
            .await
            .map_err(|e| BackendError::new("create the checkpoints index", e))?;
        Ok(())
    }

    fn collection(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    /// Inserts or replaces `document` (a JSON object) under `_id` = `id` in `collection`.
    pub async fn upsert(
        &self,
        collection: &str,
        id: &str,
        document: &Value,
    ) -> Result<(), BackendError> {
        let operation = || format!("upsert into {collection}");
        let mut document = to_document(document).map_err(|e| BackendError::new(operation(), e))?;
        document.insert("_id", id);
        self.collection(collection)
            .replace_one(doc! {"_id": id}, document)
            .upsert(true)
            .await
            .map_err(|e| BackendError::new(operation(), e))?;
        Ok(())
    }

    /// The document with `_id` = `id` in `collection`, as relaxed extended JSON.
    pub async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>, BackendError> {
        let found = self
            .collection(collection)
            .find_one(doc! {"_id": id})
            .await
            .map_err(|e| BackendError::new(format!("find in {collection}"), e))?;
        Ok(found.map(to_json))
    }

    /// Applies `update` to the document `id` of `collection` when it matches `guard`;
    /// returns whether one matched.
    pub async fn update(
        &self,
        collection: &str,
        id: &str,
        guard: Document,
        update: Document,
    ) -> Result<bool, BackendError> {
        let mut filter = doc! {"_id": id};
        filter.extend(guard);
        let outcome = self
            .collection(collection)
            .update_one(filter, update)
            .await
            .map_err(|e| BackendError::new(format!("update in {collection}"), e))?;
        Ok(outcome.matched_count > 0)
    }

    /// Inserts `document` (a JSON object) with `_id` = `id`; fails when it exists.
    pub async fn insert(
        &self,
        collection: &str,
        id: &str,
        document: &Value,
    ) -> Result<(), BackendError> {
        let operation = || format!("insert into {collection}");
        let mut document = to_document(document).map_err(|e| BackendError::new(operation(), e))?;
        document.insert("_id", id);
        self.collection(collection)
            .insert_one(document)
            .await
            .map_err(|e| BackendError::new(operation(), e))?;
        Ok(())
    }
}

/// A JSON object as a BSON document.
pub fn to_document(value: &impl Serialize) -> Result<Document, bson::ser::Error> {
    bson::to_document(value)
}

/// A BSON document as relaxed extended JSON (ObjectIds as `{"$oid": ...}`, dates as
/// `{"$date": ...}`, numbers as numbers).
pub fn to_json(document: Document) -> Value {
    Bson::Document(document).into_relaxed_extjson()
}

#[async_trait]
impl DocumentStore for MongoStore {
    async fn find_one(
        &self,
        database: Option<&str>,
        collection: &str,
        filter: &Value,
    ) -> Result<Option<Value>, BackendError> {
        let operation = || format!("find in {collection}");
        let filter = to_document(filter).map_err(|e| BackendError::new(operation(), e))?;
        let db = database.map_or_else(|| self.db.clone(), |name| self.client.database(name));
        let found = db
            .collection::<Document>(collection)
            .find_one(filter)
            .await
            .map_err(|e| BackendError::new(operation(), e))?;
        Ok(found.map(to_json))
    }

    async fn put(&self, collection: &str, id: &str, document: &Value) -> Result<(), BackendError> {
        self.upsert(collection, id, document).await
    }
}

#[async_trait]
impl Checkpoints for MongoStore {
    async fn load(&self, run_id: &str) -> Result<HashMap<String, Checkpoint>, BackendError> {
        let operation = || format!("load the checkpoints of {run_id}");
        let documents: Vec<Document> = self
            .collection(CHECKPOINTS)
            .find(doc! {"run": run_id})
            .await
            .map_err(|e| BackendError::new(operation(), e))?
            .try_collect()
            .await
            .map_err(|e| BackendError::new(operation(), e))?;
        let mut checkpoints = HashMap::with_capacity(documents.len());
        for document in documents {
            let field = |name: &str| document.get_str(name).unwrap_or_default().to_owned();
            let parsed = serde_json::from_str(&field("output")).and_then(|output| {
                serde_json::from_str(&field("info")).map(|info| Checkpoint { output, info })
            });
            let checkpoint = parsed.map_err(|e| BackendError::new(operation(), e))?;
            checkpoints.insert(field("component"), checkpoint);
        }
        Ok(checkpoints)
    }

    async fn save(
        &self,
        run_id: &str,
        component: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), BackendError> {
        let operation = || format!("save the checkpoint of {run_id}/{component}");
        let output = serde_json::to_string(&checkpoint.output);
        let info = serde_json::to_string(&checkpoint.info);
        let (output, info) = output
            .and_then(|o| info.map(|i| (o, i)))
            .map_err(|e| BackendError::new(operation(), e))?;
        let replacement = doc! {
            "_id": format!("{run_id}:{component}"),
            "run": run_id,
            "component": component,
            "output": output,
            "info": info,
            "savedAt": DateTime::now(),
        };
        let filter = doc! {"run": run_id, "component": component};
        let collection = self.collection(CHECKPOINTS);
        // Two attempts: concurrent upserts of one key may race on the unique index.
        let mut last = None;
        for _ in 0..2 {
            match collection
                .replace_one(filter.clone(), replacement.clone())
                .upsert(true)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(BackendError::new(
            operation(),
            last.map(|e| e.to_string()).unwrap_or_default(),
        ))
    }

    async fn clear(&self, run_id: &str) -> Result<(), BackendError> {
        self.collection(CHECKPOINTS)
            .delete_many(doc! {"run": run_id})
            .await
            .map_err(|e| BackendError::new(format!("clear the checkpoints of {run_id}"), e))?;
        Ok(())
    }
}
