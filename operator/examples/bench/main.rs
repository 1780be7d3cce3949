//! Benchmark of the ContentPipeline controller at scale (not a test: it takes minutes).
//!
//! Starts devcluster with the simulated (kwok-style) kubelet and the release operator as
//! separate processes, then:
//!
//! 1. **peer**: a client applies N ContentPipelines and writes their Ready status itself
//!    (no operator): the API server and watch floor of apply → Ready;
//! 2. **operator**: applies N ContentPipelines (the `config/samples` one, numbered) as
//!    fast as the client can and watches each one's Ready condition; the operator
//!    provisions each pipeline's MongoDB user and RabbitMQ user/queues/bindings on the real
//!    backing services and rolls out its worker and Redis Deployments (3 pods per pipeline);
//! 3. checks that every user, queue and binding exists, deletes the pipelines, waits for
//!    the finalizers and checks that they are gone, then removes the run's vhost and
//!    databases.
//!
//! ```sh
//! cargo build --release -p machina-devcluster --bin devcluster \
//!     -p machina-operator --bin machina-operator --example bench
//! "$CARGO_TARGET_DIR"/release/examples/bench --pipelines 1000
//! ```

mod backends;
mod measure;
mod objects;
mod processes;
mod report;

use anyhow::Context as _;
use clap::Parser;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client};
use machina_crds::ContentPipeline;
use machina_devenv::BackingServices;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Benchmark of the ContentPipeline controller.
#[derive(Debug, Parser)]
struct Args {
    /// ContentPipelines to apply.
    #[arg(long, default_value_t = 1000)]
    pipelines: usize,
    /// Applies in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Longest wait for all pipelines to be Ready (and, later, gone), seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// Skip the peer (API-only) run.
    #[arg(long)]
    skip_peer: bool,
    /// Only remove what the aborted run `<id>` (its work directory's suffix) left in the
    /// backends, then exit.
    #[arg(long, value_name = "ID")]
    clean_up: Option<u64>,
    /// The operator binary to measure (default: the release build next to this example),
    /// e.g. `target/shipped/machina-operator` built with `--profile shipped`.
    #[arg(long, value_name = "PATH")]
    operator: Option<std::path::PathBuf>,
}

/// Timings of one rollout.
#[derive(Debug, Default)]
pub struct Rollout {
    /// Time to apply every object (client side).
    pub apply_total: Duration,
    /// Time from the first apply to the last Ready.
    pub all_ready: Duration,
    /// Per object: from the start of its apply to its Ready, seconds.
    pub latencies: Vec<f64>,
    /// Per object: the same minus the operator's provisioning time for it, seconds.
    pub latencies_excluding_provisioning: Vec<f64>,
    /// Per object: the operator's provisioning time before Ready, seconds.
    pub provisioning: Vec<f64>,
    /// Highest operator resident set sampled during the rollout.
    pub peak_rss_kib: u64,
    /// Each object and the start of its apply.
    applied: Vec<(String, Instant)>,
    /// When each object was seen Ready.
    ready: std::collections::HashMap<String, (Instant, std::time::SystemTime)>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("repository root")?
        .to_owned();
    let services = BackingServices::load()?;
    let names: Vec<String> = (0..args.pipelines).map(objects::pipeline_name).collect();
    let ns = "bench";
    if let Some(id) = args.clean_up {
        let (prefix, vhost) = (format!("bench{id}"), format!("bench-{id}"));
        return backends::remove_leftovers(&services, &prefix, &vhost, ns, &names).await;
    }
    let id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let (prefix, vhost) = (format!("bench{id}"), format!("bench-{id}"));
    let work = std::env::temp_dir().join(format!("machina-opbench-{id}"));
    std::fs::create_dir_all(&work)?;
    let bin = processes::bin_dir()?;
    eprintln!("work directory {} (logs)", work.display());

    let devcluster = processes::start_devcluster(&bin, &root, &work).await?;
    let client = objects::client(&work.join("kubeconfig")).await?;
    objects::install_crds(&client, &root).await?;
    let sample = objects::sample_pipeline(&root)?;
    let timeout = Duration::from_secs(args.timeout);

    let peer = if args.skip_peer {
        None
    } else {
        eprintln!(
            "peer: {} pipelines, Ready written by the client",
            args.pipelines
        );
        Some(peer(&client, &sample, &args, timeout).await?)
    };

    objects::namespace(&client, ns).await?;
    objects::platform(&client, &root, ns, &services, &prefix, &vhost).await?;
    let port = processes::free_port()?;
    let operator_bin = args
        .operator
        .clone()
        .unwrap_or_else(|| bin.join("machina-operator"));
    let operator = processes::start_operator(&operator_bin, &work, ns, port).await?;
    let idle = operator.memory();
    eprintln!("operator: {} pipelines", args.pipelines);
    let api: Api<ContentPipeline> = Api::namespaced(client.clone(), ns);
    let mut rollout = rollout(&api, &sample, ns, &args, timeout, Some(&operator)).await?;
    let at_ready = operator.memory();
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await?
        .text()
        .await?;
    let found = backends::count(&services, &prefix, &vhost, ns, &names).await?;
    // Provisioning per object, from the operator's log (written before Ready).
    attribute_provisioning(&mut rollout, &work.join("operator.log"));

    eprintln!("deleting the pipelines");
    let deletion_started = Instant::now();
    api.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    wait_until(timeout, "every pipeline finalized", || async {
        Ok(api.list(&ListParams::default()).await?.items.is_empty())
    })
    .await?;
    let deletion = deletion_started.elapsed();
    let gone = backends::count(&services, &prefix, &vhost, ns, &names).await?;
    let at_end = operator.memory();
    let devcluster_memory = devcluster.memory();
    operator.stop().await;
    devcluster.stop().await;
    backends::remove_leftovers(&services, &prefix, &vhost, ns, &names).await?;

    report::print(&report::Report {
        pipelines: args.pipelines,
        concurrency: args.concurrency,
        peer: peer.as_ref(),
        operator: &rollout,
        memory: [idle, at_ready, at_end],
        devcluster: devcluster_memory,
        metrics: &metrics,
        found,
        gone,
        deletion,
    });
    let complete = found.mongo_users == args.pipelines
        && found.queues == args.pipelines
        && gone == backends::Found::default();
    anyhow::ensure!(
        complete,
        "backends not as expected: {found:?} after the rollout, {gone:?} after the deletion"
    );
    let _ = std::fs::remove_dir_all(work.join("node"));
    Ok(())
}

/// The peer: the same objects, Ready written by the client right after each apply.
async fn peer(
    client: &Client,
    sample: &Value,
    args: &Args,
    timeout: Duration,
) -> anyhow::Result<Rollout> {
    let ns = "bench-peer";
    objects::namespace(client, ns).await?;
    let api: Api<ContentPipeline> = Api::namespaced(client.clone(), ns);
    let rollout = rollout(&api, sample, ns, args, timeout, None).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces.delete(ns, &DeleteParams::default()).await?;
    wait_until(timeout, "the peer's namespace gone", || async {
        Ok(namespaces.get_opt(ns).await?.is_none())
    })
    .await?;
    Ok(rollout)
}

/// Applies the pipelines and waits until each is Ready. Without an operator, the client
/// writes each one's Ready status after applying it (the peer).
async fn rollout(
    api: &Api<ContentPipeline>,
    sample: &Value,
    ns: &str,
    args: &Args,
    timeout: Duration,
    operator: Option<&processes::Proc>,
) -> anyhow::Result<Rollout> {
    let (ready, watch) = measure::watch_ready(api.clone());
    // Let the watch list (nothing) and start before the first apply.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let peer = operator.is_none();
    let applied: Vec<(String, Instant)> = futures::stream::iter(0..args.pipelines)
        .map(|i| async move {
            let name = objects::pipeline_name(i);
            let begun = Instant::now();
            objects::apply_pipeline(api, &objects::pipeline(sample, ns, &name), &name).await?;
            if peer {
                let now = k8s_openapi::jiff::Timestamp::now().to_string();
                objects::apply_status(api, &name, &objects::ready_status(&name, ns, &now)).await?;
            }
            anyhow::Ok((name, begun))
        })
        .buffer_unordered(args.concurrency)
        .try_collect()
        .await?;
    let apply_total = started.elapsed();
    let mut peak_rss_kib = 0;
    while measure::ready_count(&ready) < args.pipelines {
        anyhow::ensure!(
            started.elapsed() < timeout,
            "only {} of {} pipelines Ready after {timeout:?}",
            measure::ready_count(&ready),
            args.pipelines
        );
        peak_rss_kib = peak_rss_kib.max(operator.map_or(0, |o| o.memory().rss_kib));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let all_ready = started.elapsed();
    watch.abort();
    let ready = ready.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let latencies = applied
        .iter()
        .filter_map(|(name, begun)| ready.get(name).map(|(at, _)| (*at - *begun).as_secs_f64()))
        .collect();
    Ok(Rollout {
        apply_total,
        all_ready,
        latencies,
        peak_rss_kib,
        applied,
        ready,
        ..Rollout::default()
    })
}

/// Fills the provisioning figures of `rollout` from the operator's log.
fn attribute_provisioning(rollout: &mut Rollout, log: &Path) {
    let ready_wall = rollout
        .ready
        .iter()
        .map(|(name, (_, wall))| (name.clone(), *wall))
        .collect();
    let spent = measure::provisioning_per_pipeline(log, &ready_wall);
    let mut provisioning = Vec::new();
    let mut excluding = Vec::new();
    for (name, begun) in &rollout.applied {
        let Some(latency) = rollout
            .ready
            .get(name)
            .map(|(at, _)| (*at - *begun).as_secs_f64())
        else {
            continue;
        };
        let own = spent.get(name).copied().unwrap_or_default().as_secs_f64();
        provisioning.push(own);
        excluding.push((latency - own).max(0.0));
    }
    rollout.provisioning = provisioning;
    rollout.latencies_excluding_provisioning = excluding;
}

/// Polls `done` every 200 ms until it is true, for at most `timeout`.
async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut done: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    while !done().await? {
        anyhow::ensure!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Memory figures in MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
