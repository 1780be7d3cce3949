//! The OAuth 2.0 endpoints. Errors use the RFC 6749 JSON format ([`OAuth`]);
//! success bodies carry `Cache-Control: no-store`.

use std::collections::HashMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Serialize;

use super::{AppState, client_ip, parse_form, required};
use crate::{
    Error,
    error::OAuth,
    model::{ClientDoc, GRANT_TYPES},
    scope,
    service::{
        Auth,
        clients::presented,
        codes::{CodeGrant, pkce_matches, valid_pkce_string},
        tokens::{Subject, TokenResponse},
    },
};

/// Name of the login session cookie.
pub const SESSION_COOKIE: &str = "machina_auth_session";

fn no_store<T: Serialize>(body: &T) -> Response {
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// POST `/oauth2/token`.
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuth> {
    let form = parse_form(&headers, &body)?;
    let grant_type = required(&form, "grant_type")?;
    if !GRANT_TYPES.contains(&grant_type) {
        return Err(Error::UnsupportedGrantType(grant_type.to_owned()).into());
    }
    let auth = &state.auth;
    let client = auth
        .authenticate_client(presented(&headers, &form)?)
        .await?;
    if !client.grant_types.iter().any(|g| g == grant_type) {
        return Err(Error::UnauthorizedClient(format!(
            "this client may not use the {grant_type} grant"
        ))
        .into());
    }
    let response = match grant_type {
        "client_credentials" => client_credentials(auth, &client, &form).await?,
        "password" => password(auth, &client, &form, &client_ip(&headers)).await?,
        "authorization_code" => authorization_code(auth, &client, &form).await?,
        _ => refresh_token(auth, &client, &form).await?,
    };
    Ok(no_store(&response))
}

async fn client_credentials(
    auth: &Auth,
    client: &ClientDoc,
    form: &HashMap<String, String>,
) -> crate::Result<TokenResponse> {
    if client.secret_hash.is_none() {
        return Err(Error::UnauthorizedClient(
            "a public client cannot use client_credentials".into(),
        ));
    }
    let scope = scope::resolve(form.get("scope").map(String::as_str), &client.scopes)?;
    let subject = Subject {
        id: client.id.clone(),
        roles: client.roles.clone(),
        email: None,
    };
    auth.access_token(&subject, client, &scope, None).await
}

async fn password(
    auth: &Auth,
    client: &ClientDoc,
    form: &HashMap<String, String>,
    ip: &str,
) -> crate::Result<TokenResponse> {
    if !client.first_party || client.secret_hash.is_none() {
        return Err(Error::UnauthorizedClient(
            "the password grant is for first-party confidential clients only".into(),
        ));
    }
    let username = required(form, "username")?;
    let password = required(form, "password")?;
    let scope = scope::resolve(form.get("scope").map(String::as_str), &client.scopes)?;
    let user = auth.login(username, password, ip).await?;
    let subject = Subject {
        id: user.id.clone(),
        roles: user.roles.clone(),
        email: Some(user.email.clone()),
    };
    with_refresh(auth, client, &subject, &scope, None, None).await
}

async fn authorization_code(
    auth: &Auth,
    client: &ClientDoc,
    form: &HashMap<String, String>,
) -> crate::Result<TokenResponse> {
    let code = required(form, "code")?;
    let redirect_uri = required(form, "redirect_uri")?;
    let verifier = required(form, "code_verifier")?;
    let invalid =
        || Error::InvalidGrant("the authorization code is invalid, expired or used".into());
    // Taking the code consumes it, so a failed attempt cannot be retried with another verifier.
    let grant = auth.take_code(code).await?.ok_or_else(invalid)?;
    if grant.client_id != client.id || grant.redirect_uri != redirect_uri {
        return Err(invalid());
    }
    if !pkce_matches(verifier, &grant.challenge) {
        return Err(Error::InvalidGrant(
            "code_verifier does not match the code_challenge".into(),
        ));
    }
    let user = auth.user(&grant.sub).await.map_err(|_| invalid())?;
    let subject = Subject {
        id: user.id.clone(),
        roles: user.roles.clone(),
        email: Some(user.email.clone()),
    };
    with_refresh(
        auth,
        client,
        &subject,
        &grant.scope,
        None,
        grant.nonce.as_deref(),
    )
    .await
}

async fn refresh_token(
    auth: &Auth,
    client: &ClientDoc,
    form: &HashMap<String, String>,
) -> crate::Result<TokenResponse> {
    let token = required(form, "refresh_token")?;
    let (old, successor) = auth.rotate_refresh(token, client).await?;
    // A narrower scope may be asked for this access token (RFC 6749 §6).
    let allowed: Vec<String> = old
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let scope = scope::resolve(form.get("scope").map(String::as_str), &allowed)?;
    let user = auth
        .user(&old.sub)
        .await
        .map_err(|_| Error::InvalidGrant("the user no longer exists".into()))?;
    let subject = Subject {
        id: user.id.clone(),
        roles: user.roles.clone(),
        email: Some(user.email.clone()),
    };
    let mut response = auth.access_token(&subject, client, &scope, None).await?;
    response.refresh_token = Some(successor);
    Ok(response)
}

/// An access token, plus a refresh token in a new family when the client may refresh.
async fn with_refresh(
    auth: &Auth,
    client: &ClientDoc,
    subject: &Subject,
    scope: &str,
    family: Option<&str>,
    nonce: Option<&str>,
) -> crate::Result<TokenResponse> {
    let mut response = auth.access_token(subject, client, scope, nonce).await?;
    if client.grant_types.iter().any(|g| g == "refresh_token") {
        response.refresh_token = Some(
            auth.issue_refresh(&client.id, &subject.id, scope, family)
                .await?,
        );
    }
    Ok(response)
}

/// POST `/oauth2/revoke` (RFC 7009): 200 whether or not the token was known.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuth> {
    let form = parse_form(&headers, &body)?;
    let client = state
        .auth
        .authenticate_client(presented(&headers, &form)?)
        .await?;
    let token = required(&form, "token")?;
    state.auth.revoke(token, &client).await?;
    Ok(no_store(&serde_json::json!({})))
}

/// POST `/oauth2/introspect` (RFC 7662); confidential clients only.
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuth> {
    let form = parse_form(&headers, &body)?;
    let client = state
        .auth
        .authenticate_client(presented(&headers, &form)?)
        .await?;
    if client.secret_hash.is_none() {
        return Err(Error::InvalidClient.into());
    }
    let token = required(&form, "token")?;
    Ok(no_store(&state.auth.introspect(token).await?))
}

/// The session cookie's value, if sent.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Appends `params` to `uri`'s query.
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

/// GET `/oauth2/authorize`: the authorization code flow with PKCE (S256 only).
///
/// The user signs in first with `POST /v1/login`, which sets the session cookie;
/// without a session the client is redirected back with `error=login_required`.
/// Consent is implicit: every client is registered by the platform's admins.
/// Problems with `client_id` or `redirect_uri` are answered here (400, RFC 6749
/// JSON), never by redirecting to an unverified URI.
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, OAuth> {
    let auth = &state.auth;
    let client_id = required(&q, "client_id")?;
    let client = auth
        .get_client(client_id)
        .await
        .map_err(|_| Error::invalid("client_id", "unknown client"))?;
    let redirect_uri = match q.get("redirect_uri") {
        Some(uri) if client.redirect_uris.contains(uri) => uri.clone(),
        Some(_) => {
            return Err(Error::invalid("redirect_uri", "not registered for this client").into());
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => return Err(Error::invalid("redirect_uri", "is required").into()),
    };
    let state_param = q.get("state").cloned();
    let back = |error: &str, description: &str| -> Response {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(s) = &state_param {
            params.push(("state", s));
        }
        Redirect::to(&with_query(&redirect_uri, &params)).into_response()
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Ok(back(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Ok(back(
            "unauthorized_client",
            "this client may not use the authorization code flow",
        ));
    }
    let challenge = q.get("code_challenge").filter(|c| valid_pkce_string(c));
    let Some(challenge) = challenge else {
        return Ok(back(
            "invalid_request",
            "code_challenge (PKCE, S256) is required",
        ));
    };
    if q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return Ok(back(
            "invalid_request",
            "code_challenge_method must be S256",
        ));
    }
    let scope = match scope::resolve(q.get("scope").map(String::as_str), &client.scopes) {
        Ok(scope) => scope,
        Err(e) => return Ok(back("invalid_scope", &e.to_string())),
    };
    let user = match session_cookie(&headers) {
        Some(cookie) => auth.session_user(&cookie).await?,
        None => None,
    };
    let Some(sub) = user else {
        return Ok(back("login_required", "sign in with POST /v1/login first"));
    };
    let code = auth
        .create_code(&CodeGrant {
            client_id: client.id.clone(),
            redirect_uri: redirect_uri.clone(),
            sub,
            scope,
            challenge: challenge.clone(),
            nonce: q.get("nonce").cloned(),
        })
        .await?;
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &state_param {
        params.push(("state", s));
    }
    let mut response = Redirect::to(&with_query(&redirect_uri, &params)).into_response();
    *response.status_mut() = StatusCode::FOUND;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_appended() {
        assert_eq!(
            with_query("https://a/cb", &[("code", "x y")]),
            "https://a/cb?code=x+y"
        );
        assert_eq!(
            with_query("https://a/cb?t=1", &[("code", "x")]),
            "https://a/cb?t=1&code=x"
        );
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; machina_auth_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
    }
}
