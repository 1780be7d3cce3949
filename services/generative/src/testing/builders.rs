//! `mk_*` builders of components for tests.

use machina_crds::content_pipeline::{
    BodyComponent, BodyComponentType, Component, ComponentType, OnCapReached, Repeat,
    components::TransformJson,
};

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
        repeat: None,
    }
}

/// Components from `(name, inputs)` pairs.
pub fn mk_components(spec: &[(&str, &[&str])]) -> Vec<Component> {
    spec.iter()
        .map(|(name, inputs)| mk_component(name, inputs))
        .collect()
}

/// A Repeat component named `name` with `inputs` whose body is TransformJson components
/// (`@`) from `(name, inputs)` pairs, until `check`, at most 3 iterations.
pub fn mk_repeat(name: &str, inputs: &[&str], body: &[(&str, &[&str])]) -> Component {
    let body = body
        .iter()
        .map(|(name, inputs)| BodyComponent {
            name: (*name).to_owned(),
            type_: BodyComponentType::TransformJson,
            inputs: inputs.iter().map(|s| (*s).to_owned()).collect(),
            validate_context: None,
            lookup_document: None,
            render_template: None,
            llm_completion: None,
            transform_json: Some(TransformJson {
                expression: "@".to_owned(),
            }),
            publish: None,
            store: None,
        })
        .collect();
    Component {
        type_: ComponentType::Repeat,
        transform_json: None,
        repeat: Some(Repeat {
            components: body,
            output: None,
            until: "check".to_owned(),
            max_iterations: 3,
            on_cap_reached: OnCapReached::Fail,
        }),
        ..mk_component(name, inputs)
    }
}
