//! `machina-gateway`: reads its configuration, then serves until SIGTERM.

use machina_gateway::{Gateway, GatewayConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // kube's TLS client (pipeline discovery) finds both ring and aws-lc-rs linked in (the
    // latter through jsonwebtoken), so rustls cannot pick one by itself.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = GatewayConfig::from_env()?;
    let telemetry = machina_kit::telemetry::init(&config.common)?;
    tracing::info!(routes = config.routes.len(), "starting gateway");
    Gateway::build(config).await?.run().await?;
    telemetry.shutdown();
    Ok(())
}
