//! Resumable uploads: `POST /v1/uploads`, `PUT`/`GET`/`DELETE /v1/uploads/{id}`,
//! `POST /v1/uploads/{id}/complete`.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
};
use machina_kit::ApiJson;

use super::AppState;
use crate::{
    Error, Result,
    access::WRITE,
    model::{Asset, CreateSession, Session},
    service::ChunkRange,
};

async fn owner(state: &AppState, headers: &HeaderMap) -> Result<Option<String>> {
    Ok(state.access.require(headers, WRITE).await?.map(|c| c.sub))
}

/// Opens a resumable upload of `length` bytes.
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads", request_body = CreateSession,
    responses((status = 201, body = Session), (status = 413), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CreateSession>,
) -> Result<impl IntoResponse> {
    let owner = owner(&state, &headers).await?;
    let session = state.media.create_session(request, owner).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, session.url.clone())],
        Json(session),
    ))
}

/// Appends the chunk described by `Content-Range: bytes start-end/total`.
#[utoipa::path(put, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path), ("Content-Range" = String, Header)),
    responses((status = 200, body = Session), (status = 409, description = "out of order")))]
pub async fn put_chunk(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Session>> {
    let owner = owner(&state, &headers).await?;
    let range = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(ChunkRange::parse)
        .ok_or_else(|| {
            Error::bad_request(
                "content-range",
                "expected Content-Range: bytes start-end/total",
            )
        })?;
    let session = state
        .media
        .put_chunk(&id, owner.as_deref(), range, &body)
        .await?;
    Ok(Json(session))
}

/// The session's progress (resume from `offset`).
#[utoipa::path(get, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path)), responses((status = 200, body = Session), (status = 404)))]
pub async fn state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Session>> {
    let owner = owner(&state, &headers).await?;
    let doc = state.media.session(&id, owner.as_deref()).await?;
    Ok(Json(state.media.session_view(&doc)))
}

/// Validates and stores the received file as an asset.
#[utoipa::path(post, path = "/v1/uploads/{id}/complete", tag = "uploads",
    params(("id" = String, Path)),
    responses((status = 201, body = Asset), (status = 409, description = "bytes missing"), (status = 422)))]
pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    let owner = owner(&state, &headers).await?;
    let asset = state.media.complete_session(&id, owner.as_deref()).await?;
    let location = format!("/v1/media/{}", asset.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Asset::from(&asset)),
    ))
}

/// Abandons the session.
#[utoipa::path(delete, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn abort(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let owner = owner(&state, &headers).await?;
    state.media.abort_session(&id, owner.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
