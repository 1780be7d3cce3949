//! Stored documents, request bodies and API views.
//!
//! Traits and preferences are stored as JSON text rather than BSON: their keys are
//! chosen by clients and the platform's schema, and keys such as `a.b` or `$x` would
//! otherwise collide with MongoDB's query syntax. Nothing queries inside them.

use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::events::OutboxDoc;

/// A profile in the `profiles` collection; `_id` is the auth service's subject id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileDoc {
    /// Subject id (the same as in auth and in tokens' `sub`).
    #[serde(rename = "_id")]
    pub id: String,
    /// Email as registered.
    pub email: String,
    /// Lower-cased email; unique index.
    pub email_key: String,
    /// Username as chosen.
    pub username: String,
    /// Lower-cased username; unique index.
    pub username_key: String,
    /// Optional display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Lower-cased display name, for prefix search.
    #[serde(default)]
    pub display_name_key: Option<String>,
    /// Traits, JSON text of an object.
    pub traits: String,
    /// Preferences, JSON text of an object.
    pub preferences: String,
    /// Creation time.
    pub created_at: DateTime,
    /// Last change.
    pub updated_at: DateTime,
    /// Soft-delete time; hidden from reads while set.
    #[serde(default)]
    pub deleted_at: Option<DateTime>,
    /// Erasure time; every personal field has been overwritten.
    #[serde(default)]
    pub erased_at: Option<DateTime>,
    /// Incremented by every change (optimistic concurrency).
    pub version: i64,
    /// Events of changes to this document not yet copied to the `outbox` collection;
    /// written in the same single-document write as the change itself.
    #[serde(default)]
    pub pending_events: Vec<OutboxDoc>,
    /// True while `pendingEvents` is not empty: an indexable flag for the relay.
    #[serde(default)]
    pub has_pending: bool,
}

impl ProfileDoc {
    /// Traits as JSON (an empty object if the stored text is unreadable).
    pub fn traits_value(&self) -> Value {
        parse_object(&self.traits)
    }

    /// Preferences as JSON.
    pub fn preferences_value(&self) -> Value {
        parse_object(&self.preferences)
    }
}

fn parse_object(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::Object(serde_json::Map::new()))
}

/// RFC 3339 with milliseconds, UTC.
pub fn rfc3339(t: DateTime) -> String {
    t.try_to_rfc3339_string().unwrap_or_default()
}

/// A profile as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    /// Subject id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Username.
    pub username: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Traits (validated by the platform's schema).
    #[schema(value_type = Object)]
    pub traits: Value,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
    /// Soft-delete time, only shown to admins searching with `includeDeleted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
}

impl From<&ProfileDoc> for ProfileView {
    fn from(p: &ProfileDoc) -> Self {
        Self {
            id: p.id.clone(),
            email: p.email.clone(),
            username: p.username.clone(),
            display_name: p.display_name.clone(),
            traits: p.traits_value(),
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
            deleted_at: p.deleted_at.map(rfc3339),
        }
    }
}

/// `POST /v1/users/register` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    /// Email (unique, case-insensitive); also the login name in auth.
    pub email: String,
    /// Username (unique, case-insensitive).
    pub username: String,
    /// Password; sent to auth only, never stored here.
    pub password: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Traits; must match `TRAITS_SCHEMA`.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub traits: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// `PATCH /v1/users/{id}` body (merge-patch semantics).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfilePatch {
    /// Refused: the email is auth's login name, and auth cannot change it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Option<Value>,
    /// New username.
    #[serde(default)]
    pub username: Option<String>,
    /// New display name; `null` removes it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// Merge patch (RFC 7396) applied to the traits; the result must match the schema.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub traits: Option<Value>,
}

/// Tells an absent member (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// A page of search results.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfilePage {
    /// Profiles ordered by id.
    pub items: Vec<ProfileView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /v1/users/{id}/export`: everything stored about a user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    /// The profile (including soft-delete state).
    pub profile: ProfileView,
    /// Preferences.
    #[schema(value_type = Object)]
    pub preferences: Value,
    /// Change events about the user still held in the outbox.
    #[schema(value_type = Vec<Object>)]
    pub pending_events: Vec<Value>,
    /// Where else data about the user lives and how to get it.
    pub elsewhere: Vec<String>,
    /// When the export was made (RFC 3339).
    pub exported_at: String,
}

/// `POST /v1/users/{id}/erase`: what was erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Erasure {
    /// The subject id.
    pub id: String,
    /// The profile is erased (always true in a success response).
    pub profile_erased: bool,
    /// Auth deleted the credentials (email, password hash, roles, refresh tokens,
    /// sessions). False when auth refused the caller's token: see `credentialsDetail`.
    pub credentials_removed: bool,
    /// Why the credentials were not removed, and how to finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_detail: Option<String>,
}
