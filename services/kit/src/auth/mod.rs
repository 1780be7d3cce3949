//! JWT verification for service routes.
//!
//! [`JwtVerifier`] checks a bearer token's signature (a configured public key,
//! or keys from a JWKS URL with rotation), expiry, issuer and audience.
//! [`require_jwt`] is the middleware; handlers then take [`Claims`]:
//!
//! ```no_run
//! # fn wire(router: axum::Router, verifier: machina_kit::auth::JwtVerifier) -> axum::Router {
//! use axum::middleware::from_fn_with_state;
//! router.route_layer(from_fn_with_state(verifier, machina_kit::auth::require_jwt))
//! # }
//! ```

mod jwks;

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use crate::{ApiError, Error, Metrics, Result, Vars};

/// Algorithms accepted for keys from a JWKS: asymmetric only, so a public key
/// can never be misused as an HMAC secret.
const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The verified claims of a request's token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the user or client id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// OAuth 2.0 scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Every other claim (`aud`, `roles`, ...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// True if `scope` lists `wanted`.
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|s| s.split_whitespace().any(|s| s == wanted))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Claims>()
            .cloned()
            .ok_or_else(|| unauthorized("missing bearer token"))
    }
}

#[derive(Clone)]
enum Keys {
    Static {
        key: DecodingKey,
        algorithm: Algorithm,
    },
    Jwks {
        url: String,
        cache: Arc<jwks::JwksCache>,
        metrics: Metrics,
    },
}

/// Verifies bearer tokens; cheap to clone.
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Keys,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = match &self.keys {
            Keys::Static { algorithm, .. } => format!("static {algorithm:?} key"),
            Keys::Jwks { url, .. } => format!("JWKS {url}"),
        };
        f.debug_struct("JwtVerifier")
            .field("keys", &keys)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Verifies with one configured key and algorithm.
    pub fn with_key(key: DecodingKey, algorithm: Algorithm) -> Self {
        Self::new(Keys::Static { key, algorithm })
    }

    /// Verifies with keys fetched from `url` (cached 5 minutes, refetched on
    /// an unknown key id at most every 10 seconds).
    pub fn from_jwks_url(url: impl Into<String>, metrics: Metrics) -> Self {
        let url = url.into();
        let cache = jwks::JwksCache::new(
            url.clone(),
            Duration::from_secs(300),
            Duration::from_secs(10),
            metrics.clone(),
        );
        Self::new(Keys::Jwks {
            url,
            cache: Arc::new(cache),
            metrics,
        })
    }

    fn new(keys: Keys) -> Self {
        Self {
            keys,
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: Duration::from_secs(30),
        }
    }

    /// Reads `JWT_JWKS_URL`, or `JWT_PUBLIC_KEY` (PEM) with `JWT_ALGORITHM`
    /// (default `RS256`), plus optional `JWT_ISSUER` and `JWT_AUDIENCE`.
    /// `None` when neither key source is set.
    pub fn from_vars(vars: &Vars, metrics: Metrics) -> Result<Option<Self>> {
        let verifier = if let Some(url) = vars.raw("JWT_JWKS_URL") {
            Self::from_jwks_url(url, metrics)
        } else if let Some(pem) = vars.raw("JWT_PUBLIC_KEY") {
            let expected = "one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA";
            let algorithm = vars
                .optional_with("JWT_ALGORITHM", expected, |v| {
                    v.parse().ok().filter(|a| ASYMMETRIC.contains(a))
                })?
                .unwrap_or(Algorithm::RS256);
            let key = public_key(pem, algorithm).ok_or_else(|| Error::InvalidVar {
                name: "JWT_PUBLIC_KEY".to_owned(),
                expected: format!("a PEM public key for {algorithm:?}"),
                value: pem.chars().take(40).collect(),
            })?;
            Self::with_key(key, algorithm)
        } else {
            return Ok(None);
        };
        let verifier = match vars.raw("JWT_ISSUER") {
            Some(iss) => verifier.with_issuer(iss),
            None => verifier,
        };
        Ok(Some(match vars.raw("JWT_AUDIENCE") {
            Some(aud) => verifier.with_audience(aud),
            None => verifier,
        }))
    }

    /// Accepts tokens from `issuer` (may be called more than once).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Requires `aud` to contain `audience` (may be called more than once).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock skew tolerated on `exp`/`nbf` (default 30 s).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Changes the JWKS cache lifetime and the minimum interval between fetches.
    pub fn with_jwks_refresh(mut self, ttl: Duration, min_refresh: Duration) -> Self {
        if let Keys::Jwks { url, metrics, .. } = &self.keys {
            let cache = jwks::JwksCache::new(url.clone(), ttl, min_refresh, metrics.clone());
            self.keys = Keys::Jwks {
                url: url.clone(),
                cache: Arc::new(cache),
                metrics: metrics.clone(),
            };
        }
        self
    }

    /// Verifies `token`: 401 naming the problem, or 503 if the keys cannot be fetched.
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| unauthorized("malformed token"))?;
        let (key, algorithm) = match &self.keys {
            Keys::Static { key, algorithm } => (key.clone(), *algorithm),
            Keys::Jwks { cache, .. } => {
                if !ASYMMETRIC.contains(&header.alg) {
                    return Err(unauthorized("token algorithm not allowed"));
                }
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| unauthorized("token has no key id"))?;
                (cache.key(kid).await?, header.alg)
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway.as_secs();
        if self.audiences.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.audiences);
        }
        if !self.issuers.is_empty() {
            validation.set_issuer(&self.issuers);
        }
        jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| rejection(e.kind()))
    }
}

fn public_key(pem: &str, algorithm: Algorithm) -> Option<DecodingKey> {
    let pem = pem.replace("\\n", "\n");
    let bytes = pem.as_bytes();
    match algorithm {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(bytes).ok(),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(bytes).ok(),
        _ => DecodingKey::from_rsa_pem(bytes).ok(),
    }
}

fn unauthorized(reason: &str) -> ApiError {
    ApiError::Unauthorized(reason.to_owned())
}

/// Says why a token was rejected, without echoing it.
fn rejection(kind: &ErrorKind) -> ApiError {
    match kind {
        ErrorKind::ExpiredSignature => unauthorized("token expired"),
        ErrorKind::ImmatureSignature => unauthorized("token not yet valid"),
        ErrorKind::InvalidSignature => unauthorized("invalid token signature"),
        ErrorKind::InvalidIssuer => unauthorized("token issuer not accepted"),
        ErrorKind::InvalidAudience => unauthorized("token audience not accepted"),
        ErrorKind::InvalidAlgorithm => unauthorized("token algorithm not allowed"),
        ErrorKind::MissingRequiredClaim(claim) => {
            ApiError::Unauthorized(format!("token lacks the {claim} claim"))
        }
        _ => unauthorized("invalid token"),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Middleware: rejects requests without a valid bearer token (401
/// problem+json) and puts the [`Claims`] in the request extensions.
pub async fn require_jwt(
    State(verifier): State<JwtVerifier>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer(req.headers()) else {
        return unauthorized("missing bearer token").into_response();
    };
    match verifier.verify(token).await {
        Ok(claims) => {
            tracing::debug!(sub = %claims.sub, "token verified");
            req.extensions_mut().insert(claims);
            next.run(req).await
        }
        Err(err) => err.into_response(),
    }
}
