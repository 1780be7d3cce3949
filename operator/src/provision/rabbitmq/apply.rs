//! Converging a whole [`Topology`]: `apply` on every reconcile, `remove` from the finalizer.

use super::Result;
use super::client::{BindingInfo, QueueDeletion, QueueRemoval, RabbitProvisioner};
use super::topology::Topology;
use crate::secrets::SecretString;

/// A queue left in place because it still held messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptQueue {
    /// The queue.
    pub name: String,
    /// Its messages, as last reported (`None`: not reported yet).
    pub messages: Option<u64>,
}

/// What [`RabbitProvisioner::apply`] changed beyond declaring the topology.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Bindings that were not in the topology and were removed.
    pub removed_bindings: Vec<BindingInfo>,
    /// Retired queues kept because they still hold messages (unbound: nothing new arrives).
    pub kept_retired_queues: Vec<KeptQueue>,
}

/// What [`RabbitProvisioner::remove`] left behind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoveReport {
    /// Queues kept because they held messages (unbound, and their user deleted).
    pub kept_queues: Vec<KeptQueue>,
    /// Owned exchanges kept because a queue that dead-letters through them was kept.
    pub kept_exchanges: Vec<String>,
}

impl RemoveReport {
    /// Whether everything the topology owned is gone.
    pub fn is_complete(&self) -> bool {
        self.kept_queues.is_empty() && self.kept_exchanges.is_empty()
    }
}

impl RabbitProvisioner {
    /// Converges `topology`: vhost, exchanges, queues, bindings (stale ones of its queues
    /// removed), retired queues and exchanges, then the user with `password` and its
    /// permissions. Idempotent; safe to re-run after a failure at any step.
    pub async fn apply(&self, topology: &Topology, password: &SecretString) -> Result<ApplyReport> {
        let vhost = topology.vhost.as_str();
        self.ensure_vhost(vhost).await?;
        for exchange in &topology.exchanges {
            self.ensure_exchange(vhost, exchange).await?;
        }
        for queue in &topology.queues {
            self.ensure_queue(vhost, queue).await?;
        }
        for binding in &topology.bindings {
            self.ensure_binding(vhost, binding).await?;
        }
        let mut report = ApplyReport::default();
        for queue in topology.queue_names() {
            let removed = self
                .remove_bindings_except(vhost, queue, &topology.bindings)
                .await?;
            report.removed_bindings.extend(removed);
        }
        let retired = self
            .remove_queues(
                vhost,
                &topology.retired.queues,
                QueueRemoval::KeepIfNotEmpty,
            )
            .await?;
        report.kept_retired_queues = retired;
        if report.kept_retired_queues.is_empty() {
            for exchange in &topology.retired.exchanges {
                self.delete_exchange(vhost, exchange).await?;
            }
        }
        self.ensure_user(&topology.user, password).await?;
        self.ensure_permissions(vhost, &topology.user, &topology.permissions)
            .await?;
        tracing::debug!(vhost, user = %topology.user, "applied RabbitMQ topology");
        Ok(report)
    }

    /// Removes what `topology` owns: its user (and so its permissions) first, then each
    /// queue's bindings and the queue as `removal` allows, then the owned exchanges when
    /// no queue was kept. Shared exchanges and the vhost are never removed. Idempotent.
    pub async fn remove(&self, topology: &Topology, removal: QueueRemoval) -> Result<RemoveReport> {
        let vhost = topology.vhost.as_str();
        self.delete_user(&topology.user).await?;
        let mut names: Vec<String> = topology.queue_names().map(str::to_owned).collect();
        names.extend(topology.retired.queues.iter().cloned());
        // Main queues before their dead-letter queues: a message dead-lettered while the
        // main queue goes lands in a queue that is still there to be checked.
        names.reverse();
        names.dedup();
        let mut report = RemoveReport {
            kept_queues: self.remove_queues(vhost, &names, removal).await?,
            kept_exchanges: Vec::new(),
        };
        let owned = topology
            .exchanges
            .iter()
            .filter(|e| e.owned)
            .map(|e| e.name.clone())
            .chain(topology.retired.exchanges.iter().cloned());
        for exchange in owned {
            if report.kept_queues.is_empty() {
                self.delete_exchange(vhost, &exchange).await?;
            } else {
                report.kept_exchanges.push(exchange);
            }
        }
        if !report.is_complete() {
            tracing::warn!(vhost, kept_queues = ?report.kept_queues, "left non-empty queues in place");
        }
        Ok(report)
    }

    /// Unbinds each queue, then deletes it as `removal` allows; returns the kept ones.
    async fn remove_queues(
        &self,
        vhost: &str,
        queues: &[String],
        removal: QueueRemoval,
    ) -> Result<Vec<KeptQueue>> {
        let mut kept = Vec::new();
        for queue in queues {
            self.remove_bindings_except(vhost, queue, &[]).await?;
            if let QueueDeletion::Kept { messages } =
                self.delete_queue(vhost, queue, removal).await?
            {
                kept.push(KeptQueue {
                    name: queue.clone(),
                    messages,
                });
            }
        }
        Ok(kept)
    }
}
