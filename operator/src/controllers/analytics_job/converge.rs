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
use crate::controllers::provisioned::{Fingerprint, MONGODB, RABBITMQ};
use crate::labels::AppLabels;
use crate::pod::PlatformSettings;
use crate::provision::mongodb::{
    ANALYTICS_PROGRESS_COLLECTION, AnalyticsProgress, Privilege, Role, RoleSpec, UserSpec,
};
use crate::provision::rabbitmq::{Topology, analytics_base};
use crate::secrets;
use crate::{Result, labels, names};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Secret;
use machina_crds::{AnalyticsJob, Platform};
use std::time::Instant;

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

/// The job's custom role, named like its user: read `events`; own its output collection
/// and the staging copy of its events (`<output>_events`); upsert its progress document in
/// the shared progress collection. Nothing else in the analytics database.
pub fn role_spec(job: &AnalyticsJob, settings: &PlatformSettings) -> Result<RoleSpec> {
    let output = output_collection(job)?;
    Ok(RoleSpec {
        db: analytics_database(settings),
        role: analytics_base(job)?,
        privileges: vec![
            Privilege::read(ANALYTICS_EVENTS_COLLECTION),
            Privilege::own(format!("{output}_events")),
            Privilege::own(output),
            Privilege::upsert(ANALYTICS_PROGRESS_COLLECTION),
        ],
    })
}

/// Collection of raw events the analytics service writes (see `services/analytics`).
pub const ANALYTICS_EVENTS_COLLECTION: &str = "events";

/// The job's MongoDB user: `machina.aj.<ns>.<name>` in the analytics database, holding only
/// the job's [`role_spec`].
pub fn user_spec(role: &RoleSpec, user: String, password: secrets::SecretString) -> UserSpec {
    UserSpec {
        user,
        roles: vec![Role::custom(role)],
        db: role.db.clone(),
        password,
    }
}

fn secret_labels(instance: &str) -> AppLabels<'_> {
    AppLabels {
        name: "machina-analytics",
        instance,
        component: "analytics-job",
    }
}

/// The job's key in the provisioning memo (apart from a ContentPipeline of the same name).
pub fn memo_key(namespace: &str, name: &str) -> String {
    format!("AnalyticsJob {namespace}/{name}")
}

/// Provisions the external resources, writes the Secrets and applies the workload.
pub async fn converge(job: &AnalyticsJob, platform: &Platform, ctx: &Context) -> Result<Observed> {
    let name = labels::name(job)?;
    let namespace = labels::namespace(job)?;
    let client = &ctx.client;
    let settings = PlatformSettings::from_platform(platform)?;
    let admin = admin_credentials(platform, ctx).await?;
    let mongo_name = names::analytics_mongodb_secret(&name);
    let rabbit_name = names::analytics_rabbitmq_secret(&name);
    let existing_mongo: Option<Secret> = kube_ops::get_opt(client, &namespace, &mongo_name).await?;
    let existing_rabbit: Option<Secret> =
        kube_ops::get_opt(client, &namespace, &rabbit_name).await?;

    // MongoDB role, the user holding it, then the Secret holding the user.
    let password = kept_or_new_password(existing_mongo.as_ref(), PASSWORD_KEY)?;
    let role = role_spec(job, &settings)?;
    let spec = user_spec(&role, analytics_base(job)?, password.clone());
    // Skipped while the input is unchanged and younger than the resync (see `provisioned`);
    // the client also reads the job's progress below.
    let mongo = ctx.backends.mongo(&admin.mongo_uri).await?;
    let key = memo_key(&namespace, &name);
    let input = Fingerprint::of(&[
        admin.mongo_uri.expose(),
        &format!("{role:?}"),
        &format!("{spec:?}"),
        spec.password.expose(),
    ]);
    if !ctx
        .provisioned
        .is_current(&key, MONGODB, input, ctx.config.resync, Instant::now())
    {
        mongo.ensure_role(&role).await?;
        mongo.ensure_user(&spec).await?;
        ctx.provisioned.record(&key, MONGODB, input, Instant::now());
    }
    let uri =
        secrets::mongodb_connection_string(&admin.mongo_uri, &spec.user, &password, &spec.db)?;
    let data = credential_data(MONGODB_URI_KEY, uri, &spec.user, password);
    let mongo_secret =
        secrets::owned_secret(job, mongo_name.clone(), secret_labels(&mongo_name), &data)?;
    let mongo_secret = kube_ops::apply(ctx, &mongo_secret).await?;

    // RabbitMQ topology (queue bound to the events exchange), then its Secret.
    let topology = Topology::for_analytics_job(job, platform)?;
    let password = kept_or_new_password(existing_rabbit.as_ref(), PASSWORD_KEY)?;
    let input = Fingerprint::of_topology(&admin.rabbit, &topology, &password);
    if !ctx
        .provisioned
        .is_current(&key, RABBITMQ, input, ctx.config.resync, Instant::now())
    {
        let report = ctx
            .backends
            .rabbit(&admin.rabbit)
            .await?
            .apply(&topology, &password)
            .await?;
        // A retired queue still holding messages is checked again on the next reconcile.
        if report.kept_retired_queues.is_empty() {
            ctx.provisioned
                .record(&key, RABBITMQ, input, Instant::now());
        }
    }
    let url = secrets::amqp_connection_string(
        &admin.amqp_url,
        &topology.user,
        &password,
        &topology.vhost,
    )?;
    let data = credential_data(AMQP_URL_KEY, url, &topology.user, password);
    let rabbit_secret =
        secrets::owned_secret(job, rabbit_name.clone(), secret_labels(&rabbit_name), &data)?;
    let rabbit_secret = kube_ops::apply(ctx, &rabbit_secret).await?;

    let version = secrets::credentials_version([
        &mongo_secret.data.clone().unwrap_or_default(),
        &rabbit_secret.data.clone().unwrap_or_default(),
    ]);
    let objects = analytics_job::desired_state(job, &settings, Some(&version))?;
    let workload = match &objects.workload {
        JobWorkload::Streaming(deployment) => {
            Applied::Streaming(Box::new(kube_ops::apply(ctx, deployment.as_ref()).await?))
        }
        JobWorkload::Scheduled(cron_job) => {
            Applied::Scheduled(Box::new(kube_ops::apply(ctx, cron_job.as_ref()).await?))
        }
    };
    for deletion in &objects.deletions {
        kube_ops::delete_obsolete(client, &namespace, deletion).await?;
    }
    let output = output_collection(job)?;
    // Progress is informative: a failed read keeps the previous figures, not the reconcile.
    let progress = mongo
        .analytics_progress(&analytics_database(&settings), &output)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "cannot read the worker's progress"))
        .ok()
        .flatten();
    Ok(Observed {
        workload,
        output_collection: output,
        queue: topology.user.clone(),
        progress,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{mk_analytics_job, mk_platform};

    #[test]
    fn the_role_reads_events_and_owns_only_the_jobs_collections() {
        let job = mk_analytics_job();
        let settings = PlatformSettings::from_platform(&mk_platform()).expect("settings");
        let role = role_spec(&job, &settings).expect("role");
        let output = output_collection(&job).expect("output");
        assert_eq!(role.db, analytics_database(&settings));
        let scoped: Vec<(&str, &[&str])> = role
            .privileges
            .iter()
            .map(|p| (p.collection.as_str(), p.actions.as_slice()))
            .collect();
        assert_eq!(scoped[0], ("events", &["find"][..]));
        assert_eq!(scoped[1].0, format!("{output}_events"));
        assert_eq!(scoped[2].0, output);
        assert_eq!(
            scoped[3],
            ("analytics_job_progress", &["find", "insert", "update"][..])
        );
        // Nothing can drop or rewrite the shared raw events.
        assert!(
            role.privileges
                .iter()
                .all(|p| p.collection != "events" || p.actions == ["find"])
        );
        let user = user_spec(
            &role,
            role.role.clone(),
            secrets::generate_password().expect("pw"),
        );
        assert_eq!(user.roles, [Role::custom(&role)]);
        assert_eq!(user.db, role.db);
    }
}
