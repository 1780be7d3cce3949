//! Preferences: a JSON object per user (owner or admin).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use machina_kit::{ApiJson, auth::Claims};
use serde_json::{Value, json};

use super::AppState;
use crate::{error::Result, service::preferences::Write};

/// GET `/v1/users/{id}/preferences`.
#[utoipa::path(get, path = "/v1/users/{id}/preferences", tag = "preferences",
    params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, body = Object)))]
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn get_preferences(
    State(users): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    users.may_access(&claims, &id)?;
    Ok(Json(users.preferences(&id).await?))
}

/// PUT `/v1/users/{id}/preferences`: replaces the object.
#[utoipa::path(put, path = "/v1/users/{id}/preferences", tag = "preferences",
    params(("id" = String, Path, description = "Subject id")),
    request_body = Object,
    responses((status = 200, body = Object), (status = 422, description = "Not an object, or over PREFERENCES_MAX_BYTES")))]
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn put_preferences(
    State(users): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>> {
    users.may_access(&claims, &id)?;
    Ok(Json(
        users.write_preferences(&id, &body, Write::Replace).await?,
    ))
}

/// PATCH `/v1/users/{id}/preferences`: JSON Merge Patch (RFC 7396).
#[utoipa::path(patch, path = "/v1/users/{id}/preferences", tag = "preferences",
    params(("id" = String, Path, description = "Subject id")),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses((status = 200, body = Object), (status = 422, description = "Not an object, or over PREFERENCES_MAX_BYTES")))]
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn patch_preferences(
    State(users): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>> {
    users.may_access(&claims, &id)?;
    Ok(Json(
        users.write_preferences(&id, &body, Write::Merge).await?,
    ))
}

/// DELETE `/v1/users/{id}/preferences`: back to `{}`.
#[utoipa::path(delete, path = "/v1/users/{id}/preferences", tag = "preferences",
    params(("id" = String, Path, description = "Subject id")),
    responses((status = 204, description = "Cleared")))]
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn delete_preferences(
    State(users): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    users.may_access(&claims, &id)?;
    users
        .write_preferences(&id, &json!({}), Write::Replace)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
