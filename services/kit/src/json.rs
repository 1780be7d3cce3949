//! [`ApiJson`]: a JSON extractor whose rejections are [`ApiError`]s.
//!
//! axum's own `Json` rejects with plain-text bodies; this one answers with the
//! same problem+json shape as every other error: malformed JSON is a 400 with
//! serde's line and column, well-formed JSON of the wrong shape a 422 naming
//! the field (a JSON path such as `items[2].name`).

use axum::{
    body::Bytes,
    extract::{FromRequest, Request, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::error::Category;

use crate::ApiError;

/// Extracts (and, as a response, serialises) a JSON body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "expected a request body with content-type application/json".to_owned(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(from_bytes_rejection)?;
        decode(&bytes).map(ApiJson)
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Deserialises `bytes` as `T`, mapping failures like [`ApiJson`] does.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(from_serde)?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn from_bytes_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge { limit: None }
    } else {
        ApiError::BadRequest {
            field: None,
            reason: rejection.body_text(),
        }
    }
}

fn malformed(err: &serde_json::Error) -> ApiError {
    ApiError::BadRequest {
        field: None,
        reason: format!("malformed JSON: {err}"),
    }
}

fn from_serde(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.classify() != Category::Data {
        return malformed(&inner);
    }
    let message = inner.to_string();
    // serde reports a missing field at its parent; name the field itself.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let field = match (path.as_str(), missing) {
        (".", Some(name)) => Some(name.to_owned()),
        (parent, Some(name)) => Some(format!("{parent}.{name}")),
        (".", None) => None,
        (path, None) => Some(path.to_owned()),
    };
    ApiError::Unprocessable {
        field,
        reason: message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        tags: Vec<u32>,
    }

    #[test]
    fn syntax_error_is_400_with_position() {
        let err = decode::<Item>(b"{\"name\": ").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_path() {
        let err = decode::<Item>(br#"{"name": "a", "tags": [1, "x"]}"#).unwrap_err();
        assert!(
            matches!(&err, ApiError::Unprocessable { field: Some(f), .. } if f == "tags[1]"),
            "{err:?}"
        );
    }

    #[test]
    fn missing_field_is_named() {
        let err = decode::<Item>(br#"{"tags": []}"#).unwrap_err();
        assert!(
            matches!(&err, ApiError::Unprocessable { field: Some(f), .. } if f == "name"),
            "{err:?}"
        );
    }

    #[test]
    fn trailing_garbage_is_malformed() {
        let err = decode::<Item>(br#"{"name": "a", "tags": []} x"#).unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}
