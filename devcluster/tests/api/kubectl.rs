//! The real kubectl (1.32, from the machine image) against devcluster, with its
//! default client-side settings (server-side field validation, no --validate=false).

use std::path::Path;

use crate::support::{repo, start};

const KUBECTL: &str = "/usr/bin/kubectl";

async fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .current_dir(repo())
        .output()
        .await
        .unwrap_or_else(|e| panic!("running {KUBECTL} (install kubectl 1.32): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn ok(kc: &Path, args: &[&str]) -> String {
    let (success, text) = kubectl(kc, args).await;
    assert!(success, "kubectl {} failed:\n{text}", args.join(" "));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_applies_gets_waits_and_deletes() {
    let dc = start().await;
    let kc = dc.kubeconfig_path().to_owned();
    let applied = ok(&kc, &["apply", "--server-side", "-f", "config/crd/bases"]).await;
    assert!(
        applied.contains("platforms.machina.dev serverside-applied"),
        "{applied}"
    );
    ok(
        &kc,
        &[
            "wait",
            "--for=condition=Established",
            "crd/platforms.machina.dev",
            "--timeout=30s",
        ],
    )
    .await;
    ok(
        &kc,
        &[
            "apply",
            "--server-side",
            "-f",
            "config/samples/secrets.example.yaml",
        ],
    )
    .await;
    ok(
        &kc,
        &[
            "apply",
            "--server-side",
            "-f",
            "config/samples/platform.yaml",
        ],
    )
    .await;
    ok(&kc, &["apply", "--server-side", "-k", "config/samples"]).await;

    let table = ok(&kc, &["get", "mp"]).await;
    assert!(
        table.starts_with("NAME   READY   REASON"),
        "printer columns:\n{table}"
    );
    assert!(table.contains("acme"), "{table}");
    let all = ok(&kc, &["get", "machina"]).await;
    assert!(
        all.contains("contentpipeline.machina.dev/product-copy"),
        "category machina:\n{all}"
    );
    let yaml = ok(&kc, &["get", "mp", "acme", "-o", "yaml"]).await;
    assert!(
        yaml.contains("databasePrefix: acme") && yaml.contains("uid:"),
        "{yaml}"
    );
    let builtin = ok(&kc, &["explain", "deployment.spec.strategy"]).await;
    assert!(builtin.contains("rollingUpdate"), "{builtin}");
    let explain = ok(&kc, &["explain", "platform.spec.tenancy"]).await;
    assert!(explain.contains("KIND:       Platform"), "{explain}");

    ok(&kc, &["patch", "mp", "acme", "--subresource=status", "--type=merge", "-p",
        r#"{"status":{"conditions":[{"type":"Ready","status":"True","reason":"AllReady","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}"#]).await;
    ok(
        &kc,
        &["wait", "--for=condition=Ready", "mp/acme", "--timeout=30s"],
    )
    .await;
    let ready = ok(&kc, &["get", "mp", "acme"]).await;
    assert!(
        ready.contains("True") && ready.contains("AllReady"),
        "{ready}"
    );

    // Another manager changing a field kubectl owns: 409 until --force-conflicts.
    let other = std::env::temp_dir().join(format!("devcluster-other-{}.yaml", std::process::id()));
    std::fs::write(&other, "apiVersion: machina.dev/v1alpha1\nkind: Platform\nmetadata: {name: acme}\nspec:\n  observability: {logLevel: debug}\n").expect("write");
    let other_path = other.to_string_lossy().into_owned();
    let (applied, text) = kubectl(
        &kc,
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "-f",
            &other_path,
        ],
    )
    .await;
    assert!(
        !applied
            && text.contains("conflict with \"kubectl\"")
            && text.contains(".spec.observability.logLevel"),
        "{text}"
    );
    ok(
        &kc,
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            &other_path,
        ],
    )
    .await;
    let level = ok(
        &kc,
        &[
            "get",
            "mp",
            "acme",
            "-o",
            "jsonpath={.spec.observability.logLevel}",
        ],
    )
    .await;
    assert_eq!(level.trim(), "debug");

    ok(
        &kc,
        &[
            "patch",
            "mp",
            "acme",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":["machina.dev/cleanup"]}}"#,
        ],
    )
    .await;
    ok(&kc, &["delete", "mp", "acme", "--wait=false"]).await;
    let pending = ok(
        &kc,
        &[
            "get",
            "mp",
            "acme",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
        ],
    )
    .await;
    assert!(
        !pending.trim().is_empty(),
        "deletionTimestamp set while the finalizer remains"
    );
    ok(
        &kc,
        &[
            "patch",
            "mp",
            "acme",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ],
    )
    .await;
    let (found, text) = kubectl(&kc, &["get", "mp", "acme"]).await;
    assert!(!found && text.contains("NotFound"), "{text}");

    std::fs::write(&other, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: redis:7}]}\n").expect("write");
    ok(&kc, &["apply", "--server-side", "-f", &other_path]).await;
    ok(&kc, &["scale", "deployment/web", "--replicas=3"]).await;
    let replicas = ok(
        &kc,
        &[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.replicas} {.spec.strategy.type}",
        ],
    )
    .await;
    assert_eq!(
        replicas.trim(),
        "3 RollingUpdate",
        "scale subresource and built-in defaults"
    );
    let _ = std::fs::remove_file(&other);

    // Generators send protobuf bodies; reviews are answered (no RBAC).
    ok(&kc, &["create", "namespace", "team-a"]).await;
    ok(
        &kc,
        &[
            "create",
            "configmap",
            "c1",
            "-n",
            "team-a",
            "--from-literal=a=b",
        ],
    )
    .await;
    ok(
        &kc,
        &[
            "create",
            "secret",
            "generic",
            "s1",
            "-n",
            "team-a",
            "--from-literal=p=q",
        ],
    )
    .await;
    let data = ok(
        &kc,
        &[
            "get",
            "secret",
            "s1",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.p}",
        ],
    )
    .await;
    assert_eq!(data.trim(), "cQ==");
    assert_eq!(
        ok(&kc, &["auth", "can-i", "create", "deployments"])
            .await
            .trim(),
        "yes"
    );
    ok(&kc, &["delete", "namespace", "team-a"]).await;
    let (gone, text) = kubectl(&kc, &["get", "configmap", "c1", "-n", "team-a"]).await;
    assert!(!gone && text.contains("NotFound"), "{text}");

    let (bad, text) = kubectl(&kc, &["get", "nosuchkind"]).await;
    assert!(
        !bad && text.contains("doesn't have a resource type"),
        "{text}"
    );
    dc.shutdown().await;
}
