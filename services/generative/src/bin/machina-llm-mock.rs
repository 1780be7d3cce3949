//! An OpenAI-compatible chat-completions server for devcluster and end-to-end runs, where
//! no paid LLM API is reachable: [`MockOpenAi`] on `LISTEN_ADDR` (default `127.0.0.1:8080`),
//! answering every request with `MOCK_REPLY` (default `{"title": "Bright Lamp"}`), and
//! `GET /healthz` for probes. Image `ghcr.io/machina-dev/machina-llm-mock` on devcluster.
//! Serves until SIGTERM or ctrl-c.

use machina_generative::testing::{MockOpenAi, MockReply};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let addr = addr
        .parse()
        .map_err(|e| anyhow::anyhow!("LISTEN_ADDR {addr:?} is not host:port: {e}"))?;
    let reply =
        std::env::var("MOCK_REPLY").unwrap_or_else(|_| r#"{"title": "Bright Lamp"}"#.to_owned());
    let mock = MockOpenAi::start_on(addr).await?;
    mock.set_default(MockReply::Content(reply));
    println!("mock OpenAI API on {}", mock.base_url());
    machina_kit::shutdown_signal().await;
    Ok(())
}
