//! The real binary, as `cargo run --release` starts it: embedded mode in a fresh directory,
//! the demo seeded and served, and a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[actix_web::test]
async fn the_binary_serves_the_demo_storefront_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_livedrop"))
        .current_dir(dir.path())
        .env("BIND", "127.0.0.1:0")
        .env_remove("DATABASE_URL")
        .env_remove("DATA_DIR")
        .env_remove("JWT_SECRET")
        .env_remove("SEED_DEMO")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .expect("the binary printed its address")
            .unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.strip_prefix("livedrop is listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    for line in lines.by_ref().take(4) {
        printed.push(line.unwrap());
    }
    let all = printed.join("\n");
    assert!(all.contains("/s/demo"), "{all}");
    assert!(all.contains("creator@demo.livedrop.local"), "{all}");
    assert!(
        dir.path().join("data/livedrop.db").exists(),
        "SQLite under ./data"
    );

    let client = reqwest::Client::new();
    let res = client.get(format!("{url}/s/demo")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    for link in [
        "Friday drop calendar",
        "Sound packs on Bandcamp",
        "Sizing guide",
    ] {
        assert!(html.contains(link), "{link} missing from the demo page");
    }
    assert_eq!(
        html.matches(r#"data-testid="product""#).count(),
        7,
        "one product of each kind"
    );
    assert!(
        html.contains(r#"data-testid="drop""#),
        "the demo drop is linked"
    );
    let (status, _) = (
        client
            .get(format!("{url}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        (),
    );
    assert_eq!(status, 200);

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful stop exits 0, got {exit:?}");
}

/// A cluster node never takes the test card as payment by default: without Stripe's keys
/// `serve` refuses to start, naming what to set; with `PAYMENT_PROVIDER=test` it serves and
/// says so on every answer (a header) and every page (a notice).
#[actix_web::test]
#[ignore = "needs postgres"]
async fn a_cluster_node_without_stripe_keys_refuses_to_serve_unless_told_it_is_a_test() {
    let url = crate::support::fresh_pg_database().await;
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_livedrop"))
        .args(["serve", "--migrate"])
        .env("DATA_DIR", dir.path())
        .env("BIND", "127.0.0.1:0")
        .env("DATABASE_URL", &url)
        .env("JWT_SECRET", crate::support::TEST_SECRET)
        .env_remove("PAYMENT_PROVIDER")
        .env_remove("STRIPE_SECRET_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success(), "served without a payment provider");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PAYMENT_PROVIDER") && err.contains("STRIPE_SECRET_KEY"),
        "{err}"
    );
    // `migrate` is not affected.
    let out = Command::new(env!("CARGO_BIN_EXE_livedrop"))
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("JWT_SECRET", crate::support::TEST_SECRET)
        .env_remove("PAYMENT_PROVIDER")
        .env_remove("STRIPE_SECRET_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut node = crate::recovery::start(dir.path(), Some(&url));
    let client = reqwest::Client::new();
    for path in ["/", "/signin", "/studio", "/api/drops", "/readyz"] {
        let res = client
            .get(format!("{}{path}", node.url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers()
                .get("x-payment-provider")
                .and_then(|v| v.to_str().ok()),
            Some("test; no money moves"),
            "{path}"
        );
        let html = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        let body = res.text().await.unwrap();
        if html {
            let banner = body.find("class=\"test-payments\"").expect(path);
            assert!(body.find("<body").unwrap() < banner, "{path}");
        }
    }
    node.child.kill().unwrap();
    node.child.wait().unwrap();
}
