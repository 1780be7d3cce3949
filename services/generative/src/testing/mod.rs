//! Test doubles: in-memory backends and checkpoints, a trivial renderer, builders of
//! components, and [`MockOpenAi`], a local server speaking the chat-completions protocol.
//!
//! Used by this crate's tests and by the service's; nothing here talks to a real backend.

pub mod builders;
mod memory;
mod mock_openai;
mod renderer;

pub use memory::{MemoryCache, MemoryCheckpoints, MemoryDocuments, MemoryPublisher};
pub use mock_openai::{MockOpenAi, MockReply, RecordedRequest};
pub use renderer::TestRenderer;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, ignoring poisoning (a panicking test must not hide the state).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
