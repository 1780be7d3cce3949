//! Webhook subscriptions and their deliveries.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Events a webhook can subscribe to.
pub const EVENTS: [&str; 2] = ["content.published", "content.unpublished"];

/// `POST /v1/content/webhooks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where payloads are POSTed (`http://` or `https://`).
    pub url: String,
    /// Events to send (default: every event).
    #[serde(default)]
    pub events: Vec<String>,
    /// Signing secret (default: a random one, returned once).
    #[serde(default)]
    pub secret: Option<String>,
}

/// A stored subscription (`webhooks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDoc {
    /// Subscription id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Target URL.
    pub url: String,
    /// Subscribed events.
    pub events: Vec<String>,
    /// HMAC-SHA256 key.
    pub secret: String,
    /// Creation time, RFC 3339.
    pub created_at: String,
}

/// A subscription as the API shows it (the secret only on creation).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    /// Subscription id.
    pub id: String,
    /// Target URL.
    pub url: String,
    /// Subscribed events.
    pub events: Vec<String>,
    /// The signing secret; present only in the creation response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Creation time.
    pub created_at: String,
}

impl WebhookView {
    /// The view of `doc`, with the secret when `reveal`.
    pub fn of(doc: WebhookDoc, reveal: bool) -> Self {
        Self {
            id: doc.id,
            url: doc.url,
            events: doc.events,
            secret: reveal.then_some(doc.secret),
            created_at: doc.created_at,
        }
    }
}

/// Subscriptions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookPage {
    /// The subscriptions.
    pub items: Vec<WebhookView>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// When, RFC 3339.
    pub at: String,
    /// The receiver's HTTP status, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it failed without an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Round trip, milliseconds.
    pub duration_ms: i64,
}

/// A delivery of one event to one subscription (`webhook_deliveries`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDoc {
    /// Delivery id (also the `Machina-Delivery` header).
    #[serde(rename = "_id")]
    #[schema(rename = "id")]
    pub id: String,
    /// The subscription.
    pub webhook_id: String,
    /// The event name.
    pub event: String,
    /// The exact body sent (and signed).
    pub body: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Every attempt so far.
    pub attempts: Vec<Attempt>,
    /// Earliest next attempt, milliseconds since the epoch.
    pub next_attempt_at: i64,
    /// A dispatcher owns it until then, milliseconds since the epoch.
    pub lease_until: i64,
    /// Creation time, RFC 3339.
    pub created_at: String,
}

/// The delivery log of a subscription, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryPage {
    /// The deliveries.
    pub items: Vec<DeliveryDoc>,
}
