//! [`Amqp`]: a RabbitMQ connection kept alive by a supervisor task.
//!
//! A lapin `Connection` does not come back by itself once its retries are
//! spent, so the kit owns one in a background task: connect, watch the
//! connection (polled twice a second), and after a loss reconnect
//! with exponential backoff for as long as any [`Amqp`] handle lives.
//! Handles see the current connection through a `watch` channel; while there
//! is none, [`Amqp::connection`] answers 503 and the readiness check fails.
//!
//! Channels, queues and consumers are the caller's: after a loss, take the
//! new connection from [`Amqp::connected`] and declare them again.

use std::{fmt, sync::Arc, time::Duration};

use lapin::{Connection, ConnectionProperties, uri::AMQPUri};
use tokio::sync::watch;

use crate::{ApiError, Error, Metrics, ReadinessCheck, Result, Secret, readiness::CheckFuture};

/// The dependency label used in metrics and readiness.
const NAME: &str = "rabbitmq";
/// First retry delay after a failed connect; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long one connection attempt may take (covers black-holed hosts).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the supervisor checks that the connection is still up.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);

type Current = Option<Arc<Connection>>;

/// A handle on the supervised connection; cheap to clone. The supervisor
/// stops when the last handle is dropped.
#[derive(Clone)]
pub struct Amqp {
    current: watch::Receiver<Current>,
    metrics: Metrics,
}

impl fmt::Debug for Amqp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Amqp")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl Amqp {
    /// Validates `uri` and starts the supervisor; does not wait for RabbitMQ.
    ///
    /// `connection_name` shows in the RabbitMQ management UI. Must be called
    /// inside a Tokio runtime. Fails only for a malformed URI (not echoed).
    pub fn connect(uri: &Secret<String>, connection_name: &str, metrics: Metrics) -> Result<Self> {
        let uri: AMQPUri = uri.expose().parse().map_err(|_| Error::Connect {
            dependency: NAME,
            reason: "invalid AMQP URI".to_owned(),
        })?;
        let properties =
            ConnectionProperties::default().with_connection_name(connection_name.into());
        let (tx, current) = watch::channel(None);
        tokio::spawn(supervise(uri, properties, tx, metrics.clone()));
        Ok(Self { current, metrics })
    }

    /// True while a connection is open.
    pub fn is_connected(&self) -> bool {
        self.current
            .borrow()
            .as_ref()
            .is_some_and(|c| c.status().connected())
    }

    /// The current connection, or a 503 while RabbitMQ is unreachable.
    pub fn connection(&self) -> Result<Arc<Connection>, ApiError> {
        match self.current.borrow().as_ref() {
            Some(conn) if conn.status().connected() => Ok(conn.clone()),
            _ => Err(ApiError::Unavailable("rabbitmq: not connected".to_owned())),
        }
    }

    /// Waits until a connection is open and returns it (for workers).
    pub async fn connected(&self) -> Arc<Connection> {
        let mut current = self.current.clone();
        loop {
            if let Some(conn) = current
                .borrow_and_update()
                .as_ref()
                .filter(|c| c.status().connected())
            {
                return conn.clone();
            }
            if current.changed().await.is_err() {
                // Unreachable while `self` holds a receiver; wait forever rather than panic.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Counts and logs a failed AMQP call and turns it into a 503 for the client.
    pub fn unavailable(&self, err: &lapin::Error) -> ApiError {
        self.metrics.dependency_error(NAME);
        tracing::warn!(error = %err, dependency = NAME, "rabbitmq call failed");
        ApiError::Unavailable(format!("rabbitmq: {err}"))
    }

    /// A readiness check that passes while the connection is open.
    pub fn readiness_check(&self) -> AmqpCheck {
        AmqpCheck(self.clone())
    }
}

/// Connects, watches, reconnects; returns when every handle is gone.
async fn supervise(
    uri: AMQPUri,
    properties: ConnectionProperties,
    tx: watch::Sender<Current>,
    metrics: Metrics,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let attempt = tokio::time::timeout(
            CONNECT_TIMEOUT,
            Connection::connect_uri(uri.clone(), properties.clone()),
        );
        match attempt.await {
            Ok(Ok(conn)) => {
                tracing::info!(dependency = NAME, "connected");
                backoff = MIN_BACKOFF;
                let conn = Arc::new(conn);
                tx.send_replace(Some(conn.clone()));
                if !watch_until_lost(&conn, &tx).await {
                    return;
                }
                tx.send_replace(None);
                metrics.dependency_error(NAME);
                tracing::warn!(dependency = NAME, "connection lost; reconnecting");
            }
            Ok(Err(err)) => {
                metrics.dependency_error(NAME);
                tracing::warn!(dependency = NAME, error = %err, retry_in_ms = backoff.as_millis(), "connect failed");
            }
            Err(_) => {
                metrics.dependency_error(NAME);
                tracing::warn!(
                    dependency = NAME,
                    retry_in_ms = backoff.as_millis(),
                    "connect timed out"
                );
            }
        }
        tokio::select! {
            () = tx.closed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Returns `true` when the connection is lost, `false` when every handle is gone.
async fn watch_until_lost(conn: &Connection, tx: &watch::Sender<Current>) -> bool {
    loop {
        tokio::select! {
            () = tx.closed() => return false,
            () = tokio::time::sleep(WATCH_INTERVAL) => {
                if !conn.status().connected() {
                    return true;
                }
            }
        }
    }
}

/// `/readyz` check for [`Amqp`]: passes while the connection is open.
#[derive(Debug, Clone)]
pub struct AmqpCheck(Amqp);

impl ReadinessCheck for AmqpCheck {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self) -> CheckFuture<'_> {
        let outcome = if self.0.is_connected() {
            Ok(())
        } else {
            Err("not connected".to_owned())
        };
        Box::pin(std::future::ready(outcome))
    }
}
