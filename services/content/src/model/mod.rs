//! Request and response bodies and the documents stored in MongoDB.

pub mod entry;
pub mod schema;
pub mod webhook;

pub use entry::*;
pub use schema::*;
pub use webhook::*;
