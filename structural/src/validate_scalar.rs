//! Scalar keywords with kube-openapi's semantics: string length and pattern, format,
//! numeric bounds and `multipleOf`, and `enum`.
//!
//! Numeric checks follow Go's native-type path: an integer value is compared with the
//! bound truncated to `int64` (so `minimum: 1.5` accepts `1`), a float value with the
//! bound as `float64`, and messages print bounds the same way.

use serde_json::{Number, Value};

use crate::error::{ErrorKind, FieldError};
use crate::render::{go_float_v, go_json};
use crate::schema::Node;
use crate::validate::type_error;

/// `maxLength`, then `minLength`, then `pattern`; the first failure stops the rest.
/// Lengths count Unicode code points, as Go's `utf8.RuneCountInString`.
pub(crate) fn check_string(node: &Node, s: &str, at: &str, errs: &mut Vec<FieldError>) {
    let len = s.chars().count() as i64;
    if let Some(max) = node.max_length
        && len > max
    {
        errs.push(FieldError::new(
            at,
            ErrorKind::TooLong,
            None,
            too_long_detail(max),
        ));
        return;
    }
    if let Some(min) = node.min_length
        && len < min
    {
        errs.push(FieldError::invalid(
            at,
            s.into(),
            format!("{at} in body should be at least {min} chars long"),
        ));
        return;
    }
    if let Some(pattern) = &node.pattern
        && !pattern.regex.is_match(s)
    {
        errs.push(FieldError::invalid(
            at,
            s.into(),
            format!("{at} in body should match '{}'", pattern.source),
        ));
    }
}

/// `field.TooLong`'s detail (the apiserver says "bytes" although it counts characters).
fn too_long_detail(max: i64) -> String {
    match max {
        1 => "may not be more than 1 byte".to_owned(),
        m if m >= 0 => format!("may not be more than {m} bytes"),
        _ => "value is too long".to_owned(),
    }
}

/// A supported `format` on a string value.
pub(crate) fn check_format(node: &Node, s: &str, at: &str, errs: &mut Vec<FieldError>) {
    if let Some((name, format)) = &node.format
        && !format.is_valid(s)
    {
        errs.push(type_error(at, name, s));
    }
}

/// `multipleOf`, `minimum`, `maximum`, reported in that order.
pub(crate) fn check_number(node: &Node, n: &Number, at: &str, errs: &mut Vec<FieldError>) {
    match n.as_i64() {
        Some(i) => check_int(node, i, at, errs),
        None => check_float(node, n.as_f64().unwrap_or(f64::NAN), at, errs),
    }
}

fn check_int(node: &Node, value: i64, at: &str, errs: &mut Vec<FieldError>) {
    if let Some(factor) = node.multiple_of {
        // Go truncates the factor to int64; a zero factor would panic there, so skip it.
        let factor = factor as i64;
        if factor < 0 {
            errs.push(not_positive(at, Value::from(factor), &factor.to_string()));
        } else if factor != 0 && value % factor != 0 {
            let detail = format!("{at} in body should be a multiple of {factor}");
            errs.push(FieldError::invalid(at, value.into(), detail));
        }
    }
    // Bounds are truncated to int64 for integer data, as in Go.
    let data = Value::from(value);
    check_bounds(
        node,
        Data {
            value,
            json: &data,
            at,
        },
        |b| b as i64,
        |b| b.to_string(),
        errs,
    );
}

fn check_float(node: &Node, value: f64, at: &str, errs: &mut Vec<FieldError>) {
    let data = Value::from(value);
    if let Some(factor) = node.multiple_of {
        if factor < 0.0 {
            errs.push(not_positive(at, Value::from(factor), &go_float_v(factor)));
        } else {
            let mult = if factor < 1.0 {
                1.0 / factor * value
            } else {
                value / factor
            };
            if !is_float64_json_integer(mult) {
                let detail = format!(
                    "{at} in body should be a multiple of {}",
                    go_float_v(factor)
                );
                errs.push(FieldError::invalid(at, data.clone(), detail));
            }
        }
    }
    check_bounds(
        node,
        Data {
            value,
            json: &data,
            at,
        },
        |b| b,
        go_float_v,
        errs,
    );
}

/// A number under test, in the Go type it was decoded to.
struct Data<'a, T> {
    value: T,
    json: &'a Value,
    at: &'a str,
}

/// `minimum`, then `maximum`, with bounds converted to the data's type.
fn check_bounds<T: PartialOrd + Copy>(
    node: &Node,
    data: Data<'_, T>,
    convert: impl Fn(f64) -> T,
    print: impl Fn(T) -> String,
    errs: &mut Vec<FieldError>,
) {
    if let Some(min) = node.minimum.map(&convert) {
        let below = if node.exclusive_minimum {
            data.value <= min
        } else {
            data.value < min
        };
        if below {
            errs.push(bound_error(
                data.at,
                data.json.clone(),
                "greater",
                node.exclusive_minimum,
                &print(min),
            ));
        }
    }
    if let Some(max) = node.maximum.map(&convert) {
        let above = if node.exclusive_maximum {
            data.value >= max
        } else {
            data.value > max
        };
        if above {
            errs.push(bound_error(
                data.at,
                data.json.clone(),
                "less",
                node.exclusive_maximum,
                &print(max),
            ));
        }
    }
}

fn bound_error(
    at: &str,
    value: Value,
    direction: &str,
    exclusive: bool,
    bound: &str,
) -> FieldError {
    let or_equal = if exclusive { "" } else { " or equal to" };
    FieldError::invalid(
        at,
        value,
        format!("{at} in body should be {direction} than{or_equal} {bound}"),
    )
}

fn not_positive(at: &str, factor: Value, printed: &str) -> FieldError {
    FieldError::invalid(
        at,
        factor,
        format!("factor MultipleOf declared for {at} must be positive: {printed}"),
    )
}

/// go-openapi's `swag.IsFloat64AJSONInteger`: integral within ±(2^53-1), with a
/// relative tolerance of 1e-9.
pub(crate) fn is_float64_json_integer(f: f64) -> bool {
    const MAX: f64 = 9_007_199_254_740_991.0;
    if !f.is_finite() || !(-MAX..=MAX).contains(&f) {
        return false;
    }
    let truncated = f.trunc();
    if f == truncated {
        return true;
    }
    let diff = (f - truncated).abs();
    diff / (f.abs() + truncated.abs()).min(f64::MAX) < 1e-9
}

/// `enum`: `null` never matches (Go cannot convert a nil value), numbers match
/// numerically, everything else by JSON equality.
pub(crate) fn check_enum(node: &Node, value: &Value, at: &str, errs: &mut Vec<FieldError>) {
    let Some(allowed) = node.enum_values.as_ref().filter(|v| !v.is_empty()) else {
        return;
    };
    if !value.is_null()
        && allowed
            .iter()
            .any(|a| !a.is_null() && loosely_equal(value, a))
    {
        return;
    }
    let supported: Vec<String> = allowed
        .iter()
        .map(|a| a.as_str().map_or_else(|| go_json(a), str::to_owned))
        .collect();
    errs.push(FieldError::not_supported(at, value.clone(), &supported));
}

fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
