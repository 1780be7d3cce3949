//! [`Mongo`]: a MongoDB client configured to fail fast while MongoDB is down.
//!
//! The driver connects lazily and monitors the deployment in the background,
//! reconnecting on its own; what the kit adds is a short server-selection
//! timeout (a request fails in about a second instead of thirty), a `ping`
//! readiness check, and error counting.

use std::{fmt, time::Duration};

use mongodb::{Client, Database, bson::doc, error::Error as MongoError, options::ClientOptions};

use crate::{ApiError, Error, Metrics, ReadinessCheck, Result, Secret, readiness::CheckFuture};

/// The dependency label used in metrics and readiness.
const NAME: &str = "mongodb";

/// How long an operation waits for a usable server before failing.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// A shared MongoDB client; cheap to clone.
#[derive(Clone)]
pub struct Mongo {
    client: Client,
    metrics: Metrics,
}

impl fmt::Debug for Mongo {
    // The client's options include the credentials; keep them out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mongo").finish_non_exhaustive()
    }
}

impl Mongo {
    /// Parses `uri` and creates a client; does not wait for MongoDB.
    ///
    /// `app_name` shows up in MongoDB's logs and `currentOp`. Fails only for a
    /// malformed URI (or an unresolvable `mongodb+srv` name); the error does not echo it.
    pub async fn connect(uri: &Secret<String>, app_name: &str, metrics: Metrics) -> Result<Self> {
        let mut options = ClientOptions::parse(uri.expose().as_str())
            .await
            .map_err(|e| connect_error(&e))?;
        options.app_name = Some(app_name.to_owned());
        options.server_selection_timeout = Some(SERVER_SELECTION_TIMEOUT);
        options.connect_timeout = Some(Duration::from_secs(2));
        let client = Client::with_options(options).map_err(|e| connect_error(&e))?;
        Ok(Self { client, metrics })
    }

    /// The driver client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The database named in the URI's path, if any.
    pub fn default_database(&self) -> Option<Database> {
        self.client.default_database()
    }

    /// Counts and logs a failed MongoDB call and turns it into a 503 for the client.
    pub fn unavailable(&self, err: &MongoError) -> ApiError {
        self.metrics.dependency_error(NAME);
        tracing::warn!(error = %err, dependency = NAME, "mongodb call failed");
        ApiError::Unavailable(format!("mongodb: {err}"))
    }

    /// Runs `ping` on `admin`; counts the failure if there is one.
    pub async fn ping(&self) -> Result<(), MongoError> {
        let outcome = self
            .client
            .database("admin")
            .run_command(doc! { "ping": 1 })
            .await;
        if outcome.is_err() {
            self.metrics.dependency_error(NAME);
        }
        outcome.map(drop)
    }

    /// A readiness check that pings MongoDB.
    pub fn readiness_check(&self) -> MongoCheck {
        MongoCheck(self.clone())
    }
}

fn connect_error(err: &MongoError) -> Error {
    // The kind's Debug can quote the URI; say only what class of problem it is.
    let reason = match *err.kind {
        mongodb::error::ErrorKind::InvalidArgument { .. } => "invalid connection string",
        mongodb::error::ErrorKind::DnsResolve { .. } => "cannot resolve the SRV record",
        _ => "cannot create the client",
    };
    Error::Connect {
        dependency: NAME,
        reason: reason.to_owned(),
    }
}

/// `/readyz` check for [`Mongo`]: passes when `ping` succeeds.
#[derive(Debug, Clone)]
pub struct MongoCheck(Mongo);

impl ReadinessCheck for MongoCheck {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move { self.0.ping().await.map_err(|e| e.to_string()) })
    }
}
