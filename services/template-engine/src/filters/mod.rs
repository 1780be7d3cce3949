//! Filters for content authors, registered on every engine.
//!
//! | filter | does |
//! |---|---|
//! | `markdown` | CommonMark to HTML, raw HTML escaped, unsafe link schemes dropped; marked safe |
//! | `truncate(length=255, killwords=false, end='…', leeway=0)` | Jinja2 semantics and argument order |
//! | `slugify` | lower-case ASCII-folded words joined by `-` |
//! | `date(format='%Y-%m-%d')`, `datetimeformat(format='%Y-%m-%d %H:%M')` | RFC 3339 strings or unix seconds |
//! | `number(decimals=0, thousands_sep=',', decimal_point='.')` | grouped fixed-point numbers |
//! | `currency(symbol='$', decimals=2, thousands_sep=',', decimal_point='.')` | `-$1,234.50` |
//!
//! Bad input is an error naming the filter and what it expected.

mod args;
mod date;
mod markdown;
mod number;
mod slugify;
mod truncate;

use minijinja::Environment;

/// Adds this crate's filters to `env` (replacing built-ins of the same name).
pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_filter("markdown", markdown::markdown);
    env.add_filter("truncate", truncate::truncate);
    env.add_filter("slugify", slugify::slugify);
    env.add_filter("date", date::date);
    env.add_filter("datetimeformat", date::datetimeformat);
    env.add_filter("number", number::number);
    env.add_filter("currency", number::currency);
}

#[cfg(test)]
pub(crate) mod test_support {
    use minijinja::{Environment, context};

    /// Renders `source` with this crate's filters and `value` bound to `v`.
    pub(crate) fn render(source: &str, value: impl serde::Serialize) -> Result<String, String> {
        let mut env = Environment::new();
        super::register(&mut env);
        env.render_str(source, context! { v => value })
            .map_err(|e| e.detail().unwrap_or_default().to_string())
    }
}
