//! Accounts over HTTP: sign-up with a real SMTP relay, sessions, rotation, reset, limits.

use serde_json::{json, Value};

use crate::smtp::SmtpServer;
use crate::support::{code, outbox_mails, TestApp};

pub(crate) const PW: &str = "correct horse battery";

pub(crate) fn token_of(link: &str) -> String {
    link.split("token=").nth(1).unwrap().to_string()
}

pub(crate) async fn register(app: &TestApp, email: &str, role: &str) -> (u16, Value) {
    app.post(
        "/api/auth/register",
        None,
        json!({"email": email, "password": PW, "role": role}),
    )
    .await
}

#[actix_web::test]
async fn signup_mail_over_smtp_verifies_then_sessions_rotate_and_reuse_revokes_the_family() {
    let mut smtp = SmtpServer::start().await;
    let app = TestApp::with(&[("RATE_LIMITS", "off"), ("SMTP_URL", &smtp.url)]).await;

    let (s, b) = register(&app, "Maker@Example.com", "creator").await;
    assert_eq!(s, 201, "{b}");
    assert!(b["access_token"].is_string() && b["refresh_token"].is_string());
    assert_eq!(b["user"]["email"], "maker@example.com");
    assert_eq!(b["user"]["email_verified"], false);
    let user_id = b["user"]["id"].as_str().unwrap().to_string();

    // The verification mail, read off the wire.
    let mail = smtp.next(10).await;
    assert_eq!(mail.to, vec!["maker@example.com".to_string()]);
    assert!(
        mail.from.contains("no-reply@livedrop.local"),
        "{}",
        mail.from
    );
    let link = mail
        .link(&format!("{}/verify?token=", app.url))
        .expect("mail has a verify link");

    // The link's page exists, and the token it carries verifies the account once.
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let t = token_of(&link);
    let (s, b) = app
        .post("/api/auth/verify", None, json!({"token": t}))
        .await;
    assert_eq!((s, b["verified"].as_bool()), (200, Some(true)), "{b}");
    let (s, b) = app
        .post("/api/auth/verify", None, json!({"token": t}))
        .await;
    assert_eq!((s, code(&b)), (404, "invalid_link"), "single use");

    // Login sees the verified account.
    let (s, b) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "maker@example.com", "password": PW}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["user"]["id"], user_id.as_str());
    assert_eq!(b["user"]["email_verified"], true);
    let (s, me) = app.get("/api/me", b["access_token"].as_str()).await;
    assert_eq!((s, me["email_verified"].as_bool()), (200, Some(true)));

    // Refresh rotates: a new token each time.
    let r1 = b["refresh_token"].as_str().unwrap().to_string();
    let (s, b2) = app
        .post("/api/auth/refresh", None, json!({"refresh_token": r1}))
        .await;
    assert_eq!(s, 200, "{b2}");
    let r2 = b2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);

    // r1 presented again: refused, and the family (r2 included) is revoked.
    let (s, b) = app
        .post("/api/auth/refresh", None, json!({"refresh_token": r1}))
        .await;
    assert_eq!((s, code(&b)), (401, "unauthorized"));
    let (s, _) = app
        .post("/api/auth/refresh", None, json!({"refresh_token": r2}))
        .await;
    assert_eq!(s, 401, "the rotated-to token died with its family");

    app.stop().await;
}

#[actix_web::test]
async fn password_reset_by_mail_sets_the_password_and_ends_every_session() {
    let mut smtp = SmtpServer::start().await;
    let app = TestApp::with(&[("RATE_LIMITS", "off"), ("SMTP_URL", &smtp.url)]).await;
    let (s, b) = register(&app, "buyer@example.com", "buyer").await;
    assert_eq!(s, 201, "{b}");
    let _verify_mail = smtp.next(10).await;
    let old_refresh = b["refresh_token"].as_str().unwrap().to_string();

    // Unknown emails get the same 202 and no mail.
    let (s, _) = app
        .post(
            "/api/auth/password/forgot",
            None,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(s, 202);
    let (s, _) = app
        .post(
            "/api/auth/password/forgot",
            None,
            json!({"email": "buyer@example.com"}),
        )
        .await;
    assert_eq!(s, 202);
    let mail = smtp.next(10).await;
    assert_eq!(mail.to, vec!["buyer@example.com".to_string()]);
    let link = mail.link(&format!("{}/reset?token=", app.url)).unwrap();
    let t = token_of(&link);

    let (s, b) = app
        .post(
            "/api/auth/password/reset",
            None,
            json!({"token": t, "password": "short"}),
        )
        .await;
    assert_eq!((s, code(&b)), (422, "validation_failed"));
    // A second mail: its link is used; the first one must die with it.
    let (s, _) = app
        .post(
            "/api/auth/password/forgot",
            None,
            json!({"email": "buyer@example.com"}),
        )
        .await;
    assert_eq!(s, 202);
    let second = token_of(
        &smtp
            .next(10)
            .await
            .link(&format!("{}/reset?token=", app.url))
            .unwrap(),
    );
    assert_ne!(second, t);
    let new_pw = "a brand new passphrase";
    let (s, b) = app
        .post(
            "/api/auth/password/reset",
            None,
            json!({"token": second, "password": new_pw}),
        )
        .await;
    // The one who reset is signed in with a session of its own.
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["user"]["email"], "buyer@example.com", "{b}");
    let (s, me) = app.get("/api/me", b["access_token"].as_str()).await;
    assert_eq!(
        (s, &me["email"]),
        (200, &json!("buyer@example.com")),
        "{me}"
    );
    let reset_refresh = b["refresh_token"].as_str().unwrap().to_string();
    let (s, b) = app
        .post(
            "/api/auth/password/reset",
            None,
            json!({"token": second, "password": new_pw}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "invalid_token"),
        "a reset link works once"
    );
    let (s, b) = app
        .post(
            "/api/auth/password/reset",
            None,
            json!({"token": t, "password": "an older link's passphrase"}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "invalid_token"),
        "older links die with the used one"
    );

    let (s, _) = app
        .post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": old_refresh}),
        )
        .await;
    assert_eq!(s, 401, "sessions end on reset");
    let (s, b) = app
        .post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": reset_refresh}),
        )
        .await;
    assert_eq!(s, 200, "the session the reset started lives on: {b}");
    let (s, _) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "buyer@example.com", "password": PW}),
        )
        .await;
    assert_eq!(s, 401, "the old password no longer works");
    let (s, _) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "buyer@example.com", "password": new_pw}),
        )
        .await;
    assert_eq!(s, 200);
    app.stop().await;
}

#[actix_web::test]
async fn embedded_mode_writes_the_verification_mail_to_the_outbox() {
    let app = TestApp::sqlite().await;
    let (s, _) = register(&app, "outbox@example.com", "creator").await;
    assert_eq!(s, 201);
    let files = outbox_mails(&app).await;
    assert_eq!(files.len(), 1);
    let eml = &files[0];
    assert!(eml.contains("To: outbox@example.com"), "{eml}");
    assert!(eml.contains("/verify?token="));
}

#[actix_web::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::sqlite().await;
    let (s, b) = register(&app, "someone@example.com", "buyer").await;
    assert_eq!(s, 201, "{b}");
    let (s1, b1) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "someone@example.com", "password": "wrong password!"}),
        )
        .await;
    let (s2, b2) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "nobody@example.com", "password": "wrong password!"}),
        )
        .await;
    assert_eq!((s1, code(&b1)), (401, "invalid_credentials"));
    assert_eq!((s1, b1), (s2, b2));
}

#[actix_web::test]
async fn login_is_rate_limited_per_email_with_retry_after() {
    let app = TestApp::with(&[
        ("RATE_LIMIT_LOGIN_EMAIL", "3/60"),
        ("RATE_LIMIT_LOGIN_IP", "100/60"),
    ])
    .await;
    let (s, b) = register(&app, "target@example.com", "buyer").await;
    assert_eq!(s, 201, "{b}");
    let body = json!({"email": "target@example.com", "password": "wrong password!"});
    for _ in 0..3 {
        let (s, _) = app.post("/api/auth/login", None, body.clone()).await;
        assert_eq!(s, 401);
    }
    let res = app
        .client
        .post(app.at("/api/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let b: Value = res.json().await.unwrap();
    assert_eq!(code(&b), "rate_limited");
    // Even the right password waits: the limit is on attempts, not failures.
    let (s, _) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "target@example.com", "password": PW}),
        )
        .await;
    assert_eq!(s, 429);
    // Another address is not affected.
    let (s, _) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "other@example.com", "password": PW}),
        )
        .await;
    assert_eq!(s, 401);
}

#[actix_web::test]
async fn login_is_rate_limited_per_ip() {
    let app = TestApp::with(&[("RATE_LIMIT_LOGIN_IP", "2/60")]).await;
    for i in 0..2 {
        let (s, _) = app
            .post(
                "/api/auth/login",
                None,
                json!({"email": format!("u{i}@example.com"), "password": PW}),
            )
            .await;
        assert_eq!(s, 401);
    }
    let (s, b) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "u9@example.com", "password": PW}),
        )
        .await;
    assert_eq!((s, code(&b)), (429, "rate_limited"));
}

#[actix_web::test]
async fn registration_refuses_bad_input_and_writes_nothing() {
    let app = TestApp::sqlite().await;
    let cases = [
        json!({"email": "not-an-email", "password": PW, "role": "buyer"}),
        json!({"email": "a@example.com", "password": "short", "role": "buyer"}),
        json!({"email": "a@example.com", "password": PW, "role": "admin"}),
        json!({"email": "a@example.com", "password": "x".repeat(300), "role": "buyer"}),
        json!({"email": format!("{}@example.com", "a".repeat(300)), "password": PW, "role": "buyer"}),
        json!({"email": "a'; DROP TABLE users;--@example.com", "password": PW, "role": "buyer"}),
    ];
    for body in cases {
        let (s, b) = app.post("/api/auth/register", None, body.clone()).await;
        assert_eq!((s, code(&b)), (422, "validation_failed"), "{body}");
        assert!(b["error"]["fields"].is_object());
    }
    let (s, b) = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": 5, "password": PW, "role": "buyer"}),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "invalid_json"));
    let (s, b) = app
        .post_raw(
            "/api/auth/register",
            None,
            "application/json",
            b"{\"email\": ".to_vec(),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "invalid_json"));
    let (s, b) = app
        .post_raw(
            "/api/auth/register",
            None,
            "application/json",
            vec![b' '; 200_000],
        )
        .await;
    assert_eq!((s, code(&b)), (413, "payload_too_large"));
    // Nothing was written: the one valid registration now succeeds and is the only account.
    let (s, _) = register(&app, "a@example.com", "buyer").await;
    assert_eq!(s, 201);
    let (s, b) = register(&app, "A@example.com", "creator").await;
    assert_eq!((s, code(&b)), (409, "email_taken"));
}

#[actix_web::test]
async fn bad_tokens_are_refused() {
    let app = TestApp::sqlite().await;
    for header in ["Bearer nonsense", "Basic Zm9vOmJhcg==", "Bearer "] {
        let res = app
            .client
            .get(app.at("/api/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{header}");
    }
    let (s, _) = app.get("/api/me", None).await;
    assert_eq!(s, 401);
    let (s, b) = app
        .post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": "made-up"}),
        )
        .await;
    assert_eq!((s, code(&b)), (401, "unauthorized"));
    let (s, _) = app
        .post(
            "/api/auth/logout",
            None,
            json!({"refresh_token": "made-up"}),
        )
        .await;
    assert_eq!(s, 204);
}

#[actix_web::test]
async fn logout_ends_the_session() {
    let app = TestApp::sqlite().await;
    let (s, b) = register(&app, "leaver@example.com", "buyer").await;
    assert_eq!(s, 201, "{b}");
    let r = b["refresh_token"].as_str().unwrap();
    let (s, _) = app
        .post("/api/auth/logout", None, json!({"refresh_token": r}))
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .post("/api/auth/refresh", None, json!({"refresh_token": r}))
        .await;
    assert_eq!(s, 401);
}

async fn concurrent_refresh_has_one_winner(app: &TestApp) {
    let (_, b) = register(app, "racer@example.com", "buyer").await;
    let r = b["refresh_token"].as_str().unwrap().to_string();
    let futs = (0..8).map(|_| app.post("/api/auth/refresh", None, json!({"refresh_token": r})));
    let results = futures_util::future::join_all(futs).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(results.iter().all(|(s, _)| *s == 200 || *s == 401));
}

#[actix_web::test]
async fn concurrent_refreshes_of_one_token_have_one_winner_on_sqlite() {
    concurrent_refresh_has_one_winner(&TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn concurrent_refreshes_of_one_token_have_one_winner_on_postgres() {
    concurrent_refresh_has_one_winner(&TestApp::postgres().await).await;
}

#[actix_web::test]
async fn a_token_issued_before_verification_can_publish_once_the_email_is_verified() {
    let app = TestApp::sqlite().await;
    let (s, b) = register(&app, "fresh@example.com", "creator").await;
    assert_eq!(s, 201);
    let token = b["access_token"].as_str().unwrap().to_string();
    let (_, sf) = app
        .post(
            "/api/storefronts",
            Some(&token),
            json!({"slug": "fresh-shop", "title": "Fresh"}),
        )
        .await;
    let id = sf["id"].as_str().unwrap().to_string();
    let (s, b) = app
        .post(
            &format!("/api/storefronts/{id}/publish"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!((s, code(&b)), (403, "email_unverified"));
    // Verify through the mailed link (read from the outbox).
    let text = outbox_mails(&app)
        .await
        .first()
        .unwrap()
        .replace("=\r\n", "")
        .replace("=3D", "=");
    let t = text
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let (s, _) = app
        .post("/api/auth/verify", None, json!({"token": t}))
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .post(
            &format!("/api/storefronts/{id}/publish"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("published")), "{b}");
}
