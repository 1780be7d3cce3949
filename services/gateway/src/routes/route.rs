//! [`Route`]: one public path prefix, the upstream it goes to, and its policy.

use std::time::Duration;

use axum::http::{
    Method, Uri,
    uri::{Authority, Scheme},
};

/// Where a route's requests go: `scheme://authority/base-path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `http`.
    pub scheme: Scheme,
    /// Host and port.
    pub authority: Authority,
    /// Path the upstream is mounted under, without a trailing slash (often empty).
    pub base_path: String,
}

impl Upstream {
    /// Parses an absolute `http(s)://host[:port][/base]` URL; the error says what is wrong.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let scheme = uri
            .scheme()
            // In-cluster upstreams speak plain HTTP; TLS between pods is a mesh's job.
            .filter(|s| **s == Scheme::HTTP)
            .ok_or_else(|| format!("{url:?} must start with http://"))?
            .clone();
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{url:?} has no host"))?
            .clone();
        if uri.query().is_some() {
            return Err(format!("{url:?} must not have a query"));
        }
        let base_path = uri.path().trim_end_matches('/').to_owned();
        Ok(Self {
            scheme,
            authority,
            base_path,
        })
    }

    /// The URL of `path_and_query` on this upstream.
    pub fn uri(&self, path_and_query: &str) -> Result<Uri, axum::http::Error> {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.resolved_authority()?)
            .path_and_query(format!("{}{path_and_query}", self.base_path))
            .build()
    }
}

impl Upstream {
    /// The authority with its host looked up in the kit's hosts file when one is configured
    /// (`MACHINA_HOSTS_FILE`, clusters without DNS such as devcluster); else unchanged.
    /// Looked up per request, so Services created after the gateway started resolve.
    fn resolved_authority(&self) -> Result<axum::http::uri::Authority, axum::http::Error> {
        let Some(ip) = machina_kit::hosts::lookup(self.authority.host()) else {
            return Ok(self.authority.clone());
        };
        let host = std::net::SocketAddr::new(ip, 0).to_string();
        let host = host.trim_end_matches(":0");
        let authority = match self.authority.port_u16() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(axum::http::uri::Authority::try_from(authority)?)
    }
}

impl std::fmt::Display for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.base_path)
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// No token needed (token endpoint, discovery, JWKS); tokens are not checked.
    pub public: bool,
    /// Scopes the token must all carry.
    pub scopes: Vec<String>,
    /// Extra scopes required for unsafe methods (POST, PUT, PATCH, DELETE).
    pub write_scopes: Vec<String>,
    /// Permissions (the `permissions` claim) the token must all carry.
    pub permissions: Vec<String>,
}

impl Policy {
    /// A route anyone may call.
    pub fn public() -> Self {
        Self {
            public: true,
            ..Self::default()
        }
    }

    /// The scopes `method` needs on this route.
    pub fn scopes_for<'a>(&'a self, method: &Method) -> impl Iterator<Item = &'a str> {
        let write = !(method.is_safe());
        self.scopes
            .iter()
            .chain(self.write_scopes.iter().filter(move |_| write))
            .map(String::as_str)
    }
}

/// One entry of the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The upstream's name: metrics label, OpenAPI tag, log field.
    pub name: String,
    /// Public path prefix matched on segment boundaries (`/v1/templates`).
    pub prefix: String,
    /// What replaces `prefix` in the upstream path (`prefix` itself when not rewritten).
    pub rewrite: String,
    /// Where requests go.
    pub upstream: Upstream,
    /// Who may call it.
    pub policy: Policy,
    /// How long the upstream may take to answer (response headers), retries included.
    pub timeout: Duration,
    /// Whether the upstream's `/openapi.json` is merged into the gateway's document.
    pub openapi: bool,
}

impl Route {
    /// The upstream path (and query) for a request whose path starts with `prefix`.
    ///
    /// `rest` is what follows the prefix: empty or starting with `/`.
    pub fn upstream_path(&self, rest: &str, query: Option<&str>) -> String {
        let mut path = String::with_capacity(self.rewrite.len() + rest.len() + 32);
        path.push_str(&self.rewrite);
        path.push_str(rest);
        if path.is_empty() {
            path.push('/');
        }
        if let Some(query) = query {
            path.push('?');
            path.push_str(query);
        }
        path
    }

    /// The public path of an upstream `path`, if this route exposes it.
    pub fn public_path(&self, upstream_path: &str) -> Option<String> {
        let rest = upstream_path.strip_prefix(self.rewrite.as_str())?;
        let on_boundary = rest.is_empty() || rest.starts_with('/') || self.rewrite.ends_with('/');
        on_boundary.then(|| format!("{}{rest}", self.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str, rewrite: &str) -> Route {
        Route {
            name: "t".into(),
            prefix: prefix.into(),
            rewrite: rewrite.into(),
            upstream: Upstream::parse("http://up:8080/base/").unwrap(),
            policy: Policy::default(),
            timeout: Duration::from_secs(1),
            openapi: true,
        }
    }

    #[test]
    fn upstream_urls() {
        let up = Upstream::parse("http://up:8080/base/").unwrap();
        assert_eq!(up.base_path, "/base");
        assert_eq!(
            up.uri("/x?a=1").unwrap().to_string(),
            "http://up:8080/base/x?a=1"
        );
        assert!(Upstream::parse("ftp://x").unwrap_err().contains("http://"));
        assert!(Upstream::parse("/relative").is_err());
        assert!(Upstream::parse("http://x/?q=1").is_err());
    }

    #[test]
    fn rewrites_paths_both_ways() {
        let same = route("/v1/templates", "/v1/templates");
        assert_eq!(same.upstream_path("/a", Some("x=1")), "/v1/templates/a?x=1");
        let stripped = route("/v1/pipelines/ns/blog", "");
        assert_eq!(stripped.upstream_path("", None), "/");
        assert_eq!(stripped.upstream_path("/v1/generate", None), "/v1/generate");
        assert_eq!(
            stripped.public_path("/v1/generate").as_deref(),
            Some("/v1/pipelines/ns/blog/v1/generate")
        );
        assert_eq!(same.public_path("/v1/templatesX"), None);
        assert_eq!(same.public_path("/v1/other"), None);
    }

    #[test]
    fn write_scopes_apply_to_unsafe_methods_only() {
        let policy = Policy {
            scopes: vec!["read".into()],
            write_scopes: vec!["write".into()],
            ..Policy::default()
        };
        assert_eq!(
            policy.scopes_for(&Method::GET).collect::<Vec<_>>(),
            ["read"]
        );
        assert_eq!(
            policy.scopes_for(&Method::POST).collect::<Vec<_>>(),
            ["read", "write"]
        );
    }
}
