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
    let (s, b) = app.delete("/healthz", None).await;
    assert_eq!((s, code(&b)), (405, "method_not_allowed"));
    let r = app
        .client
        .put(app.at("/api/products/00000000-0000-7000-8000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, PATCH, DELETE")
    );
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_status() {
    let token = "metrics-token-for-the-test";
    let app = TestApp::with(&[("METRICS_TOKEN", token)]).await;
    app.get("/healthz", None).await;
    app.get("/healthz", None).await;
    // Not for everybody: no token, or another, is refused.
    let (s, b) = app.get("/metrics", None).await;
    assert_eq!((s, code(&b)), (401, "unauthorized"));
    let (s, _) = app.get("/metrics", Some("not-the-metrics-token!!")).await;
    assert_eq!(s, 401);
    let text = app
        .client
        .get(app.at("/metrics"))
        .bearer_auth(token)
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
    // Without a configured token, /metrics is not served at all.
    let plain = TestApp::sqlite().await;
    assert_eq!(plain.get("/metrics", Some(token)).await.0, 404);
}

#[actix_web::test]
async fn openapi_lists_exactly_the_routes_the_router_serves() {
    use std::collections::BTreeSet;
    // With a metrics token, so that every route is served (without one /metrics is not).
    let app = TestApp::with(&[("METRICS_TOKEN", "metrics-token-for-the-test")]).await;
    let (s, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(s, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_string(), path.to_string()))
        })
        .collect();
    // Every route but the WebSocket upgrade, which OpenAPI cannot describe (the "live"
    // tag names it and the README gives its messages).
    let served: BTreeSet<(String, String)> = livedrop::http::ROUTES
        .iter()
        .filter(|(m, p)| (*m, *p) != ("get", "/ws"))
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert!(doc["paths"].get("/ws").is_none());
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in OpenAPI: {undocumented:?}"
    );
    assert!(phantom.is_empty(), "in OpenAPI but not served: {phantom:?}");
    // And the router really serves each of them (no JSON 404 for the path itself).
    for (m, p) in &served {
        if m != "get" || p.contains('{') {
            continue;
        }
        let (s, _) = app.get(p, None).await;
        assert_ne!(s, 404, "{p}");
    }
}

#[actix_web::test]
async fn the_api_reference_page_and_its_assets_are_served() {
    let app = TestApp::sqlite().await;
    let res = app.client.get(app.at("/api/docs")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(res.text().await.unwrap().contains("/static/docs.js"));
    let res = app
        .client
        .get(app.at("/static/docs.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (s, b) = app.get("/static/..%2Fsrc%2Fmain.rs", None).await;
    assert_eq!((s, code(&b)), (404, "not_found"));
}

#[actix_web::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = TestApp::sqlite().await;
    let res = app
        .client
        .get(app.at("/healthz"))
        .header("x-request-id", "lb-1234")
        .send()
        .await
        .unwrap();
    let h = res.headers();
    assert_eq!(h["x-request-id"], "lb-1234");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    let res = app.client.get(app.at("/healthz")).send().await.unwrap();
    assert_eq!(
        res.headers()["x-request-id"].len(),
        36,
        "a fresh UUID when none is sent"
    );
}

#[actix_web::test]
async fn cors_allows_only_the_configured_origins() {
    let app = TestApp::with(&[("CORS_ORIGINS", "https://shop.example")]).await;
    let ask = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.at("/api/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = ask("https://shop.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let no = ask("https://evil.example").await.unwrap();
    assert!(no.headers().get("access-control-allow-origin").is_none());
}

#[actix_web::test]
#[ignore = "needs postgres"]
async fn readyz_is_503_while_migrations_are_pending_and_when_the_store_is_gone() {
    use crate::support::{fresh_pg_database, pg_base, TEST_SECRET};
    use diesel_async::{AsyncConnection, SimpleAsyncConnection};
    // A node started without migrating, against an empty database.
    let url = fresh_pg_database().await;
    let app = TestApp::unmigrated(&[("DATABASE_URL", &url), ("JWT_SECRET", TEST_SECRET)]).await;
    let (s, b) = app.get("/readyz", None).await;
    assert_eq!(s, 503, "{b}");
    assert!(b["pending_migrations"].as_u64().unwrap() >= 1);
    livedrop::db::migrations::run(&app.state.store)
        .await
        .unwrap();
    let (s, _) = app.get("/readyz", None).await;
    assert_eq!(s, 200);

    // The database disappears under the running node: 503, never a 500 or a hang.
    let name = url.rsplit('/').next().unwrap().to_string();
    let mut admin = diesel_async::AsyncPgConnection::establish(&format!("{}/postgres", pg_base()))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    let (s, b) = app.get("/readyz", None).await;
    assert_eq!((s, code(&b)), (503, "service_unavailable"), "{b}");
    let (s, b) = app
        .post(
            "/api/auth/login",
            None,
            serde_json::json!({"email": "a@example.com", "password": "whatever-password"}),
        )
        .await;
    assert_eq!((s, code(&b)), (503, "service_unavailable"), "{b}");
}

#[actix_web::test]
async fn admin_create_command_makes_an_admin_who_can_sign_in() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_livedrop"))
        .args([
            "admin",
            "create",
            "--email",
            "Boss@Example.com",
            "--password-stdin",
        ])
        .env("DATA_DIR", &data)
        .env("SEED_DEMO", "false")
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long admin password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let app = TestApp::with(&[("DATA_DIR", &data), ("RATE_LIMITS", "off")]).await;
    let (s, b) = app
        .post(
            "/api/auth/login",
            None,
            serde_json::json!({"email": "boss@example.com", "password": "a long admin password"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["user"]["role"], "admin");
    assert_eq!(b["user"]["email_verified"], true);
}
