//! The provisioners as the controllers see them: two small traits, so controller tests
//! substitute fakes that record calls, and [`ProvisionerBackends`], the real ones (one admin
//! connection per distinct admin credential, reused across reconciles).

use crate::provision::mongodb::{
    AnalyticsProgress, MongoError, MongoProvisioner, RoleSpec, UserChange, UserSpec,
};
use crate::provision::rabbitmq::{
    ApplyReport, QueueRemoval, RabbitError, RabbitProvisioner, RemoveReport, Topology,
};
use crate::secrets::SecretString;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use tokio::sync::Mutex;

/// MongoDB users of one server.
#[async_trait]
pub trait MongoUsers: Send + Sync {
    /// See [`MongoProvisioner::ensure_user`].
    async fn ensure_user(&self, spec: &UserSpec) -> Result<UserChange, MongoError>;
    /// See [`MongoProvisioner::drop_user`].
    async fn drop_user(&self, db: &str, user: &str) -> Result<bool, MongoError>;
    /// See [`MongoProvisioner::ensure_role`].
    async fn ensure_role(&self, spec: &RoleSpec) -> Result<(), MongoError>;
    /// See [`MongoProvisioner::drop_role`].
    async fn drop_role(&self, db: &str, role: &str) -> Result<bool, MongoError>;
    /// See [`MongoProvisioner::analytics_progress`].
    async fn analytics_progress(
        &self,
        db: &str,
        output: &str,
    ) -> Result<Option<AnalyticsProgress>, MongoError>;
}

/// RabbitMQ topologies of one broker.
#[async_trait]
pub trait RabbitTopologies: Send + Sync {
    /// See [`RabbitProvisioner::apply`].
    async fn apply(
        &self,
        topology: &Topology,
        password: &SecretString,
    ) -> Result<ApplyReport, RabbitError>;
    /// See [`RabbitProvisioner::remove`].
    async fn remove(
        &self,
        topology: &Topology,
        removal: QueueRemoval,
    ) -> Result<RemoveReport, RabbitError>;
}

/// The administrator of a RabbitMQ broker, from a Platform's `adminSecretName`.
#[derive(Clone, Debug)]
pub struct RabbitAdmin {
    /// Management API, `http://host:15672`.
    pub management_url: String,
    /// Admin user.
    pub username: String,
    /// Admin password.
    pub password: SecretString,
}

/// Opens provisioners for the admin credentials a Platform references.
#[async_trait]
pub trait Backends: Send + Sync {
    /// MongoDB users through `admin_uri`.
    async fn mongo(&self, admin_uri: &SecretString) -> Result<Arc<dyn MongoUsers>, MongoError>;
    /// RabbitMQ topologies through `admin`.
    async fn rabbit(&self, admin: &RabbitAdmin) -> Result<Arc<dyn RabbitTopologies>, RabbitError>;
}

#[async_trait]
impl MongoUsers for MongoProvisioner {
    async fn ensure_user(&self, spec: &UserSpec) -> Result<UserChange, MongoError> {
        MongoProvisioner::ensure_user(self, spec).await
    }
    async fn drop_user(&self, db: &str, user: &str) -> Result<bool, MongoError> {
        MongoProvisioner::drop_user(self, db, user).await
    }
    async fn ensure_role(&self, spec: &RoleSpec) -> Result<(), MongoError> {
        MongoProvisioner::ensure_role(self, spec).await
    }
    async fn drop_role(&self, db: &str, role: &str) -> Result<bool, MongoError> {
        MongoProvisioner::drop_role(self, db, role).await
    }
    async fn analytics_progress(
        &self,
        db: &str,
        output: &str,
    ) -> Result<Option<AnalyticsProgress>, MongoError> {
        MongoProvisioner::analytics_progress(self, db, output).await
    }
}

#[async_trait]
impl RabbitTopologies for RabbitProvisioner {
    async fn apply(
        &self,
        topology: &Topology,
        password: &SecretString,
    ) -> Result<ApplyReport, RabbitError> {
        RabbitProvisioner::apply(self, topology, password).await
    }
    async fn remove(
        &self,
        topology: &Topology,
        removal: QueueRemoval,
    ) -> Result<RemoveReport, RabbitError> {
        RabbitProvisioner::remove(self, topology, removal).await
    }
}

/// The real provisioners, cached by a hash of the admin credentials (a rotated admin
/// Secret opens a new connection; the hash reveals nothing about the password).
#[derive(Default)]
pub struct ProvisionerBackends {
    mongo: Mutex<HashMap<String, Arc<MongoProvisioner>>>,
    rabbit: Mutex<HashMap<String, Arc<RabbitProvisioner>>>,
}

impl fmt::Debug for ProvisionerBackends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisionerBackends")
            .finish_non_exhaustive()
    }
}

fn cache_key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

#[async_trait]
impl Backends for ProvisionerBackends {
    async fn mongo(&self, admin_uri: &SecretString) -> Result<Arc<dyn MongoUsers>, MongoError> {
        let key = cache_key(&[admin_uri.expose()]);
        let mut cache = self.mongo.lock().await;
        if let Some(found) = cache.get(&key) {
            return Ok(found.clone());
        }
        let provisioner = Arc::new(MongoProvisioner::connect(admin_uri).await?);
        cache.insert(key, provisioner.clone());
        Ok(provisioner)
    }

    async fn rabbit(&self, admin: &RabbitAdmin) -> Result<Arc<dyn RabbitTopologies>, RabbitError> {
        let key = cache_key(&[
            &admin.management_url,
            &admin.username,
            admin.password.expose(),
        ]);
        let mut cache = self.rabbit.lock().await;
        if let Some(found) = cache.get(&key) {
            return Ok(found.clone());
        }
        let provisioner = Arc::new(RabbitProvisioner::new(
            &admin.management_url,
            admin.username.clone(),
            admin.password.clone(),
        )?);
        cache.insert(key, provisioner.clone());
        Ok(provisioner)
    }
}
