//! Per-IP limits and where the IP comes from: the socket's peer, or, with
//! `TRUST_PROXY_HEADERS=true` (behind our own load balancer), `X-Forwarded-For`.

use serde_json::json;

use crate::support::{code, TestApp};

/// Register a fresh account as if from `forwarded_for`; the status.
async fn register(app: &TestApp, forwarded_for: &str) -> (u16, String) {
    let email = format!("{}@test.livedrop.local", uuid::Uuid::now_v7().simple());
    let res = app
        .client
        .post(app.at("/api/auth/register"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": "a long enough password", "role": "buyer"}))
        .send()
        .await
        .unwrap();
    let (s, b) = crate::support::into(res).await;
    (s, code(&b).to_string())
}

#[actix_web::test]
async fn without_trusted_proxies_a_forwarded_header_does_not_dodge_the_ip_limit() {
    let app = TestApp::with(&[("RATE_LIMIT_REGISTER_IP", "2/3600")]).await;
    assert_eq!(register(&app, "198.51.100.1").await.0, 201);
    assert_eq!(register(&app, "198.51.100.2").await.0, 201);
    // The peer is the same socket address (127.0.0.1) whatever the header says.
    assert_eq!(
        register(&app, "198.51.100.3").await,
        (429, "rate_limited".into())
    );
    app.stop().await;
}

#[actix_web::test]
async fn behind_trusted_proxies_the_limit_is_per_forwarded_client() {
    let app = TestApp::with(&[
        ("RATE_LIMIT_REGISTER_IP", "2/3600"),
        ("TRUST_PROXY_HEADERS", "true"),
    ])
    .await;
    // Three clients behind the proxy: each has its own allowance.
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(register(&app, ip).await.0, 201, "{ip}");
    }
    // One client: the third registration is refused.
    assert_eq!(register(&app, "203.0.113.7").await.0, 201);
    assert_eq!(register(&app, "203.0.113.7").await.0, 201);
    assert_eq!(
        register(&app, "203.0.113.7").await,
        (429, "rate_limited".into())
    );
    app.stop().await;
}

/// Holds are limited per account and per IP: a buyer past their allowance is refused 429
/// (nothing held), and another account from the same address shares the address's.
#[actix_web::test]
async fn holds_are_limited_per_account_and_per_address() {
    use crate::support::{live_drop, storefront_with_product, user_with_token};
    let app = TestApp::with(&[
        ("RATE_LIMIT_HOLD_ACCOUNT", "2/60"),
        ("RATE_LIMIT_HOLD_IP", "3/60"),
    ])
    .await;
    let (creator, token) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let (drop, variant) =
        live_drop(&app, &token, &sf.to_string(), &product.to_string(), 100, 10).await;
    let hold = |t: String| {
        let app = &app;
        let (drop, variant) = (drop.clone(), variant.clone());
        async move {
            let (s, b) = app
                .post(
                    &format!("/api/drops/{drop}/holds"),
                    Some(&t),
                    json!({"variant_id": variant, "quantity": 1}),
                )
                .await;
            (s, code(&b).to_string())
        }
    };
    let (_, a) = user_with_token(&app, "buyer").await;
    let (_, b) = user_with_token(&app, "buyer").await;
    assert_eq!(hold(a.clone()).await.0, 201);
    assert_eq!(hold(a.clone()).await.0, 201);
    assert_eq!(
        hold(a.clone()).await,
        (429, "rate_limited".into()),
        "account"
    );
    assert_eq!(hold(b.clone()).await.0, 201);
    assert_eq!(
        hold(b.clone()).await,
        (429, "rate_limited".into()),
        "address"
    );
    let (_, d) = app.get(&format!("/api/drops/{drop}"), None).await;
    assert_eq!(d["variants"][0]["held"].as_i64(), Some(3), "{d}");
    app.stop().await;
}
