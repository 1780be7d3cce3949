//! Header hygiene, pure functions over `HeaderMap`s: hop-by-hop headers removed
//! both ways, `X-Forwarded-*` added, request ids and W3C trace context kept
//! valid, claim headers set only by the gateway.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use machina_kit::auth::Claims;

/// Prefix of the headers carrying verified claims to upstreams.
pub const CLAIM_HEADER_PREFIX: &str = "x-machina-";
/// The verified subject.
pub const SUB_HEADER: HeaderName = HeaderName::from_static("x-machina-sub");
/// The verified scopes, space-separated.
pub const SCOPE_HEADER: HeaderName = HeaderName::from_static("x-machina-scope");
/// The verified roles, comma-separated.
pub const ROLES_HEADER: HeaderName = HeaderName::from_static("x-machina-roles");
/// The verified permissions, comma-separated.
pub const PERMISSIONS_HEADER: HeaderName = HeaderName::from_static("x-machina-permissions");
/// The OAuth client the token was issued to.
pub const CLIENT_ID_HEADER: HeaderName = HeaderName::from_static("x-machina-client-id");
/// W3C trace context.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// W3C trace state, meaningful only with a valid `traceparent`.
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
/// `X-Forwarded-For`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Headers that describe one connection, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    // Proxy-Connection is non-standard but still sent by some clients.
    headers.remove("proxy-connection");
}

/// Where a request came from, as the gateway sees it.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The client address: the peer, or from `X-Forwarded-For` behind trusted proxies.
    pub client_ip: String,
    /// `http` or `https` as the client used it.
    pub proto: String,
    /// The `Host` the client asked for.
    pub host: Option<HeaderValue>,
}

/// Works out the client address: the TCP peer, unless `trusted_hops` proxies in
/// front of the gateway append to `X-Forwarded-For` (then the entry they added).
pub fn origin(headers: &HeaderMap, peer: std::net::IpAddr, trusted_hops: usize) -> Origin {
    let forwarded: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let client_ip = if trusted_hops == 0 {
        peer.to_string()
    } else {
        // The last `trusted_hops` entries were written by our proxies; the one
        // before them is the client as the outermost trusted proxy saw it.
        forwarded
            .len()
            .checked_sub(trusted_hops)
            .and_then(|i| forwarded.get(i))
            .map_or_else(|| peer.to_string(), |ip| (*ip).to_owned())
    };
    let proto = (trusted_hops > 0)
        .then(|| headers.get(&X_FORWARDED_PROTO)?.to_str().ok())
        .flatten()
        .filter(|p| *p == "http" || *p == "https")
        .unwrap_or("http")
        .to_owned();
    Origin {
        client_ip,
        proto,
        host: headers.get(header::HOST).cloned(),
    }
}

/// Sets `X-Forwarded-For` (appending the peer), `X-Forwarded-Proto` and `-Host`.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    peer: std::net::IpAddr,
    origin: &Origin,
    trusted_hops: usize,
) {
    let previous = (trusted_hops > 0)
        .then(|| {
            let parts: Vec<&str> = headers
                .get_all(&X_FORWARDED_FOR)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        })
        .flatten();
    let chain = match previous {
        Some(previous) => format!("{previous}, {peer}"),
        None => peer.to_string(),
    };
    headers.remove(&X_FORWARDED_FOR);
    if let Ok(value) = HeaderValue::from_str(&chain) {
        headers.insert(X_FORWARDED_FOR, value);
    }
    if let Ok(value) = HeaderValue::from_str(&origin.proto) {
        headers.insert(X_FORWARDED_PROTO, value);
    }
    headers.remove(&X_FORWARDED_HOST);
    if let Some(host) = &origin.host {
        headers.insert(X_FORWARDED_HOST, host.clone());
    }
    // The upstream's Host is set from its URL by the client.
    headers.remove(header::HOST);
}

/// Keeps a valid `traceparent` (and its `tracestate`); replaces an invalid or
/// missing one with a fresh trace so every upstream joins the same trace.
pub fn ensure_traceparent(headers: &mut HeaderMap) -> String {
    if let Some(valid) = headers
        .get(&TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid_traceparent(v))
    {
        return valid.to_owned();
    }
    headers.remove(&TRACESTATE);
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let span = &uuid::Uuid::new_v4().simple().to_string()[..16];
    let value = format!("00-{trace}-{span}-01");
    if let Ok(header) = HeaderValue::from_str(&value) {
        headers.insert(TRACEPARENT, header);
    }
    value
}

/// `version-traceid-parentid-flags` with lowercase hex and non-zero ids.
pub fn is_valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    match parts.as_slice() {
        [version, trace, parent, flags, ..] => {
            hex(version, 2)
                && *version != "ff"
                && (parts.len() == 4 || *version != "00")
                && hex(trace, 32)
                && nonzero(trace)
                && hex(parent, 16)
                && nonzero(parent)
                && hex(flags, 2)
        }
        _ => false,
    }
}

/// Removes every `x-machina-*` header a client sent: only the gateway sets them.
pub fn strip_claim_headers(headers: &mut HeaderMap) {
    let forged: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(CLAIM_HEADER_PREFIX))
        .cloned()
        .collect();
    for name in forged {
        headers.remove(name);
    }
}

/// Sets the claim headers from verified `claims`.
pub fn set_claim_headers(headers: &mut HeaderMap, claims: &Claims) {
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(SUB_HEADER, &claims.sub);
    if let Some(scope) = &claims.scope {
        set(SCOPE_HEADER, scope);
    }
    if let Some(roles) = string_list(claims.extra.get("roles")) {
        set(ROLES_HEADER, &roles.join(","));
    }
    if let Some(permissions) = string_list(claims.extra.get("permissions")) {
        set(PERMISSIONS_HEADER, &permissions.join(","));
    }
    if let Some(client) = claims
        .extra
        .get("client_id")
        .or_else(|| claims.extra.get("azp"))
        .and_then(|v| v.as_str())
    {
        set(CLIENT_ID_HEADER, client);
    }
}

/// A claim holding a list of strings (or one space-separated string).
pub fn string_list(value: Option<&serde_json::Value>) -> Option<Vec<&str>> {
    match value? {
        serde_json::Value::Array(items) => Some(items.iter().filter_map(|v| v.as_str()).collect()),
        serde_json::Value::String(s) => Some(s.split_whitespace().collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn hop_by_hop_headers_and_those_named_by_connection_go() {
        let mut h = map(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic x"),
            ("te", "trailers"),
            ("accept", "*/*"),
        ]);
        strip_hop_by_hop(&mut h);
        assert_eq!(
            h.keys().map(HeaderName::as_str).collect::<Vec<_>>(),
            ["accept"]
        );
    }

    #[test]
    fn forwarded_headers_trust_only_configured_hops() {
        let peer: IpAddr = "10.0.0.9".parse().unwrap();
        let h = map(&[
            ("x-forwarded-for", "1.2.3.4, 5.6.7.8"),
            ("host", "api.example.com"),
            ("x-forwarded-proto", "https"),
        ]);
        let direct = origin(&h, peer, 0);
        assert_eq!(
            (direct.client_ip.as_str(), direct.proto.as_str()),
            ("10.0.0.9", "http")
        );
        let behind_one = origin(&h, peer, 1);
        assert_eq!(
            (behind_one.client_ip.as_str(), behind_one.proto.as_str()),
            ("5.6.7.8", "https")
        );
        assert_eq!(origin(&h, peer, 5).client_ip, "10.0.0.9");

        let mut out = h.clone();
        set_forwarded(&mut out, peer, &direct, 0);
        assert_eq!(out["x-forwarded-for"], "10.0.0.9", "spoofed chain dropped");
        assert_eq!(out["x-forwarded-host"], "api.example.com");
        assert!(out.get("host").is_none());
        let mut out = h.clone();
        set_forwarded(&mut out, peer, &behind_one, 1);
        assert_eq!(out["x-forwarded-for"], "1.2.3.4, 5.6.7.8, 10.0.0.9");
    }

    #[test]
    fn traceparent_kept_when_valid_else_replaced() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut h = map(&[("traceparent", valid), ("tracestate", "k=v")]);
        assert_eq!(ensure_traceparent(&mut h), valid);
        assert_eq!(h["tracestate"], "k=v");
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "garbage",
        ] {
            let mut h = map(&[("traceparent", bad), ("tracestate", "k=v")]);
            let fresh = ensure_traceparent(&mut h);
            assert!(is_valid_traceparent(&fresh), "{fresh}");
            assert_ne!(fresh, bad);
            assert!(h.get("tracestate").is_none());
        }
    }

    #[test]
    fn claim_headers_are_the_gateways_only() {
        let mut h = map(&[
            ("x-machina-sub", "admin"),
            ("X-Machina-Roles", "admin"),
            ("accept", "*/*"),
        ]);
        strip_claim_headers(&mut h);
        assert_eq!(h.len(), 1);
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "sub": "u1", "exp": 1, "scope": "a b", "roles": ["editor", "viewer"],
            "permissions": ["content:write"], "client_id": "web"
        }))
        .unwrap();
        set_claim_headers(&mut h, &claims);
        assert_eq!(h["x-machina-sub"], "u1");
        assert_eq!(h["x-machina-scope"], "a b");
        assert_eq!(h["x-machina-roles"], "editor,viewer");
        assert_eq!(h["x-machina-permissions"], "content:write");
        assert_eq!(h["x-machina-client-id"], "web");
    }
}
