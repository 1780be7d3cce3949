//! Loops (Repeat components) through the API: a draft regenerated with the check's
//! feedback until it fits, a loop failing at its cap (sync: a 422 naming the loop and the
//! cap; async: a failed job, not retried), with checkpoints in MongoDB.

use crate::support::{Env, Options};
use machina_generative::testing::MockReply;
use serde_json::json;
use std::time::Duration;

/// `request` → `product` → loop `refine` (ask → draft → check, at most 2 iterations) →
/// `save`; a title fits at 10 characters at most. The mock's default answer (`Bright
/// Lamp`, 11 characters) never fits.
fn loop_definition(llm: &str, database: &str) -> String {
    format!(
        r#"metadata: {{name: tagline}}
kind: ContentPipeline
spec:
  platformRef: {{name: acme}}
  llm: {{baseUrl: "{llm}", model: gpt-test, timeoutSeconds: 10, maxRetries: 0}}
  components:
    - {{name: request, type: ValidateContext, validateContext: {{schema: {{type: object, required: [sku]}}}}}}
    - name: product
      type: LookupDocument
      inputs: [request]
      lookupDocument: {{database: {database}, collection: products, filter: {{sku: "{{{{ context.sku }}}}"}}, into: product}}
    - name: refine
      type: Repeat
      repeat:
        until: check.ok
        maxIterations: 2
        output: draft
        components:
          - name: ask
            type: TransformJson
            inputs: [product, refine]
            transformJson: {{expression: "{{product: product.product.name, previous: refine.draft.title, feedback: refine.check.feedback}}"}}
          - {{name: draft, type: LlmCompletion, inputs: [ask], llmCompletion: {{jsonMode: true}}}}
          - name: check
            type: TransformJson
            inputs: [draft]
            transformJson: {{expression: "{{ok: length(title) <= `10`, feedback: 'at most 10 characters'}}"}}
    - {{name: save, type: Store, inputs: [refine], store: {{collection: taglines}}}}
  output: refine
"#
    )
}

fn options() -> Options {
    Options {
        definition: loop_definition,
        ..Options::default()
    }
}

#[tokio::test]
async fn a_loop_regenerates_until_its_check_passes() {
    let env = Env::new(options()).await;
    env.mock.push(MockReply::Content(
        r#"{"title": "A far too long title"}"#.into(),
    ));
    env.mock
        .push(MockReply::Content(r#"{"title": "Lamp"}"#.into()));
    let mut app = env.worker().await;
    app.start_worker();

    let (status, result, _) = app
        .post("/v1/generate", &json!({"context": {"sku": "ABC-123"}}))
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(
        result["output"],
        json!({"output": {"title": "Lamp"}, "iterations": 2, "conditionMet": true})
    );
    assert_eq!(env.mock.request_count(), 2, "the LLM was asked twice");
    let second = env.mock.requests()[1].body["messages"].to_string();
    assert!(
        second.contains("at most 10 characters") && second.contains("A far too long title"),
        "the second prompt carries the feedback: {second}"
    );
    let drafts: Vec<(&str, u64)> = result["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .filter(|e| e["name"] == "draft")
        .map(|e| {
            assert_eq!(e["loop"], "refine", "{e}");
            assert!(e["durationMs"].as_f64().is_some(), "{e}");
            (
                e["status"].as_str().unwrap_or_default(),
                e["iteration"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(drafts, [("ran", 1), ("ran", 2)]);
    let stored = env.documents("taglines").await;
    assert_eq!(stored.len(), 1, "the loop's result is stored once");

    // As a job: the body is checkpointed per iteration in MongoDB, then cleared.
    env.mock.push(MockReply::Content(
        r#"{"title": "Too long a title"}"#.into(),
    ));
    env.mock
        .push(MockReply::Content(r#"{"title": "Lamp"}"#.into()));
    let id = app.submit_job(json!({"sku": "ABC-123"})).await;
    let job = app
        .wait_for_job(&id, "succeeded", Duration::from_secs(20))
        .await;
    assert_eq!(job["result"]["output"]["iterations"], 2, "{job}");
    assert_eq!(env.mock.request_count(), 4);
    // Cleared right after the job is marked succeeded: wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !env.documents("checkpoints").await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the loop's checkpoints were not cleared"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    app.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn a_loop_at_its_cap_fails_naming_the_loop_sync_and_async() {
    let env = Env::new(options()).await;
    let mut app = env.worker().await;
    app.start_worker();

    let (status, problem, _) = app
        .post("/v1/generate", &json!({"context": {"sku": "ABC-123"}}))
        .await;
    assert_eq!(status, 422, "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("loop refine") && detail.contains("cap of 2 iterations"),
        "{problem}"
    );
    assert_eq!(
        env.mock.request_count(),
        2,
        "never more LLM calls than the cap"
    );
    assert!(env.documents("taglines").await.is_empty());

    // As a job: failed once and for all (a retry would replay the same checkpoints).
    let id = app.submit_job(json!({"sku": "ABC-123"})).await;
    let job = app
        .wait_for_job(&id, "failed", Duration::from_secs(20))
        .await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap_or_default()
            .contains("loop refine"),
        "{job}"
    );
    assert_eq!(env.mock.request_count(), 4);

    app.stop().await;
    env.cleanup().await;
}
