//! [`Config`]: the worker's own settings, read from the environment with the kit's
//! [`Vars`] (the kit's [`machina_kit::CommonConfig`] holds the shared ones: listen address,
//! limits, `MONGODB_URI`, `REDIS_URL`, `AMQP_URL`).
//!
//! | variable | default | |
//! |---|---|---|
//! | `PIPELINE_DEFINITION` | required | path of the ContentPipeline spec (YAML/JSON) |
//! | `PIPELINE_NAME` | `metadata.name` of the file, else `pipeline` | |
//! | `DEFINITION_POLL` | `5s` | how often the definition file is checked for changes |
//! | `TEMPLATES_URL` | unset | template service base URL (needed by RenderTemplate) |
//! | `TEMPLATE_REFRESH` | `10s` | how often active template versions are re-resolved |
//! | `MONGODB_DATABASE` | the URI's database, else `machina_generative` | |
//! | `CACHE_PREFIX` | empty | prefix of every Redis key |
//! | `EVENTS_EXCHANGE` | `machina.events` | topic exchange of events |
//! | `JOBS_QUEUE` | `machina.generative.<pipeline>` | durable quorum queue of jobs |
//! | `JOBS_QUEUE_PROVISIONED` | `false` | `true`: the queue, its dead-letter topology and the events exchange were provisioned (by the operator) and are only checked (passive declares), never declared |
//! | `PREFETCH` | `8` | unacknowledged jobs per worker |
//! | `MAX_DELIVERIES` | `5` | deliveries of a job before it is dead-lettered |
//! | `LLM_API_KEY` | unset | bearer token of the LLM endpoint (secret) |
//! | `LLM_FALLBACK_BASE_URL`, `LLM_FALLBACK_MODEL` | unset | fallback endpoint and model |

use crate::llm::Secret;
use machina_kit::Vars;
use std::path::PathBuf;
use std::time::Duration;

/// The generative worker's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Path of the pipeline definition.
    pub definition_path: PathBuf,
    /// Pipeline name, when the definition file has none or it must be overridden.
    pub pipeline_name: Option<String>,
    /// How often the definition file is checked for changes.
    pub definition_poll: Duration,
    /// Base URL of the template service.
    pub templates_url: Option<String>,
    /// How often the active version of unpinned templates is re-resolved.
    pub template_refresh: Duration,
    /// The pipeline's database.
    pub mongodb_database: Option<String>,
    /// Prefix of Redis keys.
    pub cache_prefix: String,
    /// Exchange of events and of Publish components without an exchange.
    pub events_exchange: String,
    /// Job queue; `machina.generative.<pipeline>` when unset.
    pub jobs_queue: Option<String>,
    /// Whether the job queue was provisioned by someone else (the operator): checked, never declared.
    pub jobs_queue_provisioned: bool,
    /// Unacknowledged jobs a worker holds.
    pub prefetch: u16,
    /// Deliveries of a job before it is dead-lettered.
    pub max_deliveries: u32,
    /// API key of the LLM endpoint.
    pub llm_api_key: Option<Secret>,
    /// Fallback LLM endpoint base URL.
    pub llm_fallback_base_url: Option<String>,
    /// Model at the fallback endpoint (the primary's model when unset).
    pub llm_fallback_model: Option<String>,
}

impl Config {
    /// The settings for the definition at `path`, everything else at its default.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            definition_path: path.into(),
            pipeline_name: None,
            definition_poll: Duration::from_secs(5),
            templates_url: None,
            template_refresh: Duration::from_secs(10),
            mongodb_database: None,
            cache_prefix: String::new(),
            events_exchange: "machina.events".to_owned(),
            jobs_queue: None,
            jobs_queue_provisioned: false,
            prefetch: 8,
            max_deliveries: 5,
            llm_api_key: None,
            llm_fallback_base_url: None,
            llm_fallback_model: None,
        }
    }

    /// Reads the settings from `vars`; errors name the variable.
    pub fn from_vars(vars: &Vars) -> machina_kit::Result<Self> {
        let defaults = Self::new(PathBuf::new());
        let url = |name: &str| {
            vars.optional_with(name, "an http:// or https:// URL", |v| {
                (v.starts_with("http://") || v.starts_with("https://")).then(|| v.to_owned())
            })
        };
        let max_deliveries: u32 = vars.or("MAX_DELIVERIES", "an integer from 1 to 100", 5)?;
        if !(1..=100).contains(&max_deliveries) {
            return Err(machina_kit::Error::InvalidVar {
                name: "MAX_DELIVERIES".to_owned(),
                expected: "an integer from 1 to 100".to_owned(),
                value: max_deliveries.to_string(),
            });
        }
        Ok(Self {
            definition_path: vars.required("PIPELINE_DEFINITION", "a file path")?,
            pipeline_name: vars.raw("PIPELINE_NAME").map(str::to_owned),
            definition_poll: vars.duration_or("DEFINITION_POLL", defaults.definition_poll)?,
            templates_url: url("TEMPLATES_URL")?,
            template_refresh: vars.duration_or("TEMPLATE_REFRESH", defaults.template_refresh)?,
            mongodb_database: vars.raw("MONGODB_DATABASE").map(str::to_owned),
            cache_prefix: vars.raw("CACHE_PREFIX").unwrap_or_default().to_owned(),
            events_exchange: vars
                .raw("EVENTS_EXCHANGE")
                .unwrap_or(&defaults.events_exchange)
                .to_owned(),
            jobs_queue: vars.raw("JOBS_QUEUE").map(str::to_owned),
            jobs_queue_provisioned: vars.or("JOBS_QUEUE_PROVISIONED", "true or false", false)?,
            prefetch: vars.or("PREFETCH", "an integer from 1 to 65535", 8)?,
            max_deliveries,
            llm_api_key: vars
                .raw("LLM_API_KEY")
                .map(|key| Secret::new(key.to_owned())),
            llm_fallback_base_url: url("LLM_FALLBACK_BASE_URL")?,
            llm_fallback_model: vars.raw("LLM_FALLBACK_MODEL").map(str::to_owned),
        })
    }

    /// The job queue of pipeline `pipeline`.
    pub fn jobs_queue_for(&self, pipeline: &str) -> String {
        self.jobs_queue
            .clone()
            .unwrap_or_else(|| format!("machina.generative.{pipeline}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_defaults_and_values() {
        let vars = Vars::from_pairs([
            ("PIPELINE_DEFINITION", "/etc/pipeline/definition.yaml"),
            ("PREFETCH", "4"),
            ("TEMPLATE_REFRESH", "2s"),
            ("LLM_API_KEY", "sk-1"),
        ]);
        let config = Config::from_vars(&vars).expect("valid");
        assert_eq!(config.prefetch, 4);
        assert_eq!(config.max_deliveries, 5);
        assert_eq!(config.template_refresh, Duration::from_secs(2));
        assert_eq!(config.events_exchange, "machina.events");
        assert_eq!(config.jobs_queue_for("copy"), "machina.generative.copy");
        assert_eq!(
            format!("{:?}", config.llm_api_key),
            "Some(Secret([REDACTED]))"
        );
    }

    #[test]
    fn errors_name_the_variable() {
        let err = Config::from_vars(&Vars::default()).expect_err("missing");
        assert!(err.to_string().contains("PIPELINE_DEFINITION"), "{err}");
        let vars = Vars::from_pairs([("PIPELINE_DEFINITION", "/p"), ("MAX_DELIVERIES", "0")]);
        let err = Config::from_vars(&vars).expect_err("invalid");
        assert!(err.to_string().contains("MAX_DELIVERIES"), "{err}");
        let vars = Vars::from_pairs([("PIPELINE_DEFINITION", "/p"), ("TEMPLATES_URL", "nope")]);
        let err = Config::from_vars(&vars).expect_err("invalid");
        assert!(err.to_string().contains("TEMPLATES_URL"), "{err}");
    }
}
