//! [`Redis`]: a Redis connection that reconnects with backoff.
//!
//! Built on `redis::aio::ConnectionManager` created lazily: constructing it
//! never waits for Redis, so a service starts (and answers `/healthz`) while
//! Redis is down. A command on a broken connection triggers a reconnect with
//! exponential backoff (a few quick retries, so a request fails fast rather
//! than hanging); the next command or readiness probe tries again. A failed `PING` (the
//! readiness probe) also renews the manager, the URL's host looked up again.

use std::sync::{Arc, RwLock};
use std::{fmt, time::Duration};

use ::redis::{
    Client, RedisError,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use crate::{ApiError, Error, Metrics, ReadinessCheck, Result, Secret, readiness::CheckFuture};

/// The dependency label used in metrics and readiness.
const NAME: &str = "redis";

/// A shared, self-healing Redis connection; cheap to clone.
#[derive(Clone)]
pub struct Redis {
    inner: Arc<Inner>,
    metrics: Metrics,
}

struct Inner {
    url: Secret<String>,
    manager: RwLock<ConnectionManager>,
}

impl fmt::Debug for Redis {
    // The manager's own Debug includes the connection info; keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis").finish_non_exhaustive()
    }
}

/// A lazy connection manager for `url`, its host looked up in the hosts file now.
fn manager_for(url: &Secret<String>) -> Result<ConnectionManager> {
    let client =
        Client::open(crate::hosts::rewrite_url(url.expose())).map_err(|e| connect_error(&e))?;
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(100))
        .set_max_delay(Duration::from_secs(2))
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)));
    ConnectionManager::new_lazy_with_config(client, config).map_err(|e| connect_error(&e))
}

impl Redis {
    /// Prepares a connection to `url` without connecting yet.
    ///
    /// Fails only if the URL is malformed (the error does not echo it).
    pub fn connect(url: &Secret<String>, metrics: Metrics) -> Result<Self> {
        let manager = manager_for(url)?;
        Ok(Self {
            inner: Arc::new(Inner {
                url: url.clone(),
                manager: RwLock::new(manager),
            }),
            metrics,
        })
    }

    /// A handle to run commands on (`redis::AsyncCommands` works on it).
    pub fn connection(&self) -> ConnectionManager {
        self.inner
            .manager
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the connection manager by a fresh one, the URL's host looked up again: a
    /// host that was not in the hosts file yet when the service started (a Service created
    /// a moment after its client's pod) would otherwise stay unresolved for good, and a
    /// manager whose first connection failed in its handshake does not always retry.
    fn renew(&self) {
        match manager_for(&self.inner.url) {
            Ok(manager) => {
                *self
                    .inner
                    .manager
                    .write()
                    .unwrap_or_else(|p| p.into_inner()) = manager;
            }
            Err(e) => tracing::warn!(error = %e, dependency = NAME, "cannot renew the connection"),
        }
    }

    /// Counts and logs a failed Redis call and turns it into a 503 for the client.
    pub fn unavailable(&self, err: &RedisError) -> ApiError {
        self.metrics.dependency_error(NAME);
        tracing::warn!(error = %err, dependency = NAME, "redis call failed");
        ApiError::Unavailable(format!("redis: {err}"))
    }

    /// Sends `PING`; counts the failure if there is one.
    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut conn = self.connection();
        let outcome = ::redis::cmd("PING").query_async::<String>(&mut conn).await;
        if outcome.is_err() {
            self.metrics.dependency_error(NAME);
            // Readiness probes ping every few seconds: each failure starts the next probe
            // on a fresh connection (lazy: nothing connects until then).
            self.renew();
        }
        outcome.map(drop)
    }

    /// A readiness check that pings Redis.
    pub fn readiness_check(&self) -> RedisCheck {
        RedisCheck(self.clone())
    }
}

fn connect_error(err: &RedisError) -> Error {
    // `kind` and `category` never contain the URL or its password.
    Error::Connect {
        dependency: NAME,
        reason: format!("{:?}: {}", err.kind(), err.category()),
    }
}

/// `/readyz` check for [`Redis`]: passes when `PING` succeeds.
#[derive(Debug, Clone)]
pub struct RedisCheck(Redis);

impl ReadinessCheck for RedisCheck {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move { self.0.ping().await.map_err(|e| e.to_string()) })
    }
}
