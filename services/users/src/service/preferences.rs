//! Preferences: one JSON object per user, replaced (PUT) or merge-patched (PATCH,
//! RFC 7396), never larger than `PREFERENCES_MAX_BYTES` once serialised.

use serde_json::Value;

use super::Users;
use crate::{
    error::{Error, Result},
    events::ChangeKind,
    merge::merge_patch,
};

/// How a preferences write combines with what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Replace the whole object.
    Replace,
    /// Merge patch.
    Merge,
}

/// The preferences that result from applying `body` to `current`, checked.
pub fn apply(current: Value, body: &Value, how: Write, max_bytes: usize) -> Result<Value> {
    if !body.is_object() {
        return Err(Error::invalid("preferences", "must be a JSON object"));
    }
    let next = match how {
        Write::Replace => body.clone(),
        Write::Merge => {
            let mut next = current;
            merge_patch(&mut next, body);
            next
        }
    };
    let size = next.to_string().len();
    if size > max_bytes {
        return Err(Error::invalid(
            "preferences",
            format!("would be {size} bytes of JSON; the limit is {max_bytes}"),
        ));
    }
    Ok(next)
}

impl Users {
    /// The preferences of an active profile.
    pub async fn preferences(&self, id: &str) -> Result<Value> {
        Ok(self.profile(id).await?.preferences_value())
    }

    /// Replaces or merges preferences; returns the stored object.
    pub async fn write_preferences(&self, id: &str, body: &Value, how: Write) -> Result<Value> {
        let max = self.preferences_max_bytes;
        let doc = self
            .modify(id, ChangeKind::Updated, |doc| {
                let next = apply(doc.preferences_value(), body, how, max)?;
                doc.preferences = next.to_string();
                Ok(())
            })
            .await?;
        Ok(doc.preferences_value())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_and_replace() {
        let current = json!({"theme": "dark", "lang": "fr"});
        let merged = apply(
            current.clone(),
            &json!({"lang": null, "tz": "UTC"}),
            Write::Merge,
            100,
        )
        .unwrap();
        assert_eq!(merged, json!({"theme": "dark", "tz": "UTC"}));
        let replaced = apply(current, &json!({"tz": "UTC"}), Write::Replace, 100).unwrap();
        assert_eq!(replaced, json!({"tz": "UTC"}));
    }

    #[test]
    fn size_and_shape_are_checked() {
        assert!(apply(json!({}), &json!({"x": "y".repeat(50)}), Write::Merge, 20).is_err());
        assert!(apply(json!({}), &json!([1]), Write::Replace, 100).is_err());
    }
}
