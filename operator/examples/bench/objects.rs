//! What the benchmark applies: the CRDs, a namespace with the backend Secrets, one Platform
//! (the quickstart's, on a database prefix and vhost of its own) and the pipelines (the
//! `config/samples` ContentPipeline under numbered names).

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use machina_devenv::BackingServices;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// Field manager of the benchmark's own writes.
pub const MANAGER: &str = "machina-bench";

/// A client for the kubeconfig devcluster wrote.
pub async fn client(kubeconfig: &Path) -> anyhow::Result<Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    Ok(Client::try_from(config)?)
}

fn apply() -> PatchParams {
    PatchParams::apply(MANAGER).force()
}

fn yaml_file(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    Ok(serde_yaml::from_str(&text)?)
}

/// Applies `config/crd/bases` and waits until every CRD is Established.
pub async fn install_crds(client: &Client, root: &Path) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root.join("config/crd/bases"))? {
        let crd = yaml_file(&entry?.path())?;
        let name = crd["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        api.patch(&name, &apply(), &Patch::Apply(&crd)).await?;
        names.push(name);
    }
    for name in names {
        for attempt in 0.. {
            let crd = api.get(&name).await?;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            anyhow::ensure!(attempt < 100, "CRD {name} not Established");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// Creates `namespace`.
pub async fn namespace(client: &Client, namespace: &str) -> anyhow::Result<()> {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    Api::<Namespace>::all(client.clone())
        .patch(namespace, &apply(), &Patch::Apply(&ns))
        .await?;
    Ok(())
}

/// The admin Secrets of the Platform and the Platform itself.
pub async fn platform(
    client: &Client,
    root: &Path,
    namespace: &str,
    services: &BackingServices,
    database_prefix: &str,
    vhost: &str,
) -> anyhow::Result<()> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let rabbit = json!({
        "username": services.rabbitmq_username,
        "password": services.rabbitmq_password.expose(),
        "amqpUrl": services.amqp_url.expose(),
        "managementUrl": services.rabbitmq_management_url,
    });
    for (name, data) in [
        (
            "acme-mongodb-admin",
            json!({"uri": services.mongodb_uri.expose()}),
        ),
        ("acme-redis", json!({"url": services.redis_url.expose()})),
        ("acme-rabbitmq-admin", rabbit),
        ("acme-llm", json!({"api-key": "bench"})),
    ] {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": data,
        });
        secrets
            .patch(name, &apply(), &Patch::Apply(&secret))
            .await?;
    }
    let mut platform = yaml_file(&root.join("config/quickstart/platform.yaml"))?;
    platform["metadata"]["namespace"] = json!(namespace);
    platform["spec"]["mongodb"]["databasePrefix"] = json!(database_prefix);
    platform["spec"]["rabbitmq"]["vhost"] = json!(vhost);
    let api: Api<machina_crds::Platform> = Api::namespaced(client.clone(), namespace);
    api.patch("acme", &apply(), &Patch::Apply(&platform))
        .await?;
    Ok(())
}

/// Name of pipeline `i`.
pub fn pipeline_name(i: usize) -> String {
    format!("copy-{i:04}")
}

/// The sample ContentPipeline (`config/samples/contentpipeline.yaml`), to be named per object.
pub fn sample_pipeline(root: &Path) -> anyhow::Result<Value> {
    yaml_file(&root.join("config/samples/contentpipeline.yaml"))
}

/// The sample under `name` in `namespace`.
pub fn pipeline(sample: &Value, namespace: &str, name: &str) -> Value {
    let mut object = sample.clone();
    object["metadata"] = json!({"name": name, "namespace": namespace});
    object
}

/// Server-side apply of one pipeline.
pub async fn apply_pipeline(
    api: &Api<machina_crds::ContentPipeline>,
    object: &Value,
    name: &str,
) -> anyhow::Result<()> {
    api.patch(name, &apply(), &Patch::Apply(object)).await?;
    Ok(())
}

/// The status the peer writes instead of an operator: Ready, observed generation 1.
pub fn ready_status(name: &str, namespace: &str, now: &str) -> Value {
    json!({
        "apiVersion": "machina.dev/v1alpha1",
        "kind": "ContentPipeline",
        "metadata": {"name": name, "namespace": namespace},
        "status": {
            "observedGeneration": 1,
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "Peer",
                "message": "written by the benchmark's peer", "lastTransitionTime": now,
                "observedGeneration": 1,
            }],
        },
    })
}

/// Writes `status` through the status subresource by server-side apply.
pub async fn apply_status(
    api: &Api<machina_crds::ContentPipeline>,
    name: &str,
    status: &Value,
) -> anyhow::Result<()> {
    api.patch_status(name, &apply(), &Patch::Apply(status))
        .await?;
    Ok(())
}
