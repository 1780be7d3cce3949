//! Entries, their versions and their published copies.

use futures::TryStreamExt;
use mongodb::bson::doc;

use super::{Store, is_duplicate_key};
use crate::{
    Error,
    error::Result,
    model::{EntryDoc, PublishedDoc, VersionDoc},
};

/// What an insert of a version found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The version is stored.
    Yes,
    /// That number is taken (a concurrent save won it).
    Taken,
}

impl Store {
    /// Inserts a new entry; 409 when the slug is taken for its type.
    pub async fn insert_entry(&self, entry: &EntryDoc) -> Result<()> {
        match self.entries.insert_one(entry).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Err(slug_taken(entry)),
            Err(e) => Err(self.unavailable(&e)),
        }
    }

    /// The entry `id`.
    pub async fn get_entry(&self, id: &str) -> Result<Option<EntryDoc>> {
        self.entries
            .find_one(doc! { "_id": id })
            .await
            .map_err(|e| self.unavailable(&e))
    }

    /// The entries among `ids` that exist.
    pub async fn get_entries(&self, ids: &[String]) -> Result<Vec<EntryDoc>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let cursor = self
            .entries
            .find(doc! { "_id": { "$in": ids } })
            .await
            .map_err(|e| self.unavailable(&e))?;
        cursor.try_collect().await.map_err(|e| self.unavailable(&e))
    }

    /// A page of entries, optionally of one type, by id.
    pub async fn list_entries(
        &self,
        type_id: Option<&str>,
        limit: i64,
        offset: u64,
    ) -> Result<Vec<EntryDoc>> {
        let filter = match type_id {
            Some(t) => doc! { "type": t },
            None => doc! {},
        };
        let cursor = self
            .entries
            .find(filter)
            .sort(doc! { "_id": 1 })
            .skip(offset)
            .limit(limit)
            .await
            .map_err(|e| self.unavailable(&e))?;
        cursor.try_collect().await.map_err(|e| self.unavailable(&e))
    }

    /// Whether any entry has type `type_id`.
    pub async fn type_in_use(&self, type_id: &str) -> Result<bool> {
        let found = self
            .entries
            .find_one(doc! { "type": type_id })
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(found.is_some())
    }

    /// Replaces the entry if its `rev` is still `rev`; false when it changed meanwhile.
    pub async fn replace_entry(&self, entry: &EntryDoc, rev: i64) -> Result<bool> {
        match self
            .entries
            .replace_one(doc! { "_id": &entry.id, "rev": rev }, entry)
            .await
        {
            Ok(outcome) => Ok(outcome.matched_count == 1),
            Err(e) if is_duplicate_key(&e) => Err(slug_taken(entry)),
            Err(e) => Err(self.unavailable(&e)),
        }
    }

    /// Removes a settled event from the entry's `pending` list.
    pub async fn drop_pending(&self, entry_id: &str, event_id: &str) -> Result<()> {
        self.entries
            .update_one(
                doc! { "_id": entry_id },
                doc! { "$pull": { "pending": { "id": event_id } } },
            )
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }

    /// Entries holding an event pending since before `cutoff` (ms), at most 50.
    pub async fn entries_with_pending(&self, cutoff: i64) -> Result<Vec<EntryDoc>> {
        let cursor = self
            .entries
            .find(doc! { "pending.at": { "$lte": cutoff } })
            .limit(50)
            .await
            .map_err(|e| self.unavailable(&e))?;
        cursor.try_collect().await.map_err(|e| self.unavailable(&e))
    }

    /// Deletes the entry; false when it does not exist. Versions are kept.
    pub async fn delete_entry(&self, id: &str) -> Result<bool> {
        let outcome = self
            .entries
            .delete_one(doc! { "_id": id })
            .await
            .map_err(|e| self.unavailable(&e))?;
        self.published
            .delete_many(doc! { "entryId": id })
            .await
            .map_err(|e| self.unavailable(&e))?;
        self.schedules
            .delete_many(doc! { "entryId": id })
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(outcome.deleted_count == 1)
    }

    /// Stores a version unless its number is taken.
    pub async fn insert_version(&self, version: &VersionDoc) -> Result<Inserted> {
        match self.versions.insert_one(version).await {
            Ok(_) => Ok(Inserted::Yes),
            Err(e) if is_duplicate_key(&e) => Ok(Inserted::Taken),
            Err(e) => Err(self.unavailable(&e)),
        }
    }

    /// Removes a version that never became the entry's (its save failed).
    pub async fn delete_version(&self, entry_id: &str, version: i64) -> Result<()> {
        self.versions
            .delete_one(doc! { "entryId": entry_id, "version": version })
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }

    /// Version `version` of entry `entry_id`.
    pub async fn get_version(&self, entry_id: &str, version: i64) -> Result<Option<VersionDoc>> {
        self.versions
            .find_one(doc! { "entryId": entry_id, "version": version })
            .await
            .map_err(|e| self.unavailable(&e))
    }

    /// Every version of an entry, newest first.
    pub async fn list_versions(&self, entry_id: &str) -> Result<Vec<VersionDoc>> {
        let cursor = self
            .versions
            .find(doc! { "entryId": entry_id })
            .sort(doc! { "version": -1 })
            .await
            .map_err(|e| self.unavailable(&e))?;
        cursor.try_collect().await.map_err(|e| self.unavailable(&e))
    }

    /// Writes (or overwrites) a published copy.
    pub async fn put_published(&self, published: &PublishedDoc) -> Result<()> {
        self.published
            .replace_one(doc! { "_id": &published.key }, published)
            .upsert(true)
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }

    /// Removes the published copy of (entry, locale).
    pub async fn delete_published(&self, entry_id: &str, locale: &str) -> Result<()> {
        self.published
            .delete_one(doc! { "_id": format!("{entry_id}:{locale}") })
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }

    /// Published copies of `ids` in `locale`, then in `fallback` (the caller keeps the first per entry).
    pub async fn get_published_copies(
        &self,
        ids: &[String],
        locale: &str,
        fallback: &str,
    ) -> Result<Vec<PublishedDoc>> {
        let keys: Vec<String> = [locale, fallback]
            .iter()
            .flat_map(|l| ids.iter().map(move |id| format!("{id}:{l}")))
            .collect();
        let cursor = self
            .published
            .find(doc! { "_id": { "$in": &keys } })
            .await
            .map_err(|e| self.unavailable(&e))?;
        let mut found: Vec<PublishedDoc> = cursor
            .try_collect()
            .await
            .map_err(|e| self.unavailable(&e))?;
        // Requested locale first, so it wins over the fallback.
        found.sort_by_key(|d| d.locale != locale);
        Ok(found)
    }

    /// The published copy of (type, slug) in `locale`.
    pub async fn find_published(
        &self,
        type_id: &str,
        slug: &str,
        locale: &str,
    ) -> Result<Option<PublishedDoc>> {
        self.published
            .find_one(doc! { "type": type_id, "slug": slug, "locale": locale })
            .await
            .map_err(|e| self.unavailable(&e))
    }
}

fn slug_taken(entry: &EntryDoc) -> Error {
    Error::Invalid {
        errors: vec![crate::validate::FieldError::new(
            "slug",
            format!(
                "{:?} is taken by another {} entry",
                entry.slug, entry.type_id
            ),
        )],
    }
}
