//! [`GatewayConfig`]: everything the gateway reads from its environment.
//!
//! The operator sets `REDIS_URL`, `JWT_JWKS_URL`, `RATE_LIMIT_PER_MINUTE`,
//! `UPSTREAM_TIMEOUT`, `CORS_ALLOWED_ORIGINS`, `CORS_ALLOW_CREDENTIALS` and one
//! `<SERVICE>_URL` per enabled shared service (see `operator/src/platform/builders.rs`);
//! the README lists every variable.

use std::time::Duration;

use machina_kit::{CommonConfig, Metrics, Vars, auth::JwtVerifier};

use crate::{
    discovery::{Namespaces, PlatformKey},
    error::{Result, config},
    routes::{
        PipelineDefaults, PipelineEndpoint, Policy, Route, RoutesFile, merge_routes,
        shared_service_routes,
    },
};

/// The gateway's settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Listen address, logging, body limit, Redis URL, ...
    pub common: CommonConfig,
    /// Static routes: shared services from `<SERVICE>_URL`, then the routes file.
    pub routes: Vec<Route>,
    /// Pipelines from the routes file.
    pub static_pipelines: Vec<PipelineEndpoint>,
    /// Policy and timeout of every pipeline route.
    pub pipeline_defaults: PipelineDefaults,
    /// Where to discover ContentPipelines; `None` turns discovery off.
    pub discovery: Option<Namespaces>,
    /// Only the pipelines of this Platform are routed (`PIPELINE_PLATFORM`, `<ns>/<name>`).
    pub pipeline_platform: Option<PlatformKey>,
    /// Requests per minute per client; `None` (0) turns rate limiting off.
    pub rate_limit_per_minute: Option<u64>,
    /// Prefix of the rate-limit keys in Redis.
    pub rate_limit_prefix: String,
    /// Let requests through when Redis is down (true) or answer 503 (false).
    pub rate_limit_fail_open: bool,
    /// CORS origins; empty disables CORS, `*` allows any.
    pub cors_allowed_origins: Vec<String>,
    /// Whether CORS requests may carry credentials.
    pub cors_allow_credentials: bool,
    /// Proxies in front of the gateway whose `X-Forwarded-For` entries are trusted.
    pub trusted_proxy_hops: usize,
    /// Retries per request at most (idempotent requests only).
    pub max_retries: u32,
    /// Share of the request rate retries may add.
    pub retry_budget_ratio: f64,
    /// Retries always allowed per second, whatever the ratio.
    pub retry_min_per_second: u64,
    /// Bodies up to this size are kept so idempotent requests can be retried;
    /// larger ones stream through once.
    pub retry_buffer_limit: usize,
    /// How long the aggregated OpenAPI document is cached.
    pub openapi_refresh: Duration,
    /// Verifies tokens (`JWT_JWKS_URL`, or `JWT_PUBLIC_KEY`; `JWT_ISSUER`, `JWT_AUDIENCE`).
    pub verifier: Option<JwtVerifier>,
    /// The registry `/metrics` serves (the verifier counts JWKS failures in it).
    pub metrics: Metrics,
}

/// Default `RATE_LIMIT_PER_MINUTE` (the CRD's default).
const DEFAULT_RATE_LIMIT: u64 = 600;

impl GatewayConfig {
    /// Reads the process environment (and the routes file it names).
    pub fn from_env() -> Result<Self> {
        Self::from_vars(&Vars::from_env())
    }

    /// Reads `vars`; errors name the variable or routes-file field.
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let common = CommonConfig::from_vars(vars, "gateway")?;
        let timeout = vars.duration_or("UPSTREAM_TIMEOUT", Duration::from_secs(30))?;
        if timeout.is_zero() {
            return Err(config("UPSTREAM_TIMEOUT", "must be positive"));
        }
        let defaults = shared_service_routes(vars, timeout)?;
        let (extra, static_pipelines) = match vars.raw("ROUTES_FILE") {
            None => (Vec::new(), Vec::new()),
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| crate::Error::RoutesFile {
                        path: path.into(),
                        source,
                    })?;
                RoutesFile::parse(&text)?.resolve(timeout)?
            }
        };
        let pipeline_defaults = PipelineDefaults {
            policy: Policy {
                public: vars.or("PIPELINES_PUBLIC", "true or false", false)?,
                scopes: list(vars.raw("PIPELINE_SCOPES")),
                write_scopes: Vec::new(),
                permissions: Vec::new(),
            },
            timeout: vars.duration_or("PIPELINE_TIMEOUT", timeout)?,
        };
        let in_cluster = vars.raw("KUBERNETES_SERVICE_HOST").is_some();
        let discovery = match vars.raw("PIPELINE_DISCOVERY") {
            None if in_cluster => true,
            None => false,
            Some("kube") => true,
            Some("off") => false,
            Some(other) => {
                return Err(config(
                    "PIPELINE_DISCOVERY",
                    format!("{other:?} is not kube or off"),
                ));
            }
        };
        let pipeline_platform = match vars.raw("PIPELINE_PLATFORM") {
            None => None,
            Some(value) => Some(PlatformKey::parse(value).ok_or_else(|| {
                config(
                    "PIPELINE_PLATFORM",
                    format!("{value:?} is not <namespace>/<name>"),
                )
            })?),
        };
        let rate = vars.or(
            "RATE_LIMIT_PER_MINUTE",
            "a whole number of requests",
            DEFAULT_RATE_LIMIT,
        )?;
        let ratio: f64 = vars.or("RETRY_BUDGET_RATIO", "a number between 0 and 1", 0.2)?;
        if !(0.0..=1.0).contains(&ratio) {
            return Err(config(
                "RETRY_BUDGET_RATIO",
                format!("{ratio} is not between 0 and 1"),
            ));
        }
        let cors_allowed_origins = list(vars.raw("CORS_ALLOWED_ORIGINS"));
        let cors_allow_credentials = vars.or("CORS_ALLOW_CREDENTIALS", "true or false", false)?;
        if cors_allow_credentials && cors_allowed_origins.iter().any(|o| o == "*") {
            return Err(config(
                "CORS_ALLOWED_ORIGINS",
                "credentials cannot be allowed for the wildcard origin *; list the origins",
            ));
        }
        for origin in &cors_allowed_origins {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(config(
                    "CORS_ALLOWED_ORIGINS",
                    format!("{origin:?} is not an http(s) origin"),
                ));
            }
        }
        let routes = merge_routes(defaults, extra);
        let metrics = Metrics::new();
        let verifier = JwtVerifier::from_vars(vars, metrics.clone())?;
        let pipelines_need_tokens =
            !pipeline_defaults.policy.public && (discovery || !static_pipelines.is_empty());
        let guarded = routes.iter().find(|r| !r.policy.public);
        if verifier.is_none() && (guarded.is_some() || pipelines_need_tokens) {
            let what = guarded.map_or("pipeline routes".to_owned(), |r| {
                format!("route {}", r.prefix)
            });
            return Err(config(
                "JWT_JWKS_URL",
                format!(
                    "{what} requires tokens: set JWT_JWKS_URL or JWT_PUBLIC_KEY, or make the route public"
                ),
            ));
        }
        Ok(Self {
            routes,
            verifier,
            metrics,
            static_pipelines,
            pipeline_defaults,
            discovery: discovery
                .then(|| Namespaces::parse(vars.raw("WATCH_NAMESPACES").unwrap_or("*"))),
            pipeline_platform,
            rate_limit_per_minute: (rate > 0).then_some(rate),
            rate_limit_prefix: vars
                .raw("RATE_LIMIT_PREFIX")
                .unwrap_or("machina:gateway:ratelimit:")
                .to_owned(),
            rate_limit_fail_open: vars.or("RATE_LIMIT_FAIL_OPEN", "true or false", true)?,
            cors_allowed_origins,
            cors_allow_credentials,
            trusted_proxy_hops: vars.or("TRUSTED_PROXY_HOPS", "a whole number", 0)?,
            max_retries: vars.or("RETRY_ATTEMPTS", "a whole number", 2)?,
            retry_budget_ratio: ratio,
            retry_min_per_second: vars.or("RETRY_MIN_PER_SECOND", "a whole number", 10)?,
            retry_buffer_limit: vars.bytes_or("RETRY_BUFFER_LIMIT", 64 * 1024)?,
            openapi_refresh: vars.duration_or("OPENAPI_REFRESH", Duration::from_secs(60))?,
            common,
        })
    }
}

/// A comma-separated list.
fn list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_environment() {
        let vars = Vars::from_pairs([
            ("RATE_LIMIT_PER_MINUTE", "120"),
            ("UPSTREAM_TIMEOUT", "15s"),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://a.example,https://b.example",
            ),
            ("CORS_ALLOW_CREDENTIALS", "true"),
            ("AUTH_URL", "http://acme-auth.shop.svc:8080"),
            ("USERS_URL", "http://acme-users.shop.svc:8080"),
            ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
            (
                "JWT_JWKS_URL",
                "http://acme-auth.shop.svc:8080/.well-known/jwks.json",
            ),
        ]);
        let config = GatewayConfig::from_vars(&vars).unwrap();
        assert_eq!(config.rate_limit_per_minute, Some(120));
        assert_eq!(
            config.routes.len(),
            5,
            "3 auth prefixes, users and its public registration"
        );
        assert!(
            config
                .routes
                .iter()
                .all(|r| r.timeout == Duration::from_secs(15))
        );
        assert_eq!(config.cors_allowed_origins.len(), 2);
        assert_eq!(config.discovery, Some(Namespaces::All));
        assert_eq!(config.pipeline_defaults.timeout, Duration::from_secs(15));
    }

    #[test]
    fn defaults_without_cluster() {
        let config = GatewayConfig::from_vars(&Vars::default()).unwrap();
        assert_eq!(config.discovery, None);
        assert_eq!(config.rate_limit_per_minute, Some(600));
        assert!(config.routes.is_empty());
        let off =
            GatewayConfig::from_vars(&Vars::from_pairs([("RATE_LIMIT_PER_MINUTE", "0")])).unwrap();
        assert_eq!(off.rate_limit_per_minute, None);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("UPSTREAM_TIMEOUT", "soon"),
            ("UPSTREAM_TIMEOUT", "0s"),
            ("RATE_LIMIT_PER_MINUTE", "-1"),
            ("RETRY_BUDGET_RATIO", "2"),
            ("PIPELINE_DISCOVERY", "maybe"),
            ("CORS_ALLOWED_ORIGINS", "example.com"),
            ("TEMPLATES_URL", "templates"),
            ("TEMPLATES_URL", "http://templates:8080"),
            ("ROUTES_FILE", "/nonexistent/routes.yaml"),
        ] {
            let err = GatewayConfig::from_vars(&Vars::from_pairs([(name, value)]))
                .unwrap_err()
                .to_string();
            let shown = match (name, value) {
                ("ROUTES_FILE", _) => "routes file",
                ("TEMPLATES_URL", "http://templates:8080") => "JWT_JWKS_URL",
                _ => name,
            };
            assert!(err.contains(shown), "{name}={value}: {err}");
        }
        let err = GatewayConfig::from_vars(&Vars::from_pairs([
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("CORS_ALLOW_CREDENTIALS", "true"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("wildcard"), "{err}");
    }
}
