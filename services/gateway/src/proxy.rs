//! The proxy handler: route, authorize, rate-limit, forward with clean headers,
//! retry where safe, and stream the upstream's answer back.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, request::Parts},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use machina_kit::{ApiError, REQUEST_ID_HEADER, auth::JwtVerifier};

use crate::{
    access,
    headers::{self, Origin},
    metrics::GatewayMetrics,
    problem::GatewayError,
    ratelimit::{Decision, RateLimiter},
    retry::{self, Outcome, RetryBudget},
    routes::{Route, SharedRoutes},
};

/// The HTTP client to upstreams: pooled keep-alive HTTP/1.1 connections.
pub type UpstreamClient = Client<HttpConnector, Body>;

/// Builds the upstream client.
pub fn upstream_client() -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .build(connector)
}

/// What the proxy handler needs; shared by all requests.
#[derive(Debug)]
pub struct Proxy {
    /// The routes in force.
    pub routes: SharedRoutes,
    /// The client to upstreams.
    pub client: UpstreamClient,
    /// Verifies tokens of non-public routes.
    pub verifier: Option<JwtVerifier>,
    /// Rate limits per client, when enabled.
    pub limiter: Option<RateLimiter>,
    /// Let requests through when Redis fails.
    pub rate_limit_fail_open: bool,
    /// Retries per request at most.
    pub max_retries: u32,
    /// The shared retry budget.
    pub budget: RetryBudget,
    /// Bodies up to this size are buffered so they can be retried.
    pub retry_buffer_limit: usize,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Trusted proxies in front of the gateway.
    pub trusted_proxy_hops: usize,
    /// Metrics.
    pub metrics: GatewayMetrics,
}

/// The fallback handler: every request that is not one of the gateway's own endpoints.
pub async fn handle(
    State(proxy): State<Arc<Proxy>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let request_id = request_id(req.headers());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let (upstream, mut response) = match proxy.forward(peer, req, &request_id).await {
        Ok((route, response)) => (route, response),
        Err((route, error)) => (route, error.into_response()),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status();
    let elapsed = started.elapsed();
    proxy.metrics.request(&upstream, status.as_u16(), elapsed);
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        upstream = %upstream,
        status = status.as_u16(),
        latency_ms = elapsed.as_secs_f64() * 1e3,
        "proxied"
    );
    response
}

/// An error response and the upstream name it is counted under.
type Failure = (String, GatewayError);

/// A request body: kept in memory (replayable) or streamed once.
enum Payload {
    Replayable(Bytes),
    Streaming(Body),
}

impl Proxy {
    async fn forward(
        &self,
        peer: SocketAddr,
        req: Request,
        request_id: &str,
    ) -> Result<(String, Response), Failure> {
        let unrouted = |e: ApiError| ("unrouted".to_owned(), GatewayError::from(e));
        check_path(req.uri().path()).map_err(unrouted)?;
        let table = self.routes.current();
        let matched = table
            .find(req.uri().path())
            .ok_or_else(|| unrouted(ApiError::NotFound("no route for this path".to_owned())))?;
        let route = matched.route.clone();
        let name = route.name.clone();
        let fail = |e: GatewayError| (name.clone(), e);
        let upstream_path = route.upstream_path(matched.rest, req.uri().query());

        let (mut parts, body) = req.into_parts();
        let claims = access::authorize(
            self.verifier.as_ref(),
            &route.policy,
            &parts.method,
            &parts.headers,
        )
        .await
        .map_err(|e| fail(e.into()))?;
        let origin = headers::origin(&parts.headers, peer.ip(), self.trusted_proxy_hops);
        let decision = self
            .rate_limit(claims.as_ref().map(|c| c.sub.as_str()), &origin)
            .await
            .map_err(&fail)?;
        if let Some(refused) = decision.filter(|d| !d.allowed) {
            self.metrics.rate_limited();
            let mut response = GatewayError::RateLimited.into_response();
            refused.write_headers(response.headers_mut());
            return Ok((name, response));
        }

        let headers = &mut parts.headers;
        headers::strip_hop_by_hop(headers);
        headers::strip_claim_headers(headers);
        if let Some(claims) = &claims {
            headers::set_claim_headers(headers, claims);
        }
        headers::set_forwarded(headers, peer.ip(), &origin, self.trusted_proxy_hops);
        headers::ensure_traceparent(headers);
        if let Ok(value) = HeaderValue::from_str(request_id) {
            headers.insert(REQUEST_ID_HEADER, value);
        }
        parts.uri = route
            .upstream
            .uri(&upstream_path)
            .map_err(|e| fail(bad_gateway(&route, e.to_string())))?;
        parts.version = axum::http::Version::HTTP_11;

        let payload = self.payload(&parts.method, body).await.map_err(&fail)?;
        let mut response =
            tokio::time::timeout(route.timeout, self.exchange(&route, parts, payload))
                .await
                .map_err(|_| {
                    fail(GatewayError::Timeout {
                        upstream: name.clone(),
                    })
                })?
                .map_err(&fail)?;
        headers::strip_hop_by_hop(response.headers_mut());
        if let Some(decision) = decision {
            decision.write_headers(response.headers_mut());
        }
        Ok((name, response))
    }

    /// Counts the request against its client (token subject, else IP address).
    async fn rate_limit(
        &self,
        sub: Option<&str>,
        origin: &Origin,
    ) -> Result<Option<Decision>, GatewayError> {
        let Some(limiter) = &self.limiter else {
            return Ok(None);
        };
        let client = match sub {
            Some(sub) => format!("sub:{sub}"),
            None => format!("ip:{}", origin.client_ip),
        };
        match limiter.check(&client).await {
            Ok(decision) => Ok(Some(decision)),
            Err(err) => {
                self.metrics.rate_limit_error();
                let error = limiter.redis().unavailable(&err);
                if self.rate_limit_fail_open {
                    Ok(None)
                } else {
                    Err(error.into())
                }
            }
        }
    }

    /// Keeps small bodies of idempotent requests so they can be retried;
    /// streams everything else once, enforcing the body limit as it flows.
    async fn payload(&self, method: &Method, body: Body) -> Result<Payload, GatewayError> {
        let too_large = || {
            GatewayError::from(ApiError::PayloadTooLarge {
                limit: Some(self.body_limit),
            })
        };
        let hint = axum::body::HttpBody::size_hint(&body);
        if hint.lower() > self.body_limit as u64 {
            return Err(too_large());
        }
        if hint.exact() == Some(0) {
            return Ok(Payload::Replayable(Bytes::new()));
        }
        let small = hint
            .upper()
            .is_some_and(|n| n <= self.retry_buffer_limit as u64);
        if self.max_retries > 0 && retry::is_idempotent(method) && small {
            let limit = self.retry_buffer_limit.min(self.body_limit);
            let bytes = Limited::new(body, limit)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        too_large()
                    } else {
                        GatewayError::from(ApiError::BadRequest {
                            field: None,
                            reason: "the request body could not be read".to_owned(),
                        })
                    }
                })?
                .to_bytes();
            return Ok(Payload::Replayable(bytes));
        }
        Ok(Payload::Streaming(Body::new(Limited::new(
            body,
            self.body_limit,
        ))))
    }

    /// Sends the request, retrying idempotent ones with a replayable body.
    async fn exchange(
        &self,
        route: &Route,
        parts: Parts,
        payload: Payload,
    ) -> Result<Response, GatewayError> {
        self.budget.deposit();
        let bytes = match payload {
            Payload::Streaming(body) => {
                let req = Request::from_parts(parts, body);
                return match self.client.request(req).await {
                    Ok(response) => Ok(response.map(Body::new)),
                    Err(err) => Err(transport_error(route, &err)),
                };
            }
            Payload::Replayable(bytes) => bytes,
        };
        let mut attempt = 0;
        loop {
            let req = rebuild(&parts, bytes.clone());
            let result = self.client.request(req).await;
            let outcome = match &result {
                Ok(response) => Outcome::Status(response.status()),
                Err(err) if err.is_connect() => Outcome::ConnectError,
                Err(_) => Outcome::OtherError,
            };
            let retry = attempt < self.max_retries
                && retry::is_retryable(&parts.method, outcome)
                && self.budget.withdraw();
            if !retry {
                return match result {
                    Ok(response) => Ok(response.map(Body::new)),
                    Err(err) => Err(transport_error(route, &err)),
                };
            }
            attempt += 1;
            self.metrics.retry();
            tracing::debug!(upstream = %route.name, attempt, outcome = ?outcome, "retrying");
            tokio::time::sleep(retry::backoff(attempt)).await;
        }
    }
}

/// A fresh request with the same head and body.
fn rebuild(parts: &Parts, body: Bytes) -> Request {
    let mut req = Request::new(Body::from(body));
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    req
}

/// 413 if the client's body was too large, else 502.
fn transport_error(route: &Route, err: &hyper_util::client::legacy::Error) -> GatewayError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<LengthLimitError>() {
            return ApiError::PayloadTooLarge { limit: None }.into();
        }
        source = e.source();
    }
    bad_gateway(route, format!("{err:?}"))
}

fn bad_gateway(route: &Route, reason: String) -> GatewayError {
    GatewayError::BadGateway {
        upstream: route.name.clone(),
        reason,
    }
}

/// Refuses dot segments (also percent-encoded), so `/v1/public/../admin` cannot
/// reach a route other than the one its prefix names.
fn check_path(path: &str) -> Result<(), ApiError> {
    let dotted = path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    });
    if dotted || path.to_ascii_lowercase().contains("%2f") {
        return Err(ApiError::BadRequest {
            field: Some("path".to_owned()),
            reason: "the path must not contain . or .. segments or encoded slashes".to_owned(),
        });
    }
    Ok(())
}

/// The incoming `x-request-id` when usable (1–128 visible ASCII), else a new one.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_and_encoded_slashes_are_refused() {
        for bad in ["/v1/a/../b", "/v1/./a", "/v1/%2E%2e/x", "/v1/a%2Fb"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        for good in ["/v1/a.b/c", "/v1/...", "/"] {
            assert!(check_path(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn request_ids_are_kept_or_generated() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc"));
        assert_eq!(request_id(&h), "abc");
        h.insert(REQUEST_ID_HEADER, HeaderValue::from_static("has space"));
        assert_eq!(request_id(&h).len(), 36);
    }
}
