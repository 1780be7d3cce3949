//! Pure checks and normalisation of identity fields: email, username, display name.
//!
//! Uniqueness is case-insensitive: the store keeps a lower-cased key next to each
//! value and puts the unique index on the key.

use crate::error::{Error, Result};

/// Longest email address (RFC 5321 path limit).
const EMAIL_MAX: usize = 254;
/// Username length bounds.
const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=32;
/// Longest display name, in characters.
const DISPLAY_NAME_MAX: usize = 100;

/// The case-insensitive key of an email, username or display name.
pub fn key(value: &str) -> String {
    value.trim().to_lowercase()
}

/// Checks an email address's shape (delivery is auth's concern); returns it trimmed.
pub fn email(value: &str) -> Result<String> {
    let value = value.trim();
    let bad = |reason: &str| Err(Error::invalid("email", reason));
    if value.is_empty() || value.len() > EMAIL_MAX {
        return bad("must be 1 to 254 characters");
    }
    let Some((local, domain)) = value.rsplit_once('@') else {
        return bad("must contain @");
    };
    if local.is_empty()
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return bad("is not an email address");
    }
    Ok(value.to_owned())
}

/// Checks a username: 3 to 32 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
pub fn username(value: &str) -> Result<String> {
    let ok = USERNAME_LEN.contains(&value.len())
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(Error::invalid(
            "username",
            "must be 3 to 32 of A-Z a-z 0-9 . _ - and start with a letter or digit",
        ))
    }
}

/// Checks a display name: 1 to 100 characters, no control characters; returns it trimmed.
pub fn display_name(value: &str) -> Result<String> {
    let value = value.trim();
    let count = value.chars().count();
    if count == 0 || count > DISPLAY_NAME_MAX || value.chars().any(char::is_control) {
        return Err(Error::invalid(
            "displayName",
            "must be 1 to 100 characters without control characters",
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fold_case() {
        assert_eq!(key(" Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn emails() {
        assert_eq!(email(" a@b.io ").unwrap(), "a@b.io");
        for bad in ["", "a", "a@b", "@b.io", "a@.io", "a b@c.io", "a@b.io."] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames() {
        assert!(username("ada_l.9").is_ok());
        for bad in ["ab", "_ada", "ada lovelace", "ädä", &"a".repeat(33)] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name(" Ada L. ").unwrap(), "Ada L.");
        assert!(display_name("  ").is_err());
        assert!(display_name("a\nb").is_err());
    }
}
