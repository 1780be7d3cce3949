//! Media metrics: `machina_media_variants_total` by `cache` (`hit`, `miss`),
//! `machina_media_processing_duration_seconds`, and `machina_media_uploads_total`
//! by `outcome` (`stored`, `refused`).

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

/// One label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
}

/// One label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The service's counters, registered on its registry; cheap to clone.
#[derive(Debug, Clone)]
pub struct MediaMetrics {
    variants: Family<CacheLabels, Counter>,
    uploads: Family<OutcomeLabels, Counter>,
    processing: Histogram,
}

impl MediaMetrics {
    /// Creates the metrics and registers them on `metrics`.
    pub fn register(metrics: &Metrics) -> Self {
        let this = Self {
            variants: Family::default(),
            uploads: Family::default(),
            // 1 ms to about 30 s.
            processing: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
        };
        metrics.register(
            "media_variants",
            "Variant requests by cache outcome",
            this.variants.clone(),
        );
        metrics.register("media_uploads", "Uploads by outcome", this.uploads.clone());
        metrics.register(
            "media_processing_duration_seconds",
            "Time to decode, resize and encode one variant",
            this.processing.clone(),
        );
        this
    }

    /// Records a variant request.
    pub fn variant(&self, hit: bool) {
        let cache = if hit { "hit" } else { "miss" };
        self.variants.get_or_create(&CacheLabels { cache }).inc();
    }

    /// Records an upload's outcome.
    pub fn upload(&self, stored: bool) {
        let outcome = if stored { "stored" } else { "refused" };
        self.uploads.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Records one processing run.
    pub fn processed(&self, elapsed: Duration) {
        self.processing.observe(elapsed.as_secs_f64());
    }
}
