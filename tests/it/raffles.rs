//! Raffles over HTTP and WebSocket: the lifecycle on the (moved) clock and every refusal,
//! the draw once under concurrent requests, the proof recomputed (and tampering caught),
//! the monthly ticket ledger with refund reversal, results by socket and mail, and a
//! raffle-gated drop whose lapsed offers cascade to the alternates in draw order.

use std::time::Duration as StdDuration;

use chrono::Duration;
use futures_util::SinkExt;
use livedrop::raffle::proof::{self, Proof};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{
    code, eventually, live_drop, next_frame, socket, storefront_with_product, user_with_token,
    TestApp, Ws,
};

/// A creator's storefront and a raffle on it opening `opens_in` seconds from the test
/// clock's now and closing 60 s after that. Returns (creator token, storefront, raffle).
async fn raffle(app: &TestApp, opens_in: i64, extra: Value) -> (String, String, String) {
    let (creator, token) = user_with_token(app, "creator").await;
    let (sf, _) = storefront_with_product(app, creator).await;
    let id = raffle_on(app, &token, &sf.to_string(), opens_in, extra).await;
    (token, sf.to_string(), id)
}

async fn raffle_on(app: &TestApp, token: &str, sf: &str, opens_in: i64, extra: Value) -> String {
    let opens = app.state.clock.now().and_utc() + Duration::seconds(opens_in);
    let mut body = json!({
        "storefront_id": sf, "title": "Signed print giveaway",
        "prizes": [{"rank_from": 1, "rank_to": 1, "description": "Signed print"},
                   {"rank_from": 2, "rank_to": 3, "description": "Sticker pack"}],
        "alternates": 2, "entry": "free",
        "opens_at": opens, "closes_at": opens + Duration::seconds(60),
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let (s, b) = app.post("/api/raffles", Some(token), body).await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let commitment = b["commitment"].as_str().unwrap();
    assert_eq!(commitment.len(), 64, "a SHA-256 in hex: {b}");
    let (s, p) = app
        .post(
            &format!("/api/raffles/{id}/publish"),
            Some(token),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    id
}

async fn enter(app: &TestApp, id: &str, token: &str) -> (u16, Value) {
    app.post(
        &format!("/api/raffles/{id}/entries"),
        Some(token),
        Value::Null,
    )
    .await
}

async fn draw(app: &TestApp, id: &str, token: &str) -> (u16, Value) {
    app.post(
        &format!("/api/admin/raffles/{id}/draw"),
        Some(token),
        Value::Null,
    )
    .await
}

async fn proof_of(app: &TestApp, id: &str) -> Proof {
    let res = app
        .client
        .get(app.at(&format!("/api/raffles/{id}/proof")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    serde_json::from_slice(&res.bytes().await.unwrap()).unwrap()
}

#[actix_web::test]
async fn a_raffle_opens_and_closes_on_the_clock_and_refuses_what_it_must() {
    let app = TestApp::sqlite().await;
    let (creator, _, id) = raffle(&app, 60, json!({})).await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (_, admin) = user_with_token(&app, "admin").await;

    let (s, b) = app.get(&format!("/api/raffles/{id}"), None).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("scheduled")), "{b}");
    assert_eq!(b["commitment"].as_str().unwrap().len(), 64);
    assert_eq!(
        (b["entrants"].as_i64(), b["tickets"].as_i64()),
        (Some(0), Some(0))
    );
    for field in ["opens_at", "closes_at", "server_time"] {
        assert!(b[field].is_string(), "{field} missing: {b}");
    }

    let (s, b) = enter(&app, &id, &buyer).await;
    assert_eq!((s, code(&b)), (409, "not_open"), "{b}");

    app.state.clock.advance(Duration::seconds(61));
    let (s, b) = enter(&app, &id, &buyer).await;
    assert_eq!((s, b["tickets"].as_i64()), (201, Some(1)), "{b}");
    let (s, b) = enter(&app, &id, &buyer).await;
    assert_eq!((s, code(&b)), (409, "already_entered"), "{b}");
    let (_, b) = app.get(&format!("/api/raffles/{id}"), None).await;
    assert_eq!(
        (
            b["status"].as_str(),
            b["entrants"].as_i64(),
            b["tickets"].as_i64()
        ),
        (Some("open"), Some(1), Some(1)),
        "the second entry added nothing: {b}"
    );

    // Draws: admins only, and only after close.
    let (s, b) = draw(&app, &id, &creator).await;
    assert_eq!((s, code(&b)), (403, "forbidden"), "{b}");
    let (s, b) = draw(&app, &id, &buyer).await;
    assert_eq!((s, code(&b)), (403, "forbidden"), "{b}");
    let (s, b) = draw(&app, &id, &admin).await;
    assert_eq!((s, code(&b)), (409, "raffle_open"), "{b}");
    let (s, b) = app.get(&format!("/api/raffles/{id}/proof"), None).await;
    assert_eq!((s, code(&b)), (409, "not_drawn"), "{b}");

    app.state.clock.advance(Duration::seconds(60));
    let (_, late) = user_with_token(&app, "buyer").await;
    let (s, b) = enter(&app, &id, &late).await;
    assert_eq!((s, code(&b)), (409, "raffle_closed"), "{b}");
    let (_, b) = app.get(&format!("/api/raffles/{id}"), None).await;
    assert_eq!(b["status"].as_str(), Some("closed"));

    // A draft is nobody's business but its creator's; bad input is a 4xx with a code.
    let (_, other) = user_with_token(&app, "creator").await;
    let (s, b) = app.get("/api/raffles/not-an-id", None).await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    let opens = app.state.clock.now().and_utc();
    let (s, b) = app
        .post(
            "/api/raffles",
            Some(&buyer),
            json!({"title": "x", "prizes": [], "alternates": 0,
            "entry": "free", "opens_at": opens, "closes_at": opens + Duration::seconds(9)}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (403, "forbidden"),
        "buyers create no raffles: {b}"
    );
    let (s, b) = app
        .post(
            "/api/raffles",
            Some(&other),
            json!({"title": "Platform", "alternates": 0,
            "prizes": [{"rank_from": 1, "rank_to": 1, "description": "A"}],
            "entry": "free", "opens_at": opens, "closes_at": opens + Duration::seconds(9)}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (403, "forbidden"),
        "platform raffles are admins': {b}"
    );
    for prizes in [
        json!([]),
        json!([{"rank_from": 2, "rank_to": 2, "description": "gap at 1"}]),
        json!([{"rank_from": 1, "rank_to": 2, "description": "A"}, {"rank_from": 2, "rank_to": 3, "description": "overlap"}]),
        json!([{"rank_from": 3, "rank_to": 1, "description": "backwards"}]),
    ] {
        let (s, b) = app
            .post(
                "/api/raffles",
                Some(&admin),
                json!({"title": "P", "prizes": prizes, "alternates": 0,
                "entry": "free", "opens_at": opens, "closes_at": opens + Duration::seconds(9)}),
            )
            .await;
        assert_eq!((s, code(&b)), (422, "validation_failed"), "{prizes}: {b}");
    }
    let (s, b) = app
        .post(
            "/api/raffles",
            Some(&admin),
            json!({"title": "P", "alternates": -1, "entry": "lottery",
            "prizes": [{"rank_from": 1, "rank_to": 1, "description": "A"}],
            "opens_at": opens, "closes_at": opens - Duration::seconds(9)}),
        )
        .await;
    assert_eq!((s, code(&b)), (422, "validation_failed"), "{b}");
    let fields = b["error"]["fields"].to_string();
    for f in ["alternates", "entry", "closes_at"] {
        assert!(fields.contains(f), "{f} not named: {b}");
    }
    app.stop().await;
}

/// `n` buyers enter; returns their tokens.
async fn entrants(app: &TestApp, id: &str, n: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    for _ in 0..n {
        tokens.push(user_with_token(app, "buyer").await.1);
    }
    let answers = futures_util::future::join_all(tokens.iter().map(|t| enter(app, id, t))).await;
    for (s, b) in answers {
        assert_eq!(s, 201, "{b}");
    }
    tokens
}

async fn draw_once_and_prove(app: TestApp) {
    let (_, _, id) = raffle(&app, 0, json!({})).await;
    let tokens = entrants(&app, &id, 40).await;
    let (_, b) = app.get(&format!("/api/raffles/{id}"), None).await;
    assert_eq!(
        (b["entrants"].as_i64(), b["tickets"].as_i64()),
        (Some(40), Some(40)),
        "{b}"
    );
    let (_, admin) = user_with_token(&app, "admin").await;
    app.state.clock.advance(Duration::seconds(61));

    // Two draws at once: one result.
    let ((s1, a), (s2, b)) = tokio::join!(draw(&app, &id, &admin), draw(&app, &id, &admin));
    assert_eq!((s1, s2), (200, 200), "{a} {b}");
    assert_eq!(a["winners"], b["winners"]);
    assert_eq!(a["alternates"], b["alternates"]);
    assert_eq!(a["winners"].as_array().unwrap().len(), 3);
    assert_eq!(a["alternates"].as_array().unwrap().len(), 2);
    let (s, c) = draw(&app, &id, &admin).await;
    assert_eq!(
        (s, &c["winners"]),
        (200, &a["winners"]),
        "a later draw repeats the result"
    );

    let (_, state) = app.get(&format!("/api/raffles/{id}"), None).await;
    assert_eq!(state["status"].as_str(), Some("drawn"));
    assert_eq!(state["winners"], a["winners"]);

    // The proof: the published commitment is SHA-256 of the revealed seed, the digest is
    // that of the entries, and the winners follow from both.
    let p = proof_of(&app, &id).await;
    assert_eq!(p.commitment, state["commitment"].as_str().unwrap());
    let seed: [u8; 32] = hex::decode(&p.seed).unwrap().try_into().unwrap();
    assert_eq!(proof::commitment(&seed), p.commitment);
    assert_eq!(p.entries.len(), 40);
    let summary = proof::verify(&p).expect("the proof verifies");
    assert_eq!(
        (summary.entries, summary.winners, summary.alternates),
        (40, 3, 2)
    );

    // Each entrant finds their own pseudonym in it, and their outcome.
    let mut outcomes = std::collections::BTreeMap::new();
    for t in &tokens {
        let (s, me) = app.get(&format!("/api/raffles/{id}/me"), Some(t)).await;
        assert_eq!(s, 200, "{me}");
        let name = me["entrant"].as_str().unwrap();
        assert!(
            p.entries.iter().any(|e| e.entrant == name),
            "{name} not in the proof"
        );
        *outcomes
            .entry(me["outcome"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(outcomes.get("won"), Some(&3), "{outcomes:?}");
    assert_eq!(outcomes.get("alternate"), Some(&2), "{outcomes:?}");
    assert_eq!(outcomes.get("not_drawn"), Some(&35), "{outcomes:?}");

    // Any change to the inputs or the order of winners is caught.
    let mut t = p.clone();
    t.entries[7].tickets += 1;
    assert!(
        proof::verify(&t).is_err(),
        "a changed ticket count verified"
    );
    let mut t = p.clone();
    t.winners.swap(0, 1);
    assert!(proof::verify(&t).is_err(), "swapped winners verified");
    let mut t = p.clone();
    t.seed = proof::commitment(&seed);
    assert!(proof::verify(&t).is_err(), "another seed verified");
    app.stop().await;
}

#[actix_web::test]
async fn a_draw_happens_once_under_concurrent_requests_and_its_proof_verifies() {
    draw_once_and_prove(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn a_draw_happens_once_under_concurrent_requests_and_its_proof_verifies_on_postgres() {
    draw_once_and_prove(TestApp::postgres().await).await;
}

#[actix_web::test]
async fn concurrent_entries_by_one_account_enter_it_once() {
    one_entry_each(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn concurrent_entries_by_one_account_enter_it_once_on_postgres() {
    one_entry_each(TestApp::postgres().await).await;
}

/// The raffle's totals as the store has them, and what its rows add up to: (entrants,
/// tickets) on the raffle, then (entrant rows, the ledger's sum).
async fn totals_and_sums(app: &TestApp, id: &str) -> ((i64, i64), (i64, i64)) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use livedrop::db::schema::{raffle_entrants, raffle_tickets, raffles};
    let mut conn = app.state.store.read().await.unwrap();
    let livedrop::db::DbConn::Postgres(c) = &mut conn else {
        panic!("a Postgres node")
    };
    let c: &mut livedrop::db::PgConn = c;
    let totals: (i64, i64) = raffles::table
        .find(id)
        .select((raffles::entrants, raffles::tickets))
        .first(c)
        .await
        .unwrap();
    let entrants: i64 = raffle_entrants::table
        .filter(raffle_entrants::raffle_id.eq(id))
        .count()
        .get_result(c)
        .await
        .unwrap();
    let ledger: Vec<i64> = raffle_tickets::table
        .filter(raffle_tickets::raffle_id.eq(id))
        .select(raffle_tickets::tickets)
        .load(c)
        .await
        .unwrap();
    (totals, (entrants, ledger.iter().sum()))
}

/// Two nodes each run the raffle's actor; 30 accounts each enter through both at once.
/// Neither actor knows the other's entries: the store's one-free-entry index decides, so
/// each account is in once, and the totals equal what the rows add up to.
#[actix_web::test]
#[ignore = "needs postgres and redis"]
async fn two_nodes_entering_the_same_accounts_count_each_once() {
    let (a, b) = crate::cluster::two_nodes().await;
    let (_, _, id) = raffle(&a, 0, json!({})).await;
    assert_eq!(b.get(&format!("/api/raffles/{id}"), None).await.0, 200);
    let mut buyers = Vec::new();
    for _ in 0..30 {
        buyers.push(user_with_token(&a, "buyer").await.1);
    }
    let answers = futures_util::future::join_all(
        buyers
            .iter()
            .flat_map(|t| [enter(&a, &id, t), enter(&b, &id, t)]),
    )
    .await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused = answers
        .iter()
        .filter(|(s, b)| *s == 409 && code(b) == "already_entered")
        .count();
    assert_eq!((created, refused), (30, 30), "{answers:?}");
    assert_eq!(totals_and_sums(&a, &id).await, ((30, 30), (30, 30)));
    a.stop().await;
    b.stop().await;
}

async fn one_entry_each(app: TestApp) {
    let (_, _, id) = raffle(&app, 0, json!({})).await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let answers = futures_util::future::join_all((0..20).map(|_| enter(&app, &id, &buyer))).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused = answers
        .iter()
        .filter(|(s, b)| *s == 409 && code(b) == "already_entered")
        .count();
    assert_eq!((created, refused), (1, 19), "{answers:?}");
    let (_, b) = app.get(&format!("/api/raffles/{id}"), None).await;
    assert_eq!(
        (b["entrants"].as_i64(), b["tickets"].as_i64()),
        (Some(1), Some(1))
    );
    app.stop().await;
}

/// Hold one unit and pay for it; returns the order id.
async fn buy(app: &TestApp, drop: &str, variant: &str, buyer: &str) -> String {
    let (s, h) = app
        .post(
            &format!("/api/drops/{drop}/holds"),
            Some(buyer),
            json!({"variant_id": variant, "quantity": 1}),
        )
        .await;
    assert_eq!(s, 201, "{h}");
    let (s, o) = app
        .post(
            &format!("/api/holds/{}/checkout", h["id"].as_str().unwrap()),
            Some(buyer),
            json!({"card": "4242424242424242"}),
        )
        .await;
    assert_eq!((s, o["status"].as_str()), (201, Some("paid")), "{o}");
    o["order_id"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn paid_orders_earn_monthly_tickets_and_a_refund_reverses_them_in_the_ledger() {
    let app = TestApp::sqlite().await;
    livedrop::raffle::ensure_monthly(&app.state).await.unwrap();
    let (_, list) = app.get("/api/raffles", None).await;
    let monthly = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["month"].is_string())
        .expect("this month's platform raffle exists")
        .clone();
    let monthly_id = monthly["id"].as_str().unwrap().to_string();
    assert_eq!(monthly["status"].as_str(), Some("open"), "{monthly}");
    assert_eq!(monthly["entry"].as_str(), Some("tickets"));

    let (creator, token) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let (sf, product) = (sf.to_string(), product.to_string());
    // The creator's own tickets raffle: 2 tickets per dollar at this storefront.
    let own = raffle_on(
        &app,
        &token,
        &sf,
        0,
        json!({"entry": "tickets", "tickets_per_dollar": 2}),
    )
    .await;
    let (drop, variant) = live_drop(&app, &token, &sf, &product, 4599, 5).await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let order = buy(&app, &drop, &variant, &buyer).await;

    // $45.99 is 45 whole dollars: 45 tickets in the monthly raffle, 90 in the creator's.
    let (_, ledger) = app.get("/api/me/tickets", Some(&buyer)).await;
    let rows = ledger.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{ledger}");
    let credit = |r: &str| {
        rows.iter()
            .find(|l| l["raffle_id"].as_str() == Some(r))
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            credit(&monthly_id)["kind"].as_str(),
            credit(&monthly_id)["tickets"].as_i64()
        ),
        (Some("purchase"), Some(45))
    );
    assert_eq!(credit(&own)["tickets"].as_i64(), Some(90));
    let (_, me) = app
        .get(&format!("/api/raffles/{monthly_id}/me"), Some(&buyer))
        .await;
    assert_eq!(
        (me["tickets"].as_i64(), me["entered"].as_bool()),
        (Some(45), Some(false)),
        "{me}"
    );
    // The free entry adds one, and the answer counts the purchase too.
    let (s, b) = enter(&app, &monthly_id, &buyer).await;
    assert_eq!((s, b["tickets"].as_i64()), (201, Some(46)), "{b}");
    let (_, m) = app.get(&format!("/api/raffles/{monthly_id}"), None).await;
    assert_eq!(
        (m["entrants"].as_i64(), m["tickets"].as_i64()),
        (Some(1), Some(46)),
        "{m}"
    );

    // Only the drop's creator (or an admin) refunds; the tickets are reversed, not erased.
    let (s, b) = app
        .post(
            &format!("/api/orders/{order}/refund"),
            Some(&buyer),
            Value::Null,
        )
        .await;
    assert_eq!((s, code(&b)), (404, "not_found"), "{b}");
    let (s, b) = app
        .post(
            &format!("/api/orders/{order}/refund"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("refunded")), "{b}");
    let (s, b) = app
        .post(
            &format!("/api/orders/{order}/refund"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!((s, code(&b)), (409, "not_paid"), "a second refund: {b}");
    let (_, me) = app
        .get(&format!("/api/raffles/{monthly_id}/me"), Some(&buyer))
        .await;
    let kinds: Vec<(&str, i64)> = me["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["kind"].as_str().unwrap(), l["tickets"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![("purchase", 45), ("entry", 1), ("reversal", -45)],
        "{me}"
    );
    assert_eq!(me["tickets"].as_i64(), Some(1));
    let (_, m) = app.get(&format!("/api/raffles/{monthly_id}"), None).await;
    assert_eq!(m["tickets"].as_i64(), Some(1), "{m}");
    let (_, ledger) = app.get("/api/me/tickets", Some(&buyer)).await;
    assert_eq!(
        ledger.as_array().unwrap().len(),
        5,
        "two credits, two reversals, one entry: {ledger}"
    );

    // Bonus tickets, by the raffle's creator, to an account by email. The answer is the
    // same whether or not the email has an account.
    let (target, target_token) = user_with_token(&app, "buyer").await;
    let email = livedrop::db::models::user::find(&app.state.store, target)
        .await
        .unwrap()
        .unwrap()
        .email;
    let (s, b) = app
        .post(
            &format!("/api/raffles/{own}/bonus"),
            Some(&token),
            json!({"email": email, "tickets": 5, "note": "referral"}),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let (s, unknown) = app
        .post(
            &format!("/api/raffles/{own}/bonus"),
            Some(&token),
            json!({"email": "nobody-at-all@example.com", "tickets": 5, "note": "referral"}),
        )
        .await;
    assert_eq!(
        (s, &unknown),
        (202, &b),
        "an unknown email gets the same answer"
    );
    let (_, mine) = app
        .get(&format!("/api/raffles/{own}/me"), Some(&target_token))
        .await;
    assert_eq!(mine["tickets"].as_i64(), Some(5), "{mine}");
    // The raffle's owner cannot credit themselves.
    let owner_email = livedrop::db::models::user::find(&app.state.store, creator)
        .await
        .unwrap()
        .unwrap()
        .email;
    let (s, b) = app
        .post(
            &format!("/api/raffles/{own}/bonus"),
            Some(&token),
            json!({"email": owner_email, "tickets": 5, "note": "for me"}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "own_raffle"), "{b}");
    // Nor enter it.
    let (s, b) = app
        .post(
            &format!("/api/raffles/{own}/entries"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "own_raffle"), "{b}");
    let (s, b) = app
        .post(
            &format!("/api/raffles/{monthly_id}/bonus"),
            Some(&token),
            json!({"email": email, "tickets": 5, "note": "not mine"}),
        )
        .await;
    assert_eq!((s, code(&b)), (404, "not_found"), "{b}");
    app.stop().await;
}

async fn next(ws: &mut Ws) -> Value {
    next_frame(ws, StdDuration::from_secs(10)).await
}

#[actix_web::test]
async fn live_totals_are_pushed_and_results_told_by_socket_and_mail() {
    let app = TestApp::sqlite().await;
    let (_, _, id) = raffle(&app, 0, json!({"alternates": 0})).await;
    let mut watcher = socket(&app, None).await;
    watcher
        .send(Message::text(
            json!({"op": "subscribe", "topic": format!("raffle:{id}")}).to_string(),
        ))
        .await
        .unwrap();
    let mut first = next(&mut watcher).await;
    while first["type"].as_str() != Some("snapshot") {
        first = next(&mut watcher).await;
    }
    assert_eq!(first["data"]["entrants"].as_i64(), Some(0), "{first}");
    assert_eq!(first["data"]["commitment"].as_str().map(str::len), Some(64));

    let mut users = Vec::new();
    for _ in 0..4 {
        users.push(user_with_token(&app, "buyer").await);
    }
    let mut sockets = Vec::new();
    for (uid, t) in &users {
        let mut ws = socket(&app, Some(t)).await;
        ws.send(Message::text(
            json!({"op": "subscribe", "topic": format!("user:{uid}")}).to_string(),
        ))
        .await
        .unwrap();
        let ack = next(&mut ws).await;
        assert_eq!(ack["op"].as_str(), Some("subscribe"), "{ack}");
        let (s, b) = enter(&app, &id, t).await;
        assert_eq!(s, 201, "{b}");
        sockets.push(ws);
    }
    // Updates end on the latest totals.
    loop {
        let f = next(&mut watcher).await;
        if f["type"].as_str() == Some("update") && f["data"]["entrants"].as_i64() == Some(4) {
            assert_eq!(f["data"]["tickets"].as_i64(), Some(4));
            break;
        }
    }
    app.state.clock.advance(Duration::seconds(61));
    let (_, admin) = user_with_token(&app, "admin").await;
    let (s, d) = draw(&app, &id, &admin).await;
    assert_eq!(s, 200, "{d}");
    loop {
        let f = next(&mut watcher).await;
        if f["data"]["status"].as_str() == Some("drawn") {
            assert_eq!(f["data"]["winners"], d["winners"]);
            break;
        }
    }
    // Every entrant hears their outcome on their own topic: 3 winners, 1 not drawn.
    let mut outcomes = Vec::new();
    for ws in &mut sockets {
        let f = next(ws).await;
        assert_eq!(f["data"]["kind"].as_str(), Some("raffle_result"), "{f}");
        outcomes.push(f["data"]["outcome"].as_str().unwrap().to_string());
    }
    outcomes.sort();
    assert_eq!(outcomes, vec!["not_drawn", "won", "won", "won"]);
    // And by mail (embedded mode writes the outbox).
    let outbox = app.dir.path().join("outbox");
    let mails = eventually(10, || {
        let outbox = outbox.clone();
        async move {
            let texts: Vec<String> = std::fs::read_dir(&outbox)
                .ok()?
                .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .filter(|t| t.contains("Signed print giveaway"))
                .collect();
            (texts.len() >= 4).then_some(texts)
        }
    })
    .await;
    assert_eq!(mails.iter().filter(|m| m.contains("You won")).count(), 3);
    assert_eq!(mails.iter().filter(|m| m.contains("not drawn")).count(), 1);
    app.stop().await;
}

#[actix_web::test]
async fn a_gated_drop_offers_its_units_to_winners_and_lapsed_offers_pass_to_alternates_in_draw_order(
) {
    let app = TestApp::sqlite().await;
    let (creator, token) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let (sf, product) = (sf.to_string(), product.to_string());
    // A drop of 1 unit, gated by a raffle with one winner and three alternates.
    let (s, b) = app
        .post(
            "/api/drops",
            Some(&token),
            json!({"storefront_id": sf, "product_id": product,
            "title": "Gated", "price_cents": 1000, "currency": "USD",
            "variants": [{"name": "One", "stock": 1}], "opens_at": app.state.clock.now().and_utc(),
            "waiting_room_seconds": 0}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let drop = b["id"].as_str().unwrap().to_string();
    let variant = b["variants"][0]["id"].as_str().unwrap().to_string();
    let id = raffle_on(&app, &token, &sf, 0, json!({"drop_id": drop, "alternates": 3,
        "claim_seconds": 60, "prizes": [{"rank_from": 1, "rank_to": 1, "description": "The unit"}]})).await;
    app.post(
        &format!("/api/drops/{drop}/publish"),
        Some(&token),
        Value::Null,
    )
    .await;
    let (_, d) = app.get(&format!("/api/drops/{drop}"), None).await;
    assert_eq!(d["raffle_id"].as_str(), Some(id.as_str()), "{d}");

    let mut people = Vec::new();
    for _ in 0..6 {
        people.push(user_with_token(&app, "buyer").await);
    }
    // Nobody reserves a gated drop directly.
    let (s, b) = app
        .post(
            &format!("/api/drops/{drop}/holds"),
            Some(&people[0].1),
            json!({"variant_id": variant, "quantity": 1}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "raffle_required"), "{b}");
    for (_, t) in &people {
        assert_eq!(enter(&app, &id, t).await.0, 201);
    }
    app.state.clock.advance(Duration::seconds(61));
    let (_, admin) = user_with_token(&app, "admin").await;
    let (s, _) = draw(&app, &id, &admin).await;
    assert_eq!(s, 200);
    let p = proof_of(&app, &id).await;
    proof::verify(&p).unwrap();
    // The order offers must follow: the winner, then alternates 1, 2, 3.
    let order: Vec<String> = p
        .winners
        .iter()
        .map(|w| w.entrant.clone())
        .chain(p.alternates.iter().map(|a| a.entrant.clone()))
        .collect();
    assert_eq!(order.len(), 4);
    let mut by_name = std::collections::HashMap::new();
    for (uid, t) in &people {
        let (_, me) = app.get(&format!("/api/raffles/{id}/me"), Some(t)).await;
        by_name.insert(
            me["entrant"].as_str().unwrap().to_string(),
            (*uid, t.clone()),
        );
    }
    let holder = |app: &TestApp| {
        let store = app.state.store.clone();
        let id = livedrop::domain::ids::RaffleId::parse(&id).unwrap();
        async move {
            livedrop::db::models::raffle::picks(&store, id)
                .await
                .unwrap()
        }
    };
    // The winner holds the unit; the drop shows it held.
    let picks = holder(&app).await;
    assert_eq!(picks[0].pseudonym, order[0]);
    assert_eq!(picks[0].state, "offered");
    let (_, d) = app.get(&format!("/api/drops/{drop}"), None).await;
    assert_eq!(d["variants"][0]["held"].as_i64(), Some(1), "{d}");

    // The winner lets the claim window pass; then alternate 1 releases it early; then
    // alternate 2 pays. Alternate 3 is never offered.
    app.state.clock.advance(Duration::seconds(61));
    let picks = eventually(10, || {
        let f = holder(&app);
        async move {
            let p = f.await;
            (p[1].state == "offered" && p[1].hold_id.is_some()).then_some(p)
        }
    })
    .await;
    assert_eq!(picks[0].state, "lapsed");
    assert_eq!(picks[1].pseudonym, order[1]);
    let (_, t1) = &by_name[&order[1]];
    let (s, b) = app
        .delete(
            &format!("/api/holds/{}", picks[1].hold_id.unwrap()),
            Some(t1),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let picks = holder(&app).await;
    assert_eq!(
        (picks[1].state.as_str(), picks[2].state.as_str()),
        ("lapsed", "offered")
    );
    assert_eq!(picks[2].pseudonym, order[2]);
    let (_, t2) = &by_name[&order[2]];
    let (s, o) = app
        .post(
            &format!("/api/holds/{}/checkout", picks[2].hold_id.unwrap()),
            Some(t2),
            json!({"card": "4242424242424242"}),
        )
        .await;
    assert_eq!((s, o["status"].as_str()), (201, Some("paid")), "{o}");
    let picks = holder(&app).await;
    let states: Vec<&str> = picks.iter().map(|p| p.state.as_str()).collect();
    assert_eq!(states, vec!["lapsed", "lapsed", "claimed", "waiting"]);
    let (_, d) = app.get(&format!("/api/drops/{drop}"), None).await;
    assert_eq!(
        (
            d["variants"][0]["sold"].as_i64(),
            d["variants"][0]["held"].as_i64()
        ),
        (Some(1), Some(0)),
        "{d}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn the_verify_command_accepts_a_true_proof_and_names_what_was_changed() {
    let app = TestApp::sqlite().await;
    let (_, _, id) = raffle(&app, 0, json!({})).await;
    entrants(&app, &id, 12).await;
    app.state.clock.advance(Duration::seconds(61));
    let (_, admin) = user_with_token(&app, "admin").await;
    assert_eq!(draw(&app, &id, &admin).await.0, 200);
    let bin = env!("CARGO_BIN_EXE_livedrop");
    let run = move |arg: String| {
        let out = std::process::Command::new(bin)
            .args(["raffle", "verify", &arg])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    // From the URL, as anyone would.
    let url = app.at(&format!("/api/raffles/{id}/proof"));
    let (status, text) = tokio::task::spawn_blocking(move || run(url)).await.unwrap();
    assert_eq!(status, Some(0), "{text}");
    assert!(text.contains("verified"), "{text}");

    let p = proof_of(&app, &id).await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, v: &Proof| {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec(v).unwrap()).unwrap();
        path.to_string_lossy().into_owned()
    };
    let (status, text) = run(write("true.json", &p));
    assert_eq!(status, Some(0), "{text}");

    let mut t = p.clone();
    t.entries[3].tickets = 9;
    let (status, text) = run(write("tickets.json", &t));
    assert_eq!(status, Some(1), "{text}");
    assert!(
        text.contains("digest"),
        "the digest mismatch is named: {text}"
    );

    let mut t = p.clone();
    t.winners.swap(0, 2);
    let (status, text) = run(write("order.json", &t));
    assert_eq!(status, Some(1), "{text}");
    assert!(text.contains("winner"), "{text}");

    let whole = serde_json::to_vec(&p).unwrap();
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let (status, text) = run(truncated.to_string_lossy().into_owned());
    assert_eq!(status, Some(2), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    let (status, text) = run(dir
        .path()
        .join("missing.json")
        .to_string_lossy()
        .into_owned());
    assert_eq!(status, Some(2), "{text}");
    app.stop().await;
}

/// `docs/raffle_proof_reference.py`, the independent Python verifier, run on a proof made
/// by the server: a tickets raffle whose entrants hold different numbers of tickets (bonus
/// tickets), drawn by an admin. The script recomputes the draw and must find the server's
/// winners and alternates, in order; the same proof with two winners swapped must fail.
#[actix_web::test]
async fn the_reference_python_verifier_agrees_with_the_servers_draw() {
    let app = TestApp::sqlite().await;
    let (creator, _, id) = raffle(&app, 0, json!({"entry": "tickets"})).await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        let (user, token) = user_with_token(&app, "buyer").await;
        let (s, b) = enter(&app, &id, &token).await;
        assert_eq!(s, 201, "{b}");
        ids.push(user);
    }
    for (i, user) in ids.iter().enumerate().take(6) {
        let email = format!("buyer-{}@test.livedrop.local", user.0.simple());
        let (s, b) = app
            .post(
                &format!("/api/raffles/{id}/bonus"),
                Some(&creator),
                json!({"email": email, "tickets": 3 + 7 * i, "note": "referral"}),
            )
            .await;
        assert_eq!(s, 202, "{b}");
    }
    let (_, b) = app.get(&format!("/api/raffles/{id}"), None).await;
    assert_eq!(
        (b["entrants"].as_i64(), b["tickets"].as_i64()),
        (Some(12), Some(12 + 6 * 3 + 7 * 15)),
        "{b}"
    );
    app.state.clock.advance(Duration::seconds(61));
    let (_, admin) = user_with_token(&app, "admin").await;
    let (s, drawn) = draw(&app, &id, &admin).await;
    assert_eq!(s, 200, "{drawn}");

    // The proof exactly as served.
    let res = app
        .client
        .get(app.at(&format!("/api/raffles/{id}/proof")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let raw = res.bytes().await.unwrap();
    let served: Value = serde_json::from_slice(&raw).unwrap();
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|w| w["entrant"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&served["winners"]).len(), 3);
    assert_eq!(names(&served["winners"]), names(&drawn["winners"]));
    assert_eq!(names(&served["alternates"]), names(&drawn["alternates"]));

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/raffle_proof_reference.py"
    );
    let dir = tempfile::tempdir().unwrap();
    let python = |name: &str, body: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let out = std::process::Command::new("python3")
            .arg(script)
            .arg(&path)
            .output()
            .expect("python3 runs (the reference verifier needs it)");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (status, text) = python("proof.json", &raw);
    assert_eq!(status, Some(0), "{text}");
    assert_eq!(
        text.trim(),
        format!(
            "verified: 12 entries, {} tickets, 3 winner(s), 2 alternate(s)",
            12 + 6 * 3 + 7 * 15
        )
    );
    // Swapping two winners (ranks kept) is a different draw: the script must see it.
    let mut swapped = served.clone();
    let w = swapped["winners"].as_array_mut().unwrap();
    let (a, b) = (w[0]["entrant"].clone(), w[1]["entrant"].clone());
    let (ta, tb) = (w[0]["tickets"].clone(), w[1]["tickets"].clone());
    (
        w[0]["entrant"],
        w[0]["tickets"],
        w[1]["entrant"],
        w[1]["tickets"],
    ) = (b, tb, a, ta);
    let (status, text) = python("swapped.json", &serde_json::to_vec(&swapped).unwrap());
    assert_eq!(status, Some(1), "{text}");
    assert!(text.contains("winners do not match the draw"), "{text}");
    app.stop().await;
}

/// A creator draws their own storefront's raffle on `POST /api/raffles/{id}/draw`, with
/// the admin route's answer; another creator and a buyer are told nothing (404).
#[actix_web::test]
async fn a_creator_draws_their_own_raffle_and_nobody_else_can() {
    let app = TestApp::sqlite().await;
    let (owner, _, id) = raffle(&app, 0, json!({})).await;
    entrants(&app, &id, 5).await;
    let (_, rival) = user_with_token(&app, "creator").await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let path = format!("/api/raffles/{id}/draw");
    let (s, b) = app.post(&path, Some(&owner), json!({})).await;
    assert_eq!((s, code(&b)), (409, "raffle_open"), "{b}");
    app.state.clock.advance(Duration::seconds(61));
    for t in [&rival, &buyer] {
        let (s, b) = app.post(&path, Some(t), json!({})).await;
        assert_eq!((s, code(&b)), (404, "not_found"), "{b}");
    }
    let (s, mine) = app.post(&path, Some(&owner), json!({})).await;
    assert_eq!(s, 200, "{mine}");
    assert_eq!(mine["winners"].as_array().unwrap().len(), 3);
    assert!(mine["proof_url"].as_str().unwrap().ends_with("/proof"));
    // Whom to send the prizes to: every winner's and alternate's email, for the owner.
    let picked =
        mine["winners"].as_array().unwrap().len() + mine["alternates"].as_array().unwrap().len();
    let contacts = mine["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), picked, "{mine}");
    assert!(
        contacts
            .iter()
            .all(|c| c["email"].as_str().unwrap().contains('@')),
        "{mine}"
    );
    let (_, proof) = app.get(&format!("/api/raffles/{id}/proof"), None).await;
    let email = contacts[0]["email"].as_str().unwrap();
    assert!(
        !proof.to_string().contains(email),
        "the public proof names nobody"
    );
    let (_, admin) = user_with_token(&app, "admin").await;
    let (s, theirs) = draw(&app, &id, &admin).await;
    assert_eq!(s, 200);
    assert_eq!(theirs["winners"], mine["winners"], "one draw, whoever asks");
    app.stop().await;
}

/// A raffle whose stored prize list cannot be read is not drawn on an empty one standing
/// in for it (it used to be: no winners, and the draw recorded for good). The draw is
/// refused as the server's fault and nothing is recorded; the raffle can still be read.
#[actix_web::test]
async fn a_raffle_with_an_unreadable_prize_list_is_not_drawn() {
    let app = TestApp::sqlite().await;
    let (_, _, id) = raffle(&app, 0, json!({})).await;
    entrants(&app, &id, 5).await;
    let (_, admin) = user_with_token(&app, "admin").await;
    app.state.clock.advance(Duration::seconds(61));
    {
        let mut conn = app.state.store.write().await.unwrap();
        let sql = format!("UPDATE raffles SET prizes = 'not json' WHERE id = '{id}'");
        livedrop::db_run!(conn, |c| diesel_async::RunQueryDsl::execute(
            diesel::sql_query(sql.clone()),
            c
        )
        .await)
        .unwrap();
    }
    let (s, b) = draw(&app, &id, &admin).await;
    assert_eq!((s, code(&b)), (500, "internal_error"), "{b}");
    let (s, r) = app.get(&format!("/api/raffles/{id}"), None).await;
    assert_eq!(s, 200, "{r}");
    assert_ne!(r["status"], "drawn", "{r}");
    assert!(r["winners"].is_null(), "{r}");
    app.stop().await;
}

/// A creator closes their open raffle before its time (`POST /api/raffles/{id}/close`):
/// entries end at once, the list is frozen with everyone who entered, and it can be drawn
/// at once. A raffle not open yet is cancelled instead; a closed one cannot close again;
/// another creator is told nothing.
async fn close_early(app: TestApp) {
    let (owner, sf, id) = raffle(&app, 0, json!({})).await;
    let tokens = entrants(&app, &id, 4).await;
    let (_, rival) = user_with_token(&app, "creator").await;
    let path = format!("/api/raffles/{id}/close");
    let (s, b) = app.post(&path, Some(&rival), json!({})).await;
    assert_eq!((s, code(&b)), (404, "not_found"), "{b}");
    let (s, closed) = app.post(&path, Some(&owner), json!({})).await;
    assert_eq!(s, 200, "{closed}");
    assert_eq!(closed["status"], "closed", "{closed}");
    assert_eq!(closed["entrants"], 4, "{closed}");
    let (_, late) = user_with_token(&app, "buyer").await;
    let (s, b) = enter(&app, &id, &late).await;
    assert_eq!(s, 409, "entries have ended: {b}");
    let (s, b) = app.post(&path, Some(&owner), json!({})).await;
    assert_eq!((s, code(&b)), (409, "already_closed"), "{b}");
    // Drawn at once, among the four.
    let (s, drawn) = app
        .post(&format!("/api/raffles/{id}/draw"), Some(&owner), json!({}))
        .await;
    assert_eq!(s, 200, "{drawn}");
    let proof = app.get(&format!("/api/raffles/{id}/proof"), None).await.1;
    assert_eq!(
        proof["entries"].as_array().map(Vec::len),
        Some(4),
        "{proof}"
    );
    assert_eq!(tokens.len(), 4);
    // Not open yet: refused, to be cancelled instead.
    let later = raffle_on(&app, &owner, &sf, 3600, json!({})).await;
    let (s, b) = app
        .post(
            &format!("/api/raffles/{later}/close"),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "not_open"), "{b}");
    app.stop().await;
}

#[actix_web::test]
async fn a_creator_closes_an_open_raffle_early_and_draws_it() {
    close_early(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn a_creator_closes_an_open_raffle_early_and_draws_it_on_postgres() {
    close_early(TestApp::postgres().await).await;
}
