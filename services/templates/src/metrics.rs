//! Render metrics: `machina_template_renders_total` and
//! `machina_template_render_duration_seconds`, both by `outcome`.

use std::time::Duration;

use machina_kit::Metrics;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
};

/// Labels of the render metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    /// `ok`, `input_invalid`, `fuel_exhausted`, `recursion_limit`, ...
    outcome: String,
}

type HistogramFamily = Family<OutcomeLabels, Histogram, fn() -> Histogram>;

/// Render counters, registered on the service's registry; cheap to clone.
#[derive(Debug, Clone)]
pub struct RenderMetrics {
    renders: Family<OutcomeLabels, Counter>,
    durations: HistogramFamily,
}

/// 100 µs to about 3 s.
fn render_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl RenderMetrics {
    /// Creates the metrics and registers them on `metrics`.
    pub fn register(metrics: &Metrics) -> Self {
        let renders = Family::<OutcomeLabels, Counter>::default();
        let durations: HistogramFamily = Family::new_with_constructor(render_histogram);
        metrics.register(
            "template_renders",
            "Template renders by outcome",
            renders.clone(),
        );
        metrics.register(
            "template_render_duration_seconds",
            "Time spent rendering (engine only) by outcome",
            durations.clone(),
        );
        Self { renders, durations }
    }

    /// Records one render.
    pub fn observe(&self, outcome: &str, elapsed: Duration) {
        let labels = OutcomeLabels {
            outcome: outcome.to_owned(),
        };
        self.renders.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }
}
