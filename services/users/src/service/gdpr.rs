//! GDPR: export everything stored about a user, and erase it irreversibly.
//!
//! Erasure overwrites the profile in place with a tombstone: `_id` (the subject id,
//! kept so a late token or event cannot re-create the user), `erasedAt`, and
//! placeholder email and username keys `erased:<id>` (which frees the real ones).
//! Email, username, display name, traits and preferences are gone; so are the
//! user's `user.created`/`user.updated` events in the outbox, published or not (they
//! carry profile data; `user.deleted` carries none and stays). A `user.erased`
//! event tells other services to erase their copies. The credentials in auth stay:
//! auth has no endpoint to delete a user (see the README).

use mongodb::bson::DateTime;
use serde_json::Value;

use super::{Users, not_found};
use crate::{
    error::Result,
    events::{ChangeKind, PERSONAL},
    model::{Export, ProfileDoc, ProfileView, rfc3339},
};

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
                "auth service: credentials (email, password hash, roles); GET /v1/users/me there"
                    .to_owned(),
            ],
            exported_at: rfc3339(DateTime::now()),
        })
    }

    /// Erases `id` (also when soft-deleted); idempotent.
    pub async fn erase(&self, id: &str) -> Result<()> {
        let Some(current) = self.store.any(id).await? else {
            return Err(not_found(id));
        };
        if current.erased_at.is_some() {
            return Ok(());
        }
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
