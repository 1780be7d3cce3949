//! `/v1/content/entries` and `/v1/content/published`: entries, workflow,
//! schedules, history, and published reads.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use machina_kit::ApiJson;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use crate::{
    diff::Diff,
    error::Result,
    model::{
        CreateEntry, DiffQuery, EntryPage, EntryView, ListQuery, PublishedDoc, ReadQuery,
        ScheduleRequest, TransitionRequest, UpdateEntry, VersionDoc, VersionPage,
    },
    permissions::{Caller, PUBLISH, WRITE},
    service::Actor,
};

/// The `?locale=` of a schedule cancellation.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LocaleQuery {
    /// The locale (default: the default locale).
    pub locale: Option<String>,
}

/// Creates an entry (version 1, draft).
#[utoipa::path(post, path = "/v1/content/entries", tag = "entries", request_body = CreateEntry,
    responses((status = 201, body = EntryView), (status = 403),
        (status = 422, description = "Values do not match the type; `errors` lists every field")))]
pub async fn create_entry(
    State(content): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateEntry>,
) -> Result<(StatusCode, Json<EntryView>)> {
    caller.require(&[WRITE])?;
    Ok((
        StatusCode::CREATED,
        Json(content.create_entry(&caller, body).await?),
    ))
}

/// Lists entries.
#[utoipa::path(get, path = "/v1/content/entries", tag = "entries", params(ListQuery),
    responses((status = 200, body = EntryPage)))]
pub async fn list_entries(
    State(content): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<EntryPage>> {
    caller.require_read()?;
    Ok(Json(EntryPage {
        items: content.list_entries(&query).await?,
    }))
}

/// Reads an entry's latest values; `?locale=` resolves localized fields, `?depth=` loads references.
#[utoipa::path(get, path = "/v1/content/entries/{id}", tag = "entries", params(("id" = String, Path), ReadQuery),
    responses((status = 200, body = EntryView), (status = 404)))]
pub async fn get_entry(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<ReadQuery>,
) -> Result<Json<EntryView>> {
    caller.require_read()?;
    Ok(Json(content.read_entry(&id, &query).await?))
}

/// Saves new values (the plain fields and one locale's) as a new version.
#[utoipa::path(put, path = "/v1/content/entries/{id}", tag = "entries", params(("id" = String, Path)),
    request_body = UpdateEntry, responses((status = 200, body = EntryView), (status = 404), (status = 422)))]
pub async fn update_entry(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateEntry>,
) -> Result<Json<EntryView>> {
    caller.require(&[WRITE])?;
    Ok(Json(content.update_entry(&caller, &id, body).await?))
}

/// Deletes an entry and its published copies (versions are kept).
#[utoipa::path(delete, path = "/v1/content/entries/{id}", tag = "entries", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete_entry(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.require(&[PUBLISH])?;
    content.delete_entry(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moves one locale of an entry through the workflow.
#[utoipa::path(post, path = "/v1/content/entries/{id}/transitions", tag = "workflow", params(("id" = String, Path)),
    request_body = TransitionRequest,
    responses((status = 200, body = EntryView), (status = 403, description = "The caller's permissions do not allow this move"),
        (status = 409, description = "No rule allows this move from the current state"),
        (status = 422, description = "Publishing: a required value of the locale is missing")))]
pub async fn transition(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TransitionRequest>,
) -> Result<Json<EntryView>> {
    let locale = content.locale_of(body.locale.as_deref(), "locale")?;
    Ok(Json(
        content
            .transition(Actor::Caller(&caller), &id, &locale, body.to)
            .await?,
    ))
}

/// Schedules the publication of a locale.
#[utoipa::path(put, path = "/v1/content/entries/{id}/schedule", tag = "workflow", params(("id" = String, Path)),
    request_body = ScheduleRequest, responses((status = 200, body = EntryView), (status = 403), (status = 422)))]
pub async fn schedule(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScheduleRequest>,
) -> Result<Json<EntryView>> {
    Ok(Json(content.schedule(&caller, &id, body).await?))
}

/// Cancels the scheduled publication of a locale.
#[utoipa::path(delete, path = "/v1/content/entries/{id}/schedule", tag = "workflow", params(("id" = String, Path), LocaleQuery),
    responses((status = 200, body = EntryView), (status = 404)))]
pub async fn unschedule(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<LocaleQuery>,
) -> Result<Json<EntryView>> {
    Ok(Json(
        content
            .unschedule(&caller, &id, query.locale.as_deref())
            .await?,
    ))
}

/// Lists an entry's versions, newest first.
#[utoipa::path(get, path = "/v1/content/entries/{id}/versions", tag = "history", params(("id" = String, Path)),
    responses((status = 200, body = VersionPage), (status = 404)))]
pub async fn versions(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<VersionPage>> {
    caller.require_read()?;
    Ok(Json(VersionPage {
        items: content.versions(&id).await?,
    }))
}

/// Reads one version.
#[utoipa::path(get, path = "/v1/content/entries/{id}/versions/{version}", tag = "history",
    params(("id" = String, Path), ("version" = i64, Path)), responses((status = 200, body = VersionDoc), (status = 404)))]
pub async fn version(
    State(content): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, i64)>,
) -> Result<Json<VersionDoc>> {
    caller.require_read()?;
    Ok(Json(content.version(&id, version).await?))
}

/// Saves an old version's values as a new version.
#[utoipa::path(post, path = "/v1/content/entries/{id}/versions/{version}/restore", tag = "history",
    params(("id" = String, Path), ("version" = i64, Path)), responses((status = 200, body = EntryView), (status = 404)))]
pub async fn restore(
    State(content): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, i64)>,
) -> Result<Json<EntryView>> {
    caller.require(&[WRITE])?;
    Ok(Json(content.restore(&caller, &id, version).await?))
}

/// Field-level differences between two versions.
#[utoipa::path(get, path = "/v1/content/entries/{id}/diff", tag = "history", params(("id" = String, Path), DiffQuery),
    responses((status = 200, body = Diff), (status = 404)))]
pub async fn diff(
    State(content): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<DiffQuery>,
) -> Result<Json<Diff>> {
    caller.require_read()?;
    Ok(Json(content.diff(&id, query.from, query.to).await?))
}

/// Reads the published copy of (type, slug) in `?locale=` (else `?fallback=`).
#[utoipa::path(get, path = "/v1/content/published/{type}/{slug}", tag = "entries",
    params(("type" = String, Path), ("slug" = String, Path), ReadQuery),
    responses((status = 200, body = PublishedDoc), (status = 404)))]
pub async fn published(
    State(content): State<AppState>,
    caller: Caller,
    Path((type_id, slug)): Path<(String, String)>,
    Query(query): Query<ReadQuery>,
) -> Result<Json<PublishedDoc>> {
    caller.require_read()?;
    Ok(Json(content.read_published(&type_id, &slug, &query).await?))
}
