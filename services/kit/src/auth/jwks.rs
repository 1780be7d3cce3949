//! A cache of verification keys fetched from a JWKS URL.
//!
//! Keys are refetched when the cache is older than its TTL, or when a token
//! names a key id we do not have (key rotation), but never more often than
//! the minimum refresh interval, so forged key ids cannot make us hammer the
//! JWKS endpoint. If a refetch fails, keys already known keep working.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use jsonwebtoken::{DecodingKey, jwk::JwkSet};
use tokio::sync::Mutex;

use crate::{ApiError, Metrics};

/// The dependency label used in metrics.
const NAME: &str = "jwks";

/// Verification keys by key id, refreshed from `url`.
pub(crate) struct JwksCache {
    url: String,
    http: reqwest::Client,
    metrics: Metrics,
    /// Refetch when the keys are older than this.
    ttl: Duration,
    /// Never fetch more often than this.
    min_refresh: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

impl JwksCache {
    pub(crate) fn new(url: String, ttl: Duration, min_refresh: Duration, metrics: Metrics) -> Self {
        let http = crate::hosts::apply(reqwest::Client::builder())
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        Self {
            url,
            http,
            metrics,
            ttl,
            min_refresh,
            state: Mutex::new(State::default()),
        }
    }

    /// The key for `kid`: 401 if the JWKS does not have it, 503 if the JWKS
    /// has never been fetched successfully.
    pub(crate) async fn key(&self, kid: &str) -> Result<DecodingKey, ApiError> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let due = |at: Option<Instant>, every: Duration| {
            at.is_none_or(|t| now.duration_since(t) >= every)
        };
        let wanted = due(state.fetched_at, self.ttl) || !state.keys.contains_key(kid);
        if wanted && due(state.last_attempt, self.min_refresh) {
            state.last_attempt = Some(now);
            match self.fetch().await {
                Ok(keys) => {
                    state.keys = keys;
                    state.fetched_at = Some(now);
                }
                Err(reason) => {
                    self.metrics.dependency_error(NAME);
                    tracing::warn!(dependency = NAME, url = %self.url, reason = %reason, "JWKS fetch failed");
                }
            }
        }
        if let Some(key) = state.keys.get(kid) {
            return Ok(key.clone());
        }
        if state.fetched_at.is_none() {
            return Err(ApiError::Unavailable("jwks: keys not available".to_owned()));
        }
        Err(ApiError::Unauthorized(
            "token signed with an unknown key".to_owned(),
        ))
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let set: JwkSet = response
            .error_for_status()
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
            .collect();
        Ok(keys)
    }
}
