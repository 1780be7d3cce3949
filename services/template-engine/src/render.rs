//! Rendering: [`Engine::render`], [`Engine::render_with`], [`Engine::render_to_write`],
//! and the mapping of MiniJinja errors to [`RenderError`].

use std::borrow::Cow;
use std::io::Write;

use minijinja::{Environment, ErrorKind};
use serde::Serialize;

use crate::engine::apply_limits;
use crate::error::{RenderError, Result};
use crate::writer::BoundedWriter;
use crate::{Engine, Limits, TemplateFormat};

/// MiniJinja's message when its recursion counter passes the limit.
const RECURSION_MESSAGE: &str = "recursion limit exceeded";

impl Engine {
    /// Renders template `name` with `context` under the engine's default limits.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String> {
        self.render_with(name, context, &self.options.limits)
    }

    /// Renders template `name` with `context` under `limits`.
    pub fn render_with(
        &self,
        name: &str,
        context: impl Serialize,
        limits: &Limits,
    ) -> Result<String> {
        let mut out = Vec::new();
        self.render_to_write(name, context, limits, &mut out)?;
        String::from_utf8(out).map_err(|e| RenderError::Invalid {
            template: name.to_string(),
            line: None,
            message: format!("output is not UTF-8: {e}"),
        })
    }

    /// Streams template `name` into `writer` under `limits`; returns the bytes written.
    ///
    /// The render stops at the first write that would pass `limits.max_output_bytes`. On
    /// error `writer` may hold partial output, except for `Json` templates, whose output is
    /// buffered (within the same limit) and written only once it parses as JSON. MiniJinja
    /// writes many small chunks: give it a buffered writer when `writer` is a socket or file.
    pub fn render_to_write<W: Write>(
        &self,
        name: &str,
        context: impl Serialize,
        limits: &Limits,
        writer: W,
    ) -> Result<usize> {
        let env = self.env_for(limits);
        let template = env
            .get_template(name)
            .map_err(|e| to_render_error(&e, limits, false))?;
        if self.format(name) == Some(TemplateFormat::Json) {
            let mut buffer = BoundedWriter::new(Vec::new(), limits.max_output_bytes);
            run(&template, &context, &mut buffer, limits)?;
            let json = buffer.into_inner();
            check_json(&json)?;
            let mut writer = writer;
            writer.write_all(&json).map_err(RenderError::Write)?;
            Ok(json.len())
        } else {
            let mut bounded = BoundedWriter::new(writer, limits.max_output_bytes);
            run(&template, &context, &mut bounded, limits)?;
            Ok(bounded.written())
        }
    }

    /// The engine's environment, or a copy with other fuel and recursion limits.
    fn env_for(&self, limits: &Limits) -> Cow<'_, Environment<'static>> {
        let base = &self.options.limits;
        if limits.fuel == base.fuel && limits.max_recursion_depth == base.max_recursion_depth {
            Cow::Borrowed(&self.env)
        } else {
            let mut env = self.env.clone();
            apply_limits(&mut env, limits);
            Cow::Owned(env)
        }
    }
}

fn run<W: Write>(
    template: &minijinja::Template<'_, '_>,
    context: &impl Serialize,
    writer: &mut BoundedWriter<W>,
    limits: &Limits,
) -> Result<()> {
    match template.render_captured_to(context, &mut *writer) {
        Ok(_) => Ok(()),
        Err(e) => Err(to_render_error(&e, limits, writer.exceeded())),
    }
}

fn check_json(output: &[u8]) -> Result<()> {
    match serde_json::from_slice::<serde::de::IgnoredAny>(output) {
        Ok(_) => Ok(()),
        Err(e) => Err(RenderError::InvalidJson {
            line: u32::try_from(e.line()).unwrap_or(u32::MAX),
            column: u32::try_from(e.column()).unwrap_or(u32::MAX),
            message: e.to_string(),
        }),
    }
}

/// Maps a MiniJinja error to the typed error; limit errors are looked for along the
/// whole `source()` chain, since a limit hit inside a macro or filter may be wrapped.
fn to_render_error(e: &minijinja::Error, limits: &Limits, output_exceeded: bool) -> RenderError {
    if output_exceeded {
        return RenderError::OutputTooLarge {
            limit: limits.max_output_bytes,
        };
    }
    for cause in chain(e) {
        match cause.kind() {
            ErrorKind::OutOfFuel => return RenderError::FuelExhausted { limit: limits.fuel },
            ErrorKind::InvalidOperation if cause.detail() == Some(RECURSION_MESSAGE) => {
                return RenderError::RecursionLimit {
                    limit: limits.max_recursion_depth,
                };
            }
            _ => {}
        }
    }
    match e.kind() {
        ErrorKind::TemplateNotFound => RenderError::TemplateNotFound {
            name: missing_name(e),
        },
        ErrorKind::UndefinedError => undefined(e),
        ErrorKind::WriteFailure => RenderError::Write(std::io::Error::other(io_message(e))),
        _ => invalid(e),
    }
}

/// `e` and the MiniJinja errors it wraps.
fn chain(e: &minijinja::Error) -> impl Iterator<Item = &minijinja::Error> {
    std::iter::successors(Some(e), |e| {
        std::error::Error::source(*e).and_then(|s| s.downcast_ref::<minijinja::Error>())
    })
}

fn undefined(e: &minijinja::Error) -> RenderError {
    let name = match (e.template_source(), e.range()) {
        (Some(source), Some(range)) => undefined_name(source, range),
        _ => None,
    };
    RenderError::Undefined {
        template: e.name().unwrap_or_default().to_string(),
        line: e.line().and_then(|l| u32::try_from(l).ok()).unwrap_or(0),
        name: name.unwrap_or("?").to_string(),
    }
}

/// The undefined expression an error span points at. MiniJinja's span covers the
/// expression (`user.name`, `items`), or, when a filter met the undefined value, the
/// filter's name; then the value is whatever was piped into it (`order.total|currency`).
fn undefined_name(source: &str, range: std::ops::Range<usize>) -> Option<&str> {
    let text = source.get(range.clone())?.split('|').next()?.trim();
    match source.get(..range.start)?.trim_end().strip_suffix('|') {
        Some(before) => piped_expression(before).or(Some(text)),
        None => Some(text),
    }
}

/// The expression at the end of `before` (walking left over further filters).
fn piped_expression(before: &str) -> Option<&str> {
    let before = before.trim_end();
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || "_.[]'\"".contains(*c)))
        .map_or(0, |(i, c)| i + c.len_utf8());
    match before[..start].trim_end().strip_suffix('|') {
        Some(further) => piped_expression(further),
        None => Some(&before[start..]).filter(|e| !e.is_empty()),
    }
}

fn invalid(e: &minijinja::Error) -> RenderError {
    let message = match (e.kind(), e.detail()) {
        (ErrorKind::InvalidOperation, Some(detail)) => detail.to_string(),
        (kind, Some(detail)) => format!("{kind}: {detail}"),
        (kind, None) => kind.to_string(),
    };
    RenderError::Invalid {
        template: e.name().unwrap_or_default().to_string(),
        line: e.line().and_then(|l| u32::try_from(l).ok()),
        message,
    }
}

/// The name in MiniJinja's `template "x" does not exist`.
fn missing_name(e: &minijinja::Error) -> String {
    let detail = e.detail().unwrap_or_default();
    detail
        .split('"')
        .nth(1)
        .map_or_else(|| detail.to_string(), str::to_string)
}

fn io_message(e: &minijinja::Error) -> String {
    std::error::Error::source(e).map_or_else(|| e.to_string(), ToString::to_string)
}
