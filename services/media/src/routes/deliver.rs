//! Delivery: originals and variants with ETag, Cache-Control, conditional
//! GET, single ranges, signed URLs and `Accept` negotiation.

use axum::{
    Json,
    body::Body,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::AppState;
use crate::{
    Error, Result,
    access::now,
    delivery::{RangeRequest, etag, none_match, parse_range},
    model::{Asset, SignRequest, SignedUrl},
    params::VariantQuery,
};

/// Longest lifetime of a signed URL.
const MAX_TTL: u64 = 7 * 24 * 3600;

/// One stored file to send.
struct Stored<'a> {
    file_id: &'a str,
    chunk_size: i64,
    length: i64,
    sha256: &'a str,
    content_type: &'a str,
}

/// Decoded query pairs.
fn pairs(query: Option<&str>) -> Result<Vec<(String, String)>> {
    serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|_| Error::bad_request("query", "the query string is malformed"))
}

/// The original (no parameters) or a variant (`w`, `h`, `fit`, `format`, `q`, `crop`).
#[utoipa::path(get, path = "/v1/media/{id}", tag = "media",
    params(("id" = String, Path),
        ("w" = Option<u32>, Query), ("h" = Option<u32>, Query),
        ("fit" = Option<String>, Query, description = "cover | contain | inside | fill"),
        ("format" = Option<String>, Query, description = "jpeg | png | webp | avif | auto (from Accept: AVIF, then WebP)"),
        ("q" = Option<u8>, Query), ("crop" = Option<String>, Query, description = "x,y,w,h"),
        ("exp" = Option<u64>, Query), ("kid" = Option<String>, Query), ("sig" = Option<String>, Query)),
    responses((status = 200), (status = 206), (status = 304), (status = 403), (status = 404),
        (status = 416), (status = 503, description = "processing saturated; Retry-After")))]
pub async fn original_or_variant(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let params = pairs(query.as_deref())?;
    let path = format!("/v1/media/{id}");
    deliver(&state, &id, &path, &params, None, &headers).await
}

/// A square thumbnail: `size` (default 256), `format` (default auto).
#[utoipa::path(get, path = "/v1/media/{id}/thumbnail", tag = "media",
    params(("id" = String, Path), ("size" = Option<u32>, Query), ("format" = Option<String>, Query)),
    responses((status = 200), (status = 304), (status = 415, description = "video without ffmpeg")))]
pub async fn thumbnail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let params = pairs(query.as_deref())?;
    let path = format!("/v1/media/{id}/thumbnail");
    let mut defaults = VariantQuery::parse(&params)?;
    if defaults.width.is_none() && defaults.height.is_none() {
        defaults.width = Some(256);
        defaults.height = Some(256);
    }
    if defaults.format.is_none() {
        defaults.format = Some(crate::params::FormatRequest::Auto);
    }
    deliver(&state, &id, &path, &params, Some(defaults), &headers).await
}

async fn deliver(
    state: &AppState,
    id: &str,
    path: &str,
    params: &[(String, String)],
    query: Option<VariantQuery>,
    headers: &HeaderMap,
) -> Result<Response> {
    let query = match query {
        Some(q) => q,
        None => VariantQuery::parse(params)?,
    };
    let private = state.access.read(headers, path, params).await?;
    let asset = state.media.asset(id).await?;
    let visibility = if private { "private" } else { "public" };
    if query.is_empty() {
        let stored = Stored {
            file_id: &asset.file_id,
            chunk_size: asset.chunk_size,
            length: asset.length,
            sha256: &asset.sha256,
            content_type: &asset.content_type,
        };
        let cache = format!("{visibility}, max-age=86400");
        return send(state, headers, &stored, &cache, false, None).await;
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (transform, varies) = query.resolve(&asset.content_type, accept);
    let (variant, hit) = state.media.variant(&asset, &transform).await?;
    let stored = Stored {
        file_id: &variant.file_id,
        chunk_size: variant.chunk_size,
        length: variant.length,
        sha256: &variant.sha256,
        content_type: &variant.content_type,
    };
    // A variant's bytes never change for its URL (asset ids are never reused).
    let cache = format!("{visibility}, max-age=31536000, immutable");
    send(state, headers, &stored, &cache, varies, Some(hit)).await
}

/// Sends `stored` honouring `If-None-Match`, `Range` and `If-Range`.
async fn send(
    state: &AppState,
    headers: &HeaderMap,
    stored: &Stored<'_>,
    cache_control: &str,
    vary_accept: bool,
    cache_hit: Option<bool>,
) -> Result<Response> {
    let tag = etag(stored.sha256);
    let mut common = HeaderMap::new();
    let put = |map: &mut HeaderMap, name, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            map.insert(name, v);
        }
    };
    put(&mut common, header::ETAG, &tag);
    put(&mut common, header::CACHE_CONTROL, cache_control);
    common.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if vary_accept {
        common.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    if let Some(hit) = cache_hit {
        common.insert(
            "x-media-cache",
            HeaderValue::from_static(if hit { "hit" } else { "miss" }),
        );
    }
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if header_str(header::IF_NONE_MATCH).is_some_and(|h| none_match(h, &tag)) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let length = stored.length.max(0) as u64;
    let if_range_ok = header_str(header::IF_RANGE).is_none_or(|v| v.trim() == tag);
    let range = match header_str(header::RANGE) {
        Some(h) if if_range_ok => parse_range(h, length),
        _ => RangeRequest::Full,
    };
    put(&mut common, header::CONTENT_TYPE, stored.content_type);
    let (status, start, end) = match range {
        RangeRequest::Unsatisfiable => return Err(Error::RangeNotSatisfiable { length }),
        RangeRequest::Partial { start, end } => {
            put(
                &mut common,
                header::CONTENT_RANGE,
                &format!("bytes {start}-{end}/{length}"),
            );
            (StatusCode::PARTIAL_CONTENT, start, end)
        }
        RangeRequest::Full => (StatusCode::OK, 0, length.saturating_sub(1)),
    };
    let body = if length == 0 {
        Body::empty()
    } else {
        let stream = state
            .media
            .store()
            .read_range(stored.file_id, stored.chunk_size, start, end)
            .await?;
        Body::from_stream(stream)
    };
    put(
        &mut common,
        header::CONTENT_LENGTH,
        &(end + 1 - start).min(length).to_string(),
    );
    Ok((status, common, body).into_response())
}

/// The asset's metadata.
#[utoipa::path(get, path = "/v1/media/{id}/meta", tag = "media",
    params(("id" = String, Path)), responses((status = 200, body = Asset), (status = 404)))]
pub async fn meta(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Asset>> {
    state.access.authenticated(&headers).await?;
    let asset = state.media.asset(&id).await?;
    Ok(Json(Asset::from(&asset)))
}

/// Mints a signed, expiring URL for the asset (optionally a variant).
#[utoipa::path(post, path = "/v1/media/{id}/signed-url", tag = "media",
    params(("id" = String, Path)), request_body = SignRequest,
    responses((status = 200, body = SignedUrl), (status = 404), (status = 409, description = "no SIGNING_KEYS")))]
pub async fn sign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    machina_kit::ApiJson(request): machina_kit::ApiJson<SignRequest>,
) -> Result<Json<SignedUrl>> {
    state.access.authenticated(&headers).await?;
    let ttl = request.ttl_seconds.unwrap_or(3600);
    if ttl == 0 || ttl > MAX_TTL {
        return Err(Error::invalid(
            "ttl_seconds",
            format!("must be from 1 to {MAX_TTL}"),
        ));
    }
    let params: Vec<(String, String)> = request.params.into_iter().collect();
    if params
        .iter()
        .any(|(k, _)| matches!(k.as_str(), "exp" | "kid" | "sig"))
    {
        return Err(Error::invalid(
            "params",
            "exp, kid and sig are set by the service",
        ));
    }
    VariantQuery::parse(&params)?;
    state.media.asset(&id).await?;
    let path = format!("/v1/media/{id}");
    let expires_at = now() + ttl;
    let query = state
        .access
        .keys()
        .sign(&path, &params, expires_at)
        .ok_or_else(|| {
            Error::Api(machina_kit::ApiError::Conflict(
                "signed URLs are not enabled (no SIGNING_KEYS)".to_owned(),
            ))
        })?;
    Ok(Json(SignedUrl {
        url: format!("{path}?{query}"),
        expires_at,
    }))
}
