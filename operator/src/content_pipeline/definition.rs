//! The pipeline definition the worker runs: the spec as YAML in a ConfigMap, and its
//! SHA-256, which the worker also computes from the file and which rolls the pods when the
//! definition changes.

use crate::labels::{self, AppLabels};
use crate::{Error, Result, names};
use k8s_openapi::api::core::v1::ConfigMap;
use machina_crds::{ContentPipeline, ContentPipelineSpec};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Key (and file name) of the definition in the ConfigMap.
pub const DEFINITION_KEY: &str = "pipeline.yaml";
/// Directory the ConfigMap is mounted at in the worker.
pub const DEFINITION_DIR: &str = "/etc/machina";
/// Annotation with the definition's SHA-256, on the ConfigMap and the worker's pod template.
pub const DEFINITION_CHECKSUM_ANNOTATION: &str = "machina.dev/definition-checksum";

/// A serialised pipeline definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    /// The spec as YAML, with object keys sorted so equal specs give equal bytes.
    pub yaml: String,
    /// Hex SHA-256 of [`Self::yaml`].
    pub checksum: String,
}

impl Definition {
    /// The definition of `spec`.
    pub fn of(spec: &ContentPipelineSpec) -> Result<Self> {
        let serialize_error =
            |source: Box<dyn std::error::Error + Send + Sync>| Error::SerializeSpec {
                what: "pipeline definition",
                source,
            };
        let value = serde_json::to_value(spec).map_err(|e| serialize_error(Box::new(e)))?;
        let yaml =
            serde_yaml::to_string(&canonical(value)).map_err(|e| serialize_error(Box::new(e)))?;
        let checksum = format!("{:x}", Sha256::digest(yaml.as_bytes()));
        Ok(Self { yaml, checksum })
    }
}

/// The spec the worker runs: `templates[].templateRef` names the Template in the pipeline's
/// namespace, and the worker asks the template service for it by its service name
/// (`<namespace>.<templateRef>`, see [`names::template_service_name`]).
pub fn worker_spec(pipeline: &ContentPipeline) -> Result<ContentPipelineSpec> {
    let namespace = labels::namespace(pipeline)?;
    let mut spec = pipeline.spec.clone();
    for binding in &mut spec.templates {
        binding.template_ref = names::template_service_name(&namespace, &binding.template_ref);
    }
    Ok(spec)
}

/// `value` with the keys of every object sorted, whatever map type serde_json is built with.
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Labels of the pipeline's worker and its ConfigMap.
pub(crate) fn worker_labels(instance: &str) -> AppLabels<'_> {
    AppLabels {
        name: "machina-generative",
        instance,
        component: "worker",
    }
}

/// The ConfigMap `<pipeline>-definition` holding the definition under [`DEFINITION_KEY`].
pub fn config_map(pipeline: &ContentPipeline, definition: &Definition) -> Result<ConfigMap> {
    let name = labels::name(pipeline)?;
    let object_name = names::pipeline_definition(&name);
    let mut meta = labels::object_meta(
        pipeline,
        object_name,
        worker_labels(&names::pipeline_worker(&name)).labels(),
    )?;
    meta.annotations = Some(BTreeMap::from([(
        DEFINITION_CHECKSUM_ANNOTATION.into(),
        definition.checksum.clone(),
    )]));
    Ok(ConfigMap {
        metadata: meta,
        data: Some(BTreeMap::from([(
            DEFINITION_KEY.into(),
            definition.yaml.clone(),
        )])),
        ..ConfigMap::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{NAMESPACE, mk_pipeline};

    #[test]
    fn config_map_holds_the_spec_and_its_checksum() {
        let pipeline = mk_pipeline();
        let definition = Definition::of(&pipeline.spec).expect("definition");
        let cm = config_map(&pipeline, &definition).expect("config map");
        assert_eq!(cm.metadata.name.as_deref(), Some("product-copy-definition"));
        assert_eq!(cm.metadata.namespace.as_deref(), Some(NAMESPACE));
        let yaml = &cm.data.as_ref().expect("data")[DEFINITION_KEY];
        let parsed: ContentPipelineSpec = serde_yaml::from_str(yaml).expect("parses back");
        assert_eq!(parsed, pipeline.spec);
        assert_eq!(
            format!("{:x}", Sha256::digest(yaml.as_bytes())),
            definition.checksum
        );
        assert_eq!(
            cm.metadata.annotations.as_ref().expect("annotations")[DEFINITION_CHECKSUM_ANNOTATION],
            definition.checksum
        );
        assert_eq!(
            cm.metadata.owner_references.as_ref().expect("owner")[0].kind,
            "ContentPipeline"
        );
    }

    #[test]
    fn checksum_changes_with_the_spec_and_only_then() {
        let pipeline = mk_pipeline();
        let a = Definition::of(&pipeline.spec).expect("a");
        let b = Definition::of(&mk_pipeline().spec).expect("b");
        assert_eq!(a, b);

        let mut changed = pipeline.spec.clone();
        changed.messaging.prefetch += 1;
        assert_ne!(Definition::of(&changed).expect("c").checksum, a.checksum);
    }

    #[test]
    fn checksum_ignores_key_order_in_free_form_objects() {
        let mut one = mk_pipeline().spec;
        let mut two = one.clone();
        fn schema(spec: &mut ContentPipelineSpec) -> &mut Value {
            &mut spec.components[0]
                .validate_context
                .as_mut()
                .expect("validateContext")
                .schema
        }
        *schema(&mut one) =
            serde_json::from_str(r#"{"type":"object","required":["sku"]}"#).expect("json");
        *schema(&mut two) =
            serde_json::from_str(r#"{"required":["sku"],"type":"object"}"#).expect("json");
        assert_eq!(
            Definition::of(&one).expect("one").checksum,
            Definition::of(&two).expect("two").checksum
        );
    }

    #[test]
    fn the_worker_names_templates_by_their_service_names() {
        let spec = worker_spec(&mk_pipeline()).expect("spec");
        let refs: Vec<&str> = spec
            .templates
            .iter()
            .map(|t| t.template_ref.as_str())
            .collect();
        assert_eq!(refs, ["shop.product-prompt", "shop.product-page"]);
        let definition = Definition::of(&spec).expect("definition");
        assert!(
            definition.yaml.contains("templateRef: shop.product-page"),
            "{}",
            definition.yaml
        );
    }
}
