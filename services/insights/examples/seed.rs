//! Inserts synthetic events (users with taste clusters) into a database in the
//! analytics schema, for trying the service and for the load benchmark.
//!
//! `MONGODB_URI=... cargo run -p machina-insights --example seed -- <database> [users]`
//! (`-- <database> --drop` drops the database again; `-- <database> --more <n>`
//! adds `n` events received now, for an incremental step).

use anyhow::Context as _;
use machina_insights::algo::synthetic::{ClusteredSpec, clustered_interactions};
use mongodb::bson::{DateTime, Document, doc};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let database = args.next().context("usage: seed <database> [users]")?;
    let second = args.next();
    let uri = std::env::var("MONGODB_URI").context("MONGODB_URI is required")?;
    let client = mongodb::Client::with_uri_str(&uri)
        .await
        .context("Failed to connect to MongoDB")?;
    if second.as_deref() == Some("--drop") {
        let db = client.database(&database);
        db.drop().await.context("Failed to drop the database")?;
        println!("dropped {database}");
        return Ok(());
    }
    if second.as_deref() == Some("--more") {
        let n: usize = args
            .next()
            .map_or(Ok(100), |n| n.parse())
            .context("--more takes a number of events")?;
        return more(&client, &database, n).await;
    }
    let users: usize = second
        .map_or(Ok(1_000), |u| u.parse())
        .context("users must be a number")?;
    let events = client.database(&database).collection::<Document>("events");
    let now = DateTime::now().timestamp_millis();
    let spec = ClusteredSpec {
        users,
        clusters: 20,
        items_per_cluster: 50,
        ..ClusteredSpec::default()
    };
    let data = clustered_interactions(&spec, now - 20 * 3_600_000);
    let documents: Vec<Document> = data
        .interactions
        .iter()
        .enumerate()
        .map(|(n, i)| {
            doc! {
                "_id": format!("seed-{n}"),
                "type": if n % 7 == 0 { "item.purchased" } else { "item.viewed" },
                "ts": DateTime::from_millis(i.ts_ms),
                "actorId": &i.user,
                "properties": { "itemId": &i.item },
                "receivedAt": DateTime::from_millis(i.ts_ms),
            }
        })
        .collect();
    let total = documents.len();
    for chunk in documents.chunks(1_000) {
        events
            .insert_many(chunk.to_vec())
            .await
            .context("Failed to insert events")?;
    }
    println!("inserted {total} events for {users} users into {database}.events");
    Ok(())
}

/// `n` views by known users (u0..u999) of known items, received now.
async fn more(client: &mongodb::Client, database: &str, n: usize) -> anyhow::Result<()> {
    let now = DateTime::now().timestamp_millis();
    let mut rng = machina_insights::algo::synthetic::Rng::new(now as u64);
    let documents: Vec<Document> = (0..n)
        .map(|k| {
            let user = format!("u{}", rng.below(1_000));
            let item = machina_insights::algo::synthetic::item_id(rng.below(20), rng.below(50));
            doc! {
                "_id": format!("more-{now}-{k}"),
                "type": "item.viewed",
                "ts": DateTime::from_millis(now),
                "actorId": user,
                "properties": { "itemId": item },
                "receivedAt": DateTime::from_millis(now),
            }
        })
        .collect();
    client
        .database(database)
        .collection::<Document>("events")
        .insert_many(documents)
        .await
        .context("Failed to insert events")?;
    println!("inserted {n} events received now into {database}.events");
    Ok(())
}
