//! `mk_*` builders of components for tests.

use machina_crds::content_pipeline::{Component, ComponentType, components::TransformJson};

/// A TransformJson component (`@`) named `name` with `inputs`.
pub fn mk_component(name: &str, inputs: &[&str]) -> Component {
    Component {
        name: name.to_owned(),
        type_: ComponentType::TransformJson,
        inputs: inputs.iter().map(|s| (*s).to_owned()).collect(),
        validate_context: None,
        lookup_document: None,
        render_template: None,
        llm_completion: None,
        transform_json: Some(TransformJson {
            expression: "@".to_owned(),
        }),
        cache: None,
        publish: None,
        store: None,
    }
}

/// Components from `(name, inputs)` pairs.
pub fn mk_components(spec: &[(&str, &[&str])]) -> Vec<Component> {
    spec.iter()
        .map(|(name, inputs)| mk_component(name, inputs))
        .collect()
}
