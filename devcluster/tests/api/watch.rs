//! Watches: kube-runtime's watcher, replay from a resourceVersion, 410 Gone, bookmarks.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::watcher::{self, Event};
use machina_devcluster::Config;
use serde_json::json;

use crate::support::{start, start_with};

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).expect("cm")
}

#[tokio::test]
async fn kube_runtime_watcher_sees_every_change() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client(), "default");
    api.create(&PostParams::default(), &cm("before"))
        .await
        .expect("create");
    let mut stream = watcher::watcher(api.clone(), watcher::Config::default()).boxed();
    let mut seen_init = false;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(30), stream.try_next())
        .await
        .expect("init in time")
        .expect("watch ok")
    {
        match ev {
            Event::InitApply(o) => seen_init |= o.metadata.name.as_deref() == Some("before"),
            Event::InitDone => break,
            _ => {}
        }
    }
    assert!(seen_init, "initial list delivered the existing object");

    api.create(&PostParams::default(), &cm("live"))
        .await
        .expect("create");
    api.patch(
        "live",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "w"}})),
    )
    .await
    .expect("patch");
    api.delete("live", &DeleteParams::default())
        .await
        .expect("delete");
    let mut log = Vec::new();
    while log.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(30), stream.try_next())
            .await
            .expect("event in time")
            .expect("ok")
            .expect("open");
        match ev {
            Event::Apply(o) => log.push(format!(
                "apply {}",
                o.data.and_then(|d| d.get("k").cloned()).unwrap_or_default()
            )),
            Event::Delete(o) => log.push(format!("delete {}", o.metadata.name.unwrap_or_default())),
            _ => {}
        }
    }
    assert_eq!(log, vec!["apply v", "apply w", "delete live"]);
    dc.shutdown().await;
}

#[tokio::test]
async fn watch_from_a_version_replays_and_too_old_is_gone() {
    let dc = start_with(Config {
        watch_history: 8,
        bookmark_interval: Duration::from_millis(200),
        ..Config::default()
    })
    .await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client(), "default");
    let first = api
        .create(&PostParams::default(), &cm("a"))
        .await
        .expect("create");
    let rv = first.metadata.resource_version.clone().expect("rv");
    api.create(&PostParams::default(), &cm("b"))
        .await
        .expect("create");

    let mut replay = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .expect("watch")
        .boxed();
    match replay.try_next().await.expect("ok").expect("event") {
        WatchEvent::Added(o) => assert_eq!(o.metadata.name.as_deref(), Some("b")),
        other => panic!("expected ADDED b, got {other:?}"),
    }

    let mut bookmarks = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .expect("watch")
        .boxed();
    let mut got_bookmark = false;
    while let Some(ev) = bookmarks.try_next().await.expect("ok") {
        if let WatchEvent::Bookmark(b) = ev {
            assert!(!b.metadata.resource_version.is_empty());
            got_bookmark = true;
            break;
        }
    }
    assert!(got_bookmark, "a bookmark arrives");

    for i in 0..20 {
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"i": i.to_string()}})),
        )
        .await
        .expect("patch");
    }
    let mut gone = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .expect("watch")
        .boxed();
    match gone.try_next().await.expect("ok").expect("event") {
        WatchEvent::Error(e) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410, got {other:?}"),
    }
    dc.shutdown().await;
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_end() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client(), "default");
    api.create(&PostParams::default(), &cm("pre"))
        .await
        .expect("create");
    let cfg = watcher::Config::default().streaming_lists();
    let mut stream = watcher::watcher(api.clone(), cfg).boxed();
    let mut names = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), stream.try_next())
            .await
            .expect("in time")
            .expect("ok")
            .expect("open");
        match ev {
            Event::InitApply(o) => names.push(o.metadata.name.unwrap_or_default()),
            Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(names, vec!["pre"]);
    api.create(&PostParams::default(), &cm("post"))
        .await
        .expect("create");
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), stream.try_next())
            .await
            .expect("in time")
            .expect("ok")
            .expect("open");
        if let Event::Apply(o) = ev {
            assert_eq!(o.metadata.name.as_deref(), Some("post"));
            break;
        }
    }
    dc.shutdown().await;
}
