//! One watch per owned kind, shared by the controllers. The operator labels everything it
//! creates, so a watch of its Deployments (say) sees the Platforms', the pipelines' and the
//! jobs' alike; with one watch per controller every event was received, decoded and
//! fingerprinted three times (and the API server rendered and sent it three times). Here
//! each object is decoded once and routed, by its owner references, to the controller of
//! its owner's kind, which maps it to the owner as `Controller::owns` would.

use futures::{Stream, StreamExt, stream};
use kube::Resource;
use kube::runtime::watcher;
use tokio::sync::mpsc;

/// Objects routed to one controller and not yet taken: a slow controller holds back the
/// shared watch rather than letting it buffer without bound.
const ROUTE_CAPACITY: usize = 256;

/// A controller's subscription: the owner kind it reconciles and where its objects go.
struct Route<K> {
    api_version: String,
    kind: String,
    sender: mpsc::Sender<K>,
}

/// A watch of owned `K` objects and the controllers it feeds.
pub struct SharedWatch<K> {
    source: stream::BoxStream<'static, Result<K, watcher::Error>>,
    routes: Vec<Route<K>>,
}

impl<K> std::fmt::Debug for SharedWatch<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let owners: Vec<_> = self.routes.iter().map(|r| r.kind.as_str()).collect();
        f.debug_struct("SharedWatch")
            .field("owners", &owners)
            .finish_non_exhaustive()
    }
}

impl<K: Resource + Clone + Send + 'static> SharedWatch<K> {
    /// A shared watch fed by `source` (changed or deleted objects, as `Controller::owns_stream`
    /// takes them).
    pub fn new(source: impl Stream<Item = Result<K, watcher::Error>> + Send + 'static) -> Self {
        Self {
            source: source.boxed(),
            routes: Vec::new(),
        }
    }

    /// The objects owned by an `Owner`, for that controller's `owns_stream`.
    pub fn subscribe<Owner: Resource<DynamicType = ()>>(
        &mut self,
    ) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
        let (sender, receiver) = mpsc::channel(ROUTE_CAPACITY);
        self.routes.push(Route {
            api_version: Owner::api_version(&()).into_owned(),
            kind: Owner::kind(&()).into_owned(),
            sender,
        });
        stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|o| (Ok(o), receiver))
        })
    }

    /// Forwards the watch to its subscribers until every subscriber is gone (the
    /// controllers stopped).
    pub async fn run(self) {
        let Self { mut source, routes } = self;
        let senders: Vec<_> = routes.iter().map(|r| r.sender.clone()).collect();
        let all_closed = futures::future::join_all(senders.iter().map(|s| s.closed()));
        let forward = async {
            while let Some(event) = source.next().await {
                match event {
                    Ok(object) => deliver(&routes, object).await,
                    // The watch retries with backoff; the controllers only logged these too.
                    Err(e) => tracing::debug!(error = %e, "owned objects watch"),
                }
            }
        };
        tokio::select! {
            _ = all_closed => {}
            () = forward => {}
        }
    }
}

/// Sends `object` to the controller of each of its owners' kinds.
async fn deliver<K: Resource + Clone>(routes: &[Route<K>], object: K) {
    let targets = routed_to(routes, &object);
    let Some((last, rest)) = targets.split_last() else {
        return;
    };
    for &i in rest {
        // A closed route is a stopped controller: nothing to deliver to.
        let _ = routes[i].sender.send(object.clone()).await;
    }
    let _ = routes[*last].sender.send(object).await;
}

/// The routes whose owner kind owns `object` (each route at most once).
fn routed_to<K: Resource>(routes: &[Route<K>], object: &K) -> Vec<usize> {
    let owners = object
        .meta()
        .owner_references
        .as_deref()
        .unwrap_or_default();
    routes
        .iter()
        .enumerate()
        .filter(|(_, route)| {
            owners
                .iter()
                .any(|o| o.kind == route.kind && o.api_version == route.api_version)
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
    use kube::api::ObjectMeta;
    use machina_crds::{AnalyticsJob, ContentPipeline, Platform};

    fn owned_by(name: &str, owners: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                owner_references: Some(
                    owners
                        .iter()
                        .map(|(api_version, kind)| OwnerReference {
                            api_version: (*api_version).into(),
                            kind: (*kind).into(),
                            name: "owner".into(),
                            uid: "uid".into(),
                            ..OwnerReference::default()
                        })
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    fn watch(
        objects: Vec<ConfigMap>,
    ) -> (
        SharedWatch<ConfigMap>,
        [stream::BoxStream<'static, Result<ConfigMap, watcher::Error>>; 3],
    ) {
        let mut shared = SharedWatch::new(stream::iter(objects.into_iter().map(Ok)));
        let pipelines = shared.subscribe::<ContentPipeline>().boxed();
        let platforms = shared.subscribe::<Platform>().boxed();
        let jobs = shared.subscribe::<AnalyticsJob>().boxed();
        (shared, [pipelines, platforms, jobs])
    }

    async fn names(
        s: stream::BoxStream<'static, Result<ConfigMap, watcher::Error>>,
    ) -> Vec<String> {
        s.map(|o| o.unwrap().metadata.name.unwrap()).collect().await
    }

    #[tokio::test]
    async fn each_object_reaches_only_the_controllers_of_its_owners_kinds() {
        let cp = ContentPipeline::api_version(&()).into_owned();
        let pf = Platform::api_version(&()).into_owned();
        let (shared, [pipelines, platforms, jobs]) = watch(vec![
            owned_by("worker", &[(&cp, "ContentPipeline")]),
            owned_by("gateway", &[(&pf, "Platform")]),
            owned_by("both", &[(&cp, "ContentPipeline"), (&pf, "Platform")]),
            owned_by("stranger", &[("v1", "ConfigMap")]),
            // Same kind name, another API group: not ours.
            owned_by("lookalike", &[("example.com/v1", "ContentPipeline")]),
            owned_by("orphan", &[]),
        ]);
        shared.run().await;
        assert_eq!(names(pipelines).await, ["worker", "both"]);
        assert_eq!(names(platforms).await, ["gateway", "both"]);
        assert!(names(jobs).await.is_empty());
    }

    #[tokio::test]
    async fn the_watch_ends_once_every_controller_is_gone() {
        let endless = stream::pending::<Result<ConfigMap, watcher::Error>>();
        let mut shared = SharedWatch::new(endless);
        let pipelines = shared.subscribe::<ContentPipeline>();
        let jobs = shared.subscribe::<AnalyticsJob>();
        drop((pipelines, jobs));
        tokio::time::timeout(std::time::Duration::from_secs(5), shared.run())
            .await
            .expect("the shared watch stops when its subscribers are dropped");
    }
}
