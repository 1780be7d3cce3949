//! Converging an AnalyticsJob: its MongoDB user and RabbitMQ topology through the
//! provisioners, its two credential Secrets (passwords generated once and kept), then the
//! workload of its mode by server-side apply and the deletion of the other mode's object.

use crate::analytics_job::builders::output_collection;
use crate::analytics_job::{self, AMQP_URL_KEY, JobWorkload, MONGODB_URI_KEY};
use crate::context::Context;
use crate::controllers::common::{
    PASSWORD_KEY, admin_credentials, credential_data, kept_or_new_password,
};
use crate::controllers::kube_ops;
use crate::labels::AppLabels;
use crate::pod::PlatformSettings;
use crate::provision::mongodb::{AnalyticsProgress, Role, UserSpec};
use crate::provision::rabbitmq::{Topology, analytics_base};
use crate::secrets;
use crate::{Result, labels, names};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Secret;
use machina_crds::{AnalyticsJob, Platform};

/// The workload as the server returned it (with its status).
#[derive(Clone, Debug)]
pub enum Applied {
    /// Streaming: the worker Deployment.
    Streaming(Box<Deployment>),
    /// Scheduled: the CronJob.
    Scheduled(Box<CronJob>),
}

/// What a successful convergence observed, for the status.
#[derive(Clone, Debug)]
pub struct Observed {
    /// The applied workload.
    pub workload: Applied,
    /// The rollup collection.
    pub output_collection: String,
    /// The job's queue.
    pub queue: String,
    /// What the worker last reported, if it has.
    pub progress: Option<AnalyticsProgress>,
}

/// The analytics database of a Platform: `<prefix>_analytics` (what the worker is given).
pub fn analytics_database(settings: &PlatformSettings) -> String {
    format!("{}_analytics", settings.database_prefix)
}

/// The job's MongoDB user: `machina.aj.<ns>.<name>`, `readWrite` on the analytics
/// database (it reads `events` and writes its output collection there; narrowing it to
/// those two collections needs a custom role, not created yet).
pub fn user_spec(
    job: &AnalyticsJob,
    settings: &PlatformSettings,
    password: secrets::SecretString,
) -> Result<UserSpec> {
    let db = analytics_database(settings);
    Ok(UserSpec {
        user: analytics_base(job)?,
        roles: vec![Role::read_write(db.clone())],
        db,
        password,
    })
}

fn secret_labels(instance: &str) -> AppLabels<'_> {
    AppLabels {
        name: "machina-analytics",
        instance,
        component: "analytics-job",
    }
}

/// Provisions the external resources, writes the Secrets and applies the workload.
pub async fn converge(job: &AnalyticsJob, platform: &Platform, ctx: &Context) -> Result<Observed> {
    let name = labels::name(job)?;
    let namespace = labels::namespace(job)?;
    let (client, manager) = (&ctx.client, ctx.config.field_manager.as_str());
    let settings = PlatformSettings::from_platform(platform)?;
    let admin = admin_credentials(platform, ctx).await?;
    let mongo_name = names::analytics_mongodb_secret(&name);
    let rabbit_name = names::analytics_rabbitmq_secret(&name);
    let existing_mongo: Option<Secret> = kube_ops::get_opt(client, &namespace, &mongo_name).await?;
    let existing_rabbit: Option<Secret> =
        kube_ops::get_opt(client, &namespace, &rabbit_name).await?;

    // MongoDB user, then the Secret holding it.
    let password = kept_or_new_password(existing_mongo.as_ref(), PASSWORD_KEY)?;
    let spec = user_spec(job, &settings, password.clone())?;
    ctx.backends
        .mongo(&admin.mongo_uri)
        .await?
        .ensure_user(&spec)
        .await?;
    let uri =
        secrets::mongodb_connection_string(&admin.mongo_uri, &spec.user, &password, &spec.db)?;
    let data = credential_data(MONGODB_URI_KEY, uri, &spec.user, password);
    let mongo_secret =
        secrets::owned_secret(job, mongo_name.clone(), secret_labels(&mongo_name), &data)?;
    let mongo_secret = kube_ops::apply(client, manager, &mongo_secret).await?;

    // RabbitMQ topology (queue bound to the events exchange), then its Secret.
    let topology = Topology::for_analytics_job(job, platform)?;
    let password = kept_or_new_password(existing_rabbit.as_ref(), PASSWORD_KEY)?;
    ctx.backends
        .rabbit(&admin.rabbit)
        .await?
        .apply(&topology, &password)
        .await?;
    let url = secrets::amqp_connection_string(
        &admin.amqp_url,
        &topology.user,
        &password,
        &topology.vhost,
    )?;
    let data = credential_data(AMQP_URL_KEY, url, &topology.user, password);
    let rabbit_secret =
        secrets::owned_secret(job, rabbit_name.clone(), secret_labels(&rabbit_name), &data)?;
    let rabbit_secret = kube_ops::apply(client, manager, &rabbit_secret).await?;

    let version = secrets::credentials_version([
        &mongo_secret.data.clone().unwrap_or_default(),
        &rabbit_secret.data.clone().unwrap_or_default(),
    ]);
    let objects = analytics_job::desired_state(job, &settings, Some(&version))?;
    let workload = match &objects.workload {
        JobWorkload::Streaming(deployment) => Applied::Streaming(Box::new(
            kube_ops::apply(client, manager, deployment.as_ref()).await?,
        )),
        JobWorkload::Scheduled(cron_job) => Applied::Scheduled(Box::new(
            kube_ops::apply(client, manager, cron_job.as_ref()).await?,
        )),
    };
    for deletion in &objects.deletions {
        kube_ops::delete_obsolete(client, &namespace, deletion).await?;
    }
    let output = output_collection(job)?;
    // Progress is informative: a failed read keeps the previous figures, not the reconcile.
    let progress = match ctx.backends.mongo(&admin.mongo_uri).await {
        Ok(mongo) => mongo
            .analytics_progress(&analytics_database(&settings), &output)
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "cannot read the worker's progress"))
            .ok()
            .flatten(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the worker's progress");
            None
        }
    };
    Ok(Observed {
        workload,
        output_collection: output,
        queue: topology.user.clone(),
        progress,
    })
}
