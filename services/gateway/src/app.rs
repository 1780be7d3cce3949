//! [`Gateway`]: wires the configuration into a router and serves it.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, http::HeaderName, routing::get};
use machina_kit::{App, Redis, shutdown_signal};
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, Any, CorsLayer},
};

use crate::{
    GatewayConfig, discovery,
    error::Result,
    metrics::GatewayMetrics,
    openapi::{self, OpenApi},
    proxy::{self, Proxy},
    ratelimit::RateLimiter,
    retry::RetryBudget,
    routes::SharedRoutes,
};

/// The gateway, ready to serve.
#[derive(Debug)]
pub struct Gateway {
    router: Router,
    routes: SharedRoutes,
    listen_addr: SocketAddr,
    shutdown_grace: Duration,
}

impl Gateway {
    /// Builds the router; starts ContentPipeline discovery when configured.
    pub async fn build(config: GatewayConfig) -> Result<Self> {
        let metrics = GatewayMetrics::new(&config.metrics);
        let routes = SharedRoutes::new(
            config.routes.clone(),
            config.static_pipelines.clone(),
            config.pipeline_defaults.clone(),
        );
        metrics.pipelines(routes.current().pipeline_count());
        let limiter = match (&config.common.redis_url, config.rate_limit_per_minute) {
            (Some(url), Some(limit)) => {
                let redis = Redis::connect(url, config.metrics.clone())?;
                Some(RateLimiter::new(
                    redis,
                    config.rate_limit_prefix.clone(),
                    limit,
                    Duration::from_secs(60),
                ))
            }
            (None, Some(_)) => {
                tracing::warn!("REDIS_URL is not set: rate limiting is off");
                None
            }
            _ => None,
        };
        if let Some(namespaces) = config.discovery.clone() {
            let client = kube::Client::try_default().await?;
            tokio::spawn(discovery::run(
                client,
                namespaces,
                config.pipeline_platform.clone(),
                routes.clone(),
                metrics.clone(),
            ));
        }
        let proxy = Arc::new(Proxy {
            routes: routes.clone(),
            client: proxy::upstream_client(),
            verifier: config.verifier.clone(),
            limiter: limiter.clone(),
            rate_limit_fail_open: config.rate_limit_fail_open,
            max_retries: config.max_retries,
            budget: RetryBudget::new(config.retry_budget_ratio, config.retry_min_per_second),
            retry_buffer_limit: config.retry_buffer_limit,
            body_limit: config.common.body_limit,
            trusted_proxy_hops: config.trusted_proxy_hops,
            metrics,
        });
        let openapi = OpenApi::new(routes.clone(), config.openapi_refresh);
        let own = Router::new()
            .route("/openapi.json", get(openapi::handler))
            .with_state(openapi);
        let mut app = App::new(&config.common, own).with_metrics(config.metrics.clone());
        if let Some(limiter) = &limiter {
            app = app.readiness_check(limiter.redis().readiness_check());
        }
        // The proxy gets its own middleware: the kit's would rewrite upstream
        // error bodies into problem+json and cut streams at REQUEST_TIMEOUT.
        let proxied = Router::new()
            .fallback(proxy::handle)
            .with_state(proxy)
            .layer(CatchPanicLayer::new());
        let mut router = app.into_router().fallback_service(proxied);
        if let Some(cors) = cors(&config) {
            router = router.layer(cors);
        }
        Ok(Self {
            router,
            routes,
            listen_addr: config.common.listen_addr,
            shutdown_grace: config.common.shutdown_grace,
        })
    }

    /// The routes in force (tests add pipelines through it).
    pub fn routes(&self) -> &SharedRoutes {
        &self.routes
    }

    /// Binds `LISTEN_ADDR` and serves until SIGTERM or ctrl-c.
    pub async fn run(self) -> Result<()> {
        let (listener, addr) = machina_kit::bind(self.listen_addr).await?;
        tracing::info!(addr = %addr, "listening");
        self.serve(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `shutdown`, then lets in-flight requests
    /// finish for at most the grace period.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Ok(machina_kit::serve_router(listener, self.router, shutdown, self.shutdown_grace).await?)
    }
}

/// The CORS layer from `CORS_ALLOWED_ORIGINS`; none when no origin is listed.
fn cors(config: &GatewayConfig) -> Option<CorsLayer> {
    if config.cors_allowed_origins.is_empty() {
        return None;
    }
    let origins = if config.cors_allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::from(Any)
    } else {
        AllowOrigin::list(
            config
                .cors_allowed_origins
                .iter()
                .filter_map(|o| o.parse().ok()),
        )
    };
    let exposed = [
        "x-request-id",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "ratelimit-policy",
        "retry-after",
    ]
    .map(HeaderName::from_static);
    let layer = CorsLayer::new()
        .allow_origin(origins)
        .allow_methods(tower_http::cors::AllowMethods::mirror_request())
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
        .expose_headers(exposed)
        .max_age(Duration::from_secs(600))
        .allow_credentials(config.cors_allow_credentials);
    Some(layer)
}
