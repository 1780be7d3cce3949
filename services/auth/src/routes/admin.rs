//! The admin API: clients, roles, user roles and deletion, key rotation. Every handler
//! requires the admin permission (`ADMIN_PERMISSION`) in the caller's token.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use machina_kit::{ApiJson, auth::Claims};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{AppState, require_permission, users::UserView};
use crate::{
    Result,
    model::{ClientDoc, RoleDoc},
    service::clients::NewClient,
};

/// A client as the API shows it (never the secret hash).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    /// `client_id`.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Has a secret.
    pub confidential: bool,
    /// May use the password grant.
    pub first_party: bool,
    /// Allowed grants.
    pub grant_types: Vec<String>,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Allowed scopes.
    pub scopes: Vec<String>,
    /// Roles.
    pub roles: Vec<String>,
    /// The secret, only in the creation response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl ClientView {
    fn new(c: ClientDoc, secret: Option<String>) -> Self {
        Self {
            client_id: c.id,
            name: c.name,
            confidential: c.secret_hash.is_some(),
            first_party: c.first_party,
            grant_types: c.grant_types,
            redirect_uris: c.redirect_uris,
            scopes: c.scopes,
            roles: c.roles,
            client_secret: secret,
        }
    }
}

/// `PUT /v1/admin/roles/{name}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// Permissions of the role.
    pub permissions: Vec<String>,
}

/// `PUT /v1/admin/users/{id}/roles` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    /// The user's roles.
    pub roles: Vec<String>,
}

fn admin(state: &AppState, claims: &Claims) -> Result<()> {
    require_permission(claims, &state.admin_permission)
}

/// POST `/v1/admin/clients`: 201 with the secret (shown once).
pub async fn create_client(
    State(state): State<AppState>,
    claims: Claims,
    ApiJson(body): ApiJson<NewClient>,
) -> Result<Response> {
    admin(&state, &claims)?;
    let (client, secret) = state.auth.create_client(body).await?;
    Ok((StatusCode::CREATED, Json(ClientView::new(client, secret))).into_response())
}

/// GET `/v1/admin/clients`.
pub async fn list_clients(
    State(state): State<AppState>,
    claims: Claims,
) -> Result<Json<serde_json::Value>> {
    admin(&state, &claims)?;
    let items: Vec<ClientView> = state
        .auth
        .list_clients()
        .await?
        .into_iter()
        .map(|c| ClientView::new(c, None))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// GET `/v1/admin/clients/{id}`.
pub async fn get_client(
    State(state): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
) -> Result<Json<ClientView>> {
    admin(&state, &claims)?;
    Ok(Json(ClientView::new(
        state.auth.get_client(&id).await?,
        None,
    )))
}

/// DELETE `/v1/admin/clients/{id}`: 204; its refresh tokens are revoked.
pub async fn delete_client(
    State(state): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    admin(&state, &claims)?;
    state.auth.delete_client(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET `/v1/admin/roles`.
pub async fn list_roles(
    State(state): State<AppState>,
    claims: Claims,
) -> Result<Json<serde_json::Value>> {
    admin(&state, &claims)?;
    let items: Vec<RoleDoc> = state.auth.list_roles().await?;
    let items: Vec<_> = items
        .into_iter()
        .map(|r| json!({"name": r.name, "permissions": r.permissions}))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// PUT `/v1/admin/roles/{name}`.
pub async fn put_role(
    State(state): State<AppState>,
    claims: Claims,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<serde_json::Value>> {
    admin(&state, &claims)?;
    let role = state.auth.put_role(&name, body.permissions).await?;
    Ok(Json(
        json!({"name": role.name, "permissions": role.permissions}),
    ))
}

/// DELETE `/v1/admin/roles/{name}`.
pub async fn delete_role(
    State(state): State<AppState>,
    claims: Claims,
    Path(name): Path<String>,
) -> Result<StatusCode> {
    admin(&state, &claims)?;
    state.auth.delete_role(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// PUT `/v1/admin/users/{id}/roles`.
pub async fn set_user_roles(
    State(state): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RolesBody>,
) -> Result<Json<UserView>> {
    admin(&state, &claims)?;
    Ok(Json(
        state.auth.set_user_roles(&id, body.roles).await?.into(),
    ))
}

/// DELETE `/v1/admin/users/{id}`: 204, also when there was no such user.
pub async fn delete_user(
    State(state): State<AppState>,
    claims: Claims,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    admin(&state, &claims)?;
    state.auth.delete_user(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST `/v1/admin/keys/rotate`: a new signing key now; the old one stays published.
pub async fn rotate_keys(
    State(state): State<AppState>,
    claims: Claims,
) -> Result<Json<serde_json::Value>> {
    admin(&state, &claims)?;
    let kid = state
        .auth
        .keys
        .rotate_now()
        .await
        .map_err(crate::Error::internal)?;
    Ok(Json(json!({ "kid": kid })))
}
