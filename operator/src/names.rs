//! Names of every object the operator owns, in one place.
//!
//! Object names used as Service names and label values must be DNS-1123 labels of at most
//! 63 characters (CronJobs at most 52, as their Jobs add a suffix). A name that would be
//! longer is truncated and ends with 8 hex digits of the SHA-256 of the full name, so two
//! long names with a common prefix still differ and the result is stable across reconciles.

use sha2::{Digest, Sha256};

/// Longest DNS-1123 label (Service names, label values).
pub const MAX_LABEL: usize = 63;

/// Longest CronJob name: the Jobs it creates append 11 characters.
pub const MAX_CRONJOB: usize = 52;

/// Hex digits of the hash appended to a truncated name.
const HASH_LEN: usize = 8;

/// `name` itself when it fits in `max` characters, else a truncated prefix and a hash.
pub fn bounded(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let hash = format!("{:x}", Sha256::digest(name.as_bytes()));
    // Names are ASCII (DNS-1123), so byte and char boundaries agree; be safe anyway.
    let mut cut = max.saturating_sub(HASH_LEN + 1);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let prefix = name[..cut].trim_end_matches(['-', '.']);
    format!("{prefix}-{}", &hash[..HASH_LEN])
}

fn join(parts: &[&str]) -> String {
    bounded(&parts.join("-"), MAX_LABEL)
}

// === Platform ===

/// Deployment, Service and PodDisruptionBudget of a shared service: `<platform>-<service>`.
pub fn shared_service(platform: &str, service: &str) -> String {
    join(&[platform, service])
}

/// Secret with a shared service's connection strings, written by the Platform reconciler
/// from the backends the Platform references: `<platform>-<service>-connection`.
pub fn service_connection_secret(platform: &str, service: &str) -> String {
    join(&[platform, service, "connection"])
}

// === ContentPipeline ===

/// Deployment, Service and PodDisruptionBudget of a pipeline's worker: `<pipeline>`.
pub fn pipeline_worker(pipeline: &str) -> String {
    bounded(pipeline, MAX_LABEL)
}

/// ConfigMap with the pipeline definition: `<pipeline>-definition`.
pub fn pipeline_definition(pipeline: &str) -> String {
    join(&[pipeline, "definition"])
}

/// Deployment, Service and Secret of a pipeline's Redis: `<pipeline>-redis`.
pub fn pipeline_redis(pipeline: &str) -> String {
    join(&[pipeline, "redis"])
}

/// Secret with the pipeline's MongoDB user: `<pipeline>-mongodb`.
pub fn pipeline_mongodb_secret(pipeline: &str) -> String {
    join(&[pipeline, "mongodb"])
}

/// Secret with the pipeline's RabbitMQ user: `<pipeline>-rabbitmq`.
pub fn pipeline_rabbitmq_secret(pipeline: &str) -> String {
    join(&[pipeline, "rabbitmq"])
}

// === AnalyticsJob ===
//
// Suffixed with `analytics` so that an AnalyticsJob and a ContentPipeline of the same name
// in one namespace never claim the same Secret.

/// Deployment (Streaming) of an AnalyticsJob: `<job>-analytics`.
pub fn analytics_worker(job: &str) -> String {
    join(&[job, "analytics"])
}

/// CronJob (Scheduled) of an AnalyticsJob: `<job>-analytics`, at most 52 characters.
pub fn analytics_cronjob(job: &str) -> String {
    bounded(&format!("{job}-analytics"), MAX_CRONJOB)
}

/// Secret with the job's MongoDB user: `<job>-analytics-mongodb`.
pub fn analytics_mongodb_secret(job: &str) -> String {
    join(&[job, "analytics", "mongodb"])
}

/// Secret with the job's RabbitMQ user: `<job>-analytics-rabbitmq`.
pub fn analytics_rabbitmq_secret(job: &str) -> String {
    join(&[job, "analytics", "rabbitmq"])
}

/// Name of a Template in its Platform's template service: `<namespace>.<name>` (a DNS-1123
/// subdomain, as the service requires; namespaces sharing a Platform never collide).
pub fn template_service_name(namespace: &str, template: &str) -> String {
    format!("{namespace}.{template}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(shared_service("acme", "gateway"), "acme-gateway");
        assert_eq!(pipeline_redis("product-copy"), "product-copy-redis");
        assert_eq!(
            analytics_mongodb_secret("engagement"),
            "engagement-analytics-mongodb"
        );
    }

    #[test]
    fn long_names_are_truncated_with_a_stable_hash() {
        let long = "a".repeat(60);
        let name = pipeline_definition(&long);
        assert_eq!(name.len(), MAX_LABEL);
        assert_eq!(name, pipeline_definition(&long));
        assert!(name.starts_with("aaaa"));
        assert_ne!(name, pipeline_redis(&long));
        let other = pipeline_definition(&format!("{}b", "a".repeat(59)));
        assert_ne!(name, other);
    }

    #[test]
    fn truncation_never_leaves_a_dash_before_the_hash() {
        let name = bounded(&format!("{}-{}", "a".repeat(53), "b".repeat(20)), MAX_LABEL);
        assert!(!name.contains("--"), "{name}");
        assert!(name.len() <= MAX_LABEL);
    }

    #[test]
    fn cronjob_names_fit_in_52() {
        let name = analytics_cronjob(&"j".repeat(50));
        assert!(name.len() <= MAX_CRONJOB, "{name}");
        assert_eq!(analytics_cronjob("daily"), "daily-analytics");
    }
}
