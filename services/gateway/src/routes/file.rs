//! Route definitions: the defaults for the shared services whose URLs the operator
//! passes (`AUTH_URL`, `TEMPLATES_URL`, ...) and the optional routes file
//! (`ROUTES_FILE`, YAML or JSON) for extra routes, policies and static pipelines.

use std::time::Duration;

use machina_kit::Vars;
use serde::Deserialize;

use super::{PipelineEndpoint, Policy, Route, Upstream};
use crate::error::{Result, config};

/// A shared service's name and its routes: `(public prefix, upstream rewrite, public)`, where
/// `public` lets requests through the edge without a token (the service checks its own).
pub type SharedServiceRoutes = (&'static str, &'static [(&'static str, &'static str, bool)]);

/// The shared services, their URL variable and the public prefixes routed to them.
/// Auth authenticates its own clients, so its routes are public at the edge; its own API
/// (`/v1/login`, `/v1/users` registration, `/v1/admin`) sits under `/auth` so it cannot
/// collide with the user service's `/v1/users`. Registration at the user service is public
/// (the user has no token yet); signed media URLs carry no token (media checks both).
pub const SHARED_SERVICES: [SharedServiceRoutes; 7] = [
    (
        "auth",
        &[
            ("/oauth2", "/oauth2", true),
            ("/.well-known", "/.well-known", true),
            ("/auth", "", true),
        ],
    ),
    (
        "users",
        &[
            ("/v1/users", "/v1/users", false),
            ("/v1/users/register", "/v1/users/register", true),
        ],
    ),
    ("content", &[("/v1/content", "/v1/content", false)]),
    ("media", &[("/v1/media", "/v1/media", true)]),
    (
        "templates",
        &[
            ("/v1/templates", "/v1/templates", false),
            ("/v1/validate", "/v1/validate", false),
        ],
    ),
    (
        "analytics",
        &[
            ("/v1/events", "/v1/events", false),
            ("/v1/reports", "/v1/reports", false),
        ],
    ),
    ("insights", &[("/v1/insights", "/v1/insights", false)]),
];

/// Routes to the shared services whose `<NAME>_URL` is set.
pub fn shared_service_routes(vars: &Vars, timeout: Duration) -> Result<Vec<Route>> {
    let mut routes = Vec::new();
    for (name, prefixes) in SHARED_SERVICES {
        let var = format!("{}_URL", name.to_ascii_uppercase());
        let Some(url) = vars.raw(&var) else { continue };
        let upstream = Upstream::parse(url).map_err(|reason| config(&var, reason))?;
        for (prefix, rewrite, public) in prefixes {
            routes.push(Route {
                name: name.to_owned(),
                prefix: (*prefix).to_owned(),
                rewrite: (*rewrite).to_owned(),
                upstream: upstream.clone(),
                policy: if *public {
                    Policy::public()
                } else {
                    Policy::default()
                },
                timeout,
                openapi: true,
            });
        }
    }
    Ok(routes)
}

/// The routes file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesFile {
    /// Extra routes; one with the prefix of a default route replaces it.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// Pipelines routed without a cluster.
    #[serde(default)]
    pub pipelines: Vec<PipelineSpec>,
}

/// One route in the routes file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteSpec {
    /// Upstream name (metrics label, OpenAPI tag).
    pub name: String,
    /// Public path prefix, starting with `/`.
    pub prefix: String,
    /// Upstream base URL.
    pub upstream: String,
    /// Replacement of `prefix` in the upstream path; defaults to `prefix`.
    #[serde(default)]
    pub rewrite: Option<String>,
    /// No token needed.
    #[serde(default)]
    pub public: bool,
    /// Scopes required for every method.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Extra scopes for unsafe methods.
    #[serde(default)]
    pub write_scopes: Vec<String>,
    /// Permissions required.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Upstream timeout such as `10s`; defaults to `UPSTREAM_TIMEOUT`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Merge the upstream's `/openapi.json` (default true).
    #[serde(default = "yes")]
    pub openapi: bool,
}

fn yes() -> bool {
    true
}

/// One static pipeline in the routes file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Namespace of the pipeline.
    pub namespace: String,
    /// Name of the pipeline.
    pub name: String,
    /// Its base URL.
    pub endpoint: String,
}

impl RoutesFile {
    /// Parses YAML (or JSON) text; errors name the field.
    pub fn parse(text: &str) -> Result<Self> {
        serde_yaml::from_str(text).map_err(|e| config("ROUTES_FILE", e.to_string()))
    }

    /// Checks every entry and turns it into routes and pipeline endpoints.
    pub fn resolve(self, default_timeout: Duration) -> Result<(Vec<Route>, Vec<PipelineEndpoint>)> {
        let mut routes = Vec::with_capacity(self.routes.len());
        for (i, spec) in self.routes.into_iter().enumerate() {
            routes.push(spec.resolve(&format!("routes[{i}]"), default_timeout)?);
        }
        let mut pipelines = Vec::with_capacity(self.pipelines.len());
        for (i, spec) in self.pipelines.into_iter().enumerate() {
            let field = format!("pipelines[{i}]");
            check_segment(&format!("{field}.namespace"), &spec.namespace)?;
            check_segment(&format!("{field}.name"), &spec.name)?;
            let endpoint = Upstream::parse(&spec.endpoint)
                .map_err(|reason| config(format!("{field}.endpoint"), reason))?;
            pipelines.push(PipelineEndpoint {
                namespace: spec.namespace,
                name: spec.name,
                endpoint,
            });
        }
        Ok((routes, pipelines))
    }
}

impl RouteSpec {
    fn resolve(self, field: &str, default_timeout: Duration) -> Result<Route> {
        check_prefix(&format!("{field}.prefix"), &self.prefix)?;
        let rewrite = self.rewrite.unwrap_or_else(|| self.prefix.clone());
        if !(rewrite.is_empty() || rewrite.starts_with('/')) {
            return Err(config(
                format!("{field}.rewrite"),
                "must be empty or start with /",
            ));
        }
        let upstream = Upstream::parse(&self.upstream)
            .map_err(|reason| config(format!("{field}.upstream"), reason))?;
        let timeout = match &self.timeout {
            None => default_timeout,
            Some(value) => {
                let name = format!("{field}.timeout");
                Vars::from_pairs([(name.as_str(), value.as_str())])
                    .duration_or(&name, default_timeout)?
            }
        };
        if timeout.is_zero() {
            return Err(config(format!("{field}.timeout"), "must be positive"));
        }
        Ok(Route {
            name: self.name,
            prefix: self.prefix,
            rewrite,
            upstream,
            policy: Policy {
                public: self.public,
                scopes: self.scopes,
                write_scopes: self.write_scopes,
                permissions: self.permissions,
            },
            timeout,
            openapi: self.openapi,
        })
    }
}

fn check_prefix(field: &str, prefix: &str) -> Result<()> {
    let valid = prefix.starts_with('/')
        && !prefix.contains(['?', '#', ' '])
        && prefix.split('/').all(|s| s != "." && s != "..");
    if valid {
        Ok(())
    } else {
        Err(config(
            field,
            format!("{prefix:?} must be a path starting with / without ., .., ? or #"),
        ))
    }
}

fn check_segment(field: &str, value: &str) -> Result<()> {
    let valid = !value.is_empty()
        && value.len() <= 253
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(config(
            field,
            format!("{value:?} is not a Kubernetes object name"),
        ))
    }
}

/// Puts `extra` routes over `defaults`: a route with the same prefix replaces the default.
pub fn merge_routes(defaults: Vec<Route>, extra: Vec<Route>) -> Vec<Route> {
    let mut routes: Vec<Route> = defaults
        .into_iter()
        .filter(|d| extra.iter().all(|e| e.prefix != d.prefix))
        .collect();
    routes.extend(extra);
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(30);

    #[test]
    fn defaults_follow_the_operator_variables() {
        let vars = Vars::from_pairs([
            ("AUTH_URL", "http://acme-auth.shop.svc:8080"),
            ("TEMPLATES_URL", "http://acme-templates.shop.svc:8080"),
        ]);
        let routes = shared_service_routes(&vars, T).unwrap();
        let prefixes: Vec<_> = routes.iter().map(|r| r.prefix.as_str()).collect();
        assert_eq!(
            prefixes,
            [
                "/oauth2",
                "/.well-known",
                "/auth",
                "/v1/templates",
                "/v1/validate"
            ]
        );
        assert!(routes[0].policy.public);
        assert!(!routes[3].policy.public);
    }

    #[test]
    fn bad_upstream_url_names_the_variable() {
        let vars = Vars::from_pairs([("USERS_URL", "users:8080")]);
        let err = shared_service_routes(&vars, T).unwrap_err().to_string();
        assert!(err.contains("USERS_URL"), "{err}");
    }

    #[test]
    fn routes_file_parses_and_replaces_defaults() {
        let file = RoutesFile::parse(
            r"
routes:
  - name: templates
    prefix: /v1/templates
    upstream: http://127.0.0.1:9000
    scopes: [templates:read]
    writeScopes: [templates:write]
    timeout: 250ms
pipelines:
  - { namespace: shop, name: blog, endpoint: 'http://127.0.0.1:9001' }
",
        )
        .unwrap();
        let (routes, pipelines) = file.resolve(T).unwrap();
        assert_eq!(routes[0].timeout, Duration::from_millis(250));
        assert_eq!(routes[0].policy.write_scopes, ["templates:write"]);
        assert_eq!(pipelines[0].endpoint.authority.as_str(), "127.0.0.1:9001");
        let defaults =
            shared_service_routes(&Vars::from_pairs([("TEMPLATES_URL", "http://t:8080")]), T)
                .unwrap();
        let merged = merge_routes(defaults, routes);
        let templates: Vec<_> = merged
            .iter()
            .filter(|r| r.prefix == "/v1/templates")
            .collect();
        assert_eq!(templates.len(), 1);
        assert_eq!(templates[0].upstream.authority.as_str(), "127.0.0.1:9000");
    }

    #[test]
    fn bad_routes_file_entries_name_the_field() {
        let cases = [
            (
                "routes: [{name: a, prefix: v1, upstream: 'http://x'}]",
                "routes[0].prefix",
            ),
            (
                "routes: [{name: a, prefix: /a/../b, upstream: 'http://x'}]",
                "routes[0].prefix",
            ),
            (
                "routes: [{name: a, prefix: /a, upstream: 'x'}]",
                "routes[0].upstream",
            ),
            (
                "routes: [{name: a, prefix: /a, upstream: 'http://x', timeout: soon}]",
                "routes[0].timeout",
            ),
            (
                "routes: [{name: a, prefix: /a, upstream: 'http://x', timeout: 0s}]",
                "routes[0].timeout",
            ),
            (
                "pipelines: [{namespace: Shop, name: b, endpoint: 'http://x'}]",
                "pipelines[0].namespace",
            ),
            (
                "routes: [{name: a, prefix: /a, upstream: 'http://x', colour: red}]",
                "colour",
            ),
        ];
        for (text, field) in cases {
            let err = RoutesFile::parse(text)
                .and_then(|f| f.resolve(T))
                .unwrap_err()
                .to_string();
            assert!(err.contains(field), "{text}: {err}");
        }
    }
}
