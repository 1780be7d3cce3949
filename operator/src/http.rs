//! The operator's HTTP server: `/metrics` (Prometheus text format), `/healthz` (the process
//! serves) and `/readyz` (watchers synced, or standing by for the leader Lease).
//!
//! [`serve`] takes an already-bound listener, so tests bind port 0.

use crate::context::Diagnostics;
use crate::metrics::Metrics;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
struct AppState {
    metrics: Metrics,
    diagnostics: Arc<Diagnostics>,
}

/// The router of the operator's endpoints.
pub fn router(metrics: Metrics, diagnostics: Arc<Diagnostics>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(AppState {
            metrics,
            diagnostics,
        })
}

async fn metrics_handler(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "failed to encode metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.diagnostics.is_ready() {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// Serves the endpoints on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    diagnostics: Arc<Diagnostics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(metrics, diagnostics))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        let code = response[9..12].parse().expect("status code");
        (code, response)
    }

    #[tokio::test]
    async fn health_readiness_and_metrics() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let metrics = Metrics::default();
        drop(metrics.reconcile("contentpipeline"));
        let diagnostics = Arc::new(Diagnostics::default());
        tokio::spawn(serve(
            listener,
            metrics,
            diagnostics.clone(),
            std::future::pending(),
        ));
        assert_eq!(get(addr, "/healthz").await.0, 200);
        assert_eq!(get(addr, "/readyz").await.0, 503);
        diagnostics.set_ready(true);
        assert_eq!(get(addr, "/readyz").await.0, 200);
        let (code, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(
            body.contains("machina_operator_reconciliations_total"),
            "{body}"
        );
    }
}
