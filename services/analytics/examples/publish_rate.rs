//! The broker's ceiling for the ingestion benchmark: publishes `COUNT` persistent JSON
//! events of the same size as the API's to the events exchange with publisher confirms
//! (`WINDOW` outstanding at a time on `CHANNELS` channels, like the service), and prints
//! the confirmed rate. Env: `AMQP_URL`, `EVENTS_EXCHANGE`, `COUNT` (100000),
//! `WINDOW` (500), `CHANNELS` (4), `PIPELINED` (1: hand a window's publishes to the
//! connection at once; 0: await each publish's write before the next).

use futures::future::join_all;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use std::time::Instant;

fn var(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("AMQP_URL")?;
    let exchange = std::env::var("EVENTS_EXCHANGE").unwrap_or_else(|_| "machina.events".into());
    let (count, window, channels) = (
        var("COUNT", 100_000),
        var("WINDOW", 500),
        var("CHANNELS", 4),
    );
    let pipelined = var("PIPELINED", 1) != 0;
    let connection = Connection::connect(&url, ConnectionProperties::default()).await?;
    let body = serde_json::json!({"id": "bench-0000000000", "type": "page.viewed", "timestamp": "2026-01-01T00:00:00Z",
        "anonymousId": "visitor-123", "properties": {"path": "/products/lamp", "referrer": "search"}})
    .to_string();
    let start = Instant::now();
    let per_channel = count / channels;
    let tasks = (0..channels).map(|_| {
        let (connection, exchange, body) = (&connection, exchange.clone(), body.clone());
        async move {
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            let mut sent = 0;
            while sent < per_channel {
                let n = window.min(per_channel - sent);
                let publishes = (0..n).map(|i| {
                    let properties = BasicProperties::default()
                        .with_delivery_mode(2)
                        .with_content_type("application/json".into())
                        .with_message_id(format!("raw-{}", sent + i).into());
                    let options = BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    };
                    channel.basic_publish(
                        exchange.as_str().into(),
                        "page.viewed".into(),
                        options,
                        body.as_bytes(),
                        properties,
                    )
                });
                // Sequential: one write round trip per message (the API before pipelining);
                // pipelined: the whole window handed to the connection at once.
                let confirms = if pipelined {
                    join_all(publishes)
                        .await
                        .into_iter()
                        .collect::<Result<Vec<_>, _>>()?
                } else {
                    let mut confirms = Vec::with_capacity(n);
                    for publish in publishes {
                        confirms.push(publish.await?);
                    }
                    confirms
                };
                for confirm in join_all(confirms).await {
                    anyhow::ensure!(confirm?.is_ack(), "nack");
                }
                sent += n;
            }
            anyhow::Ok(sent)
        }
    });
    let sent: usize = join_all(tasks)
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .sum();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "raw publish with confirms ({}): {sent} messages in {secs:.2}s = {:.0} msg/s",
        if pipelined { "pipelined" } else { "sequential" },
        sent as f64 / secs
    );
    Ok(())
}
