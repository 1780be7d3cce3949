//! [`Store`]: templates and their immutable versions in MongoDB.
//!
//! Two collections: `templates` (one document per name, `_id` = name: active and
//! latest version, retired flag) and `template_versions` (one document per version,
//! unique on `(name, version)`, looked up by `(name, contentChecksum)` for idempotent
//! updates). Version numbers come from the unique index: a writer inserts
//! `latest + 1` and retries on a duplicate key, so concurrent writers (two
//! replicas) get distinct consecutive numbers. The `templates` document is then
//! moved forward only if it still points at an older version, so the newest
//! writer wins and a lost race never rolls a template back.

use futures::TryStreamExt;
use machina_kit::Mongo;
use mongodb::{
    Collection, IndexModel,
    bson::{DateTime, Document, doc},
    error::{ErrorKind, WriteFailure},
    options::{FindOneAndUpdateOptions, IndexOptions, ReturnDocument},
};

use crate::{
    error::{Error, Result},
    model::{TemplateDoc, VersionDoc},
};

/// How often a version insert is retried after losing a race for a number.
const INSERT_ATTEMPTS: usize = 32;

/// MongoDB's duplicate key error code.
const DUPLICATE_KEY: i32 = 11000;

/// The template store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    mongo: Mongo,
    templates: Collection<TemplateDoc>,
    versions: Collection<VersionDoc>,
}

impl Store {
    /// The store in database `database`.
    pub fn new(mongo: Mongo, database: &str) -> Self {
        let db = mongo.client().database(database);
        Self {
            templates: db.collection("templates"),
            versions: db.collection("template_versions"),
            mongo,
        }
    }

    /// Creates the indexes the queries need (idempotent).
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let unique = IndexModel::builder()
            .keys(doc! { "name": 1, "version": 1 })
            .options(
                IndexOptions::builder()
                    .unique(true)
                    .name("name_version_unique".to_owned())
                    .build(),
            )
            .build();
        let by_content = IndexModel::builder()
            .keys(doc! { "name": 1, "contentChecksum": 1 })
            .options(
                IndexOptions::builder()
                    .name("name_content_checksum".to_owned())
                    .build(),
            )
            .build();
        self.versions.create_indexes([unique, by_content]).await?;
        let listing = IndexModel::builder()
            .keys(doc! { "retired": 1, "_id": 1 })
            .options(
                IndexOptions::builder()
                    .name("retired_id".to_owned())
                    .build(),
            )
            .build();
        self.templates.create_index(listing).await?;
        Ok(())
    }

    /// The template document, retired or not.
    pub async fn template(&self, name: &str) -> Result<Option<TemplateDoc>> {
        self.templates
            .find_one(doc! { "_id": name })
            .await
            .map_err(|e| self.db_error(&e))
    }

    /// The template document; 404 when it does not exist or is retired.
    pub async fn live_template(&self, name: &str) -> Result<TemplateDoc> {
        match self.template(name).await? {
            Some(t) if !t.retired => Ok(t),
            _ => Err(Error::not_found(format!(
                "template {name:?} does not exist"
            ))),
        }
    }

    /// Version `version` of `name`.
    pub async fn version(&self, name: &str, version: i64) -> Result<Option<VersionDoc>> {
        self.versions
            .find_one(doc! { "name": name, "version": version })
            .await
            .map_err(|e| self.db_error(&e))
    }

    /// Version `version` of `name`; 404 naming it when absent.
    pub async fn existing_version(&self, name: &str, version: i64) -> Result<VersionDoc> {
        self.version(name, version)
            .await?
            .ok_or_else(|| Error::not_found(format!("template {name:?} has no version {version}")))
    }

    /// The version of `name` whose content checksum is `content_checksum`, if any.
    pub async fn version_by_content(
        &self,
        name: &str,
        content_checksum: &str,
    ) -> Result<Option<VersionDoc>> {
        self.versions
            .find_one(doc! { "name": name, "contentChecksum": content_checksum })
            .sort(doc! { "version": 1 })
            .await
            .map_err(|e| self.db_error(&e))
    }

    /// Number of stored versions of `name` (all of them, for tests and checks).
    pub async fn count_versions(&self, name: &str) -> Result<u64> {
        self.versions
            .count_documents(doc! { "name": name })
            .await
            .map_err(|e| self.db_error(&e))
    }

    /// Stores `doc` under the next free version number and returns it.
    ///
    /// `exclusive` (creating a new template): any stored version, or a lost race
    /// for the number, means another writer created the template first: a 409,
    /// not a retry.
    pub async fn insert_version(&self, mut doc: VersionDoc, exclusive: bool) -> Result<VersionDoc> {
        let attempts = if exclusive { 1 } else { INSERT_ATTEMPTS };
        for _ in 0..attempts {
            let latest = self.latest_stored(&doc.name).await?;
            if exclusive && latest > 0 {
                return Err(Error::Api(machina_kit::ApiError::Conflict(format!(
                    "template {:?} is being created by another request (or an earlier create \
                     did not finish: PUT /v1/templates/{} completes it)",
                    doc.name, doc.name
                ))));
            }
            doc.version = latest + 1;
            doc.created_at = DateTime::now();
            match self.versions.insert_one(&doc).await {
                Ok(_) => return Ok(doc),
                Err(e) if is_duplicate_key(&e) && exclusive => {
                    return Err(Error::Api(machina_kit::ApiError::Conflict(format!(
                        "template {:?} was created concurrently",
                        doc.name
                    ))));
                }
                Err(e) if is_duplicate_key(&e) => {
                    tracing::debug!(name = %doc.name, version = doc.version, "version taken; retrying");
                }
                Err(e) => return Err(self.db_error(&e)),
            }
        }
        Err(Error::Api(machina_kit::ApiError::Conflict(format!(
            "too many concurrent writers for template {:?}; retry",
            doc.name
        ))))
    }

    /// The highest stored version number of `name` (0 when none).
    async fn latest_stored(&self, name: &str) -> Result<i64> {
        let raw: Collection<Document> = self.versions.clone_with_type();
        let latest = raw
            .find_one(doc! { "name": name })
            .sort(doc! { "version": -1 })
            .projection(doc! { "version": 1, "_id": 0 })
            .await
            .map_err(|e| self.db_error(&e))?;
        Ok(latest
            .and_then(|d| {
                d.get_i64("version")
                    .ok()
                    .or_else(|| d.get_i32("version").ok().map(i64::from))
            })
            .unwrap_or(0))
    }

    /// Makes `version` the active and latest version of `name` (un-retiring it),
    /// unless a newer version got there first. Returns the template document.
    pub async fn promote(
        &self,
        name: &str,
        version: i64,
        description: Option<&str>,
    ) -> Result<TemplateDoc> {
        let now = DateTime::now();
        let mut set = doc! {
            "activeVersion": version,
            "latestVersion": version,
            "retired": false,
            "updatedAt": now,
        };
        if let Some(description) = description {
            set.insert("description", description);
        }
        let outcome = self
            .templates
            .update_one(
                doc! { "_id": name, "latestVersion": { "$lt": version } },
                doc! { "$set": set, "$setOnInsert": { "createdAt": now } },
            )
            .upsert(true)
            .await;
        match outcome {
            Ok(_) => {}
            // The document exists with a newer latest version: that writer won.
            Err(e) if is_duplicate_key(&e) => {}
            Err(e) => return Err(self.db_error(&e)),
        }
        self.template(name)
            .await?
            .ok_or_else(|| Error::internal(anyhow::anyhow!("template {name} vanished after write")))
    }

    /// Sets the description of `name` (when given).
    pub async fn describe(&self, name: &str, description: &str) -> Result<()> {
        self.templates
            .update_one(
                doc! { "_id": name },
                doc! { "$set": { "description": description } },
            )
            .await
            .map(drop)
            .map_err(|e| self.db_error(&e))
    }

    /// Makes the stored `version` active; 404 when the template is missing or retired.
    pub async fn activate(&self, name: &str, version: i64) -> Result<TemplateDoc> {
        let options = FindOneAndUpdateOptions::builder()
            .return_document(ReturnDocument::After)
            .build();
        self.templates
            .find_one_and_update(
                doc! { "_id": name, "retired": { "$ne": true } },
                doc! { "$set": { "activeVersion": version, "updatedAt": DateTime::now() } },
            )
            .with_options(options)
            .await
            .map_err(|e| self.db_error(&e))?
            .ok_or_else(|| Error::not_found(format!("template {name:?} does not exist")))
    }

    /// Retires `name`; true when it was live before.
    pub async fn retire(&self, name: &str) -> Result<bool> {
        let outcome = self
            .templates
            .update_one(
                doc! { "_id": name, "retired": { "$ne": true } },
                doc! { "$set": { "retired": true, "updatedAt": DateTime::now() } },
            )
            .await
            .map_err(|e| self.db_error(&e))?;
        Ok(outcome.modified_count > 0)
    }

    /// Live templates after `after` in name order, at most `limit`.
    pub async fn list(&self, after: Option<&str>, limit: i64) -> Result<Vec<TemplateDoc>> {
        let mut filter = doc! { "retired": { "$ne": true } };
        if let Some(after) = after {
            filter.insert("_id", doc! { "$gt": after });
        }
        let cursor = self
            .templates
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(limit)
            .await
            .map_err(|e| self.db_error(&e))?;
        cursor.try_collect().await.map_err(|e| self.db_error(&e))
    }

    /// Versions of `name` after `after`, oldest first, at most `limit`.
    pub async fn versions(&self, name: &str, after: i64, limit: i64) -> Result<Vec<VersionDoc>> {
        let cursor = self
            .versions
            .find(doc! { "name": name, "version": { "$gt": after } })
            .sort(doc! { "version": 1 })
            .limit(limit)
            .await
            .map_err(|e| self.db_error(&e))?;
        cursor.try_collect().await.map_err(|e| self.db_error(&e))
    }

    /// A failed MongoDB call: counted, logged, 503.
    fn db_error(&self, err: &mongodb::error::Error) -> Error {
        Error::Api(self.mongo.unavailable(err))
    }
}

/// Whether `err` is a unique index violation.
fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::Command(e) => e.code == DUPLICATE_KEY,
        _ => err.to_string().contains("E11000"),
    }
}
