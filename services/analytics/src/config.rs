//! [`Config`]: the analytics service's own settings (besides the kit's `CommonConfig`).
//!
//! | variable                | default                   | meaning |
//! |-------------------------|---------------------------|---------|
//! | `MONGODB_DATABASE`      | `machina_analytics`       | database of `events` (and of job rollups) |
//! | `EVENTS_EXCHANGE`       | `machina.events`          | durable topic exchange events are published to |
//! | `MAX_BATCH_EVENTS`      | `500`                     | most events in one batch request |
//! | `MAX_EVENT_BYTES`       | `32KiB`                   | largest single event |
//! | `MAX_FUTURE_SKEW`       | `5m`                      | how far ahead of the server clock a timestamp may be (clamped) |
//! | `MAX_EVENT_AGE`         | `168h`                    | older timestamps are refused |
//! | `EVENTS_RETENTION_DAYS` | `90`                      | TTL of raw events (on `receivedAt`) |
//! | `STORE_CONSUMER`        | `true`                    | whether `serve` also moves events into MongoDB |
//! | `STORE_QUEUE`           | `machina.analytics.store` | durable quorum queue of that consumer, bound with `#` |
//! | `STORE_BATCH`           | `500`                     | events written per MongoDB round trip (also the prefetch) |
//! | `REPORT_MAX_EVENTS`     | `1000000`                 | most events one report may scan (else 422) |
//! | `REPORT_PUSHDOWN`       | `true`                    | count/unique time series by aggregation pipeline |
//! | `PUBLISH_CHANNELS`      | `4`                       | confirm channels the ingestion API publishes on |
//! | `PUBLISH_PACK`          | `false`                   | one message per event type of a request (a JSON array) instead of one per event |

use crate::event::Limits;
use machina_kit::{Result, Vars};
use std::time::Duration;

/// Settings of `serve` and `store`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Database of the `events` collection.
    pub database: String,
    /// Topic exchange events are published to.
    pub events_exchange: String,
    /// Most events in one batch.
    pub max_batch: usize,
    /// What one event may be.
    pub limits: Limits,
    /// Days raw events are kept.
    pub retention_days: u32,
    /// Whether `serve` runs the store consumer.
    pub store_consumer: bool,
    /// Queue of the store consumer.
    pub store_queue: String,
    /// Events per MongoDB write (and prefetch) of the store consumer.
    pub store_batch: u16,
    /// Most events one report scans.
    pub report_max_events: usize,
    /// Whether unfiltered count/unique time series run as aggregation pipelines.
    pub report_pushdown: bool,
    /// Confirm channels of the publisher (requests spread over them).
    pub publish_channels: usize,
    /// Whether a request's events of one type travel as one message (a JSON array).
    pub publish_pack: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database: "machina_analytics".into(),
            events_exchange: "machina.events".into(),
            max_batch: 500,
            limits: Limits::default(),
            retention_days: 90,
            store_consumer: true,
            store_queue: "machina.analytics.store".into(),
            store_batch: 500,
            report_max_events: 1_000_000,
            report_pushdown: true,
            publish_channels: crate::amqp::publisher::DEFAULT_CHANNELS,
            publish_pack: false,
        }
    }
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Config {
    /// Reads the settings from `vars`.
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let d = Self::default();
        let count = "a positive integer";
        let limits = Limits {
            max_future_skew: chrono(vars.duration_or("MAX_FUTURE_SKEW", Duration::from_secs(300))?),
            max_age: chrono(vars.duration_or("MAX_EVENT_AGE", Duration::from_secs(7 * 86_400))?),
            max_event_bytes: vars.bytes_or("MAX_EVENT_BYTES", d.limits.max_event_bytes)?,
        };
        Ok(Self {
            database: vars.or("MONGODB_DATABASE", "a database name", d.database)?,
            events_exchange: vars.or("EVENTS_EXCHANGE", "an exchange name", d.events_exchange)?,
            max_batch: positive(
                vars.or("MAX_BATCH_EVENTS", count, d.max_batch)?,
                "MAX_BATCH_EVENTS",
            )?,
            limits,
            retention_days: vars
                .or("EVENTS_RETENTION_DAYS", count, d.retention_days)?
                .max(1),
            store_consumer: vars.or("STORE_CONSUMER", "true or false", d.store_consumer)?,
            store_queue: vars.or("STORE_QUEUE", "a queue name", d.store_queue)?,
            store_batch: vars
                .or("STORE_BATCH", "an integer from 1 to 65535", d.store_batch)?
                .max(1),
            report_max_events: vars.or("REPORT_MAX_EVENTS", count, d.report_max_events)?,
            report_pushdown: vars.or("REPORT_PUSHDOWN", "true or false", d.report_pushdown)?,
            publish_channels: positive(
                vars.or("PUBLISH_CHANNELS", count, d.publish_channels)?,
                "PUBLISH_CHANNELS",
            )?,
            publish_pack: vars.or("PUBLISH_PACK", "true or false", d.publish_pack)?,
        })
    }
}

fn positive(n: usize, name: &str) -> Result<usize> {
    if n == 0 {
        return Err(machina_kit::Error::InvalidVar {
            name: name.into(),
            expected: "a positive integer".into(),
            value: "0".into(),
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_vars(&Vars::from_pairs([
            ("MAX_BATCH_EVENTS", "10"),
            ("MAX_FUTURE_SKEW", "1m"),
        ]))
        .expect("config");
        assert_eq!(c.max_batch, 10);
        assert_eq!(c.limits.max_future_skew, chrono::Duration::minutes(1));
        assert_eq!(c.database, "machina_analytics");
        let err =
            Config::from_vars(&Vars::from_pairs([("MAX_BATCH_EVENTS", "0")])).expect_err("zero");
        assert!(err.to_string().contains("MAX_BATCH_EVENTS"));
        assert!(Config::from_vars(&Vars::from_pairs([("STORE_CONSUMER", "maybe")])).is_err());
    }
}
