//! Opaque pagination cursors: base64url of `v1:<last id>`. Pages are ordered by
//! profile id, which never changes, so a cursor stays valid while profiles are
//! added or removed around it.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::{Error, Result};

const VERSION: &str = "v1:";

/// The cursor that resumes after `last_id`.
pub fn encode(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{VERSION}{last_id}"))
}

/// The id a cursor resumes after; 400 for anything this service did not issue.
pub fn decode(cursor: &str) -> Result<String> {
    let bad = || Error::bad_request("cursor", "not a cursor this service issued");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix(VERSION)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(decode(&encode("abc-123")).unwrap(), "abc-123");
    }

    #[test]
    fn refuses_foreign_cursors() {
        assert!(decode("!!!").is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode("v2:x")).is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode("v1:")).is_err());
    }
}
