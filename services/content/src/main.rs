//! `machina-content`: reads its environment, serves until SIGTERM.

use machina_content::{Application, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let telemetry = machina_kit::telemetry::init(&config.common)?;
    let app = Application::build(config).await?;
    app.run_until_stopped().await?;
    telemetry.shutdown();
    Ok(())
}
