//! Localised values: how a write in one locale merges into the stored values,
//! and how stored values resolve for a read in one locale. Pure.

use serde_json::Value;

use crate::model::{ContentType, Fields};

/// The stored values after writing `values` in `locale` over `current`:
/// plain fields are replaced (removed when absent), localized fields get
/// `locale`'s value replaced and keep the other locales'.
pub fn merge(ty: &ContentType, current: &Fields, values: &Fields, locale: &str) -> Fields {
    let mut merged = Fields::new();
    for def in &ty.fields {
        let given = values.get(&def.name).filter(|v| !v.is_null());
        if def.localized {
            let mut per_locale = match current.get(&def.name) {
                Some(Value::Object(map)) => map.clone(),
                _ => Fields::new(),
            };
            match given {
                Some(v) => {
                    per_locale.insert(locale.to_owned(), v.clone());
                }
                None => {
                    per_locale.remove(locale);
                }
            }
            if !per_locale.is_empty() {
                merged.insert(def.name.clone(), Value::Object(per_locale));
            }
        } else if let Some(v) = given {
            merged.insert(def.name.clone(), v.clone());
        }
    }
    merged
}

/// Values of `locale` from the current ones (localized fields take the locale's
/// value, else `fallback`'s). Fields no longer in the type are kept as stored.
pub fn resolve(ty: Option<&ContentType>, fields: &Fields, locale: &str, fallback: &str) -> Fields {
    fields
        .iter()
        .filter_map(|(name, value)| {
            let localized = ty.and_then(|t| t.field(name)).is_some_and(|d| d.localized);
            if !localized {
                return Some((name.clone(), value.clone()));
            }
            let map = value.as_object()?;
            map.get(locale)
                .or_else(|| map.get(fallback))
                .map(|v| (name.clone(), v.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::FieldDef;

    fn mk_type() -> ContentType {
        let fields: Vec<FieldDef> = serde_json::from_value(json!([
            {"name": "title", "kind": "text", "localized": true},
            {"name": "price", "kind": "number"}
        ]))
        .unwrap();
        ContentType {
            id: "t".into(),
            title: None,
            fields,
            revision: 1,
            updated_at: String::new(),
        }
    }

    fn values(v: Value) -> Fields {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn merge_keeps_other_locales_and_resolve_falls_back() {
        let ty = mk_type();
        let en = merge(
            &ty,
            &Fields::new(),
            &values(json!({"title": "Hi", "price": 1})),
            "en",
        );
        let both = merge(
            &ty,
            &en,
            &values(json!({"title": "Salut", "price": 2})),
            "fr",
        );
        assert_eq!(both["title"], json!({"en": "Hi", "fr": "Salut"}));
        assert_eq!(both["price"], json!(2));
        assert_eq!(
            resolve(Some(&ty), &both, "fr", "en")["title"],
            json!("Salut")
        );
        assert_eq!(resolve(Some(&ty), &both, "de", "en")["title"], json!("Hi"));
        assert!(!resolve(Some(&ty), &en, "de", "es").contains_key("title"));
    }
}
