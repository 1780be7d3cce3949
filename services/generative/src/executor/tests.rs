//! The executor end to end on the sample definition, with in-memory backends, the test
//! renderer and [`MockOpenAi`]: results, traces, cache hits, errors and resumed runs.

use super::*;
use crate::llm::{LlmClient, LlmConfig};
use crate::testing::{
    MemoryCache, MemoryCheckpoints, MemoryDocuments, MemoryPublisher, MockOpenAi, MockReply,
    TestRenderer,
};
use serde_json::json;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../config/samples/contentpipeline.yaml"
);

/// The sample pipeline wired to in-memory backends and a mock LLM.
struct Harness {
    mock: MockOpenAi,
    documents: Arc<MemoryDocuments>,
    cache: Arc<MemoryCache>,
    publisher: Arc<MemoryPublisher>,
    renderer: Arc<TestRenderer>,
    executor: Executor,
}

async fn mk_harness() -> Harness {
    let definition = Arc::new(Definition::load(SAMPLE).expect("sample loads"));
    let mock = MockOpenAi::start().await.expect("mock starts");
    mock.set_default(MockReply::Content(r#"{"title": "Bright Lamp"}"#.into()));
    let provider = definition.spec.llm.clone().expect("sample has an LLM");
    let mut config = LlmConfig::from_provider(&provider, None);
    config.primary.base_url = mock.base_url();
    let documents = Arc::new(MemoryDocuments::new());
    documents.insert("products", json!({"sku": "ABC-123", "name": "Lamp"}));
    let cache = Arc::new(MemoryCache::new());
    let publisher = Arc::new(MemoryPublisher::new());
    let renderer = Arc::new(
        TestRenderer::new()
            .with_template(
                "prompt",
                "Describe {{ product.name }} in a {{ tone }} tone.",
            )
            .with_template(
                "page",
                "<h1>{{ copy.title }}</h1><p>{{ product.product.name }}</p>",
            ),
    );
    let backends = Backends {
        documents: Some(documents.clone()),
        cache: Some(cache.clone()),
        publisher: Some(publisher.clone()),
        renderer: Some(renderer.clone()),
        llm: Some(Arc::new(LlmClient::new(config))),
    };
    let executor = Executor::new(definition, &backends)
        .expect("sample builds")
        .with_checkpoints(Arc::new(MemoryCheckpoints::new()));
    Harness {
        mock,
        documents,
        cache,
        publisher,
        renderer,
        executor,
    }
}

fn statuses(result: &RunResult) -> Vec<(&str, Status)> {
    result
        .trace
        .iter()
        .map(|e| (e.name.as_str(), e.status))
        .collect()
}

const PAGE: &str = "<h1>Bright Lamp</h1><p>Lamp</p>";

#[tokio::test]
async fn runs_the_sample_pipeline_end_to_end() {
    let h = mk_harness().await;
    let result = h
        .executor
        .run("run-1", json!({"sku": "ABC-123"}))
        .await
        .expect("runs");
    assert_eq!(result.output, json!(PAGE));
    assert_eq!(result.pipeline, "product-copy");
    assert!(!result.cache_hit && !result.resumed);
    let names: Vec<&str> = result.trace.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "request", "cached", "product", "prompt", "copy", "shape", "page", "save", "announce"
        ]
    );
    assert!(result.trace.iter().all(|e| e.status == Status::Ran));
    let copy = &result.trace[4];
    assert_eq!(copy.kind, ComponentType::LlmCompletion);
    assert_eq!(copy.info.model.as_deref(), Some("gpt-4o-mini"));
    assert!(result.usage.total_tokens > 0);
    assert!(result.cost.is_some_and(|c| c > 0.0));
    assert_eq!(result.trace[3].info.template_version, Some(1));

    let prompt = &h.mock.requests()[0].body["messages"][0]["content"];
    assert_eq!(prompt, "Describe Lamp in a neutral tone.");
    let stored = h.documents.documents("generated_pages");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["_id"], "run-1:save");
    assert_eq!(stored[0]["content"], PAGE);
    let messages = h.publisher.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].routing_key, "content.generated.product");
    assert_eq!(messages[0].payload["version"], result.version);
    assert_eq!(h.cache.keys().len(), 1, "the result is cached");

    let trace = serde_json::to_value(&result.trace[1]).expect("serialises");
    assert_eq!(trace["type"], "Cache");
    assert_eq!(trace["cache"]["outcome"], "miss");
}

#[tokio::test]
async fn a_cache_hit_skips_the_components_below_the_cache() {
    let h = mk_harness().await;
    h.executor
        .run("run-1", json!({"sku": "ABC-123"}))
        .await
        .expect("first run");
    let result = h
        .executor
        .run("run-2", json!({"sku": "ABC-123", "tone": "neutral"}))
        .await
        .expect("second run");
    assert!(result.cache_hit);
    assert_eq!(result.output, json!(PAGE));
    assert_eq!(h.mock.request_count(), 1, "no second LLM call");
    let skipped: Vec<&str> = result
        .trace
        .iter()
        .filter(|e| e.status == Status::Skipped)
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(
        skipped,
        [
            "product", "prompt", "copy", "shape", "page", "save", "announce"
        ]
    );
    assert_eq!(result.usage, Usage::default());
    assert_eq!(h.documents.documents("generated_pages").len(), 1);

    let other = h
        .executor
        .run("run-3", json!({"sku": "ABC-123", "tone": "premium"}))
        .await;
    assert!(
        !other.expect("third run").cache_hit,
        "another tone is another key"
    );
}

#[tokio::test]
async fn an_invalid_context_is_a_client_error_naming_the_component() {
    let h = mk_harness().await;
    let err = h
        .executor
        .run("run-1", json!({"sku": "nope"}))
        .await
        .expect_err("invalid");
    assert!(err.is_client_error());
    assert!(
        err.to_string()
            .starts_with("component request failed: the context is invalid"),
        "{err}"
    );
    assert_eq!(h.mock.request_count(), 0);
}

#[tokio::test]
async fn a_missing_document_names_the_lookup_component() {
    let h = mk_harness().await;
    let err = h
        .executor
        .run("run-1", json!({"sku": "ZZZ-999"}))
        .await
        .expect_err("not found");
    let RunError::Component {
        component, kind, ..
    } = &err
    else {
        panic!("unexpected {err}");
    };
    assert_eq!(
        (component.as_str(), *kind),
        ("product", ComponentType::LookupDocument)
    );
    assert!(!err.is_client_error());
}

#[tokio::test]
async fn a_resumed_run_does_not_call_the_llm_again() {
    let h = mk_harness().await;
    h.renderer.fail_template(Some("page"));
    let err = h
        .executor
        .run("job-7", json!({"sku": "ABC-123"}))
        .await
        .expect_err("crashes");
    assert!(
        err.to_string().starts_with("component page failed"),
        "{err}"
    );
    assert_eq!(h.mock.request_count(), 1);
    assert!(h.cache.keys().is_empty(), "a failed run caches nothing");

    h.renderer.fail_template(None);
    let result = h
        .executor
        .run("job-7", json!({"sku": "ABC-123"}))
        .await
        .expect("resumes");
    assert_eq!(h.mock.request_count(), 1, "the LLM step was not redone");
    assert_eq!(result.output, json!(PAGE));
    assert!(result.resumed);
    assert_eq!(
        statuses(&result),
        [
            ("request", Status::Resumed),
            ("cached", Status::Ran),
            ("product", Status::Resumed),
            ("prompt", Status::Resumed),
            ("copy", Status::Resumed),
            ("shape", Status::Resumed),
            ("page", Status::Ran),
            ("save", Status::Ran),
            ("announce", Status::Ran),
        ]
    );
    assert!(
        result.usage.total_tokens > 0,
        "the resumed LLM step's tokens still count"
    );
    assert_eq!(h.documents.documents("generated_pages").len(), 1);
}

fn mk_definition(yaml: &str) -> Arc<Definition> {
    Arc::new(Definition::from_bytes(yaml.as_bytes(), "test").expect("definition"))
}

#[tokio::test]
async fn feeds_the_request_one_input_or_an_object_of_inputs() {
    let definition = mk_definition(
        r#"
platformRef: {name: acme}
components:
  - {name: a, type: TransformJson, transformJson: {expression: "x"}}
  - {name: b, type: TransformJson, transformJson: {expression: "y"}}
  - {name: c, type: TransformJson, inputs: [a], transformJson: {expression: "@"}}
  - {name: d, type: TransformJson, inputs: [c, b], transformJson: {expression: "@"}}
"#,
    );
    let executor = Executor::new(definition, &Backends::default())
        .expect("builds")
        .with_pipeline_name("inline");
    let result = executor
        .run("r", json!({"x": 1, "y": 2}))
        .await
        .expect("runs");
    assert_eq!(result.output, json!({"c": 1, "b": 2}));
    assert_eq!(result.pipeline, "inline");
    assert_eq!(result.cost, None);
}

#[test]
fn building_names_the_component_missing_a_backend_and_rejects_bad_graphs() {
    let definition = mk_definition(
        "platformRef: {name: acme}\ncomponents:\n  - {name: save, type: Store, store: {collection: out}}\n",
    );
    let err = Executor::new(definition, &Backends::default()).expect_err("no store");
    assert_eq!(err.to_string(), "component save cannot be built");
    assert!(matches!(
        err,
        crate::Error::Build { ref source, .. } if matches!(**source, ComponentError::MissingBackend(_))
    ));
    let cyclic = mk_definition(
        "platformRef: {name: acme}\ncomponents:\n  - {name: a, type: TransformJson, inputs: [b], transformJson: {expression: \"@\"}}\n  - {name: b, type: TransformJson, inputs: [a], transformJson: {expression: \"@\"}}\n",
    );
    let err = Executor::new(cyclic, &Backends::default()).expect_err("cycle");
    assert_eq!(err.to_string(), "components form a cycle: a -> b -> a");
}

#[tokio::test]
async fn a_streaming_run_forwards_the_llm_text() {
    let h = mk_harness().await;
    let (sink, mut deltas) = tokio::sync::mpsc::unbounded_channel();
    let result = h
        .executor
        .run_streaming("run-1", json!({"sku": "ABC-123"}), sink)
        .await
        .expect("runs");
    assert_eq!(result.output, json!(PAGE));
    let mut text = String::new();
    while let Ok(delta) = deltas.try_recv() {
        assert_eq!(delta.component, "copy");
        text.push_str(&delta.text);
    }
    assert_eq!(text, r#"{"title": "Bright Lamp"}"#);
    assert_eq!(h.mock.requests()[0].body["stream"], true);
    assert!(result.usage.total_tokens > 0);
}

#[tokio::test]
async fn independent_components_run_concurrently() {
    let definition = mk_definition(
        r#"
platformRef: {name: acme}
llm: {baseUrl: "http://placeholder", model: m}
components:
  - {name: left, type: LlmCompletion, llmCompletion: {}}
  - {name: right, type: LlmCompletion, llmCompletion: {}}
  - {name: both, type: TransformJson, inputs: [left, right], transformJson: {expression: "[left, right]"}}
"#,
    );
    let mock = MockOpenAi::start().await.expect("mock starts");
    mock.set_default(MockReply::Delayed(
        std::time::Duration::from_millis(500),
        Box::new(MockReply::Content("done".into())),
    ));
    let provider = definition.spec.llm.clone().expect("llm");
    let mut config = LlmConfig::from_provider(&provider, None);
    config.primary.base_url = mock.base_url();
    let backends = Backends {
        llm: Some(Arc::new(LlmClient::new(config))),
        ..Backends::default()
    };
    let executor = Executor::new(definition, &backends).expect("builds");
    let started = std::time::Instant::now();
    let result = executor.run("r", json!({})).await.expect("runs");
    assert_eq!(result.output, json!(["done", "done"]));
    assert_eq!(mock.request_count(), 2);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(950),
        "the two calls overlapped: {:?}",
        started.elapsed()
    );
}
