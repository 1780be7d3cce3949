//! JWT verification and scope/permission checks at the edge.

use serde_json::json;

use crate::helpers::{KEY_1, KEY_2, claims, now, problem, setup, sign, token};

#[tokio::test]
async fn missing_expired_tampered_and_wrongly_signed_tokens_are_refused() {
    let (up, gw) = setup(&[]).await;
    let mut expired = claims("u1", "echo:read");
    expired["exp"] = json!(now() - 3600);
    let mut wrong_audience = claims("u1", "echo:read");
    wrong_audience["aud"] = json!("someone-else");
    let mut wrong_issuer = claims("u1", "echo:read");
    wrong_issuer["iss"] = json!("https://evil.example");
    let valid = token("u1", "echo:read");
    let tampered = {
        // Same signature, payload claiming another subject.
        let parts: Vec<&str> = valid.split('.').collect();
        let forged = sign(&claims("admin", "echo:read echo:write"), KEY_1, "k1");
        let forged_payload = forged.split('.').nth(1).unwrap();
        format!("{}.{}.{}", parts[0], forged_payload, parts[2])
    };
    let cases = [
        (None, "missing bearer token"),
        (Some(sign(&expired, KEY_1, "k1")), "token expired"),
        (Some(tampered), "invalid token signature"),
        (
            Some(sign(&claims("u1", "echo:read"), KEY_2, "k1")),
            "invalid token signature",
        ),
        (
            Some(sign(&claims("u1", "echo:read"), KEY_2, "k2")),
            "token signed with an unknown key",
        ),
        (
            Some(sign(&wrong_audience, KEY_1, "k1")),
            "token audience not accepted",
        ),
        (
            Some(sign(&wrong_issuer, KEY_1, "k1")),
            "token issuer not accepted",
        ),
        (Some("not-a-jwt".to_owned()), "malformed token"),
    ];
    for (bearer, detail) in cases {
        let mut request = gw
            .client
            .get(gw.url("/v1/secure/x"))
            .header("x-test-key", "refused");
        if let Some(bearer) = &bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{detail}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(problem(response).await["detail"], detail);
    }
    assert_eq!(
        up.attempts("refused"),
        0,
        "no refused request reached the upstream"
    );

    let ok = gw
        .client
        .get(gw.url("/v1/secure/x"))
        .bearer_auth(valid)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn scopes_and_permissions_per_route() {
    let (up, gw) = setup(&[]).await;
    let reader = token("u1", "echo:read");
    let writer = token("u2", "echo:read echo:write");
    let nobody = token("u3", "profile");

    let get = gw
        .client
        .get(gw.url("/v1/secure/x"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let post = gw
        .client
        .post(gw.url("/v1/secure/x"))
        .header("x-test-key", "scoped")
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 403);
    assert_eq!(
        problem(post).await["detail"],
        "token lacks the scope echo:write"
    );
    assert_eq!(up.attempts("scoped"), 0);
    let post = gw
        .client
        .post(gw.url("/v1/secure/x"))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    let none = gw
        .client
        .get(gw.url("/v1/secure/x"))
        .bearer_auth(&nobody)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 403);

    // The admin route needs the echo.admin permission; test tokens carry echo.read only.
    let admin = gw
        .client
        .get(gw.url("/v1/admin/x"))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 403);
    assert_eq!(
        problem(admin).await["detail"],
        "token lacks the permission echo.admin"
    );
    let mut granted = crate::helpers::claims("u4", "");
    granted["permissions"] = json!(["echo.admin"]);
    let admin = gw
        .client
        .get(gw.url("/v1/admin/x"))
        .bearer_auth(sign(&granted, KEY_1, "k1"))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
}

#[tokio::test]
async fn public_routes_need_no_token() {
    let (_up, gw) = setup(&[]).await;
    let response = gw
        .client
        .post(gw.url("/v1/open/token"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "public routes do not look at tokens"
    );
}
