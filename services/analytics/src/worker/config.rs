//! [`WorkerConfig`]: what the operator's pod spec gives the worker
//! (`operator/src/analytics_job/builders.rs`: `JOB_NAME`, `JOB_MODE`, `JOB_SPEC`,
//! `MONGODB_URI`, `MONGODB_DATABASE`, `OUTPUT_COLLECTION`, `AMQP_URL`,
//! `EVENTS_EXCHANGE`), plus optional tuning.
//!
//! | variable                | default                 | meaning |
//! |-------------------------|-------------------------|---------|
//! | `JOB_QUEUE`             | user name of `AMQP_URL` | the job's queue (the operator names queue and user `machina.aj.<ns>.<name>`) |
//! | `WORKER_BATCH`          | `500`                   | events per batch (and prefetch) |
//! | `WORKER_FLUSH_INTERVAL` | `1s`                    | longest a partial batch waits |
//! | `SCHEDULED_LOOKBACK`    | `24h`                   | range of a Scheduled job's first run |

use crate::rollup::Job;
use machina_crds::analytics_job::AnalyticsJobSpec;
use machina_kit::{Error, Result, Vars};
use std::time::Duration;

/// How the worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerMode {
    /// Consume the job's queue until stopped.
    Streaming,
    /// Aggregate stored events once and exit.
    Scheduled,
}

/// The worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The AnalyticsJob's name.
    pub job_name: String,
    /// Mode.
    pub mode: WorkerMode,
    /// The job.
    pub job: Job,
    /// The analytics database.
    pub database: String,
    /// Rollup collection.
    pub output_collection: String,
    /// Events exchange (the queue is bound to it by the operator).
    pub exchange: String,
    /// The job's queue.
    pub queue: String,
    /// Events per batch.
    pub batch: u16,
    /// Longest a partial batch waits.
    pub flush_interval: Duration,
    /// Range of the first Scheduled run.
    pub lookback: Duration,
    /// Test hook: fail a batch after staging, before the rollups (a crash there).
    #[doc(hidden)]
    pub crash_after_staging: bool,
}

fn invalid(name: &str, expected: &str, value: &str) -> Error {
    Error::InvalidVar {
        name: name.into(),
        expected: expected.into(),
        value: value.chars().take(200).collect(),
    }
}

impl WorkerConfig {
    /// Reads the settings from `vars`.
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let mode = match vars
            .required::<String>("JOB_MODE", "Streaming or Scheduled")?
            .as_str()
        {
            "Streaming" => WorkerMode::Streaming,
            "Scheduled" => WorkerMode::Scheduled,
            other => return Err(invalid("JOB_MODE", "Streaming or Scheduled", other)),
        };
        let raw_spec: String = vars.required("JOB_SPEC", "the AnalyticsJob spec as JSON")?;
        let spec: AnalyticsJobSpec =
            serde_json::from_str(&raw_spec).map_err(|e| Error::InvalidVar {
                name: "JOB_SPEC".into(),
                expected: format!("the AnalyticsJob spec as JSON ({e})"),
                value: raw_spec.chars().take(200).collect(),
            })?;
        let queue = match vars.raw("JOB_QUEUE") {
            Some(q) => q.to_owned(),
            None => vars
                .raw("AMQP_URL")
                .and_then(amqp_user)
                .ok_or_else(|| Error::MissingVar {
                    name: "JOB_QUEUE".into(),
                })?,
        };
        Ok(Self {
            job_name: vars.required("JOB_NAME", "the AnalyticsJob name")?,
            mode,
            job: Job::new(spec),
            database: vars.required("MONGODB_DATABASE", "a database name")?,
            output_collection: vars.required("OUTPUT_COLLECTION", "a collection name")?,
            exchange: vars.or(
                "EVENTS_EXCHANGE",
                "an exchange name",
                "machina.events".to_owned(),
            )?,
            queue,
            batch: vars
                .or("WORKER_BATCH", "an integer from 1 to 65535", 500u16)?
                .max(1),
            flush_interval: vars.duration_or("WORKER_FLUSH_INTERVAL", Duration::from_secs(1))?,
            lookback: vars.duration_or("SCHEDULED_LOOKBACK", Duration::from_secs(86_400))?,
            crash_after_staging: false,
        })
    }
}

/// The (percent-decoded) user name of an AMQP URL.
fn amqp_user(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let user = userinfo.split(':').next()?;
    let bytes = user.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|u| !u.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(extra: &[(&str, &str)]) -> Vars {
        let mut pairs = vec![
            ("JOB_NAME", "engagement"),
            ("JOB_MODE", "Streaming"),
            (
                "JOB_SPEC",
                r#"{"platformRef":{"name":"acme"},"source":{"eventTypes":["page.*"]},"metrics":[{"name":"views","type":"Count"}]}"#,
            ),
            ("MONGODB_DATABASE", "acme_analytics"),
            ("OUTPUT_COLLECTION", "rollups_engagement"),
            (
                "AMQP_URL",
                "amqp://machina.aj.shop.engagement:s%40cret@rabbit:5672/shop.acme",
            ),
        ];
        pairs.extend_from_slice(extra);
        Vars::from_pairs(pairs)
    }

    #[test]
    fn reads_the_operator_environment() {
        let c = WorkerConfig::from_vars(&vars(&[])).expect("config");
        assert_eq!(c.queue, "machina.aj.shop.engagement");
        assert_eq!(c.mode, WorkerMode::Streaming);
        assert_eq!(c.job.spec.metrics[0].name, "views");
        assert_eq!(c.exchange, "machina.events");
        let c = WorkerConfig::from_vars(&vars(&[("JOB_QUEUE", "q")])).expect("config");
        assert_eq!(c.queue, "q");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = WorkerConfig::from_vars(&vars(&[("JOB_MODE", "Batch")])).expect_err("mode");
        assert!(err.to_string().contains("JOB_MODE"));
        let err = WorkerConfig::from_vars(&vars(&[("JOB_SPEC", "{}")])).expect_err("spec");
        assert!(err.to_string().contains("JOB_SPEC"));
        assert_eq!(amqp_user("amqp://a%2Eb:p@h/v").as_deref(), Some("a.b"));
        assert_eq!(amqp_user("amqp://h/v"), None);
    }
}
