//! The sandboxed template engine shared by the template service and the generative worker.
//!
//! A [`TemplateSet`] of named Jinja sources becomes an [`Engine`] (MiniJinja 2 underneath):
//! every template is compiled up front, references between templates are checked, and
//! renders run under [`Limits`] on fuel, recursion depth and output size. The crate does
//! no I/O of its own: templates come from memory, and nothing a template does can reach the
//! filesystem or the network.
//!
//! ```
//! use machina_template_engine::{Engine, EngineOptions, TemplateFormat, TemplateSet};
//!
//! let set = TemplateSet::new()
//!     .with("base.html", TemplateFormat::Html, "<h1>{% block title %}{% endblock %}</h1>")
//!     .with("hi.html", TemplateFormat::Html,
//!           r#"{% extends "base.html" %}{% block title %}Hi {{ name }}{% endblock %}"#);
//! let engine = Engine::new(set, EngineOptions::default())?;
//! let html = engine.render("hi.html", serde_json::json!({"name": "<Ada>"}))?;
//! assert_eq!(html, "<h1>Hi &lt;Ada&gt;</h1>");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//! - [`format`](TemplateFormat) — output formats and the escaping each implies.
//! - [`set`](TemplateSet) — the named template sources.
//! - `engine` — [`Engine`]: the sandboxed environment.
//! - `checks` — what building an engine checks: syntax, references, filter and test names.
//! - `render` — rendering under [`Limits`] and the mapping to [`RenderError`].
//! - `limits` — [`Limits`], [`UndefinedMode`], [`EngineOptions`] and their semantics.
//! - `writer` — the bounded writer behind `max_output_bytes`.
//! - `scan` — the `{{ … }}`/`{% … %}` bodies of a source, for the static checks below.
//! - `references` — literal `include`/`import`/`from`/`extends` targets of a source.
//! - `names` — filter and test names a source uses.
//! - `position` — byte offsets to line and column.
//! - `filters` — `markdown`, `truncate`, `slugify`, `date`, `datetimeformat`, `number`,
//!   `currency`.
//! - `schema` — [`InputSchema`]: the declared input JSON Schema checked against a context.
//! - `checksum` — [`checksum`]: SHA-256 of a source, for status fields.
//! - `error` — [`CompileError`], [`CompileErrors`], [`RenderError`].

mod checks;
mod checksum;
mod engine;
mod error;
mod filters;
mod format;
mod limits;
mod names;
mod position;
mod references;
mod render;
mod scan;
mod schema;
mod set;
mod writer;

pub use checksum::checksum;
pub use engine::Engine;
pub use error::{CompileError, CompileErrors, RenderError, Result};
pub use format::TemplateFormat;
pub use limits::{EngineOptions, Limits, RECURSION_UNITS_PER_LEVEL, UndefinedMode};
pub use schema::{InputSchema, SchemaError, SchemaViolation, validate_input};
pub use set::{TemplateSet, TemplateSource};
