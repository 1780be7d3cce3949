//! The template service as the Template controller sees it: a small trait
//! ([`TemplateService`]) so tests substitute a fake, and [`HttpTemplateService`], the
//! real client of its REST API (`PUT /v1/templates/{name}`, `activate`, `DELETE`).

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A template version as `PUT` and `activate` report it (`WriteResult` of the service).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    /// Name in the service.
    pub name: String,
    /// The version written (or found with the same content, or activated).
    pub version: i64,
    /// The version clients render now.
    pub active_version: i64,
    /// The newest stored version.
    pub latest_version: i64,
    /// SHA-256 of `version`'s source.
    pub checksum: String,
    /// Whether the `PUT` stored a new version.
    #[serde(default)]
    pub created: bool,
}

/// One problem of a template (`errors[]` of a 422 problem).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct TemplateProblem {
    /// The stored template the problem is in (the root or a dependency).
    #[serde(default)]
    pub template: Option<String>,
    /// 1-based line; 0 when the problem has no position.
    #[serde(default)]
    pub line: i64,
    /// 1-based column, when known.
    #[serde(default)]
    pub column: Option<i64>,
    /// What is wrong.
    #[serde(default)]
    pub message: String,
}

/// The body of `PUT /v1/templates/{name}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateBody {
    /// `Text`, `Html`, `Markdown` or `Json`.
    pub format: machina_crds::template::TemplateFormat,
    /// The source.
    pub source: String,
    /// Shown to content authors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the render context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<serde_json::Value>,
    /// Context rendered at registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_context: Option<serde_json::Value>,
    /// Sandbox limits.
    pub limits: machina_crds::template::TemplateLimits,
    /// Service name of the extended template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Service names of the included templates.
    pub includes: Vec<String>,
}

/// Why a call to the template service failed.
#[derive(Debug, thiserror::Error)]
pub enum TemplateServiceError {
    /// The service cannot be reached or answered 5xx (transient: retried with backoff).
    #[error("template service {url} unavailable: {reason}")]
    Unavailable {
        /// Base URL of the service.
        url: String,
        /// The transport error or status.
        reason: String,
    },
    /// The template does not compile or its schema/sample is invalid (422).
    #[error("template {name} is invalid ({code})")]
    Invalid {
        /// Name in the service.
        name: String,
        /// Problem code (`compile_error`, `dependency_missing`, …).
        code: String,
        /// The problems, with positions.
        problems: Vec<TemplateProblem>,
    },
    /// The version to activate does not exist (404 on activate).
    #[error("template {name} has no version {version}")]
    VersionNotFound {
        /// Name in the service.
        name: String,
        /// The version asked for.
        version: i64,
    },
    /// The service refused the request for another reason (4xx).
    #[error("template service refused {action} of {name}: {status} {detail}")]
    Rejected {
        /// `register`, `activate`, `retire`.
        action: &'static str,
        /// Name in the service.
        name: String,
        /// HTTP status.
        status: u16,
        /// The problem's detail.
        detail: String,
    },
}

impl TemplateServiceError {
    /// Short, stable name of the variant, used as a metric label.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } => "TemplateServiceUnavailable",
            Self::Invalid { .. } => "InvalidTemplate",
            Self::VersionNotFound { .. } => "VersionNotFound",
            Self::Rejected { .. } => "TemplateRejected",
        }
    }
}

/// The template service of a Platform, addressed by its base URL.
#[async_trait]
pub trait TemplateService: Send + Sync {
    /// `PUT /v1/templates/{name}`: a new active version, or the stored one with the same content.
    async fn register(
        &self,
        base_url: &str,
        name: &str,
        body: &TemplateBody,
    ) -> Result<Registered, TemplateServiceError>;
    /// `POST /v1/templates/{name}/activate`.
    async fn activate(
        &self,
        base_url: &str,
        name: &str,
        version: i64,
    ) -> Result<Registered, TemplateServiceError>;
    /// `DELETE /v1/templates/{name}` (idempotent: unknown or retired is success).
    async fn retire(&self, base_url: &str, name: &str) -> Result<(), TemplateServiceError>;
}

/// The real client (one connection pool for every Platform).
#[derive(Clone, Debug)]
pub struct HttpTemplateService {
    http: reqwest::Client,
}

impl Default for HttpTemplateService {
    fn default() -> Self {
        // Outside a cluster without DNS (devcluster) names resolve through MACHINA_HOSTS_FILE.
        let http = machina_hosts::apply(reqwest::Client::builder())
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self { http }
    }
}

/// A problem+json body, as far as the operator reads it.
#[derive(Debug, Default, Deserialize)]
struct Problem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    errors: Vec<TemplateProblem>,
}

impl HttpTemplateService {
    async fn send(
        &self,
        method: Method,
        url: &str,
        base_url: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(StatusCode, Vec<u8>), TemplateServiceError> {
        let unavailable = |reason: String| TemplateServiceError::Unavailable {
            url: base_url.to_owned(),
            reason,
        };
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if status.is_server_error() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        Ok((status, bytes.to_vec()))
    }
}

fn url(base_url: &str, name: &str, suffix: &str) -> String {
    format!(
        "{}/v1/templates/{name}{suffix}",
        base_url.trim_end_matches('/')
    )
}

fn decode(bytes: &[u8], base_url: &str) -> Result<Registered, TemplateServiceError> {
    serde_json::from_slice(bytes).map_err(|e| TemplateServiceError::Unavailable {
        url: base_url.to_owned(),
        reason: format!("unexpected response: {e}"),
    })
}

fn rejected(
    action: &'static str,
    name: &str,
    status: StatusCode,
    bytes: &[u8],
) -> TemplateServiceError {
    let problem: Problem = serde_json::from_slice(bytes).unwrap_or_default();
    if status == StatusCode::UNPROCESSABLE_ENTITY {
        return TemplateServiceError::Invalid {
            name: name.to_owned(),
            code: problem.code,
            problems: problem.errors,
        };
    }
    TemplateServiceError::Rejected {
        action,
        name: name.to_owned(),
        status: status.as_u16(),
        detail: problem.detail,
    }
}

#[async_trait]
impl TemplateService for HttpTemplateService {
    async fn register(
        &self,
        base_url: &str,
        name: &str,
        body: &TemplateBody,
    ) -> Result<Registered, TemplateServiceError> {
        let json = serde_json::to_value(body).unwrap_or_default();
        let (status, bytes) = self
            .send(Method::PUT, &url(base_url, name, ""), base_url, Some(json))
            .await?;
        if status.is_success() {
            decode(&bytes, base_url)
        } else {
            Err(rejected("register", name, status, &bytes))
        }
    }

    async fn activate(
        &self,
        base_url: &str,
        name: &str,
        version: i64,
    ) -> Result<Registered, TemplateServiceError> {
        let json = serde_json::json!({ "version": version });
        let (status, bytes) = self
            .send(
                Method::POST,
                &url(base_url, name, "/activate"),
                base_url,
                Some(json),
            )
            .await?;
        if status.is_success() {
            decode(&bytes, base_url)
        } else if status == StatusCode::NOT_FOUND {
            Err(TemplateServiceError::VersionNotFound {
                name: name.to_owned(),
                version,
            })
        } else {
            Err(rejected("activate", name, status, &bytes))
        }
    }

    async fn retire(&self, base_url: &str, name: &str) -> Result<(), TemplateServiceError> {
        let (status, bytes) = self
            .send(Method::DELETE, &url(base_url, name, ""), base_url, None)
            .await?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(rejected("retire", name, status, &bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    //! The HTTP client against a fake template service on port 0 (the service's own
    //! status codes and problem bodies).
    use super::*;
    use axum::Json;
    use axum::extract::Path;
    use axum::http::StatusCode as Code;
    use axum::routing::{post, put};
    use serde_json::{Value, json};

    async fn fake() -> String {
        let app = axum::Router::new()
            .route(
                "/v1/templates/{name}",
                put(
                    |Path(name): Path<String>, Json(body): Json<Value>| async move {
                        if body["source"] == "{% if %}" {
                            return (
                                Code::UNPROCESSABLE_ENTITY,
                                Json(json!({"code": "compile_error", "status": 422,
                                "errors": [{"template": name, "line": 1, "column": 4,
                                            "message": "unexpected end"}]})),
                            );
                        }
                        (
                            Code::OK,
                            Json(json!({"name": name, "version": 2, "activeVersion": 3,
                            "latestVersion": 3, "checksum": "c2", "contentChecksum": "x",
                            "format": "Text", "created": false})),
                        )
                    },
                )
                .delete(|| async { Code::NO_CONTENT }),
            )
            .route(
                "/v1/templates/{name}/activate",
                post(|Json(body): Json<Value>| async move {
                    if body["version"] == 9 {
                        return (Code::NOT_FOUND, Json(json!({"code": "not_found"})));
                    }
                    (
                        Code::SERVICE_UNAVAILABLE,
                        Json(json!({"code": "unavailable"})),
                    )
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn body(source: &str) -> TemplateBody {
        TemplateBody {
            format: machina_crds::template::TemplateFormat::Text,
            source: source.into(),
            description: None,
            input_schema: None,
            sample_context: None,
            limits: Default::default(),
            extends: None,
            includes: Vec::new(),
        }
    }

    #[tokio::test]
    async fn maps_the_service_answers() {
        let url = fake().await;
        let client = HttpTemplateService::default();
        let found = client
            .register(&url, "shop.a", &body("hi"))
            .await
            .expect("registered");
        assert_eq!(
            (found.version, found.active_version, found.created),
            (2, 3, false)
        );
        match client.register(&url, "shop.a", &body("{% if %}")).await {
            Err(TemplateServiceError::Invalid { code, problems, .. }) => {
                assert_eq!(code, "compile_error");
                assert_eq!((problems[0].line, problems[0].column), (1, Some(4)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            client.activate(&url, "shop.a", 9).await,
            Err(TemplateServiceError::VersionNotFound { version: 9, .. })
        ));
        assert!(matches!(
            client.activate(&url, "shop.a", 1).await,
            Err(TemplateServiceError::Unavailable { .. })
        ));
        client.retire(&url, "shop.a").await.expect("retired");
        assert!(matches!(
            client.retire("http://127.0.0.1:9", "shop.a").await,
            Err(TemplateServiceError::Unavailable { .. })
        ));
    }
}
