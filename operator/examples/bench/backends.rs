//! What the pipelines left in the real backends: their MongoDB users and RabbitMQ queues and
//! bindings, counted after the rollout and after the deletion; and the final clean-up of
//! what the operator never removes (the vhost with its shared exchanges, the databases).

use futures::{StreamExt, TryStreamExt};
use machina_devenv::BackingServices;
use mongodb::bson::doc;
use std::collections::HashSet;

/// What exists for the pipelines named `names` in namespace `namespace`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// Pipelines with a MongoDB user `machina.cp.<ns>.<name>-<slot>` in their database.
    pub mongo_users: usize,
    /// Queues `machina.cp.<ns>.<name>`.
    pub queues: usize,
    /// Dead-letter queues `<queue>.dlq`.
    pub dead_letter_queues: usize,
    /// Bindings whose destination is one of the queues.
    pub bindings: usize,
}

/// The database the operator gives a pipeline (`content_pipeline::builders::database`).
fn database(prefix: &str, namespace: &str, name: &str) -> String {
    format!("{prefix}_cp_{namespace}_{name}").replace(['-', '.'], "_")
}

/// Counts the users, queues and bindings of the pipelines.
pub async fn count(
    services: &BackingServices,
    prefix: &str,
    vhost: &str,
    namespace: &str,
    names: &[String],
) -> anyhow::Result<Found> {
    let mongo = services.mongodb().await?;
    let mongo_users = futures::stream::iter(names)
        .map(|name| {
            let mongo = mongo.clone();
            async move {
                let db = database(prefix, namespace, name);
                // The user of rotation slot a or b: `machina.cp.<ns>.<name>-a`.
                let base = format!("machina.cp.{namespace}.{name}-");
                let reply = mongo
                    .database(&db)
                    .run_command(doc! {"usersInfo": 1})
                    .await?;
                let users = reply
                    .get_array("users")
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                anyhow::Ok(users.iter().any(|u| {
                    u.as_document()
                        .and_then(|u| u.get_str("user").ok())
                        .is_some_and(|u| u.starts_with(&base))
                }))
            }
        })
        .buffer_unordered(8)
        .try_fold(0, |n, exists| async move { Ok(n + usize::from(exists)) })
        .await?;
    let queues: HashSet<String> = names
        .iter()
        .map(|name| format!("machina.cp.{namespace}.{name}"))
        .collect();
    let management = services.management()?;
    // The run's vhost is `bench-<digits>`: nothing to percent-encode.
    let vhost_path = vhost;
    let listed = management
        .get(&format!("queues/{vhost_path}?columns=name"))
        .await?
        .unwrap_or_default();
    let listed: Vec<String> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["name"].as_str().map(str::to_owned))
        .collect();
    let bindings = management
        .get(&format!("bindings/{vhost_path}"))
        .await?
        .unwrap_or_default();
    let bindings = bindings
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["source"] != "" && b["destination_type"] == "queue")
        .filter(|b| {
            b["destination"]
                .as_str()
                .is_some_and(|d| queues.contains(d))
        })
        .count();
    Ok(Found {
        mongo_users,
        queues: listed.iter().filter(|q| queues.contains(*q)).count(),
        dead_letter_queues: listed
            .iter()
            .filter(|q| q.strip_suffix(".dlq").is_some_and(|q| queues.contains(q)))
            .count(),
        bindings,
    })
}

/// Removes what outlives the pipelines by design: the vhost (shared exchanges) and any
/// database of the run's prefix.
/// Also drops any MongoDB or RabbitMQ user of the pipelines left (after an aborted run).
pub async fn remove_leftovers(
    services: &BackingServices,
    prefix: &str,
    vhost: &str,
    namespace: &str,
    names: &[String],
) -> anyhow::Result<()> {
    let management = services.management()?;
    management.delete_vhost(vhost).await?;
    // RabbitMQ users are not per vhost: remove those an aborted run left.
    for name in names {
        management
            .delete_user(&format!("machina.cp.{namespace}.{name}"))
            .await?;
    }
    let mongo = services.mongodb().await?;
    futures::stream::iter(names)
        .map(|name| {
            let db = mongo.database(&database(prefix, namespace, name));
            async move { db.run_command(doc! {"dropAllUsersFromDatabase": 1}).await }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?;
    for db in mongo.list_database_names().await? {
        if db.starts_with(&format!("{prefix}_")) {
            mongo.database(&db).drop().await?;
        }
    }
    Ok(())
}
