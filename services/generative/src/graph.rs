//! The execution graph of a pipeline: components are nodes, each component's `inputs` are
//! its incoming edges. Building it rejects duplicate names, unknown inputs and cycles, and
//! computes a topological order (stable: declaration order among ready components).
//!
//! A Repeat component (a loop) carries the graph of its body, built the same way: body
//! inputs name body components, components of the pipeline (the loop then runs after them)
//! or the loop itself (its previous iteration). Loops are how a pipeline repeats work; the
//! graphs themselves stay acyclic.

use machina_crds::content_pipeline::{Component, ComponentType, Repeat};
use std::collections::{BTreeSet, HashMap};

/// Name a loop's body cannot use: it is the iteration number in the loop's state.
pub const ITERATION: &str = "iteration";

/// Why a component graph is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// The pipeline has no components.
    #[error("the pipeline has no components")]
    Empty,
    /// Two components share a name.
    #[error("two components are named {name}")]
    DuplicateName {
        /// The shared name.
        name: String,
    },
    /// A component lists an input that is not a component.
    #[error("component {component} has unknown input {input}")]
    UnknownInput {
        /// The component.
        component: String,
        /// The input it names.
        input: String,
    },
    /// `spec.output` names no component.
    #[error("the output {output} is not a component")]
    UnknownOutput {
        /// The name in `spec.output`.
        output: String,
    },
    /// The inputs form a cycle.
    #[error("components form a cycle: {}", .components.join(" -> "))]
    Cycle {
        /// The components of the cycle in data-flow order, the first repeated at the end.
        components: Vec<String>,
    },
    /// A Repeat component has no `repeat` block or an empty body.
    #[error("loop {loop_name} has no body components")]
    EmptyLoop {
        /// The Repeat component.
        loop_name: String,
    },
    /// Two components of a loop's body share a name.
    #[error("two components of loop {loop_name} are named {name}")]
    LoopDuplicateName {
        /// The Repeat component.
        loop_name: String,
        /// The shared name.
        name: String,
    },
    /// A body component has the name of a pipeline component (or `iteration`).
    #[error(
        "component {name} of loop {loop_name} has the name of a pipeline component or is named iteration"
    )]
    LoopNameClash {
        /// The Repeat component.
        loop_name: String,
        /// The body component's name.
        name: String,
    },
    /// A body component lists an input that is neither a body component, a pipeline
    /// component nor the loop.
    #[error("component {component} of loop {loop_name} has unknown input {input}")]
    LoopUnknownInput {
        /// The Repeat component.
        loop_name: String,
        /// The body component.
        component: String,
        /// The input it names.
        input: String,
    },
    /// `repeat.output` names no body component.
    #[error("the output {output} of loop {loop_name} is not a component of its body")]
    LoopUnknownOutput {
        /// The Repeat component.
        loop_name: String,
        /// The name in `repeat.output`.
        output: String,
    },
    /// The inputs of a loop's body form a cycle.
    #[error("components of loop {loop_name} form a cycle: {}", .components.join(" -> "))]
    LoopCycle {
        /// The Repeat component.
        loop_name: String,
        /// The body components of the cycle in data-flow order, the first repeated at the end.
        components: Vec<String>,
    },
}

/// Where an input's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A component of the same graph, by index.
    Local(usize),
    /// A pipeline component read by a loop's body, by index in the pipeline's graph.
    Outer(usize),
    /// The loop's previous iteration (a body component naming its Repeat component).
    Previous,
}

/// One input of a component: the name it is keyed by and where its value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The name listed in `inputs`.
    pub name: String,
    /// Where the value comes from.
    pub source: Source,
}

/// A validated component graph; components are referred to by their index in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    names: Vec<String>,
    inputs: Vec<Vec<Input>>,
    /// Components that must settle before each one: its local inputs, and for a loop the
    /// pipeline components its body reads.
    after: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    order: Vec<usize>,
    output: usize,
    bodies: Vec<Option<Graph>>,
}

impl Graph {
    /// Builds the graph of `components`; the output is `output` or the last component.
    pub fn build(components: &[Component], output: Option<&str>) -> Result<Self, GraphError> {
        let names: Vec<String> = components.iter().map(|c| c.name.clone()).collect();
        if names.is_empty() {
            return Err(GraphError::Empty);
        }
        let index = index_names(&names).map_err(|name| GraphError::DuplicateName {
            name: name.to_owned(),
        })?;
        let inputs = components
            .iter()
            .map(|c| {
                resolve(&c.inputs, |input| {
                    let source = index.get(input).map(|&j| Source::Local(j));
                    source.ok_or_else(|| GraphError::UnknownInput {
                        component: c.name.clone(),
                        input: input.to_owned(),
                    })
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bodies = components
            .iter()
            .map(|c| match c.type_ {
                ComponentType::Repeat => build_body(&c.name, c.repeat.as_ref(), &index).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let after = inputs
            .iter()
            .zip(&bodies)
            .map(|(ins, body)| dependencies(ins, body.as_ref()))
            .collect();
        let output = match output {
            Some(name) => *index.get(name).ok_or_else(|| GraphError::UnknownOutput {
                output: name.to_owned(),
            })?,
            None => names.len() - 1,
        };
        Self::assemble(names, inputs, after, output, bodies)
            .map_err(|components| GraphError::Cycle { components })
    }

    /// The graph from its parts: dependents and order; `Err` holds a cycle.
    fn assemble(
        names: Vec<String>,
        inputs: Vec<Vec<Input>>,
        after: Vec<Vec<usize>>,
        output: usize,
        bodies: Vec<Option<Graph>>,
    ) -> Result<Self, Vec<String>> {
        let mut dependents = vec![Vec::new(); names.len()];
        for (i, deps) in after.iter().enumerate() {
            for &j in deps {
                dependents[j].push(i);
            }
        }
        let order = topological_order(&names, &after, &dependents)?;
        Ok(Self {
            names,
            inputs,
            after,
            dependents,
            order,
            output,
            bodies,
        })
    }

    /// Component indices in an order where every component comes after its inputs.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Index of the component whose output is the graph's result.
    pub fn output(&self) -> usize {
        self.output
    }

    /// The inputs of component `i`, in declaration order.
    pub fn inputs(&self, i: usize) -> &[Input] {
        &self.inputs[i]
    }

    /// Components of this graph that must settle before component `i` runs.
    pub fn after(&self, i: usize) -> &[usize] {
        &self.after[i]
    }

    /// The body of component `i` when it is a loop.
    pub fn body(&self, i: usize) -> Option<&Graph> {
        self.bodies[i].as_ref()
    }

    /// Name of component `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Number of components.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the graph has no components (never true for a built graph).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// For every component, whether it depends (transitively) on component `i`.
    pub fn descendants(&self, i: usize) -> Vec<bool> {
        let mut seen = vec![false; self.names.len()];
        let mut stack = self.dependents[i].clone();
        while let Some(j) = stack.pop() {
            if !std::mem::replace(&mut seen[j], true) {
                stack.extend(&self.dependents[j]);
            }
        }
        seen
    }
}

/// The graph of the body of loop `loop_name`; `outer` indexes the pipeline's components.
fn build_body(
    loop_name: &str,
    repeat: Option<&Repeat>,
    outer: &HashMap<&str, usize>,
) -> Result<Graph, GraphError> {
    let components = repeat.map(|r| r.components.as_slice()).unwrap_or_default();
    let names: Vec<String> = components.iter().map(|c| c.name.clone()).collect();
    let Some(repeat) = repeat.filter(|_| !names.is_empty()) else {
        return Err(GraphError::EmptyLoop {
            loop_name: loop_name.to_owned(),
        });
    };
    let index = index_names(&names).map_err(|name| GraphError::LoopDuplicateName {
        loop_name: loop_name.to_owned(),
        name: name.to_owned(),
    })?;
    if let Some(name) = names
        .iter()
        .find(|n| outer.contains_key(n.as_str()) || *n == ITERATION)
    {
        return Err(GraphError::LoopNameClash {
            loop_name: loop_name.to_owned(),
            name: name.clone(),
        });
    }
    let inputs = components
        .iter()
        .map(|c| {
            resolve(&c.inputs, |input| {
                let source = if input == loop_name {
                    Some(Source::Previous)
                } else if let Some(&j) = index.get(input) {
                    Some(Source::Local(j))
                } else {
                    outer.get(input).map(|&j| Source::Outer(j))
                };
                source.ok_or_else(|| GraphError::LoopUnknownInput {
                    loop_name: loop_name.to_owned(),
                    component: c.name.clone(),
                    input: input.to_owned(),
                })
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let after = inputs.iter().map(|ins| dependencies(ins, None)).collect();
    let output = match repeat.output.as_deref() {
        Some(name) => *index
            .get(name)
            .ok_or_else(|| GraphError::LoopUnknownOutput {
                loop_name: loop_name.to_owned(),
                output: name.to_owned(),
            })?,
        None => names.len() - 1,
    };
    let bodies = vec![None; names.len()];
    Graph::assemble(names, inputs, after, output, bodies).map_err(|components| {
        GraphError::LoopCycle {
            loop_name: loop_name.to_owned(),
            components,
        }
    })
}

/// Index of every name; `Err` holds a name given twice.
fn index_names(names: &[String]) -> Result<HashMap<&str, usize>, &str> {
    let mut index = HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if index.insert(name.as_str(), i).is_some() {
            return Err(name);
        }
    }
    Ok(index)
}

/// `names` resolved one by one with `source_of`.
fn resolve(
    names: &[String],
    source_of: impl Fn(&str) -> Result<Source, GraphError>,
) -> Result<Vec<Input>, GraphError> {
    names
        .iter()
        .map(|name| {
            Ok(Input {
                name: name.clone(),
                source: source_of(name)?,
            })
        })
        .collect()
}

/// What must settle before a component with `inputs` (and `body`, for a loop): its local
/// inputs and the pipeline components the body reads, each once.
fn dependencies(inputs: &[Input], body: Option<&Graph>) -> Vec<usize> {
    let local = inputs.iter().filter_map(|input| match input.source {
        Source::Local(j) => Some(j),
        _ => None,
    });
    let body_inputs = body.into_iter().flat_map(|b| b.inputs.iter().flatten());
    let outer = body_inputs.filter_map(|input| match input.source {
        Source::Outer(j) => Some(j),
        _ => None,
    });
    let mut deps: Vec<usize> = Vec::new();
    for j in local.chain(outer) {
        if !deps.contains(&j) {
            deps.push(j);
        }
    }
    deps
}

/// Kahn's algorithm, taking the lowest ready index first so the order is deterministic;
/// `Err` holds a cycle.
fn topological_order(
    names: &[String],
    inputs: &[Vec<usize>],
    dependents: &[Vec<usize>],
) -> Result<Vec<usize>, Vec<String>> {
    let mut pending: Vec<usize> = inputs.iter().map(Vec::len).collect();
    let mut ready: BTreeSet<usize> = (0..names.len()).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(names.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &j in &dependents[i] {
            pending[j] -= 1;
            if pending[j] == 0 {
                ready.insert(j);
            }
        }
    }
    if order.len() == names.len() {
        return Ok(order);
    }
    Err(find_cycle(names, inputs, &pending))
}

/// A cycle among the components Kahn's algorithm could not order. Each of them has an
/// input among them, so walking inputs from any of them must come back to a visited one.
fn find_cycle(names: &[String], inputs: &[Vec<usize>], pending: &[usize]) -> Vec<String> {
    let stuck = |i: usize| pending[i] > 0;
    let Some(start) = (0..names.len()).find(|&i| stuck(i)) else {
        return Vec::new();
    };
    let mut path = vec![start];
    let mut current = start;
    loop {
        let Some(&next) = inputs[current].iter().find(|&&j| stuck(j)) else {
            return Vec::new();
        };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            return close_cycle(names, &path[pos..]);
        }
        path.push(next);
        current = next;
    }
}

/// `walk` follows inputs (against the data flow): reverse it, start at the component
/// declared first and repeat it at the end.
fn close_cycle(names: &[String], walk: &[usize]) -> Vec<String> {
    let mut cycle: Vec<usize> = walk.iter().rev().copied().collect();
    if let Some(first) = cycle
        .iter()
        .enumerate()
        .min_by_key(|(_, i)| **i)
        .map(|(p, _)| p)
    {
        cycle.rotate_left(first);
    }
    cycle.extend(cycle.first().copied());
    cycle.into_iter().map(|i| names[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::builders::{mk_component, mk_components, mk_repeat};

    fn names(graph: &Graph) -> Vec<&str> {
        graph.order().iter().map(|&i| graph.name(i)).collect()
    }

    #[test]
    fn orders_a_diamond_and_defaults_the_output_to_the_last_component() {
        let graph = Graph::build(
            &mk_components(&[("d", &["b", "c"]), ("b", &["a"]), ("c", &["a"]), ("a", &[])]),
            None,
        )
        .expect("valid");
        assert_eq!(names(&graph), ["a", "b", "c", "d"]);
        assert_eq!(graph.name(graph.output()), "a");
        assert_eq!(graph.descendants(3), [true, true, true, false]);
    }

    #[test]
    fn named_output_is_used() {
        let graph =
            Graph::build(&mk_components(&[("a", &[]), ("b", &["a"])]), Some("a")).expect("valid");
        assert_eq!(graph.name(graph.output()), "a");
    }

    #[test]
    fn rejects_unknown_inputs_duplicates_outputs_and_empty() {
        let unknown = Graph::build(&mk_components(&[("a", &["ghost"])]), None);
        assert_eq!(
            unknown,
            Err(GraphError::UnknownInput {
                component: "a".into(),
                input: "ghost".into()
            })
        );
        let dup = Graph::build(&[mk_component("a", &[]), mk_component("a", &[])], None);
        assert_eq!(dup, Err(GraphError::DuplicateName { name: "a".into() }));
        let output = Graph::build(&mk_components(&[("a", &[])]), Some("b"));
        assert_eq!(
            output,
            Err(GraphError::UnknownOutput { output: "b".into() })
        );
        assert_eq!(Graph::build(&[], None), Err(GraphError::Empty));
    }

    #[test]
    fn names_the_components_of_a_cycle() {
        let err = Graph::build(
            &mk_components(&[
                ("start", &[]),
                ("a", &["start", "c"]),
                ("b", &["a"]),
                ("c", &["b"]),
                ("after", &["c"]),
            ]),
            None,
        )
        .expect_err("cycle");
        assert_eq!(err.to_string(), "components form a cycle: a -> b -> c -> a");
    }

    #[test]
    fn a_self_input_is_a_cycle() {
        let err = Graph::build(&mk_components(&[("a", &["a"])]), None).expect_err("cycle");
        assert_eq!(
            err,
            GraphError::Cycle {
                components: vec!["a".into(), "a".into()]
            }
        );
    }

    #[test]
    fn a_loop_runs_after_the_pipeline_components_its_body_reads() {
        let graph = Graph::build(
            &[
                mk_component("request", &[]),
                mk_repeat(
                    "refine",
                    &[],
                    &[("ask", &["brief", "refine"]), ("check", &["ask"])],
                ),
                mk_component("brief", &["request"]),
                mk_component("save", &["refine"]),
            ],
            None,
        )
        .expect("valid");
        assert_eq!(names(&graph), ["request", "brief", "refine", "save"]);
        assert_eq!(graph.after(1), [2]);
        assert!(graph.inputs(1).is_empty(), "read by the body, not an input");
        let body = graph.body(1).expect("a body");
        assert_eq!(graph.body(0), None);
        assert_eq!(body.name(body.output()), "check");
        let sources: Vec<Source> = body.inputs(0).iter().map(|i| i.source).collect();
        assert_eq!(sources, [Source::Outer(2), Source::Previous]);
        assert_eq!(body.inputs(1)[0].source, Source::Local(0));
        assert_eq!(graph.descendants(2), [false, true, false, true]);
    }

    #[test]
    fn rejects_bad_loop_bodies_naming_the_loop() {
        let with_body = |body: &[(&str, &[&str])]| {
            Graph::build(
                &[mk_component("a", &[]), mk_repeat("refine", &["a"], body)],
                None,
            )
            .expect_err("invalid")
            .to_string()
        };
        assert_eq!(
            with_body(&[("x", &[]), ("x", &[])]),
            "two components of loop refine are named x"
        );
        assert_eq!(
            with_body(&[("a", &[])]),
            "component a of loop refine has the name of a pipeline component or is named iteration"
        );
        assert!(with_body(&[("iteration", &[])]).contains("named iteration"));
        assert_eq!(
            with_body(&[("x", &["ghost"])]),
            "component x of loop refine has unknown input ghost"
        );
        assert_eq!(
            with_body(&[("x", &["y"]), ("y", &["x"])]),
            "components of loop refine form a cycle: x -> y -> x"
        );
        assert_eq!(with_body(&[]), "loop refine has no body components");
        let mut output = mk_repeat("refine", &[], &[("x", &[])]);
        if let Some(repeat) = output.repeat.as_mut() {
            repeat.output = Some("z".into());
        }
        assert_eq!(
            Graph::build(&[output], None),
            Err(GraphError::LoopUnknownOutput {
                loop_name: "refine".into(),
                output: "z".into()
            })
        );
    }

    #[test]
    fn a_loop_whose_body_reads_a_component_after_it_is_a_cycle() {
        let err = Graph::build(
            &[
                mk_repeat("refine", &[], &[("x", &["late"])]),
                mk_component("late", &["refine"]),
            ],
            None,
        )
        .expect_err("cycle");
        assert_eq!(
            err.to_string(),
            "components form a cycle: refine -> late -> refine"
        );
    }
}
