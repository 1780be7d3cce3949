//! [`Config`]: the media service's settings, read from the environment.
//!
//! | variable                 | default            | meaning |
//! |--------------------------|--------------------|---------|
//! | `MONGODB_URI`            | required           | GridFS store, asset metadata, upload sessions, outbox |
//! | `MONGODB_DATABASE`       | `machina_media`    | database name |
//! | `AMQP_URL`               | unset              | enables the `media.processed` event relay |
//! | `CHANGES_EXCHANGE`       | `machina.changes`  | durable topic exchange for events |
//! | `SIGNING_KEYS`           | unset              | `kid:secret,...`; the first signs, all verify |
//! | `MAX_UPLOAD_BYTES`       | `50MiB`            | largest stored file |
//! | `UPLOAD_CHUNK_BYTES`     | `8MiB`             | largest chunk of a resumable upload |
//! | `PROCESSING_CONCURRENCY` | number of CPUs     | images processed at once |
//! | `PROCESSING_QUEUE`       | 4 × concurrency    | requests allowed to wait for a slot before 503 |
//! | `MAX_IMAGE_PIXELS`       | `100000000`        | decoded-size cap (decompression bombs) |
//! | `FFMPEG_PATH`            | `ffmpeg` on `PATH` | video thumbnails; absent means 415 for video variants |
//! | `FFMPEG_TIMEOUT`         | `15s`              | longest an ffmpeg run may take |
//!
//! plus [`CommonConfig`] (`LISTEN_ADDR`, `SERVICE_NAME`, `JWT_JWKS_URL`, ...).

use std::{path::PathBuf, time::Duration};

use machina_kit::{CommonConfig, Error, Metrics, Secret, Vars, auth::JwtVerifier};

use crate::signing::SigningKeys;

/// The variables the kit's JWT verifier reads.
const JWT_VARS: [&str; 5] = [
    "JWT_JWKS_URL",
    "JWT_PUBLIC_KEY",
    "JWT_ALGORITHM",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
];

/// Everything the media service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address, logging, limits, backing-service URLs.
    pub common: CommonConfig,
    /// MongoDB connection string (`MONGODB_URI`, required).
    pub mongodb_uri: Secret<String>,
    /// Database name (`MONGODB_DATABASE`).
    pub database: String,
    /// Exchange for `media.processed` (`CHANGES_EXCHANGE`).
    pub changes_exchange: String,
    /// HMAC keys for signed URLs (`SIGNING_KEYS`).
    pub signing_keys: SigningKeys,
    /// Largest stored file in bytes (`MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: usize,
    /// Largest chunk of a resumable upload (`UPLOAD_CHUNK_BYTES`).
    pub upload_chunk_bytes: usize,
    /// Images processed at once (`PROCESSING_CONCURRENCY`).
    pub processing_concurrency: usize,
    /// Requests that may wait for a processing slot (`PROCESSING_QUEUE`).
    pub processing_queue: usize,
    /// Decoded pixel cap (`MAX_IMAGE_PIXELS`).
    pub max_image_pixels: u64,
    /// The ffmpeg binary, when one was found (`FFMPEG_PATH` or `PATH`).
    pub ffmpeg: Option<PathBuf>,
    /// Longest an ffmpeg run may take (`FFMPEG_TIMEOUT`).
    pub ffmpeg_timeout: Duration,
    /// The `JWT_*` variables (`JWT_JWKS_URL` or `JWT_PUBLIC_KEY`, ...), read
    /// by the kit's verifier at startup; none set means auth is disabled.
    pub jwt: Vars,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> machina_kit::Result<Self> {
        Self::from_vars(&Vars::from_env())
    }

    /// Reads the configuration from `vars`.
    pub fn from_vars(vars: &Vars) -> machina_kit::Result<Self> {
        let common = CommonConfig::from_vars(vars, "media")?;
        let mongodb_uri = common
            .mongodb_uri
            .clone()
            .ok_or_else(|| Error::MissingVar {
                name: "MONGODB_URI".to_owned(),
            })?;
        let signing_keys = match vars.raw("SIGNING_KEYS") {
            Some(raw) => SigningKeys::parse(raw).map_err(|expected| Error::InvalidVar {
                name: "SIGNING_KEYS".to_owned(),
                expected: expected.to_owned(),
                value: "(not shown: contains secrets)".to_owned(),
            })?,
            None => SigningKeys::default(),
        };
        let jwt = Vars::from_pairs(JWT_VARS.iter().filter_map(|name| {
            vars.raw(name)
                .map(|value| ((*name).to_owned(), value.to_owned()))
        }));
        // Fail at startup, naming the variable, rather than on the first request.
        JwtVerifier::from_vars(&jwt, Metrics::new())?;
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        let processing_concurrency = positive(vars, "PROCESSING_CONCURRENCY", cpus)?;
        Ok(Self {
            mongodb_uri,
            database: vars
                .raw("MONGODB_DATABASE")
                .unwrap_or("machina_media")
                .to_owned(),
            changes_exchange: vars
                .raw("CHANGES_EXCHANGE")
                .unwrap_or("machina.changes")
                .to_owned(),
            signing_keys,
            max_upload_bytes: vars.bytes_or("MAX_UPLOAD_BYTES", 50 << 20)?,
            upload_chunk_bytes: vars.bytes_or("UPLOAD_CHUNK_BYTES", 8 << 20)?.min(12 << 20),
            processing_concurrency,
            processing_queue: vars.or(
                "PROCESSING_QUEUE",
                "a number of requests",
                processing_concurrency * 4,
            )?,
            max_image_pixels: positive(vars, "MAX_IMAGE_PIXELS", 100_000_000)?,
            ffmpeg: find_ffmpeg(vars.raw("FFMPEG_PATH"), vars.raw("PATH")),
            ffmpeg_timeout: vars.duration_or("FFMPEG_TIMEOUT", Duration::from_secs(15))?,
            jwt,
            common,
        })
    }

    /// The body limit the HTTP layer needs: a whole upload plus multipart framing.
    pub fn body_limit(&self) -> usize {
        self.max_upload_bytes
            .max(self.upload_chunk_bytes)
            .saturating_add(64 << 10)
    }
}

/// A positive integer variable.
fn positive<T>(vars: &Vars, name: &str, default: T) -> machina_kit::Result<T>
where
    T: std::str::FromStr + PartialOrd + Default,
{
    let value = vars.or(name, "a positive integer", default)?;
    if value <= T::default() {
        return Err(Error::InvalidVar {
            name: name.to_owned(),
            expected: "a positive integer".to_owned(),
            value: vars.raw(name).unwrap_or_default().to_owned(),
        });
    }
    Ok(value)
}

/// `FFMPEG_PATH` when set (empty disables), else the first `ffmpeg` on `PATH`.
fn find_ffmpeg(explicit: Option<&str>, path: Option<&str>) -> Option<PathBuf> {
    if let Some(explicit) = explicit {
        return (!explicit.is_empty()).then(|| PathBuf::from(explicit));
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join("ffmpeg"))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mongodb_uri_is_required() {
        let err = Config::from_vars(&Vars::default()).unwrap_err();
        assert!(err.to_string().contains("MONGODB_URI"), "{err}");
    }

    #[test]
    fn reads_limits_and_keys() {
        let vars = Vars::from_pairs([
            ("MONGODB_URI", "mongodb://localhost"),
            ("MAX_UPLOAD_BYTES", "2MiB"),
            ("PROCESSING_CONCURRENCY", "3"),
            ("SIGNING_KEYS", "a:one,b:two"),
            ("FFMPEG_PATH", ""),
        ]);
        let config = Config::from_vars(&vars).unwrap();
        assert_eq!(config.max_upload_bytes, 2 << 20);
        assert_eq!(config.processing_concurrency, 3);
        assert_eq!(config.processing_queue, 12);
        assert_eq!(config.signing_keys.len(), 2);
        assert_eq!(config.changes_exchange, "machina.changes");
        assert!(config.ffmpeg.is_none());
    }

    #[test]
    fn bad_signing_keys_are_named_without_echoing_secrets() {
        let vars = Vars::from_pairs([("MONGODB_URI", "mongodb://x"), ("SIGNING_KEYS", "secret")]);
        let err = Config::from_vars(&vars).unwrap_err().to_string();
        assert!(err.contains("SIGNING_KEYS"), "{err}");
        assert!(!err.contains("secret\""), "{err}");
    }
}
