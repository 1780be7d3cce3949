//! Profiles: read, patch, soft delete, search and lookup by email.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use machina_kit::{ApiJson, auth::Claims};

use super::{AppState, query};
use crate::{
    error::Result,
    model::{ProfilePage, ProfilePatch, ProfileView},
};

/// GET `/v1/users/me`: the caller's profile.
#[utoipa::path(get, path = "/v1/users/me", tag = "profiles",
    responses((status = 200, body = ProfileView), (status = 404, description = "No profile (deleted, or a client token)")))]
#[tracing::instrument(skip_all)]
pub async fn me(State(users): State<AppState>, claims: Claims) -> Result<Json<ProfileView>> {
    Ok(Json(ProfileView::from(&users.profile(&claims.sub).await?)))
}

/// GET `/v1/users/{id}`: the owner or an admin; anyone else gets 404.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "profiles",
    params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, body = ProfileView), (status = 404, description = "Missing, deleted, or not the caller's")))]
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn get_profile(
    State(users): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
) -> Result<Json<ProfileView>> {
    users.may_access(&claims, &id)?;
    Ok(Json(ProfileView::from(&users.profile(&id).await?)))
}

/// PATCH `/v1/users/{id}`: username, display name, traits (merge patch).
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "profiles",
    params(("id" = String, Path, description = "Subject id")),
    request_body = ProfilePatch,
    responses((status = 200, body = ProfileView), (status = 409, description = "Username taken"),
        (status = 422, description = "Invalid field; `traits_invalid` lists every schema violation")))]
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn patch_profile(
    State(users): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<ProfileView>> {
    users.may_access(&claims, &id)?;
    Ok(Json(ProfileView::from(&users.patch(&id, patch).await?)))
}

/// DELETE `/v1/users/{id}`: soft delete.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "profiles",
    params(("id" = String, Path, description = "Subject id")),
    responses((status = 204, description = "Hidden; email and username stay reserved until erasure")))]
#[tracing::instrument(skip_all, fields(user_id = %id))]
pub async fn delete_profile(
    State(users): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    users.may_access(&claims, &id)?;
    users.soft_delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET `/v1/users`: admin only. `?email=` answers one profile; otherwise a page.
#[utoipa::path(get, path = "/v1/users", tag = "profiles",
    params(
        ("email" = Option<String>, Query, description = "Exact email (case-insensitive): answers one profile"),
        ("q" = Option<String>, Query, description = "Case-insensitive prefix of username, display name or email"),
        ("limit" = Option<usize>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
        ("includeDeleted" = Option<bool>, Query, description = "Also soft-deleted profiles"),
        ("createdAfter" = Option<String>, Query, description = "RFC 3339"),
        ("createdBefore" = Option<String>, Query, description = "RFC 3339"),
    ),
    responses((status = 200, body = ProfilePage), (status = 400, description = "Bad parameter (named in `field`)"),
        (status = 403, description = "Not an admin")))]
#[tracing::instrument(skip_all)]
pub async fn search(
    State(users): State<AppState>,
    claims: Claims,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    users.require_admin(&claims)?;
    let search = query::parse(raw.as_deref())?;
    if let Some(email) = &search.by_email {
        let profile = users.by_email(email).await?;
        return Ok(Json(ProfileView::from(&profile)).into_response());
    }
    Ok(Json(users.search(search.filter, search.limit).await?).into_response())
}
