//! Content type CRUD.

use super::Content;
use crate::{
    Error,
    clock::{now_ms, rfc3339},
    error::Result,
    model::{ContentType, ContentTypeBody, CreateContentType},
    validate::check_type,
};

impl Content {
    /// Creates a type (revision 1).
    pub async fn create_type(&self, body: CreateContentType) -> Result<ContentType> {
        Error::check(check_type(Some(&body.id), &body.fields))?;
        let ty = ContentType {
            id: body.id,
            title: body.title,
            fields: body.fields,
            revision: 1,
            updated_at: rfc3339(now_ms()),
        };
        self.store.insert_type(&ty).await?;
        self.types.forget(&ty.id);
        Ok(ty)
    }

    /// The type `id`, or 404.
    pub async fn get_type(&self, id: &str) -> Result<ContentType> {
        self.store
            .get_type(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("content type {id}")))
    }

    /// Every type.
    pub async fn list_types(&self) -> Result<Vec<ContentType>> {
        self.store.list_types().await
    }

    /// Replaces a type's definition. Existing entries are not rewritten: they are
    /// checked against the new definition on their next save or publish.
    pub async fn update_type(&self, id: &str, body: ContentTypeBody) -> Result<ContentType> {
        Error::check(check_type(None, &body.fields))?;
        let current = self.get_type(id).await?;
        let ty = ContentType {
            id: id.to_owned(),
            title: body.title,
            fields: body.fields,
            revision: current.revision + 1,
            updated_at: rfc3339(now_ms()),
        };
        if self.store.replace_type(&ty, current.revision).await? {
            self.types.forget(id);
            Ok(ty)
        } else {
            Err(Error::conflict(format!(
                "content type {id} changed meanwhile; retry"
            )))
        }
    }

    /// Deletes a type that no entry uses.
    pub async fn delete_type(&self, id: &str) -> Result<()> {
        if self.store.type_in_use(id).await? {
            return Err(Error::conflict(format!(
                "entries of type {id} exist; delete them first"
            )));
        }
        if self.store.delete_type(id).await? {
            self.types.forget(id);
            Ok(())
        } else {
            Err(Error::not_found(format!("content type {id}")))
        }
    }
}
