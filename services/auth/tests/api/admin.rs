//! The admin API: clients and roles, and roles becoming permissions in tokens.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{claims, spawn_app};

#[tokio::test]
async fn roles_flow_into_user_tokens() {
    let app = spawn_app("auth_admin", &[]).await;
    let admin = app.admin_token().await;
    let put_role = |name: &str, perms: serde_json::Value| {
        app.client
            .put(app.url(&format!("/v1/admin/roles/{name}")))
            .bearer_auth(&admin)
            .json(&json!({"permissions": perms}))
    };
    app.send(put_role("editor", json!(["content:write", "content:read"])))
        .await
        .expect(StatusCode::OK);
    app.send(put_role("user", json!(["content:read"])))
        .await
        .expect(StatusCode::OK);
    let roles = app
        .send(
            app.client
                .get(app.url("/v1/admin/roles"))
                .bearer_auth(&admin),
        )
        .await
        .expect(StatusCode::OK);
    let names: Vec<&str> = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "editor", "user"]);

    let client = app.first_party_client().await;
    let user = app
        .register("ed@example.com", "correct horse battery")
        .await;
    let token = app
        .password_grant(&client, "ed@example.com", "correct horse battery")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        claims(token["access_token"].as_str().unwrap())["permissions"],
        json!(["content:read"])
    );
    app.send(
        app.client
            .put(app.url(&format!("/v1/admin/users/{user}/roles")))
            .bearer_auth(&admin)
            .json(&json!({"roles": ["user", "editor"]})),
    )
    .await
    .expect(StatusCode::OK);
    // The role table is cached for a few seconds; the change applies to the next token.
    let token = app
        .password_grant(&client, "ed@example.com", "correct horse battery")
        .await
        .expect(StatusCode::OK);
    let c = claims(token["access_token"].as_str().unwrap());
    assert_eq!(c["roles"], json!(["user", "editor"]));
    assert_eq!(c["permissions"], json!(["content:read", "content:write"]));

    // Clients are listed without secrets; a deleted client can no longer get tokens.
    let list = app
        .send(
            app.client
                .get(app.url("/v1/admin/clients"))
                .bearer_auth(&admin),
        )
        .await
        .expect(StatusCode::OK);
    assert!(!list.to_string().contains("argon2"), "{list}");
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("clientSecret").is_none())
    );
    let reply = app
        .send(
            app.client
                .delete(app.url(&format!("/v1/admin/clients/{}", client.0)))
                .bearer_auth(&admin),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    app.password_grant(&client, "ed@example.com", "correct horse battery")
        .await
        .oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    app.send(
        app.client
            .get(app.url("/v1/admin/clients/nope"))
            .bearer_auth(&admin),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn roles_can_come_from_a_file() {
    let path = std::env::temp_dir().join(format!("machina-auth-rbac-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"{"support": ["tickets:read"], "admin": ["users:admin"]}"#,
    )
    .unwrap();
    let app = spawn_app("auth_rbac_file", &[("RBAC_CONFIG", path.to_str().unwrap())]).await;
    let admin = app.admin_token().await;
    let c = claims(&admin);
    // The file's admin permissions add to the built-in one.
    assert_eq!(c["permissions"], json!(["auth:admin", "users:admin"]));
    let roles = app
        .send(
            app.client
                .get(app.url("/v1/admin/roles"))
                .bearer_auth(&admin),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        roles["items"][1],
        json!({"name": "support", "permissions": ["tickets:read"]})
    );
    std::fs::remove_file(&path).ok();
}
