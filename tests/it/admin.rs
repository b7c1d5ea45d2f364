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
