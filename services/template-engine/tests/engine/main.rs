//! Engine tests against the public API: compilation and references, rendering and
//! formats, sandbox limits.

mod compile;
mod formats;
mod limits;
mod render;
mod support;
