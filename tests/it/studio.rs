//! What the creator studio is built on: taking a storefront or a product off the web,
//! archiving a product that has orders (kept, never lost), and who may do it.

use serde_json::json;

use crate::support::{code, user_with_token, TestApp};

async fn off_sale(app: TestApp) {
    let (id, creator) = user_with_token(&app, "creator").await;
    let (sf, _) = livedrop::demo::shop(&app.state.store, id).await.unwrap();
    let (_, rival) = user_with_token(&app, "creator").await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (s, p) = app
        .post(
            &format!("/api/storefronts/{sf}/products"),
            Some(&creator),
            json!({"kind": "digital", "title": "Zine", "price_cents": 500, "currency": "USD",
                   "download_url": "https://files.example.com/zine.pdf"}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let zine = p["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .post(
            &format!("/api/products/{zine}/publish"),
            Some(&creator),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, shop) = app.get(&format!("/api/storefronts/{sf}"), None).await;
    let page_path = format!("/s/{}", shop["slug"].as_str().unwrap());
    let page = app.client.get(app.at(&page_path)).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("Zine"));
    let (s, o) = app
        .post(
            &format!("/api/products/{zine}/checkout"),
            Some(&buyer),
            json!({"card": "4242424242424242"}),
        )
        .await;
    assert_eq!((s, o["status"].as_str()), (201, Some("paid")), "{o}");

    // Only the owner takes it off sale.
    for path in ["unpublish", "archive"] {
        let (s, _) = app
            .post(
                &format!("/api/products/{zine}/{path}"),
                Some(&rival),
                json!({}),
            )
            .await;
        assert_eq!(s, 404, "{path} by a rival");
    }
    let (s, p) = app
        .post(
            &format!("/api/products/{zine}/unpublish"),
            Some(&creator),
            json!({}),
        )
        .await;
    assert_eq!((s, p["status"].as_str()), (200, Some("draft")));
    let (s, b) = app
        .post(
            &format!("/api/products/{zine}/checkout"),
            Some(&buyer),
            json!({"card": "4242424242424242"}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "product_unpublished"));
    let page = app.client.get(app.at(&page_path)).send().await.unwrap();
    assert!(!page.text().await.unwrap().contains("Zine"));
    // A draft with an order is not deleted (its order would lose its product): archived.
    let (s, b) = app
        .delete(&format!("/api/products/{zine}"), Some(&creator))
        .await;
    assert_eq!((s, code(&b)), (409, "product_has_orders"));
    let (s, p) = app
        .post(
            &format!("/api/products/{zine}/archive"),
            Some(&creator),
            json!({}),
        )
        .await;
    assert_eq!((s, p["status"].as_str()), (200, Some("archived")), "{p}");
    let (s, b) = app
        .post(
            &format!("/api/products/{zine}/publish"),
            Some(&creator),
            json!({}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "product_archived"));
    let (s, o) = app
        .get(
            &format!("/api/orders/{}", o["order_id"].as_str().unwrap()),
            Some(&buyer),
        )
        .await;
    assert_eq!(
        (s, o["status"].as_str()),
        (200, Some("paid")),
        "the order stands"
    );

    // The storefront: off the web (its page 404) until published again.
    let (s, _) = app
        .post(
            &format!("/api/storefronts/{sf}/unpublish"),
            Some(&rival),
            json!({}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, b) = app
        .post(
            &format!("/api/storefronts/{sf}/unpublish"),
            Some(&creator),
            json!({}),
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("draft")), "{b}");
    let page = app.client.get(app.at(&page_path)).send().await.unwrap();
    assert_eq!(page.status(), 404);
    let (s, _) = app.get(&format!("/api/storefronts/{sf}"), None).await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            &format!("/api/storefronts/{sf}/publish"),
            Some(&creator),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let page = app.client.get(app.at(&page_path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    app.stop().await;
}

#[actix_web::test]
async fn storefronts_and_products_come_off_sale_and_sold_products_are_archived_not_lost() {
    off_sale(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn storefronts_and_products_come_off_sale_and_sold_products_are_archived_not_lost_on_postgres(
) {
    off_sale(TestApp::postgres().await).await;
}

async fn page_blocks(app: TestApp) {
    let (id, creator) = user_with_token(&app, "creator").await;
    let (sf, product) = livedrop::demo::shop(&app.state.store, id).await.unwrap();
    let (rival_id, rival) = user_with_token(&app, "creator").await;
    let (_, rival_product) = livedrop::demo::shop(&app.state.store, rival_id)
        .await
        .unwrap();
    let path = format!("/api/storefronts/{sf}/blocks");
    let (_, shop) = app.get(&format!("/api/storefronts/{sf}"), None).await;
    let page_path = format!("/s/{}", shop["slug"].as_str().unwrap());

    // A new storefront has the default page: header, its links, its products among them.
    let (s, b) = app.get(&path, Some(&creator)).await;
    assert_eq!(s, 200, "{b}");
    let mut blocks = b["blocks"].as_array().unwrap().clone();
    let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    for t in ["header", "links", "products"] {
        assert!(types.contains(&t), "{types:?}");
    }
    let (s, _) = app.get(&path, Some(&rival)).await;
    assert_eq!(s, 404, "another creator");
    let (s, _) = app
        .send(
            reqwest::Method::PUT,
            &path,
            Some(&rival),
            json!({"blocks": []}),
        )
        .await;
    assert_eq!(s, 404);

    // Reordered, one hidden, two added: stored as sent, and the page follows.
    blocks.reverse();
    let links_at = blocks.iter().position(|b| b["type"] == "links").unwrap();
    blocks[links_at]["hidden"] = json!(true);
    blocks.insert(
        0,
        json!({"id": "hello", "type": "text", "hidden": false,
        "settings": {"title": "Hello", "body": "New season <soon>"}}),
    );
    blocks.push(json!({"id": "one", "type": "product", "hidden": false, "settings": {"product_id": product.to_string()}}));
    let (s, saved) = app
        .send(
            reqwest::Method::PUT,
            &path,
            Some(&creator),
            json!({"blocks": blocks}),
        )
        .await;
    assert_eq!(s, 200, "{saved}");
    assert_eq!(saved["blocks"], json!(blocks), "accepted as sent");
    let (_, again) = app.get(&path, Some(&creator)).await;
    assert_eq!(again, saved);
    let html = app
        .client
        .get(app.at(&page_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle} not on the page"))
    };
    assert!(
        html.contains("New season &lt;soon&gt;"),
        "escaped text block"
    );
    assert!(
        at("Hello") < at(r#"class="sf-header""#),
        "text first, the header after it"
    );
    assert!(
        !html.contains(r#"data-testid="link""#),
        "the links block is hidden"
    );

    // Refused: another storefront's product (a conflict with what this one has).
    let (s, b) = app
        .send(
            reqwest::Method::PUT,
            &path,
            Some(&creator),
            json!({"blocks": [{"type": "product", "settings": {"product_id": rival_product.to_string()}}]}),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "unknown_reference"), "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("blocks[0].settings.product_id"),
        "{b}"
    );
    // Refused: unknown types, unknown settings.
    for (bad, field) in [
        (json!([{"type": "carousel"}]), "blocks[0].type"),
        (
            json!([{"type": "links", "settings": {"x": 1}}]),
            "blocks[0].settings.x",
        ),
    ] {
        let (s, b) = app
            .send(
                reqwest::Method::PUT,
                &path,
                Some(&creator),
                json!({"blocks": bad}),
            )
            .await;
        assert_eq!((s, code(&b)), (422, "validation_failed"), "{b}");
        assert!(b["error"]["fields"][field].is_string(), "{field}: {b}");
    }
    let (_, kept) = app.get(&path, Some(&creator)).await;
    assert_eq!(kept, saved, "a refused page changes nothing");
    app.stop().await;
}

#[actix_web::test]
async fn a_page_is_its_blocks_in_order_and_only_its_owner_edits_them() {
    page_blocks(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn a_page_is_its_blocks_in_order_and_only_its_owner_edits_them_on_postgres() {
    page_blocks(TestApp::postgres().await).await;
}

async fn page_preview(app: TestApp) {
    let (id, creator) = user_with_token(&app, "creator").await;
    let (sf, _) = livedrop::demo::shop(&app.state.store, id).await.unwrap();
    let (_, rival) = user_with_token(&app, "creator").await;
    let (_, shop) = app.get(&format!("/api/storefronts/{sf}"), None).await;
    let (_, saved) = app
        .get(&format!("/api/storefronts/{sf}/blocks"), Some(&creator))
        .await;
    let path = format!("/api/storefronts/{sf}/preview");
    let preview = |token: &str, body: serde_json::Value| {
        app.client
            .post(app.at(&path))
            .bearer_auth(token)
            .json(&body)
            .send()
    };

    // Blocks and a look not saved: rendered by the public page's renderer, nothing stored.
    let mut blocks = saved["blocks"].as_array().unwrap().clone();
    blocks.insert(
        0,
        json!({"type": "text", "settings": {"body": "Draft <news>"}}),
    );
    let draft = json!({"blocks": blocks, "storefront": {
        "bio": "A bio not saved yet",
        "theme": {"primary": "#123456", "background": "#000000", "text": "#ffffff"},
        "links": [{"title": "Draft link", "url": "https://example.com/draft"}]}});
    let res = preview(&creator, draft.clone()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = res.text().await.unwrap();
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {html}"))
    };
    assert!(
        at("Draft &lt;news&gt;") < at(r#"class="sf-header""#),
        "the text block first"
    );
    at("A bio not saved yet");
    at("Draft link");
    assert!(!html.contains("beacon.js"), "a preview is not a visit");
    let href = "/preview/theme.css?primary=%23123456&background=%23000000&text=%23ffffff";
    at(&href.replace('&', "&amp;"));
    let css = app.client.get(app.at(href)).send().await.unwrap();
    assert_eq!(css.status(), 200);
    let css = css.text().await.unwrap();
    assert!(
        css.contains("--primary: #123456;") && css.contains("--bg: #000000;"),
        "{css}"
    );
    let (_, still) = app.get(&format!("/api/storefronts/{sf}"), None).await;
    assert_eq!(still["bio"], shop["bio"], "nothing saved");
    let (_, blocks_now) = app
        .get(&format!("/api/storefronts/{sf}/blocks"), Some(&creator))
        .await;
    assert_eq!(blocks_now, saved, "nothing saved");

    // Refused as the PUT and the PATCH refuse; another creator's storefront is not found.
    let bad_theme = json!({"blocks": [], "storefront": {"theme": {"primary": "red;}"}}});
    let bad_block = json!({"blocks": [{"type": "carousel"}]});
    for body in [bad_theme, bad_block] {
        let res = preview(&creator, body).await.unwrap();
        assert_eq!(res.status(), 422);
        let b: serde_json::Value = res.json().await.unwrap();
        assert_eq!(code(&b), "validation_failed", "{b}");
    }
    assert_eq!(preview(&rival, draft).await.unwrap().status(), 404);
    // Colours that are not colours never reach the stylesheet.
    let css = app
        .client
        .get(app.at("/preview/theme.css?primary=red;}body{x:y&text=%23fff"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!css.contains("red") && css.contains("--fg: #fff;"), "{css}");
    app.stop().await;
}

#[actix_web::test]
async fn the_studio_previews_a_page_not_saved_with_the_public_renderer() {
    page_preview(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn the_studio_previews_a_page_not_saved_with_the_public_renderer_on_postgres() {
    page_preview(TestApp::postgres().await).await;
}

async fn studio_drops(app: TestApp) {
    use crate::support::{live_drop, storefront_with_product};
    let (owner, token) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, owner).await;
    let path = format!("/api/storefronts/{sf}/drops");
    let (s, before) = app.get(&path, Some(&token)).await;
    assert_eq!(s, 200, "{before}");
    let n = before["drops"].as_array().unwrap().len();
    // A draft (which the public never sees) and a live drop with a hold on it.
    let opens = app.state.clock.now().and_utc() + chrono::Duration::hours(1);
    let (s, draft) = app
        .post(
            "/api/drops",
            Some(&token),
            json!({"storefront_id": sf, "product_id": product, "title": "Next week",
                "price_cents": 900, "currency": "USD", "opens_at": opens,
                "variants": [{"name": "S", "stock": 4}, {"name": "M", "stock": 6}]}),
        )
        .await;
    assert_eq!(s, 201, "{draft}");
    let (live, variant) =
        live_drop(&app, &token, &sf.to_string(), &product.to_string(), 500, 5).await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    let (s, b) = app
        .post(
            &format!("/api/drops/{live}/holds"),
            Some(&buyer),
            json!({"variant_id": variant, "quantity": 2}),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    let (s, list) = app.get(&path, Some(&token)).await;
    assert_eq!(s, 200, "{list}");
    let drops = list["drops"].as_array().unwrap();
    assert_eq!(drops.len(), n + 2, "{list}");
    let find = |id: &str| drops.iter().find(|d| d["id"] == id).unwrap().clone();
    let d = find(draft["id"].as_str().unwrap());
    assert_eq!(d["status"], "draft");
    assert_eq!(d["variants"].as_array().unwrap().len(), 2);
    assert_eq!(d["variants"][1]["name"], "M");
    let l = find(&live);
    assert_eq!(l["status"], "live");
    let v = &l["variants"][0];
    assert_eq!(
        (&v["stock"], &v["remaining"], &v["held"], &v["sold"]),
        (&json!(5), &json!(3), &json!(2), &json!(0)),
        "{l}"
    );
    // The latest opening first.
    assert_eq!(drops[0]["id"], draft["id"]);

    // Only its owner and admins.
    let (_, rival) = user_with_token(&app, "creator").await;
    assert_eq!(app.get(&path, Some(&rival)).await.0, 404);
    assert_eq!(app.get(&path, Some(&buyer)).await.0, 404);
    assert_eq!(app.get(&path, None).await.0, 401);
    let (_, admin) = user_with_token(&app, "admin").await;
    assert_eq!(app.get(&path, Some(&admin)).await.0, 200);
    app.stop().await;
}

#[actix_web::test]
async fn a_creator_lists_every_drop_of_a_storefront_drafts_included() {
    studio_drops(TestApp::sqlite().await).await;
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn a_creator_lists_every_drop_of_a_storefront_drafts_included_on_postgres() {
    studio_drops(TestApp::postgres().await).await;
}

#[actix_web::test]
async fn a_creator_lists_every_raffle_of_a_storefront_drafts_included() {
    use crate::support::storefront_with_product;
    let app = TestApp::sqlite().await;
    let (owner, token) = user_with_token(&app, "creator").await;
    let (sf, _) = storefront_with_product(&app, owner).await;
    let path = format!("/api/storefronts/{sf}/raffles");
    let (s, before) = app.get(&path, Some(&token)).await;
    assert_eq!(s, 200, "{before}");
    let now = app.state.clock.now().and_utc();
    let (s, r) = app
        .post(
            "/api/raffles",
            Some(&token),
            json!({"storefront_id": sf, "title": "Giveaway", "entry": "free", "alternates": 1,
                "prizes": [{"rank_from": 1, "rank_to": 2, "description": "A tote"}],
                "opens_at": now, "closes_at": now + chrono::Duration::days(1)}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (_, list) = app.get(&path, Some(&token)).await;
    let all = list.as_array().unwrap();
    assert_eq!(all.len(), before.as_array().unwrap().len() + 1, "{list}");
    let mine = all.iter().find(|x| x["id"] == r["id"]).unwrap();
    assert_eq!(mine["status"], "draft", "drafts included: {mine}");
    // The public list leaves drafts out; others get a 404.
    let (_, public) = app
        .get(&format!("/api/raffles?storefront={sf}"), None)
        .await;
    assert!(public
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["id"] != r["id"]));
    let (_, rival) = user_with_token(&app, "creator").await;
    assert_eq!(app.get(&path, Some(&rival)).await.0, 404);
    assert_eq!(app.get(&path, None).await.0, 401);
    app.stop().await;
}
