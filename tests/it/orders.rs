//! Order lists: a storefront's orders for its owner (filters, pages, CSV), a buyer's own,
//! and who may see what (a rival creator and other buyers see nothing).

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::support::{code, live_drop, storefront_with_product, user_with_token, TestApp};

/// A buyer whose email starts with a spreadsheet formula (a valid local part).
async fn formula_buyer(app: &TestApp) -> String {
    use livedrop::db::models::{now, user};
    let id = livedrop::domain::ids::UserId::new();
    let t = now();
    let u = user::User {
        id,
        email: format!("=1+1-{}@test.livedrop.local", id.0.simple()),
        password_hash: "!".into(),
        role: "buyer".into(),
        email_verified_at: Some(t),
        created_at: t,
        updated_at: t,
    };
    user::insert(&app.state.store, &u).await.unwrap();
    app.state
        .jwt
        .issue(
            id,
            livedrop::auth::Role::Buyer,
            true,
            chrono::Utc::now().timestamp(),
        )
        .unwrap()
}

/// Hold one unit of `variant` and pay with `card`; returns the order id.
async fn buy(app: &TestApp, drop: &str, variant: &str, buyer: &str, card: &str) -> String {
    let (s, h) = app
        .post(
            &format!("/api/drops/{drop}/holds"),
            Some(buyer),
            json!({"variant_id": variant, "quantity": 1}),
        )
        .await;
    assert_eq!(s, 201, "{h}");
    let hold = h["id"].as_str().unwrap();
    let (s, b) = app
        .post(
            &format!("/api/holds/{hold}/checkout"),
            Some(buyer),
            json!({ "card": card }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["order_id"].as_str().unwrap().to_string()
}

fn ids(page: &Value) -> Vec<String> {
    page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

const PAID: &str = "4242 4242 4242 4242";
const DECLINED: &str = "4000 0000 0000 0002";

async fn lists(app: TestApp) {
    let (a, a_token) = user_with_token(&app, "creator").await;
    let (sf_a, product_a) = storefront_with_product(&app, a).await;
    let (sf_a, product_a) = (sf_a.to_string(), product_a.to_string());
    let (drop_a, variant_a) = live_drop(&app, &a_token, &sf_a, &product_a, 1500, 10).await;
    let (b, b_token) = user_with_token(&app, "creator").await;
    let (sf_b, product_b) = storefront_with_product(&app, b).await;
    let (sf_b, product_b) = (sf_b.to_string(), product_b.to_string());
    let (drop_b, variant_b) = live_drop(&app, &b_token, &sf_b, &product_b, 900, 10).await;
    let (_, x) = user_with_token(&app, "buyer").await;
    let y = formula_buyer(&app).await;
    let (_, admin) = user_with_token(&app, "admin").await;

    let x1 = buy(&app, &drop_a, &variant_a, &x, PAID).await;
    let y1 = buy(&app, &drop_a, &variant_a, &y, DECLINED).await;
    let x2 = buy(&app, &drop_a, &variant_a, &x, PAID).await;
    let y2 = buy(&app, &drop_a, &variant_a, &y, PAID).await;
    let xb = buy(&app, &drop_b, &variant_b, &x, PAID).await;
    let newest_first_a = vec![y2.clone(), x2.clone(), y1.clone(), x1.clone()];

    // The owner sees their storefront's orders, newest first, with the buyers' emails.
    let path = format!("/api/storefronts/{sf_a}/orders");
    let (s, page) = app.get(&path, Some(&a_token)).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(ids(&page), newest_first_a);
    assert!(page.get("next").is_none(), "{page}");
    for o in page["orders"].as_array().unwrap() {
        assert_eq!(o["product_id"].as_str(), Some(product_a.as_str()));
        assert_eq!(o["drop_id"].as_str(), Some(drop_a.as_str()));
        assert!(o["buyer_email"].as_str().unwrap().contains('@'), "{o}");
    }
    let statuses: Vec<&str> = page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["paid", "paid", "declined", "paid"]);

    // Filters.
    let (_, paid) = app
        .get(&format!("{path}?status=paid"), Some(&a_token))
        .await;
    assert_eq!(ids(&paid), [y2.clone(), x2.clone(), x1.clone()]);
    let (_, by_product) = app
        .get(&format!("{path}?product_id={product_a}"), Some(&a_token))
        .await;
    assert_eq!(ids(&by_product), newest_first_a);
    let (_, rival_product) = app
        .get(&format!("{path}?product_id={product_b}"), Some(&a_token))
        .await;
    assert_eq!(ids(&rival_product), Vec::<String>::new());
    let (_, by_drop) = app
        .get(&format!("{path}?drop_id={drop_b}"), Some(&a_token))
        .await;
    assert_eq!(ids(&by_drop), Vec::<String>::new());
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (_, later) = app
        .get(
            &format!("{path}?from={}", urlencoding(&future)),
            Some(&a_token),
        )
        .await;
    assert_eq!(ids(&later), Vec::<String>::new());
    let (_, earlier) = app
        .get(
            &format!("{path}?to={}", urlencoding(&future)),
            Some(&a_token),
        )
        .await;
    assert_eq!(ids(&earlier), newest_first_a);
    for bad in [
        "status=shipped",
        "from=yesterday",
        "limit=0",
        "limit=201",
        "after=nope",
        "product_id=nope",
    ] {
        let (s, e) = app.get(&format!("{path}?{bad}"), Some(&a_token)).await;
        assert_eq!((s, code(&e)), (422, "validation_failed"), "{bad}: {e}");
    }

    // Pages: two of two, then nothing more; together every order once.
    let (_, p1) = app.get(&format!("{path}?limit=3"), Some(&a_token)).await;
    let next = p1["next"].as_str().expect("a next page").to_string();
    let (_, p2) = app
        .get(&format!("{path}?limit=3&after={next}"), Some(&a_token))
        .await;
    assert!(p2.get("next").is_none(), "{p2}");
    let mut all = ids(&p1);
    all.extend(ids(&p2));
    assert_eq!(all, newest_first_a);

    // CSV: a header and every order, the formula-like email made inert.
    let res = reqwest::Client::new()
        .get(app.at(&format!("/api/storefronts/{sf_a}/orders.csv")))
        .bearer_auth(&a_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("id,created_at,status,product_id"),
        "{csv}"
    );
    assert_eq!(lines.len(), 1 + newest_first_a.len(), "{csv}");
    for (line, id) in lines[1..].iter().zip(&newest_first_a) {
        assert!(line.starts_with(id.as_str()), "{line}");
    }
    assert!(csv.contains(",'=1+1-"), "{csv}");
    assert!(!csv.contains(",=1+1-"), "{csv}");

    // Nobody else sees them: a rival creator, a buyer; an admin does.
    for (who, t) in [("rival", &b_token), ("buyer", &x)] {
        let (s, e) = app.get(&path, Some(t)).await;
        assert_eq!((s, code(&e)), (404, "not_found"), "{who}");
        let (s, _) = app
            .get(&format!("/api/storefronts/{sf_a}/orders.csv"), Some(t))
            .await;
        assert_eq!(s, 404, "{who}");
    }
    let (s, e) = app.get(&path, None).await;
    assert_eq!(s, 401, "{e}");
    let (s, by_admin) = app.get(&path, Some(&admin)).await;
    assert_eq!((s, ids(&by_admin)), (200, newest_first_a.clone()));
    let (_, rival_own) = app
        .get(&format!("/api/storefronts/{sf_b}/orders"), Some(&b_token))
        .await;
    assert_eq!(ids(&rival_own), std::slice::from_ref(&xb));

    // A buyer's own orders, across storefronts, without anyone's email.
    let (s, mine) = app.get("/api/me/orders", Some(&x)).await;
    assert_eq!(s, 200, "{mine}");
    assert_eq!(ids(&mine), [xb.clone(), x2.clone(), x1.clone()]);
    assert!(mine["orders"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o.get("buyer_email").is_none()));
    let (_, theirs) = app.get("/api/me/orders", Some(&y)).await;
    let theirs: HashSet<String> = ids(&theirs).into_iter().collect();
    assert_eq!(theirs, HashSet::from([y1.clone(), y2.clone()]));

    // One order: the seller sees the buyer's email, the buyer sees the product.
    let (_, seen) = app.get(&format!("/api/orders/{x1}"), Some(&a_token)).await;
    assert!(
        seen["buyer_email"].as_str().unwrap().starts_with("buyer-"),
        "{seen}"
    );
    let (_, own) = app.get(&format!("/api/orders/{x1}"), Some(&x)).await;
    assert!(own.get("buyer_email").is_none(), "{own}");
    assert_eq!(own["product_id"].as_str(), Some(product_a.as_str()));
    let (s, _) = app.get(&format!("/api/orders/{x1}"), Some(&b_token)).await;
    assert_eq!(s, 404);
    app.stop().await;
}

/// `s` as a query-string value.
fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[actix_web::test]
async fn a_storefront_lists_its_orders_and_a_buyer_their_own() {
    lists(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn a_storefront_lists_its_orders_and_a_buyer_their_own_on_postgres() {
    lists(TestApp::postgres().await).await;
}
