//! Converging a pipeline: its MongoDB user and RabbitMQ topology through the provisioners,
//! its Secrets (passwords generated once and kept: read before write), then every object
//! of the builders by server-side apply, and the deletion of what they no longer want.
//! Provisioning calls whose input did not change since the last success (within the
//! resync period) are skipped: see [`crate::controllers::provisioned`].

use super::kube_ops;
use super::rotation;
use crate::content_pipeline::builders::{AMQP_URL_KEY, MONGODB_URI_KEY, database};
use crate::content_pipeline::definition::worker_labels;
use crate::content_pipeline::{self, CredentialVersions, redis};
use crate::context::Context;
use crate::controllers::provisioned::{Fingerprint, MONGODB, RABBITMQ};
use crate::pod::PlatformSettings;
use crate::provision::mongodb::{UserSpec, pipeline_user};
use crate::provision::rabbitmq::Topology;
use crate::secrets::{self, SecretString};
use crate::{Result, labels, names};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use machina_crds::{ContentPipeline, Platform};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub use crate::controllers::common::PASSWORD_KEY;
pub(super) use crate::controllers::common::{
    admin_credentials, credential_data, kept_or_new_password,
};

/// What a successful convergence observed, for the status.
#[derive(Clone, Debug)]
pub struct Observed {
    /// The worker Deployment as the server returned it (with its status).
    pub worker: Deployment,
    /// The pipeline's database.
    pub database: String,
    /// Its queue, when it takes asynchronous jobs.
    pub queue: Option<String>,
    /// Its dead-letter queue.
    pub dead_letter_queue: Option<String>,
    /// Checksum of the definition the worker runs.
    pub definition_checksum: String,
}

/// The pipeline's Secrets as they exist now.
struct Existing {
    mongodb: Option<Secret>,
    rabbitmq: Option<Secret>,
    redis: Option<Secret>,
}

fn data_of(secret: &Secret) -> BTreeMap<String, ByteString> {
    secret.data.clone().unwrap_or_default()
}

/// Provisions the external resources, writes the Secrets and applies the owned objects.
pub async fn converge(
    pipeline: &ContentPipeline,
    platform: &Platform,
    ctx: &Context,
) -> Result<Observed> {
    let name = labels::name(pipeline)?;
    let namespace = labels::namespace(pipeline)?;
    let client = &ctx.client;
    let settings = PlatformSettings::from_platform(platform)?;
    let admin = admin_credentials(platform, ctx).await?;
    let secret_names = [
        names::pipeline_mongodb_secret(&name),
        names::pipeline_rabbitmq_secret(&name),
        names::pipeline_redis(&name),
    ];
    let existing = Existing {
        mongodb: kube_ops::get_opt(client, &namespace, &secret_names[0]).await?,
        rabbitmq: kube_ops::get_opt(client, &namespace, &secret_names[1]).await?,
        redis: kube_ops::get_opt(client, &namespace, &secret_names[2]).await?,
    };

    // MongoDB user, then the Secret holding it: the Secret never holds credentials that
    // do not authenticate.
    let db = database(pipeline, &settings)?;
    let requested = pipeline
        .annotations()
        .get(rotation::ROTATE_ANNOTATION)
        .map(String::as_str);
    let plan = rotation::plan(
        &pipeline_user(pipeline)?,
        existing.mongodb.as_ref(),
        requested,
    );
    let mongo_user = plan.user.clone();
    let mongo_password = if plan.fresh_password {
        tracing::info!(user = %mongo_user, "rotating the MongoDB credentials");
        secrets::generate_password()?
    } else {
        kept_or_new_password(existing.mongodb.as_ref(), PASSWORD_KEY)?
    };
    let spec = UserSpec::for_pipeline(pipeline, &settings, &mongo_user, mongo_password.clone())?;
    let key = format!("{namespace}/{name}");
    let input = Fingerprint::of(&[
        admin.mongo_uri.expose(),
        &format!("{spec:?}"),
        spec.password.expose(),
    ]);
    if !ctx
        .provisioned
        .is_current(&key, MONGODB, input, ctx.config.resync, Instant::now())
    {
        let started = Instant::now();
        ctx.backends
            .mongo(&admin.mongo_uri)
            .await?
            .ensure_user(&spec)
            .await?;
        provisioned(ctx, MONGODB, started.elapsed());
        ctx.provisioned.record(&key, MONGODB, input, Instant::now());
    }
    let uri =
        secrets::mongodb_connection_string(&admin.mongo_uri, &mongo_user, &mongo_password, &db)?;
    let mut mongo_secret = owned_secret(
        pipeline,
        &secret_names[0],
        &credential_data(MONGODB_URI_KEY, uri, &mongo_user, mongo_password),
    )?;
    mongo_secret.metadata.annotations = Some(plan.annotations()).filter(|a| !a.is_empty());
    let applied_mongo_secret = kube_ops::apply(ctx, &mongo_secret).await?;

    // RabbitMQ topology and user, then its Secret.
    let topology = Topology::for_pipeline(pipeline, platform)?;
    let rabbit_password = kept_or_new_password(existing.rabbitmq.as_ref(), PASSWORD_KEY)?;
    let input = Fingerprint::of_topology(&admin.rabbit, &topology, &rabbit_password);
    if !ctx
        .provisioned
        .is_current(&key, RABBITMQ, input, ctx.config.resync, Instant::now())
    {
        let started = Instant::now();
        let report = ctx
            .backends
            .rabbit(&admin.rabbit)
            .await?
            .apply(&topology, &rabbit_password)
            .await?;
        provisioned(ctx, RABBITMQ, started.elapsed());
        for kept in &report.kept_retired_queues {
            tracing::info!(queue = %kept.name, messages = ?kept.messages, "retired queue kept: it holds messages");
        }
        // A retired queue still holding messages is checked again on the next reconcile.
        if report.kept_retired_queues.is_empty() {
            ctx.provisioned
                .record(&key, RABBITMQ, input, Instant::now());
        }
    }
    let url = secrets::amqp_connection_string(
        &admin.amqp_url,
        &topology.user,
        &rabbit_password,
        &topology.vhost,
    )?;
    let rabbit_secret = owned_secret(
        pipeline,
        &secret_names[1],
        &credential_data(AMQP_URL_KEY, url, &topology.user, rabbit_password),
    )?;
    let rabbit_secret = kube_ops::apply(ctx, &rabbit_secret).await?;

    // The Redis password Secret, when Redis is enabled (deleted through the builders'
    // deletions otherwise).
    let redis_secret = if pipeline.spec.redis.enabled {
        let password = kept_or_new_password(existing.redis.as_ref(), redis::PASSWORD_KEY)?;
        let secret = redis::secret(pipeline, &password)?;
        Some(kube_ops::apply(ctx, &secret).await?)
    } else {
        None
    };

    let mut worker_data = vec![data_of(&applied_mongo_secret), data_of(&rabbit_secret)];
    let redis_data = redis_secret.as_ref().map(data_of);
    worker_data.extend(redis_data.clone());
    let worker_version = secrets::credentials_version(&worker_data);
    let redis_version = redis_data.map(|d| secrets::credentials_version([&d]));
    let objects = content_pipeline::desired_state(
        pipeline,
        &settings,
        CredentialVersions {
            worker: Some(&worker_version),
            redis: redis_version.as_deref(),
        },
    )?;
    kube_ops::apply(ctx, &objects.config_map).await?;
    let worker = kube_ops::apply(ctx, &objects.deployment).await?;
    kube_ops::apply(ctx, &objects.service).await?;
    if let Some(pdb) = &objects.pod_disruption_budget {
        kube_ops::apply(ctx, pdb).await?;
    }
    if let Some(redis) = &objects.redis {
        kube_ops::apply(ctx, &redis.deployment).await?;
        kube_ops::apply(ctx, &redis.service).await?;
    }
    for deletion in &objects.deletions {
        kube_ops::delete_obsolete(client, &namespace, deletion).await?;
    }

    // The last step of a rotation: the retired user goes once no pod runs with the old
    // Secret (never in the reconcile that started the rotation: its rollout has not begun).
    if let Some(retired) = plan.retired.as_deref()
        && !plan.fresh_password
        && rotation::rollout_complete(&worker)
    {
        ctx.backends
            .mongo(&admin.mongo_uri)
            .await?
            .drop_user(&db, retired)
            .await?;
        tracing::info!(user = %retired, "retired MongoDB user dropped after the rollout");
        mongo_secret.metadata.annotations = Some(
            rotation::Plan {
                retired: None,
                ..plan.clone()
            }
            .annotations(),
        )
        .filter(|a| !a.is_empty());
        kube_ops::apply(ctx, &mongo_secret).await?;
    }

    let queue = topology
        .queue_names()
        .find(|q| *q == topology.user)
        .map(str::to_owned);
    let dead_letter_queue = queue.as_ref().and_then(|q| {
        topology
            .queue_names()
            .find(|other| other != q)
            .map(str::to_owned)
    });
    Ok(Observed {
        worker,
        database: db,
        queue,
        dead_letter_queue,
        definition_checksum: objects.definition.checksum,
    })
}

/// Records the time a provisioning call took: the metric, and a debug event that carries the
/// pipeline through the reconcile's span (the benchmark subtracts it per object).
fn provisioned(ctx: &Context, backend: &str, elapsed: Duration) {
    ctx.metrics.provisioned(super::CONTROLLER, backend, elapsed);
    tracing::debug!(
        backend,
        elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "provisioned"
    );
}

fn owned_secret(
    pipeline: &ContentPipeline,
    name: &str,
    data: &BTreeMap<String, SecretString>,
) -> Result<Secret> {
    secrets::owned_secret(pipeline, name.to_owned(), worker_labels(name), data)
}
