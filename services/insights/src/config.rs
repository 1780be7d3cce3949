//! [`Config`]: the insights service's settings, read from the environment.
//!
//! | variable                | default                  | meaning |
//! |-------------------------|--------------------------|---------|
//! | `MONGODB_URI`           | required                 | where the analytics service stores raw events |
//! | `MONGODB_DATABASE`      | `machina_analytics`      | database holding the events |
//! | `EVENTS_COLLECTION`     | `events`                 | the raw events collection |
//! | `REDIS_URL`             | required                 | where results are cached |
//! | `INSIGHTS_REDIS_PREFIX` | `machina:insights`       | prefix of every Redis key |
//! | `INSIGHTS_ADMIN_TOKEN`  | unset                    | bearer token for `POST /v1/insights/recompute` |
//! | `JWT_*`                 | unset                    | or a JWT with scope `insights:admin` (see the kit) |
//! | `RECOMPUTE_INTERVAL`    | `15m`                    | full recompute schedule (trends, anomalies, and the safety net of the incremental model); `0` turns it off |
//! | `INCREMENTAL_INTERVAL`  | `1m`                     | incremental step schedule (recommendations only); `0` turns it off |
//! | `INCREMENTAL_GRACE`     | `5m`                     | each step re-reads this far before the watermark, for events stored late |
//! | `HOT_CACHE_TTL`         | `2s`                     | lifetime of an in-process list body; `0` turns the cache off |
//! | `HOT_CACHE_ENTRIES`     | `100000`                 | most bodies held in process |
//! | `RECOMPUTE_ON_START`    | `true`                   | compute at start when Redis holds no results |
//! | `CACHE_TTL`             | `24h`                    | lifetime of one generation of results |
//! | `GENERATION_POLL`       | `5s`                     | how often replicas look for a newer generation |
//! | `INSIGHTS_LOOKBACK`     | `672h` (28 days)         | how far back events are read |
//! | `EVENT_WEIGHTS`         | `item.viewed=1,item.added_to_cart=3,item.purchased=5,*=1` | weight per event type; `*` is the default |
//! | `TREND_RECENT`          | `24h`                    | recent window |
//! | `TREND_BASELINE`        | `168h`                   | baseline window before it |
//! | `TREND_MIN_RECENT`      | `10`                     | minimum recent events to test a subject |
//! | `TREND_FDR`             | `0.01`                   | Benjamini–Hochberg false discovery rate |
//! | `ANOMALY_THRESHOLD`     | `3.5`                    | robust z cut-off |
//! | `ANOMALY_REPORT_WINDOW` | `168h`                   | anomalies older than this are not reported |
//! | `REC_LIST_LEN`          | `50`                     | precomputed list length, the largest `k` |
//! | `REC_NEIGHBOURS`        | `50`                     | neighbours kept per item |
//! | `REC_HALF_LIFE`         | `720h`                   | interaction half-life; `0` turns decay off |
//! | `REC_MMR_LAMBDA`        | `0.8`                    | relevance vs diversity (1 = relevance only) |
//! | `REC_MAX_PER_CATEGORY`  | unset                    | cap per `properties.category` in one list |
//!
//! plus everything [`CommonConfig`] reads (`LISTEN_ADDR`, `BODY_LIMIT`, ...).

use std::time::Duration;

use machina_kit::{CommonConfig, Error, Secret, Vars, auth::JwtVerifier};

use crate::algo::{anomalies::AnomalyParams, recs::RecParams, trends::TrendParams};
use crate::compute::{ComputeParams, EventWeights};
use crate::service::StepParams;

/// Everything the insights service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address, logging, limits.
    pub common: CommonConfig,
    /// MongoDB connection string (`MONGODB_URI`).
    pub mongodb_uri: Secret<String>,
    /// Database of the raw events (`MONGODB_DATABASE`).
    pub database: String,
    /// Collection of the raw events (`EVENTS_COLLECTION`).
    pub collection: String,
    /// Redis URL (`REDIS_URL`).
    pub redis_url: Secret<String>,
    /// Prefix of every Redis key (`INSIGHTS_REDIS_PREFIX`).
    pub redis_prefix: String,
    /// Static admin bearer token (`INSIGHTS_ADMIN_TOKEN`).
    pub admin_token: Option<Secret<String>>,
    /// JWT verifier for admin tokens, when `JWT_*` is configured.
    pub jwt: Option<JwtVerifier>,
    /// Time between scheduled recomputes; `None` when off (`RECOMPUTE_INTERVAL=0`).
    pub recompute_interval: Option<Duration>,
    /// Time between incremental steps; `None` when off (`INCREMENTAL_INTERVAL=0`).
    pub incremental_interval: Option<Duration>,
    /// Incremental settings (`INCREMENTAL_GRACE`).
    pub step: StepParams,
    /// Lifetime of an in-process list body (`HOT_CACHE_TTL`).
    pub hot_ttl: Duration,
    /// Most bodies held in process (`HOT_CACHE_ENTRIES`).
    pub hot_entries: usize,
    /// Compute at start when no results are cached (`RECOMPUTE_ON_START`).
    pub recompute_on_start: bool,
    /// Lifetime of a generation's keys (`CACHE_TTL`).
    pub cache_ttl: Duration,
    /// How often the current generation is re-read from Redis (`GENERATION_POLL`).
    pub generation_poll: Duration,
    /// Algorithm settings.
    pub params: ComputeParams,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> machina_kit::Result<Self> {
        Self::from_vars(&Vars::from_env())
    }

    /// Reads the configuration from `vars`.
    pub fn from_vars(vars: &Vars) -> machina_kit::Result<Self> {
        let common = CommonConfig::from_vars(vars, "insights")?;
        let mongodb_uri = common
            .mongodb_uri
            .clone()
            .ok_or_else(|| missing("MONGODB_URI"))?;
        let redis_url = common
            .redis_url
            .clone()
            .ok_or_else(|| missing("REDIS_URL"))?;
        let jwt = JwtVerifier::from_vars(vars, machina_kit::Metrics::new())?;
        let interval = vars.duration_or("RECOMPUTE_INTERVAL", Duration::from_secs(15 * 60))?;
        let incremental = vars.duration_or("INCREMENTAL_INTERVAL", Duration::from_secs(60))?;
        Ok(Self {
            mongodb_uri,
            redis_url,
            database: text(vars, "MONGODB_DATABASE", "machina_analytics"),
            collection: text(vars, "EVENTS_COLLECTION", "events"),
            redis_prefix: text(vars, "INSIGHTS_REDIS_PREFIX", "machina:insights"),
            admin_token: vars
                .raw("INSIGHTS_ADMIN_TOKEN")
                .map(|t| Secret::new(t.to_owned())),
            jwt,
            recompute_interval: (!interval.is_zero()).then_some(interval),
            incremental_interval: (!incremental.is_zero()).then_some(incremental),
            step: StepParams {
                grace_ms: millis(
                    vars.duration_or("INCREMENTAL_GRACE", Duration::from_secs(5 * 60))?,
                ),
            },
            hot_ttl: vars.duration_or("HOT_CACHE_TTL", Duration::from_secs(2))?,
            hot_entries: vars.or("HOT_CACHE_ENTRIES", "a non-negative integer", 100_000)?,
            recompute_on_start: vars.or("RECOMPUTE_ON_START", "true or false", true)?,
            cache_ttl: at_least(vars, "CACHE_TTL", Duration::from_secs(24 * 3600), 1)?,
            generation_poll: at_least(vars, "GENERATION_POLL", Duration::from_secs(5), 0)?,
            params: params(vars)?,
            common,
        })
    }
}

fn params(vars: &Vars) -> machina_kit::Result<ComputeParams> {
    let hour = 3600;
    let lookback = at_least(
        vars,
        "INSIGHTS_LOOKBACK",
        Duration::from_secs(672 * hour),
        3600,
    )?;
    let trend_defaults = TrendParams::default();
    let trends = TrendParams {
        recent_ms: millis(at_least(
            vars,
            "TREND_RECENT",
            Duration::from_secs(24 * hour),
            1,
        )?),
        baseline_ms: millis(at_least(
            vars,
            "TREND_BASELINE",
            Duration::from_secs(168 * hour),
            1,
        )?),
        min_recent: vars.or(
            "TREND_MIN_RECENT",
            "a non-negative integer",
            trend_defaults.min_recent,
        )?,
        min_total: vars.or(
            "TREND_MIN_TOTAL",
            "a non-negative integer",
            trend_defaults.min_total,
        )?,
        fdr: fraction(vars, "TREND_FDR", trend_defaults.fdr)?,
        max_results: trend_defaults.max_results,
    };
    let anomalies = AnomalyParams {
        threshold: positive(vars, "ANOMALY_THRESHOLD", 3.5)?,
        ..AnomalyParams::default()
    };
    let rec_defaults = RecParams::default();
    let half_life = vars.duration_or("REC_HALF_LIFE", Duration::from_secs(720 * hour))?;
    let recs = RecParams {
        list_len: count(vars, "REC_LIST_LEN", rec_defaults.list_len)?,
        neighbours: count(vars, "REC_NEIGHBOURS", rec_defaults.neighbours)?,
        half_life_ms: (!half_life.is_zero()).then(|| millis(half_life)),
        mmr_lambda: fraction(vars, "REC_MMR_LAMBDA", rec_defaults.mmr_lambda)?,
        max_per_category: vars
            .optional::<usize>("REC_MAX_PER_CATEGORY", "a positive integer")?
            .filter(|&n| n > 0),
        ..rec_defaults
    };
    let weights = vars.optional_with(
        "EVENT_WEIGHTS",
        "type=weight pairs such as item.viewed=1,item.purchased=5,*=0",
        EventWeights::parse,
    )?;
    Ok(ComputeParams {
        lookback_ms: millis(lookback),
        anomaly_report_ms: millis(at_least(
            vars,
            "ANOMALY_REPORT_WINDOW",
            Duration::from_secs(168 * hour),
            3600,
        )?),
        trends,
        anomalies,
        recs,
        weights: weights.unwrap_or_default(),
    })
}

fn missing(name: &str) -> Error {
    Error::MissingVar {
        name: name.to_owned(),
    }
}

fn invalid(vars: &Vars, name: &str, expected: &str) -> Error {
    Error::InvalidVar {
        name: name.to_owned(),
        expected: expected.to_owned(),
        value: vars.raw(name).unwrap_or_default().to_owned(),
    }
}

fn text(vars: &Vars, name: &str, default: &str) -> String {
    vars.raw(name).unwrap_or(default).to_owned()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A duration of at least `min_secs` seconds.
fn at_least(
    vars: &Vars,
    name: &str,
    default: Duration,
    min_secs: u64,
) -> machina_kit::Result<Duration> {
    let d = vars.duration_or(name, default)?;
    if d < Duration::from_secs(min_secs) {
        return Err(invalid(
            vars,
            name,
            &format!("a duration of at least {min_secs}s"),
        ));
    }
    Ok(d)
}

fn count(vars: &Vars, name: &str, default: usize) -> machina_kit::Result<usize> {
    let n = vars.or(name, "an integer from 1 to 1000", default)?;
    if !(1..=1000).contains(&n) {
        return Err(invalid(vars, name, "an integer from 1 to 1000"));
    }
    Ok(n)
}

fn fraction(vars: &Vars, name: &str, default: f64) -> machina_kit::Result<f64> {
    let x: f64 = vars.or(name, "a number between 0 and 1", default)?;
    if !(0.0..=1.0).contains(&x) {
        return Err(invalid(vars, name, "a number between 0 and 1"));
    }
    Ok(x)
}

fn positive(vars: &Vars, name: &str, default: f64) -> machina_kit::Result<f64> {
    let x: f64 = vars.or(name, "a positive number", default)?;
    if !(x.is_finite() && x > 0.0) {
        return Err(invalid(vars, name, "a positive number"));
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("MONGODB_URI", "mongodb://localhost"),
            ("REDIS_URL", "redis://localhost"),
        ]
    }

    fn with(extra: &[(&'static str, &'static str)]) -> machina_kit::Result<Config> {
        let mut pairs = base();
        pairs.extend_from_slice(extra);
        Config::from_vars(&Vars::from_pairs(pairs))
    }

    #[test]
    fn defaults() {
        let c = with(&[]).unwrap();
        assert_eq!(c.database, "machina_analytics");
        assert_eq!(c.collection, "events");
        assert_eq!(c.recompute_interval, Some(Duration::from_secs(900)));
        assert_eq!(c.incremental_interval, Some(Duration::from_secs(60)));
        assert_eq!(c.step.grace_ms, 300_000);
        assert_eq!(c.hot_ttl, Duration::from_secs(2));
        assert_eq!(c.params.recs.list_len, 50);
        assert_eq!(c.params.weights.weight("item.purchased"), Some(5.0));
        assert!(c.admin_token.is_none() && c.jwt.is_none());
    }

    #[test]
    fn required_urls_are_named() {
        let err = Config::from_vars(&Vars::default()).unwrap_err();
        assert!(err.to_string().contains("MONGODB_URI"), "{err}");
        let err =
            Config::from_vars(&Vars::from_pairs([("MONGODB_URI", "mongodb://x")])).unwrap_err();
        assert!(err.to_string().contains("REDIS_URL"), "{err}");
    }

    #[test]
    fn zero_interval_turns_the_schedule_off() {
        let c = with(&[
            ("RECOMPUTE_INTERVAL", "0"),
            ("INCREMENTAL_INTERVAL", "0"),
            ("REC_HALF_LIFE", "0"),
        ])
        .unwrap();
        assert_eq!(c.recompute_interval, None);
        assert_eq!(c.incremental_interval, None);
        assert_eq!(c.params.recs.half_life_ms, None);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("TREND_FDR", "1.5"),
            ("REC_LIST_LEN", "0"),
            ("ANOMALY_THRESHOLD", "-1"),
            ("EVENT_WEIGHTS", "item.viewed"),
            ("CACHE_TTL", "0"),
            ("RECOMPUTE_ON_START", "maybe"),
            ("INCREMENTAL_GRACE", "soon"),
            ("HOT_CACHE_ENTRIES", "-1"),
        ] {
            let err = with(&[(name, value)]).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }
}
