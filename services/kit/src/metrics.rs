//! Prometheus metrics: the HTTP request metrics every service exposes, the
//! dependency error counter, and a registry services add their own metrics to.
//!
//! All names carry the `machina_` prefix. `/metrics` serves the registry in the
//! OpenMetrics text format, which Prometheus scrapes natively.

use std::{
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use axum::http::{Method, StatusCode};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::{Metric, Registry},
};

/// Labels of the HTTP request metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    /// Request method (`OTHER` for non-standard ones, to bound cardinality).
    method: &'static str,
    /// Route template such as `/templates/{id}`, or `unmatched`.
    route: String,
    /// Status class: `2xx`, `4xx`, ...
    status: String,
}

/// Labels of the dependency error counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DependencyLabels {
    /// `mongodb`, `redis`, `rabbitmq`, ...
    dependency: String,
}

type HistogramFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

/// The process's metrics; cheap to clone (all clones share one registry).
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<RwLock<Registry>>,
    requests: Family<HttpLabels, Counter>,
    durations: HistogramFamily,
    dependency_errors: Family<DependencyLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Latency buckets from 5 ms to about 10 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

impl Metrics {
    /// A fresh registry with the kit's metrics registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("machina");
        let requests = Family::<HttpLabels, Counter>::default();
        let durations: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let dependency_errors = Family::<DependencyLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests handled", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            durations.clone(),
        );
        registry.register(
            "dependency_errors",
            "Failed calls to a backing service",
            dependency_errors.clone(),
        );
        Self {
            registry: Arc::new(RwLock::new(registry)),
            requests,
            durations,
            dependency_errors,
        }
    }

    /// Registers a service-specific metric (its name gets the `machina_` prefix).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.registry
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .register(name, help, metric);
    }

    /// Counts one failed call to `dependency` (`mongodb`, `redis`, `rabbitmq`, ...).
    pub fn dependency_error(&self, dependency: &str) {
        self.dependency_errors
            .get_or_create(&DependencyLabels {
                dependency: dependency.to_owned(),
            })
            .inc();
    }

    /// Records one handled request.
    pub(crate) fn observe_request(
        &self,
        method: &Method,
        route: &str,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let labels = HttpLabels {
            method: method_label(method),
            route: route.to_owned(),
            status: format!("{}xx", status.as_u16() / 100),
        };
        self.requests.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Renders every metric in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.read().unwrap_or_else(PoisonError::into_inner);
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!(error = %err, "failed to encode metrics");
        }
        out
    }
}

fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .copied()
        .find(|m| *m == method.as_str())
        .unwrap_or("OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_by_route_and_class() {
        let metrics = Metrics::new();
        metrics.observe_request(
            &Method::GET,
            "/items/{id}",
            StatusCode::NOT_FOUND,
            Duration::from_millis(3),
        );
        metrics.dependency_error("redis");
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"machina_http_requests_total{method="GET",route="/items/{id}",status="4xx"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"machina_dependency_errors_total{dependency="redis"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("machina_http_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
