//! Rate limits in Redis, shared by every replica.

use machina_devenv::unique_redis_prefix;

use crate::{
    helpers::{problem, spawn_gateway, spawn_jwks, token},
    upstream::spawn_upstream,
};

#[tokio::test]
async fn rate_limits_hold_across_two_gateways_sharing_redis() {
    let upstream = spawn_upstream().await;
    let jwks = spawn_jwks().await;
    let prefix = unique_redis_prefix("gw-rl");
    let limit = [("RATE_LIMIT_PER_MINUTE", "5")];
    let a = spawn_gateway(&upstream.url, &jwks, &prefix, &limit).await;
    let b = spawn_gateway(&upstream.url, &jwks, &prefix, &limit).await;
    let bearer = token("shared-client", "echo:read");

    let mut remaining = Vec::new();
    for i in 0..5 {
        let gw = if i % 2 == 0 { &a } else { &b };
        let response = gw
            .client
            .get(gw.url("/v1/secure/x"))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "request {i}");
        assert_eq!(response.headers()["ratelimit-limit"], "5");
        assert_eq!(response.headers()["ratelimit-policy"], "5;w=60");
        remaining.push(
            response.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(
        remaining,
        [4, 3, 2, 1, 0],
        "one budget across both gateways"
    );
    for gw in [&a, &b] {
        let refused = gw
            .client
            .get(gw.url("/v1/secure/x"))
            .bearer_auth(&bearer)
            .header("x-test-key", "refused")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 429);
        let retry_after: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (1..=12).contains(&retry_after),
            "one request frees up every 12 s: {retry_after}"
        );
        assert_eq!(refused.headers()["ratelimit-remaining"], "0");
        assert_eq!(problem(refused).await["code"], "rate_limited");
    }
    assert_eq!(upstream.attempts("refused"), 0);

    // Another client has its own budget; anonymous callers are counted by IP.
    let other = a
        .client
        .get(a.url("/v1/secure/x"))
        .bearer_auth(token("other-client", "echo:read"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    let anonymous = b.client.get(b.url("/v1/open/x")).send().await.unwrap();
    assert_eq!(anonymous.status(), 200);
    assert_eq!(anonymous.headers()["ratelimit-remaining"], "4");
}

#[tokio::test]
async fn redis_down_fails_open_or_closed_as_configured() {
    let upstream = spawn_upstream().await;
    let jwks = spawn_jwks().await;
    let dead = [
        ("REDIS_URL", "redis://127.0.0.1:9/"),
        ("RATE_LIMIT_PER_MINUTE", "5"),
    ];
    let open = spawn_gateway(&upstream.url, &jwks, "unused:", &dead).await;
    let response = open
        .client
        .get(open.url("/v1/open/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("ratelimit-limit").is_none());

    let mut closed_settings = dead.to_vec();
    closed_settings.push(("RATE_LIMIT_FAIL_OPEN", "false"));
    let closed = spawn_gateway(&upstream.url, &jwks, "unused:", &closed_settings).await;
    let response = closed
        .client
        .get(closed.url("/v1/open/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    problem(response).await;
}
