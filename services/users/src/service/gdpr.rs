//! GDPR: export everything stored about a user, and erase it irreversibly.
//!
//! Erasure overwrites the profile in place with a tombstone: `_id` (the subject id,
//! kept so a late token or event cannot re-create the user), `erasedAt`, and
//! placeholder email and username keys `erased:<id>` (which frees the real ones).
//! Email, username, display name, traits and preferences are gone; so are the
//! user's `user.created`/`user.updated` events in the outbox, published or not (they
//! carry profile data; `user.deleted` carries none and stays). A `user.erased`
//! event tells other services to erase their copies.
//!
//! The credentials in auth are deleted **first**, with the caller's bearer token:
//! `DELETE /v1/users/me` when the caller erases their own profile, auth's admin
//! `DELETE /v1/admin/users/{id}` when an admin erases someone else's. Both steps are
//! idempotent, so the whole operation is retry-safe: when auth is unreachable or
//! failing, nothing is touched here (503) and the caller retries; an already erased
//! profile still gets its credentials deleted on a retry. When auth refuses the token
//! (401/403, e.g. an admin with this service's admin permission but not auth's), the
//! profile is erased anyway — erasure here must not depend on another service's
//! permissions — and the answer says `credentialsRemoved: false`; repeating the call
//! with a token auth accepts finishes the job.

use mongodb::bson::DateTime;
use serde_json::Value;

use super::{Users, not_found};
use crate::{
    auth_client::CredentialsDeletion,
    error::Result,
    events::{ChangeKind, PERSONAL},
    model::{Erasure, Export, ProfileDoc, ProfileView, rfc3339},
};

/// Who asks for an erasure, and with which token (forwarded to auth).
#[derive(Debug, Clone, Copy)]
pub struct Eraser<'a> {
    /// The caller's subject id.
    pub sub: &'a str,
    /// The caller's `Authorization` header value.
    pub authorization: &'a str,
}

impl Users {
    /// Everything stored about `id`, soft-deleted or not.
    pub async fn export(&self, id: &str) -> Result<Export> {
        let profile = self
            .store
            .any(id)
            .await?
            .filter(|p| p.erased_at.is_none())
            .ok_or_else(|| not_found(id))?;
        // Read after the profile: the relay may have copied some staged events meanwhile.
        let relayed = self.store.events_of(id).await?;
        let staged = profile
            .pending_events
            .iter()
            .filter(|e| !relayed.iter().any(|r| r.id == e.id));
        let pending_events = relayed
            .iter()
            .chain(staged)
            .map(|e| serde_json::from_str(&e.body).unwrap_or(Value::Null))
            .collect();
        Ok(Export {
            preferences: profile.preferences_value(),
            profile: ProfileView::from(&profile),
            pending_events,
            elsewhere: vec![
                "auth service: credentials (email, password hash, roles); GET /v1/users/me \
                 there; erasing the profile here deletes them there too"
                    .to_owned(),
            ],
            exported_at: rfc3339(DateTime::now()),
        })
    }

    /// Erases `id` (also when soft-deleted) after deleting its credentials in auth;
    /// idempotent and retry-safe (see the module docs).
    pub async fn erase(&self, id: &str, by: Eraser<'_>) -> Result<Erasure> {
        let Some(current) = self.store.any(id).await? else {
            return Err(not_found(id));
        };
        let other = (by.sub != id).then_some(id);
        let credentials = self
            .auth
            .delete_credentials(by.authorization, other)
            .await?;
        let (credentials_removed, credentials_detail) = match credentials {
            CredentialsDeletion::Deleted => (true, None),
            CredentialsDeletion::Refused(why) => {
                tracing::warn!(user_id = %id, %why, "profile erased, credentials kept by auth");
                (
                    false,
                    Some(format!(
                        "{why}; repeat the erasure with a token auth accepts"
                    )),
                )
            }
        };
        if current.erased_at.is_none() {
            self.erase_profile(id, &current).await?;
        }
        Ok(Erasure {
            id: id.to_owned(),
            profile_erased: true,
            credentials_removed,
            credentials_detail,
        })
    }

    /// Replaces the profile with its tombstone and withdraws its personal events.
    async fn erase_profile(&self, id: &str, current: &ProfileDoc) -> Result<()> {
        let now = DateTime::now();
        let mut tombstone = ProfileDoc {
            id: id.to_owned(),
            email: String::new(),
            email_key: format!("erased:{id}"),
            username: String::new(),
            username_key: format!("erased:{id}"),
            display_name: None,
            display_name_key: None,
            traits: "{}".to_owned(),
            preferences: "{}".to_owned(),
            created_at: now,
            updated_at: now,
            deleted_at: Some(current.deleted_at.unwrap_or(now)),
            erased_at: Some(now),
            version: current.version + 1,
            // Unpublished events carrying profile data are withdrawn with the rest.
            pending_events: current
                .pending_events
                .iter()
                .filter(|e| !PERSONAL.contains(&e.routing_key.as_str()))
                .cloned()
                .collect(),
            has_pending: false,
        };
        self.outbox.stage(ChangeKind::Erased, &mut tombstone);
        // Unconditional: erasure wins over any concurrent change.
        self.store
            .profiles
            .replace_one(mongodb::bson::doc! {"_id": id}, &tombstone)
            .await?;
        self.outbox.forget(id).await?;
        self.outbox.wake();
        Ok(())
    }
}
