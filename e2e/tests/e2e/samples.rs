//! `config/samples/` end to end: kubectl applies the sample Platform (every shared service),
//! its Templates, ContentPipeline and AnalyticsJob; everything becomes Ready; a client gets
//! a token from auth through the gateway and generates product copy through the gateway
//! (the LLM is `machina-llm-mock`, an OpenAI-compatible server run as a pod); a user
//! registers, signs in through a first-party app and generates with their own token; made
//! an editor, they create and publish an article, upload an image and get a WebP thumbnail
//! through the gateway; `kubectl logs` reads a pod's output through the API server; the
//! pipeline's MongoDB user, Redis instance and RabbitMQ queue and bindings exist and work;
//! a Template change shows in new content; deleting everything removes the external state.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use machina_devenv::BackingServices;
use machina_e2e::Harness;
use machina_e2e::fixtures::{
    backend_secrets, current_status, mongo_user_exists, tail_of, urlencode,
};
use machina_e2e::kubectl::Kubectl;
use machina_e2e::operator::Operator;
use machina_e2e::wait::eventually;
use serde_json::{Value, json};
use std::time::Duration;

const CONVERGE: Duration = Duration::from_secs(300);
const PIPELINE: &str = "product-copy";
const SKU: &str = "AUR-001";
const ADA_EMAIL: &str = "ada@example.com";
const ADA_PASSWORD: &str = "correct horse battery staple";

/// A sample manifest made unique to this run: its namespace in cluster DNS names and its
/// database prefix.
fn sample(harness: &Harness, file: &str, namespace: &str, prefix: &str) -> String {
    let path = harness.root.join("config/samples").join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("databasePrefix: acme", &format!("databasePrefix: {prefix}"))
        .replace("acme_content", &format!("{prefix}_content"))
        .replace("acme.svc", &format!("{namespace}.svc"))
}

async fn secret_value(client: &kube::Client, namespace: &str, name: &str, key: &str) -> String {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("Secret {name}: {e}"));
    let bytes = secret
        .data
        .and_then(|d| d.get(key).cloned())
        .unwrap_or_else(|| panic!("Secret {name} has no key {key}"));
    String::from_utf8(bytes.0).expect("UTF-8 secret value")
}

async fn wait_ready(
    kubectl: &Kubectl,
    namespace: &str,
    object: &str,
    operator_log: &std::path::Path,
) {
    let (ready, text) = kubectl
        .run_with_input(
            &[
                "-n",
                namespace,
                "wait",
                "--for=condition=Ready",
                object,
                "--timeout=300s",
            ],
            None,
        )
        .await;
    if !ready {
        let (_, status) = kubectl
            .run_with_input(&["-n", namespace, "get", object, "-o", "yaml"], None)
            .await;
        let (_, pods) = kubectl
            .run_with_input(&["-n", namespace, "get", "pods", "-o", "wide"], None)
            .await;
        panic!(
            "{object} not Ready: {text}\n--- object:\n{status}\n--- pods:\n{pods}\n--- operator log tail:\n{}",
            tail_of(operator_log)
        );
    }
}

/// A client-credentials access token from auth, asked for through the gateway.
async fn token(gateway: &str, client_id: &str, client_secret: &str) -> Option<String> {
    let response = reqwest::Client::new()
        .post(format!("http://{gateway}:8080/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ])
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    body["access_token"].as_str().map(str::to_owned)
}

/// Ada's access token from the first-party app `shop-web` (password grant, via the gateway).
async fn sign_in(base: &str, app_secret: &str) -> String {
    let signed_in: Value = reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", ADA_EMAIL),
            ("password", ADA_PASSWORD),
            ("client_id", "shop-web"),
            ("client_secret", app_secret),
        ])
        .send()
        .await
        .expect("auth answers")
        .json()
        .await
        .expect("token JSON");
    signed_in["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a user token: {signed_in}"))
        .to_owned()
}

/// Generates copy for the sample product through the gateway; `None` until it answers 2xx.
async fn generate_via_gateway(
    gateway: &str,
    namespace: &str,
    token: &str,
    tone: &str,
) -> Option<String> {
    let response = reqwest::Client::new()
        .post(format!(
            "http://{gateway}:8080/v1/pipelines/{namespace}/{PIPELINE}/v1/generate"
        ))
        .bearer_auth(token)
        .json(&json!({"context": {"sku": SKU, "tone": tone}}))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    Some(body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn samples_deploy_generate_through_the_gateway_and_clean_up() {
    let _one_cluster_at_a_time = crate::serial().await;
    let backing = BackingServices::load_or_panic();
    let unique = machina_devenv::unique_name("e2e-samples");
    let namespace = unique.replace('_', "-");
    let prefix = unique.replace('-', "_");
    let vhost = format!("{namespace}.acme");
    let harness = Harness::start("samples").await;
    let kubectl = harness.kubectl.clone();
    let client = harness.client();

    kubectl.ok(&["create", "namespace", &namespace]).await;
    kubectl
        .ok(&[
            "label",
            "namespace",
            &namespace,
            "machina.dev/platform=acme",
        ])
        .await;
    for secret in backend_secrets(&backing, "acme") {
        kubectl.apply(&namespace, &secret).await;
    }
    // The LLM stand-in (and the API-key Secret the pipeline references).
    let llm = std::fs::read_to_string(harness.root.join("e2e/manifests/llm-mock.yaml"))
        .expect("e2e/manifests/llm-mock.yaml");
    kubectl.apply(&namespace, &llm).await;
    // The product the pipeline's LookupDocument component reads.
    let mongo = backing.mongodb().await.expect("MongoDB (run devenv/up.sh)");
    let content_db = format!("{prefix}_content");
    mongo
        .database(&content_db)
        .collection::<mongodb::bson::Document>("products")
        .insert_one(mongodb::bson::doc! {
            "sku": SKU, "name": "Aurora Lamp", "category": "Lighting",
            "features": ["dimmable", "USB-C"],
        })
        .await
        .expect("seed the product");

    let operator_log = harness.state_dir.join("operator.log");
    let operator = Operator::start(
        &harness.bin_dir,
        harness.kubeconfig(),
        &namespace,
        &harness.hosts_file(&namespace),
        &operator_log,
    );
    for file in [
        "platform.yaml",
        "template-product-prompt.yaml",
        "template-product-page.yaml",
        "contentpipeline.yaml",
        "analyticsjob.yaml",
    ] {
        kubectl
            .apply(&namespace, &sample(&harness, file, &namespace, &prefix))
            .await;
    }

    for object in [
        "platform/acme",
        "template/product-prompt",
        "template/product-page",
        "contentpipeline/product-copy",
        "analyticsjob/content-engagement",
    ] {
        wait_ready(&kubectl, &namespace, object, &operator_log).await;
    }
    let status = eventually("the pipeline's status", CONVERGE, || {
        current_status(
            &client,
            &namespace,
            "ContentPipeline",
            "contentpipelines",
            PIPELINE,
        )
    })
    .await;

    // `kubectl logs`: the API server proxies to the process kubelet's endpoint.
    let logs = kubectl
        .ok(&[
            "-n",
            &namespace,
            "logs",
            "-l",
            "app=llm-gateway",
            "--tail=5",
        ])
        .await;
    assert!(logs.contains("mock OpenAI API on"), "kubectl logs: {logs}");

    // A client signs in (client credentials, through the gateway) and generates.
    let gateway = eventually("the gateway's address", CONVERGE, || async {
        harness.service_address(&namespace, "acme-gateway")
    })
    .await;
    let client_id =
        secret_value(&client, &namespace, "acme-auth-connection", "adminClientId").await;
    let client_secret = secret_value(
        &client,
        &namespace,
        "acme-auth-connection",
        "adminClientSecret",
    )
    .await;
    let access = eventually("a token from auth through the gateway", CONVERGE, || {
        token(&gateway, &client_id, &client_secret)
    })
    .await;
    let page = eventually("generated copy through the gateway", CONVERGE, || {
        generate_via_gateway(&gateway, &namespace, &access, "premium")
    })
    .await;
    assert!(page.contains("Aurora, reimagined"), "{page}");
    assert!(page.contains("<h2>"), "{page}");
    assert!(page.contains(SKU), "{page}");

    // A user registers (users → auth), signs in through a first-party app (password grant),
    // reads their profile and generates with their own token.
    let http = reqwest::Client::new();
    let base = format!("http://{gateway}:8080");
    let app: Value = http
        .post(format!("{base}/auth/v1/admin/clients"))
        .bearer_auth(&access)
        .json(&json!({
            "clientId": "shop-web", "name": "Shop web", "firstParty": true,
            "grantTypes": ["password", "refresh_token"],
        }))
        .send()
        .await
        .expect("auth answers")
        .json()
        .await
        .expect("client JSON");
    let app_secret = app["clientSecret"]
        .as_str()
        .expect("the new client's secret");
    let registered = http
        .post(format!("{base}/v1/users/register"))
        .json(&json!({"email": ADA_EMAIL, "username": "ada", "password": ADA_PASSWORD}))
        .send()
        .await
        .expect("users answers");
    assert_eq!(registered.status(), 201, "{:?}", registered.text().await);
    let user_token = sign_in(&base, app_secret).await;
    let me: Value = http
        .get(format!("{base}/v1/users/me"))
        .bearer_auth(&user_token)
        .send()
        .await
        .expect("users answers")
        .json()
        .await
        .expect("profile JSON");
    assert_eq!(me["email"], ADA_EMAIL, "{me}");
    let page = generate_via_gateway(&gateway, &namespace, &user_token, "premium")
        .await
        .expect("the user generates through the gateway");
    assert!(page.contains("Aurora, reimagined"), "{page}");

    // The admin makes Ada an editor; with a fresh token she creates and publishes an article,
    // uploads an image and fetches a WebP thumbnail of it, all through the gateway.
    let ada = me["id"].as_str().expect("profile id").to_owned();
    let ok = |what: &'static str| {
        move |r: reqwest::Response| {
            assert!(r.status().is_success(), "{what}: {}", r.status());
            r
        }
    };
    let role = http
        .put(format!("{base}/auth/v1/admin/roles/editor"))
        .bearer_auth(&access)
        .json(&json!({"permissions": ["content:admin", "media:write"]}))
        .send()
        .await
        .expect("auth answers");
    ok("create the editor role")(role);
    let granted = http
        .put(format!("{base}/auth/v1/admin/users/{ada}/roles"))
        .bearer_auth(&access)
        .json(&json!({"roles": ["editor"]}))
        .send()
        .await
        .expect("auth answers");
    ok("grant the editor role")(granted);
    // A new token carries the new role's permissions.
    let editor = sign_in(&base, app_secret).await;
    let created = http
        .post(format!("{base}/v1/content/types"))
        .bearer_auth(&editor)
        .json(&json!({"id": "article", "fields": [{"name": "title", "kind": "text", "required": true}]}))
        .send()
        .await
        .expect("content answers");
    assert_eq!(created.status(), 201, "{:?}", created.text().await);
    let entry: Value = http
        .post(format!("{base}/v1/content/entries"))
        .bearer_auth(&editor)
        .json(&json!({"type": "article", "slug": "aurora", "fields": {"title": "Aurora"}}))
        .send()
        .await
        .map(ok("create an entry"))
        .expect("content answers")
        .json()
        .await
        .expect("entry JSON");
    let entry_id = entry["id"].as_str().expect("entry id");
    let published = http
        .post(format!("{base}/v1/content/entries/{entry_id}/transitions"))
        .bearer_auth(&editor)
        .json(&json!({"to": "published"}))
        .send()
        .await
        .expect("content answers");
    ok("publish")(published);
    let public: Value = http
        .get(format!("{base}/v1/content/published/article/aurora"))
        .bearer_auth(&editor)
        .send()
        .await
        .map(ok("read the published copy"))
        .expect("content answers")
        .json()
        .await
        .expect("published JSON");
    assert_eq!(public["fields"]["title"], "Aurora", "{public}");
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(320, 200, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    })
    .write_to(&mut png, image::ImageFormat::Png)
    .expect("encode a PNG");
    let upload = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png.into_inner())
            .file_name("hero.png")
            .mime_str("image/png")
            .expect("mime"),
    );
    let asset: Value = http
        .post(format!("{base}/v1/media"))
        .bearer_auth(&editor)
        .multipart(upload)
        .send()
        .await
        .map(ok("upload an image"))
        .expect("media answers")
        .json()
        .await
        .expect("asset JSON");
    let asset_id = asset["id"]
        .as_str()
        .unwrap_or_else(|| panic!("asset id: {asset}"));
    let thumbnail = http
        .get(format!(
            "{base}/v1/media/{asset_id}/thumbnail?size=64&format=auto"
        ))
        .bearer_auth(&editor)
        .header("accept", "image/webp,image/*")
        .send()
        .await
        .map(ok("fetch a thumbnail"))
        .expect("media answers");
    assert_eq!(
        thumbnail
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/webp")
    );
    let bytes = thumbnail.bytes().await.expect("thumbnail bytes");
    assert!(
        bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP",
        "a WebP file"
    );

    // Without a token: refused by the gateway, and by the worker reached around it.
    let anonymous = reqwest::Client::new()
        .post(format!(
            "http://{gateway}:8080/v1/pipelines/{namespace}/{PIPELINE}/v1/generate"
        ))
        .json(&json!({"context": {"sku": SKU}}))
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(anonymous.status(), 401);
    let worker = harness
        .service_address(&namespace, PIPELINE)
        .expect("the pipeline's Service address");
    let around = reqwest::Client::new()
        .post(format!("http://{worker}:8080/v1/generate"))
        .json(&json!({"context": {"sku": SKU}}))
        .send()
        .await
        .expect("worker answers");
    assert_eq!(around.status(), 401);

    // The pipeline's MongoDB user, and the page it stored with it.
    let database = status["database"]
        .as_str()
        .expect("status.database")
        .to_owned();
    let user = format!("machina.cp.{namespace}.{PIPELINE}-a");
    assert!(
        mongo_user_exists(&backing, &database, &user).await,
        "MongoDB user {user} in {database}"
    );
    let stored = mongo
        .database(&database)
        .collection::<mongodb::bson::Document>("generated_pages")
        .count_documents(mongodb::bson::doc! {})
        .await
        .expect("count generated pages");
    assert!(
        stored >= 1,
        "the Store component wrote to {database}.generated_pages"
    );

    // The pipeline's Redis instance: password-protected, memory policy from the spec, and
    // holding the Cache component's entry.
    let redis_secret = status["redisSecret"].as_str().expect("status.redisSecret");
    let password = secret_value(&client, &namespace, redis_secret, "password").await;
    let redis_ip = harness
        .service_address(&namespace, &format!("{PIPELINE}-redis"))
        .expect("the Redis Service address");
    let redis =
        redis::Client::open(format!("redis://:{password}@{redis_ip}:6379/")).expect("redis URL");
    let mut redis = redis
        .get_multiplexed_async_connection()
        .await
        .expect("the pipeline's Redis answers with its password");
    let policy: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query_async(&mut redis)
        .await
        .expect("CONFIG GET");
    assert_eq!(policy.get(1).map(String::as_str), Some("allkeys-lru"));
    let keys: i64 = redis::cmd("DBSIZE")
        .query_async(&mut redis)
        .await
        .expect("DBSIZE");
    assert!(keys >= 1, "the Cache component stored its entry");
    let wrong = redis::Client::open(format!("redis://{redis_ip}:6379/")).expect("redis URL");
    let refused: redis::RedisResult<String> = async {
        let mut c = wrong.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async(&mut c).await
    }
    .await;
    assert!(refused.is_err(), "Redis without the password is refused");

    // The pipeline's RabbitMQ queue, bound to the jobs exchange with the spec's key.
    let management = backing.management().expect("management API");
    let queue = status["queue"].as_str().expect("status.queue").to_owned();
    let queue_path = format!("queues/{}/{}", urlencode(&vhost), urlencode(&queue));
    assert!(
        management.get(&queue_path).await.expect("queue").is_some(),
        "queue {queue} in {vhost}"
    );
    let bindings = management
        .get(&format!(
            "bindings/{}/e/machina.jobs/q/{}",
            urlencode(&vhost),
            urlencode(&queue)
        ))
        .await
        .expect("bindings")
        .unwrap_or_default();
    let keys: Vec<&str> = bindings
        .as_array()
        .map(|b| b.iter().filter_map(|b| b["routing_key"].as_str()).collect())
        .unwrap_or_default();
    assert!(keys.contains(&"generate.product.#"), "bindings: {bindings}");

    let rabbit_secret = status["rabbitmqSecret"]
        .as_str()
        .expect("status.rabbitmqSecret");
    let rabbit_user = secret_value(&client, &namespace, rabbit_secret, "username").await;
    let rabbit_user_path = format!("users/{}", urlencode(&rabbit_user));
    assert!(
        management
            .get(&rabbit_user_path)
            .await
            .expect("user")
            .is_some(),
        "RabbitMQ user {rabbit_user}"
    );

    // A Template change shows in new content (another tone: the cache holds the old page).
    let changed = sample(&harness, "template-product-page.yaml", &namespace, &prefix).replace(
        "<h2>{{ copy.headline }}</h2>",
        "<h1 class=\"headline\">{{ copy.headline }}</h1>",
    );
    kubectl.apply(&namespace, &changed).await;
    let page = eventually("content from the changed Template", CONVERGE, || async {
        generate_via_gateway(&gateway, &namespace, &access, "playful")
            .await
            .filter(|p| p.contains("headline"))
    })
    .await;
    assert!(page.contains("Aurora, reimagined"), "{page}");

    // Deleting everything removes the external state.
    kubectl
        .ok(&[
            "-n",
            &namespace,
            "delete",
            "analyticsjob,contentpipeline,template",
            "--all",
            "--timeout=180s",
        ])
        .await;
    kubectl
        .ok(&[
            "-n",
            &namespace,
            "delete",
            "platform/acme",
            "--timeout=180s",
        ])
        .await;
    assert!(
        !mongo_user_exists(&backing, &database, &user).await,
        "MongoDB user {user} dropped"
    );
    assert!(
        management.get(&queue_path).await.expect("queue").is_none(),
        "queue {queue} removed"
    );
    assert!(
        management
            .get(&rabbit_user_path)
            .await
            .expect("user")
            .is_none(),
        "RabbitMQ user {rabbit_user} removed"
    );

    operator.kill().await;
    kubectl
        .ok(&["delete", "namespace", &namespace, "--wait=false"])
        .await;
    harness.stop().await;
    let _ = management.delete_vhost(&vhost).await;
    let _ = mongo.database(&content_db).drop().await;
}
