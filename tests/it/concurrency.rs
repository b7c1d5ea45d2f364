//! The same request many times at once: a retried hold with one `Idempotency-Key`, and a
//! payment event the provider delivers more than once. Each takes effect once.

use chrono::Utc;
use livedrop::payments::test_provider::TestProvider;
use livedrop::payments::ProviderEvent;
use serde_json::json;

use crate::checkout::{counts, held, pay};
use crate::support::{live_drop, storefront_with_product, user_with_token, TestApp, TEST_SECRET};

async fn one_key_many_times(app: TestApp) {
    let (creator, token) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let (drop, variant) =
        live_drop(&app, &token, &sf.to_string(), &product.to_string(), 100, 10).await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let send = || {
        app.client
            .post(app.at(&format!("/api/drops/{drop}/holds")))
            .bearer_auth(&buyer)
            .header("idempotency-key", "tap-1")
            .json(&json!({"variant_id": variant, "quantity": 2}))
            .send()
    };
    let answers = futures_util::future::join_all((0..24).map(|_| send())).await;
    let mut ids = std::collections::HashSet::new();
    for r in answers {
        let r = r.unwrap();
        assert_eq!(r.status(), 201);
        let b: serde_json::Value = r.json().await.unwrap();
        ids.insert(b["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "one hold for one key: {ids:?}");
    let (_, d) = app.get(&format!("/api/drops/{drop}"), None).await;
    assert_eq!(
        (
            d["variants"][0]["held"].as_i64(),
            d["variants"][0]["remaining"].as_i64()
        ),
        (Some(2), Some(8)),
        "{d}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn one_idempotency_key_sent_24_times_at_once_holds_once() {
    one_key_many_times(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn one_idempotency_key_sent_24_times_at_once_holds_once_on_postgres() {
    one_key_many_times(TestApp::postgres().await).await;
}

async fn one_event_many_times(app: TestApp) {
    let (drop, hold, buyer) = held(&app, 600).await;
    // Pending: the outcome comes by webhook (the provider also sends its own success a
    // moment later: whichever comes first sells, every other copy changes nothing).
    let (s, b) = pay(&app, &hold, &buyer, "4000000000000077").await;
    assert_eq!((s, b["status"].as_str()), (201, Some("pending")), "{b}");
    let order: livedrop::domain::ids::OrderId = b["order_id"].as_str().unwrap().parse().unwrap();
    let provider = TestProvider::new(livedrop::state::webhook_secret(TEST_SECRET), &app.url);
    let event = ProviderEvent {
        id: "evt_dup_1".into(),
        kind: "payment.succeeded".into(),
        order_id: Some(order),
        payment_ref: "test_pay_dup".into(),
        amount_refunded: None,
    };
    let (body, sig) = provider.signed(&event, Utc::now().timestamp());
    let send = || {
        app.client
            .post(app.at("/api/payments/webhook"))
            .header("content-type", "application/json")
            .header("stripe-signature", sig.clone())
            .body(body.clone())
            .send()
    };
    let answers = futures_util::future::join_all((0..16).map(|_| send())).await;
    for r in answers {
        let s = r.unwrap().status();
        assert!(s.is_success(), "{s}");
    }
    let (_, o) = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
    assert_eq!(o["status"].as_str(), Some("paid"), "{o}");
    // One sale: the unit moved from held to sold once.
    assert_eq!(counts(&app, &drop).await, (4, 0, 1));
    app.stop().await;
}

#[actix_web::test]
async fn one_payment_event_delivered_16_times_at_once_sells_once() {
    one_event_many_times(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn one_payment_event_delivered_16_times_at_once_sells_once_on_postgres() {
    one_event_many_times(TestApp::postgres().await).await;
}
