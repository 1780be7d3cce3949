//! [`App`]: wraps a service's router with everything every service needs and
//! serves it on a listener it is given (tests bind `127.0.0.1:0`).

mod middleware;
mod routes;
mod shutdown;

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::{
    Router, extract::DefaultBodyLimit, middleware::from_fn_with_state, serve::ListenerExt as _,
};
use tokio::net::TcpListener;
use tower_http::{catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer};

pub use middleware::{REQUEST_ID_HEADER, RequestId};
pub use shutdown::shutdown_signal;

use crate::{CommonConfig, Error, Metrics, Readiness, ReadinessCheck, Result};

/// A service's router plus the kit's endpoints and middleware.
///
/// ```no_run
/// # async fn run() -> machina_kit::Result<()> {
/// use machina_kit::{App, CommonConfig};
/// let config = CommonConfig::from_env("example")?;
/// let router = axum::Router::new().route("/hello", axum::routing::get(|| async { "hi" }));
/// App::new(&config, router).run().await
/// # }
/// ```
#[derive(Debug)]
pub struct App {
    router: Router,
    readiness: Readiness,
    metrics: Metrics,
    listen_addr: SocketAddr,
    body_limit: usize,
    request_timeout: Duration,
    shutdown_grace: Duration,
}

impl App {
    /// Wraps `router` (state already applied) with the limits from `config`.
    pub fn new(config: &CommonConfig, router: Router) -> Self {
        Self {
            router,
            readiness: Readiness::default(),
            metrics: Metrics::new(),
            listen_addr: config.listen_addr,
            body_limit: config.body_limit,
            request_timeout: config.request_timeout,
            shutdown_grace: config.shutdown_grace,
        }
    }

    /// Adds a check that `/readyz` runs.
    pub fn readiness_check(mut self, check: impl ReadinessCheck + 'static) -> Self {
        self.readiness.add(check);
        self
    }

    /// Sets how long one readiness check may take (default 2 s).
    pub fn readiness_timeout(mut self, timeout: Duration) -> Self {
        self.readiness.set_timeout(timeout);
        self
    }

    /// Uses `metrics` (e.g. one shared with connection helpers) instead of a fresh registry.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The registry `/metrics` serves; clone it into connection helpers.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Overrides the body limit from the config.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Overrides the request timeout from the config.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Overrides the shutdown grace period from the config.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The complete router: service routes, ops endpoints and middleware.
    pub fn into_router(self) -> Router {
        // `Router::layer` wraps each route, so the last layer added runs first.
        self.router
            .merge(routes::ops_router(self.readiness, self.metrics.clone()))
            .layer(DefaultBodyLimit::max(self.body_limit))
            .layer(RequestBodyLimitLayer::new(self.body_limit))
            .layer(from_fn_with_state(
                self.request_timeout,
                middleware::timeout,
            ))
            .layer(CatchPanicLayer::custom(middleware::panic_response))
            .layer(from_fn_with_state(self.body_limit, middleware::problemize))
            .layer(from_fn_with_state(self.metrics, middleware::observe))
    }

    /// Binds `LISTEN_ADDR` and serves until SIGTERM or ctrl-c.
    pub async fn run(self) -> Result<()> {
        let (listener, addr) = bind(self.listen_addr).await?;
        tracing::info!(addr = %addr, "listening");
        self.serve(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `shutdown` completes, then lets in-flight
    /// requests finish for at most the grace period.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let grace = self.shutdown_grace;
        serve_router(listener, self.into_router(), shutdown, grace).await
    }
}

/// Binds `addr` (port 0 picks a free port) and returns the listener with the bound address.
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;
    Ok((listener, bound))
}

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish for at most `grace`. Handlers may extract `ConnectInfo<SocketAddr>`; sockets get
/// `TCP_NODELAY` so small answers never wait for Nagle's algorithm.
pub async fn serve_router<F>(
    listener: TcpListener,
    router: Router,
    shutdown: F,
    grace: Duration,
) -> Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!(
            grace_ms = grace.as_millis(),
            "shutting down; finishing in-flight requests"
        );
        let _ = signalled_tx.send(());
    };
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
    });
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, service)
        .with_graceful_shutdown(signal)
        .into_future();
    let deadline = async move {
        match signalled_rx.await {
            Ok(()) => tokio::time::sleep(grace).await,
            // The server ended without a signal; let it report.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        served = server => {
            tracing::info!("stopped");
            served.map_err(Error::Serve)
        }
        () = deadline => {
            tracing::warn!("grace period elapsed with requests still in flight; stopping");
            Ok(())
        }
    }
}
