//! Compilation of `x-kubernetes-validations` (CEL) rules, once per schema.
//!
//! Evaluation is delegated to `kube_cel`, one schema node at a time: every node with
//! rules gets a [`kube_cel::CompiledSchema`] of its own subtree in which only that
//! node's rules remain (descendants' rules are stripped, `allOf` branches' rules are
//! merged in, as the apiserver evaluates those at the same path). That keeps field
//! paths, `oldSelf` correlation and error values under this crate's control; see
//! [`crate::cel_eval`].

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::path;
use crate::schema::{Additional, Node, display_path};

/// `reason` of a rule: which `field.Error` kind a failure becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Invalid,
    Forbidden,
    Required,
    Duplicate,
}

/// What the apiserver needs from a rule to shape its error.
#[derive(Debug)]
pub(crate) struct RuleMeta {
    pub rule: String,
    pub message: String,
    pub has_message_expression: bool,
    pub reason: Reason,
    /// The rule's `fieldPath`, normalised like `field.Path.String()` (`a.b[key]`).
    pub field_path: Option<String>,
}

impl RuleMeta {
    /// `ruleMessageOrDefault`: the trimmed message, else `failed rule: <rule>`.
    pub(crate) fn message_or_default(&self) -> String {
        let message = self.message.trim();
        if message.is_empty() {
            format!("failed rule: {}", self.rule.trim())
        } else {
            message.to_owned()
        }
    }

    /// `ruleErrorString`: the trimmed message, else the trimmed rule.
    pub(crate) fn error_string(&self) -> &str {
        let message = self.message.trim();
        if message.is_empty() {
            self.rule.trim()
        } else {
            message
        }
    }
}

/// The rules of one schema node, compiled.
pub(crate) struct CelNode {
    pub compiled: kube_cel::CompiledSchema,
    pub rules: Vec<RuleMeta>,
}

impl std::fmt::Debug for CelNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelNode")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl CelNode {
    /// The metadata of the rule with this source text.
    pub(crate) fn rule(&self, text: &str) -> Option<&RuleMeta> {
        self.rules.iter().find(|r| r.rule == text)
    }
}

/// Compiles the rules of `node` and its structural descendants; `raw` is the schema
/// `node` was parsed from. Returns whether any rules were found.
pub(crate) fn attach(node: &mut Node, raw: &Value, at: &str) -> Result<bool> {
    let mut found = false;
    let mut reads_old_self = false;
    for (name, prop) in node.properties.iter_mut() {
        if let Some(raw_prop) = raw.get("properties").and_then(|p| p.get(name)) {
            found |= attach(prop, raw_prop, &path::child(at, name))?;
            reads_old_self |= prop.reads_old_self;
        }
    }
    if let (Additional::Schema(schema), Some(raw_add)) =
        (&mut node.additional, raw.get("additionalProperties"))
    {
        found |= attach(schema, raw_add, &path::child(at, "*"))?;
        reads_old_self |= schema.reads_old_self;
    }
    if let (Some(items), Some(raw_items)) = (node.items.as_deref_mut(), raw.get("items")) {
        found |= attach(items, raw_items, &path::index_any(at))?;
        reads_old_self |= items.reads_old_self;
    }
    let mut raw_rules = Vec::new();
    collect_rules(raw, &mut raw_rules);
    // Conservative: any mention (rule or messageExpression) counts.
    node.reads_old_self =
        reads_old_self || raw_rules.iter().any(|r| r.to_string().contains("oldSelf"));
    if !raw_rules.is_empty() {
        node.cel = Some(compile_node(node, raw, raw_rules, at)?);
        found = true;
    }
    node.has_cel = found;
    Ok(found)
}

/// The node's own rules, then those of its `allOf` branches (recursively).
fn collect_rules(raw: &Value, out: &mut Vec<Value>) {
    if let Some(Value::Array(rules)) = raw.get("x-kubernetes-validations") {
        out.extend(rules.iter().cloned());
    }
    if let Some(Value::Array(branches)) = raw.get("allOf") {
        for branch in branches {
            collect_rules(branch, out);
        }
    }
}

fn compile_node(node: &Node, raw: &Value, raw_rules: Vec<Value>, at: &str) -> Result<CelNode> {
    let rules = raw_rules
        .iter()
        .map(|r| rule_meta(node, r, at))
        .collect::<Result<Vec<_>>>()?;
    let mut subtree = strip_rules(raw);
    if let Value::Object(map) = &mut subtree {
        map.insert(
            "x-kubernetes-validations".to_owned(),
            Value::Array(raw_rules),
        );
    }
    let compiled = kube_cel::compile_schema(&subtree);
    if let Some(err) = compiled.compilation_errors().first() {
        return Err(Error::CelCompile {
            path: display_path(at),
            message: err.to_string(),
        });
    }
    Ok(CelNode { compiled, rules })
}

/// A copy of a schema without any `x-kubernetes-validations`, at any depth.
fn strip_rules(raw: &Value) -> Value {
    let Value::Object(map) = raw else {
        return raw.clone();
    };
    let mut out = Map::with_capacity(map.len());
    for (key, value) in map {
        let stripped = match key.as_str() {
            "x-kubernetes-validations" => continue,
            "properties" => match value {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(k, v)| (k.clone(), strip_rules(v)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "additionalProperties" | "not" => strip_rules(value),
            "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(branches) => Value::Array(branches.iter().map(strip_rules).collect()),
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), stripped);
    }
    Value::Object(out)
}

fn rule_meta(node: &Node, raw: &Value, at: &str) -> Result<RuleMeta> {
    let invalid = |reason: &str| Error::CelCompile {
        path: display_path(at),
        message: reason.to_owned(),
    };
    let text = |key: &str| {
        raw.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let rule = text("rule");
    if rule.trim().is_empty() {
        return Err(invalid("every rule needs a non-empty `rule`"));
    }
    let reason =
        parse_reason(raw.get("reason").and_then(Value::as_str)).map_err(|e| invalid(&e))?;
    let field_path = raw
        .get("fieldPath")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(|fp| {
            normalize_field_path(node, fp).map_err(|reason| Error::InvalidFieldPath {
                path: display_path(at),
                field_path: fp.to_owned(),
                reason,
            })
        })
        .transpose()?;
    let has_message_expression = raw
        .get("messageExpression")
        .and_then(Value::as_str)
        .is_some_and(|m| !m.is_empty());
    Ok(RuleMeta {
        rule,
        message: text("message"),
        has_message_expression,
        reason,
        field_path,
    })
}

fn parse_reason(reason: Option<&str>) -> std::result::Result<Reason, String> {
    Ok(match reason {
        None | Some("FieldValueInvalid") => Reason::Invalid,
        Some("FieldValueForbidden") => Reason::Forbidden,
        Some("FieldValueRequired") => Reason::Required,
        Some("FieldValueDuplicate") => Reason::Duplicate,
        Some(other) => return Err(format!("unsupported reason {other:?}")),
    })
}

/// `ValidFieldPath`: `.name` and `['name']` steps through `properties` (a child) or
/// `additionalProperties` (a key), rendered like `field.Path.String()`.
fn normalize_field_path(node: &Node, field_path: &str) -> std::result::Result<String, String> {
    let mut rendered = String::new();
    let mut schema = node;
    let mut rest = field_path;
    while !rest.is_empty() {
        let (name, tail) = next_step(rest)?;
        rest = tail;
        if !schema.properties.is_empty() {
            schema = schema
                .properties
                .get(&name)
                .ok_or("does not refer to a valid field")?;
            rendered = path::child(&rendered, &name);
        } else if let Additional::Schema(values) = &schema.additional {
            schema = values;
            rendered = path::key(&rendered, &name);
        } else {
            return Err("does not refer to a valid field".to_owned());
        }
    }
    Ok(rendered)
}

/// One `.name` or `['name']` step and the remaining input.
fn next_step(input: &str) -> std::result::Result<(String, &str), String> {
    if let Some(rest) = input.strip_prefix("['") {
        let end = quoted_end(rest).ok_or("unterminated string literal")?;
        let tail = rest[end + 1..].strip_prefix(']').ok_or("expected ]")?;
        return Ok((unescape(&rest[..end])?, tail));
    }
    let rest = input
        .strip_prefix('.')
        .ok_or_else(|| format!("expected [ or . but got: {input}"))?;
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    if end == 0 {
        return Err("unexpected end of JSON path".to_owned());
    }
    Ok((rest[..end].to_owned(), &rest[end..]))
}

/// Index of the closing `'` of a single-quoted literal, skipping `\'`.
fn quoted_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    (0..bytes.len()).find(|&i| bytes[i] == b'\'' && (i == 0 || bytes[i - 1] != b'\\'))
}

fn unescape(s: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('a') => '\u{7}',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('v') => '\u{b}',
            Some(c @ ('\'' | '\\')) => c,
            other => return Err(format!("invalid escape char \\{}", other.unwrap_or(' '))),
        });
    }
    Ok(out)
}
