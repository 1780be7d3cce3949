//! A standalone OpenAI-compatible chat-completions server for local runs and load tests:
//! [`MockOpenAi`] answering every request with `MOCK_REPLY` (default `{"title": "Bright
//! Lamp"}`). Prints its base URL (`http://127.0.0.1:<port>`) on the first line of stdout
//! and serves until interrupted.
//!
//! ```sh
//! cargo run -p machina-generative --example mock_openai
//! ```

use machina_generative::testing::{MockOpenAi, MockReply};
use std::io::Write as _;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let reply =
        std::env::var("MOCK_REPLY").unwrap_or_else(|_| r#"{"title": "Bright Lamp"}"#.to_owned());
    let mock = MockOpenAi::start().await?;
    mock.set_default(MockReply::Content(reply));
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", mock.base_url())?;
    stdout.flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
