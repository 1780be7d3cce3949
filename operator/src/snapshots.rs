//! Snapshot tests: the objects built from each sample in `config/samples`, as the YAML a
//! reviewer reads, committed under `operator/snapshots/`. A change of any builder shows up
//! as a diff of these files. Regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test -p machina-operator snapshots`.

use crate::fixtures::{mk_analytics_job, mk_pipeline, mk_platform};
use crate::pod::PlatformSettings;
use crate::{Deletion, analytics_job, content_pipeline, platform};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Multi-document YAML of `objects`, then the deletions as comments.
#[derive(Default)]
struct Snapshot(String);

impl Snapshot {
    fn push<T: Serialize>(&mut self, object: &T) {
        self.0.push_str("---\n");
        self.0
            .push_str(&serde_yaml::to_string(object).expect("objects serialise"));
    }

    fn deletions(&mut self, deletions: &[Deletion]) {
        for d in deletions {
            self.0
                .push_str(&format!("# delete {:?} {}\n", d.kind, d.name));
        }
    }

    fn check(self, file: &str) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("snapshots")
            .join(file);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("create dir");
            std::fs::write(&path, &self.0).expect("write snapshot");
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "missing {}: run UPDATE_SNAPSHOTS=1 cargo test -p machina-operator snapshots",
                path.display()
            )
        });
        pretty_assertions::assert_eq!(
            expected,
            self.0,
            "{file} is out of date: review the diff, then run \
             UPDATE_SNAPSHOTS=1 cargo test -p machina-operator snapshots"
        );
    }
}

fn settings() -> PlatformSettings {
    PlatformSettings::from_platform(&mk_platform()).expect("settings")
}

#[test]
fn platform_sample() {
    let objects = platform::desired_state(&mk_platform(), &BTreeMap::new()).expect("objects");
    let mut snapshot = Snapshot::default();
    objects.deployments.iter().for_each(|o| snapshot.push(o));
    objects.services.iter().for_each(|o| snapshot.push(o));
    objects
        .pod_disruption_budgets
        .iter()
        .for_each(|o| snapshot.push(o));
    if let Some(identity) = &objects.gateway_identity {
        snapshot.push(&identity.service_account);
        snapshot.push(&identity.role);
        snapshot.push(&identity.role_binding);
    }
    snapshot.deletions(&objects.deletions);
    snapshot.check("platform.yaml");
}

#[test]
fn content_pipeline_sample() {
    let objects = content_pipeline::desired_state(
        &mk_pipeline(),
        &settings(),
        content_pipeline::CredentialVersions::default(),
    )
    .expect("objects");
    let mut snapshot = Snapshot::default();
    snapshot.push(&objects.config_map);
    snapshot.push(&objects.deployment);
    snapshot.push(&objects.service);
    if let Some(pdb) = &objects.pod_disruption_budget {
        snapshot.push(pdb);
    }
    if let Some(redis) = &objects.redis {
        snapshot.push(&redis.deployment);
        snapshot.push(&redis.service);
    }
    snapshot.deletions(&objects.deletions);
    snapshot.check("contentpipeline.yaml");
}

#[test]
fn analytics_job_sample() {
    let objects =
        analytics_job::desired_state(&mk_analytics_job(), &settings(), None).expect("objects");
    let mut snapshot = Snapshot::default();
    match &objects.workload {
        analytics_job::JobWorkload::Streaming(d) => snapshot.push(d),
        analytics_job::JobWorkload::Scheduled(c) => snapshot.push(c),
    }
    snapshot.deletions(&objects.deletions);
    snapshot.check("analyticsjob.yaml");
}

#[test]
fn objects_carry_api_version_and_kind_for_server_side_apply() {
    let objects = platform::desired_state(&mk_platform(), &BTreeMap::new()).expect("objects");
    let deployment = serde_json::to_value(&objects.deployments[0]).expect("json");
    assert_eq!(deployment["apiVersion"], "apps/v1");
    assert_eq!(deployment["kind"], "Deployment");
    let pdb = serde_json::to_value(&objects.pod_disruption_budgets[0]).expect("json");
    assert_eq!(pdb["apiVersion"], "policy/v1");
    assert_eq!(pdb["kind"], "PodDisruptionBudget");
    // No status and no server-owned metadata in what is applied.
    assert!(deployment.get("status").is_none());
    assert!(deployment["metadata"].get("resourceVersion").is_none());
}
