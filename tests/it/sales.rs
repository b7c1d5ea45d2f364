//! Selling every product kind outside a drop (`POST /api/products/{id}/checkout`): each
//! kind bought end to end, stock that never oversells, downloads, tickets, memberships
//! that renew on a moved clock, fulfilment, who may see what, and the mails around a sale.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::support::{code, eventually, outbox_mails, user_with_token, TestApp};

const PAID: &str = "4242424242424242";
const DECLINED: &str = "4000000000000002";
const FILE_URL: &str = "https://files.example.com/secret/book.pdf";

/// A creator with a published storefront; returns (creator token, storefront id).
async fn creator(app: &TestApp) -> (String, String) {
    let (id, token) = user_with_token(app, "creator").await;
    let (sf, _) = livedrop::demo::shop(&app.state.store, id).await.unwrap();
    (token, sf.to_string())
}

/// A published product of `kind` with its kind's fields; returns its id.
async fn product(app: &TestApp, token: &str, sf: &str, body: Value) -> String {
    let (s, p) = app
        .post(
            &format!("/api/storefronts/{sf}/products"),
            Some(token),
            body,
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_str().unwrap().to_string();
    let (s, p) = app
        .post(
            &format!("/api/products/{id}/publish"),
            Some(token),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    id
}

fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "1 Analytical Way", "city": "London",
           "postal_code": "N1 1AA", "country": "gb"})
}

async fn buy(app: &TestApp, product: &str, token: &str, body: Value) -> (u16, Value) {
    app.post(
        &format!("/api/products/{product}/checkout"),
        Some(token),
        body,
    )
    .await
}

/// Buy and expect `paid`; returns the order id.
async fn bought(app: &TestApp, product: &str, token: &str, mut body: Value) -> String {
    body["card"] = json!(PAID);
    let (s, b) = buy(app, product, token, body).await;
    assert_eq!((s, b["status"].as_str()), (201, Some("paid")), "{b}");
    assert_eq!(b["provider"], "test");
    b["order_id"].as_str().unwrap().to_string()
}

/// The plain-text and HTML parts of every mail in the outbox, quoted-printable decoded.
async fn mails(app: &TestApp) -> Vec<String> {
    outbox_mails(app).await.iter().map(|m| qp(m)).collect()
}

fn qp(s: &str) -> String {
    let s = s.replace("=\r\n", "").replace("=\n", "");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A product of each sellable kind plus a link; returns kind → product id.
async fn catalogue(app: &TestApp, token: &str, sf: &str) -> HashMap<&'static str, String> {
    let mut m = HashMap::new();
    let starts = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    for (kind, body) in [
        (
            "physical",
            json!({"kind": "physical", "title": "Tee", "price_cents": 2000,
            "currency": "USD", "stock": 10, "shipping_cents": 495}),
        ),
        (
            "digital",
            json!({"kind": "digital", "title": "Book", "price_cents": 900,
            "currency": "USD", "download_url": FILE_URL}),
        ),
        (
            "service",
            json!({"kind": "service", "title": "Portfolio review", "price_cents": 5000,
            "currency": "USD", "duration_minutes": 30}),
        ),
        (
            "membership",
            json!({"kind": "membership", "title": "Inner circle", "price_cents": 500,
            "currency": "USD", "billing_interval": "month"}),
        ),
        (
            "tip",
            json!({"kind": "tip", "title": "Coffee", "price_cents": 500,
            "currency": "USD", "min_cents": 300}),
        ),
        (
            "event",
            json!({"kind": "event", "title": "Launch party", "price_cents": 1500,
            "currency": "USD", "starts_at": starts, "capacity": 50, "location": "Berlin"}),
        ),
        (
            "link",
            json!({"kind": "link", "title": "Lookbook", "price_cents": 0,
            "currency": "USD", "url": "https://example.com/lookbook"}),
        ),
    ] {
        m.insert(kind, product(app, token, sf, body).await);
    }
    m
}

async fn every_kind(app: TestApp) {
    let (seller, sf) = creator(&app).await;
    let p = catalogue(&app, &seller, &sf).await;
    let (_, buyer) = user_with_token(&app, "buyer").await;

    // What each kind refuses.
    let (s, b) = buy(&app, &p["link"], &buyer, json!({"card": PAID})).await;
    assert_eq!((s, code(&b)), (409, "not_for_sale"));
    let (s, b) = buy(&app, &p["physical"], &buyer, json!({"card": PAID})).await;
    assert_eq!((s, code(&b)), (422, "validation_failed"));
    assert!(b["error"]["fields"]["shipping"].is_string(), "{b}");
    let (s, b) = buy(
        &app,
        &p["tip"],
        &buyer,
        json!({"card": PAID, "amount_cents": 299}),
    )
    .await;
    assert_eq!((s, code(&b)), (422, "validation_failed"));
    assert!(b["error"]["fields"]["amount_cents"].is_string(), "{b}");
    let (s, b) = buy(
        &app,
        &p["digital"],
        &buyer,
        json!({"card": PAID, "quantity": 0}),
    )
    .await;
    assert_eq!((s, code(&b)), (422, "validation_failed"));
    let (s, b) = app
        .post(
            &format!("/api/storefronts/{sf}/products"),
            Some(&seller),
            json!({"kind": "digital", "title": "Draft", "price_cents": 100, "currency": "USD",
                   "download_url": FILE_URL}),
        )
        .await;
    assert_eq!(s, 201);
    let draft = b["id"].as_str().unwrap();
    let (s, b) = buy(&app, draft, &buyer, json!({"card": PAID})).await;
    assert_eq!((s, code(&b)), (409, "product_unpublished"));
    let (s, _) = buy(&app, &p["tip"], &buyer, json!({})).await;
    assert_eq!(s, 422, "no card");
    // Nothing of the refusals was written.
    let (_, mine) = app.get("/api/me/orders", Some(&buyer)).await;
    assert_eq!(mine["orders"].as_array().unwrap().len(), 0, "{mine}");

    // Each kind bought with the test card is paid at once.
    let physical = bought(
        &app,
        &p["physical"],
        &buyer,
        json!({"quantity": 2, "shipping": address()}),
    )
    .await;
    let digital = bought(&app, &p["digital"], &buyer, json!({})).await;
    let service = bought(
        &app,
        &p["service"],
        &buyer,
        json!({"note": "Tuesday afternoon, please"}),
    )
    .await;
    let membership = bought(&app, &p["membership"], &buyer, json!({})).await;
    let tip = bought(&app, &p["tip"], &buyer, json!({"amount_cents": 1234})).await;
    let event = bought(&app, &p["event"], &buyer, json!({"quantity": 2})).await;

    let order = |id: String| {
        let app = &app;
        let buyer = buyer.clone();
        async move {
            let (s, o) = app.get(&format!("/api/orders/{id}"), Some(&buyer)).await;
            assert_eq!(s, 200, "{o}");
            o
        }
    };
    let o = order(physical.clone()).await;
    assert_eq!(
        (o["kind"].as_str(), o["status"].as_str()),
        (Some("physical"), Some("paid"))
    );
    assert_eq!(
        o["amount_cents"],
        2 * 2000 + 495,
        "two units and one flat fee"
    );
    assert_eq!(o["shipping_cents"], 495);
    assert_eq!(o["shipping"]["country"], "GB");
    assert!(
        o.get("hold_id").is_none() && o.get("drop_id").is_none(),
        "{o}"
    );
    let o = order(service).await;
    assert_eq!(o["note"], "Tuesday afternoon, please");
    let o = order(tip).await;
    assert_eq!(o["amount_cents"], 1234);
    let o = order(membership.clone()).await;
    assert_eq!(o["kind"], "membership");
    let (_, ms) = app.get("/api/me/memberships", Some(&buyer)).await;
    assert_eq!(ms["memberships"][0]["status"], "active", "{ms}");
    assert_eq!(
        ms["memberships"][0]["order_id"].as_str(),
        Some(membership.as_str())
    );

    // The physical product's stock went down by two.
    let (_, view) = app
        .get(&format!("/api/products/{}", p["physical"]), None)
        .await;
    assert_eq!(view["available"], 8, "{view}");

    // Event: a ticket per seat, each with a code and a QR image.
    let o = order(event.clone()).await;
    let tickets = o["delivery"]["tickets"].as_array().unwrap().clone();
    assert_eq!(tickets.len(), 2, "{o}");
    let codes: Vec<&str> = tickets
        .iter()
        .map(|t| t["code"].as_str().unwrap())
        .collect();
    assert_ne!(codes[0], codes[1]);
    assert!(
        codes.iter().all(|c| c.len() >= 20),
        "unguessable codes: {codes:?}"
    );
    assert!(tickets[0]["qr_svg"].as_str().unwrap().starts_with("<?xml"));

    // Digital: a download link of ours, never the file's own address.
    let o = order(digital.clone()).await;
    let link = o["delivery"]["download_url"].as_str().unwrap().to_string();
    assert!(
        link.starts_with(&format!("{}/download/", app.url)),
        "{link}"
    );
    assert!(!o.to_string().contains(FILE_URL), "{o}");
    let (_, pv) = app
        .get(&format!("/api/products/{}", p["digital"]), Some(&buyer))
        .await;
    assert!(
        !pv.to_string().contains(FILE_URL),
        "a buyer never sees the file's address"
    );

    // The creator sees every order of the storefront, each kind, with the buyer's email.
    let (s, list) = app
        .get(&format!("/api/storefronts/{sf}/orders"), Some(&seller))
        .await;
    assert_eq!(s, 200);
    let kinds: std::collections::BTreeSet<&str> = list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec![
            "digital",
            "event",
            "membership",
            "physical",
            "service",
            "tip"
        ]
    );
    assert!(list["orders"][0]["buyer_email"].is_string());

    // Mails: a confirmation per order linking to its page, and the creator told each time.
    let all = mails(&app).await;
    for id in [&physical, &digital, &event] {
        let url = format!("{}/orders/{id}", app.url);
        assert!(
            all.iter()
                .any(|m| m.contains("is confirmed") && m.contains(&url)),
            "no confirmation linking {url}"
        );
    }
    let notices: Vec<&String> = all.iter().filter(|m| m.contains("New sale")).collect();
    assert_eq!(notices.len(), 6);
    for id in [&physical, &digital, &event] {
        let url = format!("{}/orders/{id}", app.url);
        assert!(
            notices.iter().any(|m| m.contains(&url)),
            "no notice linking {url}"
        );
    }
    assert!(all
        .iter()
        .any(|m| m.contains("New sale") && m.contains("Ship to: Ada Lovelace")));

    // The sales count on the storefront's dashboard: six purchases and their revenue.
    let revenue: i64 = list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["amount_cents"].as_i64().unwrap())
        .sum();
    let report = eventually(10, || async {
        let (_, r) = app
            .get(
                &format!("/api/storefronts/{sf}/analytics?range=24h"),
                Some(&seller),
            )
            .await;
        (r["purchases"] == 6).then_some(r)
    })
    .await;
    assert_eq!(report["revenue_cents"].as_i64(), Some(revenue), "{report}");

    // Refunds lower the revenue (the digital order in full, 1.00 of the physical one) and
    // leave the purchases counted: the funnel saw six sales made.
    let digital_amount = list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == json!(digital))
        .unwrap()["amount_cents"]
        .as_i64()
        .unwrap();
    for (order, body) in [
        (&digital, json!({})),
        (&physical, json!({"amount_cents": 100})),
    ] {
        let (s, r) = app
            .post(&format!("/api/orders/{order}/refund"), Some(&seller), body)
            .await;
        assert_eq!(s, 200, "{r}");
    }
    let net = revenue - digital_amount - 100;
    let report = eventually(10, || async {
        let (_, r) = app
            .get(
                &format!("/api/storefronts/{sf}/analytics?range=24h"),
                Some(&seller),
            )
            .await;
        (r["revenue_cents"] == json!(net)).then_some(r)
    })
    .await;
    assert_eq!(report["purchases"], 6, "{report}");
    app.stop().await;
}

#[actix_web::test]
async fn every_kind_is_bought_end_to_end() {
    every_kind(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn every_kind_is_bought_end_to_end_on_postgres() {
    every_kind(TestApp::postgres().await).await;
}

async fn no_oversell(app: TestApp) {
    let (seller, sf) = creator(&app).await;
    let tee = product(
        &app,
        &seller,
        &sf,
        json!({"kind": "physical", "title": "Tee", "price_cents": 2000, "currency": "USD",
               "stock": 10}),
    )
    .await;
    // A declined card takes nothing.
    let (_, b0) = user_with_token(&app, "buyer").await;
    let (s, b) = buy(
        &app,
        &tee,
        &b0,
        json!({"card": DECLINED, "shipping": address()}),
    )
    .await;
    assert_eq!((s, b["status"].as_str()), (201, Some("declined")), "{b}");
    let mut buyers = Vec::new();
    for _ in 0..30 {
        buyers.push(user_with_token(&app, "buyer").await.1);
    }
    let results = futures_util::future::join_all(buyers.iter().map(|t| {
        let app = &app;
        let tee = tee.clone();
        async move { buy(app, &tee, t, json!({"card": PAID, "shipping": address()})).await }
    }))
    .await;
    let paid = results
        .iter()
        .filter(|(s, b)| *s == 201 && b["status"] == "paid")
        .count();
    let sold_out = results
        .iter()
        .filter(|(s, b)| *s == 409 && code(b) == "sold_out")
        .count();
    assert_eq!((paid, sold_out), (10, 20), "{results:?}");
    let (_, view) = app.get(&format!("/api/products/{tee}"), None).await;
    assert_eq!(view["available"], 0);
    let (_, list) = app
        .get(
            &format!("/api/storefronts/{sf}/orders?status=paid&limit=200"),
            Some(&seller),
        )
        .await;
    assert_eq!(list["orders"].as_array().unwrap().len(), 10);
    // A refund puts the unit back on sale.
    let first = list["orders"][0]["id"].as_str().unwrap();
    let (s, r) = app
        .post(
            &format!("/api/orders/{first}/refund"),
            Some(&seller),
            json!({}),
        )
        .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("refunded")), "{r}");
    let (_, view) = app.get(&format!("/api/products/{tee}"), None).await;
    assert_eq!(view["available"], 1);
    app.stop().await;
}

#[actix_web::test]
async fn concurrent_buyers_never_take_more_than_the_stock() {
    no_oversell(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn concurrent_buyers_never_take_more_than_the_stock_on_postgres() {
    no_oversell(TestApp::postgres().await).await;
}

async fn deliveries(app: TestApp) {
    let (seller, sf) = creator(&app).await;
    let (rival, _) = creator(&app).await;
    let p = catalogue(&app, &seller, &sf).await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (_, other) = user_with_token(&app, "buyer").await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Digital: the link redirects to the file; another account is refused; it expires.
    let digital = bought(&app, &p["digital"], &buyer, json!({})).await;
    let (_, o) = app
        .get(&format!("/api/orders/{digital}"), Some(&buyer))
        .await;
    let link = o["delivery"]["download_url"].as_str().unwrap().to_string();
    let res = no_redirects.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], FILE_URL);
    let res = no_redirects
        .get(&link)
        .bearer_auth(&buyer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "the buyer, signed in");
    let res = no_redirects
        .get(&link)
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "another account");
    let (s, _) = app
        .get(&format!("/api/orders/{digital}"), Some(&other))
        .await;
    assert_eq!(s, 404, "another account cannot get a link either");
    // The signature's last digit changed (to another digit whatever it was).
    let flipped = if link.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{flipped}", &link[..link.len() - 1]);
    let res = no_redirects.get(&forged).send().await.unwrap();
    assert_eq!(res.status(), 404, "a tampered link");
    app.state.clock.advance(chrono::Duration::minutes(16));
    let res = no_redirects.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 404, "an expired link");
    // A fresh link from the order page works again.
    let (_, o) = app
        .get(&format!("/api/orders/{digital}"), Some(&buyer))
        .await;
    let fresh = o["delivery"]["download_url"].as_str().unwrap();
    assert_ne!(fresh, link);
    let res = no_redirects.get(fresh).send().await.unwrap();
    assert_eq!(res.status(), 302);

    // Event: each ticket checks in once, by the storefront's owner only.
    let event = bought(&app, &p["event"], &buyer, json!({})).await;
    let (_, o) = app.get(&format!("/api/orders/{event}"), Some(&buyer)).await;
    let ticket = o["delivery"]["tickets"][0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/orders/{event}/check-in");
    let (s, _) = app.post(&path, Some(&buyer), json!({"code": ticket})).await;
    assert_eq!(s, 404, "the buyer cannot check in");
    let (s, _) = app.post(&path, Some(&rival), json!({"code": ticket})).await;
    assert_eq!(s, 404, "nor a rival creator");
    let (s, b) = app
        .post(&path, Some(&seller), json!({"code": "NOT-A-TICKET"}))
        .await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    let (s, b) = app
        .post(&path, Some(&seller), json!({"code": ticket}))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .post(&path, Some(&seller), json!({"code": ticket}))
        .await;
    assert_eq!((s, code(&b)), (409, "already_checked_in"));
    let (_, o) = app.get(&format!("/api/orders/{event}"), Some(&buyer)).await;
    assert!(
        o["delivery"]["tickets"][0]["checked_in_at"].is_string(),
        "{o}"
    );

    // Physical: shipped once, by the owner, and the buyer is mailed the tracking number.
    let tee = bought(&app, &p["physical"], &buyer, json!({"shipping": address()})).await;
    let path = format!("/api/orders/{tee}/fulfil");
    let body = json!({"carrier": "DHL", "tracking": "JD0123456789"});
    let (s, _) = app.post(&path, Some(&rival), body.clone()).await;
    assert_eq!(s, 404);
    let (s, _) = app.post(&path, Some(&buyer), body.clone()).await;
    assert_eq!(s, 404);
    let (s, o) = app.post(&path, Some(&seller), body.clone()).await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["fulfilment"]["tracking"], "JD0123456789");
    let (s, b) = app.post(&path, Some(&seller), body).await;
    assert_eq!((s, code(&b)), (409, "already_fulfilled"));
    let (s, b) = app
        .post(
            &format!("/api/orders/{digital}/fulfil"),
            Some(&seller),
            json!({}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "nothing_to_fulfil"));

    // A refund is mailed too.
    let (s, _) = app
        .post(
            &format!("/api/orders/{event}/refund"),
            Some(&seller),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let all = mails(&app).await;
    let tee_url = format!("{}/orders/{tee}", app.url);
    assert!(all.iter().any(|m| m.contains("has shipped")
        && m.contains("JD0123456789")
        && m.contains("DHL")
        && m.contains(&tee_url)));
    let event_url = format!("{}/orders/{event}", app.url);
    assert!(all
        .iter()
        .any(|m| m.contains("is refunded") && m.contains(&event_url)));
    // A refunded event order's tickets are void.
    let (_, o) = app.get(&format!("/api/orders/{event}"), Some(&buyer)).await;
    assert!(o.get("delivery").is_none(), "{o}");

    // Who sees what: a rival creator nothing, another buyer nothing, the buyer their own.
    let (s, _) = app
        .get(&format!("/api/storefronts/{sf}/orders"), Some(&rival))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app.get(&format!("/api/orders/{tee}"), Some(&rival)).await;
    assert_eq!(s, 404);
    let (_, theirs) = app.get("/api/me/orders", Some(&other)).await;
    assert_eq!(theirs["orders"].as_array().unwrap().len(), 0);
    let (_, mine) = app.get("/api/me/orders", Some(&buyer)).await;
    assert_eq!(mine["orders"].as_array().unwrap().len(), 3);
    assert!(mine["orders"][0].get("buyer_email").is_none());
    app.stop().await;
}

#[actix_web::test]
async fn downloads_tickets_and_shipments_reach_only_the_buyer() {
    deliveries(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn downloads_tickets_and_shipments_reach_only_the_buyer_on_postgres() {
    deliveries(TestApp::postgres().await).await;
}

/// The membership of `token` as the API lists it.
async fn membership(app: &TestApp, token: &str) -> Value {
    let (_, ms) = app.get("/api/me/memberships", Some(token)).await;
    ms["memberships"][0].clone()
}

async fn memberships(app: TestApp) {
    let (seller, sf) = creator(&app).await;
    let club = product(
        &app,
        &seller,
        &sf,
        json!({"kind": "membership", "title": "Inner circle", "price_cents": 500,
               "currency": "USD", "billing_interval": "month"}),
    )
    .await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (_, lapsing) = user_with_token(&app, "buyer").await;
    bought(&app, &club, &buyer, json!({})).await;
    bought(&app, &club, &lapsing, json!({})).await;
    let first_end = membership(&app, &buyer).await["current_period_end"]
        .as_str()
        .unwrap()
        .to_string();
    // The second member's card stops working before the renewal.
    {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use livedrop::db::schema::memberships;
        let id = membership(&app, &lapsing).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut conn = app.state.store.write().await.unwrap();
        livedrop::db_run!(conn, |c| {
            diesel::update(memberships::table.find(id.clone()))
                .set(memberships::payment_method.eq(DECLINED))
                .execute(c)
                .await
        })
        .unwrap();
    }

    // A month and a bit later the period is renewed: a second paid order, a later end.
    app.state.clock.advance(chrono::Duration::days(32));
    let renewed = eventually(15, || async {
        let m = membership(&app, &buyer).await;
        (m["current_period_end"].as_str() != Some(first_end.as_str())).then_some(m)
    })
    .await;
    assert_eq!(renewed["status"], "active");
    let (_, mine) = app.get("/api/me/orders?status=paid", Some(&buyer)).await;
    assert_eq!(mine["orders"].as_array().unwrap().len(), 2, "{mine}");
    let lapsed = eventually(15, || async {
        let m = membership(&app, &lapsing).await;
        (m["status"] == "lapsed").then_some(m)
    })
    .await;
    assert_eq!(lapsed["status"], "lapsed");
    // The mails follow the commits that renewed and lapsed (queued just after them).
    let order_link = format!("{}/orders/", app.url);
    for subject in ["membership is renewed", "could not be renewed"] {
        let app = &app;
        let order_link = order_link.clone();
        eventually(10, || {
            let order_link = order_link.clone();
            async move {
                mails(app)
                    .await
                    .iter()
                    .any(|m| m.contains(subject) && m.contains(&order_link))
                    .then_some(())
            }
        })
        .await;
    }

    // Cancelled: active to the end of the period, then ended without another charge.
    let id = renewed["id"].as_str().unwrap();
    let (s, m) = app
        .delete(&format!("/api/me/memberships/{id}"), Some(&buyer))
        .await;
    assert_eq!(
        (s, m["cancel_at_period_end"].as_bool()),
        (200, Some(true)),
        "{m}"
    );
    assert_eq!(m["status"], "active");
    let (s, _) = app
        .delete(&format!("/api/me/memberships/{id}"), Some(&lapsing))
        .await;
    assert_eq!(s, 404, "not theirs");
    app.state.clock.advance(chrono::Duration::days(32));
    eventually(15, || async {
        (membership(&app, &buyer).await["status"] == "ended").then_some(())
    })
    .await;
    let (_, mine) = app.get("/api/me/orders", Some(&buyer)).await;
    assert_eq!(
        mine["orders"].as_array().unwrap().len(),
        2,
        "no third charge"
    );
    app.stop().await;
}

#[actix_web::test]
async fn memberships_renew_on_a_moved_clock_and_cancel_at_period_end() {
    memberships(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn memberships_renew_on_a_moved_clock_and_cancel_at_period_end_on_postgres() {
    memberships(TestApp::postgres().await).await;
}

/// The migration that generalised orders keeps a drop's orders: reverted and applied
/// again on a database with sales in it (SQLite rebuilds the table), every drop order
/// comes back with its product, storefront and kind, and no foreign key dangles.
#[actix_web::test]
async fn the_orders_migration_keeps_drop_orders_both_ways() {
    use diesel::{Connection, RunQueryDsl};
    use diesel_migrations::MigrationHarness;
    let app = TestApp::sqlite().await;
    let (id, seller) = user_with_token(&app, "creator").await;
    let (sf, product_id) = livedrop::demo::shop(&app.state.store, id).await.unwrap();
    let (sf, product_id) = (sf.to_string(), product_id.to_string());
    let (drop, variant) = crate::support::live_drop(&app, &seller, &sf, &product_id, 1000, 5).await;
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
            json!({"card": PAID}),
        )
        .await;
    assert_eq!((s, o["status"].as_str()), (201, Some("paid")), "{o}");
    let order = o["order_id"].as_str().unwrap().to_string();

    let path = match &app.state.store {
        livedrop::db::Store::Sqlite { path, .. } => path.clone(),
        _ => unreachable!(),
    };
    let order_id = order.clone();
    std::thread::spawn(move || {
        let mut c = diesel::SqliteConnection::establish(&path).unwrap();
        diesel::connection::SimpleConnection::batch_execute(
            &mut c,
            "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
        )
        .unwrap();
        // The payouts migration (000013) and the money one (000011) first, then the
        // orders one.
        let reverted = c
            .revert_last_migration(livedrop::db::migrations::SQLITE)
            .unwrap();
        assert!(reverted.to_string().ends_with("000013"), "{reverted}");
        let reverted = c
            .revert_last_migration(livedrop::db::migrations::SQLITE)
            .unwrap();
        assert!(reverted.to_string().ends_with("000011"), "{reverted}");
        let reverted = c
            .revert_last_migration(livedrop::db::migrations::SQLITE)
            .unwrap();
        assert!(reverted.to_string().ends_with("000010"), "{reverted}");
        c.run_pending_migrations(livedrop::db::migrations::SQLITE)
            .unwrap();
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            product_id: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            kind: String,
        }
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT product_id, kind FROM orders WHERE id = '{order_id}'"
        ))
        .load(&mut c)
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].kind, "physical");
        #[derive(diesel::QueryableByName)]
        struct Dangling {
            #[diesel(sql_type = diesel::sql_types::Text)]
            table: String,
        }
        let dangling: Vec<Dangling> = diesel::sql_query("PRAGMA foreign_key_check")
            .load(&mut c)
            .unwrap();
        assert!(
            dangling.is_empty(),
            "{:?}",
            dangling.iter().map(|d| &d.table).collect::<Vec<_>>()
        );
        rows.into_iter().next().unwrap().product_id
    })
    .join()
    .map(|p| assert_eq!(p, product_id))
    .unwrap();
    let (s, o) = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
    assert_eq!(
        (s, o["product_id"].as_str()),
        (200, Some(product_id.as_str()))
    );
    app.stop().await;
}

async fn retried_checkouts(app: TestApp) {
    let (seller, sf) = creator(&app).await;
    let tee = product(
        &app,
        &seller,
        &sf,
        json!({"kind": "physical", "title": "Tee", "price_cents": 2000, "currency": "USD",
               "stock": 10}),
    )
    .await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let body = json!({"card": PAID, "shipping": address()});
    let send = |key: &'static str| {
        let app = &app;
        let (tee, buyer, body) = (tee.clone(), buyer.clone(), body.clone());
        async move {
            let res = app
                .client
                .post(app.at(&format!("/api/products/{tee}/checkout")))
                .bearer_auth(&buyer)
                .header("idempotency-key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            crate::support::into(res).await
        }
    };
    // The same key sent 12 times at once: one order, one unit, one charge.
    let answers = futures_util::future::join_all((0..12).map(|_| send("retry-1"))).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, 201, "{b}");
            b["order_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    let (_, view) = app.get(&format!("/api/products/{tee}"), None).await;
    assert_eq!(view["available"], 9);
    let (_, mine) = app.get("/api/me/orders", Some(&buyer)).await;
    assert_eq!(mine["orders"].as_array().unwrap().len(), 1);
    // A new key is a new order.
    let (s, b) = send("retry-2").await;
    assert_eq!((s, b["status"].as_str()), (201, Some("paid")));
    assert!(!ids.contains(b["order_id"].as_str().unwrap()));
    app.stop().await;
}

#[actix_web::test]
async fn a_retried_checkout_with_one_idempotency_key_buys_once() {
    retried_checkouts(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn a_retried_checkout_with_one_idempotency_key_buys_once_on_postgres() {
    retried_checkouts(TestApp::postgres().await).await;
}
