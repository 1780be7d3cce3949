//! CRUD, errors, optimistic concurrency, selectors, pagination, patches, SSA.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::{code, start, status};

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})).expect("cm")
}

#[tokio::test]
async fn create_get_update_delete_with_apiserver_errors() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client(), "default");
    let created = api
        .create(&PostParams::default(), &cm("one", json!({})))
        .await
        .expect("create");
    let md = &created.metadata;
    assert!(md.uid.is_some() && md.creation_timestamp.is_some() && md.resource_version.is_some());

    let dup = api
        .create(&PostParams::default(), &cm("one", json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        (code(&dup), status(&dup).reason.as_str()),
        (409, "AlreadyExists")
    );
    assert_eq!(status(&dup).message, "configmaps \"one\" already exists");

    let mut stale = created.clone();
    let mut fresh = created.clone();
    fresh.data = Some([("k".to_owned(), "w".to_owned())].into());
    let updated = api
        .replace("one", &PostParams::default(), &fresh)
        .await
        .expect("replace");
    assert_ne!(
        updated.metadata.resource_version,
        created.metadata.resource_version
    );
    stale.data = Some([("k".to_owned(), "x".to_owned())].into());
    let conflict = api
        .replace("one", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert_eq!(
        (code(&conflict), status(&conflict).reason.as_str()),
        (409, "Conflict")
    );
    assert_eq!(
        api.get("one").await.expect("get").data,
        updated.data,
        "stale write changed nothing"
    );

    let missing = api.get("nope").await.unwrap_err();
    assert_eq!(
        (code(&missing), status(&missing).message.as_str()),
        (404, "configmaps \"nope\" not found")
    );

    let other_ns: Api<ConfigMap> = Api::namespaced(dc.client(), "no-such-ns");
    let e = other_ns
        .create(&PostParams::default(), &cm("x", json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e), status(&e).message.as_str()),
        (404, "namespaces \"no-such-ns\" not found")
    );

    let bad = api
        .create(&PostParams::default(), &cm("Bad_Name", json!({})))
        .await
        .unwrap_err();
    assert_eq!((code(&bad), status(&bad).reason.as_str()), (422, "Invalid"));
    let causes = status(&bad)
        .details
        .as_ref()
        .expect("details")
        .causes
        .clone();
    assert_eq!(causes[0].field, "metadata.name");

    api.delete("one", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(code(&api.get("one").await.unwrap_err()), 404);
    dc.shutdown().await;
}

#[tokio::test]
async fn selectors_and_pagination() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client(), "default");
    for i in 0..5 {
        let tier = if i % 2 == 0 { "even" } else { "odd" };
        api.create(
            &PostParams::default(),
            &cm(&format!("c{i}"), json!({"tier": tier})),
        )
        .await
        .expect("create");
    }
    let even = api
        .list(&ListParams::default().labels("tier=even"))
        .await
        .expect("list");
    assert_eq!(even.items.len(), 3);
    let not_odd = api
        .list(&ListParams::default().labels("tier notin (odd)"))
        .await
        .expect("list");
    assert_eq!(not_odd.items.len(), 3);
    let named = api
        .list(&ListParams::default().fields("metadata.name=c1"))
        .await
        .expect("list");
    assert_eq!(named.items.len(), 1);

    let mut names = Vec::new();
    let mut lp = ListParams::default().limit(2);
    loop {
        let page = api.list(&lp).await.expect("page");
        assert!(page.items.len() <= 2);
        names.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    assert_eq!(names, vec!["c0", "c1", "c2", "c3", "c4"]);
    let bad = api
        .list(&ListParams::default().labels("a b"))
        .await
        .unwrap_err();
    assert_eq!(code(&bad), 400);
    dc.shutdown().await;
}

#[tokio::test]
async fn merge_json_and_strategic_patches() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client(), "default");
    api.create(&PostParams::default(), &cm("p", json!({"a": "1"})))
        .await
        .expect("create");
    let pp = PatchParams::default();
    let merged = api
        .patch(
            "p",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"a": null, "b": "2"}}})),
        )
        .await
        .expect("merge");
    assert_eq!(
        merged.metadata.labels,
        Some([("b".to_owned(), "2".to_owned())].into())
    );

    let ok: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/k", "value": "v"},
        {"op": "replace", "path": "/data/k", "value": "w"}]))
    .expect("patch");
    let patched = api
        .patch("p", &pp, &Patch::<()>::Json(ok))
        .await
        .expect("json patch");
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(String::as_str),
        Some("w")
    );
    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/k", "value": "v"},
        {"op": "replace", "path": "/data/k", "value": "z"}]))
    .expect("patch");
    let e = api
        .patch("p", &pp, &Patch::<()>::Json(failing))
        .await
        .unwrap_err();
    assert_eq!(code(&e), 422);
    assert_eq!(
        api.get("p").await.expect("get").data,
        patched.data,
        "failed test op wrote nothing"
    );

    let strategic = api
        .patch("p", &pp, &Patch::Strategic(json!({"data": {"n": "1"}})))
        .await
        .expect("strategic");
    assert_eq!(strategic.data.as_ref().map(|d| d.len()), Some(2));
    dc.shutdown().await;
}

fn deployment(replicas: i32, image: &str) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}}})
}

#[tokio::test]
async fn server_side_apply_owners_conflicts_and_force() {
    let dc = start().await;
    let api: Api<Deployment> = Api::namespaced(dc.client(), "default");
    let first = api
        .patch(
            "web",
            &PatchParams::apply("machina-operator"),
            &Patch::Apply(deployment(2, "a:1")),
        )
        .await
        .expect("apply");
    assert_eq!(first.metadata.generation, Some(1));
    let again = api
        .patch(
            "web",
            &PatchParams::apply("machina-operator"),
            &Patch::Apply(deployment(2, "a:1")),
        )
        .await
        .expect("reapply");
    assert_eq!(
        again.metadata.resource_version, first.metadata.resource_version,
        "re-applying is a no-op"
    );

    let other = api.patch("web", &PatchParams::apply("someone"), &Patch::Apply(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}}))).await.unwrap_err();
    assert_eq!(code(&other), 409);
    let st = status(&other);
    assert_eq!(
        st.message,
        "Apply failed with 1 conflict: conflict with \"machina-operator\" using apps/v1: .spec.replicas"
    );
    assert_eq!(
        st.details.as_ref().expect("details").causes[0].field,
        ".spec.replicas"
    );

    let forced = api.patch("web", &PatchParams::apply("someone").force(), &Patch::Apply(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}}))).await.expect("force");
    assert_eq!(forced.spec.replicas, Some(5));
    assert_eq!(forced.metadata.generation, Some(2));
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, vec!["machina-operator", "someone"]);

    // The operator drops a label it applied; the field goes away.
    let mut with_label = deployment(2, "a:1");
    with_label["metadata"]["labels"] = json!({"x": "1"});
    api.patch(
        "web",
        &PatchParams::apply("machina-operator").force(),
        &Patch::Apply(&with_label),
    )
    .await
    .expect("label");
    let dropped = api
        .patch(
            "web",
            &PatchParams::apply("machina-operator").force(),
            &Patch::Apply(deployment(2, "a:2")),
        )
        .await
        .expect("drop");
    assert!(dropped.metadata.labels.is_none_or(|l| l.is_empty()));
    assert_eq!(dropped.spec.replicas, Some(2));

    let no_manager = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Apply(deployment(2, "a:1")),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&no_manager), 400);
    dc.shutdown().await;
}

#[tokio::test]
async fn namespace_deletion_removes_its_objects() {
    let dc = start().await;
    let nss: Api<Namespace> = Api::all(dc.client());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "team-a"}})).expect("ns"),
    )
    .await
    .expect("ns");
    let api: Api<ConfigMap> = Api::namespaced(dc.client(), "team-a");
    api.create(&PostParams::default(), &cm("c", json!({})))
        .await
        .expect("cm");
    nss.delete("team-a", &DeleteParams::default())
        .await
        .expect("delete ns");
    assert_eq!(code(&api.get("c").await.unwrap_err()), 404);
    assert_eq!(code(&nss.get("team-a").await.unwrap_err()), 404);
    dc.shutdown().await;
}
