//! Shared helpers: start a devcluster, read the repository's CRDs and samples.

use std::path::PathBuf;

use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use machina_devcluster::{Config, DevCluster};
use serde_json::Value;

/// The repository root (this crate lives in `devcluster/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh server on a free port.
pub async fn start() -> DevCluster {
    start_with(Config::default()).await
}

/// A fresh server with `config`.
pub async fn start_with(config: Config) -> DevCluster {
    DevCluster::start(config).await.expect("devcluster starts")
}

/// Every document of a YAML file (skipping empty ones).
pub fn yaml_docs(rel: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo().join(rel)).expect("read yaml");
    serde_yaml::Deserializer::from_str(&text)
        .filter_map(|d| {
            let v: Value = serde::Deserialize::deserialize(d).expect("yaml doc");
            (!v.is_null()).then_some(v)
        })
        .collect()
}

/// A dynamic API for `apiVersion`/`kind`/`plural` in `ns`.
pub fn dynamic(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    plural: &str,
    ns: Option<&str>,
) -> Api<DynamicObject> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

/// Applies the repository's CRDs (server-side apply, like the operator's install).
pub async fn install_crds(client: &kube::Client) {
    let api = dynamic(
        client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        None,
    );
    let dir = repo().join("config/crd/bases");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("crd dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files {
        let rel = f
            .strip_prefix(repo())
            .expect("rel")
            .to_string_lossy()
            .into_owned();
        for doc in yaml_docs(&rel) {
            let name = doc["metadata"]["name"]
                .as_str()
                .expect("crd name")
                .to_owned();
            api.patch(
                &name,
                &PatchParams::apply("test").force(),
                &Patch::Apply(&doc),
            )
            .await
            .expect("apply crd");
        }
    }
}

/// The HTTP status of a kube error response.
pub fn code(err: &kube::Error) -> u16 {
    match err {
        kube::Error::Api(s) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The Status of a kube error response.
pub fn status(err: &kube::Error) -> &kube::core::Status {
    match err {
        kube::Error::Api(s) => s.as_ref(),
        other => panic!("expected an API error, got {other:?}"),
    }
}
