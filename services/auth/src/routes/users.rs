//! Registration, login sessions, password change and account deletion (problem+json errors).

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use machina_kit::{ApiJson, auth::Claims};
use serde::{Deserialize, Serialize};

use super::{
    AppState, client_ip,
    oauth::{SESSION_COOKIE, session_cookie},
};
use crate::{Result, model::UserDoc};

/// `POST /v1/users` and `POST /v1/login` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `PUT /v1/users/me/password` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The new one.
    pub new_password: String,
}

/// A user as the API shows it (never the hash).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// Subject id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
}

impl From<UserDoc> for UserView {
    fn from(u: UserDoc) -> Self {
        Self {
            id: u.id,
            email: u.email,
            roles: u.roles,
            created_at: u.created_at.try_to_rfc3339_string().unwrap_or_default(),
        }
    }
}

/// POST `/v1/users`: registration.
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response> {
    let user = state.auth.register(&body.email, &body.password).await?;
    let location = format!("/v1/users/{}", user.id);
    let mut response = (StatusCode::CREATED, Json(UserView::from(user))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// POST `/v1/login`: checks the password (throttled) and sets the session cookie
/// that `/oauth2/authorize` reads.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response> {
    let auth = &state.auth;
    let user = auth
        .login(&body.email, &body.password, &client_ip(&headers))
        .await
        .map_err(|e| match e {
            crate::Error::InvalidGrant(reason) => crate::Error::unauthorized(reason),
            other => other,
        })?;
    let session = auth.create_session(&user.id).await?;
    let secure = if auth.policy.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        auth.policy.session_ttl.as_secs()
    );
    let body =
        serde_json::json!({"userId": user.id, "expiresIn": auth.policy.session_ttl.as_secs()});
    let mut response = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// POST `/v1/logout`: ends the session.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    if let Some(session) = session_cookie(&headers) {
        state.auth.end_session(&session).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// GET `/v1/users/me`.
pub async fn me(State(state): State<AppState>, claims: Claims) -> Result<Json<UserView>> {
    Ok(Json(state.auth.user(&claims.sub).await?.into()))
}

/// PUT `/v1/users/me/password`: 204; revokes the user's refresh tokens.
pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    claims: Claims,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode> {
    state
        .auth
        .change_password(
            &claims.sub,
            &body.current_password,
            &body.new_password,
            &client_ip(&headers),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// DELETE `/v1/users/me`: 204; deletes the caller's account (see [`crate::service::Auth::delete_user`]).
pub async fn delete_me(State(state): State<AppState>, claims: Claims) -> Result<StatusCode> {
    state.auth.delete_user(&claims.sub).await?;
    Ok(StatusCode::NO_CONTENT)
}
