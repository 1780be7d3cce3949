//! Loops end to end with in-memory checkpoints and [`MockOpenAi`]: termination by the
//! condition, by the cap (fail and use-last), feedback between iterations, the trace and
//! a crashed run resumed inside a loop.

use super::*;
use crate::llm::{LlmClient, LlmConfig};
use crate::testing::{MemoryCheckpoints, MockOpenAi, MockReply};
use serde_json::json;

/// `brief` → loop `refine` (ask → draft (LLM) → check) → `save`; the title must be at most
/// 10 characters, the feedback of `check` goes into the next prompt.
fn mk_definition(max_iterations: u32, on_cap: &str) -> Arc<Definition> {
    let yaml = format!(
        r#"
platformRef: {{name: acme}}
llm: {{baseUrl: "http://placeholder", model: m, maxRetries: 0}}
components:
  - {{name: brief, type: TransformJson, transformJson: {{expression: "{{product: product}}"}}}}
  - name: refine
    type: Repeat
    repeat:
      until: check.ok
      maxIterations: {max_iterations}
      onCapReached: {on_cap}
      output: draft
      components:
        - name: ask
          type: TransformJson
          inputs: [brief, refine]
          transformJson: {{expression: "{{product: brief.product, previous: refine.draft.title, feedback: refine.check.feedback}}"}}
        - {{name: draft, type: LlmCompletion, inputs: [ask], llmCompletion: {{jsonMode: true}}}}
        - name: check
          type: TransformJson
          inputs: [draft]
          transformJson: {{expression: "{{ok: length(title) <= `10`, feedback: 'too long'}}"}}
  - {{name: save, type: TransformJson, inputs: [refine], transformJson: {{expression: "{{title: output.title, iterations: iterations}}"}}}}
"#
    );
    Arc::new(Definition::from_bytes(yaml.as_bytes(), "test").expect("definition"))
}

const LONG: &str = r#"{"title": "A very long title"}"#;
const SHORT: &str = r#"{"title": "Lamp"}"#;

async fn mk_executor(definition: Arc<Definition>) -> (MockOpenAi, Executor) {
    let mock = MockOpenAi::start().await.expect("mock starts");
    let provider = definition.spec.llm.clone().expect("llm");
    let mut config = LlmConfig::from_provider(&provider, None);
    config.primary.base_url = mock.base_url();
    let backends = Backends {
        llm: Some(Arc::new(LlmClient::new(config))),
        ..Backends::default()
    };
    let executor = Executor::new(definition, &backends)
        .expect("builds")
        .with_checkpoints(Arc::new(MemoryCheckpoints::new()));
    (mock, executor)
}

/// `(name, loop, iteration, status)` of every trace entry.
fn trace(result: &RunResult) -> Vec<(String, Option<String>, Option<u32>, Status)> {
    result
        .trace
        .iter()
        .map(|e| (e.name.clone(), e.loop_name.clone(), e.iteration, e.status))
        .collect()
}

fn body(
    name: &str,
    iteration: u32,
    status: Status,
) -> (String, Option<String>, Option<u32>, Status) {
    (name.into(), Some("refine".into()), Some(iteration), status)
}

fn top(name: &str, status: Status) -> (String, Option<String>, Option<u32>, Status) {
    (name.into(), None, None, status)
}

#[tokio::test]
async fn regenerates_with_the_feedback_until_the_condition_holds() {
    let (mock, executor) = mk_executor(mk_definition(3, "Fail")).await;
    mock.push(MockReply::Content(LONG.into()));
    mock.push(MockReply::Content(SHORT.into()));
    let result = executor
        .run("r", json!({"product": "Lamp"}))
        .await
        .expect("runs");
    assert_eq!(result.output, json!({"title": "Lamp", "iterations": 2}));
    assert_eq!(mock.request_count(), 2);
    let first = mock.requests()[0].body["messages"].to_string();
    let second = mock.requests()[1].body["messages"].to_string();
    assert!(!first.contains("too long"), "{first}");
    assert!(
        second.contains("too long") && second.contains("A very long title"),
        "the second prompt carries the previous draft and the feedback: {second}"
    );
    assert_eq!(
        trace(&result),
        [
            top("brief", Status::Ran),
            body("ask", 1, Status::Ran),
            body("draft", 1, Status::Ran),
            body("check", 1, Status::Ran),
            body("ask", 2, Status::Ran),
            body("draft", 2, Status::Ran),
            body("check", 2, Status::Ran),
            top("refine", Status::Ran),
            top("save", Status::Ran),
        ]
    );
    let refine = &result.trace[7];
    assert_eq!(refine.kind, ComponentType::Repeat);
    assert_eq!(
        (refine.info.iterations, refine.info.condition_met),
        (Some(2), Some(true))
    );
    let both: u64 = result.trace[2..=5]
        .iter()
        .filter_map(|e| e.info.usage.map(|u| u.total_tokens))
        .sum();
    assert_eq!(
        result.usage.total_tokens, both,
        "both iterations' tokens count"
    );
    let entry = serde_json::to_value(&result.trace[5]).expect("serialises");
    assert_eq!(
        (entry["loop"].as_str(), entry["iteration"].as_u64()),
        (Some("refine"), Some(2))
    );
}

#[tokio::test]
async fn fails_at_the_cap_naming_the_loop_and_the_cap() {
    let (mock, executor) = mk_executor(mk_definition(2, "Fail")).await;
    mock.set_default(MockReply::Content(LONG.into()));
    let err = executor
        .run("r", json!({"product": "Lamp"}))
        .await
        .expect_err("cap reached");
    assert_eq!(
        err.to_string(),
        "loop refine reached its cap of 2 iterations without its until condition holding"
    );
    assert!(err.is_permanent() && !err.is_client_error());
    assert_eq!(mock.request_count(), 2, "never more calls than the cap");
}

#[tokio::test]
async fn uses_the_last_iteration_at_the_cap_when_told_to() {
    let (mock, executor) = mk_executor(mk_definition(2, "UseLast")).await;
    mock.set_default(MockReply::Content(LONG.into()));
    let result = executor
        .run("r", json!({"product": "Lamp"}))
        .await
        .expect("runs");
    assert_eq!(
        result.output,
        json!({"title": "A very long title", "iterations": 2})
    );
    assert_eq!(mock.request_count(), 2);
    let refine = result
        .trace
        .iter()
        .find(|e| e.name == "refine")
        .expect("loop entry");
    assert_eq!(refine.info.condition_met, Some(false));
}

#[tokio::test]
async fn a_crashed_run_resumes_inside_the_loop() {
    let (mock, executor) = mk_executor(mk_definition(3, "Fail")).await;
    mock.push(MockReply::Content(LONG.into()));
    mock.fail(1, 500);
    let err = executor
        .run("job-1", json!({"product": "Lamp"}))
        .await
        .expect_err("the second draft fails");
    assert!(
        err.to_string().starts_with("component draft failed"),
        "{err}"
    );
    assert_eq!(mock.request_count(), 2);

    mock.push(MockReply::Content(SHORT.into()));
    let result = executor
        .run("job-1", json!({"product": "Lamp"}))
        .await
        .expect("resumes");
    assert_eq!(
        mock.request_count(),
        3,
        "only the failed draft is asked again"
    );
    assert_eq!(result.output, json!({"title": "Lamp", "iterations": 2}));
    assert!(result.resumed);
    assert_eq!(
        trace(&result),
        [
            top("brief", Status::Resumed),
            body("ask", 1, Status::Resumed),
            body("draft", 1, Status::Resumed),
            body("check", 1, Status::Resumed),
            body("ask", 2, Status::Resumed),
            body("draft", 2, Status::Ran),
            body("check", 2, Status::Ran),
            top("refine", Status::Ran),
            top("save", Status::Ran),
        ]
    );
}
