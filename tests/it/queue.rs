//! The waiting room: join before the opening, a shuffled order anyone can recompute from
//! the logged seed, served before later arrivals; results by polling and over the socket.

use chrono::{Duration, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use crate::support::{code, storefront_with_product, user_with_token, TestApp};

#[actix_web::test]
async fn the_waiting_room_is_shuffled_by_a_logged_seed_and_served_before_later_arrivals() {
    let app = TestApp::sqlite().await;
    let (creator, owner) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let opens_at = app.state.clock.now().and_utc() + Duration::seconds(60);
    let (s, b) = app
        .post(
            "/api/drops",
            Some(&owner),
            json!({"storefront_id": sf, "product_id": product, "title": "Queue", "price_cents": 100,
                   "currency": "USD", "variants": [{"name": "One", "stock": 5}], "opens_at": opens_at,
                   "waiting_room_seconds": 30}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let drop = b["id"].as_str().unwrap().to_string();
    let variant = b["variants"][0]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/drops/{drop}/publish"),
        Some(&owner),
        Value::Null,
    )
    .await;
    let body = json!({"variant_id": variant, "quantity": 1});

    let mut buyers = Vec::new();
    for _ in 0..20 {
        buyers.push(user_with_token(&app, "buyer").await);
    }
    let (s, b) = app
        .post(
            &format!("/api/drops/{drop}/queue"),
            Some(&buyers[0].1),
            body.clone(),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "not_open"), "before the waiting room");

    app.state.clock.advance(Duration::seconds(31));
    // One buyer listens on their private topic for the result.
    let url = app.url.replace("http://", "ws://") + "/ws";
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let send = |v: Value| tokio_tungstenite::tungstenite::Message::text(v.to_string());
    ws.send(send(json!({"op": "auth", "token": buyers[0].1})))
        .await
        .unwrap();
    ws.send(send(
        json!({"op": "subscribe", "topic": format!("user:{}", buyers[0].0)}),
    ))
    .await
    .unwrap();

    let mut tickets = Vec::new();
    for (_, token) in &buyers {
        let (s, t) = app
            .post(
                &format!("/api/drops/{drop}/queue"),
                Some(token),
                body.clone(),
            )
            .await;
        assert_eq!((s, t["state"].as_str()), (202, Some("waiting")), "{t}");
        tickets.push(t["ticket_id"].as_str().unwrap().to_string());
    }
    let (s, again) = app
        .post(
            &format!("/api/drops/{drop}/queue"),
            Some(&buyers[3].1),
            body.clone(),
        )
        .await;
    assert_eq!(
        (s, again["ticket_id"].as_str()),
        (202, Some(tickets[3].as_str())),
        "one ticket per buyer"
    );
    let (s, b) = app
        .post(
            &format!("/api/drops/{drop}/holds"),
            Some(&buyers[0].1),
            body.clone(),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "not_open"));

    // The opening second: a later arrival asks at once, and still comes after the queue.
    app.state.clock.advance(Duration::seconds(30));
    let (_, late) = user_with_token(&app, "buyer").await;
    let (s, b) = app
        .post(
            &format!("/api/drops/{drop}/holds"),
            Some(&late),
            body.clone(),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (409, "sold_out"),
        "the queue was served first: {b}"
    );
    let (s, b) = app
        .post(
            &format!("/api/drops/{drop}/queue"),
            Some(&late),
            body.clone(),
        )
        .await;
    assert_eq!((s, code(&b)), (409, "drop_open"));

    let mut positions = vec![0i64; 20];
    let mut held = 0;
    for (i, (t, (_, token))) in tickets.iter().zip(&buyers).enumerate() {
        let (s, v) = app.get(&format!("/api/queue/{t}"), Some(token)).await;
        assert_eq!(s, 200, "{v}");
        let pos = v["position"].as_i64().unwrap();
        positions[i] = pos;
        match v["state"].as_str().unwrap() {
            "held" => {
                held += 1;
                assert!(pos < 5, "the first five places win");
                assert_eq!(v["hold"]["quantity"], 1);
            }
            "sold_out" => assert!(pos >= 5),
            other => panic!("unexpected state {other}"),
        }
    }
    assert_eq!(held, 5);
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(sorted, (0..20).collect::<Vec<_>>(), "a permutation");
    assert_ne!(
        positions,
        (0..20).collect::<Vec<_>>(),
        "not the arrival order"
    );

    // Anyone with the log can recompute the order: shuffle the ticket ids (ascending)
    // with the logged seed.
    let (s, log) = app
        .get(&format!("/api/drops/{drop}/log?limit=1000"), Some(&owner))
        .await;
    assert_eq!(s, 200);
    let entries = log["entries"].as_array().unwrap();
    let shuffled = entries
        .iter()
        .find(|e| e["kind"] == "waiting_room_shuffled")
        .unwrap();
    let seed: [u8; 32] = hex::decode(shuffled["detail"]["seed"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let mut ids = tickets.clone();
    ids.sort();
    livedrop::domain::drop::shuffle(&mut ids, seed);
    for (i, t) in tickets.iter().enumerate() {
        let expected = ids.iter().position(|x| x == t).unwrap() as i64;
        assert_eq!(positions[i], expected, "ticket {t}");
    }
    assert_eq!(
        entries.iter().filter(|e| e["kind"] == "admission").count(),
        20
    );
    assert_eq!(
        entries.iter().filter(|e| e["kind"] == "queue_join").count(),
        20
    );

    // The listening buyer got their result pushed.
    let pushed = loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .expect("no push")
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "update" {
                break v;
            }
        }
    };
    assert_eq!(pushed["data"]["kind"], "queue_result");
    assert_eq!(pushed["data"]["ticket"]["id"], tickets[0].as_str());

    // Other people's tickets and logs are not theirs to read.
    let (s, _) = app
        .get(&format!("/api/queue/{}", tickets[1]), Some(&buyers[0].1))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .get(&format!("/api/drops/{drop}/log"), Some(&buyers[0].1))
        .await;
    assert_eq!(s, 404);
}

#[actix_web::test]
async fn the_log_pages_and_exports_csv() {
    let app = TestApp::sqlite().await;
    let (creator, owner) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let (_, b) = app
        .post(
            "/api/drops",
            Some(&owner),
            json!({"storefront_id": sf, "product_id": product, "title": "Log", "price_cents": 100,
                   "currency": "USD", "variants": [{"name": "One", "stock": 50}], "opens_at": Utc::now(),
                   "waiting_room_seconds": 0, "per_buyer_limit": 10}),
        )
        .await;
    let drop = b["id"].as_str().unwrap().to_string();
    let variant = b["variants"][0]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/drops/{drop}/publish"),
        Some(&owner),
        Value::Null,
    )
    .await;
    let (_, buyer) = user_with_token(&app, "buyer").await;
    for _ in 0..5 {
        app.post(
            &format!("/api/drops/{drop}/holds"),
            Some(&buyer),
            json!({"variant_id": variant, "quantity": 1}),
        )
        .await;
    }
    // The clock records the opening (`live`) on its own tick: wait for it, so that no
    // entry is added between the paging and the export below.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, all) = app
            .get(&format!("/api/drops/{drop}/log?limit=100"), Some(&owner))
            .await;
        if all["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "live")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `live` entry: {all}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // created + scheduled + live + 5 holds = 8 entries, in pages of 3.
    let mut after = String::new();
    let mut kinds = Vec::new();
    loop {
        let q = if after.is_empty() {
            String::new()
        } else {
            format!("&after={after}")
        };
        let (s, page) = app
            .get(&format!("/api/drops/{drop}/log?limit=3{q}"), Some(&owner))
            .await;
        assert_eq!(s, 200, "{page}");
        kinds.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["kind"].as_str().unwrap().to_string()),
        );
        match page["next_after"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    assert_eq!(
        kinds.iter().filter(|k| *k == "hold").count(),
        5,
        "{kinds:?}"
    );
    assert_eq!(kinds[0], "created");
    let res = app
        .client
        .get(app.at(&format!("/api/drops/{drop}/log?format=csv&limit=1000")))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,at,kind,buyer_id,variant_id,hold_id,quantity,detail"
    );
    assert_eq!(lines.len(), 1 + kinds.len());
    let (s, _) = app
        .get(&format!("/api/drops/{drop}/log?limit=0"), Some(&owner))
        .await;
    assert_eq!(s, 400);
    let (s, _) = app
        .get(&format!("/api/drops/{drop}/log?after=nope"), Some(&owner))
        .await;
    assert_eq!(s, 400);
}

/// Publishing logs `scheduled` once: the drop's actor, whose clock sees the drop already
/// scheduled, does not record the transition again. Watched for two seconds (eight of the
/// actor's ticks), the log keeps one `scheduled` entry.
#[actix_web::test]
async fn publishing_logs_scheduled_once() {
    let app = TestApp::sqlite().await;
    let (creator, owner) = user_with_token(&app, "creator").await;
    let (sf, product) = storefront_with_product(&app, creator).await;
    let (_, b) = app
        .post(
            "/api/drops",
            Some(&owner),
            json!({"storefront_id": sf, "product_id": product, "title": "Later", "price_cents": 100,
                   "currency": "USD", "variants": [{"name": "One", "stock": 5}],
                   "opens_at": Utc::now() + Duration::hours(1), "waiting_room_seconds": 0}),
        )
        .await;
    let drop = b["id"].as_str().unwrap().to_string();
    // The drop's actor exists (and ticks) before the publish.
    let (s, _) = app.get(&format!("/api/drops/{drop}"), Some(&owner)).await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post(
            &format!("/api/drops/{drop}/publish"),
            Some(&owner),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < until {
        let (_, log) = app
            .get(&format!("/api/drops/{drop}/log?limit=100"), Some(&owner))
            .await;
        let scheduled = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "scheduled")
            .count();
        assert_eq!(scheduled, 1, "{log}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
