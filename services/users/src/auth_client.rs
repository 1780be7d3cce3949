//! [`AuthClient`]: the calls this service makes to the auth service (`AUTH_URL`).
//!
//! Passwords only pass through: registration and password changes are forwarded, and
//! nothing here stores or logs them. Erasure deletes the credentials in auth with the
//! caller's own bearer token (auth checks its own permissions).

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// How long a call to auth may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A client of the auth service.
#[derive(Debug, Clone)]
pub struct AuthClient {
    http: reqwest::Client,
    base: String,
}

/// What auth answered to a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// New credentials with this subject id.
    Created(String),
    /// The email already has credentials.
    EmailTaken,
}

/// A response forwarded as is (status and problem+json body).
#[derive(Debug, Clone)]
pub struct Forwarded {
    /// Auth's status.
    pub status: StatusCode,
    /// Auth's body, when it had one.
    pub body: Option<Value>,
}

/// What auth did when asked to delete a user's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsDeletion {
    /// Deleted (or there were none): auth answered 204.
    Deleted,
    /// Auth refused the caller's token (401/403); its problem detail.
    Refused(String),
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoggedIn {
    user_id: String,
}

impl AuthClient {
    /// A client of the auth service at `base` (no trailing slash).
    pub fn new(base: impl Into<String>) -> Result<Self> {
        let http = machina_kit::hosts::apply(reqwest::Client::builder())
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::internal)?;
        Ok(Self {
            http,
            base: base.into(),
        })
    }

    /// `POST /v1/users`: creates credentials.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        forwarded_for: Option<&str>,
    ) -> Result<Registered> {
        let mut request = self
            .http
            .post(format!("{}/v1/users", self.base))
            .json(&json!({"email": email, "password": password}));
        if let Some(ip) = forwarded_for {
            request = request.header("x-forwarded-for", ip);
        }
        let response = request.send().await.map_err(unreachable)?;
        match response.status() {
            StatusCode::CREATED => {
                let created: Created = response.json().await.map_err(unreachable)?;
                Ok(Registered::Created(created.id))
            }
            StatusCode::CONFLICT => Ok(Registered::EmailTaken),
            status if status.is_client_error() => Err(refused(status, response).await),
            status => Err(Error::unavailable(format!(
                "auth answered {status} to a registration"
            ))),
        }
    }

    /// `POST /v1/login`: the subject id of `email` if `password` is right, else `None`.
    /// Used to resume a registration whose profile insert failed earlier.
    pub async fn verify(
        &self,
        email: &str,
        password: &str,
        forwarded_for: Option<&str>,
    ) -> Result<Option<String>> {
        let mut request = self
            .http
            .post(format!("{}/v1/login", self.base))
            .json(&json!({"email": email, "password": password}));
        if let Some(ip) = forwarded_for {
            request = request.header("x-forwarded-for", ip);
        }
        let response = request.send().await.map_err(unreachable)?;
        match response.status() {
            StatusCode::OK => {
                let body: LoggedIn = response.json().await.map_err(unreachable)?;
                Ok(Some(body.user_id))
            }
            StatusCode::TOO_MANY_REQUESTS => {
                Err(refused(StatusCode::TOO_MANY_REQUESTS, response).await)
            }
            status if status.is_client_error() => Ok(None),
            status => Err(Error::unavailable(format!(
                "auth answered {status} to a login"
            ))),
        }
    }

    /// `PUT /v1/users/me/password` with the caller's bearer token; auth's answer is forwarded.
    pub async fn change_password(
        &self,
        authorization: &str,
        body: &Value,
        forwarded_for: Option<&str>,
    ) -> Result<Forwarded> {
        let mut request = self
            .http
            .put(format!("{}/v1/users/me/password", self.base))
            .header("authorization", authorization)
            .json(body);
        if let Some(ip) = forwarded_for {
            request = request.header("x-forwarded-for", ip);
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        if status.is_server_error() {
            return Err(Error::unavailable(format!(
                "auth answered {status} to a password change"
            )));
        }
        let bytes = response.bytes().await.map_err(unreachable)?;
        Ok(Forwarded {
            status,
            body: serde_json::from_slice(&bytes).ok(),
        })
    }

    /// Deletes credentials with the caller's bearer token: the caller's own
    /// (`DELETE /v1/users/me`) when `other` is `None`, else user `other`'s through
    /// auth's admin API (`DELETE /v1/admin/users/{id}`). Both are idempotent in auth.
    pub async fn delete_credentials(
        &self,
        authorization: &str,
        other: Option<&str>,
    ) -> Result<CredentialsDeletion> {
        let url = match other {
            None => format!("{}/v1/users/me", self.base),
            Some(id) => format!("{}/v1/admin/users/{}", self.base, urlencoding(id)),
        };
        let response = self
            .http
            .delete(url)
            .header("authorization", authorization)
            .send()
            .await
            .map_err(unreachable)?;
        match response.status() {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(CredentialsDeletion::Deleted),
            status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let detail = body["detail"].as_str().unwrap_or("refused").to_owned();
                Ok(CredentialsDeletion::Refused(format!(
                    "auth answered {status}: {detail}"
                )))
            }
            status => Err(Error::unavailable(format!(
                "auth answered {status} to a credentials deletion"
            ))),
        }
    }
}

/// Percent-encodes a path segment. Ids reaching here belong to stored profiles (auth's
/// UUIDs); encoding keeps `/` and `?` from ever changing the path.
fn urlencoding(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn unreachable(err: reqwest::Error) -> Error {
    Error::unavailable(format!("auth: {err}"))
}

/// Auth refused the input: its problem's detail and field, under our status mapping.
async fn refused(status: StatusCode, response: reqwest::Response) -> Error {
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let detail = body["detail"]
        .as_str()
        .unwrap_or("refused by auth")
        .to_owned();
    let field = body["field"].as_str().map(str::to_owned);
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            Error::Api(machina_kit::ApiError::Unprocessable {
                field: field.or_else(|| Some("password".to_owned())),
                reason: detail,
            })
        }
        StatusCode::TOO_MANY_REQUESTS => {
            Error::unavailable(format!("auth is throttling: {detail}"))
        }
        _ => Error::unavailable(format!("auth answered {status}: {detail}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(urlencoding("3f2a-b_c~e"), "3f2a-b_c~e");
        assert_eq!(urlencoding("a/y?z"), "a%2Fy%3Fz");
    }
}
