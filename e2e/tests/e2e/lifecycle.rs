//! The operator end to end on devcluster: kubectl applies a Platform and a ContentPipeline,
//! the operator provisions MongoDB and RabbitMQ and deploys the worker and its Redis as
//! local processes, `kubectl wait --for=condition=Ready` succeeds, the endpoint generates,
//! the operator is killed and a change made while it is down converges after its restart,
//! and deleting the pipeline removes its MongoDB user and RabbitMQ queue.

use machina_devenv::BackingServices;
use machina_e2e::Harness;
use machina_e2e::fixtures::{backend_secrets, current_status, mongo_user_exists, tail, urlencode};
use machina_e2e::operator::Operator;
use machina_e2e::wait::eventually;
use serde_json::{Value, json};
use std::time::Duration;

const CONVERGE: Duration = Duration::from_secs(240);

/// The quickstart Platform, with a database prefix and vhost of this run's own.
fn platform(root: &std::path::Path, prefix: &str, vhost: &str) -> String {
    std::fs::read_to_string(root.join("config/quickstart/platform.yaml"))
        .expect("config/quickstart/platform.yaml")
        .replace(
            "databasePrefix: quickstart",
            &format!("databasePrefix: {prefix}"),
        )
        .replace("vhost: quickstart", &format!("vhost: {vhost}"))
}

/// The quickstart pipeline, greeting with `greeting`.
fn pipeline(root: &std::path::Path, greeting: &str) -> String {
    std::fs::read_to_string(root.join("config/quickstart/pipeline.yaml"))
        .expect("config/quickstart/pipeline.yaml")
        .replace(
            "defaults: {greeting: Hello}",
            &format!("defaults: {{greeting: {greeting}}}"),
        )
}

async fn generate(harness: &Harness, namespace: &str, name: &str) -> Option<Value> {
    let ip = harness.service_address(namespace, "greeter")?;
    let response = reqwest::Client::new()
        .post(format!("http://{ip}:8080/v1/generate"))
        .json(&json!({"context": {"name": name}}))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipeline_lifecycle_with_an_operator_restart() {
    let _one_cluster_at_a_time = crate::serial().await;
    let backing = BackingServices::load_or_panic();
    let unique = machina_devenv::unique_name("e2e");
    let namespace = unique.replace('_', "-");
    let prefix = unique.replace('-', "_");
    let vhost = format!("{namespace}-vhost");
    let harness = Harness::start("lifecycle").await;
    let kubectl = harness.kubectl.clone();
    let client = harness.client();

    kubectl.ok(&["create", "namespace", &namespace]).await;
    for secret in backend_secrets(&backing, "acme") {
        kubectl.apply(&namespace, &secret).await;
    }
    let operator_log = harness.state_dir.join("operator.log");
    let operator = Operator::start(
        &harness.bin_dir,
        harness.kubeconfig(),
        &namespace,
        &harness.hosts_file(&namespace),
        &operator_log,
    );
    kubectl
        .apply(&namespace, &platform(&harness.root, &prefix, &vhost))
        .await;
    kubectl
        .apply(&namespace, &pipeline(&harness.root, "Hello"))
        .await;

    // Ready, through the real kubectl.
    let (ready, text) = kubectl
        .run_with_input(
            &[
                "-n",
                &namespace,
                "wait",
                "--for=condition=Ready",
                "contentpipeline/greeter",
                "--timeout=240s",
            ],
            None,
        )
        .await;
    let log = std::fs::read_to_string(&operator_log).unwrap_or_default();
    assert!(
        ready,
        "pipeline not Ready: {text}\n--- operator log tail:\n{}",
        tail(&log)
    );

    let status = eventually("status of the current generation", CONVERGE, || {
        current_status(
            &client,
            &namespace,
            "ContentPipeline",
            "contentpipelines",
            "greeter",
        )
    })
    .await;
    let database = status["database"]
        .as_str()
        .expect("status.database")
        .to_owned();
    let queue = status["queue"].as_str().expect("status.queue").to_owned();
    let secret_text = status.to_string();
    assert!(
        !secret_text.contains(backing.mongodb_uri.expose()),
        "no credentials in status"
    );

    // External state exists: the pipeline's MongoDB user and its RabbitMQ queue.
    let user = format!("machina.cp.{namespace}.greeter-a");
    assert!(
        mongo_user_exists(&backing, &database, &user).await,
        "MongoDB user {user} in {database}"
    );
    let management = backing.management().expect("management API");
    let queue_path = format!("queues/{}/{}", urlencode(&vhost), urlencode(&queue));
    assert!(
        management
            .get(&queue_path)
            .await
            .expect("queue lookup")
            .is_some(),
        "queue {queue}"
    );

    // The endpoint generates.
    let result = eventually("a generation through the Service", CONVERGE, || {
        generate(&harness, &namespace, "Ada")
    })
    .await;
    assert_eq!(result["output"]["message"], "Hello Ada", "{result}");

    // The operator crashes; a change made meanwhile converges after its restart.
    operator.kill().await;
    kubectl
        .apply(&namespace, &pipeline(&harness.root, "Bonjour"))
        .await;
    let operator = Operator::start(
        &harness.bin_dir,
        harness.kubeconfig(),
        &namespace,
        &harness.hosts_file(&namespace),
        &operator_log,
    );
    let result = eventually("the new definition to serve", CONVERGE, || async {
        generate(&harness, &namespace, "Ada")
            .await
            .filter(|r| r["output"]["message"] == "Bonjour Ada")
    })
    .await;
    assert_eq!(result["output"]["message"], "Bonjour Ada");

    // Deleting the pipeline removes its external state (deletionPolicy Delete).
    kubectl
        .ok(&[
            "-n",
            &namespace,
            "delete",
            "contentpipeline/greeter",
            "--timeout=120s",
        ])
        .await;
    assert!(
        !mongo_user_exists(&backing, &database, &user).await,
        "MongoDB user dropped"
    );
    assert!(
        management
            .get(&queue_path)
            .await
            .expect("queue lookup")
            .is_none(),
        "queue removed"
    );

    operator.kill().await;
    kubectl
        .ok(&["delete", "namespace", &namespace, "--wait=false"])
        .await;
    harness.stop().await;
    let _ = management.delete_vhost(&vhost).await;
}
