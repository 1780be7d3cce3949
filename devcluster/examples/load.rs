//! Load figures for the README: sequential creates, server-side applies, a full list
//! and watch delivery latency, through kube-rs against an in-process devcluster.
//!
//! `cargo run --release -p machina-devcluster --example load -- 2000`

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use machina_devcluster::{Config, DevCluster};
use serde_json::json;

fn cm(name: &str, i: usize) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"i": (i % 10).to_string()}}, "data": {"k": "v"}}))
        .unwrap_or_default()
}

fn rate(n: usize, d: Duration) -> String {
    format!(
        "{n} in {:.2}s = {:.0}/s",
        d.as_secs_f64(),
        n as f64 / d.as_secs_f64()
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dc = DevCluster::start(Config::default()).await?;
    let api: Api<ConfigMap> = Api::namespaced(dc.client(), "default");

    let t = Instant::now();
    for i in 0..n {
        api.create(&PostParams::default(), &cm(&format!("c{i}"), i))
            .await?;
    }
    println!("create (POST):          {}", rate(n, t.elapsed()));

    let t = Instant::now();
    for i in 0..n {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("a{i}")}, "data": {"k": "v"}});
        api.patch(
            &format!("a{i}"),
            &PatchParams::apply("load").force(),
            &Patch::Apply(&body),
        )
        .await?;
    }
    println!("server-side apply:      {}", rate(n, t.elapsed()));

    let t = Instant::now();
    for i in 0..n {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("a{i}")}, "data": {"k": "v"}});
        api.patch(
            &format!("a{i}"),
            &PatchParams::apply("load").force(),
            &Patch::Apply(&body),
        )
        .await?;
    }
    println!("no-op re-apply:         {}", rate(n, t.elapsed()));

    let t = Instant::now();
    let all = api.list(&ListParams::default()).await?;
    println!(
        "list {} objects:      {:.1} ms",
        all.items.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let some = api.list(&ListParams::default().labels("i=3")).await?;
    println!(
        "list by label ({}):    {:.1} ms",
        some.items.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );

    let rv = all.metadata.resource_version.unwrap_or_default();
    let mut watch = api
        .watch(&WatchParams::default().timeout(60), &rv)
        .await?
        .boxed();
    let mut total = Duration::ZERO;
    let rounds = 200;
    for i in 0..rounds {
        let t = Instant::now();
        api.patch(
            &format!("c{i}"),
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": i.to_string()}})),
        )
        .await?;
        loop {
            if let Some(WatchEvent::Modified(_)) = watch.try_next().await? {
                break;
            }
        }
        total += t.elapsed();
    }
    println!(
        "patch → watch event:    {:.2} ms mean over {rounds}",
        total.as_secs_f64() * 1000.0 / f64::from(rounds)
    );
    dc.shutdown().await;
    Ok(())
}
