//! Entries, their versions, workflow states per locale, and the published copies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::workflow::State;

/// Field values: a localized field holds `{locale: value}`.
pub type Fields = Map<String, Value>;

/// The workflow state of one locale of an entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocaleState {
    /// Where the locale is in the workflow.
    pub state: State,
    /// The entry version that is published in this locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_version: Option<i64>,
    /// When it was published, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// A pending scheduled publication, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<String>,
}

/// An entry as stored in `entries`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryDoc {
    /// Entry id (UUID).
    #[serde(rename = "_id")]
    pub id: String,
    /// Content type id.
    #[serde(rename = "type")]
    pub type_id: String,
    /// Unique per type; how published content is looked up.
    pub slug: String,
    /// The latest saved values (every locale).
    pub fields: Fields,
    /// The latest version number (1 on create).
    pub version: i64,
    /// Bumped on every change of this document; the guard of every update.
    pub rev: i64,
    /// Workflow state per locale; a locale absent here is a draft.
    #[serde(default)]
    pub locales: BTreeMap<String, LocaleState>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
    /// Events committed with a transition whose effects (published copy, outbox,
    /// webhook deliveries) are not all written yet; see `service::publishing`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingEvent>,
}

/// An event recorded in the same write as the transition that caused it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingEvent {
    /// Event id: the outbox document's id and the AMQP `message_id`.
    pub id: String,
    /// `content.published` or `content.unpublished`.
    pub event: String,
    /// The locale that moved.
    pub locale: String,
    /// The entry version at the transition.
    pub version: i64,
    /// When, ms since the epoch.
    pub at: i64,
}

impl EntryDoc {
    /// The state of `locale` (draft when it never moved).
    pub fn locale_state(&self, locale: &str) -> LocaleState {
        self.locales.get(locale).cloned().unwrap_or_default()
    }
}

/// One immutable saved version of an entry (`entry_versions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionDoc {
    /// `<entryId>:<version>`.
    #[serde(rename = "_id")]
    #[schema(ignore)]
    pub key: String,
    /// The entry.
    pub entry_id: String,
    /// Version number, from 1.
    pub version: i64,
    /// Slug at this version.
    pub slug: String,
    /// Every field value at this version.
    #[schema(value_type = Object)]
    pub fields: Fields,
    /// Who saved it (token subject).
    pub author: String,
    /// When, RFC 3339.
    pub created_at: String,
    /// The version this one restored, if it is a restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<i64>,
}

/// The published copy of one locale of an entry (`published`), read by the
/// generative worker's LookupDocument component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishedDoc {
    /// `<entryId>:<locale>`.
    #[serde(rename = "_id")]
    #[schema(ignore)]
    pub key: String,
    /// The entry.
    pub entry_id: String,
    /// Content type id.
    #[serde(rename = "type")]
    pub type_id: String,
    /// The entry's slug.
    pub slug: String,
    /// The locale.
    pub locale: String,
    /// Values in this locale (localized fields resolved, with the fallback locale).
    #[schema(value_type = Object)]
    pub fields: Fields,
    /// The published version.
    pub version: i64,
    /// When, RFC 3339.
    pub published_at: String,
}

/// `POST /v1/content/entries`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEntry {
    /// Content type id.
    #[serde(rename = "type")]
    pub type_id: String,
    /// Unique per type (`[a-z0-9][a-z0-9-]*`).
    pub slug: String,
    /// Locale of the localized values given (default: the default locale).
    #[serde(default)]
    pub locale: Option<String>,
    /// Values: plain values, localized ones for `locale`.
    #[schema(value_type = Object)]
    pub fields: Fields,
}

/// `PUT /v1/content/entries/{id}`: replaces the non-localized values and the
/// values of `locale`; other locales keep theirs.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateEntry {
    /// New slug (unchanged when absent).
    #[serde(default)]
    pub slug: Option<String>,
    /// Locale of the localized values given (default: the default locale).
    #[serde(default)]
    pub locale: Option<String>,
    /// Values: plain values, localized ones for `locale`.
    #[schema(value_type = Object)]
    pub fields: Fields,
}

/// `POST /v1/content/entries/{id}/transitions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransitionRequest {
    /// The state to move to.
    pub to: State,
    /// The locale to move (default: the default locale).
    #[serde(default)]
    pub locale: Option<String>,
}

/// `PUT /v1/content/entries/{id}/schedule`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleRequest {
    /// When to publish, RFC 3339.
    pub publish_at: String,
    /// The locale to publish (default: the default locale).
    #[serde(default)]
    pub locale: Option<String>,
}

/// An entry as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryView {
    /// Entry id.
    pub id: String,
    /// Content type id.
    #[serde(rename = "type")]
    pub type_id: String,
    /// Slug.
    pub slug: String,
    /// Latest version.
    pub version: i64,
    /// The locale `fields` were resolved for (absent: every locale, raw).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Values (references expanded to `depth`).
    #[schema(value_type = Object)]
    pub fields: Fields,
    /// Workflow state per locale.
    pub locales: BTreeMap<String, LocaleState>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// Query of entry reads.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadQuery {
    /// Resolve localized fields for this locale.
    pub locale: Option<String>,
    /// Locale used where `locale` has no value (default: the default locale).
    pub fallback: Option<String>,
    /// How many levels of references to load (0: ids only).
    pub depth: Option<u32>,
}

/// Query of the entry listing.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    /// Only entries of this type.
    #[serde(rename = "type")]
    pub type_id: Option<String>,
    /// Resolve localized fields for this locale.
    pub locale: Option<String>,
    /// Most entries returned (default 50, at most 200).
    pub limit: Option<i64>,
    /// Entries skipped.
    pub offset: Option<u64>,
}

/// A page of entries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryPage {
    /// The entries.
    pub items: Vec<EntryView>,
}

/// Versions of an entry, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionPage {
    /// The versions.
    pub items: Vec<VersionDoc>,
}

/// Query of the diff endpoint.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The older version.
    pub from: i64,
    /// The newer version.
    pub to: i64,
}
