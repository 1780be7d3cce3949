//! The HTTP surface.
//!
//! - [`wellknown`]: discovery document and JWKS.
//! - [`oauth`]: `/oauth2/token`, `/oauth2/authorize`, `/oauth2/revoke`, `/oauth2/introspect`
//!   (RFC 6749 error bodies).
//! - [`users`]: registration, login session, password change, deleting one's own
//!   account (problem+json).
//! - [`admin`]: clients, roles, user roles, user deletion, key rotation; needs the
//!   admin permission.

pub mod admin;
pub mod oauth;
pub mod users;
pub mod wellknown;

use std::{collections::HashMap, sync::Arc};

use axum::{
    Router,
    http::{HeaderMap, header},
    middleware::from_fn_with_state,
    routing::{delete, get, post, put},
};
use machina_kit::{ApiError, auth::JwtVerifier};

use crate::{Error, Result, service::Auth};

/// What every handler gets.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The operations.
    pub auth: Arc<Auth>,
    /// Permission the admin API requires.
    pub admin_permission: Arc<str>,
}

/// The service's routes; `verifier` guards the user and admin APIs.
pub fn router(state: AppState, verifier: JwtVerifier) -> Router {
    let guarded = Router::new()
        .route("/v1/users/me", get(users::me).delete(users::delete_me))
        .route("/v1/users/me/password", put(users::change_password))
        .route(
            "/v1/admin/clients",
            post(admin::create_client).get(admin::list_clients),
        )
        .route(
            "/v1/admin/clients/{id}",
            get(admin::get_client).delete(admin::delete_client),
        )
        .route("/v1/admin/roles", get(admin::list_roles))
        .route(
            "/v1/admin/roles/{name}",
            put(admin::put_role).delete(admin::delete_role),
        )
        .route("/v1/admin/users/{id}", delete(admin::delete_user))
        .route("/v1/admin/users/{id}/roles", put(admin::set_user_roles))
        .route("/v1/admin/keys/rotate", post(admin::rotate_keys))
        .route_layer(from_fn_with_state(verifier, machina_kit::auth::require_jwt));
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(wellknown::discovery),
        )
        .route("/.well-known/jwks.json", get(wellknown::jwks))
        .route(
            "/openapi.json",
            get(|| async { axum::Json(crate::openapi::document()) }),
        )
        .route("/oauth2/token", post(oauth::token))
        .route("/oauth2/authorize", get(oauth::authorize))
        .route("/oauth2/revoke", post(oauth::revoke))
        .route("/oauth2/introspect", post(oauth::introspect))
        .route("/v1/users", post(users::register))
        .route("/v1/login", post(users::login))
        .route("/v1/logout", post(users::logout))
        .merge(guarded)
        .with_state(state)
}

/// Parses an `application/x-www-form-urlencoded` body; a repeated parameter is
/// an error (RFC 6749 §3.1), and so is any other media type.
pub fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(ApiError::UnsupportedMediaType(
            "expected a body with content-type application/x-www-form-urlencoded".into(),
        )
        .into());
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| Error::invalid("body", "not a valid form-urlencoded body"))?;
    let mut form = HashMap::new();
    for (k, v) in pairs {
        if form.insert(k.clone(), v).is_some() {
            return Err(Error::invalid(&k, "repeated parameter"));
        }
    }
    Ok(form)
}

/// A required, non-empty form parameter.
pub fn required<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::invalid(name, "is required"))
}

/// The client's address for throttling: the last `X-Forwarded-For` hop (the one
/// the gateway added), else `unknown`.
pub fn client_ip(headers: &HeaderMap) -> String {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .filter(|ip| {
            !ip.is_empty()
                && ip.len() <= 64
                && ip
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
        })
        .unwrap_or("unknown")
        .to_owned()
}

/// Refuses with 403 unless the token grants `permission`.
pub fn require_permission(claims: &machina_kit::auth::Claims, permission: &str) -> Result<()> {
    let granted = claims
        .extra
        .get("permissions")
        .and_then(|p| p.as_array())
        .is_some_and(|p| p.iter().any(|v| v.as_str() == Some(permission)));
    if granted {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("the token lacks the {permission} permission")).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        h
    }

    #[test]
    fn forms_parse_and_refuse_repeats() {
        let form = parse_form(&form_headers(), b"grant_type=password&username=a%40b.c").unwrap();
        assert_eq!(form["username"], "a@b.c");
        let err = parse_form(&form_headers(), b"scope=a&scope=b").unwrap_err();
        assert!(err.to_string().contains("scope"), "{err}");
        assert!(parse_form(&HeaderMap::new(), b"a=b").is_err());
    }

    #[test]
    fn client_ip_takes_the_last_hop() {
        let mut h = HeaderMap::new();
        assert_eq!(client_ip(&h), "unknown");
        h.insert("x-forwarded-for", "1.2.3.4, 10.0.0.7".parse().unwrap());
        assert_eq!(client_ip(&h), "10.0.0.7");
        h.insert("x-forwarded-for", "evil key*".parse().unwrap());
        assert_eq!(client_ip(&h), "unknown");
    }
}
