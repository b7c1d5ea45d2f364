//! Orders whose outcome never arrived: the node is killed between the charge and its
//! webhook (the test provider's delayed delivery dies with it). After the restart the
//! janitor asks the provider and settles each order like the webhook would have: the paid
//! one becomes a sale, the failed one is declined and its hold can be paid again.

use std::time::{Duration, Instant};

use livedrop::auth::{JwtKeys, Role};
use livedrop::db::Store;
use serde_json::{json, Value};

use crate::recovery::{published_drop, start};
use crate::support::{code, TEST_SECRET};

async fn order_status(http: &reqwest::Client, base: &str, order: &str, token: &str) -> Value {
    http.get(format!("{base}/api/orders/{order}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[actix_web::test]
async fn orders_pending_when_their_node_died_are_settled_with_the_provider_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = start(dir.path(), None);
    let store = Store::connect(
        &format!("sqlite://{}", dir.path().join("livedrop.db").display()),
        2,
    )
    .await
    .unwrap();
    let keys = JwtKeys::new(TEST_SECRET.as_bytes());
    let token = |id, role| {
        keys.issue(id, role, true, chrono::Utc::now().timestamp())
            .unwrap()
    };
    let http = reqwest::Client::new();

    let (drop, variant) = published_drop(
        &http,
        &node.url,
        &store,
        &keys,
        5,
        json!({"title": "Reconcile", "price_cents": 500}),
    )
    .await;

    // Two buyers hold a unit each and pay with the delayed cards: one will be paid, one
    // will fail. Both orders are pending when the node dies, before either webhook.
    let mut orders = Vec::new();
    for card in ["4000000000000077", "4000000000000119"] {
        let buyer = livedrop::demo::account(&store, Role::Buyer).await.unwrap();
        let t = token(buyer.id, Role::Buyer);
        let h: Value = http
            .post(format!("{}/api/drops/{drop}/holds", node.url))
            .bearer_auth(&t)
            .json(&json!({"variant_id": variant, "quantity": 1}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hold = h["id"].as_str().unwrap().to_string();
        let r = http
            .post(format!("{}/api/holds/{hold}/checkout", node.url))
            .bearer_auth(&t)
            .json(&json!({"card": card}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["status"], "pending", "{b}");
        orders.push((b["order_id"].as_str().unwrap().to_string(), hold, t));
    }
    node.child.kill().unwrap(); // SIGKILL, within the provider's delay
    node.child.wait().unwrap();

    let node = start(dir.path(), None);
    // Until the provider is asked, the hold's payment is still in progress.
    let (_, hold, t) = &orders[0];
    let r = http
        .post(format!("{}/api/holds/{hold}/checkout", node.url))
        .bearer_auth(t)
        .json(&json!({"card": "4242424242424242"}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let b: Value = r.json().await.unwrap();
    assert_eq!((status, code(&b)), (409, "checkout_in_progress"));

    let deadline = Instant::now() + Duration::from_secs(40);
    let settled = loop {
        let paid = order_status(&http, &node.url, &orders[0].0, &orders[0].2).await;
        let failed = order_status(&http, &node.url, &orders[1].0, &orders[1].2).await;
        if paid["status"] != "pending" && failed["status"] != "pending" {
            break (paid, failed);
        }
        assert!(
            Instant::now() < deadline,
            "still pending after a restart: {paid} {failed}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(settled.0["status"], "paid", "{}", settled.0);
    assert_eq!(settled.1["status"], "declined", "{}", settled.1);

    // The failed one's hold is still the buyer's, and another card pays it.
    let (_, hold, t) = &orders[1];
    let r = http
        .post(format!("{}/api/holds/{hold}/checkout", node.url))
        .bearer_auth(t)
        .json(&json!({"card": "4242424242424242"}))
        .send()
        .await
        .unwrap();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["status"], "paid", "{b}");
    // The sales commit first; the drop's live counts follow.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state: Value = http
            .get(format!("{}/api/drops/{drop}", node.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let v = &state["variants"][0];
        if (
            v["remaining"].as_i64(),
            v["held"].as_i64(),
            v["sold"].as_i64(),
        ) == (Some(3), Some(0), Some(2))
        {
            break;
        }
        assert!(Instant::now() < deadline, "counts: {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
