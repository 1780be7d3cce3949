//! Argument helpers shared by the filters: an argument may come positionally or as a
//! keyword (Jinja2 style), never both.

use minijinja::value::{ArgType, Kwargs, Value};
use minijinja::{Error, ErrorKind, State, UndefinedBehavior};

/// The argument `name` of `filter`, from its position or keywords, else `default`.
pub(super) fn arg<T>(
    filter: &str,
    name: &str,
    positional: Option<T>,
    kwargs: &Kwargs,
    default: T,
) -> Result<T, Error>
where
    for<'a> Option<T>: ArgType<'a, Output = Option<T>>,
{
    let keyword: Option<T> = kwargs.get(name)?;
    match (positional, keyword) {
        (Some(_), Some(_)) => Err(invalid(
            filter,
            format!("argument `{name}` given both by position and by keyword"),
        )),
        (Some(v), None) | (None, Some(v)) => Ok(v),
        (None, None) => Ok(default),
    }
}

/// An `InvalidOperation` error prefixed with the filter's name.
pub(super) fn invalid(filter: &str, message: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("{filter}: {message}"))
}

/// The value as a string, or an error naming the filter and the actual kind.
pub(super) fn expect_str<'a>(filter: &str, value: &'a Value) -> Result<&'a str, Error> {
    value
        .as_str()
        .ok_or_else(|| invalid(filter, format!("expected a string, got {}", value.kind())))
}

/// The result of a filter given an undefined value: under `Lenient` undefined prints as
/// `""`; otherwise it is MiniJinja's undefined error, which the engine reports with the
/// expression's name. `None` when the value is defined.
pub(super) fn on_undefined(state: &State<'_, '_>, value: &Value) -> Option<Result<String, Error>> {
    if !value.is_undefined() {
        return None;
    }
    Some(match state.undefined_behavior() {
        UndefinedBehavior::Lenient => Ok(String::new()),
        _ => Err(Error::from(ErrorKind::UndefinedError)),
    })
}
