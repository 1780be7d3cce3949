//! [`Application`]: connects MongoDB and RabbitMQ, loads the traits schema, starts
//! the outbox relay, builds the router and serves.

use std::{future::Future, sync::Arc};

use anyhow::Context as _;
use machina_kit::{Amqp, App, Metrics, Mongo, auth::JwtVerifier, shutdown_signal};
use tokio::net::TcpListener;

use crate::{
    Config, Store,
    auth_client::AuthClient,
    events::{Outbox, Relay},
    routes,
    service::Users,
    traits::TraitsSchema,
};

/// A built service bound to its listener, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    app: App,
    users: Arc<Users>,
    relay: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Binds `LISTEN_ADDR` (port 0 picks a free port), connects the backends,
    /// creates indexes and starts the outbox relay.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        let traits = match &config.traits_schema {
            Some(path) => TraitsSchema::load(path)?,
            None => TraitsSchema::any_object(),
        };
        let verifier = JwtVerifier::from_vars(&config.jwt_vars, metrics.clone())?
            .context("JWT_JWKS_URL or JWT_PUBLIC_KEY must be set")?;
        let mongo = Mongo::connect(
            &config.mongodb_uri,
            &config.common.service_name,
            metrics.clone(),
        )
        .await
        .context("Failed to set up the MongoDB client")?;
        let amqp = Amqp::connect(
            &config.amqp_url,
            &config.common.service_name,
            metrics.clone(),
        )
        .context("Failed to set up the RabbitMQ client")?;
        let store = Store::new(mongo.client(), &config.database);
        store
            .ensure_indexes()
            .await
            .context("Failed to create MongoDB indexes")?;
        let outbox = Outbox::new(store.clone());
        let relay = tokio::spawn(
            Relay::new(
                outbox.clone(),
                amqp.clone(),
                config.changes_exchange.clone(),
                config.outbox_poll,
            )
            .run(),
        );
        let users = Arc::new(Users {
            store,
            outbox,
            auth: AuthClient::new(&config.auth_url).map_err(|e| anyhow::anyhow!("{e}"))?,
            traits: Arc::new(traits),
            admin_permission: config.admin_permission.clone(),
            preferences_max_bytes: config.preferences_max_bytes,
        });
        let (listener, bound) = machina_kit::bind(config.common.listen_addr).await?;
        // RabbitMQ is not a readiness condition: the outbox holds events while it is down.
        let app = App::new(&config.common, routes::router(Arc::clone(&users), verifier))
            .with_metrics(metrics)
            .readiness_check(mongo.readiness_check());
        Ok(Self {
            listener,
            port: bound.port(),
            app,
            users,
            relay,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The operations (tests inspect state through them).
    pub fn users(&self) -> Arc<Users> {
        Arc::clone(&self.users)
    }

    /// Serves until SIGTERM or ctrl-c.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.serve_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes.
    pub async fn serve_until<F>(self, shutdown: F) -> anyhow::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tracing::info!(port = self.port, "user service listening");
        let served = self
            .app
            .serve(self.listener, shutdown)
            .await
            .context("HTTP server failed");
        self.relay.abort();
        served
    }
}
