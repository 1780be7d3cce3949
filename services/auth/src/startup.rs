//! [`Application`]: connects MongoDB and Redis, loads the signing keys, seeds
//! roles and the bootstrap admin client, builds the router and serves.

use std::{collections::HashMap, future::Future, net::IpAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use machina_kit::{App, Metrics, Mongo, Redis, auth::JwtVerifier, check_fn, shutdown_signal};
use tokio::net::TcpListener;

use crate::{
    Config, Store,
    crypto::Sealer,
    keys::KeyRing,
    routes::{self, AppState},
    service::Auth,
};

/// How often the key ring reloads (rotation, retirement, keys made by other replicas).
const KEY_REFRESH: Duration = Duration::from_secs(60);

/// A built service bound to its listener, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    app: App,
    auth: Arc<Auth>,
    refresher: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Binds `LISTEN_ADDR` (port 0 picks a free port), connects the backends,
    /// creates indexes and the first signing key, seeds roles and the admin client.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        let mongo = Mongo::connect(
            &config.mongodb_uri,
            &config.common.service_name,
            metrics.clone(),
        )
        .await
        .context("Failed to set up the MongoDB client")?;
        let redis = Redis::connect(&config.redis_url, metrics.clone())
            .context("Failed to set up the Redis client")?;
        let store = Store::new(mongo.client(), &config.database);
        store
            .ensure_indexes()
            .await
            .context("Failed to create MongoDB indexes")?;
        if config.key_encryption_key.is_none() {
            tracing::warn!(
                "KEY_ENCRYPTION_KEY is not set: private signing keys are stored unencrypted"
            );
        }
        let sealer = Sealer::new(config.key_encryption_key.as_ref().map(|k| k.expose()));
        let keys = Arc::new(KeyRing::new(
            store.keys.clone(),
            sealer,
            config.tokens.key_rotation,
            config.tokens.access_ttl,
        ));
        keys.refresh()
            .await
            .context("Failed to load the signing keys")?;
        let refresher = keys.spawn_refresher(KEY_REFRESH);
        let auth = Arc::new(Auth::new(
            &config,
            store,
            mongo.clone(),
            redis.clone(),
            Arc::clone(&keys),
        ));
        seed(&auth, &config).await?;

        let addr = config.common.listen_addr;
        let (listener, bound) = machina_kit::bind(addr).await?;
        let port = bound.port();
        // The admin and user APIs verify our own tokens the way every other
        // service does: the kit middleware reading this service's JWKS.
        let host: IpAddr = if addr.ip().is_unspecified() {
            [127, 0, 0, 1].into()
        } else {
            addr.ip()
        };
        let verifier = JwtVerifier::from_jwks_url(
            format!(
                "http://{}/.well-known/jwks.json",
                std::net::SocketAddr::new(host, port)
            ),
            metrics.clone(),
        )
        .with_jwks_refresh(Duration::from_secs(60), Duration::from_secs(1))
        .with_issuer(&config.tokens.issuer)
        .with_audience(&config.tokens.audience);
        let state = AppState {
            auth: Arc::clone(&auth),
            admin_permission: config.admin_permission.clone().into(),
        };
        let ring = Arc::clone(&keys);
        let app = App::new(&config.common, routes::router(state, verifier))
            .with_metrics(metrics)
            .readiness_check(mongo.readiness_check())
            .readiness_check(redis.readiness_check())
            .readiness_check(check_fn("signing-key", move || {
                let ready = ring.is_ready();
                async move {
                    if ready {
                        Ok(())
                    } else {
                        Err("no signing key loaded".to_owned())
                    }
                }
            }));
        Ok(Self {
            listener,
            port,
            app,
            auth,
            refresher,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The operations (tests inspect state through them).
    pub fn auth(&self) -> Arc<Auth> {
        Arc::clone(&self.auth)
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
        tracing::info!(port = self.port, "auth service listening");
        let served = self
            .app
            .serve(self.listener, shutdown)
            .await
            .context("HTTP server failed");
        self.refresher.abort();
        served
    }
}

/// Upserts the `admin` role, the roles of `RBAC_CONFIG`, and the bootstrap client.
async fn seed(auth: &Auth, config: &Config) -> anyhow::Result<()> {
    let mut roles: HashMap<String, Vec<String>> = HashMap::new();
    roles.insert("admin".into(), vec![config.admin_permission.clone()]);
    if let Some(path) = &config.rbac_config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("Failed to read RBAC_CONFIG {}", path.display()))?;
        let file: HashMap<String, Vec<String>> =
            serde_json::from_str(&text).with_context(|| {
                format!(
                    "RBAC_CONFIG {} is not a JSON object of role -> [permission]",
                    path.display()
                )
            })?;
        for (role, permissions) in file {
            roles.entry(role).or_default().extend(permissions);
        }
    }
    for (role, permissions) in roles {
        auth.put_role(&role, permissions)
            .await
            .map_err(|e| anyhow::anyhow!("Failed to seed role {role}: {e}"))?;
    }
    if let Some((id, secret)) = &config.admin_client {
        auth.upsert_admin_client(id, secret)
            .await
            .map_err(|e| anyhow::anyhow!("Failed to seed the admin client: {e}"))?;
    }
    Ok(())
}
