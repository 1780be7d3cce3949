//! Loading the pipeline definition the worker runs.
//!
//! The operator mounts the `ContentPipelineSpec` as a file (YAML or JSON) from a ConfigMap.
//! A whole `ContentPipeline` resource (with `kind` and `spec`) is accepted too, so a sample
//! manifest can be run as it is. The SHA-256 of the file is the definition's checksum: the
//! pipeline version that cache keys and results carry.

use machina_crds::ContentPipelineSpec;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Why a definition could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// The file could not be read.
    #[error("failed to read the pipeline definition {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is neither YAML nor JSON.
    #[error("the pipeline definition {origin} is not valid YAML or JSON: {source}")]
    Syntax {
        /// Where the definition came from.
        origin: String,
        /// The parser's error, with its position.
        #[source]
        source: serde_yaml::Error,
    },
    /// The document is not a ContentPipeline spec.
    #[error("the pipeline definition {origin} is not a ContentPipeline spec: {source}")]
    Shape {
        /// Where the definition came from.
        origin: String,
        /// The deserialiser's error, naming the field.
        #[source]
        source: serde_json::Error,
    },
}

/// A loaded pipeline definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The pipeline's name, when the file is a whole resource (`metadata.name`).
    pub name: Option<String>,
    /// The spec the worker runs.
    pub spec: ContentPipelineSpec,
    /// Hex SHA-256 of the file's bytes.
    pub checksum: String,
}

impl Definition {
    /// Reads and parses the definition at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DefinitionError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| DefinitionError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Parses a definition from YAML or JSON bytes; `origin` names them in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, DefinitionError> {
        let document: Value =
            serde_yaml::from_slice(bytes).map_err(|source| DefinitionError::Syntax {
                origin: origin.to_owned(),
                source,
            })?;
        let (name, spec) = split_resource(document);
        let spec = serde_json::from_value(spec).map_err(|source| DefinitionError::Shape {
            origin: origin.to_owned(),
            source,
        })?;
        Ok(Self {
            name,
            spec,
            checksum: checksum(bytes),
        })
    }

    /// A short form of the checksum (12 hex digits), used as the pipeline version.
    pub fn version(&self) -> &str {
        self.checksum.get(..12).unwrap_or(&self.checksum)
    }
}

/// `(metadata.name, spec)` of a whole resource, or `(None, document)` for a bare spec.
fn split_resource(mut document: Value) -> (Option<String>, Value) {
    let is_resource = document.get("kind").is_some() && document.get("spec").is_some();
    if !is_resource {
        return (None, document);
    }
    let name = document
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    (name, document["spec"].take())
}

/// Hex SHA-256 of `bytes`.
pub fn checksum(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/samples/contentpipeline.yaml"
    );

    #[test]
    fn loads_the_sample_resource() {
        let definition = Definition::load(SAMPLE).expect("sample loads");
        assert_eq!(definition.name.as_deref(), Some("product-copy"));
        assert_eq!(definition.spec.components.len(), 9);
        assert_eq!(definition.spec.output.as_deref(), Some("page"));
        assert_eq!(definition.checksum.len(), 64);
        assert_eq!(definition.version().len(), 12);
    }

    #[test]
    fn loads_the_loop_sample_and_builds_its_graph() {
        let path = SAMPLE.replace("contentpipeline.yaml", "contentpipeline-refine.yaml");
        let definition = Definition::load(path).expect("sample loads");
        let spec = &definition.spec;
        let graph =
            crate::Graph::build(&spec.components, spec.output.as_deref()).expect("a valid graph");
        let refine = spec.components.iter().position(|c| c.name == "refine");
        let body = graph.body(refine.expect("a loop")).expect("its body");
        assert_eq!(body.len(), 3);
        assert_eq!(body.name(body.output()), "draft");
    }

    #[test]
    fn loads_a_bare_json_spec() {
        let json = r#"{"platformRef": {"name": "acme"},
            "components": [{"name": "a", "type": "TransformJson", "transformJson": {"expression": "@"}}]}"#;
        let definition = Definition::from_bytes(json.as_bytes(), "inline").expect("loads");
        assert_eq!(definition.name, None);
        assert_eq!(definition.spec.components[0].name, "a");
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let err = Definition::load("/nonexistent/pipeline.yaml").expect_err("fails");
        assert!(matches!(err, DefinitionError::Read { .. }), "{err}");
    }

    #[test]
    fn syntax_and_shape_errors_are_told_apart() {
        let err = Definition::from_bytes(b"components: [", "bad").expect_err("fails");
        assert!(matches!(err, DefinitionError::Syntax { .. }), "{err}");
        let err = Definition::from_bytes(b"components: []", "shape").expect_err("fails");
        assert!(err.to_string().contains("platformRef"), "{err}");
    }
}
