//! Validation of path and query parameters, so every bad input gets a 400
//! naming the parameter and the reason.

use std::collections::HashMap;

use machina_kit::ApiError;

/// Longest accepted user, item or series id.
pub const MAX_ID_LEN: usize = 256;

fn bad(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        field: Some(field.to_owned()),
        reason: reason.into(),
    }
}

/// An id from the path or query: non-empty, at most [`MAX_ID_LEN`] bytes, no control characters.
pub fn id<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.trim().is_empty() {
        return Err(bad(field, format!("{field} must not be empty")));
    }
    if value.len() > MAX_ID_LEN {
        return Err(bad(
            field,
            format!("{field} must be at most {MAX_ID_LEN} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(bad(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value)
}

/// An integer query parameter in `1..=max`, `default` when absent.
pub fn bounded(
    query: &HashMap<String, String>,
    field: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(raw) = query.get(field) else {
        return Ok(default.min(max));
    };
    raw.parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            bad(
                field,
                format!("{field} must be an integer from 1 to {max}, got {raw:?}"),
            )
        })
}

/// An optional query parameter restricted to `allowed` values.
pub fn one_of<'a>(
    query: &'a HashMap<String, String>,
    field: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match query.get(field) {
        None => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
        Some(v) => Err(bad(
            field,
            format!("{field} must be one of {}, got {v:?}", allowed.join(", ")),
        )),
    }
}

/// A required query parameter that is a valid id.
pub fn required_id<'a>(
    query: &'a HashMap<String, String>,
    field: &str,
    example: &str,
) -> Result<&'a str, ApiError> {
    let value = query
        .get(field)
        .ok_or_else(|| bad(field, format!("{field} is required, e.g. {example}")))?;
    id(field, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn field(err: ApiError) -> Option<String> {
        match err {
            ApiError::BadRequest { field, .. } => field,
            _ => None,
        }
    }

    #[test]
    fn k_is_bounded() {
        assert_eq!(bounded(&q(&[]), "k", 10, 50).unwrap(), 10);
        assert_eq!(bounded(&q(&[("k", "50")]), "k", 10, 50).unwrap(), 50);
        for bad in ["0", "51", "-1", "ten", ""] {
            let err = bounded(&q(&[("k", bad)]), "k", 10, 50).unwrap_err();
            assert_eq!(field(err).as_deref(), Some("k"), "{bad}");
        }
    }

    #[test]
    fn ids_are_checked() {
        assert_eq!(id("id", "u-1").unwrap(), "u-1");
        assert!(id("id", " ").is_err());
        assert!(id("id", &"x".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(id("id", "a\nb").is_err());
    }

    #[test]
    fn enums_and_required() {
        assert_eq!(
            one_of(&q(&[("dimension", "item")]), "dimension", &["item", "type"]).unwrap(),
            Some("item")
        );
        assert!(
            one_of(
                &q(&[("dimension", "color")]),
                "dimension",
                &["item", "type"]
            )
            .is_err()
        );
        let err = required_id(&q(&[]), "series", "events").unwrap_err();
        assert_eq!(field(err).as_deref(), Some("series"));
    }
}
