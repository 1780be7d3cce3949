//! The management API client: one method per object and action, each idempotent.

use super::topology::{BindingSpec, ExchangeSpec, Permissions, QueueSpec};
use super::{ApiError, RabbitError, Result};
use crate::provision::percent_encode as enc;
use crate::secrets::SecretString;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest error reason kept from a response body.
const MAX_REASON: usize = 300;

/// What [`RabbitProvisioner::delete_queue`] may delete.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueRemoval {
    /// Delete only a queue the management API reports as empty; a queue with messages, or
    /// whose message count is not known yet, is kept (and reported).
    #[default]
    KeepIfNotEmpty,
    /// Delete the queue with its messages.
    Delete,
}

/// What [`RabbitProvisioner::delete_queue`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueDeletion {
    /// The queue was deleted.
    Deleted,
    /// There was no such queue.
    Missing,
    /// The queue was kept: it holds `messages` messages (`None`: count not reported yet).
    Kept {
        /// Messages in the queue, as last reported by the broker's statistics.
        messages: Option<u64>,
    },
}

/// A binding of a queue, as listed by the management API.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BindingInfo {
    /// Source exchange.
    #[serde(rename = "source")]
    pub exchange: String,
    /// Routing key.
    pub routing_key: String,
    /// Arguments (the provisioner never sets any).
    #[serde(default)]
    pub arguments: serde_json::Map<String, Value>,
    /// Identifies the binding in the API's DELETE path.
    pub properties_key: String,
}

impl BindingInfo {
    fn is(&self, spec: &BindingSpec) -> bool {
        self.exchange == spec.exchange
            && self.routing_key == spec.routing_key
            && self.arguments.is_empty()
    }
}

/// A client of the RabbitMQ management HTTP API, authenticated as an administrator.
#[derive(Clone, Debug)]
pub struct RabbitProvisioner {
    http: reqwest::Client,
    base_url: String,
    admin_user: String,
    admin_password: SecretString,
}

impl RabbitProvisioner {
    /// A client of the API at `management_url` (e.g. `http://rabbitmq:15672`), as
    /// `admin_user`, who needs the `administrator` tag.
    pub fn new(
        management_url: &str,
        admin_user: impl Into<String>,
        admin_password: SecretString,
    ) -> Result<Self> {
        let base_url = management_url.trim().trim_end_matches('/');
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(RabbitError::InvalidManagementUrl {
                reason: "expected http:// or https://",
            });
        }
        if base_url.contains('@') {
            return Err(RabbitError::InvalidManagementUrl {
                reason: "credentials go in the admin user and password, not in the URL",
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(RabbitError::BuildClient)?;
        Ok(Self {
            http,
            base_url: base_url.to_owned(),
            admin_user: admin_user.into(),
            admin_password,
        })
    }

    // === vhosts ===

    /// Creates `vhost` if missing, and grants the admin user full permissions on it (the
    /// API declares queues with the permissions of the user calling it).
    pub async fn ensure_vhost(&self, vhost: &str) -> Result<()> {
        let err = |source| RabbitError::EnsureVhost {
            vhost: vhost.into(),
            source,
        };
        self.put(&format!("vhosts/{}", enc(vhost)), &json!({}), None)
            .await
            .map_err(err)?;
        let all = Permissions::all();
        self.put(
            &format!("permissions/{}/{}", enc(vhost), enc(&self.admin_user)),
            &all.to_json(),
            None,
        )
        .await
        .map_err(err)
    }

    /// Deletes `vhost` with everything in it. Returns whether it existed.
    pub async fn delete_vhost(&self, vhost: &str) -> Result<bool> {
        self.delete(&format!("vhosts/{}", enc(vhost)))
            .await
            .map_err(|source| RabbitError::DeleteVhost {
                vhost: vhost.into(),
                source,
            })
    }

    // === users and permissions ===

    /// Creates `user` or sets its password (no tags: no management UI access). When it
    /// returns, the new password authenticates and the old one no longer does.
    pub async fn ensure_user(&self, user: &str, password: &SecretString) -> Result<()> {
        let body = json!({ "password": password.expose(), "tags": "" });
        self.put(&format!("users/{}", enc(user)), &body, Some(password))
            .await
            .map_err(|source| RabbitError::EnsureUser {
                user: user.into(),
                source,
            })
    }

    /// Deletes `user` and its permissions. Returns whether it existed.
    pub async fn delete_user(&self, user: &str) -> Result<bool> {
        self.delete(&format!("users/{}", enc(user)))
            .await
            .map_err(|source| RabbitError::DeleteUser {
                user: user.into(),
                source,
            })
    }

    /// Sets the configure/write/read regexes of `user` on `vhost`.
    pub async fn ensure_permissions(
        &self,
        vhost: &str,
        user: &str,
        permissions: &Permissions,
    ) -> Result<()> {
        self.put(
            &format!("permissions/{}/{}", enc(vhost), enc(user)),
            &permissions.to_json(),
            None,
        )
        .await
        .map_err(|source| RabbitError::EnsurePermissions {
            vhost: vhost.into(),
            user: user.into(),
            source,
        })
    }

    // === exchanges ===

    /// Declares an exchange; an existing one with other properties is an error, untouched.
    pub async fn ensure_exchange(&self, vhost: &str, exchange: &ExchangeSpec) -> Result<()> {
        let path = format!("exchanges/{}/{}", enc(vhost), enc(&exchange.name));
        match self.put(&path, &exchange.to_json(), None).await {
            Ok(()) => Ok(()),
            Err(ApiError::Status {
                status: 400,
                reason,
            }) if is_inequivalent(&reason) => Err(RabbitError::ExchangeDiffers {
                vhost: vhost.into(),
                exchange: exchange.name.clone(),
                reason,
            }),
            Err(source) => Err(RabbitError::EnsureExchange {
                vhost: vhost.into(),
                exchange: exchange.name.clone(),
                source,
            }),
        }
    }

    /// Deletes an exchange (and its bindings). Returns whether it existed.
    pub async fn delete_exchange(&self, vhost: &str, exchange: &str) -> Result<bool> {
        self.delete(&format!("exchanges/{}/{}", enc(vhost), enc(exchange)))
            .await
            .map_err(|source| RabbitError::DeleteExchange {
                vhost: vhost.into(),
                exchange: exchange.into(),
                source,
            })
    }

    // === queues ===

    /// Declares a durable quorum queue with the spec's arguments. An existing queue with
    /// other arguments is reported as [`RabbitError::QueueArgumentsDiffer`] and kept as is.
    pub async fn ensure_queue(&self, vhost: &str, queue: &QueueSpec) -> Result<()> {
        let path = format!("queues/{}/{}", enc(vhost), enc(&queue.name));
        match self.put(&path, &queue.to_json(), None).await {
            Ok(()) => Ok(()),
            Err(ApiError::Status {
                status: 400,
                reason,
            }) if is_inequivalent(&reason) => Err(RabbitError::QueueArgumentsDiffer {
                vhost: vhost.into(),
                queue: queue.name.clone(),
                reason,
            }),
            Err(source) => Err(RabbitError::EnsureQueue {
                vhost: vhost.into(),
                queue: queue.name.clone(),
                source,
            }),
        }
    }

    /// The number of messages in `queue` as last reported by the broker's statistics
    /// (`Ok(None)` when the queue does not exist, `Some(None)` when no count is reported yet).
    pub async fn queue_messages(&self, vhost: &str, queue: &str) -> Result<Option<Option<u64>>> {
        let err = |source| RabbitError::InspectQueue {
            vhost: vhost.into(),
            queue: queue.into(),
            source,
        };
        let Some(body) = self
            .send(
                Method::GET,
                &format!("queues/{}/{}", enc(vhost), enc(queue)),
                None,
                None,
            )
            .await
            .map_err(err)?
        else {
            return Ok(None);
        };
        let state: Value = serde_json::from_str(&body)
            .map_err(ApiError::Decode)
            .map_err(err)?;
        Ok(Some(state.get("messages").and_then(Value::as_u64)))
    }

    /// Deletes `queue` as `removal` allows. Idempotent: a missing queue is [`QueueDeletion::Missing`].
    ///
    /// Quorum queues do not support `if-empty`, so [`QueueRemoval::KeepIfNotEmpty`] reads the
    /// message count first; a message published between that read and the delete is lost
    /// with the queue, which is why reconcilers remove the queue's bindings (and its users'
    /// permissions) before deleting it.
    pub async fn delete_queue(
        &self,
        vhost: &str,
        queue: &str,
        removal: QueueRemoval,
    ) -> Result<QueueDeletion> {
        if removal == QueueRemoval::KeepIfNotEmpty {
            match self.queue_messages(vhost, queue).await? {
                None => return Ok(QueueDeletion::Missing),
                Some(Some(0)) => {}
                Some(messages) => return Ok(QueueDeletion::Kept { messages }),
            }
        }
        let existed = self
            .delete(&format!("queues/{}/{}", enc(vhost), enc(queue)))
            .await
            .map_err(|source| RabbitError::DeleteQueue {
                vhost: vhost.into(),
                queue: queue.into(),
                source,
            })?;
        Ok(if existed {
            QueueDeletion::Deleted
        } else {
            QueueDeletion::Missing
        })
    }

    // === bindings ===

    /// Binds `binding.queue` to `binding.exchange` with its routing key (a no-op if bound).
    pub async fn ensure_binding(&self, vhost: &str, binding: &BindingSpec) -> Result<()> {
        let path = format!(
            "bindings/{}/e/{}/q/{}",
            enc(vhost),
            enc(&binding.exchange),
            enc(&binding.queue)
        );
        let body = json!({ "routing_key": binding.routing_key, "arguments": {} });
        self.send(Method::POST, &path, Some(&body), None)
            .await
            .and_then(|found| found.map(drop).ok_or_else(not_found))
            .map_err(|source| RabbitError::EnsureBinding {
                vhost: vhost.into(),
                binding: Box::new(binding.clone()),
                source,
            })
    }

    /// The bindings of `queue` to named exchanges (the implicit default-exchange binding
    /// is left out). A missing queue has none.
    pub async fn list_bindings(&self, vhost: &str, queue: &str) -> Result<Vec<BindingInfo>> {
        let err = |source| RabbitError::ListBindings {
            vhost: vhost.into(),
            queue: queue.into(),
            source,
        };
        let path = format!("queues/{}/{}/bindings", enc(vhost), enc(queue));
        let Some(body) = self
            .send(Method::GET, &path, None, None)
            .await
            .map_err(err)?
        else {
            return Ok(Vec::new());
        };
        let all: Vec<BindingInfo> = serde_json::from_str(&body)
            .map_err(ApiError::Decode)
            .map_err(err)?;
        Ok(all.into_iter().filter(|b| !b.exchange.is_empty()).collect())
    }

    /// Removes every binding of `queue` that is not in `keep` (bindings of other queues in
    /// `keep` are ignored), so the queue's bindings converge to the spec. Returns the
    /// removed ones.
    pub async fn remove_bindings_except(
        &self,
        vhost: &str,
        queue: &str,
        keep: &[BindingSpec],
    ) -> Result<Vec<BindingInfo>> {
        let keep: Vec<&BindingSpec> = keep.iter().filter(|b| b.queue == queue).collect();
        let mut removed = Vec::new();
        for binding in self.list_bindings(vhost, queue).await? {
            if keep.iter().any(|k| binding.is(k)) {
                continue;
            }
            let path = format!(
                "bindings/{}/e/{}/q/{}/{}",
                enc(vhost),
                enc(&binding.exchange),
                enc(queue),
                enc(&binding.properties_key)
            );
            self.delete(&path)
                .await
                .map_err(|source| RabbitError::DeleteBinding {
                    vhost: vhost.into(),
                    binding: Box::new(BindingSpec {
                        exchange: binding.exchange.clone(),
                        queue: queue.into(),
                        routing_key: binding.routing_key.clone(),
                    }),
                    source,
                })?;
            tracing::info!(vhost, queue, exchange = %binding.exchange, routing_key = %binding.routing_key, "removed stale binding");
            removed.push(binding);
        }
        Ok(removed)
    }

    // === HTTP ===

    async fn put(
        &self,
        path: &str,
        body: &Value,
        secret: Option<&SecretString>,
    ) -> Result<(), ApiError> {
        self.send(Method::PUT, path, Some(body), secret)
            .await?
            .map(drop)
            .ok_or_else(not_found)
    }

    /// DELETE; `Ok(false)` when the object did not exist.
    async fn delete(&self, path: &str) -> Result<bool, ApiError> {
        Ok(self.send(Method::DELETE, path, None, None).await?.is_some())
    }

    /// Sends a request; `Ok(None)` on 404, the body on success. `secret` is scrubbed from
    /// error reasons, in case the API ever echoes the request.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        secret: Option<&SecretString>,
    ) -> Result<Option<String>, ApiError> {
        let url = format!("{}/api/{path}", self.base_url);
        let mut request = self
            .http
            .request(method, url)
            .basic_auth(&self.admin_user, Some(self.admin_password.expose()));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(ApiError::Transport)?;
        let status = response.status();
        let text = response.text().await.map_err(ApiError::Transport)?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if status.is_success() {
            return Ok(Some(text));
        }
        let mut reason = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(text);
        for secret in [Some(&self.admin_password), secret].into_iter().flatten() {
            if !secret.expose().is_empty() {
                reason = reason.replace(secret.expose(), "<redacted>");
            }
        }
        if reason.len() > MAX_REASON {
            let mut cut = MAX_REASON;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        Err(ApiError::Status {
            status: status.as_u16(),
            reason,
        })
    }
}

fn not_found() -> ApiError {
    ApiError::Status {
        status: 404,
        reason: "not found (does the vhost exist?)".into(),
    }
}

/// Whether a 400's reason is RabbitMQ's PRECONDITION_FAILED for a redeclaration with other
/// properties ("inequivalent arg 'x-delivery-limit' for queue ...").
fn is_inequivalent(reason: &str) -> bool {
    reason.contains("inequivalent arg") || reason.contains("PRECONDITION_FAILED")
}
