//! The `GET /v1/users` query string: parsed by hand so every mistake is a 400
//! problem naming the parameter.

use chrono::DateTime as ChronoDateTime;
use mongodb::bson::DateTime;

use crate::{
    cursor,
    error::{Error, Result},
    service::profiles::{DEFAULT_LIMIT, MAX_LIMIT},
    store::SearchFilter,
    validate,
};

/// Longest search prefix.
const MAX_Q: usize = 100;

/// A parsed search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// What to match.
    pub filter: SearchFilter,
    /// Page size.
    pub limit: usize,
    /// True for a lookup by `email` (answers one profile, not a page).
    pub by_email: Option<String>,
}

/// Parses `raw` (without the `?`).
pub fn parse(raw: Option<&str>) -> Result<Search> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| Error::bad_request("query", "not a valid query string"))?;
    let mut search = Search {
        filter: SearchFilter::default(),
        limit: DEFAULT_LIMIT,
        by_email: None,
    };
    let mut seen = std::collections::HashSet::new();
    for (name, value) in pairs {
        if !seen.insert(name.clone()) {
            return Err(Error::bad_request(&name, "repeated parameter"));
        }
        match name.as_str() {
            "email" => {
                search.by_email = Some(
                    validate::email(&value)
                        .map_err(|_| Error::bad_request("email", "not an email address"))?,
                )
            }
            "q" => {
                let q = validate::key(&value);
                if q.is_empty() || q.chars().count() > MAX_Q {
                    return Err(Error::bad_request("q", "must be 1 to 100 characters"));
                }
                search.filter.prefix = Some(q);
            }
            "limit" => {
                search.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Error::bad_request("limit", "must be an integer from 1 to 100")
                    })?;
            }
            "cursor" => search.filter.after_id = Some(cursor::decode(&value)?),
            "includeDeleted" => {
                search.filter.include_deleted = value
                    .parse()
                    .map_err(|_| Error::bad_request("includeDeleted", "must be true or false"))?;
            }
            "createdAfter" => search.filter.created_after = Some(timestamp(&name, &value)?),
            "createdBefore" => search.filter.created_before = Some(timestamp(&name, &value)?),
            _ => return Err(Error::bad_request(&name, "unknown query parameter")),
        }
    }
    Ok(search)
}

fn timestamp(name: &str, value: &str) -> Result<DateTime> {
    ChronoDateTime::parse_from_rfc3339(value)
        .map(|t| DateTime::from_millis(t.timestamp_millis()))
        .map_err(|_| Error::bad_request(name, "must be an RFC 3339 timestamp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_search() {
        let s = parse(Some(
            "q=Ad&limit=5&includeDeleted=true&createdAfter=2026-01-01T00:00:00Z",
        ))
        .unwrap();
        assert_eq!(s.filter.prefix.as_deref(), Some("ad"));
        assert_eq!(s.limit, 5);
        assert!(s.filter.include_deleted);
        assert!(s.filter.created_after.is_some());
        assert_eq!(parse(None).unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn names_the_bad_parameter() {
        for (raw, field) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("cursor=zzz", "cursor"),
            ("sort=x", "sort"),
            ("q=a&q=b", "q"),
            ("createdAfter=yesterday", "createdAfter"),
            ("email=nope", "email"),
        ] {
            let err = parse(Some(raw)).unwrap_err();
            let Error::Api(machina_kit::ApiError::BadRequest { field: Some(f), .. }) = err else {
                panic!("{raw}: {err}");
            };
            assert_eq!(f, field, "{raw}");
        }
    }
}
