//! One run of the pipeline: the loop over the topological order and its bookkeeping.

use super::{Checkpoint, Executor, RunError, RunResult, Status, TraceEntry};
use crate::components::{CacheOutcome, ComponentInfo, ComponentOutput, DeltaSink, RunContext};
use crate::graph::Graph;
use crate::llm::Usage;
use machina_crds::content_pipeline::ComponentType;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What a run has produced so far.
#[derive(Debug)]
struct RunState {
    outputs: Vec<Option<Value>>,
    skipped: Vec<bool>,
    trace: Vec<TraceEntry>,
    /// The cached result, after a Cache hit.
    hit: Option<Value>,
    /// Cache misses: keys to store the result under.
    fills: Vec<(String, Duration)>,
}

impl RunState {
    fn new(len: usize) -> Self {
        Self {
            outputs: vec![None; len],
            skipped: vec![false; len],
            trace: Vec::with_capacity(len),
            hit: None,
            fills: Vec::new(),
        }
    }

    /// Whether every input of component `i` is settled (ran, resumed or skipped).
    fn ready(&self, graph: &Graph, i: usize) -> bool {
        graph
            .inputs(i)
            .iter()
            .all(|&j| self.outputs[j].is_some() || self.skipped[j])
    }

    /// The input of component `i`: its single input's output, its inputs' outputs keyed
    /// by name, or the request context.
    fn input_of(&self, graph: &Graph, i: usize, request: &Value) -> Value {
        let output = |j: usize| self.outputs[j].clone().unwrap_or(Value::Null);
        match graph.inputs(i) {
            [] => request.clone(),
            [single] => output(*single),
            several => Value::Object(
                several
                    .iter()
                    .map(|&j| (graph.name(j).to_owned(), output(j)))
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
        let mut saved = self.load_checkpoints(run_id).await?;
        let mut state = RunState::new(self.graph.len());
        let mut pending: Vec<usize> = self.graph.order().to_vec();
        while !pending.is_empty() {
            let (wave, rest): (Vec<usize>, Vec<usize>) = std::mem::take(&mut pending)
                .into_iter()
                .partition(|&i| state.ready(&self.graph, i));
            pending = rest;
            if wave.is_empty() {
                break; // unreachable for a validated graph; never spin
            }
            let mut to_run = Vec::with_capacity(wave.len());
            for i in wave {
                if !self.settle(&mut state, &mut saved, i) {
                    to_run.push((i, state.input_of(&self.graph, i, &ctx.request)));
                }
            }
            let runs = to_run
                .into_iter()
                .map(|(i, input)| self.run_one(&ctx, i, input));
            for result in futures::future::join_all(runs).await {
                let (i, output, elapsed) = result?;
                self.record(&mut state, i, output, elapsed);
            }
        }
        let output = state.outputs[self.graph.output()]
            .take()
            .or_else(|| state.hit.clone())
            .unwrap_or(Value::Null);
        self.fill_caches(&state, &output).await;
        Ok(self.result(ctx, state, output, started))
    }

    /// Settles component `i` without running it when it is skipped or has a checkpoint;
    /// returns whether it did.
    fn settle(
        &self,
        state: &mut RunState,
        saved: &mut HashMap<String, Checkpoint>,
        i: usize,
    ) -> bool {
        let (name, kind) = (self.graph.name(i), self.kind(i));
        if state.skipped[i] {
            let info = ComponentInfo::default();
            state
                .trace
                .push(entry(name, kind, Status::Skipped, 0.0, info));
            return true;
        }
        let Some(checkpoint) = saved.remove(name).filter(|_| kind != ComponentType::Cache) else {
            return false;
        };
        state.outputs[i] = Some(checkpoint.output);
        let info = checkpoint.info;
        state
            .trace
            .push(entry(name, kind, Status::Resumed, 0.0, info));
        true
    }

    /// Runs component `i` on `input` and checkpoints its output.
    async fn run_one(
        &self,
        ctx: &RunContext,
        i: usize,
        input: Value,
    ) -> Result<(usize, ComponentOutput, f64), RunError> {
        let timer = Instant::now();
        let output =
            self.components[i]
                .run(ctx, input)
                .await
                .map_err(|source| RunError::Component {
                    component: self.graph.name(i).to_owned(),
                    kind: self.kind(i),
                    source,
                })?;
        let elapsed = timer.elapsed().as_secs_f64() * 1e3;
        self.save_checkpoint(&ctx.run_id, i, &output).await?;
        Ok((i, output, elapsed))
    }

    /// Stores component `i`'s output and trace, and applies its cache outcome.
    fn record(&self, state: &mut RunState, i: usize, output: ComponentOutput, elapsed: f64) {
        match &output.info.cache {
            Some(CacheOutcome::Hit) => {
                let below = self.graph.descendants(i);
                for (skipped, below) in state.skipped.iter_mut().zip(below) {
                    *skipped |= below;
                }
                state.hit = Some(output.value.clone());
            }
            Some(CacheOutcome::Miss { key, ttl_seconds }) => {
                state
                    .fills
                    .push((key.clone(), Duration::from_secs(*ttl_seconds)));
            }
            None => {}
        }
        let (name, kind) = (self.graph.name(i), self.kind(i));
        state
            .trace
            .push(entry(name, kind, Status::Ran, elapsed, output.info));
        state.outputs[i] = Some(output.value);
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
        i: usize,
        output: &ComponentOutput,
    ) -> Result<(), RunError> {
        let Some(checkpoints) = &self.checkpoints else {
            return Ok(());
        };
        if self.kind(i) == ComponentType::Cache {
            return Ok(());
        }
        let checkpoint = Checkpoint {
            output: output.value.clone(),
            info: output.info.clone(),
        };
        checkpoints
            .save(run_id, self.graph.name(i), &checkpoint)
            .await
            .map_err(|source| RunError::Checkpoint {
                run_id: run_id.to_owned(),
                source,
            })
    }

    /// Caches the result under every missed key. A failure only costs a future hit, so it
    /// is logged, not returned.
    async fn fill_caches(&self, state: &RunState, output: &Value) {
        let Some(cache) = &self.cache else {
            return;
        };
        if state.hit.is_some() {
            return;
        }
        for (key, ttl) in &state.fills {
            if let Err(err) = cache.set(key, output, *ttl).await {
                tracing::warn!(error = %err, key, "failed to cache the pipeline result");
            }
        }
    }

    fn result(
        &self,
        ctx: RunContext,
        state: RunState,
        output: Value,
        started: Instant,
    ) -> RunResult {
        let counted = || state.trace.iter().filter(|e| e.status != Status::Skipped);
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
            cache_hit: state.hit.is_some(),
            resumed: state.trace.iter().any(|e| e.status == Status::Resumed),
            usage,
            cost: (!costs.is_empty()).then(|| costs.iter().sum()),
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            trace: state.trace,
        }
    }
}

fn entry(
    name: &str,
    kind: ComponentType,
    status: Status,
    ms: f64,
    info: ComponentInfo,
) -> TraceEntry {
    TraceEntry {
        name: name.to_owned(),
        kind,
        status,
        duration_ms: ms,
        info,
    }
}
