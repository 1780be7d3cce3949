//! The gateway's Prometheus metrics (prefixed `machina_gateway_`).

use std::time::Duration;

use machina_kit::Metrics;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    upstream: String,
    status: String,
}

type Latency = Family<UpstreamLabels, Histogram, fn() -> Histogram>;

fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

/// Counters and histograms of proxied requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct GatewayMetrics {
    requests: Family<UpstreamLabels, Counter>,
    durations: Latency,
    retries: Counter,
    rate_limited: Counter,
    rate_limit_errors: Counter,
    pipelines: Gauge,
}

impl GatewayMetrics {
    /// Registers the gateway's metrics in `registry`.
    pub fn new(registry: &Metrics) -> Self {
        let this = Self {
            requests: Family::default(),
            durations: Family::new_with_constructor(latency),
            retries: Counter::default(),
            rate_limited: Counter::default(),
            rate_limit_errors: Counter::default(),
            pipelines: Gauge::default(),
        };
        registry.register(
            "gateway_requests",
            "Requests by upstream and status class",
            this.requests.clone(),
        );
        registry.register(
            "gateway_request_duration_seconds",
            "Latency by upstream, gateway included",
            this.durations.clone(),
        );
        registry.register(
            "gateway_retries",
            "Upstream attempts repeated",
            this.retries.clone(),
        );
        registry.register(
            "gateway_rate_limited",
            "Requests refused by rate limits",
            this.rate_limited.clone(),
        );
        registry.register(
            "gateway_rate_limit_errors",
            "Rate-limit checks that could not reach Redis",
            this.rate_limit_errors.clone(),
        );
        registry.register(
            "gateway_pipelines",
            "ContentPipelines routed",
            this.pipelines.clone(),
        );
        this
    }

    /// Records one finished request.
    pub fn request(&self, upstream: &str, status: u16, elapsed: Duration) {
        let labels = UpstreamLabels {
            upstream: upstream.to_owned(),
            status: format!("{}xx", status / 100),
        };
        self.requests.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Records one retry.
    pub fn retry(&self) {
        self.retries.inc();
    }

    /// Records one 429.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// Records one rate-limit check lost to a Redis failure.
    pub fn rate_limit_error(&self) {
        self.rate_limit_errors.inc();
    }

    /// Sets the number of routed pipelines.
    pub fn pipelines(&self, count: usize) {
        self.pipelines.set(i64::try_from(count).unwrap_or(i64::MAX));
    }
}
