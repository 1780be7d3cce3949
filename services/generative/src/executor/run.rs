//! One run of the pipeline: the waves over a graph's topological order and their
//! bookkeeping, for the pipeline's graph and, once per iteration, for each loop's body.

use super::{Checkpoint, Executor, Node, RunError, RunResult, Status, TraceEntry};
use crate::components::{
    CacheOutcome, Component, ComponentInfo, ComponentOutput, DeltaSink, RunContext,
};
use crate::graph::{Graph, Input, Source};
use crate::llm::Usage;
use machina_crds::content_pipeline::ComponentType;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What the run has produced so far beyond the outputs of one graph.
#[derive(Debug, Default)]
pub(super) struct Run {
    /// Checkpoints of an earlier attempt not used yet, by key.
    saved: HashMap<String, Checkpoint>,
    /// Trace entries, in execution order.
    pub(super) trace: Vec<TraceEntry>,
    /// The cached result, after a Cache hit.
    hit: Option<Value>,
    /// Cache misses: keys to store the result under.
    fills: Vec<(String, Duration)>,
}

impl Run {
    /// The run of loop `loop_name`, which runs beside the other components of its wave: the
    /// checkpoints of its iterations move to it; its trace is appended once it ends.
    fn child(&mut self, loop_name: &str) -> Run {
        let prefix = format!("{loop_name}[");
        let keys: Vec<String> = self
            .saved
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        let saved = keys
            .iter()
            .filter_map(|k| self.saved.remove_entry(k))
            .collect();
        Run {
            saved,
            ..Run::default()
        }
    }
}

/// A graph to run and what it runs on: the pipeline's, or a loop's body in one iteration.
pub(super) struct Scope<'a> {
    /// The graph.
    pub(super) graph: &'a Graph,
    /// Its nodes, by index.
    pub(super) nodes: &'a [Node],
    /// Their types, by index.
    pub(super) kinds: &'a [ComponentType],
    /// What components without inputs receive (the request context, or the loop's input).
    pub(super) input: &'a Value,
    /// For a loop's body: which loop and iteration.
    pub(super) frame: Option<Frame<'a>>,
}

/// Where a loop's body runs.
pub(super) struct Frame<'a> {
    /// The Repeat component.
    pub(super) loop_name: &'a str,
    /// The iteration (1-based).
    pub(super) iteration: u32,
    /// Outputs of the pipeline's components (its body may read them).
    pub(super) outer: &'a [Option<Value>],
    /// The previous iteration's state (`{iteration: 0}` before the first).
    pub(super) previous: &'a Value,
}

impl Scope<'_> {
    /// The checkpoint key of component `i`: its name, or `<loop>[<n>].<name>` in a body.
    fn key(&self, i: usize) -> String {
        let name = self.graph.name(i);
        match &self.frame {
            Some(f) => format!("{}[{}].{name}", f.loop_name, f.iteration),
            None => name.to_owned(),
        }
    }

    /// The trace entry of component `i`.
    fn entry(&self, i: usize, status: Status, ms: f64, info: ComponentInfo) -> TraceEntry {
        TraceEntry {
            name: self.graph.name(i).to_owned(),
            kind: self.kinds[i],
            status,
            duration_ms: ms,
            loop_name: self.frame.as_ref().map(|f| f.loop_name.to_owned()),
            iteration: self.frame.as_ref().map(|f| f.iteration),
            info,
        }
    }

    /// The value of `input` of a component, given the outputs of this pass.
    fn value_of(&self, input: &Input, outputs: &[Option<Value>]) -> Value {
        let value = match (input.source, &self.frame) {
            (Source::Local(j), _) => outputs[j].clone(),
            (Source::Outer(j), Some(f)) => f.outer[j].clone(),
            (Source::Previous, Some(f)) => Some(f.previous.clone()),
            (_, None) => None,
        };
        value.unwrap_or(Value::Null)
    }
}

/// The outputs of one pass over a graph.
#[derive(Debug)]
struct Pass {
    outputs: Vec<Option<Value>>,
    skipped: Vec<bool>,
}

impl Pass {
    fn new(len: usize) -> Self {
        Self {
            outputs: vec![None; len],
            skipped: vec![false; len],
        }
    }

    /// Whether every component component `i` waits for is settled (ran, resumed, skipped).
    fn ready(&self, graph: &Graph, i: usize) -> bool {
        graph
            .after(i)
            .iter()
            .all(|&j| self.outputs[j].is_some() || self.skipped[j])
    }

    /// The input of component `i`: its single input's value, its inputs' values keyed by
    /// name, or the scope's input.
    fn input_of(&self, scope: &Scope<'_>, i: usize) -> Value {
        match scope.graph.inputs(i) {
            [] => scope.input.clone(),
            [single] => scope.value_of(single, &self.outputs),
            several => Value::Object(
                several
                    .iter()
                    .map(|input| (input.name.clone(), scope.value_of(input, &self.outputs)))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

impl Executor {
    /// Runs the pipeline for `request` as run `run_id`, resuming it when checkpoints of
    /// an earlier attempt exist.
    pub async fn run(&self, run_id: &str, request: Value) -> Result<RunResult, RunError> {
        self.execute(run_id, request, None).await
    }

    /// Like [`Executor::run`], streaming the text of LlmCompletion components to `deltas`
    /// as it comes (for server-sent events on the synchronous API).
    pub async fn run_streaming(
        &self,
        run_id: &str,
        request: Value,
        deltas: DeltaSink,
    ) -> Result<RunResult, RunError> {
        self.execute(run_id, request, Some(deltas)).await
    }

    #[tracing::instrument(skip(self, request, deltas), fields(pipeline = %self.pipeline))]
    async fn execute(
        &self,
        run_id: &str,
        request: Value,
        deltas: Option<DeltaSink>,
    ) -> Result<RunResult, RunError> {
        let started = Instant::now();
        let ctx = RunContext {
            run_id: run_id.to_owned(),
            pipeline: self.pipeline.clone(),
            version: self.definition.version().to_owned(),
            request,
            deltas,
        };
        let mut run = Run {
            saved: self.load_checkpoints(run_id).await?,
            ..Run::default()
        };
        let scope = Scope {
            graph: &self.graph,
            nodes: &self.nodes,
            kinds: &self.kinds,
            input: &ctx.request,
            frame: None,
        };
        let mut outputs = self.run_graph(&ctx, &scope, &mut run).await?;
        let output = outputs[self.graph.output()]
            .take()
            .or_else(|| run.hit.clone())
            .unwrap_or(Value::Null);
        self.fill_caches(&run, &output).await;
        Ok(self.result(ctx, run, output, started))
    }

    /// Runs the graph of `scope` in waves; returns the outputs of its components.
    pub(super) async fn run_graph(
        &self,
        ctx: &RunContext,
        scope: &Scope<'_>,
        run: &mut Run,
    ) -> Result<Vec<Option<Value>>, RunError> {
        let mut pass = Pass::new(scope.graph.len());
        let mut pending: Vec<usize> = scope.graph.order().to_vec();
        while !pending.is_empty() {
            let (wave, rest): (Vec<usize>, Vec<usize>) = std::mem::take(&mut pending)
                .into_iter()
                .partition(|&i| pass.ready(scope.graph, i));
            pending = rest;
            if wave.is_empty() {
                break; // unreachable for a validated graph; never spin
            }
            let (mut steps, mut loops) = (Vec::new(), Vec::new());
            for i in wave {
                if self.settle(scope, &mut pass, run, i) {
                    continue;
                }
                let input = pass.input_of(scope, i);
                match &scope.nodes[i] {
                    Node::Step(component) => steps.push((i, component.as_ref(), input)),
                    Node::Repeat(node) => {
                        loops.push((i, node, input, run.child(scope.graph.name(i))));
                    }
                }
            }
            let steps = steps
                .into_iter()
                .map(|(i, component, input)| self.run_step(ctx, scope, i, component, input));
            let loops = loops.into_iter().map(|(i, node, input, child)| {
                self.run_repeat(ctx, scope, &pass.outputs, i, node, input, child)
            });
            let (stepped, looped) = futures::join!(
                futures::future::join_all(steps),
                futures::future::join_all(loops)
            );
            for result in stepped {
                let (i, output, elapsed) = result?;
                self.record(scope, &mut pass, run, i, output, elapsed);
            }
            for result in looped {
                let (i, output, elapsed, child) = result?;
                run.trace.extend(child.trace);
                self.record(scope, &mut pass, run, i, output, elapsed);
            }
        }
        Ok(pass.outputs)
    }

    /// Settles component `i` without running it when it is skipped or has a checkpoint;
    /// returns whether it did. Cache and Repeat components are always evaluated again.
    fn settle(&self, scope: &Scope<'_>, pass: &mut Pass, run: &mut Run, i: usize) -> bool {
        if pass.skipped[i] {
            let info = ComponentInfo::default();
            run.trace.push(scope.entry(i, Status::Skipped, 0.0, info));
            return true;
        }
        if matches!(scope.kinds[i], ComponentType::Cache | ComponentType::Repeat) {
            return false;
        }
        let Some(checkpoint) = run.saved.remove(&scope.key(i)) else {
            return false;
        };
        pass.outputs[i] = Some(checkpoint.output);
        let info = checkpoint.info;
        run.trace.push(scope.entry(i, Status::Resumed, 0.0, info));
        true
    }

    /// Runs `component` (component `i` of `scope`) on `input` and checkpoints its output.
    async fn run_step(
        &self,
        ctx: &RunContext,
        scope: &Scope<'_>,
        i: usize,
        component: &dyn Component,
        input: Value,
    ) -> Result<(usize, ComponentOutput, f64), RunError> {
        let timer = Instant::now();
        let output = component
            .run(ctx, input)
            .await
            .map_err(|source| RunError::Component {
                component: scope.graph.name(i).to_owned(),
                kind: scope.kinds[i],
                source,
            })?;
        let elapsed = timer.elapsed().as_secs_f64() * 1e3;
        if scope.kinds[i] != ComponentType::Cache {
            self.save_checkpoint(&ctx.run_id, &scope.key(i), &output)
                .await?;
        }
        Ok((i, output, elapsed))
    }

    /// Stores component `i`'s output and trace, and applies its cache outcome.
    fn record(
        &self,
        scope: &Scope<'_>,
        pass: &mut Pass,
        run: &mut Run,
        i: usize,
        output: ComponentOutput,
        elapsed: f64,
    ) {
        match &output.info.cache {
            Some(CacheOutcome::Hit) => {
                let below = scope.graph.descendants(i);
                for (skipped, below) in pass.skipped.iter_mut().zip(below) {
                    *skipped |= below;
                }
                run.hit = Some(output.value.clone());
            }
            Some(CacheOutcome::Miss { key, ttl_seconds }) => {
                run.fills
                    .push((key.clone(), Duration::from_secs(*ttl_seconds)));
            }
            None => {}
        }
        run.trace
            .push(scope.entry(i, Status::Ran, elapsed, output.info));
        pass.outputs[i] = Some(output.value);
    }

    async fn load_checkpoints(
        &self,
        run_id: &str,
    ) -> Result<HashMap<String, Checkpoint>, RunError> {
        let Some(checkpoints) = &self.checkpoints else {
            return Ok(HashMap::new());
        };
        checkpoints
            .load(run_id)
            .await
            .map_err(|source| RunError::Checkpoint {
                run_id: run_id.to_owned(),
                source,
            })
    }

    async fn save_checkpoint(
        &self,
        run_id: &str,
        key: &str,
        output: &ComponentOutput,
    ) -> Result<(), RunError> {
        let Some(checkpoints) = &self.checkpoints else {
            return Ok(());
        };
        let checkpoint = Checkpoint {
            output: output.value.clone(),
            info: output.info.clone(),
        };
        checkpoints
            .save(run_id, key, &checkpoint)
            .await
            .map_err(|source| RunError::Checkpoint {
                run_id: run_id.to_owned(),
                source,
            })
    }

    /// Caches the result under every missed key. A failure only costs a future hit, so it
    /// is logged, not returned.
    async fn fill_caches(&self, run: &Run, output: &Value) {
        let Some(cache) = &self.cache else {
            return;
        };
        if run.hit.is_some() {
            return;
        }
        for (key, ttl) in &run.fills {
            if let Err(err) = cache.set(key, output, *ttl).await {
                tracing::warn!(error = %err, key, "failed to cache the pipeline result");
            }
        }
    }

    fn result(&self, ctx: RunContext, run: Run, output: Value, started: Instant) -> RunResult {
        let counted = || run.trace.iter().filter(|e| e.status != Status::Skipped);
        let mut usage = Usage::default();
        for u in counted().filter_map(|e| e.info.usage) {
            usage += u;
        }
        let costs: Vec<f64> = counted().filter_map(|e| e.info.cost).collect();
        RunResult {
            run_id: ctx.run_id,
            pipeline: ctx.pipeline,
            version: ctx.version,
            output,
            cache_hit: run.hit.is_some(),
            resumed: run.trace.iter().any(|e| e.status == Status::Resumed),
            usage,
            cost: (!costs.is_empty()).then(|| costs.iter().sum()),
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            trace: run.trace,
        }
    }
}
