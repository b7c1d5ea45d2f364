//! Collaborative drops and the money ledger, through the API on both stores: invitations
//! by mail (a real SMTP listener), acceptance, splits that add up to the cent, refunds
//! reversing each party's share, and who may see what.

use serde_json::{json, Value};

use crate::auth::token_of;
use crate::smtp::SmtpServer;
use crate::support::{
    code, fresh_pg_database, next_frame, socket, storefront_with_product, user_with_token, TestApp,
};
use livedrop::db::models::ledger;
use livedrop::domain::ids::UserId;

async fn email_of(app: &TestApp, id: UserId) -> String {
    livedrop::db::models::user::find(&app.state.store, id)
        .await
        .unwrap()
        .unwrap()
        .email
}

/// Invite `who` (a creator) to `drop` at `bp` and accept from the mailed link.
async fn invite_and_accept(
    app: &TestApp,
    smtp: &mut SmtpServer,
    owner: &str,
    drop: &str,
    who: (UserId, &str),
    bp: i64,
) -> String {
    let email = email_of(app, who.0).await;
    let (s, b) = app
        .post(
            &format!("/api/drops/{drop}/collaborators"),
            Some(owner),
            json!({"email": email.to_uppercase(), "share_bp": bp}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (
            b["email"].as_str(),
            b["share_bp"].as_i64(),
            b["status"].as_str()
        ),
        (Some(email.as_str()), Some(bp), Some("invited"))
    );
    let mail = smtp.next(10).await;
    assert_eq!(mail.to, vec![email.clone()]);
    let link = mail
        .link(&format!("{}/studio?accept=collaboration&token=", app.url))
        .expect("the invitation carries a link with token=");
    let (s, a) = app
        .post(
            "/api/collaborations/accept",
            Some(who.1),
            json!({"token": token_of(&link)}),
        )
        .await;
    assert_eq!((s, a["status"].as_str()), (200, Some("accepted")), "{a}");
    // A second click answers the same and changes nothing.
    let (s, again) = app
        .post(
            "/api/collaborations/accept",
            Some(who.1),
            json!({"token": token_of(&link)}),
        )
        .await;
    assert_eq!((s, &again["id"]), (200, &a["id"]), "{again}");
    b["id"].as_str().unwrap().to_string()
}

async fn three_party_drop_adds_up(app: TestApp, mut smtp: SmtpServer) {
    let (owner_id, owner) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, owner_id).await;
    // A draft drop at 10.01 USD: shares are agreed before it opens.
    let (s, d) = app
        .post(
            "/api/drops",
            Some(&owner),
            json!({"storefront_id": sf, "product_id": product, "title": "Co-sold hoodie",
                   "price_cents": 1001, "currency": "USD", "variants": [{"name": "M", "stock": 20}],
                   "opens_at": app.state.clock.now().and_utc(), "waiting_room_seconds": 0,
                   "per_buyer_limit": 1}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let drop = d["id"].as_str().unwrap().to_string();
    let variant = d["variants"][0]["id"].as_str().unwrap().to_string();
    let (a_id, a) = user_with_token(&app, "creator").await;
    let (b_id, b) = user_with_token(&app, "creator").await;
    let (rival_id, rival) = user_with_token(&app, "creator").await;
    let (_, buyer_token) = user_with_token(&app, "buyer").await;

    invite_and_accept(&app, &mut smtp, &owner, &drop, (a_id, &a), 3000).await;
    // Refusals: a share below 1, shares that with the fee (500) pass 10,000, the same
    // address twice, someone else's drop, the owner's own address.
    let rival_email = email_of(&app, rival_id).await;
    for (bp, expect) in [(0, 422), (6501, 422)] {
        let (s, e) = app
            .post(
                &format!("/api/drops/{drop}/collaborators"),
                Some(&owner),
                json!({"email": rival_email, "share_bp": bp}),
            )
            .await;
        assert_eq!((s, code(&e)), (expect, "validation_failed"), "{bp}: {e}");
    }
    let a_email = email_of(&app, a_id).await;
    let (s, e) = app
        .post(
            &format!("/api/drops/{drop}/collaborators"),
            Some(&owner),
            json!({"email": a_email, "share_bp": 10}),
        )
        .await;
    assert_eq!((s, code(&e)), (409, "already_invited"), "{e}");
    let (s, _) = app
        .post(
            &format!("/api/drops/{drop}/collaborators"),
            Some(&rival),
            json!({"email": rival_email, "share_bp": 10}),
        )
        .await;
    assert_eq!(s, 404);
    // An invitation withdrawn before opening is gone; its link then accepts nothing.
    let (s, w) = app
        .post(
            &format!("/api/drops/{drop}/collaborators"),
            Some(&owner),
            json!({"email": rival_email, "share_bp": 100}),
        )
        .await;
    assert_eq!(s, 201, "{w}");
    let withdrawn = smtp.next(10).await;
    let (s, _) = app
        .delete(
            &format!(
                "/api/drops/{drop}/collaborators/{}",
                w["id"].as_str().unwrap()
            ),
            Some(&owner),
        )
        .await;
    assert_eq!(s, 204);
    let link = withdrawn
        .link(&format!("{}/studio?accept=collaboration&token=", app.url))
        .unwrap();
    let (s, e) = app
        .post(
            "/api/collaborations/accept",
            Some(&rival),
            json!({"token": token_of(&link)}),
        )
        .await;
    assert_eq!((s, code(&e)), (404, "invalid_link"), "{e}");
    // B's invitation: a buyer account cannot accept, nor can another creator.
    let b_email = email_of(&app, b_id).await;
    let (s, _) = app
        .post(
            &format!("/api/drops/{drop}/collaborators"),
            Some(&owner),
            json!({"email": b_email, "share_bp": 1500}),
        )
        .await;
    assert_eq!(s, 201);
    let mail = smtp.next(10).await;
    let token = token_of(
        &mail
            .link(&format!("{}/studio?accept=collaboration&token=", app.url))
            .unwrap(),
    );
    let (s, _) = app
        .post(
            "/api/collaborations/accept",
            Some(&buyer_token),
            json!({"token": token}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, e) = app
        .post(
            "/api/collaborations/accept",
            Some(&rival),
            json!({"token": token}),
        )
        .await;
    assert_eq!((s, code(&e)), (404, "invalid_link"), "{e}");
    let (s, _) = app
        .post(
            "/api/collaborations/accept",
            Some(&b),
            json!({"token": token}),
        )
        .await;
    assert_eq!(s, 200);

    // A third creator is invited (1 bp) but has not accepted when the drop opens.
    let late = user_with_token(&app, "creator").await;
    let late_email = email_of(&app, late.0).await;
    let (s, invited) = app
        .post(
            &format!("/api/drops/{drop}/collaborators"),
            Some(&owner),
            json!({"email": late_email, "share_bp": 1}),
        )
        .await;
    assert_eq!(s, 201, "{invited}");
    let late_link = smtp
        .next(10)
        .await
        .link(&format!("{}/studio?accept=collaboration&token=", app.url))
        .expect("the invitation carries a link");

    // Open it: shares are fixed from now on.
    let (s, p) = app
        .post(
            &format!("/api/drops/{drop}/publish"),
            Some(&owner),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    // Accepting after the opening would change the split of the sales after it: refused.
    let (s, e) = app
        .post(
            "/api/collaborations/accept",
            Some(&late.1),
            json!({"token": token_of(&late_link)}),
        )
        .await;
    assert_eq!((s, code(&e)), (409, "drop_started"), "{e}");
    let (s, e) = app
        .post(
            &format!("/api/drops/{drop}/collaborators"),
            Some(&owner),
            json!({"email": rival_email, "share_bp": 10}),
        )
        .await;
    assert_eq!((s, code(&e)), (409, "drop_started"), "{e}");

    // Seven buyers pay; two orders are refunded by the owner.
    let mut orders = Vec::new();
    for _ in 0..7 {
        let (_, buyer) = user_with_token(&app, "buyer").await;
        let (s, h) = app
            .post(
                &format!("/api/drops/{drop}/holds"),
                Some(&buyer),
                json!({"variant_id": variant, "quantity": 1}),
            )
            .await;
        assert_eq!(s, 201, "{h}");
        let (s, o) = app
            .post(
                &format!("/api/holds/{}/checkout", h["id"].as_str().unwrap()),
                Some(&buyer),
                json!({"card": "4242424242424242"}),
            )
            .await;
        assert_eq!((s, o["status"].as_str()), (201, Some("paid")), "{o}");
        orders.push(o["order_id"].as_str().unwrap().to_string());
    }
    // A watcher of the drop sees the restocked unit come back.
    let mut ws = socket(&app, None).await;
    {
        use futures_util::SinkExt;
        let sub = json!({"op": "subscribe", "topic": format!("drop:{drop}")}).to_string();
        ws.send(tokio_tungstenite::tungstenite::Message::Text(sub.into()))
            .await
            .unwrap();
    }
    let snap = next_frame(&mut ws, std::time::Duration::from_secs(10)).await;
    assert_eq!(snap["data"]["variants"][0]["remaining"], 13, "{snap}");
    // One order refunded in full with its unit back on sale; another in part (400 of
    // 1,001), then asked for more than is left.
    let (s, r) = app
        .post(
            &format!("/api/orders/{}/refund", orders[0]),
            Some(&owner),
            json!({"restock": true}),
        )
        .await;
    assert_eq!(
        (s, r["status"].as_str(), r["refunded_cents"].as_i64()),
        (200, Some("refunded"), Some(1001)),
        "{r}"
    );
    let (_, d) = app.get(&format!("/api/drops/{drop}"), None).await;
    assert_eq!(
        (
            d["variants"][0]["remaining"].as_i64(),
            d["variants"][0]["sold"].as_i64()
        ),
        (Some(14), Some(6)),
        "{d}"
    );
    loop {
        let u = next_frame(&mut ws, std::time::Duration::from_secs(10)).await;
        if u["data"]["variants"][0]["remaining"] == 14 {
            break;
        }
    }
    // Asked again: nothing more comes back, nothing more is refunded.
    let (s, e) = app
        .post(
            &format!("/api/orders/{}/refund", orders[0]),
            Some(&owner),
            json!({"restock": true}),
        )
        .await;
    assert_eq!((s, code(&e)), (409, "not_paid"), "{e}");
    let (s, r) = app
        .post(
            &format!("/api/orders/{}/refund", orders[1]),
            Some(&owner),
            json!({"amount_cents": 400}),
        )
        .await;
    assert_eq!(
        (s, r["status"].as_str(), r["refunded_cents"].as_i64()),
        (200, Some("paid"), Some(400)),
        "{r}"
    );
    // The buyer is told of the part refunded (the mails of the sales before come first).
    loop {
        let m = smtp.next(10).await;
        if m.text().contains("refunded of") {
            assert!(
                m.text().contains("4.00 USD of order")
                    && m.text().contains("(4.00 USD refunded of 10.01 USD in all)"),
                "{}",
                m.text()
            );
            break;
        }
    }
    for bad in [json!({"amount_cents": 602}), json!({"amount_cents": 0})] {
        let (s, e) = app
            .post(
                &format!("/api/orders/{}/refund", orders[1]),
                Some(&owner),
                bad,
            )
            .await;
        assert_eq!((s, code(&e)), (422, "validation_failed"), "{e}");
    }
    let (s, e) = app
        .post(
            &format!("/api/orders/{}/refund", orders[1]),
            Some(&a),
            json!({"amount_cents": 1}),
        )
        .await;
    assert_eq!(s, 404, "a collaborator does not refund: {e}");
    let (_, d) = app.get(&format!("/api/drops/{drop}"), None).await;
    assert_eq!(
        d["variants"][0]["sold"].as_i64(),
        Some(6),
        "no restock asked: {d}"
    );

    // Every party's net is its share of what was kept: five orders of 1,001 cents and one
    // of 601, each split 50/30/15/5 by the largest remainder.
    let shares = ledger::shares(owner_id, 500, &[(a_id, 3000), (b_id, 1500)]);
    let one = ledger::parts(1001, &shares);
    let rest = ledger::parts(601, &shares);
    for viewer in [&owner, &a, &b] {
        let (s, sp) = app
            .get(&format!("/api/drops/{drop}/splits"), Some(viewer))
            .await;
        assert_eq!(s, 200, "{sp}");
        assert_eq!(
            (
                sp["currency"].as_str(),
                sp["gross_cents"].as_i64(),
                sp["refunded_cents"].as_i64()
            ),
            (Some("USD"), Some(7 * 1001), Some(1001 + 400)),
            "{sp}"
        );
        let parties = sp["parties"].as_array().unwrap();
        assert_eq!(parties.len(), 4, "{sp}");
        let net: i64 = parties
            .iter()
            .map(|p| p["net_cents"].as_i64().unwrap())
            .sum();
        assert_eq!(net, 5 * 1001 + 601);
        for ((s, part), kept) in shares.iter().zip(&one).zip(&rest) {
            let p = parties
                .iter()
                .find(|p| p["party"] == s.party.key())
                .unwrap_or_else(|| panic!("{} missing: {sp}", s.party.key()));
            assert_eq!(
                (
                    p["role"].as_str(),
                    p["share_bp"].as_i64(),
                    p["earned_cents"].as_i64(),
                    p["reversed_cents"].as_i64(),
                    p["net_cents"].as_i64()
                ),
                (
                    Some(s.role),
                    Some(s.share_bp),
                    Some(7 * part),
                    Some(2 * part - kept),
                    Some(5 * part + kept)
                ),
                "{sp}"
            );
        }
    }
    // A's earnings: its net, all still inside the payout delay (7 days by default).
    let a_net = 5 * one[1] + rest[1];
    for q in ["", "?currency=usd"] {
        let (s, e) = app.get(&format!("/api/me/earnings{q}"), Some(&a)).await;
        assert_eq!(s, 200, "{e}");
        assert_eq!(
            (
                e["currency"].as_str(),
                e["pending_cents"].as_i64(),
                e["available_cents"].as_i64(),
                e["paid_out_cents"].as_i64()
            ),
            (Some("USD"), Some(a_net), Some(0), Some(0)),
            "{e}"
        );
        // Seven credits, one full and one partial reversal.
        assert_eq!(e["entries"].as_array().map(Vec::len), Some(9), "{e}");
    }
    let (s, e) = app.get("/api/me/earnings?currency=eur", Some(&a)).await;
    assert_eq!(
        (s, e["currency"].as_str(), e["pending_cents"].as_i64()),
        (200, Some("EUR"), Some(0)),
        "{e}"
    );
    let (s, e) = app.get("/api/me/earnings?currency=E1", Some(&a)).await;
    assert_eq!((s, code(&e)), (422, "validation_failed"), "{e}");
    let (s, e) = app.get("/api/me/earnings", Some(&rival)).await;
    assert_eq!((s, e["pending_cents"].as_i64()), (200, Some(0)), "{e}");
    // Each collaborator finds the drops they co-sell; the late one (never accepted) none.
    let (s, mine) = app.get("/api/me/collaborations", Some(&a)).await;
    assert_eq!(s, 200, "{mine}");
    assert_eq!(
        (
            mine["collaborations"][0]["drop_id"].as_str(),
            mine["collaborations"][0]["share_bp"].as_i64(),
            mine["collaborations"].as_array().map(Vec::len)
        ),
        (Some(drop.as_str()), Some(3000), Some(1)),
        "{mine}"
    );
    let (_, none) = app.get("/api/me/collaborations", Some(&late.1)).await;
    assert_eq!(none["collaborations"], json!([]), "{none}");
    // Collaborators see the list; a rival creator and a buyer see nothing.
    let (s, l) = app
        .get(&format!("/api/drops/{drop}/collaborators"), Some(&a))
        .await;
    let statuses: Vec<&str> = l["collaborators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        (s, statuses),
        (200, vec!["accepted", "accepted", "invited"]),
        "the late invitation stays unaccepted: {l}"
    );
    for outsider in [&rival, &buyer_token] {
        let (s, _) = app
            .get(&format!("/api/drops/{drop}/splits"), Some(outsider))
            .await;
        assert_eq!(s, 404);
        let (s, _) = app
            .get(&format!("/api/drops/{drop}/collaborators"), Some(outsider))
            .await;
        assert_eq!(s, 404);
    }
    // And removing a collaborator after the opening is refused.
    let cid = l["collaborators"][0]["id"].as_str().unwrap();
    let (s, e) = app
        .delete(
            &format!("/api/drops/{drop}/collaborators/{cid}"),
            Some(&owner),
        )
        .await;
    assert_eq!((s, code(&e)), (409, "drop_started"), "{e}");
}

#[actix_web::test]
async fn a_three_party_drop_splits_every_order_and_refund_to_the_cent_sqlite() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with(&[("RATE_LIMITS", "off"), ("SMTP_URL", &smtp.url)]).await;
    three_party_drop_adds_up(app, smtp).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn a_three_party_drop_splits_every_order_and_refund_to_the_cent_postgres() {
    let smtp = SmtpServer::start().await;
    let url = fresh_pg_database().await;
    let app = TestApp::with(&[
        ("RATE_LIMITS", "off"),
        ("SMTP_URL", &smtp.url),
        ("DATABASE_URL", &url),
    ])
    .await;
    three_party_drop_adds_up(app, smtp).await;
}

/// A product sold outside a drop: the owner and the platform, nothing else.
#[actix_web::test]
async fn a_product_sale_credits_the_owner_and_the_platform_fee() {
    let app = TestApp::sqlite().await;
    let (owner_id, _) = user_with_token(&app, "creator").await;
    let (_, product) = storefront_with_product(&app, owner_id).await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (s, o) = app
        .post(
            &format!("/api/products/{product}/checkout"),
            Some(&buyer),
            json!({"card": "4242424242424242", "shipping": {"name": "Ada Lovelace",
                "line1": "1 Analytical Way", "city": "London", "postal_code": "N1 1AA", "country": "gb"}}),
        )
        .await;
    assert_eq!((s, o["status"].as_str()), (201, Some("paid")), "{o}");
    let order = livedrop::domain::ids::OrderId::parse(o["order_id"].as_str().unwrap()).unwrap();
    let o = livedrop::db::models::order::find(&app.state.store, order)
        .await
        .unwrap()
        .unwrap();
    let mut conn = app.state.store.read().await.unwrap();
    let rows: Vec<(String, String, i64)> = livedrop::db_run!(conn, |c| {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use livedrop::db::schema::ledger_entries as l;
        l::table
            .filter(l::order_id.eq(order.to_string()))
            .order(l::role)
            .select((l::role, l::kind, l::amount_cents))
            .load(c)
            .await
            .unwrap()
    });
    let parts = ledger::parts(o.amount_cents, &ledger::shares(owner_id, 500, &[]));
    assert_eq!(parts.iter().sum::<i64>(), o.amount_cents);
    assert_eq!(
        rows,
        vec![
            ("owner".to_string(), "sale".to_string(), parts[0]),
            ("platform".to_string(), "sale".to_string(), parts[1]),
        ],
        "{} cents",
        o.amount_cents
    );
}

/// A drop cancelled before it opened takes no more collaborators: its shares are settled.
#[actix_web::test]
async fn a_cancelled_drop_takes_no_collaborators() {
    let app = TestApp::sqlite().await;
    let (owner_id, owner) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, owner_id).await;
    let opens = app.state.clock.now().and_utc() + chrono::Duration::days(30);
    let (s, d) = app
        .post(
            "/api/drops",
            Some(&owner),
            json!({"storefront_id": sf, "product_id": product, "title": "Later",
                   "price_cents": 1000, "currency": "USD", "variants": [{"name": "M", "stock": 2}],
                   "opens_at": opens, "waiting_room_seconds": 0}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let drop = d["id"].as_str().unwrap();
    for step in ["publish", "cancel"] {
        let (s, b) = app
            .post(
                &format!("/api/drops/{drop}/{step}"),
                Some(&owner),
                Value::Null,
            )
            .await;
        assert_eq!(s, 200, "{step}: {b}");
    }
    let (s, e) = app
        .post(
            &format!("/api/drops/{drop}/collaborators"),
            Some(&owner),
            json!({"email": "late@example.com", "share_bp": 100}),
        )
        .await;
    assert_eq!((s, code(&e)), (409, "drop_started"), "{e}");
}

/// A refund made at the provider (`charge.refunded`, e.g. from Stripe's dashboard) is
/// recorded as ours would be, once: a part, then the rest; the same event again, another
/// event with a total already recorded, and an older event's smaller total change nothing;
/// a forged one is refused. The creator's earnings follow to the cent.
async fn refunds_at_the_provider(app: TestApp) {
    use livedrop::payments::test_provider::TestProvider;
    use livedrop::payments::ProviderEvent;

    let (_, creator, _, product) = crate::support::selling_a_download(&app).await;
    let (buyer, order) = crate::support::bought(&app, &product).await;
    let order: livedrop::domain::ids::OrderId = order.parse().unwrap();
    let payment_ref = livedrop::db::models::order::find(&app.state.store, order)
        .await
        .unwrap()
        .unwrap()
        .payment_ref
        .unwrap();
    let provider = TestProvider::new(
        livedrop::state::webhook_secret(crate::support::TEST_SECRET),
        &app.url,
    );
    let app_ref = &app;
    let provider_ref = &provider;
    let payment = payment_ref.clone();
    let send = |id: &'static str, total: i64| {
        let event = ProviderEvent {
            id: id.into(),
            kind: "charge.refunded".into(),
            order_id: None,
            payment_ref: payment.clone(),
            amount_refunded: Some(total),
        };
        let (body, sig) = provider_ref.signed(&event, chrono::Utc::now().timestamp());
        async move { app_ref.post_webhook(&body, &sig).await }
    };
    let state_of = || async {
        let (_, o) = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
        (
            o["status"].as_str().unwrap().to_string(),
            o["refunded_cents"].as_i64().unwrap(),
        )
    };
    let (s, ack) = send("evt_refund_1", 300).await;
    assert_eq!((s, &ack["applied"]), (200, &json!(true)), "{ack}");
    assert_eq!(state_of().await, ("paid".into(), 300));
    for (id, total) in [
        ("evt_refund_1", 300),
        ("evt_refund_2", 300),
        ("evt_refund_0", 100),
    ] {
        let (s, ack) = send(id, total).await;
        assert_eq!((s, &ack["applied"]), (200, &json!(false)), "{id}: {ack}");
    }
    assert_eq!(state_of().await, ("paid".into(), 300));
    let (s, ack) = send("evt_refund_3", 700).await;
    assert_eq!((s, &ack["applied"]), (200, &json!(true)), "{ack}");
    assert_eq!(state_of().await, ("refunded".into(), 700));
    // Forged: refused, nothing recorded.
    let (body, _) = provider.signed(
        &ProviderEvent {
            id: "evt_forged".into(),
            kind: "charge.refunded".into(),
            order_id: None,
            payment_ref: payment_ref.clone(),
            amount_refunded: Some(700),
        },
        chrono::Utc::now().timestamp(),
    );
    let forged = livedrop::payments::webhook::sign(
        b"not the secret",
        body.as_bytes(),
        chrono::Utc::now().timestamp(),
    );
    assert_eq!(app.post_webhook(&body, &forged).await.0, 401);
    // The owner's 95% credited, then reversed in two steps: nothing left, to the cent.
    let (_, e) = app
        .get("/api/me/earnings?currency=USD", Some(&creator))
        .await;
    let amounts: Vec<i64> = e["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["amount_cents"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts.iter().sum::<i64>(), 0, "{e}");
    assert_eq!(amounts.len(), 3, "a sale and two reversals: {e}");
    app.stop().await;
}

#[actix_web::test]
async fn a_refund_made_at_the_provider_is_recorded_once() {
    refunds_at_the_provider(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn a_refund_made_at_the_provider_is_recorded_once_on_postgres() {
    refunds_at_the_provider(TestApp::postgres().await).await;
}

/// The pages learn how to take a payment: the test provider's card field, or Stripe's
/// Payment Element with the publishable key; only a Stripe node's CSP lets Stripe.js in.
#[actix_web::test]
async fn the_pages_take_cards_the_way_the_node_is_paid() {
    let test = TestApp::sqlite().await;
    let stripe = TestApp::with(&[
        ("RATE_LIMITS", "off"),
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_SECRET_KEY", "sk_test_pages"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_pages"),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_pages"),
        ("STRIPE_API_BASE", "http://127.0.0.1:9"),
    ])
    .await;
    for (app, config, stripe_js) in [
        (&test, json!({"provider": "test"}), false),
        (
            &stripe,
            json!({"provider": "stripe", "publishable_key": "pk_test_pages"}),
            true,
        ),
    ] {
        let (s, c) = app.get("/api/payments/config", None).await;
        assert_eq!((s, &c), (200, &config));
        let page = app.client.get(app.at("/d/x")).send().await.unwrap();
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(
            csp.contains("script-src 'self' https://js.stripe.com"),
            stripe_js,
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
    test.stop().await;
    stripe.stop().await;
}
