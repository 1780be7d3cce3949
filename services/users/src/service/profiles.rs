//! Reading, patching, soft-deleting and searching profiles.
//!
//! Soft delete sets `deletedAt`: the profile disappears from every read and search
//! (admins can list it with `includeDeleted=true`), and its email and username stay
//! reserved until the profile is erased, because auth keeps the credentials (and so
//! the email) anyway and a reused username would make old references ambiguous.

use mongodb::bson::DateTime;

use super::{Users, not_found};
use crate::{
    cursor,
    error::{Error, Result},
    events::ChangeKind,
    merge::merge_patch,
    model::{ProfileDoc, ProfilePage, ProfilePatch, ProfileView},
    store::SearchFilter,
    validate,
};

/// Default and largest page size.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page size.
pub const MAX_LIMIT: usize = 100;

impl Users {
    /// An active profile.
    pub async fn profile(&self, id: &str) -> Result<ProfileDoc> {
        self.store.active(id).await?.ok_or_else(|| not_found(id))
    }

    /// Applies `patch`; every field is checked before anything is written.
    pub async fn patch(&self, id: &str, patch: ProfilePatch) -> Result<ProfileDoc> {
        if patch.email.is_some() {
            return Err(Error::invalid(
                "email",
                "the email is the login name held by auth, which offers no way to change it",
            ));
        }
        let username = patch
            .username
            .as_deref()
            .map(validate::username)
            .transpose()?;
        let display_name = match &patch.display_name {
            Some(Some(name)) => Some(Some(validate::display_name(name)?)),
            Some(None) => Some(None),
            None => None,
        };
        if let Some(t) = &patch.traits
            && !t.is_object()
        {
            return Err(Error::invalid(
                "traits",
                "must be a JSON object (a merge patch)",
            ));
        }
        let schema = &self.traits;
        self.modify(id, ChangeKind::Updated, |doc| {
            if let Some(traits_patch) = &patch.traits {
                let mut traits = doc.traits_value();
                merge_patch(&mut traits, traits_patch);
                schema.validate(&traits)?;
                doc.traits = traits.to_string();
            }
            if let Some(username) = &username {
                doc.username_key = validate::key(username);
                doc.username.clone_from(username);
            }
            if let Some(name) = &display_name {
                doc.display_name_key = name.as_deref().map(validate::key);
                doc.display_name.clone_from(name);
            }
            Ok(())
        })
        .await
    }

    /// Soft-deletes a profile (hidden; email and username stay reserved).
    pub async fn soft_delete(&self, id: &str) -> Result<()> {
        self.modify(id, ChangeKind::Deleted, |doc| {
            doc.deleted_at = Some(DateTime::now());
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// The active profile with this email (case-insensitive).
    pub async fn by_email(&self, email: &str) -> Result<ProfileDoc> {
        let filter = SearchFilter {
            email_key: Some(validate::key(email)),
            ..SearchFilter::default()
        };
        self.store
            .search(&filter, 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found("no profile with this email"))
    }

    /// One page of profiles ordered by id.
    pub async fn search(&self, filter: SearchFilter, limit: usize) -> Result<ProfilePage> {
        let limit = limit.clamp(1, MAX_LIMIT);
        let mut docs = self.store.search(&filter, limit).await?;
        let more = docs.len() > limit;
        docs.truncate(limit);
        let next_cursor = more
            .then(|| docs.last().map(|d| cursor::encode(&d.id)))
            .flatten();
        Ok(ProfilePage {
            items: docs.iter().map(ProfileView::from).collect(),
            next_cursor,
        })
    }
}
