//! [`RouteTable`]: an immutable snapshot of every route, matched per request;
//! [`SharedRoutes`]: the current snapshot, swapped when pipelines come and go.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use super::{Policy, Route, Upstream};

/// The public prefix of every ContentPipeline: `/v1/pipelines/{namespace}/{name}/...`.
pub const PIPELINES_PREFIX: &str = "/v1/pipelines/";

/// A ContentPipeline's endpoint, as discovered from its status or a routes file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineEndpoint {
    /// Namespace of the ContentPipeline.
    pub namespace: String,
    /// Name of the ContentPipeline.
    pub name: String,
    /// Its `status.endpoint`.
    pub endpoint: Upstream,
}

/// Policy and timeout shared by every pipeline route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineDefaults {
    /// Who may call pipelines.
    pub policy: Policy,
    /// How long a pipeline may take to answer.
    pub timeout: Duration,
}

impl PipelineDefaults {
    /// The route of `pipeline`: its prefix stripped, everything below forwarded.
    pub fn route(&self, pipeline: &PipelineEndpoint) -> Route {
        Route {
            name: format!("pipeline/{}/{}", pipeline.namespace, pipeline.name),
            prefix: format!("{PIPELINES_PREFIX}{}/{}", pipeline.namespace, pipeline.name),
            rewrite: String::new(),
            upstream: pipeline.endpoint.clone(),
            policy: self.policy.clone(),
            timeout: self.timeout,
            openapi: true,
        }
    }
}

/// A request's route and what follows the matched prefix.
#[derive(Debug, Clone)]
pub struct Matched<'a> {
    /// The route.
    pub route: Arc<Route>,
    /// The rest of the path: empty or starting with `/`.
    pub rest: &'a str,
}

/// Every route at one moment.
#[derive(Debug, Default)]
pub struct RouteTable {
    /// Static routes, longest prefix first.
    routes: Vec<Arc<Route>>,
    /// Pipeline routes by `(namespace, name)`.
    pipelines: HashMap<(String, String), Arc<Route>>,
}

impl RouteTable {
    /// Builds a table from static routes and pipeline endpoints.
    pub fn new(
        routes: &[Arc<Route>],
        pipelines: &[PipelineEndpoint],
        defaults: &PipelineDefaults,
    ) -> Self {
        let mut routes = routes.to_vec();
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        let pipelines = pipelines
            .iter()
            .map(|p| {
                let key = (p.namespace.clone(), p.name.clone());
                (key, Arc::new(defaults.route(p)))
            })
            .collect();
        Self { routes, pipelines }
    }

    /// The route for `path`: a pipeline when the path names one, else the longest
    /// static prefix that matches on a segment boundary.
    pub fn find<'a>(&self, path: &'a str) -> Option<Matched<'a>> {
        if let Some(found) = self.find_pipeline(path) {
            return Some(found);
        }
        self.routes.iter().find_map(|route| {
            let rest = strip_segment_prefix(path, &route.prefix)?;
            Some(Matched {
                route: route.clone(),
                rest,
            })
        })
    }

    fn find_pipeline<'a>(&self, path: &'a str) -> Option<Matched<'a>> {
        let tail = path.strip_prefix(PIPELINES_PREFIX)?;
        let (namespace, tail) = tail.split_once('/')?;
        let (name, rest) = match tail.find('/') {
            Some(i) => tail.split_at(i),
            None => (tail, ""),
        };
        let route = self
            .pipelines
            .get(&(namespace.to_owned(), name.to_owned()))?;
        Some(Matched {
            route: route.clone(),
            rest,
        })
    }

    /// Every route, static first, then pipelines sorted by name.
    pub fn all(&self) -> Vec<Arc<Route>> {
        let mut pipelines: Vec<_> = self.pipelines.values().cloned().collect();
        pipelines.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        self.routes.iter().cloned().chain(pipelines).collect()
    }

    /// How many pipelines are routed.
    pub fn pipeline_count(&self) -> usize {
        self.pipelines.len()
    }
}

/// What follows `prefix` in `path` if `path` is `prefix` or continues with `/`.
fn strip_segment_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/')).then_some(rest)
}

/// The current [`RouteTable`], rebuilt when the pipeline set changes; cheap to clone.
#[derive(Debug, Clone)]
pub struct SharedRoutes {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    routes: Vec<Arc<Route>>,
    defaults: PipelineDefaults,
    /// Pipelines from the routes file; discovered ones are added to them.
    static_pipelines: Vec<PipelineEndpoint>,
    current: RwLock<Arc<RouteTable>>,
}

impl SharedRoutes {
    /// Starts with the static routes and pipelines.
    pub fn new(
        routes: Vec<Route>,
        static_pipelines: Vec<PipelineEndpoint>,
        defaults: PipelineDefaults,
    ) -> Self {
        let routes: Vec<_> = routes.into_iter().map(Arc::new).collect();
        let table = RouteTable::new(&routes, &static_pipelines, &defaults);
        Self {
            inner: Arc::new(Inner {
                routes,
                defaults,
                static_pipelines,
                current: RwLock::new(Arc::new(table)),
            }),
        }
    }

    /// The table in force now.
    pub fn current(&self) -> Arc<RouteTable> {
        self.inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the discovered pipelines (static ones stay).
    pub fn set_pipelines(&self, discovered: &[PipelineEndpoint]) {
        let mut all = self.inner.static_pipelines.clone();
        all.extend(discovered.iter().cloned());
        let table = RouteTable::new(&self.inner.routes, &all, &self.inner.defaults);
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk_route(name: &str, prefix: &str) -> Arc<Route> {
        Arc::new(Route {
            name: name.into(),
            prefix: prefix.into(),
            rewrite: prefix.into(),
            upstream: Upstream::parse(&format!("http://{name}:8080")).unwrap(),
            policy: Policy::default(),
            timeout: Duration::from_secs(5),
            openapi: true,
        })
    }

    fn mk_pipeline(ns: &str, name: &str) -> PipelineEndpoint {
        PipelineEndpoint {
            namespace: ns.into(),
            name: name.into(),
            endpoint: Upstream::parse(&format!("http://{name}.{ns}.svc:8080")).unwrap(),
        }
    }

    fn defaults() -> PipelineDefaults {
        PipelineDefaults {
            policy: Policy::default(),
            timeout: Duration::from_secs(30),
        }
    }

    #[test]
    fn longest_prefix_on_segment_boundaries() {
        let routes = [
            mk_route("v1", "/v1"),
            mk_route("templates", "/v1/templates"),
        ];
        let table = RouteTable::new(&routes, &[], &defaults());
        let found = table.find("/v1/templates/a").unwrap();
        assert_eq!((found.route.name.as_str(), found.rest), ("templates", "/a"));
        assert_eq!(table.find("/v1/templates").unwrap().rest, "");
        assert_eq!(table.find("/v1/templatesX").unwrap().route.name, "v1");
        assert!(table.find("/v2").is_none());
    }

    #[test]
    fn pipelines_by_namespace_and_name() {
        let table = RouteTable::new(&[], &[mk_pipeline("shop", "blog")], &defaults());
        let found = table.find("/v1/pipelines/shop/blog/v1/generate").unwrap();
        assert_eq!(found.route.name, "pipeline/shop/blog");
        assert_eq!(found.rest, "/v1/generate");
        assert_eq!(found.route.upstream_path(found.rest, None), "/v1/generate");
        assert_eq!(table.find("/v1/pipelines/shop/blog").unwrap().rest, "");
        assert!(table.find("/v1/pipelines/shop/blogs/x").is_none());
        assert!(table.find("/v1/pipelines/other/blog/x").is_none());
        assert!(table.find("/v1/pipelines/shop").is_none());
    }

    #[test]
    fn shared_routes_swap_pipelines_and_keep_static_ones() {
        let shared = SharedRoutes::new(vec![], vec![mk_pipeline("a", "fixed")], defaults());
        let before = shared.current();
        shared.set_pipelines(&[mk_pipeline("b", "found")]);
        assert!(shared.current().find("/v1/pipelines/b/found/x").is_some());
        assert!(shared.current().find("/v1/pipelines/a/fixed/x").is_some());
        assert!(
            before.find("/v1/pipelines/b/found/x").is_none(),
            "old snapshots stay valid"
        );
        shared.set_pipelines(&[]);
        assert_eq!(shared.current().pipeline_count(), 1);
    }
}
