use crate::support::{code, TestApp};

#[actix_web::test]
async fn health_and_readiness_answer_on_sqlite() {
    let app = TestApp::sqlite().await;
    let (s, b) = app.get("/healthz", None).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("ok")));
    let (s, b) = app.get("/readyz", None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["store"], "sqlite");
    assert_eq!(b["pending_migrations"], 0);
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn health_and_readiness_answer_on_postgres() {
    let app = TestApp::postgres().await;
    let (s, b) = app.get("/readyz", None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["store"], "postgres");
}

#[actix_web::test]
async fn unknown_routes_get_a_json_404_and_wrong_methods_a_405() {
    let app = TestApp::sqlite().await;
    let (s, b) = app.get("/no/such/thing", None).await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    let (s, _) = app.delete("/healthz", None).await;
    assert_eq!(s, 405);
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::sqlite().await;
    app.get("/healthz", None).await;
    app.get("/healthz", None).await;
    let text = app
        .client
        .get(app.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"livedrop_http_requests_total{method="GET",route="/healthz",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains("livedrop_http_request_duration_seconds_bucket"));
    assert!(text.contains("livedrop_db_pool_connections"));
}
