//! The API's request and response bodies, and the documents stored in MongoDB.
//!
//! - `requests`: what clients send (serde defaults match the contract).
//! - `responses`: what clients (the operator, the generative worker) read.
//! - `documents`: the MongoDB documents and their conversions to responses.
//!
//! Every API type derives `ToSchema` for the OpenAPI document.

mod documents;
mod requests;
mod responses;

pub use documents::{TemplateDoc, VersionDoc, rfc3339};
pub use requests::*;
pub use responses::*;
