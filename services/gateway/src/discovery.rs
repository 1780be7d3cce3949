//! ContentPipeline discovery: watches ContentPipelines and routes each one with a
//! `status.endpoint` at `/v1/pipelines/{namespace}/{name}/...`, without a restart.
//!
//! [`PipelineIndex`] is the pure part: it folds watch events (one stream per
//! watched namespace) into the set of endpoints; [`run`] feeds it from kube-rs
//! watchers and publishes every change to [`SharedRoutes`].

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt};
use kube::{
    Api, Client, ResourceExt,
    runtime::{WatchStreamExt, watcher},
};
use machina_crds::ContentPipeline;

use crate::{
    metrics::GatewayMetrics,
    routes::{PipelineEndpoint, SharedRoutes, Upstream},
};

/// Which namespaces to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespaces {
    /// Every namespace (needs cluster-wide list/watch).
    All,
    /// These namespaces only.
    Only(Vec<String>),
}

impl Namespaces {
    /// Parses `*` or a comma-separated list.
    pub fn parse(value: &str) -> Self {
        if value.trim() == "*" {
            return Self::All;
        }
        Self::Only(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

type Key = (String, String);

/// One watch stream's view: what it has listed, and a buffer while it relists.
#[derive(Debug, Default)]
struct Source {
    live: BTreeMap<Key, Upstream>,
    relisting: Option<BTreeMap<Key, Upstream>>,
}

/// The Platform whose pipelines a gateway routes: `<namespace>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformKey {
    /// Namespace of the Platform.
    pub namespace: String,
    /// Name of the Platform.
    pub name: String,
}

impl PlatformKey {
    /// Parses `<namespace>/<name>`.
    pub fn parse(value: &str) -> Option<Self> {
        let (namespace, name) = value.trim().split_once('/')?;
        (!namespace.is_empty() && !name.is_empty() && !name.contains('/')).then(|| Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }

    /// Whether `cp` runs on this Platform (its `platformRef` namespace defaults to its own).
    fn admits(&self, cp: &ContentPipeline) -> bool {
        let reference = &cp.spec.platform_ref;
        let namespace = reference.namespace.clone().or_else(|| cp.namespace());
        reference.name == self.name && namespace.as_deref() == Some(self.namespace.as_str())
    }
}

/// Pipeline endpoints folded from watch events; pure, so it is unit-tested.
#[derive(Debug, Default)]
pub struct PipelineIndex {
    sources: HashMap<usize, Source>,
    platform: Option<PlatformKey>,
}

impl PipelineIndex {
    /// An index of the pipelines of `platform` only (every pipeline when `None`).
    pub fn for_platform(platform: Option<PlatformKey>) -> Self {
        Self {
            sources: HashMap::new(),
            platform,
        }
    }

    /// Applies one event of watch stream `source`; true when the endpoint set changed.
    ///
    /// A relist (`Init` .. `InitDone`) replaces the stream's set atomically, so
    /// pipelines deleted while the watch was down disappear; until `InitDone`
    /// the previous set keeps serving.
    pub fn apply(&mut self, source: usize, event: watcher::Event<ContentPipeline>) -> bool {
        let state = self.sources.entry(source).or_default();
        match event {
            watcher::Event::Init => {
                state.relisting = Some(BTreeMap::new());
                false
            }
            watcher::Event::InitApply(cp) => {
                let buffer = state.relisting.get_or_insert_with(BTreeMap::new);
                if let Some((key, endpoint)) = entry(&cp, self.platform.as_ref()) {
                    buffer.insert(key, endpoint);
                }
                false
            }
            watcher::Event::InitDone => {
                let listed = state.relisting.take().unwrap_or_default();
                let changed = listed != state.live;
                state.live = listed;
                changed
            }
            watcher::Event::Apply(cp) => {
                let key = (cp.namespace().unwrap_or_default(), cp.name_any());
                match entry(&cp, self.platform.as_ref()) {
                    Some((key, endpoint)) => {
                        state.live.insert(key, endpoint.clone()) != Some(endpoint)
                    }
                    None => state.live.remove(&key).is_some(),
                }
            }
            watcher::Event::Delete(cp) => {
                let key = (cp.namespace().unwrap_or_default(), cp.name_any());
                state.live.remove(&key).is_some()
            }
        }
    }

    /// Every endpoint, sorted by namespace and name.
    pub fn endpoints(&self) -> Vec<PipelineEndpoint> {
        let mut all: BTreeMap<&Key, &Upstream> = BTreeMap::new();
        for source in self.sources.values() {
            all.extend(source.live.iter());
        }
        all.into_iter()
            .map(|((namespace, name), endpoint)| PipelineEndpoint {
                namespace: namespace.clone(),
                name: name.clone(),
                endpoint: endpoint.clone(),
            })
            .collect()
    }
}

/// The routable endpoint of a pipeline: absent until the operator sets
/// `status.endpoint`, and while the pipeline is being deleted.
fn entry(cp: &ContentPipeline, platform: Option<&PlatformKey>) -> Option<(Key, Upstream)> {
    if cp.metadata.deletion_timestamp.is_some() || platform.is_some_and(|p| !p.admits(cp)) {
        return None;
    }
    let url = cp.status.as_ref()?.endpoint.as_deref()?;
    let namespace = cp.namespace()?;
    match Upstream::parse(url) {
        Ok(endpoint) => Some(((namespace, cp.name_any()), endpoint)),
        Err(reason) => {
            tracing::warn!(namespace = %namespace, pipeline = %cp.name_any(), reason = %reason, "ignoring pipeline with an unusable endpoint");
            None
        }
    }
}

/// Watches ContentPipelines in `namespaces` forever, publishing every change to
/// `routes`. Watch errors are retried with kube-rs' default backoff.
pub async fn run(
    client: Client,
    namespaces: Namespaces,
    platform: Option<PlatformKey>,
    routes: SharedRoutes,
    metrics: GatewayMetrics,
) {
    let apis: Vec<Api<ContentPipeline>> = match &namespaces {
        Namespaces::All => vec![Api::all(client)],
        Namespaces::Only(list) => list
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect(),
    };
    let streams = apis.into_iter().enumerate().map(|(source, api)| {
        watcher(api, watcher::Config::default())
            .default_backoff()
            .map_ok(move |event| (source, event))
            .boxed()
    });
    let mut events = futures::stream::select_all(streams);
    tracing::info!(namespaces = ?namespaces, platform = ?platform, "watching ContentPipelines");
    let mut index = PipelineIndex::for_platform(platform);
    while let Some(event) = events.next().await {
        match event {
            Ok((source, event)) => {
                if index.apply(source, event) {
                    let endpoints = index.endpoints();
                    tracing::info!(pipelines = endpoints.len(), "pipeline routes updated");
                    routes.set_pipelines(&endpoints);
                    metrics.pipelines(endpoints.len());
                }
            }
            Err(err) => tracing::warn!(error = %err, "ContentPipeline watch failed; retrying"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use machina_crds::content_pipeline::ContentPipelineStatus;

    fn mk_cp(ns: &str, name: &str, endpoint: Option<&str>) -> ContentPipeline {
        let mut cp: ContentPipeline = serde_json::from_value(serde_json::json!({
            "apiVersion": "machina.dev/v1alpha1",
            "kind": "ContentPipeline",
            "metadata": { "name": name, "namespace": ns },
            "spec": {
                "platformRef": { "name": "acme" },
                "components": [{ "name": "v", "type": "ValidateContext", "validateContext": { "schema": {} } }]
            }
        }))
        .expect("a valid ContentPipeline");
        cp.status = Some(ContentPipelineStatus {
            endpoint: endpoint.map(str::to_owned),
            ..ContentPipelineStatus::default()
        });
        cp
    }

    fn names(index: &PipelineIndex) -> Vec<String> {
        index
            .endpoints()
            .iter()
            .map(|p| format!("{}/{}={}", p.namespace, p.name, p.endpoint))
            .collect()
    }

    #[test]
    fn applies_adds_updates_and_deletes() {
        let mut index = PipelineIndex::default();
        assert!(index.apply(
            0,
            watcher::Event::Apply(mk_cp("shop", "blog", Some("http://blog:8080")))
        ));
        assert!(
            !index.apply(
                0,
                watcher::Event::Apply(mk_cp("shop", "blog", Some("http://blog:8080")))
            ),
            "same endpoint: no change"
        );
        assert!(index.apply(
            0,
            watcher::Event::Apply(mk_cp("shop", "blog", Some("http://blog2:8080")))
        ));
        assert_eq!(names(&index), ["shop/blog=http://blog2:8080"]);
        assert!(index.apply(0, watcher::Event::Delete(mk_cp("shop", "blog", None))));
        assert!(names(&index).is_empty());
    }

    #[test]
    fn pipelines_without_endpoint_or_being_deleted_are_not_routed() {
        let mut index = PipelineIndex::default();
        assert!(!index.apply(0, watcher::Event::Apply(mk_cp("shop", "new", None))));
        index.apply(
            0,
            watcher::Event::Apply(mk_cp("shop", "blog", Some("http://blog:8080"))),
        );
        let mut deleting = mk_cp("shop", "blog", Some("http://blog:8080"));
        deleting.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ));
        assert!(index.apply(0, watcher::Event::Apply(deleting)));
        assert!(names(&index).is_empty());
        assert!(!index.apply(
            0,
            watcher::Event::Apply(mk_cp("shop", "bad", Some("not a url")))
        ));
    }

    #[test]
    fn relist_replaces_atomically_and_drops_missed_deletes() {
        let mut index = PipelineIndex::default();
        index.apply(
            0,
            watcher::Event::Apply(mk_cp("shop", "gone", Some("http://gone:8080"))),
        );
        assert!(!index.apply(0, watcher::Event::Init));
        assert!(!index.apply(
            0,
            watcher::Event::InitApply(mk_cp("shop", "blog", Some("http://blog:8080")))
        ));
        assert_eq!(
            names(&index),
            ["shop/gone=http://gone:8080"],
            "old set serves until InitDone"
        );
        assert!(index.apply(0, watcher::Event::InitDone));
        assert_eq!(names(&index), ["shop/blog=http://blog:8080"]);
    }

    #[test]
    fn streams_of_different_namespaces_are_independent() {
        let mut index = PipelineIndex::default();
        index.apply(
            0,
            watcher::Event::Apply(mk_cp("a", "p", Some("http://a:8080"))),
        );
        index.apply(1, watcher::Event::Init);
        index.apply(
            1,
            watcher::Event::InitApply(mk_cp("b", "q", Some("http://b:8080"))),
        );
        index.apply(1, watcher::Event::InitDone);
        assert_eq!(names(&index), ["a/p=http://a:8080", "b/q=http://b:8080"]);
    }

    #[test]
    fn namespaces_parse() {
        assert_eq!(Namespaces::parse("*"), Namespaces::All);
        assert_eq!(
            Namespaces::parse("a, b,"),
            Namespaces::Only(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn a_platform_index_routes_only_that_platforms_pipelines() {
        let platform = PlatformKey::parse("shop/acme").expect("key");
        let mut index = PipelineIndex::for_platform(Some(platform));
        let mine = mk_cp("shop", "blog", Some("http://blog.shop.svc:8080"));
        let mut other = mk_cp("shop", "news", Some("http://news.shop.svc:8080"));
        other.spec.platform_ref.name = "globex".into();
        let mut elsewhere = mk_cp("team", "ads", Some("http://ads.team.svc:8080"));
        elsewhere.spec.platform_ref.namespace = Some("shop".into());
        let mut same_name_other_ns = mk_cp("team", "faq", Some("http://faq.team.svc:8080"));
        same_name_other_ns.spec.platform_ref.namespace = None;
        for cp in [mine, other, elsewhere, same_name_other_ns] {
            index.apply(0, watcher::Event::Apply(cp));
        }
        let routed: Vec<String> = names(&index)
            .iter()
            .filter_map(|n| n.split('=').next().map(str::to_owned))
            .collect();
        assert_eq!(routed, vec!["shop/blog", "team/ads"]);
        assert_eq!(PlatformKey::parse("acme"), None);
        assert_eq!(PlatformKey::parse("a/b/c"), None);
    }
}
