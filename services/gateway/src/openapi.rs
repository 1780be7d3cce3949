//! One OpenAPI document for everything behind the gateway: each upstream's
//! `/openapi.json` fetched, its paths rewritten to their public form, its
//! components namespaced by upstream, cached and rebuilt after `refresh` or
//! when the route table changes.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use machina_kit::ApiError;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::routes::{Route, RouteTable, SharedRoutes};

/// One upstream's contribution.
#[derive(Debug)]
pub struct Source<'a> {
    /// Upstream name.
    pub name: &'a str,
    /// Its routes (an upstream may serve several prefixes).
    pub routes: Vec<&'a Route>,
    /// Its document, or `None` when it could not be fetched.
    pub document: Option<Value>,
}

/// Merges upstream documents into one (pure).
pub fn merge(sources: &[Source<'_>]) -> Value {
    let mut paths = Map::new();
    let mut components: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut tags = Vec::new();
    let mut unavailable = Vec::new();
    for source in sources {
        let Some(document) = &source.document else {
            unavailable.push(Value::from(source.name));
            continue;
        };
        let namespace = source.name.replace('/', ".");
        let mut document = document.clone();
        rewrite_refs(&mut document, &namespace);
        tags.push(json!({ "name": source.name }));
        if let Some(kinds) = document.get("components").and_then(Value::as_object) {
            for (kind, entries) in kinds {
                let Some(entries) = entries.as_object() else {
                    continue;
                };
                let merged = components.entry(kind.clone()).or_default();
                for (name, entry) in entries {
                    merged.insert(format!("{namespace}.{name}"), entry.clone());
                }
            }
        }
        let Some(upstream_paths) = document.get("paths").and_then(Value::as_object) else {
            continue;
        };
        for (path, item) in upstream_paths {
            for route in &source.routes {
                let Some(public) = route.public_path(path) else {
                    continue;
                };
                if paths.contains_key(&public) {
                    continue;
                }
                paths.insert(public, decorate(item.clone(), source.name, route));
            }
        }
    }
    let schemes = components.entry("securitySchemes".to_owned()).or_default();
    schemes.insert(
        "bearer".to_owned(),
        json!({ "type": "http", "scheme": "bearer", "bearerFormat": "JWT" }),
    );
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Machina API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every service and ContentPipeline behind the Machina gateway.",
        },
        "paths": paths,
        "components": components,
        "tags": tags,
    });
    if !unavailable.is_empty() {
        document["x-machina-unavailable"] = Value::Array(unavailable);
    }
    document
}

/// Tags each operation with its upstream and states the route's token requirement.
fn decorate(mut item: Value, upstream: &str, route: &Route) -> Value {
    if let Some(operations) = item.as_object_mut() {
        for (method, operation) in operations.iter_mut() {
            let is_operation = matches!(
                method.as_str(),
                "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
            );
            let Some(operation) = operation.as_object_mut().filter(|_| is_operation) else {
                continue;
            };
            operation.insert("tags".to_owned(), json!([upstream]));
            let security = if route.policy.public {
                json!([])
            } else {
                let write = !matches!(method.as_str(), "get" | "head" | "options" | "trace");
                let scopes: Vec<&String> = route
                    .policy
                    .scopes
                    .iter()
                    .chain(route.policy.write_scopes.iter().filter(|_| write))
                    .collect();
                json!([{ "bearer": scopes }])
            };
            operation.insert("security".to_owned(), security);
        }
    }
    item
}

/// Points every local `$ref` (`#/components/<kind>/<name>`) at the namespaced name.
fn rewrite_refs(value: &mut Value, namespace: &str) {
    match value {
        Value::Object(map) => {
            for (key, entry) in map.iter_mut() {
                if key == "$ref" {
                    let target = entry
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/"))
                        .and_then(|t| t.split_once('/'));
                    if let Some((kind, name)) = target {
                        *entry = Value::String(format!("#/components/{kind}/{namespace}.{name}"));
                    }
                } else {
                    rewrite_refs(entry, namespace);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, namespace)),
        _ => {}
    }
}

/// The cached aggregated document; cheap to clone.
#[derive(Debug, Clone)]
pub struct OpenApi {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    routes: SharedRoutes,
    http: reqwest::Client,
    refresh: Duration,
    cache: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    built: Instant,
    table: Arc<RouteTable>,
    document: Arc<Value>,
}

impl OpenApi {
    /// An aggregator over `routes`, rebuilding at most every `refresh`.
    pub fn new(routes: SharedRoutes, refresh: Duration) -> Self {
        let http = machina_kit::hosts::apply(reqwest::Client::builder())
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                routes,
                http,
                refresh,
                cache: Mutex::new(None),
            }),
        }
    }

    /// The document: cached, or rebuilt when stale or the routes changed.
    /// The lock makes concurrent callers share one rebuild.
    pub async fn document(&self) -> Arc<Value> {
        let table = self.inner.routes.current();
        let mut cache = self.inner.cache.lock().await;
        if let Some(cached) = cache
            .as_ref()
            .filter(|c| c.built.elapsed() < self.inner.refresh && Arc::ptr_eq(&c.table, &table))
        {
            return cached.document.clone();
        }
        let document = Arc::new(self.build(&table).await);
        *cache = Some(Cached {
            built: Instant::now(),
            table,
            document: document.clone(),
        });
        document
    }

    async fn build(&self, table: &RouteTable) -> Value {
        let routes = table.all();
        let mut by_upstream: BTreeMap<&str, Vec<&Route>> = BTreeMap::new();
        for route in routes.iter().filter(|r| r.openapi) {
            by_upstream
                .entry(route.name.as_str())
                .or_default()
                .push(route);
        }
        let fetches = by_upstream.into_iter().map(|(name, routes)| async move {
            let url = format!("{}/openapi.json", routes[0].upstream);
            let document = self.fetch(&url).await;
            if document.is_none() {
                tracing::warn!(upstream = %name, "OpenAPI document unavailable");
            }
            Source {
                name,
                routes,
                document,
            }
        });
        let sources = futures::future::join_all(fetches).await;
        merge(&sources)
    }

    async fn fetch(&self, url: &str) -> Option<Value> {
        let response = self.inner.http.get(url).send().await.ok()?;
        response.error_for_status().ok()?.json().await.ok()
    }
}

/// `GET /openapi.json`.
pub async fn handler(State(openapi): State<OpenApi>) -> Response {
    let document = openapi.document().await;
    match serde_json::to_vec(&*document) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(err) => ApiError::Internal(err.into()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{Policy, Upstream};

    fn mk_route(name: &str, prefix: &str, rewrite: &str, public: bool) -> Route {
        Route {
            name: name.into(),
            prefix: prefix.into(),
            rewrite: rewrite.into(),
            upstream: Upstream::parse("http://x:1").unwrap(),
            policy: Policy {
                public,
                scopes: vec!["s".into()],
                ..Policy::default()
            },
            timeout: Duration::from_secs(1),
            openapi: true,
        }
    }

    #[test]
    fn merges_paths_components_and_refs() {
        let templates = mk_route("templates", "/v1/templates", "/v1/templates", false);
        let pipeline = mk_route("pipeline/shop/blog", "/v1/pipelines/shop/blog", "", false);
        let doc = |path: &str| {
            json!({
                "openapi": "3.1.0",
                "paths": {
                    path: { "post": { "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Req" } } } } } },
                    "/openapi.json": { "get": {} },
                    "/healthz": { "get": {} }
                },
                "components": { "schemas": { "Req": { "type": "object" } } }
            })
        };
        let merged = merge(&[
            Source {
                name: "templates",
                routes: vec![&templates],
                document: Some(doc("/v1/templates")),
            },
            Source {
                name: "pipeline/shop/blog",
                routes: vec![&pipeline],
                document: Some(doc("/v1/generate")),
            },
            Source {
                name: "users",
                routes: vec![],
                document: None,
            },
        ]);
        let paths: Vec<&String> = merged["paths"].as_object().unwrap().keys().collect();
        assert!(paths.contains(&&"/v1/templates".to_owned()));
        assert!(paths.contains(&&"/v1/pipelines/shop/blog/v1/generate".to_owned()));
        assert!(paths.contains(&&"/v1/pipelines/shop/blog/healthz".to_owned()));
        assert!(
            !paths.contains(&&"/healthz".to_owned()),
            "templates' /healthz is not under its prefix"
        );
        let op = &merged["paths"]["/v1/pipelines/shop/blog/v1/generate"]["post"];
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/pipeline.shop.blog.Req"
        );
        assert_eq!(op["tags"], json!(["pipeline/shop/blog"]));
        assert_eq!(op["security"], json!([{ "bearer": ["s"] }]));
        assert!(merged["components"]["schemas"]["templates.Req"].is_object());
        assert_eq!(merged["x-machina-unavailable"], json!(["users"]));
    }
}
