//! Turning a request body into a checked, not yet stored version: field checks,
//! effective limits, the input schema, dependencies at their active versions, a
//! full compile and the sample render. Nothing here writes.

use machina_template_engine::{Engine, EngineOptions, InputSchema, Limits, TemplateSet, checksum};
use mongodb::bson::DateTime;
use serde_json::{Value, json};

use super::Templates;
use crate::{
    error::{Error, Result, render_error, schema_error},
    model::{LimitsBody, TemplateContent, TemplateProblem, VersionDoc},
};

/// Largest accepted template source (the CRD's limit).
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
/// Most includes a version may declare (the CRD's limit).
pub const MAX_INCLUDES: usize = 32;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 1024;

/// Checks a template name: a DNS-1123 subdomain (lowercase alphanumerics, `-`, `.`;
/// labels start and end alphanumeric; at most 253 characters).
pub fn check_name(field: &str, name: &str) -> Result<()> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(Error::invalid(
            field,
            format!(
                "{name:?} is not a valid template name: use at most 253 lowercase letters, \
                 digits, '-' and '.', starting and ending with a letter or digit"
            ),
        ));
    }
    Ok(())
}

/// The request's limits, each capped by the service's.
pub fn effective_limits(requested: Option<LimitsBody>, caps: &Limits) -> Result<Limits> {
    let r = requested.unwrap_or_default();
    if r.fuel == Some(0) {
        return Err(Error::invalid("limits.fuel", "must be at least 1"));
    }
    if r.max_recursion_depth == Some(0) {
        return Err(Error::invalid(
            "limits.maxRecursionDepth",
            "must be at least 1",
        ));
    }
    if r.max_output_bytes == Some(0) {
        return Err(Error::invalid(
            "limits.maxOutputBytes",
            "must be at least 1",
        ));
    }
    Ok(Limits {
        fuel: r.fuel.map_or(caps.fuel, |f| f.min(caps.fuel)),
        max_recursion_depth: r.max_recursion_depth.map_or(caps.max_recursion_depth, |d| {
            d.min(caps.max_recursion_depth)
        }),
        max_output_bytes: r
            .max_output_bytes
            .map_or(caps.max_output_bytes, |b| b.min(caps.max_output_bytes)),
    })
}

/// `limits` capped by `caps` (for stored versions when the caps were lowered).
pub fn capped(limits: Limits, caps: &Limits) -> Limits {
    Limits {
        fuel: limits.fuel.min(caps.fuel),
        max_recursion_depth: limits.max_recursion_depth.min(caps.max_recursion_depth),
        max_output_bytes: limits.max_output_bytes.min(caps.max_output_bytes),
    }
}

/// JSON text with object keys sorted at every level, so equal values hash equally.
pub use machina_kit::canonical_json as canonical;

/// The idempotency key: everything that makes a version what it is.
pub fn content_checksum(doc: &VersionDoc, input_schema: Option<&Value>) -> String {
    let mut includes = doc.includes.clone();
    includes.sort();
    checksum(&canonical(&json!({
        "format": doc.format,
        "source": doc.source,
        "inputSchema": input_schema,
        "limits": doc.limits,
        "extends": doc.extends,
        "includes": includes,
    })))
}

/// A checked version, ready to store.
#[derive(Debug)]
pub struct Prepared {
    /// The version document (`version` is assigned when it is stored).
    pub doc: VersionDoc,
}

impl Templates {
    /// Checks `content` as the next version of `name`; nothing is written.
    pub(crate) async fn prepare(&self, name: &str, content: TemplateContent) -> Result<Prepared> {
        check_fields(name, &content)?;
        let limits = effective_limits(content.limits, &self.limits)?;
        let schema = match &content.input_schema {
            Some(s) => {
                Some(InputSchema::compile(s).map_err(|e| schema_error(name, "inputSchema", e))?)
            }
            None => None,
        };
        let mut includes: Vec<String> = Vec::new();
        for include in content.includes {
            if !includes.contains(&include) {
                includes.push(include);
            }
        }
        let mut doc = VersionDoc {
            name: name.to_owned(),
            version: 0,
            format: content.format,
            checksum: checksum(&content.source),
            source: content.source,
            content_checksum: String::new(),
            input_schema: content.input_schema.as_ref().map(Value::to_string),
            sample_context: content.sample_context.as_ref().map(Value::to_string),
            limits,
            extends: content.extends,
            includes,
            created_at: DateTime::now(),
        };
        doc.content_checksum = content_checksum(&doc, content.input_schema.as_ref());

        let (dependencies, missing) = self.resolve(&doc).await?;
        let declared_missing: Vec<TemplateProblem> = missing
            .iter()
            .filter(|m| doc.dependencies().any(|d| d == m.as_str()))
            .map(|m| missing_problem(&doc, m))
            .collect();
        if !declared_missing.is_empty() {
            return Err(Error::Template {
                code: "compile_error",
                detail: declared_missing[0].message.clone(),
                errors: declared_missing,
            });
        }
        let engine = build_engine(&doc, &dependencies, limits)?;
        if let Some(sample) = &content.sample_context {
            if let Some(schema) = &schema {
                schema
                    .validate(sample)
                    .map_err(|e| schema_error(name, "sampleContext", e))?;
            }
            let root = doc.name.clone();
            let sample = sample.clone();
            tokio::task::spawn_blocking(move || engine.render(&root, sample))
                .await
                .map_err(Error::internal)?
                .map_err(|e| sample_failed(render_error(name, e)))?;
        }
        Ok(Prepared { doc })
    }
}

/// The engine for `root` plus `dependencies` (the root wins a name clash).
pub fn build_engine(
    root: &VersionDoc,
    dependencies: &[VersionDoc],
    limits: Limits,
) -> Result<Engine> {
    let mut set = TemplateSet::new();
    for dep in dependencies {
        set.insert(dep.name.clone(), dep.format, dep.source.clone());
    }
    set.insert(root.name.clone(), root.format, root.source.clone());
    let options = EngineOptions {
        limits,
        ..EngineOptions::default()
    };
    Ok(Engine::new(set, options)?)
}

fn check_fields(name: &str, content: &TemplateContent) -> Result<()> {
    check_name("name", name)?;
    if content.source.trim().is_empty() {
        return Err(Error::invalid("source", "must not be empty"));
    }
    if content.source.len() > MAX_SOURCE_BYTES {
        return Err(Error::invalid(
            "source",
            format!(
                "is {} bytes; at most {MAX_SOURCE_BYTES} are allowed",
                content.source.len()
            ),
        ));
    }
    if content
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        return Err(Error::invalid(
            "description",
            format!("at most {MAX_DESCRIPTION} characters"),
        ));
    }
    if let Some(extends) = &content.extends {
        check_name("extends", extends)?;
        if extends == name {
            return Err(Error::invalid("extends", "a template cannot extend itself"));
        }
    }
    if content.includes.len() > MAX_INCLUDES {
        return Err(Error::invalid(
            "includes",
            format!("at most {MAX_INCLUDES} entries"),
        ));
    }
    for (i, include) in content.includes.iter().enumerate() {
        check_name(&format!("includes[{i}]"), include)?;
        if include == name {
            return Err(Error::invalid(
                &format!("includes[{i}]"),
                "a template cannot include itself",
            ));
        }
    }
    if content
        .input_schema
        .as_ref()
        .is_some_and(|s| !s.is_object() && !s.is_boolean())
    {
        return Err(Error::invalid(
            "inputSchema",
            "must be a JSON Schema object",
        ));
    }
    if content
        .sample_context
        .as_ref()
        .is_some_and(|c| !c.is_object())
    {
        return Err(Error::invalid("sampleContext", "must be a JSON object"));
    }
    Ok(())
}

/// A declared dependency that is not stored (or retired), at the line naming it.
fn missing_problem(doc: &VersionDoc, missing: &str) -> TemplateProblem {
    let field = if doc.extends.as_deref() == Some(missing) {
        "extends"
    } else {
        "includes"
    };
    let position = [format!("\"{missing}\""), format!("'{missing}'")]
        .iter()
        .filter_map(|q| doc.source.find(q.as_str()))
        .min();
    let (line, column) = position.map_or((1, None), |offset| {
        let before = &doc.source[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).ok(),
        )
    });
    TemplateProblem {
        template: doc.name.clone(),
        line,
        column,
        message: format!(
            "`{field}` names template {missing:?}, which is not stored (or is retired)"
        ),
        pointer: None,
    }
}

/// Marks a render error as coming from the sample context.
fn sample_failed(err: Error) -> Error {
    match err {
        Error::Template {
            code,
            detail,
            errors,
        } => Error::Template {
            code,
            detail: format!("sampleContext failed to render: {detail}"),
            errors,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dns_1123() {
        for ok in ["a", "welcome-email", "base.html", "a1.b2-c3"] {
            assert!(check_name("name", ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "-a", "a-", "a..b", "a_b", "a b", &"x".repeat(254)] {
            assert!(check_name("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overrides_are_capped() {
        let caps = Limits {
            fuel: 1000,
            max_recursion_depth: 10,
            max_output_bytes: 100,
        };
        let body = LimitsBody {
            fuel: Some(5_000),
            max_recursion_depth: Some(3),
            max_output_bytes: None,
        };
        let l = effective_limits(Some(body), &caps).unwrap();
        assert_eq!(
            (l.fuel, l.max_recursion_depth, l.max_output_bytes),
            (1000, 3, 100)
        );
        assert!(
            effective_limits(
                Some(LimitsBody {
                    fuel: Some(0),
                    ..LimitsBody::default()
                }),
                &caps
            )
            .is_err()
        );
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"y":2,"x":1}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical(&a),
            r#"{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}"#
        );
    }
}
