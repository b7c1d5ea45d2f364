//! Tenant isolation: every write endpoint, walked as anonymous, as a buyer and as another
//! creator, is refused with 401/403/404, and the resource is unchanged afterwards:
//! storefronts and products, then drops, holds, orders, raffles and analytics.

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{code, storefront_with_product, user_with_token, TestApp};

async fn snapshot(app: &TestApp, owner: &str, sf: &str, product: &str) -> (Value, Value) {
    let (_, s) = app
        .get(&format!("/api/storefronts/{sf}"), Some(owner))
        .await;
    let (_, p) = app
        .get(&format!("/api/products/{product}"), Some(owner))
        .await;
    (s, p)
}

#[actix_web::test]
async fn no_one_but_the_owner_changes_a_storefront_or_its_products() {
    let app = TestApp::sqlite().await;
    let (_, owner) = user_with_token(&app, "creator").await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (_, rival) = user_with_token(&app, "creator").await;
    let (_, admin) = user_with_token(&app, "admin").await;

    let (_, b) = app
        .post(
            "/api/storefronts",
            Some(&owner),
            json!({"slug": "guarded", "title": "Mine"}),
        )
        .await;
    let sf = b["id"].as_str().unwrap().to_string();
    let (_, b) = app
        .post(&format!("/api/storefronts/{sf}/products"), Some(&owner),
            json!({"kind": "physical", "title": "Thing", "price_cents": 100, "currency": "USD", "stock": 3}))
        .await;
    let product = b["id"].as_str().unwrap().to_string();
    let before = snapshot(&app, &owner, &sf, &product).await;

    let writes: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/api/storefronts".into(),
            json!({"slug": "intruder", "title": "X"}),
        ),
        (
            Method::PATCH,
            format!("/api/storefronts/{sf}"),
            json!({"title": "Hacked"}),
        ),
        (
            Method::POST,
            format!("/api/storefronts/{sf}/publish"),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/api/storefronts/{sf}/products"),
            json!({"kind": "service", "title": "Injected", "price_cents": 1, "currency": "USD"}),
        ),
        (
            Method::PATCH,
            format!("/api/products/{product}"),
            json!({"title": "Hacked"}),
        ),
        (
            Method::POST,
            format!("/api/products/{product}/publish"),
            Value::Null,
        ),
        (
            Method::DELETE,
            format!("/api/products/{product}"),
            Value::Null,
        ),
    ];
    for (who, token) in [
        ("anonymous", None),
        ("buyer", Some(buyer.as_str())),
        ("rival", Some(rival.as_str())),
        ("admin", Some(admin.as_str())),
    ] {
        for (method, path, body) in &writes {
            // Creating a storefront of one's own is allowed for a creator; skip that pair.
            if path == "/api/storefronts" && (who == "rival" || who == "admin") {
                continue;
            }
            let (s, b) = app.send(method.clone(), path, token, body.clone()).await;
            assert!(
                [401, 403, 404].contains(&s),
                "{who} {method} {path} → {s} {b}"
            );
            if who == "anonymous" {
                assert_eq!(s, 401, "{method} {path}");
            }
        }
    }
    assert_eq!(
        snapshot(&app, &owner, &sf, &product).await,
        before,
        "nothing changed"
    );
    let (_, list) = app
        .get(&format!("/api/storefronts/{sf}/products"), Some(&owner))
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, mine) = app.get("/api/storefronts", Some(&buyer)).await;
    assert_eq!(mine, json!([]));

    // Reading: drafts are the owner's (and admins'); a rival sees a 404.
    let (s, _) = app
        .get(&format!("/api/storefronts/{sf}"), Some(&rival))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .get(&format!("/api/products/{product}"), Some(&rival))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .get(&format!("/api/storefronts/{sf}"), Some(&admin))
        .await;
    assert_eq!(s, 200, "admins may read all");
    let (s, _) = app
        .get(&format!("/api/products/{product}"), Some(&admin))
        .await;
    assert_eq!(s, 200);
}

/// What the walk below must leave as it was: the drops (and their logs), the hold's and the
/// order's effects, the raffles' state and tickets.
async fn world(app: &TestApp, owner: &str, buyer: &str, ids: &[(&str, String)]) -> Value {
    let mut out = serde_json::Map::new();
    for (what, id) in ids {
        let path = match *what {
            "drop" => format!("/api/drops/{id}"),
            "log" => format!("/api/drops/{id}/log?limit=1000"),
            "order" => format!("/api/orders/{id}"),
            "raffle" => format!("/api/raffles/{id}"),
            _ => unreachable!(),
        };
        let token = if *what == "order" { buyer } else { owner };
        let (s, mut b) = app.get(&path, Some(token)).await;
        assert_eq!(s, 200, "{path}: {b}");
        // What moves by itself, whoever asks.
        for volatile in ["server_time", "watchers", "seq"] {
            if let Some(o) = b.as_object_mut() {
                o.remove(volatile);
            }
        }
        out.insert(format!("{what} {id}"), b);
    }
    Value::Object(out)
}

#[actix_web::test]
async fn no_one_but_the_owner_changes_a_drop_a_hold_an_order_a_raffle_or_analytics() {
    let app = TestApp::sqlite().await;
    let (owner_id, owner) = user_with_token(&app, "creator").await;
    let (_, rival) = user_with_token(&app, "creator").await;
    let (_, admin) = user_with_token(&app, "admin").await;
    let (_, holder) = user_with_token(&app, "buyer").await;
    let (_, payer) = user_with_token(&app, "buyer").await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (fan, _) = user_with_token(&app, "buyer").await;
    let fan_email = format!("buyer-{}@test.livedrop.local", fan.0.simple());
    let (sf, product) = storefront_with_product(&app, owner_id).await;
    let now = app.state.clock.now().and_utc();

    // A live drop and a draft one.
    let new_drop = |title: &str| {
        json!({"storefront_id": sf, "product_id": product, "title": title, "price_cents": 500,
               "currency": "USD", "variants": [{"name": "One", "stock": 10}], "opens_at": now,
               "waiting_room_seconds": 0, "per_buyer_limit": 5})
    };
    let (s, b) = app.post("/api/drops", Some(&owner), new_drop("Live")).await;
    assert_eq!(s, 201, "{b}");
    let live = b["id"].as_str().unwrap().to_string();
    let variant = b["variants"][0]["id"].as_str().unwrap().to_string();
    let (s, b) = app
        .post(
            &format!("/api/drops/{live}/publish"),
            Some(&owner),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .post("/api/drops", Some(&owner), new_drop("Draft"))
        .await;
    assert_eq!(s, 201, "{b}");
    let draft = b["id"].as_str().unwrap().to_string();
    let draft_variant = b["variants"][0]["id"].as_str().unwrap().to_string();
    // A buyer's hold, and another buyer's paid order.
    let hold_one = |token: String| {
        let (app, live, variant) = (&app, live.clone(), variant.clone());
        async move {
            let (s, b) = app
                .post(
                    &format!("/api/drops/{live}/holds"),
                    Some(&token),
                    json!({"variant_id": variant, "quantity": 1}),
                )
                .await;
            assert_eq!(s, 201, "{b}");
            b["id"].as_str().unwrap().to_string()
        }
    };
    let hold = hold_one(holder.clone()).await;
    let paid_hold = hold_one(payer.clone()).await;
    let (s, b) = app
        .post(
            &format!("/api/holds/{paid_hold}/checkout"),
            Some(&payer),
            json!({"card": "4242424242424242"}),
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (201, Some("paid")), "{b}");
    let order = b["order_id"].as_str().unwrap().to_string();
    // Raffles of the storefront: a draft, an open one (tickets, so bonus applies), and one
    // that has closed (so only the admin check stands between anyone and its draw).
    let new_raffle = |opens: chrono::DateTime<chrono::Utc>, closes_in: i64, publish: bool| {
        let (app, owner, sf) = (&app, owner.clone(), sf.to_string());
        async move {
            let (s, b) = app
                .post(
                    "/api/raffles",
                    Some(&owner),
                    json!({"storefront_id": sf, "title": "Guarded", "entry": "tickets",
                           "prizes": [{"rank_from": 1, "rank_to": 1, "description": "Print"}],
                           "alternates": 0, "opens_at": opens,
                           "closes_at": opens + Duration::seconds(closes_in)}),
                )
                .await;
            assert_eq!(s, 201, "{b}");
            let id = b["id"].as_str().unwrap().to_string();
            if publish {
                let (s, b) = app
                    .post(
                        &format!("/api/raffles/{id}/publish"),
                        Some(&owner),
                        Value::Null,
                    )
                    .await;
                assert_eq!(s, 200, "{b}");
            }
            id
        }
    };
    let draft_raffle = new_raffle(now + Duration::seconds(600), 600, false).await;
    let open_raffle = new_raffle(now, 3600, true).await;
    let closed_raffle = new_raffle(now, 60, true).await;
    app.state.clock.advance(Duration::seconds(61));
    crate::support::eventually(5, || async {
        let (_, b) = app
            .get(&format!("/api/raffles/{closed_raffle}"), None)
            .await;
        let (_, o) = app.get(&format!("/api/raffles/{open_raffle}"), None).await;
        // Closed, and its entries frozen (the close is recorded by a timer).
        let closed = b["status"] == "closed" && b["entries_digest"].is_string();
        (closed && o["status"] == "open").then_some(())
    })
    .await;
    // The clock's own entry for the drop's opening is logged by a timer: wait for it.
    crate::support::eventually(5, || async {
        let (_, l) = app
            .get(&format!("/api/drops/{live}/log?limit=1000"), Some(&owner))
            .await;
        l["entries"]
            .as_array()?
            .iter()
            .any(|e| e["kind"] == "live")
            .then_some(())
    })
    .await;

    let ids = [
        ("drop", live.clone()),
        ("drop", draft.clone()),
        ("log", live.clone()),
        ("log", draft.clone()),
        ("order", order.clone()),
        ("raffle", draft_raffle.clone()),
        ("raffle", open_raffle.clone()),
        ("raffle", closed_raffle.clone()),
    ];
    let before = world(&app, &owner, &payer, &ids).await;

    // (method, path, body, what the admin gets: only where admins have no say).
    let writes: Vec<(Method, String, Value, Option<u16>)> = vec![
        (
            Method::PATCH,
            format!("/api/drops/{live}"),
            json!({"title": "Hacked"}),
            Some(404),
        ),
        (
            Method::PATCH,
            format!("/api/drops/{draft}"),
            json!({"title": "Hacked", "stock": [{"variant_id": draft_variant, "stock": 1}]}),
            Some(404),
        ),
        (
            Method::POST,
            format!("/api/drops/{draft}/publish"),
            Value::Null,
            Some(404),
        ),
        (
            Method::POST,
            format!("/api/drops/{live}/pause"),
            Value::Null,
            Some(404),
        ),
        (
            Method::POST,
            format!("/api/drops/{live}/resume"),
            Value::Null,
            Some(404),
        ),
        (
            Method::POST,
            format!("/api/drops/{live}/cancel"),
            Value::Null,
            Some(404),
        ),
        (
            Method::GET,
            format!("/api/drops/{live}/log"),
            Value::Null,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/holds/{hold}"),
            Value::Null,
            Some(404),
        ),
        (
            Method::POST,
            format!("/api/holds/{hold}/checkout"),
            json!({"card": "4242424242424242"}),
            Some(404),
        ),
        (
            Method::GET,
            format!("/api/orders/{order}"),
            Value::Null,
            None,
        ),
        (
            Method::POST,
            format!("/api/orders/{order}/refund"),
            Value::Null,
            None,
        ),
        (
            Method::POST,
            format!("/api/raffles/{draft_raffle}/publish"),
            Value::Null,
            Some(404),
        ),
        (
            Method::POST,
            format!("/api/raffles/{open_raffle}/cancel"),
            Value::Null,
            Some(404),
        ),
        (
            Method::POST,
            format!("/api/raffles/{open_raffle}/bonus"),
            json!({"email": fan_email, "tickets": 50, "note": "referral"}),
            Some(404),
        ),
        (
            Method::POST,
            format!("/api/admin/raffles/{closed_raffle}/draw"),
            Value::Null,
            None,
        ),
        (
            Method::GET,
            format!("/api/storefronts/{sf}/analytics"),
            Value::Null,
            None,
        ),
        (
            Method::GET,
            format!("/api/storefronts/{sf}/analytics.csv"),
            Value::Null,
            None,
        ),
        (
            Method::GET,
            format!("/api/storefronts/{sf}/analytics/export"),
            Value::Null,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/storefronts/{sf}/analytics"),
            Value::Null,
            None,
        ),
    ];
    for (method, path, body, for_admin) in &writes {
        // Draws are the admins' (403 `forbidden` to anyone else); everything else is the
        // owner's (or the holder's), and to anyone else it does not exist.
        let refused = if path.ends_with("/draw") { 403 } else { 404 };
        let mut walk = vec![
            ("anonymous", None, 401),
            ("buyer", Some(buyer.as_str()), refused),
            ("rival", Some(rival.as_str()), refused),
        ];
        if let Some(s) = for_admin {
            walk.push(("admin", Some(admin.as_str()), *s));
        }
        for (who, token, want) in walk {
            let (s, b) = app.send(method.clone(), path, token, body.clone()).await;
            assert_eq!(s, want, "{who} {method} {path} → {s} {b}");
            let want_code = match want {
                401 => "unauthorized",
                403 => "forbidden",
                _ => "not_found",
            };
            assert_eq!(code(&b), want_code, "{who} {method} {path} → {s} {b}");
        }
    }
    // The people on the other side of a hold or an order have no more say than strangers:
    // a seller cannot release or pay a buyer's hold, a buyer cannot refund their own order.
    for (method, path, token, body) in [
        (
            Method::DELETE,
            format!("/api/holds/{hold}"),
            &owner,
            Value::Null,
        ),
        (
            Method::POST,
            format!("/api/holds/{hold}/checkout"),
            &payer,
            json!({"card": "4242424242424242"}),
        ),
        (
            Method::POST,
            format!("/api/orders/{order}/refund"),
            &payer,
            Value::Null,
        ),
    ] {
        let (s, b) = app.send(method.clone(), &path, Some(token), body).await;
        assert_eq!((s, code(&b)), (404, "not_found"), "{method} {path} → {b}");
    }

    let after = world(&app, &owner, &payer, &ids).await;
    for (k, v) in before.as_object().unwrap() {
        assert_eq!(&after[k], v, "{k} changed");
    }
    let (_, d) = app.get(&format!("/api/drops/{live}"), None).await;
    assert_eq!(
        (
            d["status"].as_str(),
            &d["variants"][0]["held"],
            &d["variants"][0]["sold"]
        ),
        (Some("live"), &json!(1), &json!(1)),
        "the hold stands and the sale too: {d}"
    );
    let (s, b) = app
        .get(&format!("/api/raffles/{closed_raffle}/proof"), None)
        .await;
    assert_eq!((s, code(&b)), (409, "not_drawn"), "{b}");
    // The analytics are still there for their owner to delete.
    let (s, b) = app
        .delete(&format!("/api/storefronts/{sf}/analytics"), Some(&owner))
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["events"].as_u64().unwrap() > 0, "{b}");
}
