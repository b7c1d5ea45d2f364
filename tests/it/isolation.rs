//! Tenant isolation: every write endpoint, walked as anonymous, as a buyer and as another
//! creator, is refused with 401/403/404, and the resource is unchanged afterwards.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{user_with_token, TestApp};

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
