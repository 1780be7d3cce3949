//! Leader election on a `coordination.k8s.io/v1` Lease, so two replicas never reconcile at
//! once (kube-runtime has none). The decision is pure ([`decide`], [`claim`]); the loop
//! ([`LeaderElector`]) reads the Lease, writes it with optimistic concurrency (the
//! `resourceVersion` it read), renews it every few seconds and releases it on shutdown so
//! a standby takes over at once instead of waiting for expiry.

use crate::{Error, Result};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::PostParams;
use kube::{Api, Client};
use std::time::Duration;

/// Settings of the election.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Name of the Lease.
    pub name: String,
    /// Namespace of the Lease (the operator's).
    pub namespace: String,
    /// This replica's identity (the pod name).
    pub identity: String,
    /// How long a Lease holds without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews, and how often a standby retries.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// A 15 s Lease renewed every 5 s.
    pub fn new(name: String, namespace: String, identity: String) -> Self {
        Self {
            name,
            namespace,
            identity,
            lease_duration: Duration::from_secs(15),
            retry_period: Duration::from_secs(5),
        }
    }
}

/// What to do with the Lease as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Free, released or expired: take it.
    Acquire,
    /// Ours: renew it.
    Renew,
    /// Held by another replica whose lease has not expired.
    Follow {
        /// The holder.
        holder: String,
    },
}

/// The decision for `identity` at `now`, given the Lease's spec (`None`: no Lease yet).
pub fn decide(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> Decision {
    let Some(spec) = spec else {
        return Decision::Acquire;
    };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder.is_empty() {
        return Decision::Acquire;
    }
    if holder == identity {
        return Decision::Renew;
    }
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    match renewed {
        Some(renewed) if renewed + duration > now => Decision::Follow {
            holder: holder.to_owned(),
        },
        _ => Decision::Acquire,
    }
}

/// The spec to write for `decision` (not [`Decision::Follow`]): holder, duration, renew
/// time; acquiring also sets the acquire time and counts a transition.
pub fn claim(previous: Option<&LeaseSpec>, config: &LeaseConfig, now: Timestamp) -> LeaseSpec {
    let mut spec = previous.cloned().unwrap_or_default();
    let renewing = spec.holder_identity.as_deref() == Some(config.identity.as_str());
    if !renewing {
        spec.acquire_time = Some(MicroTime(now));
        if spec
            .holder_identity
            .as_deref()
            .is_some_and(|h| !h.is_empty())
        {
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
    }
    spec.holder_identity = Some(config.identity.clone());
    spec.lease_duration_seconds =
        Some(i32::try_from(config.lease_duration.as_secs()).unwrap_or(i32::MAX));
    spec.renew_time = Some(MicroTime(now));
    spec
}

/// Takes, renews and releases the Lease.
#[derive(Clone, Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
}

impl LeaderElector {
    /// An elector for `config`.
    pub fn new(client: Client, config: LeaseConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// Acquires or renews the Lease; `Ok(false)` when another replica holds it (or won
    /// the race for it).
    pub async fn try_acquire_or_renew(&self) -> Result<bool> {
        let name = &self.config.name;
        let current = self
            .api
            .get_opt(name)
            .await
            .map_err(|e| Error::kube("get", "Lease", name, e))?;
        let now = Timestamp::now();
        let spec = current.as_ref().and_then(|l| l.spec.as_ref());
        if let Decision::Follow { holder } = decide(spec, &self.config.identity, now) {
            tracing::debug!(%holder, "lease held by another replica");
            return Ok(false);
        }
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.config.namespace.clone()),
                resource_version: current
                    .as_ref()
                    .and_then(|l| l.metadata.resource_version.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(claim(spec, &self.config, now)),
        };
        let written = match current {
            None => self.api.create(&PostParams::default(), &lease).await,
            Some(_) => self.api.replace(name, &PostParams::default(), &lease).await,
        };
        match written {
            Ok(_) => Ok(true),
            // Another replica wrote first (409 conflict / already exists): not ours.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(Error::kube("write", "Lease", name, e)),
        }
    }

    /// Releases the Lease if this replica holds it, so a standby takes over at once.
    pub async fn release(&self) -> Result<()> {
        let name = &self.config.name;
        let Some(mut lease) = self
            .api
            .get_opt(name)
            .await
            .map_err(|e| Error::kube("get", "Lease", name, e))?
        else {
            return Ok(());
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        self.api
            .replace(name, &PostParams::default(), &lease)
            .await
            .map_err(|e| Error::kube("release", "Lease", name, e))?;
        tracing::info!("released the leader lease");
        Ok(())
    }

    /// Waits until this replica holds the Lease; `on_attempt` runs after each attempt
    /// (the first one marks a standby ready).
    pub async fn acquire(&self, mut on_attempt: impl FnMut(bool)) {
        loop {
            let acquired = match self.try_acquire_or_renew().await {
                Ok(acquired) => acquired,
                Err(e) => {
                    tracing::warn!(error = %e, "leader election attempt failed");
                    false
                }
            };
            on_attempt(acquired);
            if acquired {
                tracing::info!(identity = %self.config.identity, "acquired the leader lease");
                return;
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Renews the Lease every retry period; returns when leadership is lost (not renewed
    /// within the lease duration), which the caller treats as fatal.
    pub async fn keep_renewing(&self) {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => {
                    tracing::error!("another replica took the leader lease");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "failed to renew the leader lease"),
            }
            if last_renewal.elapsed() >= self.config.lease_duration {
                tracing::error!("could not renew the leader lease in time");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).expect("time")
    }

    fn config(identity: &str) -> LeaseConfig {
        LeaseConfig::new(
            "machina-operator".into(),
            "machina-system".into(),
            identity.into(),
        )
    }

    fn held_by(holder: &str, renewed: i64) -> LeaseSpec {
        claim(None, &config(holder), at(renewed))
    }

    #[test]
    fn a_missing_or_released_lease_is_acquired() {
        assert_eq!(decide(None, "a", at(0)), Decision::Acquire);
        let mut released = held_by("b", 100);
        released.holder_identity = None;
        assert_eq!(decide(Some(&released), "a", at(101)), Decision::Acquire);
    }

    #[test]
    fn the_holder_renews_and_others_follow_until_expiry() {
        let lease = held_by("a", 100);
        assert_eq!(decide(Some(&lease), "a", at(101)), Decision::Renew);
        assert_eq!(
            decide(Some(&lease), "b", at(114)),
            Decision::Follow { holder: "a".into() }
        );
        // Expired after 15 s without renewal: stolen.
        assert_eq!(decide(Some(&lease), "b", at(115)), Decision::Acquire);
    }

    #[test]
    fn claiming_counts_transitions_and_keeps_acquire_time_on_renewal() {
        let first = claim(None, &config("a"), at(100));
        assert_eq!(first.lease_transitions, None);
        assert_eq!(first.lease_duration_seconds, Some(15));
        let renewed = claim(Some(&first), &config("a"), at(105));
        assert_eq!(renewed.acquire_time, Some(MicroTime(at(100))));
        assert_eq!(renewed.renew_time, Some(MicroTime(at(105))));
        let stolen = claim(Some(&renewed), &config("b"), at(200));
        assert_eq!(stolen.holder_identity.as_deref(), Some("b"));
        assert_eq!(stolen.acquire_time, Some(MicroTime(at(200))));
        assert_eq!(stolen.lease_transitions, Some(1));
    }
}
