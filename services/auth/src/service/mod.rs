//! [`Auth`]: the operations behind the endpoints.
//!
//! - [`clients`]: client authentication (argon2id secrets with a verified-secret cache) and client admin.
//! - [`users`]: registration, password login with throttling, password change, deletion.
//! - [`roles`]: roles → permissions, cached briefly in memory.
//! - [`tokens`]: access/ID token issuance, introspection and revocation.
//! - [`refresh`]: refresh tokens: rotation, grace period, family revocation on reuse.
//! - [`codes`]: login sessions and authorization codes (PKCE) in Redis.

pub mod clients;
pub mod codes;
pub mod refresh;
pub mod roles;
pub mod tokens;
pub mod users;

use std::sync::Arc;

use machina_kit::{Mongo, Redis};

use crate::{
    Config, Store, config::TokenPolicy, keys::KeyRing, password::HashParams, throttle::Throttle,
};

/// Everything the handlers share.
#[derive(Debug)]
pub struct Auth {
    /// MongoDB collections.
    pub store: Store,
    /// Kit handle (error counting, readiness).
    pub mongo: Mongo,
    /// Redis handle.
    pub redis: Redis,
    /// Signing keys.
    pub keys: Arc<KeyRing>,
    /// Token lifetimes and identity.
    pub policy: TokenPolicy,
    /// Prefix of Redis keys.
    pub redis_prefix: String,
    /// argon2id parameters for new hashes.
    pub hash_params: HashParams,
    /// Login throttling.
    pub throttle: Throttle,
    /// Roles of self-registered users.
    pub default_user_roles: Vec<String>,
    /// Verified client secrets.
    pub secret_cache: clients::SecretCache,
    /// Recently read clients.
    pub client_cache: clients::ClientCache,
    /// Roles → permissions.
    pub roles: roles::RoleCache,
    /// Hash verified when the account does not exist (timing parity).
    pub dummy_hash: String,
}

impl Auth {
    /// Wires the operations.
    pub fn new(
        config: &Config,
        store: Store,
        mongo: Mongo,
        redis: Redis,
        keys: Arc<KeyRing>,
    ) -> Self {
        Self {
            roles: roles::RoleCache::new(store.roles.clone()),
            store,
            mongo,
            throttle: Throttle::new(redis.clone(), &config.redis_prefix, config.throttle),
            redis,
            keys,
            policy: config.tokens.clone(),
            redis_prefix: config.redis_prefix.clone(),
            hash_params: config.hash_params,
            default_user_roles: config.default_user_roles.clone(),
            secret_cache: clients::SecretCache::new(config.client_secret_cache_ttl),
            client_cache: clients::ClientCache::new(config.client_cache_ttl),
            dummy_hash: crate::password::dummy_hash(config.hash_params),
        }
    }

    /// Maps a MongoDB failure to a 503 (counted and logged by the kit).
    pub(crate) fn db(&self, err: &mongodb::error::Error) -> crate::Error {
        self.mongo.unavailable(err).into()
    }

    /// Maps a Redis failure to a 503.
    pub(crate) fn cache(&self, err: &redis::RedisError) -> crate::Error {
        self.redis.unavailable(err).into()
    }

    /// A Redis key under this deployment's prefix.
    pub(crate) fn key(&self, parts: &str) -> String {
        format!("{}{parts}", self.redis_prefix)
    }
}

/// Seconds since the epoch.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Runs argon2 verification off the async workers.
pub(crate) async fn verify_hash(secret: String, hash: String) -> crate::Result<bool> {
    tokio::task::spawn_blocking(move || crate::password::verify(&secret, &hash))
        .await
        .map_err(crate::Error::internal)
}

/// Runs argon2 hashing off the async workers.
pub(crate) async fn make_hash(secret: String, params: HashParams) -> crate::Result<String> {
    tokio::task::spawn_blocking(move || crate::password::hash(&secret, params))
        .await
        .map_err(crate::Error::internal)?
        .map_err(Into::into)
}
