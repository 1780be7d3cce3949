//! [`Config`]: the auth service's settings, read from the environment.
//!
//! | variable                     | default                  | meaning |
//! |------------------------------|--------------------------|---------|
//! | `MONGODB_URI`                | required                 | clients, users, roles, keys, refresh tokens |
//! | `MONGODB_DATABASE`           | `machina_auth`           | the database |
//! | `REDIS_URL`                  | required                 | throttling, sessions, authorization codes, revoked access tokens |
//! | `REDIS_KEY_PREFIX`           | `machina:auth:`          | prefix of every Redis key |
//! | `ISSUER`                     | `http://localhost:8080`  | `iss` of every token and base of the discovery document |
//! | `TOKEN_AUDIENCE`             | `machina`                | `aud` of access tokens |
//! | `ACCESS_TOKEN_TTL`           | `900s`                   | access (and ID) token lifetime |
//! | `REFRESH_TOKEN_TTL`          | `1209600s`               | refresh token lifetime |
//! | `REFRESH_GRACE`              | `10s`                    | a just-rotated refresh token still yields the same successor |
//! | `AUTH_CODE_TTL`              | `60s`                    | authorization code lifetime |
//! | `SESSION_TTL`                | `1h`                     | login session lifetime (cookie) |
//! | `KEY_ROTATION_DAYS`          | `30`                     | a new signing key after this many days |
//! | `KEY_ENCRYPTION_KEY`         | unset                    | base64 of 32 bytes: AES-256-GCM key sealing private keys in MongoDB |
//! | `ARGON2_MEMORY_KIB`          | `19456`                  | argon2id memory cost for new hashes |
//! | `ARGON2_ITERATIONS`          | `2`                      | argon2id time cost |
//! | `ARGON2_PARALLELISM`         | `1`                      | argon2id lanes |
//! | `CLIENT_SECRET_CACHE_TTL`    | `60s`                    | how long a verified client secret skips argon2 (`0s` disables) |
//! | `CLIENT_CACHE_TTL`           | `5s`                     | how long a client document is reused without MongoDB (`0s` disables) |
//! | `LOGIN_MAX_FAILURES_ACCOUNT` | `5`                      | failures on one account before it locks |
//! | `LOGIN_MAX_FAILURES_IP`      | `50`                     | failures from one IP before it locks |
//! | `LOGIN_LOCKOUT_BASE`         | `30s`                    | first lockout; doubles with every further failure |
//! | `LOGIN_LOCKOUT_MAX`          | `15m`                    | longest lockout |
//! | `DEFAULT_USER_ROLES`         | `user`                   | roles given to self-registered users (comma-separated) |
//! | `ADMIN_PERMISSION`           | `auth:admin`             | permission the admin API requires |
//! | `ADMIN_CLIENT_ID`            | unset                    | bootstrap: a confidential client with the `admin` role ... |
//! | `ADMIN_CLIENT_SECRET`        | unset                    | ... and this secret, upserted at startup |
//! | `RBAC_CONFIG`                | unset                    | JSON file `{"role": ["permission", ...]}` upserted at startup |
//!
//! plus everything [`CommonConfig`] reads (`LISTEN_ADDR`, `BODY_LIMIT`, ...). The
//! operator sets `ISSUER`, `ACCESS_TOKEN_TTL`, `REFRESH_TOKEN_TTL` and `KEY_ROTATION_DAYS`
//! from the Platform's `auth` section.

use std::{path::PathBuf, time::Duration};

use base64::Engine as _;
use machina_kit::{CommonConfig, Error, Secret, Vars};

use crate::password::HashParams;

/// Everything the auth service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address, logging, limits, backing-service URLs.
    pub common: CommonConfig,
    /// MongoDB connection string.
    pub mongodb_uri: Secret<String>,
    /// Database name.
    pub database: String,
    /// Redis URL.
    pub redis_url: Secret<String>,
    /// Prefix of every Redis key, so deployments (and tests) can share a server.
    pub redis_prefix: String,
    /// Token policy.
    pub tokens: TokenPolicy,
    /// Sealing key for private signing keys at rest.
    pub key_encryption_key: Option<Secret<[u8; 32]>>,
    /// argon2id parameters of new password and secret hashes.
    pub hash_params: HashParams,
    /// Verified-secret cache lifetime (zero disables the cache).
    pub client_secret_cache_ttl: Duration,
    /// Client document cache lifetime (zero disables the cache).
    pub client_cache_ttl: Duration,
    /// Brute-force protection.
    pub throttle: ThrottlePolicy,
    /// Roles of self-registered users.
    pub default_user_roles: Vec<String>,
    /// Permission the admin API requires.
    pub admin_permission: String,
    /// Bootstrap admin client (id, secret).
    pub admin_client: Option<(String, Secret<String>)>,
    /// Role file upserted at startup.
    pub rbac_config: Option<PathBuf>,
}

/// Lifetimes and identity of issued tokens.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// `iss`.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// Access and ID token lifetime.
    pub access_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_ttl: Duration,
    /// Window in which a rotated refresh token yields its successor again.
    pub refresh_grace: Duration,
    /// Authorization code lifetime.
    pub code_ttl: Duration,
    /// Login session lifetime.
    pub session_ttl: Duration,
    /// Signing key lifetime before rotation.
    pub key_rotation: Duration,
}

/// Login throttling thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per account before a lockout.
    pub max_failures_account: u32,
    /// Failures per IP before a lockout.
    pub max_failures_ip: u32,
    /// First lockout.
    pub lockout_base: Duration,
    /// Longest lockout.
    pub lockout_max: Duration,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> machina_kit::Result<Self> {
        Self::from_vars(&Vars::from_env())
    }

    /// Reads the configuration from `vars`.
    pub fn from_vars(vars: &Vars) -> machina_kit::Result<Self> {
        let common = CommonConfig::from_vars(vars, "auth")?;
        let mongodb_uri = common
            .mongodb_uri
            .clone()
            .ok_or_else(|| missing("MONGODB_URI"))?;
        let redis_url = common
            .redis_url
            .clone()
            .ok_or_else(|| missing("REDIS_URL"))?;
        let issuer = vars
            .optional_with("ISSUER", "an http(s):// URL", |v| {
                (v.starts_with("http://") || v.starts_with("https://"))
                    .then(|| v.trim_end_matches('/').to_owned())
            })?
            .unwrap_or_else(|| "http://localhost:8080".to_owned());
        let access_ttl = nonzero(vars, "ACCESS_TOKEN_TTL", Duration::from_secs(900))?;
        let refresh_ttl = nonzero(vars, "REFRESH_TOKEN_TTL", Duration::from_secs(1_209_600))?;
        if refresh_ttl <= access_ttl {
            return Err(invalid(
                "REFRESH_TOKEN_TTL",
                "a duration longer than ACCESS_TOKEN_TTL",
                vars.raw("REFRESH_TOKEN_TTL").unwrap_or_default(),
            ));
        }
        let rotation_days: u64 =
            vars.or("KEY_ROTATION_DAYS", "a number of days from 1 to 365", 30)?;
        if !(1..=365).contains(&rotation_days) {
            return Err(invalid(
                "KEY_ROTATION_DAYS",
                "a number of days from 1 to 365",
                &rotation_days.to_string(),
            ));
        }
        let tokens = TokenPolicy {
            issuer,
            audience: vars.raw("TOKEN_AUDIENCE").unwrap_or("machina").to_owned(),
            access_ttl,
            refresh_ttl,
            refresh_grace: vars.duration_or("REFRESH_GRACE", Duration::from_secs(10))?,
            code_ttl: nonzero(vars, "AUTH_CODE_TTL", Duration::from_secs(60))?,
            session_ttl: nonzero(vars, "SESSION_TTL", Duration::from_secs(3600))?,
            key_rotation: Duration::from_secs(rotation_days * 86_400),
        };
        let key_encryption_key = vars.optional_with(
            "KEY_ENCRYPTION_KEY",
            "base64 of exactly 32 random bytes (openssl rand -base64 32)",
            |v| {
                let bytes = base64::engine::general_purpose::STANDARD.decode(v).ok()?;
                <[u8; 32]>::try_from(bytes.as_slice()).ok().map(Secret::new)
            },
        );
        // The value is a secret: never echo it in the error.
        let key_encryption_key = key_encryption_key.map_err(|_| {
            invalid(
                "KEY_ENCRYPTION_KEY",
                "base64 of exactly 32 random bytes (openssl rand -base64 32)",
                "[REDACTED]",
            )
        })?;
        let hash_params = HashParams {
            memory_kib: vars.or("ARGON2_MEMORY_KIB", "KiB of memory, at least 1024", 19_456)?,
            iterations: vars.or("ARGON2_ITERATIONS", "a positive integer", 2)?,
            parallelism: vars.or("ARGON2_PARALLELISM", "a positive integer", 1)?,
        };
        if hash_params.check().is_err() {
            return Err(invalid(
                "ARGON2_MEMORY_KIB",
                "argon2 parameters argon2 accepts (memory >= 8 x parallelism KiB, iterations >= 1)",
                &format!("{hash_params:?}"),
            ));
        }
        let throttle = ThrottlePolicy {
            max_failures_account: vars.or("LOGIN_MAX_FAILURES_ACCOUNT", "a positive integer", 5)?,
            max_failures_ip: vars.or("LOGIN_MAX_FAILURES_IP", "a positive integer", 50)?,
            lockout_base: nonzero(vars, "LOGIN_LOCKOUT_BASE", Duration::from_secs(30))?,
            lockout_max: nonzero(vars, "LOGIN_LOCKOUT_MAX", Duration::from_secs(900))?,
        };
        let admin_client = match (vars.raw("ADMIN_CLIENT_ID"), vars.raw("ADMIN_CLIENT_SECRET")) {
            (Some(id), Some(secret)) => Some((id.to_owned(), Secret::new(secret.to_owned()))),
            (None, None) => None,
            (Some(_), None) => return Err(missing("ADMIN_CLIENT_SECRET")),
            (None, Some(_)) => return Err(missing("ADMIN_CLIENT_ID")),
        };
        Ok(Self {
            mongodb_uri,
            database: vars
                .raw("MONGODB_DATABASE")
                .unwrap_or("machina_auth")
                .to_owned(),
            redis_url,
            redis_prefix: vars
                .raw("REDIS_KEY_PREFIX")
                .unwrap_or("machina:auth:")
                .to_owned(),
            tokens,
            key_encryption_key,
            hash_params,
            client_secret_cache_ttl: vars
                .duration_or("CLIENT_SECRET_CACHE_TTL", Duration::from_secs(60))?,
            client_cache_ttl: vars.duration_or("CLIENT_CACHE_TTL", Duration::from_secs(5))?,
            throttle,
            default_user_roles: vars
                .raw("DEFAULT_USER_ROLES")
                .unwrap_or("user")
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            admin_permission: vars
                .raw("ADMIN_PERMISSION")
                .unwrap_or("auth:admin")
                .to_owned(),
            admin_client,
            rbac_config: vars.raw("RBAC_CONFIG").map(PathBuf::from),
            common,
        })
    }
}

fn missing(name: &str) -> Error {
    Error::MissingVar {
        name: name.to_owned(),
    }
}

fn invalid(name: &str, expected: &str, value: &str) -> Error {
    Error::InvalidVar {
        name: name.to_owned(),
        expected: expected.to_owned(),
        value: value.to_owned(),
    }
}

/// A duration that must not be zero.
fn nonzero(vars: &Vars, name: &str, default: Duration) -> machina_kit::Result<Duration> {
    let value = vars.duration_or(name, default)?;
    if value.is_zero() {
        return Err(invalid(name, "a duration above zero", "0"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("MONGODB_URI", "mongodb://localhost"),
            ("REDIS_URL", "redis://localhost"),
        ]
    }

    #[test]
    fn reads_the_operator_variables() {
        let mut pairs = base();
        pairs.extend([
            ("ACCESS_TOKEN_TTL", "900s"),
            ("REFRESH_TOKEN_TTL", "1209600s"),
            ("KEY_ROTATION_DAYS", "30"),
            ("ISSUER", "https://api.example.com/"),
        ]);
        let config = Config::from_vars(&Vars::from_pairs(pairs)).unwrap();
        assert_eq!(config.tokens.issuer, "https://api.example.com");
        assert_eq!(config.tokens.access_ttl, Duration::from_secs(900));
        assert_eq!(config.tokens.refresh_ttl, Duration::from_secs(1_209_600));
        assert_eq!(config.tokens.key_rotation, Duration::from_secs(30 * 86_400));
        assert_eq!(config.default_user_roles, ["user"]);
    }

    #[test]
    fn backends_are_required() {
        let err =
            Config::from_vars(&Vars::from_pairs([("MONGODB_URI", "mongodb://x")])).unwrap_err();
        assert!(err.to_string().contains("REDIS_URL"), "{err}");
    }

    #[test]
    fn refresh_must_outlive_access() {
        let mut pairs = base();
        pairs.extend([("ACCESS_TOKEN_TTL", "1h"), ("REFRESH_TOKEN_TTL", "30m")]);
        let err = Config::from_vars(&Vars::from_pairs(pairs)).unwrap_err();
        assert!(err.to_string().contains("REFRESH_TOKEN_TTL"), "{err}");
    }

    #[test]
    fn bad_encryption_key_is_named_but_not_echoed() {
        let mut pairs = base();
        pairs.push(("KEY_ENCRYPTION_KEY", "c2hvcnQ="));
        let err = Config::from_vars(&Vars::from_pairs(pairs)).unwrap_err();
        assert!(err.to_string().contains("KEY_ENCRYPTION_KEY"), "{err}");
        assert!(!err.to_string().contains("c2hvcnQ"), "{err}");
    }

    #[test]
    fn admin_client_needs_both_halves() {
        let mut pairs = base();
        pairs.push(("ADMIN_CLIENT_ID", "root"));
        let err = Config::from_vars(&Vars::from_pairs(pairs)).unwrap_err();
        assert!(err.to_string().contains("ADMIN_CLIENT_SECRET"), "{err}");
    }
}
