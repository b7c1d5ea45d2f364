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
