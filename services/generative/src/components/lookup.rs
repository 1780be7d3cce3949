//! LookupDocument: finds one document and adds it to the input under `into`.
//!
//! String values of the filter may reference the input as `{{ context.path }}` (and the
//! request as `{{ request.path }}`).

use super::{Component, ComponentError, ComponentOutput, RunContext};
use crate::backends::DocumentStore;
use crate::json::interpolate;
use async_trait::async_trait;
use machina_crds::content_pipeline::components::LookupDocument;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The LookupDocument component.
#[derive(Debug)]
pub struct LookupComponent {
    spec: LookupDocument,
    documents: Arc<dyn DocumentStore>,
}

impl LookupComponent {
    /// A component looking up as `spec` says in `documents`.
    pub fn new(spec: LookupDocument, documents: Arc<dyn DocumentStore>) -> Self {
        Self { spec, documents }
    }
}

#[async_trait]
impl Component for LookupComponent {
    async fn run(&self, ctx: &RunContext, input: Value) -> Result<ComponentOutput, ComponentError> {
        let filter = interpolate(
            &self.spec.filter,
            &json!({"context": input, "request": ctx.request}),
        );
        let found = self
            .documents
            .find_one(
                self.spec.database.as_deref(),
                &self.spec.collection,
                &filter,
            )
            .await?;
        if found.is_none() && self.spec.required {
            return Err(ComponentError::NotFound {
                collection: self.spec.collection.clone(),
                filter,
            });
        }
        let mut output = match input {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        output.insert(self.spec.into.clone(), found.unwrap_or(Value::Null));
        Ok(ComponentOutput::new(Value::Object(output)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::test_support::mk_ctx;
    use crate::testing::MemoryDocuments;

    fn mk_lookup(required: bool) -> LookupComponent {
        let documents = MemoryDocuments::new();
        documents.insert("products", json!({"sku": "ABC-123", "name": "Lamp"}));
        LookupComponent::new(
            LookupDocument {
                database: Some("acme_content".into()),
                collection: "products".into(),
                filter: json!({"sku": "{{ context.sku }}"}),
                into: "product".into(),
                required,
            },
            Arc::new(documents),
        )
    }

    #[tokio::test]
    async fn adds_the_document_to_the_input() {
        let out = mk_lookup(true)
            .run(&mk_ctx(json!({})), json!({"sku": "ABC-123"}))
            .await
            .expect("found");
        assert_eq!(
            out.value,
            json!({"sku": "ABC-123", "product": {"sku": "ABC-123", "name": "Lamp"}})
        );
    }

    #[tokio::test]
    async fn a_missing_document_fails_only_when_required() {
        let err = mk_lookup(true)
            .run(&mk_ctx(json!({})), json!({"sku": "ZZZ-999"}))
            .await
            .expect_err("not found");
        assert!(err.to_string().contains("ZZZ-999"), "{err}");
        let out = mk_lookup(false)
            .run(&mk_ctx(json!({})), json!({"sku": "ZZZ-999"}))
            .await
            .expect("optional");
        assert_eq!(out.value["product"], Value::Null);
    }
}
