//! `POST /v1/media` (multipart or raw body) and `DELETE /v1/media/{id}`.

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, Multipart, Path, Query, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
};
use serde::Deserialize;

use super::AppState;
use crate::{Error, Result, access::WRITE, model::Asset, service::too_large};

/// Query of a raw-body upload.
#[derive(Debug, Deserialize)]
pub struct RawUpload {
    /// The file's name (its extension must agree with the content).
    filename: Option<String>,
}

/// Uploads a file: `multipart/form-data` with a `file` part, or the raw bytes
/// as the body with `Content-Type` and `?filename=`.
#[utoipa::path(post, path = "/v1/media", tag = "media",
    request_body(content_type = "multipart/form-data", description = "a `file` part"),
    responses(
        (status = 201, body = Asset),
        (status = 413, description = "larger than MAX_UPLOAD_BYTES"),
        (status = 415, description = "content of an unsupported type"),
        (status = 422, description = "type/extension disagrees with the bytes, or a corrupt image"),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    Query(raw): Query<RawUpload>,
    headers: HeaderMap,
    request: Request,
) -> Result<impl IntoResponse> {
    let claims = state.access.require(&headers, WRITE).await?;
    let owner = claims.map(|c| c.sub);
    let limit = state.media.limits().max_upload_bytes;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (bytes, declared, filename) = if content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("multipart/form-data"))
    {
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| Error::bad_request("body", e.body_text()))?;
        let expected = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            .min(limit);
        read_file_part(multipart, limit, expected).await?
    } else {
        let body = Bytes::from_request(request, &())
            .await
            .map_err(|_| too_large(limit))?;
        // Zero-copy when hyper's buffer is uniquely owned.
        (Vec::from(body), content_type, raw.filename)
    };
    let asset = state
        .media
        .ingest(bytes, declared.as_deref(), filename.as_deref(), owner)
        .await?;
    let location = format!("/v1/media/{}", asset.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Asset::from(&asset)),
    ))
}

/// The first part named `file`: its bytes, declared type and filename.
/// `expected` (the request's length) sizes the buffer once instead of doubling it.
async fn read_file_part(
    mut multipart: Multipart,
    limit: usize,
    expected: usize,
) -> Result<(Vec<u8>, Option<String>, Option<String>)> {
    let bad =
        |e: axum::extract::multipart::MultipartError| Error::bad_request("body", e.body_text());
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        if field.name() != Some("file") {
            continue;
        }
        let declared = field.content_type().map(str::to_owned);
        let filename = field.file_name().map(str::to_owned);
        let mut bytes = Vec::with_capacity(expected);
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((bytes, declared, filename));
    }
    Err(Error::invalid("file", "the form has no part named file"))
}

/// Deletes an asset and its variants.
#[utoipa::path(delete, path = "/v1/media/{id}", tag = "media",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    state.access.require(&headers, WRITE).await?;
    state.media.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
