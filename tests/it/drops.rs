//! Drops and holds over HTTP: lifecycle on the (moved) clock, every refusal code,
//! idempotency, the per-buyer limit under concurrency, expiry, and a 500-buyer rush.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::support::{code, eventually, storefront_with_product, user_with_token, TestApp};

struct Drop {
    id: String,
    variants: Vec<String>,
}

/// A published drop opening `opens_in` seconds from now with the given stock per variant.
async fn drop_with(app: &TestApp, opens_in: i64, stock: &[i64], extra: Value) -> Drop {
    let (creator, token) = user_with_token(app, "creator").await;
    let (sf, product) = storefront_with_product(app, creator).await;
    let opens_at = app.state.clock.now().and_utc() + Duration::seconds(opens_in);
    let mut body = json!({
        "storefront_id": sf, "product_id": product, "title": "Night drop",
        "price_cents": 4500, "currency": "usd",
        "variants": stock.iter().enumerate().map(|(i, s)| json!({"name": format!("V{i}"), "stock": s})).collect::<Vec<_>>(),
        "opens_at": opens_at, "waiting_room_seconds": 0,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, b) = app.post("/api/drops", Some(&token), body).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["status"], "draft");
    let id = b["id"].as_str().unwrap().to_string();
    let (s, b) = app
        .post(
            &format!("/api/drops/{id}/publish"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let variants = b["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    Drop { id, variants }
}

async fn hold(app: &TestApp, d: &Drop, v: usize, qty: i64, token: &str) -> (u16, Value) {
    app.post(
        &format!("/api/drops/{}/holds", d.id),
        Some(token),
        json!({"variant_id": d.variants[v], "quantity": qty}),
    )
    .await
}

async fn variant(app: &TestApp, d: &Drop, v: usize) -> Value {
    let (s, b) = app.get(&format!("/api/drops/{}", d.id), None).await;
    assert_eq!(s, 200, "{b}");
    b["variants"][v].clone()
}

#[actix_web::test]
async fn a_drop_opens_on_the_clock_and_refuses_holds_before_and_after() {
    let app = TestApp::sqlite().await;
    let d = drop_with(
        &app,
        60,
        &[5],
        json!({"hold_seconds": 60, "closes_at": Utc::now() + Duration::seconds(120)}),
    )
    .await;
    let (_, buyer) = user_with_token(&app, "buyer").await;

    let (s, b) = app.get(&format!("/api/drops/{}", d.id), None).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("scheduled")));
    let (s, b) = hold(&app, &d, 0, 1, &buyer).await;
    assert_eq!((s, code(&b)), (409, "not_open"));

    app.state.clock.advance(Duration::seconds(61));
    let (_, b) = app.get(&format!("/api/drops/{}", d.id), None).await;
    assert_eq!(b["status"], "live");
    let (s, b) = hold(&app, &d, 0, 1, &buyer).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["quantity"], 1);

    app.state.clock.advance(Duration::seconds(60));
    let (_, b) = app.get(&format!("/api/drops/{}", d.id), None).await;
    assert_eq!(b["status"], "ended");
    let (_, other) = user_with_token(&app, "buyer").await;
    let (s, b) = hold(&app, &d, 0, 1, &other).await;
    assert_eq!((s, code(&b)), (409, "drop_closed"));
}

#[actix_web::test]
async fn holds_take_stock_and_refuse_with_stable_codes() {
    let app = TestApp::sqlite().await;
    let d = drop_with(&app, 0, &[2, 1], json!({"per_buyer_limit": 2})).await;
    let (_, a) = user_with_token(&app, "buyer").await;
    let (_, b) = user_with_token(&app, "buyer").await;

    let (s, body) = hold(&app, &d, 0, 2, &a).await;
    assert_eq!(s, 201, "{body}");
    let v = variant(&app, &d, 0).await;
    assert_eq!(
        (v["remaining"].as_i64(), v["held"].as_i64()),
        (Some(0), Some(2))
    );

    let (s, body) = hold(&app, &d, 0, 1, &b).await;
    assert_eq!((s, code(&body)), (409, "sold_out"));
    let (s, body) = hold(&app, &d, 1, 1, &a).await;
    assert_eq!(
        (s, code(&body)),
        (409, "limit_reached"),
        "the limit spans variants"
    );
    // The refused request took nothing.
    assert_eq!(variant(&app, &d, 1).await["remaining"], 1);

    let (s, body) = app
        .post(
            &format!("/api/drops/{}/holds", d.id),
            Some(&b),
            json!({"variant_id": livedrop::domain::ids::VariantId::new(), "quantity": 1}),
        )
        .await;
    assert_eq!((s, code(&body)), (422, "validation_failed"));
    let (s, body) = hold(&app, &d, 1, 0, &b).await;
    assert_eq!((s, code(&body)), (422, "validation_failed"));
    let (s, _) = app
        .post(
            &format!("/api/drops/{}/holds", d.id),
            None,
            json!({"variant_id": d.variants[1], "quantity": 1}),
        )
        .await;
    assert_eq!(s, 401);
    let (s, body) = app
        .post(
            "/api/drops/not-a-uuid/holds",
            Some(&b),
            json!({"variant_id": d.variants[1], "quantity": 1}),
        )
        .await;
    assert_eq!((s, code(&body)), (404, "not_found"));
}

#[actix_web::test]
async fn a_retried_hold_with_the_same_idempotency_key_returns_the_first_answer() {
    let app = TestApp::sqlite().await;
    let d = drop_with(&app, 0, &[10], json!({"per_buyer_limit": 5})).await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let send = || {
        app.client
            .post(app.at(&format!("/api/drops/{}/holds", d.id)))
            .bearer_auth(&buyer)
            .header("idempotency-key", "retry-42")
            .json(&json!({"variant_id": d.variants[0], "quantity": 2}))
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    let v = variant(&app, &d, 0).await;
    assert_eq!(v["held"], 2, "the retry took nothing more");
}

async fn the_per_buyer_limit_holds_across_parallel_requests(app: &TestApp) {
    let d = drop_with(app, 0, &[100], json!({"per_buyer_limit": 3})).await;
    let (_, buyer) = user_with_token(app, "buyer").await;
    let results =
        futures_util::future::join_all((0..20).map(|_| hold(app, &d, 0, 1, &buyer))).await;
    let ok = results.iter().filter(|(s, _)| *s == 201).count();
    let limited = results
        .iter()
        .filter(|(s, b)| *s == 409 && code(b) == "limit_reached")
        .count();
    assert_eq!((ok, limited), (3, 17), "{results:?}");
    assert_eq!(variant(app, &d, 0).await["held"], 3);
}

#[actix_web::test]
async fn the_per_buyer_limit_holds_across_parallel_requests_on_sqlite() {
    the_per_buyer_limit_holds_across_parallel_requests(&TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn the_per_buyer_limit_holds_across_parallel_requests_on_postgres() {
    the_per_buyer_limit_holds_across_parallel_requests(&TestApp::postgres().await).await;
}

#[actix_web::test]
async fn holds_expire_back_to_stock_and_can_be_released_early() {
    let app = TestApp::sqlite().await;
    let d = drop_with(
        &app,
        0,
        &[3],
        json!({"hold_seconds": 60, "per_buyer_limit": 3}),
    )
    .await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (s, h1) = hold(&app, &d, 0, 1, &buyer).await;
    assert_eq!(s, 201);
    let (_, h2) = hold(&app, &d, 0, 1, &buyer).await;

    // Early release: units back at once, and idempotent.
    let (s, _) = app
        .delete(
            &format!("/api/holds/{}", h2["id"].as_str().unwrap()),
            Some(&buyer),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .delete(
            &format!("/api/holds/{}", h2["id"].as_str().unwrap()),
            Some(&buyer),
        )
        .await;
    assert_eq!(s, 204);
    let v = variant(&app, &d, 0).await;
    assert_eq!(
        (v["remaining"].as_i64(), v["held"].as_i64()),
        (Some(2), Some(1))
    );
    // Someone else's hold is not yours to release.
    let (_, other) = user_with_token(&app, "buyer").await;
    let (s, _) = app
        .delete(
            &format!("/api/holds/{}", h1["id"].as_str().unwrap()),
            Some(&other),
        )
        .await;
    assert_eq!(s, 404);

    // Time passes beyond the hold: the timer returns its unit.
    app.state.clock.advance(Duration::seconds(61));
    let id = d.id.clone();
    eventually(5, || {
        let app = &app;
        let id = id.clone();
        async move {
            let (_, b) = app.get(&format!("/api/drops/{id}"), None).await;
            (b["variants"][0]["remaining"] == 3 && b["variants"][0]["held"] == 0).then_some(())
        }
    })
    .await;
    // And the buyer's limit is free again.
    let (s, _) = hold(&app, &d, 0, 3, &buyer).await;
    assert_eq!(s, 201);
}

async fn five_hundred_buyers_race_for_ten_units(app: &TestApp) {
    let d = drop_with(app, 0, &[10], json!({})).await;
    let mut tokens = Vec::new();
    for _ in 0..500 {
        tokens.push(user_with_token(app, "buyer").await.1);
    }
    let results =
        futures_util::future::join_all(tokens.iter().map(|t| hold(app, &d, 0, 1, t))).await;
    let ok = results.iter().filter(|(s, _)| *s == 201).count();
    let sold_out = results
        .iter()
        .filter(|(s, b)| *s == 409 && code(b) == "sold_out")
        .count();
    assert_eq!((ok, sold_out), (10, 490));
    let v = variant(app, &d, 0).await;
    assert_eq!(
        (
            v["remaining"].as_i64(),
            v["held"].as_i64(),
            v["sold"].as_i64()
        ),
        (Some(0), Some(10), Some(0))
    );
    let (_, b) = app.get(&format!("/api/drops/{}", d.id), None).await;
    assert_eq!(b["status"], "sold_out");
}

#[actix_web::test]
async fn five_hundred_buyers_race_for_ten_units_on_sqlite() {
    five_hundred_buyers_race_for_ten_units(&TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn five_hundred_buyers_race_for_ten_units_on_postgres() {
    five_hundred_buyers_race_for_ten_units(&TestApp::postgres().await).await;
}

/// JSON Schema counts `1.0` as an integer, so the document's integer fields take whole-number
/// floats; a fraction is still refused, and so is a body that is not an object (serde alone
/// would fill a form from an array). One extractor does this for every form.
#[actix_web::test]
async fn integer_fields_take_whole_number_floats_and_bodies_are_objects() {
    let app = TestApp::sqlite().await;
    let (creator, token) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let body = |price: Value, stock: Value| {
        json!({
            "storefront_id": sf, "product_id": product, "title": "T", "price_cents": price,
            "currency": "USD", "variants": [{"name": "M", "stock": stock}],
            "opens_at": Utc::now() + Duration::hours(1), "per_buyer_limit": 2.0,
        })
    };
    // serde_json writes these as `100.0` and `3.0`.
    let (s, b) = app
        .post("/api/drops", Some(&token), body(json!(1e2), json!(3.0)))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["price_cents"], json!(100));
    assert_eq!(b["per_buyer_limit"], json!(2));
    assert_eq!(b["variants"][0]["stock"], json!(3));
    let (s, b) = app
        .post("/api/drops", Some(&token), body(json!(100.5), json!(3)))
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "invalid_json"),
        "a fraction is no integer"
    );
    let (s, b) = app
        .post("/api/drops", Some(&token), body(json!(1e30), json!(3)))
        .await;
    assert_eq!((s, code(&b)), (400, "invalid_json"), "out of range");
    let (s, b) = app
        .post(
            "/api/drops",
            Some(&token),
            json!([sf, product, "T", 100, "USD"]),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "invalid_json"), "an array is no form");
    let (s, b) = app
        .post("/api/auth/password/forgot", None, json!([""]))
        .await;
    assert_eq!((s, code(&b)), (400, "invalid_json"));
}

#[actix_web::test]
async fn creating_a_drop_validates_every_field_and_checks_ownership() {
    let app = TestApp::sqlite().await;
    let (creator, token) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let base = json!({
        "storefront_id": sf, "product_id": product, "title": "T", "price_cents": 100,
        "currency": "USD", "variants": [{"name": "M", "stock": 1}], "opens_at": Utc::now(),
    });
    for (field, value) in [
        ("title", json!("")),
        ("price_cents", json!(-1)),
        ("currency", json!("ZZZ")),
        ("variants", json!([])),
        (
            "variants",
            json!([{"name": "M", "stock": 1}, {"name": "m", "stock": 2}]),
        ),
        ("variants", json!([{"name": "M", "stock": -5}])),
        ("per_buyer_limit", json!(0)),
        ("hold_seconds", json!(5)),
        ("closes_at", json!(Utc::now() - Duration::hours(1))),
    ] {
        let mut body = base.clone();
        body[field] = value.clone();
        let (s, b) = app.post("/api/drops", Some(&token), body).await;
        assert_eq!((s, code(&b)), (422, "validation_failed"), "{field}={value}");
    }
    let mut body = base.clone();
    body["opens_at"] = json!("tomorrow");
    let (s, b) = app.post("/api/drops", Some(&token), body).await;
    assert_eq!((s, code(&b)), (400, "invalid_json"));

    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (s, _) = app.post("/api/drops", Some(&buyer), base.clone()).await;
    assert_eq!(s, 403);
    let (_, other) = user_with_token(&app, "creator").await;
    let (s, b) = app.post("/api/drops", Some(&other), base.clone()).await;
    assert_eq!((s, code(&b)), (404, "not_found"), "not your storefront");
    let (s, _) = app.post("/api/drops", None, base.clone()).await;
    assert_eq!(s, 401);
    let (s, b) = app.post("/api/drops", Some(&token), base).await;
    assert_eq!(s, 201, "{b}");
    // Drafts are the owner's.
    let id = b["id"].as_str().unwrap();
    let (s, _) = app.get(&format!("/api/drops/{id}"), None).await;
    assert_eq!(s, 404);
    let (s, _) = app.get(&format!("/api/drops/{id}"), Some(&token)).await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post(
            &format!("/api/drops/{id}/publish"),
            Some(&other),
            Value::Null,
        )
        .await;
    assert_eq!(s, 404);
}

#[actix_web::test]
async fn holds_are_rate_limited_per_account() {
    let app = TestApp::with(&[("RATE_LIMIT_HOLD_ACCOUNT", "3/60")]).await;
    let d = drop_with(&app, 0, &[100], json!({"per_buyer_limit": 100})).await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    for _ in 0..3 {
        assert_eq!(hold(&app, &d, 0, 1, &buyer).await.0, 201);
    }
    let (s, b) = hold(&app, &d, 0, 1, &buyer).await;
    assert_eq!((s, code(&b)), (429, "rate_limited"));
    let (_, other) = user_with_token(&app, "buyer").await;
    assert_eq!(
        hold(&app, &d, 0, 1, &other).await.0,
        201,
        "another account is not slowed"
    );
}

#[actix_web::test]
async fn stock_can_grow_while_live_but_never_below_what_is_promised() {
    let app = TestApp::sqlite().await;
    let (creator, token) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let (_, b) = app
        .post(
            "/api/drops",
            Some(&token),
            json!({"storefront_id": sf, "product_id": product, "title": "Grow",
            "price_cents": 100, "currency": "USD", "variants": [{"name": "A", "stock": 3}],
            "opens_at": Utc::now(), "waiting_room_seconds": 0, "per_buyer_limit": 3}),
        )
        .await;
    let id = b["id"].as_str().unwrap().to_string();
    let variant = b["variants"][0]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/drops/{id}/publish"),
        Some(&token),
        Value::Null,
    )
    .await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (s, _) = app
        .post(
            &format!("/api/drops/{id}/holds"),
            Some(&buyer),
            json!({"variant_id": variant, "quantity": 2}),
        )
        .await;
    assert_eq!(s, 201);

    let (s, b) = app
        .patch(
            &format!("/api/drops/{id}"),
            Some(&token),
            json!({"stock": [{"variant_id": variant, "stock": 1}]}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "stock_below_promised"));
    let (s, b) = app
        .patch(
            &format!("/api/drops/{id}"),
            Some(&token),
            json!({"stock": [{"variant_id": variant, "stock": 10}], "title": "Grown"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            b["variants"][0]["stock"].as_i64(),
            b["variants"][0]["remaining"].as_i64(),
            b["title"].as_str()
        ),
        (Some(10), Some(8), Some("Grown"))
    );
    let (s, b) = app
        .patch(
            &format!("/api/drops/{id}"),
            Some(&token),
            json!({"opens_at": Utc::now() + Duration::hours(1)}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "already_open"));

    // Pause stops holds; resume brings them back; cancel ends it for good.
    let (s, b) = app
        .post(&format!("/api/drops/{id}/pause"), Some(&token), Value::Null)
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("paused")));
    let (s, b) = app
        .post(
            &format!("/api/drops/{id}/holds"),
            Some(&buyer),
            json!({"variant_id": variant, "quantity": 1}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "drop_paused"));
    let (s, b) = app
        .post(
            &format!("/api/drops/{id}/resume"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("live")));
    let (s, _) = app
        .post(
            &format!("/api/drops/{id}/holds"),
            Some(&buyer),
            json!({"variant_id": variant, "quantity": 1}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .post(
            &format!("/api/drops/{id}/cancel"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .post(
            &format!("/api/drops/{id}/resume"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!((s, code(&b)), (409, "invalid_transition"));
    let (_, other) = user_with_token(&app, "buyer").await;
    let (s, b) = app
        .post(
            &format!("/api/drops/{id}/holds"),
            Some(&other),
            json!({"variant_id": variant, "quantity": 1}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "drop_cancelled"));
    let (_, rival) = user_with_token(&app, "creator").await;
    let (s, _) = app
        .post(&format!("/api/drops/{id}/pause"), Some(&rival), Value::Null)
        .await;
    assert_eq!(s, 404);
}

/// The stock arithmetic on the path production takes (the drop's actor and the store), by a
/// seeded random walk of holds, releases, sales and stock changes: after each step the
/// drop answers exactly what a model of the units says, and `remaining == stock − held −
/// sold` with none negative. (It replaces a property test of a pure `Inventory` type that
/// production never called.)
#[actix_web::test]
async fn stock_counts_follow_every_hold_release_sale_and_stock_change() {
    use rand::{Rng, SeedableRng};
    let app = TestApp::sqlite().await;
    let (creator, token) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let (s, b) = app
        .post(
            "/api/drops",
            Some(&token),
            json!({"storefront_id": sf, "product_id": product, "title": "Walk",
                   "price_cents": 100, "currency": "USD", "variants": [{"name": "One", "stock": 20}],
                   "opens_at": app.state.clock.now().and_utc(), "waiting_room_seconds": 0,
                   "per_buyer_limit": 100}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let d = Drop {
        id: b["id"].as_str().unwrap().to_string(),
        variants: vec![b["variants"][0]["id"].as_str().unwrap().to_string()],
    };
    let (s, b) = app
        .post(
            &format!("/api/drops/{}/publish", d.id),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // The model: (stock, held, sold), and the active holds (id, buyer, units).
    let (mut stock, mut held, mut sold) = (20i64, 0i64, 0i64);
    let mut holds: Vec<(String, String, i64)> = Vec::new();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut seen: Vec<String> = Vec::new();
    for step in 0..120 {
        let (op, n) = (rng.gen_range(0u8..4), rng.gen_range(0i64..5));
        let what = match op {
            0 => {
                let (_, buyer) = user_with_token(&app, "buyer").await;
                let (s, b) = hold(&app, &d, 0, n.max(1), &buyer).await;
                if n.max(1) <= stock - held - sold {
                    assert_eq!(s, 201, "step {step}: {b}");
                    holds.push((b["id"].as_str().unwrap().to_string(), buyer, n.max(1)));
                    held += n.max(1);
                    seen.push("hold".into());
                } else {
                    assert_eq!((s, code(&b)), (409, "sold_out"), "step {step}: {b}");
                    seen.push("sold_out".into());
                }
                format!("hold {}", n.max(1))
            }
            1 | 2 if holds.is_empty() => continue,
            1 => {
                let (id, buyer, units) = holds.swap_remove(rng.gen_range(0..holds.len()));
                let (s, b) = app.delete(&format!("/api/holds/{id}"), Some(&buyer)).await;
                assert_eq!(s, 204, "step {step}: {b}");
                held -= units;
                seen.push("release".into());
                format!("release {units}")
            }
            2 => {
                let (id, buyer, units) = holds.swap_remove(rng.gen_range(0..holds.len()));
                let (s, b) = app
                    .post(
                        &format!("/api/holds/{id}/checkout"),
                        Some(&buyer),
                        json!({"card": "4242424242424242"}),
                    )
                    .await;
                assert_eq!(
                    (s, b["status"].as_str()),
                    (201, Some("paid")),
                    "step {step}: {b}"
                );
                held -= units;
                sold += units;
                seen.push("sell".into());
                format!("sell {units}")
            }
            _ => {
                let to = stock + n - 2;
                let (s, b) = app
                    .patch(
                        &format!("/api/drops/{}", d.id),
                        Some(&token),
                        json!({"stock": [{"variant_id": d.variants[0], "stock": to}]}),
                    )
                    .await;
                if to >= held + sold {
                    assert_eq!(s, 200, "step {step}: {b}");
                    stock = to;
                    seen.push("stock".into());
                } else {
                    assert_eq!(
                        (s, code(&b)),
                        (409, "stock_below_promised"),
                        "step {step}: {b}"
                    );
                    seen.push("stock_below_promised".into());
                }
                format!("stock to {to}")
            }
        };
        // A sale commits first and the live counts follow: wait for them, checking the
        // invariant on every answer seen on the way.
        let want = (stock, stock - held - sold, held, sold);
        let since = std::time::Instant::now();
        eventually(5, || {
            let (app, d, what) = (&app, &d, &what);
            async move {
                let v = variant(app, d, 0).await;
                let got = (
                    v["stock"].as_i64().unwrap(),
                    v["remaining"].as_i64().unwrap(),
                    v["held"].as_i64().unwrap(),
                    v["sold"].as_i64().unwrap(),
                );
                assert!(
                    got.1 >= 0 && got.2 >= 0 && got.3 >= 0 && got.1 == got.0 - got.2 - got.3,
                    "step {step} ({what}): inconsistent {got:?}"
                );
                assert!(
                    got == want || since.elapsed() < std::time::Duration::from_secs(4),
                    "step {step} ({what}): the drop says {got:?}, the model {want:?}"
                );
                (got == want).then_some(())
            }
        })
        .await;
    }
    // The seed's walk reaches every outcome.
    let seen: std::collections::BTreeSet<&str> = seen.iter().map(|w| w.as_str()).collect();
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            "hold",
            "release",
            "sell",
            "sold_out",
            "stock",
            "stock_below_promised"
        ]
    );
}
