//! Repeat components: loops over a body of components with a run cap.
//!
//! Every iteration runs the body's graph like the pipeline's (waves, trace, checkpoints).
//! The iteration's state is `{iteration: n, <body component>: <its output>, ...}`; the
//! loop ends when `until` (JMESPath, reusing the TransformJson component) is truthy for
//! it, or after `maxIterations`, where `onCapReached` fails the run or keeps the last
//! iteration. Body components naming the loop read the previous iteration's state.

use super::run::{Frame, Run, Scope};
use super::{Executor, Node, RunError};
use crate::components::{ComponentError, ComponentOutput, RunContext, TransformComponent};
use crate::graph::{Graph, ITERATION};
use futures::future::BoxFuture;
use machina_crds::content_pipeline::components::TransformJson;
use machina_crds::content_pipeline::{Component, ComponentType, OnCapReached};
use serde_json::{Map, Value, json};
use std::time::Instant;

/// A built Repeat component.
#[derive(Debug)]
pub(super) struct RepeatNode {
    body: Vec<Node>,
    kinds: Vec<ComponentType>,
    until: TransformComponent,
    max_iterations: u32,
    on_cap: OnCapReached,
}

impl RepeatNode {
    /// Builds the Repeat component `spec`: its `until` condition and its body.
    pub(super) fn build(spec: &Component, backends: &crate::Backends) -> crate::Result<Self> {
        let invalid = |message: String| crate::Error::Build {
            component: spec.name.clone(),
            source: Box::new(ComponentError::Config(message)),
        };
        let repeat = spec
            .repeat
            .as_ref()
            .ok_or_else(|| invalid("the Repeat block is missing".to_owned()))?;
        let until = TransformComponent::new(&TransformJson {
            expression: repeat.until.clone(),
        })
        .map_err(|e| invalid(format!("repeat.until: {e}")))?;
        let body = repeat
            .components
            .iter()
            .map(|b| Node::build(&Component::from(b), backends))
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(Self {
            body,
            kinds: repeat.components.iter().map(|b| b.type_.into()).collect(),
            until,
            max_iterations: u32::try_from(repeat.max_iterations).unwrap_or(1).max(1),
            on_cap: repeat.on_cap_reached,
        })
    }

    /// Whether `until` holds for an iteration's `state`.
    pub(super) fn done(&self, state: &Value) -> Result<bool, ComponentError> {
        self.until.apply(state).map(|v| truthy(&v))
    }

    /// What the loop does after `iteration` given whether `until` held: go on, or end
    /// (`Ok`) or fail at the cap.
    pub(super) fn next(&self, iteration: u32, met: bool) -> Next {
        match (met, iteration >= self.max_iterations, self.on_cap) {
            (true, _, _) => Next::Done,
            (false, false, _) => Next::Again,
            (false, true, OnCapReached::UseLast) => Next::Done,
            (false, true, OnCapReached::Fail) => Next::CapReached(self.max_iterations),
        }
    }
}

/// What a loop does after an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Run another iteration.
    Again,
    /// End with this iteration's output.
    Done,
    /// Fail: the cap (`maxIterations`) is reached and the condition never held.
    CapReached(u32),
}

/// JMESPath truthiness: false, null and empty strings, arrays and objects are false.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        Value::Number(_) => true,
    }
}

/// The state of an iteration: its number and every body component's output by name.
fn iteration_state(body: &Graph, iteration: u32, outputs: Vec<Option<Value>>) -> Value {
    let mut state = Map::new();
    state.insert(ITERATION.to_owned(), iteration.into());
    for (i, output) in outputs.into_iter().enumerate() {
        state.insert(body.name(i).to_owned(), output.unwrap_or(Value::Null));
    }
    Value::Object(state)
}

/// The loop's output: the output component's last output, the iterations run and
/// whether the condition held.
fn loop_output(body: &Graph, state: &Value, iterations: u32, met: bool) -> ComponentOutput {
    let output = state
        .get(body.name(body.output()))
        .cloned()
        .unwrap_or(Value::Null);
    let mut out = ComponentOutput::new(json!({
        "output": output,
        "iterations": iterations,
        "conditionMet": met,
    }));
    out.info.iterations = Some(iterations);
    out.info.condition_met = Some(met);
    out
}

impl Executor {
    /// Runs loop `node` (component `i` of `scope`) on `input` with its own `run`; `outer`
    /// are the outputs of `scope`'s components. Boxed: a body runs through
    /// [`Executor::run_graph`], which runs loops.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_repeat<'a>(
        &'a self,
        ctx: &'a RunContext,
        scope: &'a Scope<'a>,
        outer: &'a [Option<Value>],
        i: usize,
        node: &'a RepeatNode,
        input: Value,
        mut run: Run,
    ) -> BoxFuture<'a, Result<(usize, ComponentOutput, f64, Run), RunError>> {
        Box::pin(async move {
            let timer = Instant::now();
            let loop_name = scope.graph.name(i);
            let fail = |source: ComponentError| RunError::Component {
                component: loop_name.to_owned(),
                kind: ComponentType::Repeat,
                source,
            };
            let body = scope
                .graph
                .body(i)
                .ok_or_else(|| fail(ComponentError::Config("the loop has no body".to_owned())))?;
            let mut previous = json!({ ITERATION: 0 });
            let mut iteration = 0;
            loop {
                iteration += 1;
                let frame = Frame {
                    loop_name,
                    iteration,
                    outer,
                    previous: &previous,
                };
                let body_scope = Scope {
                    graph: body,
                    nodes: &node.body,
                    kinds: &node.kinds,
                    input: &input,
                    frame: Some(frame),
                };
                let outputs = self.run_graph(ctx, &body_scope, &mut run).await?;
                let state = iteration_state(body, iteration, outputs);
                let met = node.done(&state).map_err(fail)?;
                match node.next(iteration, met) {
                    Next::Again => previous = state,
                    Next::Done => {
                        let output = loop_output(body, &state, iteration, met);
                        let elapsed = timer.elapsed().as_secs_f64() * 1e3;
                        return Ok((i, output, elapsed, run));
                    }
                    Next::CapReached(max_iterations) => {
                        return Err(RunError::LoopCapReached {
                            component: loop_name.to_owned(),
                            max_iterations,
                        });
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::builders::mk_repeat;

    fn mk_node(until: &str, max_iterations: i32, on_cap: OnCapReached) -> RepeatNode {
        let mut spec = mk_repeat("refine", &[], &[("draft", &[]), ("check", &["draft"])]);
        if let Some(repeat) = spec.repeat.as_mut() {
            repeat.until = until.to_owned();
            repeat.max_iterations = max_iterations;
            repeat.on_cap_reached = on_cap;
        }
        RepeatNode::build(&spec, &crate::Backends::default()).expect("builds")
    }

    #[test]
    fn the_condition_is_jmespath_truthiness_over_the_state() {
        let node = mk_node("check.ok", 3, OnCapReached::Fail);
        let done = |state: Value| node.done(&state).expect("evaluates");
        assert!(done(json!({"iteration": 1, "check": {"ok": true}})));
        assert!(!done(json!({"iteration": 1, "check": {"ok": false}})));
        assert!(!done(json!({"iteration": 1, "check": null})));
        let node = mk_node("iteration >= `2`", 3, OnCapReached::Fail);
        assert!(!node.done(&json!({"iteration": 1})).expect("evaluates"));
        assert!(node.done(&json!({"iteration": 2})).expect("evaluates"));
        let node = mk_node("length(check)", 3, OnCapReached::Fail);
        let err = node.done(&json!({"check": 3})).expect_err("a type error");
        assert!(matches!(err, ComponentError::Transform(_)), "{err}");
    }

    #[test]
    fn the_loop_ends_by_condition_or_at_its_cap() {
        let fail = mk_node("check", 3, OnCapReached::Fail);
        assert_eq!(fail.next(1, false), Next::Again);
        assert_eq!(fail.next(2, true), Next::Done);
        assert_eq!(fail.next(3, true), Next::Done);
        assert_eq!(fail.next(3, false), Next::CapReached(3));
        let use_last = mk_node("check", 2, OnCapReached::UseLast);
        assert_eq!(use_last.next(1, false), Next::Again);
        assert_eq!(use_last.next(2, false), Next::Done);
    }

    #[test]
    fn an_invalid_condition_names_the_loop() {
        let mut spec = mk_repeat("refine", &[], &[("draft", &[])]);
        if let Some(repeat) = spec.repeat.as_mut() {
            repeat.until = "{unclosed".to_owned();
        }
        let err = RepeatNode::build(&spec, &crate::Backends::default()).expect_err("invalid");
        assert_eq!(err.to_string(), "component refine cannot be built");
        let crate::Error::Build { source, .. } = err else {
            panic!("not a build error");
        };
        assert!(source.to_string().contains("repeat.until"), "{source}");
    }

    #[test]
    fn the_state_and_output_name_every_body_component() {
        let graph = crate::Graph::build(
            &[mk_repeat(
                "refine",
                &[],
                &[("draft", &[]), ("check", &["draft"])],
            )],
            None,
        )
        .expect("valid");
        let body = graph.body(0).expect("body");
        let state = iteration_state(body, 2, vec![Some(json!("d")), None]);
        assert_eq!(state, json!({"iteration": 2, "draft": "d", "check": null}));
        let out = loop_output(body, &json!({"check": {"ok": true}}), 2, true);
        assert_eq!(
            out.value,
            json!({"output": {"ok": true}, "iterations": 2, "conditionMet": true})
        );
        assert_eq!(out.info.iterations, Some(2));
    }
}
