//! Store: writes the input to a collection of the pipeline's database, under an id stable
//! across resumes of the run (`<run id>:<component>`), and passes the input through.

use super::{Component, ComponentError, ComponentOutput, RunContext, envelope};
use crate::backends::DocumentStore;
use async_trait::async_trait;
use machina_crds::content_pipeline::components::Store;
use serde_json::Value;
use std::sync::Arc;

/// The Store component.
#[derive(Debug)]
pub struct StoreComponent {
    name: String,
    collection: String,
    documents: Arc<dyn DocumentStore>,
}

impl StoreComponent {
    /// A component named `name` storing into `spec.collection` of `documents`.
    pub fn new(name: &str, spec: Store, documents: Arc<dyn DocumentStore>) -> Self {
        Self {
            name: name.to_owned(),
            collection: spec.collection,
            documents,
        }
    }
}

#[async_trait]
impl Component for StoreComponent {
    async fn run(&self, ctx: &RunContext, input: Value) -> Result<ComponentOutput, ComponentError> {
        let id = format!("{}:{}", ctx.run_id, self.name);
        let document = envelope(ctx, &self.name, &input);
        self.documents.put(&self.collection, &id, &document).await?;
        let mut output = ComponentOutput::new(input);
        output.info.document_id = Some(id);
        Ok(output)
    }
}
