//! Registration and password change, both through the auth service.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use machina_kit::{ApiError, ApiJson, PROBLEM_JSON, auth::Claims};
use serde_json::Value;

use super::{AppState, forwarded_for};
use crate::{
    error::Result,
    model::{ProfileView, RegisterRequest},
};

/// POST `/v1/users/register` (public): 201 with the profile.
#[utoipa::path(post, path = "/v1/users/register", tag = "account",
    request_body = RegisterRequest,
    responses((status = 201, body = ProfileView), (status = 409, description = "Email or username taken"),
        (status = 422, description = "Invalid field (auth's password rules included); `traits_invalid` lists schema violations")))]
#[tracing::instrument(skip_all)]
pub async fn register(
    State(users): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<Response> {
    let profile = users.register(body, forwarded_for(&headers)).await?;
    let location = format!("/v1/users/{}", profile.id);
    let mut response = (StatusCode::CREATED, Json(ProfileView::from(&profile))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// PUT `/v1/users/me/password`: forwarded to auth with the caller's token; auth's
/// status and problem body come back unchanged.
#[utoipa::path(put, path = "/v1/users/me/password", tag = "account",
    request_body(content = Object, description = "`{currentPassword, newPassword}`"),
    responses((status = 204, description = "Changed; auth revoked the user's refresh tokens"),
        (status = 401, description = "Wrong current password or bad token")))]
#[tracing::instrument(skip_all)]
pub async fn change_password(
    State(users): State<AppState>,
    headers: HeaderMap,
    _claims: Claims,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("missing bearer token".to_owned()))?;
    let answer = users
        .auth
        .change_password(authorization, &body, forwarded_for(&headers))
        .await?;
    if answer.status == StatusCode::NO_CONTENT || answer.body.is_none() {
        return Ok(answer.status.into_response());
    }
    let body = answer.body.unwrap_or(Value::Null).to_string();
    let mut response = (answer.status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Ok(response)
}
