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
