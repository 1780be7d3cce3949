//! Publish: sends the input as a message and passes it through. The message id is stable
//! across resumes of the run (`<run id>:<component>`) so consumers can deduplicate.

use super::{Component, ComponentError, ComponentOutput, RunContext, envelope};
use crate::backends::{Message, Publisher};
use async_trait::async_trait;
use machina_crds::content_pipeline::components::Publish;
use serde_json::Value;
use std::sync::Arc;

/// The Publish component.
#[derive(Debug)]
pub struct PublishComponent {
    name: String,
    spec: Publish,
    publisher: Arc<dyn Publisher>,
}

impl PublishComponent {
    /// A component named `name` publishing as `spec` says with `publisher`.
    pub fn new(name: &str, spec: Publish, publisher: Arc<dyn Publisher>) -> Self {
        Self {
            name: name.to_owned(),
            spec,
            publisher,
        }
    }
}

#[async_trait]
impl Component for PublishComponent {
    async fn run(&self, ctx: &RunContext, input: Value) -> Result<ComponentOutput, ComponentError> {
        let message = Message {
            exchange: self.spec.exchange.clone(),
            routing_key: self.spec.routing_key.clone(),
            message_id: format!("{}:{}", ctx.run_id, self.name),
            payload: envelope(ctx, &self.name, &input),
        };
        self.publisher.publish(&message).await?;
        Ok(ComponentOutput::new(input))
    }
}
