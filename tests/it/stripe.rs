//! The Stripe provider against localstripe (a stateful fake Stripe: PaymentIntents,
//! refunds, signed webhooks), which `.ci/run` starts at `LOCALSTRIPE_URL` (default
//! `http://127.0.0.1:8420`). Each test registers its node's webhook endpoint there under a
//! name of its own. localstripe cannot serve Connect (accounts, transfers), ignores
//! `Idempotency-Key` and sends no refund events: those are not tested here.

use serde_json::{json, Value};

use crate::checkout::{counts, held};
use crate::support::{code, eventually, TestApp};

const SECRET_KEY: &str = "sk_test_livedrop";
const WEBHOOK_SECRET: &str = "whsec_livedrop_tests";

fn localstripe() -> String {
    std::env::var("LOCALSTRIPE_URL").unwrap_or_else(|_| "http://127.0.0.1:8420".into())
}

/// A node (SQLite) paying through localstripe, its webhook registered there.
async fn stripe_app() -> TestApp {
    let base = localstripe();
    let app = TestApp::with(&[
        ("RATE_LIMITS", "off"),
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_SECRET_KEY", SECRET_KEY),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", &base),
    ])
    .await;
    let name = uuid::Uuid::new_v4().simple().to_string();
    let r = reqwest::Client::new()
        .post(format!("{base}/_config/webhooks/{name}"))
        .form(&[
            ("url", app.at("/api/payments/webhook")),
            ("secret", WEBHOOK_SECRET.to_string()),
        ])
        .send()
        .await
        .expect("localstripe is not running (start it, or set LOCALSTRIPE_URL)");
    assert!(
        r.status().is_success(),
        "webhook registration: {}",
        r.status()
    );
    app
}

/// Pay `hold` with a Stripe PaymentMethod id.
async fn pay(app: &TestApp, hold: &str, buyer: &str, method: &str) -> (u16, Value) {
    app.post(
        &format!("/api/holds/{hold}/checkout"),
        Some(buyer),
        json!({"payment_method": method}),
    )
    .await
}

/// The PaymentIntent as localstripe has it.
async fn intent(id: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}/v1/payment_intents/{id}", localstripe()))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn order(app: &TestApp, id: &str, token: &str) -> Value {
    let (s, o) = app.get(&format!("/api/orders/{id}"), Some(token)).await;
    assert_eq!(s, 200, "{o}");
    o
}

/// The provider events the store recorded for `order` (webhooks and the charge's answer).
async fn events(app: &TestApp, order: &str) -> Vec<(String, String)> {
    let mut conn = app.state.store.read().await.unwrap();
    livedrop::db_run!(conn, |c| {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use livedrop::db::schema::payment_events as e;
        e::table
            .filter(e::order_id.eq(order.to_string()))
            .select((e::id, e::kind))
            .load(c)
            .await
            .unwrap()
    })
}

#[actix_web::test]
#[ignore = "needs localstripe"]
async fn a_card_payment_is_paid_through_stripe_and_its_signed_webhook_is_applied_once() {
    let app = stripe_app().await;
    let (drop, hold, buyer) = held(&app, 600).await;
    let (s, b) = pay(&app, &hold, &buyer, "pm_card_visa").await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["provider"].as_str()),
        (Some("paid"), Some("stripe"))
    );
    let id = b["order_id"].as_str().unwrap().to_string();
    let o = order(&app, &id, &buyer).await;
    assert_eq!(o["status"], "paid", "{o}");
    assert_eq!(counts(&app, &drop).await, (4, 0, 1));
    // Stripe has the intent, for this order and amount, succeeded.
    let pi = intent_of(&app, &id).await;
    let i = intent(&pi).await;
    assert_eq!(
        (
            i["status"].as_str(),
            i["amount"].as_i64(),
            i["currency"].as_str(),
            i["metadata"]["order_id"].as_str()
        ),
        (
            Some("succeeded"),
            Some(4500),
            Some("usd"),
            Some(id.as_str())
        ),
        "{i}"
    );
    // localstripe then delivers `payment_intent.succeeded`, signed: verified, recorded once,
    // and it changes nothing (the order was paid by the charge's own answer).
    let delivered = eventually(15, || {
        let (app, id) = (&app, &id);
        async move {
            let e = events(app, id).await;
            e.iter().find(|(eid, _)| eid.starts_with("evt_")).cloned()
        }
    })
    .await;
    assert_eq!(delivered.1, "payment.succeeded");
    let all = events(&app, &id).await;
    assert_eq!(
        all.iter().filter(|(e, _)| e.starts_with("evt_")).count(),
        1,
        "{all:?}"
    );
    assert_eq!(order(&app, &id, &buyer).await["status"], "paid");
    assert_eq!(counts(&app, &drop).await, (4, 0, 1));
}

/// The order's payment reference (the intent's id), as the store has it.
async fn intent_of(app: &TestApp, order: &str) -> String {
    let mut conn = app.state.store.read().await.unwrap();
    let r: Option<String> = livedrop::db_run!(conn, |c| {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use livedrop::db::schema::orders as o;
        o::table
            .filter(o::id.eq(order.to_string()))
            .select(o::payment_ref)
            .first(c)
            .await
            .unwrap()
    });
    let r = r.expect("the order has its payment reference");
    assert!(r.starts_with("pi_"), "{r}");
    r
}

#[actix_web::test]
#[ignore = "needs localstripe"]
async fn a_declined_card_takes_nothing_and_the_hold_can_be_paid_again() {
    let app = stripe_app().await;
    let (drop, hold, buyer) = held(&app, 600).await;
    let (s, b) = pay(&app, &hold, &buyer, "pm_card_chargeCustomerFail").await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["provider"].as_str()),
        (Some("declined"), Some("stripe"))
    );
    let declined = b["order_id"].as_str().unwrap().to_string();
    assert_eq!(order(&app, &declined, &buyer).await["status"], "declined");
    // Still held: nothing sold, nothing lost.
    assert_eq!(counts(&app, &drop).await, (4, 1, 0));
    // The decline names its intent, kept on the order before the answer.
    let pi = intent_of(&app, &declined).await;
    assert_eq!(intent(&pi).await["status"], "requires_payment_method");
    // Another card pays the same hold.
    let (s, b) = pay(&app, &hold, &buyer, "pm_card_visa").await;
    assert_eq!((s, b["status"].as_str()), (201, Some("paid")), "{b}");
    assert_eq!(counts(&app, &drop).await, (4, 0, 1));
    // An empty method is refused before anything is charged.
    let (_, other_hold, other) = held(&app, 600).await;
    let (s, b) = pay(&app, &other_hold, &other, " ").await;
    assert_eq!((s, code(&b)), (422, "validation_failed"), "{b}");
}

#[actix_web::test]
#[ignore = "needs localstripe"]
async fn a_refund_returns_the_money_at_stripe() {
    let app = stripe_app().await;
    let (drop, hold, buyer) = held(&app, 600).await;
    let (s, b) = pay(&app, &hold, &buyer, "pm_card_visa").await;
    assert_eq!((s, b["status"].as_str()), (201, Some("paid")), "{b}");
    let id = b["order_id"].as_str().unwrap().to_string();
    let creator = drop_owner_token(&app, &drop).await;
    let (s, o) = app
        .post(
            &format!("/api/orders/{id}/refund"),
            Some(&creator),
            Value::Null,
        )
        .await;
    assert_eq!((s, o["status"].as_str()), (200, Some("refunded")), "{o}");
    let pi = intent_of(&app, &id).await;
    let i = intent(&pi).await;
    assert_eq!(
        i["latest_charge"]["amount_refunded"].as_i64(),
        Some(4500),
        "{i}"
    );
}

/// The creator's token `held` made: signed in again by the drop's storefront owner.
async fn drop_owner_token(app: &TestApp, drop: &str) -> String {
    let id = livedrop::domain::ids::DropId::parse(drop).unwrap();
    let d = livedrop::db::models::drop::find(&app.state.store, id)
        .await
        .unwrap()
        .unwrap()
        .0;
    let sf = livedrop::db::models::storefront::find(&app.state.store, d.storefront_id)
        .await
        .unwrap()
        .unwrap();
    let u = livedrop::db::models::user::find(&app.state.store, sf.owner_id)
        .await
        .unwrap()
        .unwrap();
    app.state
        .jwt
        .issue(
            u.id,
            livedrop::auth::Role::Creator,
            true,
            chrono::Utc::now().timestamp(),
        )
        .unwrap()
}

#[actix_web::test]
#[ignore = "needs localstripe"]
async fn a_forged_or_replayed_stripe_webhook_changes_nothing() {
    let app = stripe_app().await;
    let (drop, hold, buyer) = held(&app, 600).await;
    // A pending order: the buyer's payment started, a forged "succeeded" must not pay it.
    let (s, b) = pay(&app, &hold, &buyer, "pm_card_chargeCustomerFail").await;
    assert_eq!((s, b["status"].as_str()), (201, Some("declined")), "{b}");
    let id = b["order_id"].as_str().unwrap().to_string();
    let body = json!({"id": "evt_forged", "type": "payment_intent.succeeded", "created": 0,
        "data": {"object": {"id": "pi_forged", "object": "payment_intent", "status": "succeeded",
        "metadata": {"order_id": id}}}})
    .to_string();
    let now = chrono::Utc::now().timestamp();
    let forged = livedrop::payments::webhook::sign(b"whsec_not_ours", body.as_bytes(), now);
    let (status, ack) = app.post_webhook(&body, &forged).await;
    assert_eq!(status, 401, "{ack}");
    // Signed right but five minutes and more old: a replay.
    let old =
        livedrop::payments::webhook::sign(WEBHOOK_SECRET.as_bytes(), body.as_bytes(), now - 400);
    let (status, ack) = app.post_webhook(&body, &old).await;
    assert_eq!(status, 401, "{ack}");
    assert_eq!(order(&app, &id, &buyer).await["status"], "declined");
    assert_eq!(counts(&app, &drop).await, (4, 1, 0));
    // An event we do not act on, signed right, is acknowledged without effect.
    let other = json!({"id": "evt_other", "type": "customer.created", "created": now,
        "data": {"object": {"id": "cus_1", "object": "customer"}}})
    .to_string();
    let sig = livedrop::payments::webhook::sign(WEBHOOK_SECRET.as_bytes(), other.as_bytes(), now);
    let (status, ack) = app.post_webhook(&other, &sig).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["applied"], false, "{ack}");
}
