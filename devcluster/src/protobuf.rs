//! Decoding the protobuf bodies kubectl's generators send (`kubectl create namespace`,
//! `configmap`, `secret generic`, `serviceaccount`) into JSON. Only these kinds and
//! only the fields those generators set (name, namespace, labels, annotations, data,
//! binaryData, stringData, type, immutable); anything else is 415.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// The `k8s\0` envelope prefix of Kubernetes protobuf.
const MAGIC: &[u8] = b"k8s\0";

/// Wire fields of one message: `(field number, varint or bytes)`.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn fields(buf: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let tag = varint(buf, &mut pos)?;
        let wire = match tag & 7 {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let bytes = buf.get(pos..pos.checked_add(len)?)?;
                pos += len;
                Wire::Bytes(bytes)
            }
            1 => {
                pos += 8;
                Wire::Varint(0)
            }
            5 => {
                pos += 4;
                Wire::Varint(0)
            }
            _ => return None,
        };
        out.push((tag >> 3, wire));
    }
    Some(out)
}

fn text(b: &[u8]) -> Option<String> {
    String::from_utf8(b.to_vec()).ok()
}

/// A `map<string, string|bytes>` entry.
fn map_entry(b: &[u8], bytes_value: bool) -> Option<(String, Value)> {
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    for (n, w) in fields(b)? {
        if let Wire::Bytes(x) = w {
            match n {
                1 => k = text(x)?,
                2 => {
                    v = if bytes_value {
                        json!(STANDARD.encode(x))
                    } else {
                        json!(text(x)?)
                    }
                }
                _ => {}
            }
        }
    }
    Some((k, v))
}

fn insert(obj: &mut Value, key: &str, entry: (String, Value)) {
    if !obj[key].is_object() {
        obj[key] = Value::Object(Map::new());
    }
    obj[key][entry.0] = entry.1;
}

fn metadata(b: &[u8]) -> Option<Value> {
    let mut md = json!({});
    for (n, w) in fields(b)? {
        let Wire::Bytes(x) = w else { continue };
        match n {
            1 => md["name"] = json!(text(x)?),
            2 => md["generateName"] = json!(text(x)?),
            3 => md["namespace"] = json!(text(x)?),
            11 => insert(&mut md, "labels", map_entry(x, false)?),
            12 => insert(&mut md, "annotations", map_entry(x, false)?),
            _ => {}
        }
    }
    Some(md)
}

/// Decodes a protobuf body, or `None` when it is not one of the supported kinds.
pub fn decode(body: &[u8]) -> Option<Value> {
    let unknown = fields(body.strip_prefix(MAGIC)?)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, w) in unknown {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (tn, tw) in fields(tm)? {
                    if let Wire::Bytes(x) = tw {
                        match tn {
                            1 => api_version = text(x)?,
                            2 => kind = text(x)?,
                            _ => {}
                        }
                    }
                }
            }
            (2, Wire::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    if matches!(
        kind.as_str(),
        "SelfSubjectAccessReview" | "SelfSubjectReview"
    ) {
        // Answered without looking at the spec (no RBAC), so the spec is not decoded.
        return Some(json!({"apiVersion": api_version, "kind": kind, "spec": {}}));
    }
    if api_version != "v1"
        || !matches!(
            kind.as_str(),
            "Namespace" | "ConfigMap" | "Secret" | "ServiceAccount"
        )
    {
        return None;
    }
    let mut obj = json!({"apiVersion": api_version, "kind": kind});
    for (n, w) in fields(raw)? {
        match (kind.as_str(), n, w) {
            (_, 1, Wire::Bytes(x)) => obj["metadata"] = metadata(x)?,
            ("ConfigMap", 2, Wire::Bytes(x)) => insert(&mut obj, "data", map_entry(x, false)?),
            ("ConfigMap", 3, Wire::Bytes(x)) => insert(&mut obj, "binaryData", map_entry(x, true)?),
            ("ConfigMap", 4, Wire::Varint(v)) | ("Secret", 5, Wire::Varint(v)) => {
                obj["immutable"] = json!(v != 0)
            }
            ("Secret", 2, Wire::Bytes(x)) => insert(&mut obj, "data", map_entry(x, true)?),
            ("Secret", 3, Wire::Bytes(x)) => obj["type"] = json!(text(x)?),
            ("Secret", 4, Wire::Bytes(x)) => insert(&mut obj, "stringData", map_entry(x, false)?),
            _ => {}
        }
    }
    Some(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![
            u8::try_from((n << 3) | 2).expect("small"),
            u8::try_from(bytes.len()).expect("short"),
        ];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_configmap_envelope() {
        let md = field(
            1,
            &[
                field(1, b"cm1"),
                field(11, &[field(1, b"app"), field(2, b"web")].concat()),
            ]
            .concat(),
        );
        let entry = field(2, &[field(1, b"k"), field(2, b"v")].concat());
        let raw = [md, entry].concat();
        let tm = field(1, &[field(1, b"v1"), field(2, b"ConfigMap")].concat());
        let body = [MAGIC.to_vec(), tm, field(2, &raw)].concat();
        assert_eq!(
            decode(&body).expect("decoded"),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1", "labels": {"app": "web"}}, "data": {"k": "v"}})
        );
        assert!(decode(b"k8s\0\x0a\x02").is_none());
    }
}
