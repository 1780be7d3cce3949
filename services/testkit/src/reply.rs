//! A response read whole: status, headers and JSON body, with the assertions API tests make.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A response: status, headers and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as JSON, `Null` when empty or not JSON.
    pub body: Value,
}

impl Reply {
    /// Sends `request` and reads the whole response.
    pub async fn send(request: reqwest::RequestBuilder) -> Self {
        Self::read(request.send().await.expect("request sent")).await
    }

    /// Reads the whole of `response`.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body read");
        Self {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// The header `name` as text, empty when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The `content-type` header.
    pub fn content_type(&self) -> String {
        self.header("content-type")
    }

    /// Asserts the status, printing the body when it differs; returns the body.
    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        self.body
    }

    /// Asserts a problem+json error with `status`; returns the body.
    #[track_caller]
    pub fn problem(self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status.as_u16(), "{}", self.body);
        self.body
    }

    /// Asserts an OAuth 2 (RFC 6749 §5.2) error with `status` and `error` code; returns the body.
    #[track_caller]
    pub fn oauth_error(self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.content_type(), "application/json", "{}", self.body);
        assert_eq!(self.body["error"], code, "{}", self.body);
        assert!(self.body["error_description"].is_string(), "{}", self.body);
        self.body
    }
}
