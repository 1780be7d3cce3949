//! The execution graph of a pipeline: components are nodes, each component's `inputs` are
//! its incoming edges. Building it rejects duplicate names, unknown inputs and cycles, and
//! computes a topological order (stable: declaration order among ready components).

use machina_crds::content_pipeline::Component;
use std::collections::{BTreeSet, HashMap};

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
}

/// A validated component graph; components are referred to by their index in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    names: Vec<String>,
    inputs: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    order: Vec<usize>,
    output: usize,
}

impl Graph {
    /// Builds the graph of `components`; the output is `output` or the last component.
    pub fn build(components: &[Component], output: Option<&str>) -> Result<Self, GraphError> {
        let names: Vec<String> = components.iter().map(|c| c.name.clone()).collect();
        let index = index_names(&names)?;
        let inputs = resolve_inputs(components, &index)?;
        let mut dependents = vec![Vec::new(); names.len()];
        for (i, ins) in inputs.iter().enumerate() {
            for &j in ins {
                dependents[j].push(i);
            }
        }
        let output = match output {
            Some(name) => *index.get(name).ok_or_else(|| GraphError::UnknownOutput {
                output: name.to_owned(),
            })?,
            None => names.len() - 1,
        };
        let order = topological_order(&names, &inputs, &dependents)?;
        Ok(Self {
            names,
            inputs,
            dependents,
            order,
            output,
        })
    }

    /// Component indices in an order where every component comes after its inputs.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Index of the component whose output is the pipeline's result.
    pub fn output(&self) -> usize {
        self.output
    }

    /// Indices of the inputs of component `i`, in declaration order.
    pub fn inputs(&self, i: usize) -> &[usize] {
        &self.inputs[i]
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

fn index_names(names: &[String]) -> Result<HashMap<&str, usize>, GraphError> {
    if names.is_empty() {
        return Err(GraphError::Empty);
    }
    let mut index = HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if index.insert(name.as_str(), i).is_some() {
            return Err(GraphError::DuplicateName { name: name.clone() });
        }
    }
    Ok(index)
}

fn resolve_inputs(
    components: &[Component],
    index: &HashMap<&str, usize>,
) -> Result<Vec<Vec<usize>>, GraphError> {
    components
        .iter()
        .map(|c| {
            c.inputs
                .iter()
                .map(|input| {
                    index
                        .get(input.as_str())
                        .copied()
                        .ok_or_else(|| GraphError::UnknownInput {
                            component: c.name.clone(),
                            input: input.clone(),
                        })
                })
                .collect()
        })
        .collect()
}

/// Kahn's algorithm, taking the lowest ready index first so the order is deterministic.
fn topological_order(
    names: &[String],
    inputs: &[Vec<usize>],
    dependents: &[Vec<usize>],
) -> Result<Vec<usize>, GraphError> {
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
    Err(GraphError::Cycle {
        components: find_cycle(names, inputs, &pending),
    })
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
    use crate::testing::builders::{mk_component, mk_components};

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
}
