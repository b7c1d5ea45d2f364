//! The mail queue: with the SMTP relay down, requests that mail are answered and their mail
//! waits in the store; it is delivered when the relay comes back, also after the node was
//! killed; and two nodes on one store never both send the same mail.

use livedrop::db::models::mail::{self as model, MailRow};
use livedrop::db::Store;
use serde_json::json;

use crate::recovery;
use crate::smtp::{Received, SmtpServer};
use crate::support::{eventually, fresh_pg_database, TestApp};

const PW: &str = "correct-horse-battery";

/// Every row of the queue, read from `store`.
async fn rows(store: &Store) -> Vec<MailRow> {
    model::all(store).await.unwrap()
}

/// Wait until every queued mail to `to` has been tried at least once and failed (the
/// relay was really down), and none is claimed (no attempt is under way).
async fn tried_and_failed(store: &Store, to: &str) {
    eventually(20, || async move {
        let rows = rows(store).await;
        let mine: Vec<_> = rows.iter().filter(|r| r.recipient == to).collect();
        (!mine.is_empty()
            && mine.iter().all(|r| {
                r.sent_at.is_none()
                    && r.attempts >= 1
                    && r.last_error.is_some()
                    && r.claimed_until.is_none()
            }))
        .then_some(())
    })
    .await;
}

/// The next mail to `to` (others are skipped).
async fn mail_to(smtp: &mut SmtpServer, to: &str) -> Received {
    loop {
        let m = smtp.next(60).await;
        if m.to.iter().any(|t| t == to) {
            return m;
        }
    }
}

async fn relay_down_then_back(app: TestApp, relay: String) {
    // Both answers arrive while the relay is down (before, they waited on it and the
    // registration's mail was lost; a reset mail too).
    let (s, b) = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "queued@example.com", "password": PW, "role": "creator"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, _) = app
        .post(
            "/api/auth/password/forgot",
            None,
            json!({"email": "queued@example.com"}),
        )
        .await;
    assert_eq!(s, 202);
    // Both mails are in the store, tried, failed and kept.
    eventually(20, || {
        let store = app.state.store.clone();
        async move { (rows(&store).await.len() == 2).then_some(()) }
    })
    .await;
    tried_and_failed(&app.state.store, "queued@example.com").await;
    assert_eq!(queued_metric(&app).await, 2);

    // The relay comes back on its address: both mails arrive, with working links.
    let mut smtp = SmtpServer::start_at(&relay).await;
    let mut got = [
        mail_to(&mut smtp, "queued@example.com").await,
        mail_to(&mut smtp, "queued@example.com").await,
    ];
    got.sort_by_key(|m| m.text().contains("/reset?token="));
    let verify = got[0].link(&format!("{}/verify?token=", app.url)).unwrap();
    let token = verify.split("token=").nth(1).unwrap();
    let (s, b) = app
        .post("/api/auth/verify", None, json!({"token": token}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(got[1].link(&format!("{}/reset?token=", app.url)).is_some());
    // Marked sent, bodies (with their single-use links) erased.
    eventually(20, || {
        let store = app.state.store.clone();
        async move {
            let rows = rows(&store).await;
            rows.iter()
                .all(|r| r.sent_at.is_some() && r.body_text.is_empty())
                .then_some(())
        }
    })
    .await;
    assert_eq!(queued_metric(&app).await, 0);
    app.stop().await;
}

const METRICS_TOKEN: &str = "mail-test-metrics-token";

/// `livedrop_mail_queued` from `/metrics`.
async fn queued_metric(app: &TestApp) -> i64 {
    let body = app
        .client
        .get(app.at("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix("livedrop_mail_queued "))
        .unwrap_or_else(|| panic!("no livedrop_mail_queued in {body}"))
        .parse()
        .unwrap()
}

#[actix_web::test]
async fn with_the_relay_down_requests_are_answered_and_mail_arrives_when_it_returns() {
    let relay = SmtpServer::free_addr();
    let app = TestApp::with(&[
        ("RATE_LIMITS", "off"),
        ("METRICS_TOKEN", METRICS_TOKEN),
        ("SMTP_URL", &format!("smtp://{relay}")),
    ])
    .await;
    relay_down_then_back(app, relay).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn with_the_relay_down_requests_are_answered_and_mail_arrives_when_it_returns_pg() {
    let relay = SmtpServer::free_addr();
    let url = fresh_pg_database().await;
    let app = TestApp::with(&[
        ("RATE_LIMITS", "off"),
        ("METRICS_TOKEN", METRICS_TOKEN),
        ("DATABASE_URL", &url),
        ("SMTP_URL", &format!("smtp://{relay}")),
    ])
    .await;
    relay_down_then_back(app, relay).await;
}

/// The real binary accepts a sign-up with the relay down, is killed with SIGKILL, and
/// started again with the relay up: the verification mail arrives.
async fn queued_mail_survives_a_kill(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let store_url = database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("livedrop.db").display()));
    let relay = SmtpServer::free_addr();
    let smtp_url = format!("smtp://{relay}");
    let vars = [("SMTP_URL", smtp_url.as_str())];
    let http = reqwest::Client::new();

    let mut node = recovery::start_with(dir.path(), database_url.as_deref(), &vars);
    let res = http
        .post(format!("{}/api/auth/register", node.url))
        .json(&json!({"email": "survivor@example.com", "password": PW, "role": "buyer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // The 201 came after the mail was committed; wait until the node has tried the
    // relay and failed, then kill it between attempts.
    let store = Store::connect(&store_url, 2).await.unwrap();
    tried_and_failed(&store, "survivor@example.com").await;
    node.child.kill().unwrap(); // SIGKILL
    node.child.wait().unwrap();

    let mut smtp = SmtpServer::start_at(&relay).await;
    let node = recovery::start_with(dir.path(), database_url.as_deref(), &vars);
    let mail = mail_to(&mut smtp, "survivor@example.com").await;
    assert!(mail.text().contains("/verify?token="), "{}", mail.text());
    eventually(20, || {
        let store = store.clone();
        async move {
            let rows = rows(&store).await;
            (rows.len() == 1 && rows[0].sent_at.is_some()).then_some(())
        }
    })
    .await;
    drop(node);
}

#[actix_web::test]
async fn mail_queued_while_the_relay_is_down_survives_a_kill() {
    queued_mail_survives_a_kill(None).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn mail_queued_while_the_relay_is_down_survives_a_kill_pg() {
    queued_mail_survives_a_kill(Some(fresh_pg_database().await)).await;
}

/// Two nodes on one Postgres share the queue: every mail is claimed once and sent once.
#[actix_web::test]
#[ignore = "needs postgres"]
async fn two_nodes_never_send_the_same_mail() {
    const MAILS: usize = 200;
    let mut smtp = SmtpServer::start().await;
    let url = fresh_pg_database().await;
    let vars = [
        ("RATE_LIMITS", "off"),
        ("DATABASE_URL", url.as_str()),
        ("SMTP_URL", smtp.url.as_str()),
    ];
    let a = TestApp::with(&vars).await;
    let b = TestApp::with(&vars).await;
    // Queued through both nodes in turn: each wakes its own sender, and both senders
    // claim from the one table while the other is at it.
    for i in 0..MAILS {
        let node = if i % 2 == 0 { &a } else { &b };
        let mail = livedrop::mail::Mail {
            to: format!("n{i}@example.com"),
            subject: format!("mail {i}"),
            text: "hello".into(),
            html: None,
        };
        node.state.mail(mail).await.unwrap();
    }
    eventually(60, || {
        let store = a.state.store.clone();
        async move { (model::count_unsent(&store).await.unwrap() == 0).then_some(()) }
    })
    .await;
    let rows = rows(&a.state.store).await;
    assert_eq!(rows.len(), MAILS);
    assert!(
        rows.iter().all(|r| r.attempts == 1),
        "each row was claimed once: {:?}",
        rows.iter().map(|r| r.attempts).collect::<Vec<_>>()
    );
    // Every mail reached the relay before it was marked sent, so all are in the channel.
    let mut to = Vec::new();
    while let Ok(m) = smtp.mails.try_recv() {
        to.extend(m.to);
    }
    to.sort();
    let mut expected: Vec<String> = (0..MAILS).map(|i| format!("n{i}@example.com")).collect();
    expected.sort();
    assert_eq!(to, expected, "each mail delivered exactly once");
    a.stop().await;
    b.stop().await;
}

/// Mail waiting for a person names them: deleting their account deletes it too.
#[actix_web::test]
async fn deleting_an_account_deletes_its_queued_mail() {
    let relay = SmtpServer::free_addr();
    let app = TestApp::with(&[
        ("RATE_LIMITS", "off"),
        ("SMTP_URL", &format!("smtp://{relay}")),
    ])
    .await;
    let (s, b) = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "leaving@example.com", "password": PW, "role": "buyer"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let token = b["access_token"].as_str().unwrap().to_string();
    let (s, _) = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "staying@example.com", "password": PW, "role": "buyer"}),
        )
        .await;
    assert_eq!(s, 201);
    let before = rows(&app.state.store).await;
    assert!(before.iter().any(|r| r.recipient == "leaving@example.com"));
    let (s, b) = app
        .send(
            reqwest::Method::DELETE,
            "/api/me",
            Some(&token),
            json!({"password": PW}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let after: Vec<String> = rows(&app.state.store)
        .await
        .into_iter()
        .map(|r| r.recipient)
        .collect();
    assert_eq!(after, ["staying@example.com"]);
    app.stop().await;
}
