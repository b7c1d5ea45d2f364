//! The admin console's accounts: found by email, disabled (no sign-in, every token and
//! session refused at once), enabled again; only admins may.

use serde_json::{json, Value};

use crate::support::{code, user_with_token, TestApp};

const PASSWORD: &str = "a long enough password";

async fn signed_up(app: &TestApp, email: &str) -> Value {
    let (s, b) = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": email, "password": PASSWORD, "role": "buyer"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b
}

async fn login(app: &TestApp, email: &str) -> (u16, Value) {
    app.post(
        "/api/auth/login",
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await
}

async fn accounts(app: TestApp) {
    let email = format!("troll-{}@example.com", uuid::Uuid::new_v4().simple());
    let session = signed_up(&app, &email).await;
    let id = session["user"]["id"].as_str().unwrap().to_string();
    let access = session["access_token"].as_str().unwrap().to_string();
    let refresh = session["refresh_token"].as_str().unwrap().to_string();
    let (_, admin) = user_with_token(&app, "admin").await;
    let (_, creator) = user_with_token(&app, "creator").await;

    // Found by part of the address; nobody but an admin may look or act.
    let (s, b) = app
        .get(
            &format!("/api/admin/users?q={}", &email[..12]),
            Some(&admin),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["users"][0]["email"].as_str(), Some(email.as_str()));
    let (s, _) = app.get("/api/admin/users", Some(&creator)).await;
    assert_eq!(s, 403);
    let (s, _) = app
        .post(
            &format!("/api/admin/users/{id}/disable"),
            Some(&creator),
            json!({}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app.get("/api/me", Some(&access)).await;
    assert_eq!(s, 200, "still enabled");

    // Disabled: the live token, the refresh token and a new sign-in are all refused.
    let (s, b) = app
        .post(
            &format!("/api/admin/users/{id}/disable"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["disabled_at"].is_string());
    let (s, _) = app.get("/api/me", Some(&access)).await;
    assert_eq!(s, 401, "the access token is refused at once");
    let (s, _) = app
        .post("/api/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(s, 401, "the session is gone");
    let (s, b) = login(&app, &email).await;
    assert_eq!((s, code(&b)), (403, "forbidden"), "{b}");
    let (s, b) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": email, "password": "a wrong password!"}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (401, "invalid_credentials"),
        "a wrong password tells nothing"
    );

    // Enabled again: signs in, and the new token works.
    let (s, _) = app
        .post(
            &format!("/api/admin/users/{id}/enable"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = login(&app, &email).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = app
        .get("/api/me", Some(b["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(s, 200);
    app.stop().await;
}

#[actix_web::test]
async fn an_admin_disables_an_account_that_then_cannot_sign_in_and_enables_it_again() {
    accounts(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn an_admin_disables_an_account_that_then_cannot_sign_in_and_enables_it_again_on_postgres() {
    accounts(TestApp::postgres().await).await;
}

/// The admin console beyond raffles: storefronts found by slug, title or owner's email and
/// taken down for abuse; orders found by the buyer's email, refunded. Nobody else may.
async fn storefronts_and_orders(app: TestApp) {
    let (_, creator, sf, product) = crate::support::selling_a_download(&app).await;
    let (_, sf_view) = app.get(&format!("/api/storefronts/{sf}"), None).await;
    let slug = sf_view["slug"].as_str().unwrap().to_string();
    let (buyer, order) = crate::support::bought(&app, &product).await;
    let (_, me) = app.get("/api/me", Some(&buyer)).await;
    let buyer_email = me["email"].as_str().unwrap().to_string();
    let (_, admin) = user_with_token(&app, "admin").await;

    // Storefronts: by slug, by the owner's email; a creator and a buyer are refused.
    let (s, found) = app
        .get(&format!("/api/admin/storefronts?q={slug}"), Some(&admin))
        .await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(found["storefronts"][0]["id"], sf.to_string(), "{found}");
    let (_, owner_me) = app.get("/api/me", Some(&creator)).await;
    let owner_email = owner_me["email"].as_str().unwrap();
    let (_, by_owner) = app
        .get(
            &format!("/api/admin/storefronts?q={owner_email}"),
            Some(&admin),
        )
        .await;
    assert!(
        by_owner["storefronts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == sf.to_string() && s["owner_email"] == owner_email),
        "{by_owner}"
    );
    for who in [&creator, &buyer] {
        assert_eq!(app.get("/api/admin/storefronts", Some(who)).await.0, 403);
        assert_eq!(app.get("/api/admin/orders", Some(who)).await.0, 403);
    }
    // Taken down by the admin: the page answers 404; the owner can publish it again.
    let page = app
        .client
        .get(app.at(&format!("/s/{slug}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let (s, down) = app
        .post(
            &format!("/api/storefronts/{sf}/unpublish"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!((s, &down["status"]), (200, &json!("draft")), "{down}");
    let page = app
        .client
        .get(app.at(&format!("/s/{slug}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    // Another creator still cannot.
    let (_, rival) = user_with_token(&app, "creator").await;
    let (s, _) = app
        .post(
            &format!("/api/storefronts/{sf}/unpublish"),
            Some(&rival),
            json!({}),
        )
        .await;
    assert_eq!(s, 404);

    // Orders: by part of the buyer's email (a `_` or `%` in it is taken literally).
    let part = &buyer_email[..buyer_email.find('@').unwrap()];
    let (s, orders) = app
        .get(
            &format!("/api/admin/orders?q={part}&status=paid"),
            Some(&admin),
        )
        .await;
    assert_eq!(s, 200, "{orders}");
    let list = orders["orders"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{orders}");
    assert_eq!(list[0]["id"], json!(order));
    assert_eq!(list[0]["buyer_email"], buyer_email.as_str());
    let (_, none) = app.get("/api/admin/orders?q=%25", Some(&admin)).await;
    assert_eq!(none["orders"].as_array().unwrap().len(), 0, "{none}");
    // The storefront's owner searches its own orders the same way (the studio's search).
    let mine = |q: String| format!("/api/storefronts/{sf}/orders?q={q}");
    let (s, own) = app.get(&mine(part.to_uppercase()), Some(&creator)).await;
    assert_eq!(s, 200, "{own}");
    assert_eq!(own["orders"][0]["id"], json!(order), "{own}");
    let (_, own_none) = app.get(&mine("%25".into()), Some(&creator)).await;
    assert_eq!(
        own_none["orders"].as_array().unwrap().len(),
        0,
        "{own_none}"
    );
    let (s, b) = app.get(&mine("x".repeat(255)), Some(&creator)).await;
    assert_eq!((s, code(&b)), (422, "validation_failed"), "{b}");
    let (s, refunded) = app
        .post(
            &format!("/api/orders/{}/refund", list[0]["id"].as_str().unwrap()),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{refunded}");
    app.stop().await;
}

#[actix_web::test]
async fn admins_find_storefronts_and_orders_take_down_and_refund() {
    storefronts_and_orders(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn admins_find_storefronts_and_orders_take_down_and_refund_on_postgres() {
    storefronts_and_orders(TestApp::postgres().await).await;
}
