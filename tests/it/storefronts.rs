//! Storefronts and products over HTTP: create, validate, publish, the public page, and
//! each product kind with its invalid variants; nothing written by a refused request.

use serde_json::{json, Value};

use crate::support::{code, user_with_token, user_with_token_verified, TestApp};

async fn shop(app: &TestApp, token: &str, slug: &str) -> String {
    let (s, b) = app
        .post(
            "/api/storefronts",
            Some(token),
            json!({"slug": slug, "title": "My shop", "bio": "Hello\nworld",
                   "links": [{"title": "Site", "url": "https://example.com"}],
                   "socials": {"instagram": "@me_shop"}, "theme": {"primary": "#112233"}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["slug"], slug);
    assert_eq!(
        b["socials"]["instagram"], "me_shop",
        "a leading @ is dropped"
    );
    b["id"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn a_creator_opens_and_publishes_a_storefront_the_public_then_sees() {
    let app = TestApp::sqlite().await;
    let (_, token) = user_with_token(&app, "creator").await;
    let id = shop(&app, &token, "night-owl").await;

    // A draft is the owner's alone.
    let (s, _) = app.get("/api/storefronts/night-owl", None).await;
    assert_eq!(s, 404);
    let res = app.client.get(app.at("/s/night-owl")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let (s, b) = app.get("/api/storefronts/night-owl", Some(&token)).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("draft")));
    let (s, mine) = app.get("/api/storefronts", Some(&token)).await;
    assert_eq!((s, mine.as_array().unwrap().len()), (200, 1));

    let (s, b) = app
        .post(
            &format!("/api/storefronts/{id}/publish"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("published")));
    let (s, b) = app.get("/api/storefronts/night-owl", None).await;
    assert_eq!(s, 200);
    assert_eq!(b["links"][0]["url"], "https://example.com/");
    let (s, b) = app.get(&format!("/api/storefronts/{id}"), None).await;
    assert_eq!(
        (s, b["slug"].as_str()),
        (200, Some("night-owl")),
        "by id too"
    );

    let res = app.client.get(app.at("/s/night-owl")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"href="https://example.com/""#), "{html}");
    assert!(html.contains("My shop"));
    let css = app
        .client
        .get(app.at("/s/night-owl/theme.css"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(css.contains("--primary: #112233"));

    // Changes: a new slug, and a taken one.
    let (s, b) = app
        .patch(
            &format!("/api/storefronts/{id}"),
            Some(&token),
            json!({"slug": "day-owl", "bio": ""}),
        )
        .await;
    assert_eq!((s, b["slug"].as_str()), (200, Some("day-owl")), "{b}");
    let (_, other) = user_with_token(&app, "creator").await;
    let (s, b) = app
        .post(
            "/api/storefronts",
            Some(&other),
            json!({"slug": "day-owl", "title": "Copy"}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "slug_taken"));
}

#[actix_web::test]
async fn slugs_and_fields_are_validated_and_nothing_is_written_on_refusal() {
    let app = TestApp::sqlite().await;
    let (_, token) = user_with_token(&app, "creator").await;
    let long = "x".repeat(81);
    let cases = [
        ("slug", json!({"slug": "api", "title": "T"})),
        ("slug", json!({"slug": "admin", "title": "T"})),
        ("slug", json!({"slug": "ws", "title": "T"})),
        ("slug", json!({"slug": "héllo", "title": "T"})),
        ("slug", json!({"slug": "../etc", "title": "T"})),
        ("slug", json!({"slug": "a/b", "title": "T"})),
        (
            "slug",
            json!({"slug": "x'; drop table users;--", "title": "T"}),
        ),
        ("slug", json!({"slug": "a".repeat(41), "title": "T"})),
        ("title", json!({"slug": "fine-slug", "title": long})),
        ("title", json!({"slug": "fine-slug", "title": ""})),
        (
            "avatar_url",
            json!({"slug": "fine-slug", "title": "T", "avatar_url": "javascript:alert(1)"}),
        ),
        (
            "theme.primary",
            json!({"slug": "fine-slug", "title": "T", "theme": {"primary": "red"}}),
        ),
        (
            "links.0.url",
            json!({"slug": "fine-slug", "title": "T", "links": [{"title": "x", "url": "ftp://x"}]}),
        ),
        (
            "socials.myspace",
            json!({"slug": "fine-slug", "title": "T", "socials": {"myspace": "me"}}),
        ),
        (
            "socials.x",
            json!({"slug": "fine-slug", "title": "T", "socials": {"x": "no spaces allowed"}}),
        ),
    ];
    for (field, body) in cases {
        let (s, b) = app
            .post("/api/storefronts", Some(&token), body.clone())
            .await;
        assert_eq!((s, code(&b)), (422, "validation_failed"), "{body}");
        assert!(b["error"]["fields"][field].is_string(), "{field} in {b}");
    }
    for (body, want) in [
        (json!({"slug": 5, "title": "T"}), "invalid_json"),
        (
            json!({"slug": "ok-slug", "title": "T", "surprise": 1}),
            "invalid_json",
        ),
    ] {
        let (s, b) = app.post("/api/storefronts", Some(&token), body).await;
        assert_eq!((s, code(&b)), (400, want));
    }
    let (s, mine) = app.get("/api/storefronts", Some(&token)).await;
    assert_eq!((s, mine), (200, json!([])), "nothing was written");
}

#[actix_web::test]
async fn only_verified_creators_publish_and_buyers_cannot_open_storefronts() {
    let app = TestApp::sqlite().await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (s, b) = app
        .post(
            "/api/storefronts",
            Some(&buyer),
            json!({"slug": "buyer-shop", "title": "T"}),
        )
        .await;
    assert_eq!((s, code(&b)), (403, "forbidden"));
    let (_, unverified) = user_with_token_verified(&app, "creator", false).await;
    let id = shop(&app, &unverified, "not-yet").await;
    let (s, b) = app
        .post(
            &format!("/api/storefronts/{id}/publish"),
            Some(&unverified),
            Value::Null,
        )
        .await;
    assert_eq!((s, code(&b)), (403, "email_unverified"));
    let (s, b) = app
        .post(
            &format!("/api/storefronts/{id}/products"),
            Some(&unverified),
            json!({"kind": "service", "title": "Call", "price_cents": 100, "currency": "USD"}),
        )
        .await;
    assert_eq!(s, 201, "drafts are fine before verification: {b}");
    let pid = b["id"].as_str().unwrap();
    let (s, b) = app
        .post(
            &format!("/api/products/{pid}/publish"),
            Some(&unverified),
            Value::Null,
        )
        .await;
    assert_eq!((s, code(&b)), (403, "email_unverified"));
}

fn product(kind: &str, extra: Value) -> Value {
    let mut b =
        json!({"kind": kind, "title": format!("A {kind}"), "price_cents": 1500, "currency": "eur"});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

#[actix_web::test]
async fn each_product_kind_is_created_and_each_invalid_variant_refused() {
    let app = TestApp::sqlite().await;
    let (_, token) = user_with_token(&app, "creator").await;
    let sf = shop(&app, &token, "kinds").await;
    let path = format!("/api/storefronts/{sf}/products");
    let good = [
        product(
            "digital",
            json!({"download_url": "https://files.example/a.zip"}),
        ),
        product("physical", json!({"stock": 12, "weight_grams": 300})),
        product("service", json!({"duration_minutes": 45})),
        product("membership", json!({"billing_interval": "month"})),
        product("tip", json!({"min_cents": 100})),
        product(
            "link",
            json!({"url": "https://example.com", "price_cents": 0}),
        ),
        product(
            "event",
            json!({"starts_at": "2027-06-01T19:00:00Z", "capacity": 80, "location": "Hall"}),
        ),
    ];
    let mut ids = Vec::new();
    for body in good {
        let (s, b) = app.post(&path, Some(&token), body.clone()).await;
        assert_eq!(s, 201, "{body} → {b}");
        assert_eq!(b["kind"], body["kind"]);
        assert_eq!(b["currency"], "EUR");
        assert_eq!(b["status"], "draft");
        ids.push(b["id"].as_str().unwrap().to_string());
    }
    let bad = [
        ("kind", product("spaceship", json!({}))),
        ("download_url", product("digital", json!({}))),
        (
            "download_url",
            product("digital", json!({"download_url": "not a url"})),
        ),
        ("stock", product("physical", json!({}))),
        ("stock", product("physical", json!({"stock": -3}))),
        ("stock", product("physical", json!({"stock": "12"}))),
        (
            "duration_minutes",
            product("service", json!({"duration_minutes": 0})),
        ),
        (
            "billing_interval",
            product("membership", json!({"billing_interval": "fortnight"})),
        ),
        ("min_cents", product("tip", json!({}))),
        ("min_cents", product("tip", json!({"min_cents": -1}))),
        (
            "min_cents",
            product("tip", json!({"min_cents": 100_000_000_001_i64})),
        ),
        (
            "url",
            product("link", json!({"url": "javascript:alert(1)"})),
        ),
        (
            "starts_at",
            product("event", json!({"starts_at": "next friday", "capacity": 5})),
        ),
        (
            "capacity",
            product(
                "event",
                json!({"starts_at": "2027-06-01T19:00:00Z", "capacity": 0}),
            ),
        ),
        ("stock", product("service", json!({"stock": 5}))),
        (
            "price_cents",
            product("service", json!({"price_cents": -1})),
        ),
        ("currency", product("service", json!({"currency": "DOGE"}))),
        (
            "title",
            product("service", json!({"title": "t".repeat(121)})),
        ),
        (
            "description",
            product("service", json!({"description": "d".repeat(5001)})),
        ),
    ];
    for (field, body) in bad {
        let (s, b) = app.post(&path, Some(&token), body.clone()).await;
        assert_eq!((s, code(&b)), (422, "validation_failed"), "{body}");
        assert!(b["error"]["fields"][field].is_string(), "{field}: {b}");
    }
    let (s, b) = app
        .post(
            &path,
            Some(&token),
            json!({"kind": "service", "title": "x", "price_cents": "ten", "currency": "USD"}),
        )
        .await;
    assert_eq!((s, code(&b)), (400, "invalid_json"));
    let (_, list) = app.get(&path, Some(&token)).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        7,
        "only the good ones were written"
    );

    // The public sees published products only, and never a download link.
    app.post(
        &format!("/api/storefronts/{sf}/publish"),
        Some(&token),
        Value::Null,
    )
    .await;
    for id in &ids[..2] {
        let (s, _) = app
            .post(
                &format!("/api/products/{id}/publish"),
                Some(&token),
                Value::Null,
            )
            .await;
        assert_eq!(s, 200);
    }
    let (_, public) = app.get(&path, None).await;
    let public = public.as_array().unwrap();
    assert_eq!(public.len(), 2);
    assert!(public.iter().all(|p| p.get("download_url").is_none()));
    let (_, own) = app
        .get(&format!("/api/products/{}", ids[0]), Some(&token))
        .await;
    assert_eq!(own["download_url"], "https://files.example/a.zip");
    let (s, _) = app.get(&format!("/api/products/{}", ids[3]), None).await;
    assert_eq!(s, 404, "a draft product is private");

    // Updates merge kind fields and revalidate; the kind cannot change.
    let (s, b) = app
        .patch(
            &format!("/api/products/{}", ids[1]),
            Some(&token),
            json!({"stock": 7}),
        )
        .await;
    assert_eq!(
        (s, b["stock"].as_i64(), b["weight_grams"].as_i64()),
        (200, Some(7), Some(300)),
        "{b}"
    );
    let (s, b) = app
        .patch(
            &format!("/api/products/{}", ids[1]),
            Some(&token),
            json!({"kind": "link"}),
        )
        .await;
    assert_eq!((s, code(&b)), (422, "validation_failed"));
    // A field of another kind: well formed, but this product's kind decides.
    let (s, b) = app
        .patch(
            &format!("/api/products/{}", ids[4]),
            Some(&token),
            json!({"stock": 3}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "wrong_kind"), "{b}");
    // A tip's suggestion may be below its minimum: buyers are offered the minimum.
    let (s, b) = app
        .patch(
            &format!("/api/products/{}", ids[4]),
            Some(&token),
            json!({"price_cents": 50}),
        )
        .await;
    assert_eq!((s, b["price_cents"].as_i64()), (200, Some(50)), "{b}");

    // Drafts can be deleted; published products cannot.
    let (s, _) = app
        .delete(&format!("/api/products/{}", ids[6]), Some(&token))
        .await;
    assert_eq!(s, 204);
    let (s, b) = app
        .delete(&format!("/api/products/{}", ids[0]), Some(&token))
        .await;
    assert_eq!((s, code(&b)), (409, "product_published"));
}

async fn html(app: &TestApp, path: &str) -> String {
    let res = app.client.get(app.at(path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// The public page shows what each kind needs (a link is a link; an event's time, place and
/// places; a membership's period; a tip's minimum; low stock), and a drop with nothing
/// left as sold out, not live.
#[actix_web::test]
async fn the_page_shows_what_each_kind_of_product_needs_and_a_sold_out_drop_as_such() {
    use livedrop::domain::money::format_minor;
    let app = TestApp::sqlite().await;
    let (_, token) = user_with_token(&app, "creator").await;
    let sf = shop(&app, &token, "facts").await;
    let path = format!("/api/storefronts/{sf}/products");
    let mut physical = String::new();
    for body in [
        product(
            "digital",
            json!({"download_url": "https://files.example/a.zip"}),
        ),
        product("physical", json!({"stock": 3})),
        product("service", json!({"duration_minutes": 45})),
        product("membership", json!({"billing_interval": "month"})),
        product("tip", json!({"min_cents": 100})),
        product(
            "link",
            json!({"url": "https://example.com/lookbook", "price_cents": 0}),
        ),
        product(
            "event",
            json!({"starts_at": "2027-06-01T19:00:00Z", "capacity": 80, "location": "Hall"}),
        ),
    ] {
        let (s, b) = app.post(&path, Some(&token), body.clone()).await;
        assert_eq!(s, 201, "{body} → {b}");
        let id = b["id"].as_str().unwrap().to_string();
        let (s, b) = app
            .post(
                &format!("/api/products/{id}/publish"),
                Some(&token),
                Value::Null,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        if body["kind"] == "physical" {
            physical = id;
        }
    }
    let (s, b) = app
        .post(
            &format!("/api/storefronts/{sf}/publish"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // A one-unit drop, then held: nothing is left, so the page says sold out.
    let (drop, variant) = crate::support::live_drop(&app, &token, &sf, &physical, 900, 1).await;
    let page = html(&app, "/s/facts").await;
    assert!(
        page.contains(r#"<span class="status">live</span>"#),
        "{page}"
    );
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (s, h) = app
        .post(
            &format!("/api/drops/{drop}/holds"),
            Some(&buyer),
            json!({"variant_id": variant, "quantity": 1}),
        )
        .await;
    assert_eq!(s, 201, "{h}");
    let page = html(&app, "/s/facts").await;
    assert!(
        page.contains(r#"<span class="status">sold_out</span>"#),
        "{page}"
    );
    for fact in [
        r#"<a data-testid="product-link" href="https://example.com/lookbook" rel="noopener nofollow">A link</a>"#.to_string(),
        r#"<time datetime="2027-06-01T19:00:00+00:00">Tue 1 Jun 2027, 19:00 UTC</time>"#.into(),
        ">Hall<".into(),
        ">80 places<".into(),
        ">45 minutes<".into(),
        ">Only 3 left<".into(),
        ">Download after purchase<".into(),
        format!(">{} a month<", format_minor(1500, "EUR")),
        format!(">from {}<", format_minor(100, "EUR")),
    ] {
        assert!(page.contains(&fact), "missing {fact} in {page}");
    }
    app.stop().await;
}
