//! Content types.

use futures::TryStreamExt;
use mongodb::bson::doc;

use super::{Store, is_duplicate_key};
use crate::{Error, error::Result, model::ContentType};

impl Store {
    /// Inserts a new type; 409 when the id exists.
    pub async fn insert_type(&self, ty: &ContentType) -> Result<()> {
        match self.types.insert_one(ty).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Err(Error::conflict(format!(
                "the content type {} exists",
                ty.id
            ))),
            Err(e) => Err(self.unavailable(&e)),
        }
    }

    /// The type `id`.
    pub async fn get_type(&self, id: &str) -> Result<Option<ContentType>> {
        self.types
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| self.unavailable(&e))
    }

    /// Every type, by id.
    pub async fn list_types(&self) -> Result<Vec<ContentType>> {
        let cursor = self
            .types
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .map_err(|e| self.unavailable(&e))?;
        cursor.try_collect().await.map_err(|e| self.unavailable(&e))
    }

    /// Replaces the type if it is still at `revision`; false when it moved on or is gone.
    pub async fn replace_type(&self, ty: &ContentType, revision: i64) -> Result<bool> {
        let outcome = self
            .types
            .replace_one(doc! { "_id": &ty.id, "revision": revision }, ty)
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(outcome.matched_count == 1)
    }

    /// Deletes the type; false when it does not exist.
    pub async fn delete_type(&self, id: &str) -> Result<bool> {
        let outcome = self
            .types
            .delete_one(doc! { "_id": id })
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(outcome.deleted_count == 1)
    }
}
