//! The parsed schema tree: one [`Node`] per OpenAPI v3 schema object.
//!
//! Parsing happens once per CRD version; patterns are compiled and formats resolved
//! here so validating an object never re-reads the raw schema.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::formats::Format;
use crate::path;
use crate::pattern::compile_pattern;

/// `x-kubernetes-list-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListType {
    Atomic,
    Set,
    Map,
}

/// `additionalProperties`: absent, a boolean, or a schema for map values.
#[derive(Debug, Default)]
pub(crate) enum Additional {
    #[default]
    Absent,
    Bool(bool),
    Schema(Box<Node>),
}

/// A compiled `pattern`, keeping its source for messages.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub source: String,
    pub regex: Regex,
}

/// One schema object. Field names follow the OpenAPI keywords.
#[derive(Debug, Default)]
pub(crate) struct Node {
    /// `type` as the validator sees it: `["integer", "string"]` for int-or-string.
    pub types: Vec<String>,
    pub nullable: bool,
    pub int_or_string: bool,
    /// A supported `format` (unsupported ones are dropped, as the apiserver does).
    pub format: Option<(String, Format)>,
    pub enum_values: Option<Vec<Value>>,
    pub required: Vec<String>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: bool,
    pub exclusive_maximum: bool,
    pub multiple_of: Option<f64>,
    pub min_length: Option<i64>,
    pub max_length: Option<i64>,
    pub pattern: Option<Pattern>,
    pub min_items: Option<i64>,
    pub max_items: Option<i64>,
    pub unique_items: bool,
    pub min_properties: Option<i64>,
    pub max_properties: Option<i64>,
    pub properties: BTreeMap<String, Node>,
    pub additional: Additional,
    pub items: Option<Box<Node>>,
    pub all_of: Vec<Node>,
    pub any_of: Vec<Node>,
    pub one_of: Vec<Node>,
    pub not: Option<Box<Node>>,
    pub default: Option<Value>,
    pub preserve_unknown: bool,
    pub embedded_resource: bool,
    pub list_type: Option<ListType>,
    pub list_map_keys: Vec<String>,
    /// Compiled `x-kubernetes-validations` of this node (and its `allOf` branches).
    pub cel: Option<crate::cel::CelNode>,
    /// Whether this node or a structural descendant has CEL rules (lets evaluation
    /// skip rule-free subtrees).
    pub has_cel: bool,
    /// Whether a rule in this node's subtree reads `oldSelf` (a transition rule): such a
    /// subtree is evaluated even when unchanged (no ratcheting).
    pub reads_old_self: bool,
}

impl Node {
    /// Parses a schema object; `at` is its location, used in error messages.
    pub(crate) fn parse(raw: &Value, at: &str) -> Result<Self> {
        let obj = raw
            .as_object()
            .ok_or_else(|| invalid(at, "schema must be an object"))?;
        let mut node = Node::default();
        node.parse_generic(obj, at)?;
        node.parse_bounds(obj, at)?;
        node.parse_structure(obj, at)?;
        node.parse_junctors(obj, at)?;
        node.parse_extensions(obj, at)?;
        Ok(node)
    }

    fn parse_generic(&mut self, obj: &Map<String, Value>, at: &str) -> Result<()> {
        if let Some(t) = opt_str(obj, "type", at)? {
            self.types.push(t.to_owned());
        }
        self.nullable = opt_bool(obj, "nullable", at)?;
        self.int_or_string = opt_bool(obj, "x-kubernetes-int-or-string", at)?;
        if self.int_or_string {
            self.types = vec!["integer".to_owned(), "string".to_owned()];
        }
        if let Some(name) = opt_str(obj, "format", at)? {
            self.format = Format::lookup(name).map(|f| (name.to_owned(), f));
        }
        if let Some(values) = obj.get("enum") {
            let values = values
                .as_array()
                .ok_or_else(|| invalid(at, "enum must be an array"))?;
            self.enum_values = Some(values.clone());
        }
        self.required = opt_strings(obj, "required", at)?;
        self.default = obj.get("default").cloned();
        Ok(())
    }

    fn parse_bounds(&mut self, obj: &Map<String, Value>, at: &str) -> Result<()> {
        self.minimum = opt_f64(obj, "minimum", at)?;
        self.maximum = opt_f64(obj, "maximum", at)?;
        self.exclusive_minimum = opt_bool(obj, "exclusiveMinimum", at)?;
        self.exclusive_maximum = opt_bool(obj, "exclusiveMaximum", at)?;
        self.multiple_of = opt_f64(obj, "multipleOf", at)?;
        self.min_length = opt_i64(obj, "minLength", at)?;
        self.max_length = opt_i64(obj, "maxLength", at)?;
        self.min_items = opt_i64(obj, "minItems", at)?;
        self.max_items = opt_i64(obj, "maxItems", at)?;
        self.unique_items = opt_bool(obj, "uniqueItems", at)?;
        self.min_properties = opt_i64(obj, "minProperties", at)?;
        self.max_properties = opt_i64(obj, "maxProperties", at)?;
        if let Some(source) = opt_str(obj, "pattern", at)? {
            let regex = compile_pattern(source).map_err(|e| Error::InvalidPattern {
                path: display_path(at),
                pattern: source.to_owned(),
                source: Box::new(e),
            })?;
            self.pattern = Some(Pattern {
                source: source.to_owned(),
                regex,
            });
        }
        Ok(())
    }

    fn parse_structure(&mut self, obj: &Map<String, Value>, at: &str) -> Result<()> {
        if let Some(props) = obj.get("properties") {
            let props = props
                .as_object()
                .ok_or_else(|| invalid(at, "properties must be an object"))?;
            for (name, schema) in props {
                self.properties
                    .insert(name.clone(), Node::parse(schema, &path::child(at, name))?);
            }
        }
        self.additional = match obj.get("additionalProperties") {
            None | Some(Value::Null) => Additional::Absent,
            Some(Value::Bool(b)) => Additional::Bool(*b),
            Some(schema) => {
                Additional::Schema(Box::new(Node::parse(schema, &path::child(at, "*"))?))
            }
        };
        self.items = match obj.get("items") {
            None | Some(Value::Null) => None,
            Some(Value::Array(_)) => {
                return Err(invalid(at, "items must be a schema, not an array"));
            }
            Some(schema) => Some(Box::new(Node::parse(schema, &path::index_any(at))?)),
        };
        Ok(())
    }

    fn parse_junctors(&mut self, obj: &Map<String, Value>, at: &str) -> Result<()> {
        self.all_of = parse_list(obj, "allOf", at)?;
        self.any_of = parse_list(obj, "anyOf", at)?;
        self.one_of = parse_list(obj, "oneOf", at)?;
        if let Some(not) = obj.get("not") {
            self.not = Some(Box::new(Node::parse(not, at)?));
        }
        Ok(())
    }

    fn parse_extensions(&mut self, obj: &Map<String, Value>, at: &str) -> Result<()> {
        self.preserve_unknown = opt_bool(obj, "x-kubernetes-preserve-unknown-fields", at)?;
        self.embedded_resource = opt_bool(obj, "x-kubernetes-embedded-resource", at)?;
        self.list_type = match opt_str(obj, "x-kubernetes-list-type", at)? {
            None => None,
            Some("atomic") => Some(ListType::Atomic),
            Some("set") => Some(ListType::Set),
            Some("map") => Some(ListType::Map),
            Some(other) => {
                return Err(invalid(
                    at,
                    &format!("unknown x-kubernetes-list-type {other:?}"),
                ));
            }
        };
        self.list_map_keys = opt_strings(obj, "x-kubernetes-list-map-keys", at)?;
        if self.list_type == Some(ListType::Map) && self.list_map_keys.is_empty() {
            return Err(invalid(
                at,
                "x-kubernetes-list-type map needs x-kubernetes-list-map-keys",
            ));
        }
        Ok(())
    }

    /// The `type` keyword as the apiserver reports it in CEL errors (`""` if unset).
    pub(crate) fn type_name(&self) -> &str {
        if self.int_or_string {
            ""
        } else {
            self.types.first().map_or("", String::as_str)
        }
    }

    /// The schema for the value under `key` of an object: a declared property, else
    /// the `additionalProperties` schema.
    pub(crate) fn child_schema(&self, key: &str) -> Option<&Node> {
        self.properties.get(key).or(match &self.additional {
            Additional::Schema(schema) => Some(schema),
            _ => None,
        })
    }
}

fn parse_list(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Vec<Node>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|s| Node::parse(s, at)).collect(),
        Some(_) => Err(invalid(at, &format!("{key} must be an array"))),
    }
}

fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<Option<&'a str>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(at, &format!("{key} must be a string"))),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str, at: &str) -> Result<bool> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(at, &format!("{key} must be a boolean"))),
    }
}

fn opt_f64(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<f64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(at, &format!("{key} must be a number"))),
    }
}

fn opt_i64(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<i64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(at, &format!("{key} must be an integer"))),
    }
}

fn opt_strings(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Vec<String>> {
    let Some(value) = obj.get(key).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let err = || invalid(at, &format!("{key} must be an array of strings"));
    let items = value.as_array().ok_or_else(err)?;
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(err))
        .collect()
}

/// A schema location for messages: the root is `<root>`.
pub(crate) fn display_path(at: &str) -> String {
    if at.is_empty() {
        "<root>".to_owned()
    } else {
        at.to_owned()
    }
}

fn invalid(at: &str, reason: &str) -> Error {
    Error::InvalidSchema {
        path: display_path(at),
        reason: reason.to_owned(),
    }
}
