//! Promises of the README that no other test held the service to: account deletion ends
//! every way back in (sessions, access tokens, mailed links) and takes the storefronts
//! down; raw analytics events are pruned after their keeping time while the rollups stay;
//! verification and reset mails are limited per address; and two nodes on one store keep
//! a buyer's limit and draw a raffle once.

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use livedrop::db::models::analytics as analytics_model;
use livedrop::domain::ids::{StorefrontId, UserId};
use serde_json::{json, Value};

use crate::cluster::two_nodes;
use crate::smtp::{Received, SmtpServer};
use crate::support::{
    code, eventually, fresh_pg_database, storefront_with_product, user_with_token, TestApp,
};

use crate::auth::{register, token_of, PW};

async fn slug_of(app: &TestApp, sf: StorefrontId) -> String {
    livedrop::db::models::storefront::find(&app.state.store, sf)
        .await
        .unwrap()
        .unwrap()
        .slug
}

// ---------------------------------------------------------------------------------------
// 1. Account deletion
// ---------------------------------------------------------------------------------------

/// Waits for `n` mails and returns them.
async fn mails(smtp: &mut SmtpServer, n: usize) -> Vec<Received> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(smtp.next(10).await);
    }
    out
}

async fn deleting_an_account_ends_every_way_back_in(app: TestApp, mut smtp: SmtpServer) {
    let email = "leaving@example.com";
    let (s, b) = register(&app, email, "creator").await;
    assert_eq!(s, 201, "{b}");
    let access = b["access_token"].as_str().unwrap().to_string();
    let first_refresh = b["refresh_token"].as_str().unwrap().to_string();
    let user = UserId::parse(b["user"]["id"].as_str().unwrap()).unwrap();
    // A second session, from a sign-in.
    let (s, b) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": email, "password": PW}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let login_refresh = b["refresh_token"].as_str().unwrap().to_string();
    // Refreshing works before the deletion (and rotates the token).
    let (s, b) = app
        .post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": first_refresh}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let rotated_refresh = b["refresh_token"].as_str().unwrap().to_string();

    // Two mailed links, neither used: the verification of the sign-up and a reset.
    let (s, _) = app
        .post("/api/auth/password/forgot", None, json!({"email": email}))
        .await;
    assert_eq!(s, 202);
    let got = mails(&mut smtp, 2).await;
    let verify_link = got
        .iter()
        .find_map(|m| m.link(&format!("{}/verify?token=", app.url)))
        .expect("a verification mail");
    let reset_link = got
        .iter()
        .find_map(|m| m.link(&format!("{}/reset?token=", app.url)))
        .expect("a reset mail");

    // Its storefront, and someone else's, are on the web.
    let (sf, _) = storefront_with_product(&app, user).await;
    let slug = slug_of(&app, sf).await;
    let (other, _) = user_with_token(&app, "creator").await;
    let (other_sf, _) = storefront_with_product(&app, other).await;
    let other_slug = slug_of(&app, other_sf).await;
    assert_eq!(app.get(&format!("/s/{slug}"), None).await.0, 200);
    let (s, b) = app.get(&format!("/api/storefronts/{slug}"), None).await;
    assert_eq!(s, 200, "{b}");

    let (s, b) = app
        .send(
            reqwest::Method::DELETE,
            "/api/me",
            Some(&access),
            json!({"password": PW}),
        )
        .await;
    assert_eq!(s, 204, "{b}");

    // Its access token is refused at once.
    let (s, b) = app.get("/api/me", Some(&access)).await;
    assert_eq!((s, code(&b)), (401, "unauthorized"), "{b}");
    let (s, b) = app.get("/api/storefronts", Some(&access)).await;
    assert_eq!((s, code(&b)), (401, "unauthorized"), "{b}");
    // No refresh token of any of its sessions refreshes.
    for r in [&rotated_refresh, &login_refresh] {
        let (s, b) = app
            .post("/api/auth/refresh", None, json!({"refresh_token": r}))
            .await;
        assert_eq!((s, code(&b)), (401, "unauthorized"), "{b}");
    }
    // The links mailed before no longer work.
    let (s, b) = app
        .post(
            "/api/auth/verify",
            None,
            json!({"token": token_of(&verify_link)}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (404, "invalid_link"),
        "a verification link of a deleted account: {b}"
    );
    let (s, b) = app
        .post(
            "/api/auth/password/reset",
            None,
            json!({"token": token_of(&reset_link), "password": "a takeover passphrase"}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (400, "invalid_token"),
        "a reset link of a deleted account: {b}"
    );
    // Nor does the password.
    let (s, b) = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": email, "password": PW}),
        )
        .await;
    assert_eq!((s, code(&b)), (401, "invalid_credentials"), "{b}");

    // Its storefront is taken down; the other one stays.
    let (s, _) = app.get(&format!("/s/{slug}"), None).await;
    assert_eq!(s, 404, "the deleted account's page is still served");
    let (s, b) = app.get(&format!("/api/storefronts/{slug}"), None).await;
    assert_eq!((s, code(&b)), (404, "not_found"), "{b}");
    let (s, b) = app.get(&format!("/api/storefronts/{sf}"), None).await;
    assert_eq!((s, code(&b)), (404, "not_found"), "{b}");
    assert_eq!(app.get(&format!("/s/{other_slug}"), None).await.0, 200);
    app.stop().await;
}

#[actix_web::test]
async fn deleting_an_account_ends_its_sessions_tokens_links_and_storefronts() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with(&[("RATE_LIMITS", "off"), ("SMTP_URL", &smtp.url)]).await;
    deleting_an_account_ends_every_way_back_in(app, smtp).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn deleting_an_account_ends_its_sessions_tokens_links_and_storefronts_on_postgres() {
    let smtp = SmtpServer::start().await;
    let db = fresh_pg_database().await;
    let app = TestApp::with(&[
        ("RATE_LIMITS", "off"),
        ("SMTP_URL", &smtp.url),
        ("DATABASE_URL", &db),
    ])
    .await;
    deleting_an_account_ends_every_way_back_in(app, smtp).await;
}

// ---------------------------------------------------------------------------------------
// 2. Analytics retention
// ---------------------------------------------------------------------------------------

async fn pageview(app: &TestApp, slug: &str, kind: &str, path: &str) {
    let r = app
        .client
        .post(app.at("/api/events"))
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        )
        .json(&json!({"storefront": slug, "type": kind, "path": path}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
}

/// (grain, bucket, pageviews, clicks) of every rollup of `sf`.
async fn rollups(
    app: &TestApp,
    sf: StorefrontId,
) -> Vec<(String, chrono::NaiveDateTime, i64, i64)> {
    use livedrop::db::schema::analytics_rollups as r;
    let mut conn = app.state.store.read().await.unwrap();
    livedrop::db_run!(conn, |c| {
        r::table
            .filter(r::storefront_id.eq(sf.to_string()))
            .select((r::grain, r::bucket, r::pageviews, r::clicks))
            .load(c)
            .await
            .unwrap()
    })
}

/// Sums of (pageviews, clicks) of the rollups of `grain` before / from `cutoff`.
fn sums(
    rows: &[(String, chrono::NaiveDateTime, i64, i64)],
    grain: &str,
    cutoff: chrono::NaiveDateTime,
) -> ((i64, i64), (i64, i64)) {
    let mut old = (0, 0);
    let mut new = (0, 0);
    for (_, bucket, views, clicks) in rows.iter().filter(|r| r.0 == grain) {
        let into = if *bucket < cutoff { &mut old } else { &mut new };
        into.0 += views;
        into.1 += clicks;
    }
    (old, new)
}

/// Node `a` records events 30 days ago (within the 31-day keeping time of raw events) and 33
/// days ago (past it), stamped by its clock moved back; then a node `b` starts on the
/// same store with the real time, and its janitor's prune, the one the service runs on
/// its own, deletes the old raw events and keeps every daily and hourly rollup (hourly
/// ones are kept 35 days).
async fn old_raw_events_are_pruned_and_their_rollups_stay(vars: &[(&str, &str)]) {
    let a = TestApp::with(vars).await;
    let (creator, _) = user_with_token(&a, "creator").await;
    let (sf, _) = storefront_with_product(&a, creator).await;
    let slug = slug_of(&a, sf).await;

    // The recent events first, then the old ones, and the clock is left in the past: node
    // a's own janitor (it prunes at start and every minute, on its clock) then never sees a
    // time at which what is checked below is due.
    a.state.clock.advance(-Duration::days(30));
    pageview(&a, &slug, "pageview", "/recent").await;
    a.state.registry.flush_analytics(sf).await.unwrap();
    a.state.clock.advance(-Duration::days(3));
    pageview(&a, &slug, "pageview", "/old").await;
    pageview(&a, &slug, "pageview", "/old").await;
    pageview(&a, &slug, "click", "/old").await;
    a.state.registry.flush_analytics(sf).await.unwrap();

    let cutoff = livedrop::db::models::now() - analytics_model::KEEP_EVENTS;
    let events = analytics_model::events(&a.state.store, sf, 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events.iter().filter(|e| e.at < cutoff).count(), 3);
    let before = rollups(&a, sf).await;
    for grain in ["minute", "hour", "day"] {
        assert_eq!(
            sums(&before, grain, cutoff),
            ((2, 1), (1, 0)),
            "{grain}: {before:?}"
        );
    }
    a.stop().await;

    // A node starting now prunes within its first second, then about once a minute.
    let b = TestApp::with(vars).await;
    let cutoff = b.state.clock.now() - analytics_model::KEEP_EVENTS;
    eventually(10, || async {
        let events = analytics_model::events(&b.state.store, sf, 100)
            .await
            .unwrap();
        events.iter().all(|e| e.at >= cutoff).then_some(())
    })
    .await;
    let events = analytics_model::events(&b.state.store, sf, 100)
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind.as_str(), e.path.as_str()))
            .collect::<Vec<_>>(),
        [("pageview", "/recent")],
        "the event within its keeping time stays"
    );
    let after = rollups(&b, sf).await;
    assert_eq!(
        sums(&after, "day", cutoff),
        ((2, 1), (1, 0)),
        "daily rollups stay: {after:?}"
    );
    assert_eq!(
        sums(&after, "hour", cutoff),
        ((2, 1), (1, 0)),
        "hourly rollups stay 35 days: {after:?}"
    );
    assert_eq!(
        sums(&after, "minute", cutoff),
        ((0, 0), (0, 0)),
        "minute rollups are kept 2 days: {after:?}"
    );
    b.stop().await;
}

#[actix_web::test]
async fn raw_analytics_events_past_31_days_are_pruned_and_rollups_stay() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().into_owned();
    old_raw_events_are_pruned_and_their_rollups_stay(&[
        ("RATE_LIMITS", "off"),
        ("DATA_DIR", &data),
    ])
    .await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn raw_analytics_events_past_31_days_are_pruned_and_rollups_stay_on_postgres() {
    let db = fresh_pg_database().await;
    old_raw_events_are_pruned_and_their_rollups_stay(&[
        ("RATE_LIMITS", "off"),
        ("DATABASE_URL", &db),
    ])
    .await;
}

// ---------------------------------------------------------------------------------------
// 3. The per-address mail limit
// ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn verification_and_reset_mails_are_limited_per_address() {
    let mut smtp = SmtpServer::start().await;
    let app = TestApp::with(&[
        ("RATE_LIMIT_MAIL_EMAIL", "3/3600"),
        ("RATE_LIMIT_REGISTER_IP", "100/3600"),
        ("SMTP_URL", &smtp.url),
    ])
    .await;
    let reset_me = "reset-me@example.com";
    let resend_me = "resend-me@example.com";
    let (s, b) = register(&app, reset_me, "buyer").await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = register(&app, resend_me, "buyer").await;
    assert_eq!(s, 201, "{b}");
    let resend_token = b["access_token"].as_str().unwrap().to_string();

    // Forgot: an address with an account and one without get the same answers, one by one.
    let mut with_account = Vec::new();
    let mut without = Vec::new();
    for _ in 0..5 {
        for (email, into) in [
            (reset_me, &mut with_account),
            ("nobody@example.com", &mut without),
        ] {
            let (s, b) = app
                .post("/api/auth/password/forgot", None, json!({"email": email}))
                .await;
            into.push((s, code(&b).to_string()));
        }
    }
    assert_eq!(with_account, without, "the answers tell who has an account");

    // Resend: the limit, then 429 with a Retry-After.
    let mut resends = Vec::new();
    for _ in 0..5 {
        let res = app
            .client
            .post(app.at("/api/auth/verify/resend"))
            .bearer_auth(&resend_token)
            .send()
            .await
            .unwrap();
        let retry = res.headers().get("retry-after").is_some();
        let (s, b) = crate::support::into(res).await;
        resends.push((s, code(&b).to_string(), retry));
    }
    // Verification and reset mails share the address's budget.
    let (s, b) = app
        .post(
            "/api/auth/password/forgot",
            None,
            json!({"email": resend_me}),
        )
        .await;
    let forgot_after_resends = (s, code(&b).to_string());

    // Count what reached the relay. A last sign-up's mail is queued after everything
    // above; once it arrived and the queue is empty, every mail accepted has arrived.
    let (s, _) = register(&app, "last@example.com", "buyer").await;
    assert_eq!(s, 201);
    let mut got: Vec<Received> = Vec::new();
    eventually(10, || {
        while let Ok(m) = smtp.mails.try_recv() {
            got.push(m);
        }
        let last = got.iter().any(|m| m.to == ["last@example.com"]);
        let store = app.state.store.clone();
        async move {
            let unsent = livedrop::db::models::mail::count_unsent(&store)
                .await
                .unwrap();
            (last && unsent == 0).then_some(())
        }
    })
    .await;
    while let Ok(m) = smtp.mails.try_recv() {
        got.push(m);
    }
    let to = |who: &str, link: &str| {
        got.iter()
            .filter(|m| m.to == [who.to_string()])
            .filter(|m| m.link(&format!("{}{link}", app.url)).is_some())
            .count()
    };
    assert_eq!(
        to(reset_me, "/reset?token="),
        3,
        "reset mails beyond the limit were sent"
    );
    assert_eq!(
        to(resend_me, "/verify?token="),
        1 + 3,
        "verification mails beyond the limit were sent (the sign-up's, then 3 resends)"
    );
    assert_eq!(to(resend_me, "/reset?token="), 0);
    assert!(got.iter().all(|m| m.to != ["nobody@example.com"]));

    let ok = (202, "<no code>".to_string());
    let limited = (429, "rate_limited".to_string());
    assert_eq!(
        with_account,
        [
            ok.clone(),
            ok.clone(),
            ok.clone(),
            limited.clone(),
            limited.clone()
        ]
    );
    assert_eq!(
        resends,
        [
            (202, "<no code>".into(), false),
            (202, "<no code>".into(), false),
            (202, "<no code>".into(), false),
            (429, "rate_limited".into(), true),
            (429, "rate_limited".into(), true),
        ]
    );
    assert_eq!(forgot_after_resends, limited);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------
// 4. Two nodes
// ---------------------------------------------------------------------------------------

#[actix_web::test]
#[ignore = "needs postgres and redis"]
async fn a_buyers_limit_holds_across_two_nodes() {
    let (a, b) = two_nodes().await;
    let (creator, token) = user_with_token(&a, "creator").await;
    let (sf, product) = storefront_with_product(&a, creator).await;
    let (s, d) = a
        .post(
            "/api/drops",
            Some(&token),
            json!({"storefront_id": sf, "product_id": product, "title": "Limit 2",
                "price_cents": 100, "currency": "USD", "variants": [{"name": "One", "stock": 10}],
                "opens_at": a.state.clock.now().and_utc(), "waiting_room_seconds": 0,
                "per_buyer_limit": 2}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let drop = d["id"].as_str().unwrap().to_string();
    let variant = d["variants"][0]["id"].as_str().unwrap().to_string();
    let (s, p) = a
        .post(
            &format!("/api/drops/{drop}/publish"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    // Both nodes have the drop loaded before the buyer's requests.
    assert_eq!(b.get(&format!("/api/drops/{drop}"), None).await.0, 200);

    let (_, buyer) = user_with_token(&a, "buyer").await;
    let path = format!("/api/drops/{drop}/holds");
    let body = json!({"variant_id": variant, "quantity": 1});
    let answers = futures_util::future::join_all((0..10).map(|i| {
        let node = if i % 2 == 0 { &a } else { &b };
        node.post(&path, Some(&buyer), body.clone())
    }))
    .await;
    let granted = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(granted, 2, "{answers:?}");
    for (s, b) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_eq!((*s, code(b)), (409, "limit_reached"), "{b}");
    }
    // Afterwards too, on either node; and the drop lost exactly 2 units.
    for node in [&a, &b] {
        let (s, r) = node.post(&path, Some(&buyer), body.clone()).await;
        assert_eq!((s, code(&r)), (409, "limit_reached"), "{r}");
    }
    for node in [&a, &b] {
        eventually(10, || async {
            let (_, d) = node.get(&format!("/api/drops/{drop}"), None).await;
            (d["variants"][0]["remaining"].as_i64() == Some(8)).then_some(())
        })
        .await;
    }
    a.stop().await;
    b.stop().await;
}

#[actix_web::test]
#[ignore = "needs postgres and redis"]
async fn a_raffle_drawn_on_two_nodes_at_once_is_drawn_once() {
    let (a, b) = two_nodes().await;
    let (creator, token) = user_with_token(&a, "creator").await;
    let (sf, _) = storefront_with_product(&a, creator).await;
    let opens = a.state.clock.now().and_utc();
    let (s, r) = a
        .post(
            "/api/raffles",
            Some(&token),
            json!({"storefront_id": sf, "title": "Two-node giveaway",
                "prizes": [{"rank_from": 1, "rank_to": 1, "description": "Signed print"},
                           {"rank_from": 2, "rank_to": 3, "description": "Sticker pack"}],
                "alternates": 2, "entry": "free",
                "opens_at": opens, "closes_at": opens + Duration::seconds(60)}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let (s, p) = a
        .post(
            &format!("/api/raffles/{id}/publish"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{p}");

    let mut buyers = Vec::new();
    for _ in 0..8 {
        buyers.push(user_with_token(&a, "buyer").await.1);
    }
    let enter = format!("/api/raffles/{id}/entries");
    let entries = futures_util::future::join_all(buyers.iter().enumerate().map(|(i, t)| {
        let node = if i % 2 == 0 { &a } else { &b };
        node.post(&enter, Some(t), Value::Null)
    }))
    .await;
    for (s, e) in &entries {
        assert_eq!(*s, 201, "{e}");
    }
    let (_, admin) = user_with_token(&a, "admin").await;
    a.state.clock.advance(Duration::seconds(61));
    b.state.clock.advance(Duration::seconds(61));

    let path = format!("/api/admin/raffles/{id}/draw");
    let draws = futures_util::future::join_all((0..4).map(|i| {
        let node = if i % 2 == 0 { &a } else { &b };
        node.post(&path, Some(&admin), Value::Null)
    }))
    .await;
    let first = &draws[0].1;
    for (s, d) in &draws {
        assert_eq!(*s, 200, "{d}");
        assert_eq!(d["winners"], first["winners"], "two results: {draws:?}");
        assert_eq!(
            d["alternates"], first["alternates"],
            "two results: {draws:?}"
        );
    }
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|w| w["entrant"].as_str().unwrap().to_string())
            .collect()
    };
    let winners = names(&first["winners"]);
    let alternates = names(&first["alternates"]);
    assert_eq!((winners.len(), alternates.len()), (3, 2));

    // One set of picks is stored: the winners then the alternates, in draw order.
    let picks: Vec<(i64, String, String)> = {
        use livedrop::db::schema::raffle_picks as p;
        let mut conn = a.state.store.read().await.unwrap();
        livedrop::db_run!(conn, |c| {
            p::table
                .filter(p::raffle_id.eq(&id))
                .order(p::position.asc())
                .select((p::position, p::kind, p::pseudonym))
                .load(c)
                .await
                .unwrap()
        })
    };
    let expected: Vec<(i64, String, String)> = winners
        .iter()
        .map(|w| ("winner", w))
        .chain(alternates.iter().map(|a| ("alternate", a)))
        .enumerate()
        .map(|(i, (k, n))| (i as i64 + 1, k.to_string(), n.clone()))
        .collect();
    assert_eq!(picks, expected);

    // Both nodes come to show the raffle drawn, with that one result (the node that did
    // not record the draw re-reads its row within about a second).
    for node in [&a, &b] {
        let shown = eventually(10, || async {
            let (_, r) = node.get(&format!("/api/raffles/{id}"), None).await;
            (r["status"] == "drawn").then_some(r)
        })
        .await;
        assert_eq!(shown["winners"], first["winners"], "{shown}");
        assert_eq!(shown["alternates"], first["alternates"], "{shown}");
    }
    // Both serve the same proof, which verifies.
    let (s, proof_a) = a.get(&format!("/api/raffles/{id}/proof"), None).await;
    assert_eq!(s, 200, "{proof_a}");
    let (s, proof_b) = b.get(&format!("/api/raffles/{id}/proof"), None).await;
    assert_eq!(s, 200, "{proof_b}");
    assert_eq!(proof_a, proof_b);
    let proof: livedrop::raffle::proof::Proof = serde_json::from_value(proof_a).unwrap();
    livedrop::raffle::proof::verify(&proof).expect("the proof verifies");
    assert_eq!(
        proof
            .winners
            .iter()
            .map(|w| w.entrant.clone())
            .collect::<Vec<_>>(),
        winners
    );
    assert_eq!(proof.entries.len(), 8);
    a.stop().await;
    b.stop().await;
}
