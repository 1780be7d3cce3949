//! CRD registration, schema validation and defaults, status subresource, generation,
//! finalizers — with the repository's real CRDs and samples.

use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::discovery::Discovery;
use serde_json::json;

use crate::support::{code, dynamic, install_crds, start, status, yaml_docs};

#[tokio::test]
async fn crds_register_their_resources_and_validate_objects() {
    let dc = start().await;
    let client = dc.client();
    install_crds(&client).await;
    let crds = dynamic(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        None,
    );
    let crd = crds.get("platforms.machina.dev").await.expect("crd");
    let conds = crd.data["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .clone();
    assert!(
        conds
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    );

    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let group = discovery.get("machina.dev").expect("machina.dev served");
    let kinds: Vec<String> = group
        .recommended_resources()
        .into_iter()
        .map(|(ar, _)| ar.kind)
        .collect();
    for k in ["AnalyticsJob", "ContentPipeline", "Platform", "Template"] {
        assert!(kinds.contains(&k.to_owned()), "{k} in discovery: {kinds:?}");
    }

    let sample = yaml_docs("config/samples/contentpipeline.yaml").remove(0);
    let api = dynamic(
        &client,
        "machina.dev/v1alpha1",
        "ContentPipeline",
        "contentpipelines",
        Some("default"),
    );
    let obj: kube::api::DynamicObject = serde_json::from_value(sample.clone()).expect("sample");
    let created = api
        .create(&PostParams::default(), &obj)
        .await
        .expect("create sample");
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.data["spec"]["deletionPolicy"].is_string(),
        "schema default applied: {}",
        created.data["spec"]
    );

    let mut bad = sample.clone();
    bad["metadata"]["name"] = json!("bad-one");
    bad["spec"]["replicas"] = json!(-3);
    let bad: kube::api::DynamicObject = serde_json::from_value(bad).expect("bad");
    let err = api.create(&PostParams::default(), &bad).await.unwrap_err();
    assert_eq!((code(&err), status(&err).reason.as_str()), (422, "Invalid"));
    let st = status(&err);
    assert!(
        st.message
            .starts_with("ContentPipeline.machina.dev \"bad-one\" is invalid: "),
        "{}",
        st.message
    );
    let causes = &st.details.as_ref().expect("details").causes;
    assert!(
        causes.iter().any(|c| c.field == "spec.replicas"),
        "{causes:?}"
    );
    assert_eq!(
        code(&api.get("bad-one").await.unwrap_err()),
        404,
        "nothing written"
    );
    dc.shutdown().await;
}

#[tokio::test]
async fn status_subresource_generation_and_finalizers() {
    let dc = start().await;
    let client = dc.client();
    install_crds(&client).await;
    let api = dynamic(
        &client,
        "machina.dev/v1alpha1",
        "Platform",
        "platforms",
        Some("default"),
    );
    let mut sample = yaml_docs("config/samples/platform.yaml").remove(0);
    sample["status"] = json!({"version": "ignored"});
    let obj: kube::api::DynamicObject = serde_json::from_value(sample).expect("sample");
    let created = api
        .create(&PostParams::default(), &obj)
        .await
        .expect("create");
    assert!(
        created.data.get("status").is_none(),
        "status dropped on create"
    );

    let st = api
        .patch_status(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"version": "1.0", "observedGeneration": 1}})),
        )
        .await
        .expect("status patch");
    assert_eq!(
        st.metadata.generation,
        Some(1),
        "status writes keep generation"
    );
    assert_eq!(st.data["status"]["version"], "1.0");

    let main = api
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"version": "x"}, "metadata": {"labels": {"l": "1"}}})),
        )
        .await
        .expect("main patch");
    assert_eq!(
        main.data["status"]["version"], "1.0",
        "main endpoint ignores status"
    );
    assert_eq!(
        main.metadata.generation,
        Some(1),
        "metadata changes keep generation"
    );

    let spec = api
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"observability": {"logLevel": "debug"}}})),
        )
        .await
        .expect("spec patch");
    assert_eq!(
        spec.metadata.generation,
        Some(2),
        "spec change bumps generation"
    );

    api.patch(
        "acme",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["machina.dev/cleanup"]}})),
    )
    .await
    .expect("finalizer");
    api.delete("acme", &DeleteParams::default())
        .await
        .expect("delete");
    let pending = api.get("acme").await.expect("still there");
    assert!(pending.metadata.deletion_timestamp.is_some());
    let blocked = api
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"observability": {"logLevel": "info"}}})),
        )
        .await
        .expect("updates still allowed");
    assert!(blocked.metadata.deletion_timestamp.is_some());
    api.patch(
        "acme",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove finalizer");
    assert_eq!(code(&api.get("acme").await.unwrap_err()), 404);
    dc.shutdown().await;
}

#[tokio::test]
async fn deleting_a_crd_removes_its_objects_and_its_api() {
    let dc = start().await;
    let client = dc.client();
    install_crds(&client).await;
    let api = dynamic(
        &client,
        "machina.dev/v1alpha1",
        "Template",
        "templates",
        Some("default"),
    );
    let t: kube::api::DynamicObject =
        serde_json::from_value(yaml_docs("config/samples/template-product-page.yaml").remove(0))
            .expect("tpl");
    api.create(&PostParams::default(), &t)
        .await
        .expect("create");
    let crds = dynamic(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        None,
    );
    crds.delete("templates.machina.dev", &DeleteParams::default())
        .await
        .expect("delete crd");
    assert_eq!(
        code(&crds.get("templates.machina.dev").await.unwrap_err()),
        404
    );
    assert_eq!(code(&api.list(&Default::default()).await.unwrap_err()), 404);
    dc.shutdown().await;
}
