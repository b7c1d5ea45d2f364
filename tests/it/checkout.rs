//! Checkout with the test provider: paid, declined then retried, paid later by webhook,
//! paid too late and refunded, and the webhook's signature and replay checks.

use chrono::{Duration, Utc};
use livedrop::payments::test_provider::TestProvider;
use livedrop::payments::ProviderEvent;
use serde_json::{json, Value};

use crate::support::{
    code, eventually, outbox_mails, storefront_with_product, user_with_token, TestApp, TEST_SECRET,
};

/// A live drop (price 4500 USD cents, `stock` units) and a buyer holding one unit.
pub(crate) async fn held(app: &TestApp, hold_seconds: i64) -> (String, String, String) {
    let (creator, token) = user_with_token(app, "creator").await;
    let (sf, product) = storefront_with_product(app, creator).await;
    let (s, b) = app
        .post(
            "/api/drops",
            Some(&token),
            json!({"storefront_id": sf, "product_id": product, "title": "Checkout", "price_cents": 4500,
                   "currency": "USD", "variants": [{"name": "One", "stock": 5}], "opens_at": Utc::now(),
                   "waiting_room_seconds": 0, "hold_seconds": hold_seconds}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let drop = b["id"].as_str().unwrap().to_string();
    let variant = b["variants"][0]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/drops/{drop}/publish"),
        Some(&token),
        Value::Null,
    )
    .await;
    let (_, buyer) = user_with_token(app, "buyer").await;
    let (s, h) = app
        .post(
            &format!("/api/drops/{drop}/holds"),
            Some(&buyer),
            json!({"variant_id": variant, "quantity": 1}),
        )
        .await;
    assert_eq!(s, 201, "{h}");
    (drop, h["id"].as_str().unwrap().to_string(), buyer)
}

pub(crate) async fn counts(app: &TestApp, drop: &str) -> (i64, i64, i64) {
    let (_, b) = app.get(&format!("/api/drops/{drop}"), None).await;
    let v = &b["variants"][0];
    (
        v["remaining"].as_i64().unwrap(),
        v["held"].as_i64().unwrap(),
        v["sold"].as_i64().unwrap(),
    )
}

pub(crate) async fn pay(app: &TestApp, hold: &str, buyer: &str, card: &str) -> (u16, Value) {
    app.post(
        &format!("/api/holds/{hold}/checkout"),
        Some(buyer),
        json!({"card": card}),
    )
    .await
}

#[actix_web::test]
async fn a_paid_checkout_turns_the_hold_into_a_sale_and_mails_a_confirmation() {
    let app = TestApp::sqlite().await;
    let (drop, hold, buyer) = held(&app, 600).await;
    let (s, b) = pay(&app, &hold, &buyer, "4242 4242 4242 4242").await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["provider"].as_str()),
        (Some("paid"), Some("test"))
    );
    let order = b["order_id"].as_str().unwrap();
    let (s, o) = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
    assert_eq!(
        (s, o["status"].as_str(), o["amount_cents"].as_i64()),
        (200, Some("paid"), Some(4500))
    );
    let (_, stranger) = user_with_token(&app, "buyer").await;
    let (s, _) = app
        .get(&format!("/api/orders/{order}"), Some(&stranger))
        .await;
    assert_eq!(s, 404);
    eventually(5, || {
        let app = &app;
        let drop = drop.clone();
        async move { (counts(app, &drop).await == (4, 0, 1)).then_some(()) }
    })
    .await;
    // A paid hold cannot be paid again or released back to stock.
    let (s, b) = pay(&app, &hold, &buyer, "4242424242424242").await;
    assert_eq!((s, code(&b)), (409, "hold_expired"));
    let (s, _) = app
        .delete(&format!("/api/holds/{hold}"), Some(&buyer))
        .await;
    assert_eq!(s, 204);
    assert_eq!(counts(&app, &drop).await, (4, 0, 1));
    // Once paid: the buyer's confirmation and the creator's new-sale notice, one each.
    let mails = outbox_mails(&app).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(
        mails.iter().filter(|m| m.contains("is confirmed")).count(),
        1
    );
    assert_eq!(mails.iter().filter(|m| m.contains("New sale")).count(), 1);
}

#[actix_web::test]
async fn a_declined_card_keeps_the_hold_and_another_card_can_pay() {
    let app = TestApp::sqlite().await;
    let (drop, hold, buyer) = held(&app, 600).await;
    let (s, b) = pay(&app, &hold, &buyer, "4000000000000002").await;
    assert_eq!((s, b["status"].as_str()), (201, Some("declined")), "{b}");
    assert_eq!(counts(&app, &drop).await, (4, 1, 0), "still held");
    let (s, b) = pay(&app, &hold, &buyer, "1234").await;
    assert_eq!((s, code(&b)), (422, "validation_failed"));
    let (s, b) = pay(&app, &hold, &buyer, "4242424242424242").await;
    assert_eq!((s, b["status"].as_str()), (201, Some("paid")), "{b}");
    // Only the hold's buyer may pay for it.
    let (drop2, hold2, _) = held(&app, 600).await;
    let (s, _) = pay(&app, &hold2, &buyer, "4242424242424242").await;
    assert_eq!(s, 404);
    assert_eq!(counts(&app, &drop2).await, (4, 1, 0));
}

#[actix_web::test]
async fn a_delayed_payment_is_settled_by_the_signed_webhook() {
    let app = TestApp::sqlite().await;
    let (drop, hold, buyer) = held(&app, 600).await;
    let (s, b) = pay(&app, &hold, &buyer, "4000000000000077").await;
    assert_eq!((s, b["status"].as_str()), (201, Some("pending")), "{b}");
    let order = b["order_id"].as_str().unwrap().to_string();
    let (s, b) = pay(&app, &hold, &buyer, "4242424242424242").await;
    assert_eq!((s, code(&b)), (409, "checkout_in_progress"));
    eventually(10, || {
        let (app, order, buyer) = (&app, order.clone(), buyer.clone());
        async move {
            let (_, o) = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
            (o["status"] == "paid").then_some(())
        }
    })
    .await;
    // The order commits first; the drop's live counts follow.
    eventually(5, || {
        let (app, drop) = (&app, drop.clone());
        async move { (counts(app, &drop).await == (4, 0, 1)).then_some(()) }
    })
    .await;
}

#[actix_web::test]
async fn a_payment_that_succeeds_after_its_hold_lapsed_is_refunded_not_oversold() {
    let app = TestApp::sqlite().await;
    let (drop, hold, buyer) = held(&app, 30).await;
    let (s, b) = pay(&app, &hold, &buyer, "4000000000000077").await;
    assert_eq!((s, b["status"].as_str()), (201, Some("pending")));
    let order = b["order_id"].as_str().unwrap().to_string();
    // Past the hold and its bounded payment extension: the unit goes back on sale.
    app.state.clock.advance(Duration::seconds(30 + 120 + 1));
    eventually(5, || {
        let (app, drop) = (&app, drop.clone());
        async move { (counts(app, &drop).await == (5, 0, 0)).then_some(()) }
    })
    .await;
    // Then the provider's success arrives: refunded, and nothing sold.
    eventually(10, || {
        let (app, order, buyer) = (&app, order.clone(), buyer.clone());
        async move {
            let (_, o) = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
            (o["status"] == "refunded").then_some(())
        }
    })
    .await;
    assert_eq!(counts(&app, &drop).await, (5, 0, 0));
}

#[actix_web::test]
async fn the_webhook_checks_signatures_and_applies_each_event_once() {
    let app = TestApp::sqlite().await;
    // A body over the limit gets the JSON error shape, like every error.
    let r = app
        .client
        .post(app.at("/api/payments/webhook"))
        .header("stripe-signature", "t=1,v1=00")
        .body(vec![b'x'; 300 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let b: Value = r.json().await.unwrap();
    assert_eq!(code(&b), "payload_too_large");
    let (drop, hold, buyer) = held(&app, 600).await;
    let (_, b) = pay(&app, &hold, &buyer, "4000000000000119").await;
    let order: livedrop::domain::ids::OrderId = b["order_id"].as_str().unwrap().parse().unwrap();
    let provider = TestProvider::new(livedrop::state::webhook_secret(TEST_SECRET), &app.url);
    let event = ProviderEvent {
        id: "evt_manual_1".into(),
        kind: "payment.succeeded".into(),
        order_id: Some(order),
        payment_ref: "test_pay_manual".into(),
        amount_refunded: None,
    };
    let post = |body: String, sig: String| {
        app.client
            .post(app.at("/api/payments/webhook"))
            .header("content-type", "application/json")
            .header("stripe-signature", sig)
            .body(body)
            .send()
    };
    let now = Utc::now().timestamp();
    let (body, sig) = provider.signed(&event, now);
    // Tampered payload, stale timestamp, no signature: refused, nothing applied.
    let tampered = body.replace("payment.succeeded", "payment.failed");
    assert_eq!(post(tampered, sig.clone()).await.unwrap().status(), 401);
    let (_, old) = provider.signed(&event, now - 3600);
    assert_eq!(post(body.clone(), old).await.unwrap().status(), 401);
    let res = app
        .client
        .post(app.at("/api/payments/webhook"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(counts(&app, &drop).await, (4, 1, 0));

    let first: Value = post(body.clone(), sig.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first, json!({"received": true, "applied": true}));
    let again: Value = post(body, sig).await.unwrap().json().await.unwrap();
    assert_eq!(
        again,
        json!({"received": true, "applied": false}),
        "a replay changes nothing"
    );
    eventually(5, || {
        let (app, drop) = (&app, drop.clone());
        async move { (counts(app, &drop).await == (4, 0, 1)).then_some(()) }
    })
    .await;
    // The provider's own (failed) event for this order arrives later (the card fails after
    // `DELAY`): wait until the store has recorded it, then nothing it could change has.
    eventually(15, || async {
        let mut conn = app.state.store.read().await.unwrap();
        let kinds: Vec<String> = livedrop::db_run!(conn, |c| {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use livedrop::db::schema::payment_events as e;
            e::table
                .filter(e::order_id.eq(order.to_string()))
                .filter(e::id.ne("evt_manual_1"))
                .select(e::kind)
                .load(c)
                .await
                .unwrap()
        });
        (kinds == ["payment.failed"]).then_some(())
    })
    .await;
    let (_, o) = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
    assert_eq!(
        o["status"], "paid",
        "a late failure does not undo a sale: {o}"
    );
    assert_eq!(counts(&app, &drop).await, (4, 0, 1));
}

/// Concurrent checkouts of one hold open one order, charge once: the store allows one open
/// order per hold, so every other attempt is refused before any charge.
async fn one_hold_is_charged_once(app: &TestApp) {
    let (drop, hold, buyer) = held(app, 600).await;
    // A delayed card keeps the first order pending while the others try.
    let answers = futures_util::future::join_all(
        (0..24).map(|_| pay(app, &hold, &buyer, "4000000000000077")),
    )
    .await;
    let opened: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(opened.len(), 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, b)| *s == 201 || (*s == 409 && code(b) == "checkout_in_progress")),
        "{answers:?}"
    );
    let order = opened[0]["order_id"].as_str().unwrap().to_string();
    eventually(10, || {
        let (app, order, buyer) = (app, order.clone(), buyer.clone());
        async move {
            let (_, o) = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
            (o["status"] == "paid").then_some(())
        }
    })
    .await;
    eventually(5, || {
        let (app, drop) = (app, drop.clone());
        async move { (counts(app, &drop).await == (4, 0, 1)).then_some(()) }
    })
    .await;
    let mut conn = app.state.store.read().await.unwrap();
    let hold_id: livedrop::domain::ids::HoldId = hold.parse().unwrap();
    let orders: i64 = livedrop::db_run!(conn, |c| {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        livedrop::db::schema::orders::table
            .filter(livedrop::db::schema::orders::hold_id.eq(hold_id))
            .count()
            .get_result(c)
            .await
            .unwrap()
    });
    assert_eq!(
        orders, 1,
        "one order for the hold, whatever the concurrency"
    );
}

#[actix_web::test]
async fn concurrent_checkouts_of_one_hold_charge_it_once_on_sqlite() {
    one_hold_is_charged_once(&TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn concurrent_checkouts_of_one_hold_charge_it_once_on_postgres() {
    one_hold_is_charged_once(&TestApp::postgres().await).await;
}
