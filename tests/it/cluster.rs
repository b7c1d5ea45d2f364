//! Cluster parts against real Redis and Postgres: the Redis bus between independent
//! instances, shared rate limits, and two nodes on one store that cannot oversell and
//! whose sockets see each other's changes.

use std::time::Duration;

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use livedrop::bus::redis::RedisBus;
use livedrop::bus::{Bus, Event, InProcessBus};
use livedrop::config::Limit;
use livedrop::ratelimit::redis::RedisLimiter;
use livedrop::ratelimit::{InProcessLimiter, RateLimiter};
use serde_json::{json, Value};

use crate::support::{code, fresh_pg_database, storefront_with_product, user_with_token, TestApp};

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn next_on(rx: &mut tokio::sync::broadcast::Receiver<Event>, topic: &str) -> Event {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let e = rx.recv().await.unwrap();
            if e.topic == topic {
                return e;
            }
        }
    })
    .await
    .expect("event did not arrive")
}

#[actix_web::test]
async fn the_in_process_bus_delivers_to_every_subscriber() {
    let bus = InProcessBus::new();
    let mut a = bus.subscribe();
    let mut b = bus.subscribe();
    let e = Event {
        topic: "drop:x".into(),
        payload: json!({"seq": 1}),
    };
    bus.publish(e.clone()).await.unwrap();
    assert_eq!(next_on(&mut a, "drop:x").await, e);
    assert_eq!(next_on(&mut b, "drop:x").await, e);
}

#[actix_web::test]
#[ignore = "needs redis"]
async fn an_event_published_on_one_redis_bus_arrives_at_another() {
    let one = RedisBus::connect(&redis_url()).await.unwrap();
    let two = RedisBus::connect(&redis_url()).await.unwrap();
    let mut rx = two.subscribe();
    let topic = format!("drop:{}", uuid::Uuid::now_v7());
    let e = Event {
        topic: topic.clone(),
        payload: json!({"seq": 7, "note": "from one"}),
    };
    one.publish(e.clone()).await.unwrap();
    assert_eq!(next_on(&mut rx, &topic).await, e);
}

#[actix_web::test]
async fn the_in_process_limiter_allows_the_limit_then_says_when_to_retry() {
    let l = InProcessLimiter::new();
    let limit = Limit::per(3, 60);
    for _ in 0..3 {
        assert_eq!(l.hit("k", limit).await.unwrap(), None);
    }
    let retry = l.hit("k", limit).await.unwrap().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(l.hit("other", limit).await.unwrap(), None);
}

#[actix_web::test]
#[ignore = "needs redis"]
async fn redis_rate_limits_are_shared_by_every_node() {
    let a = RedisLimiter::connect(&redis_url()).await.unwrap();
    let b = RedisLimiter::connect(&redis_url()).await.unwrap();
    let key = format!("test:{}", uuid::Uuid::now_v7());
    let limit = Limit::per(4, 60);
    for i in 0..4 {
        let l = if i % 2 == 0 { &a } else { &b };
        assert_eq!(l.hit(&key, limit).await.unwrap(), None);
    }
    let retry = b.hit(&key, limit).await.unwrap().unwrap();
    assert!((1..=60).contains(&retry));
}

/// Two nodes on one Postgres database and one Redis.
pub(crate) async fn two_nodes() -> (TestApp, TestApp) {
    let db = fresh_pg_database().await;
    let redis = redis_url();
    let vars = [
        ("RATE_LIMITS", "off"),
        ("DATABASE_URL", db.as_str()),
        ("REDIS_URL", redis.as_str()),
    ];
    let a = TestApp::with(&vars).await;
    let b = TestApp::with(&vars).await;
    (a, b)
}

async fn live_drop(app: &TestApp, stock: i64) -> (String, String) {
    let (creator, token) = user_with_token(app, "creator").await;
    let (sf, product) = storefront_with_product(app, creator).await;
    let (s, b) = app
        .post(
            "/api/drops",
            Some(&token),
            json!({"storefront_id": sf, "product_id": product, "title": "Two nodes", "price_cents": 100,
                   "currency": "USD", "variants": [{"name": "One", "stock": stock}], "opens_at": Utc::now(),
                   "waiting_room_seconds": 0}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let v = b["variants"][0]["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/drops/{id}/publish"),
        Some(&token),
        Value::Null,
    )
    .await;
    (id, v)
}

#[actix_web::test]
#[ignore = "needs postgres and redis"]
async fn two_nodes_on_one_store_cannot_oversell() {
    let (a, b) = two_nodes().await;
    let (drop, variant) = live_drop(&a, 10).await;
    // Both nodes have an actor for the drop before the rush.
    assert_eq!(b.get(&format!("/api/drops/{drop}"), None).await.0, 200);
    let mut tokens = Vec::new();
    for _ in 0..200 {
        tokens.push(user_with_token(&a, "buyer").await.1);
    }
    let body = json!({"variant_id": variant, "quantity": 1});
    let path = format!("/api/drops/{drop}/holds");
    let results = futures_util::future::join_all(tokens.iter().enumerate().map(|(i, t)| {
        let node = if i % 2 == 0 { &a } else { &b };
        node.post(&path, Some(t), body.clone())
    }))
    .await;
    let ok = results.iter().filter(|(s, _)| *s == 201).count();
    let sold_out = results
        .iter()
        .filter(|(s, r)| *s == 409 && code(r) == "sold_out")
        .count();
    assert_eq!((ok, sold_out), (10, 190));
    let (_, d) = a.get(&format!("/api/drops/{drop}"), None).await;
    assert_eq!(
        (
            d["variants"][0]["remaining"].as_i64(),
            d["variants"][0]["held"].as_i64()
        ),
        (Some(0), Some(10))
    );
}

#[actix_web::test]
#[ignore = "needs postgres and redis"]
async fn a_socket_on_one_node_sees_a_hold_made_on_the_other() {
    let (a, b) = two_nodes().await;
    let (drop, variant) = live_drop(&a, 5).await;
    let url = b.url.replace("http://", "ws://") + "/ws";
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({"op": "subscribe", "topic": format!("drop:{drop}")}).to_string(),
    ))
    .await
    .unwrap();
    let (_, buyer) = user_with_token(&a, "buyer").await;
    let mut held = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("no update from the other node");
        let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = msg else {
            continue;
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["type"] == "snapshot" && !held {
            let (s, _) = a
                .post(
                    &format!("/api/drops/{drop}/holds"),
                    Some(&buyer),
                    json!({"variant_id": variant, "quantity": 1}),
                )
                .await;
            assert_eq!(s, 201);
            held = true;
        }
        if v["type"] == "update" && v["data"]["variants"][0]["remaining"] == 4 {
            break;
        }
    }
}

/// The reverse of the test above: the socket is on the node whose drop actor changed more.
/// A socket skips an update whose `seq` is not above the last it saw, so the numbers must
/// mean the same on every node (`domain::live::next_seq`: at least the time in µs); when
/// each node counted from 1, B's update (seq 2 or so) was skipped by a socket that had seen
/// A's (seq 5 or more). Found by the Redis fault test.
#[actix_web::test]
#[ignore = "needs postgres and redis"]
async fn a_socket_sees_holds_made_on_a_node_that_changed_less() {
    let (a, b) = two_nodes().await;
    let (drop, variant) = live_drop(&a, 10).await;
    let mut ws = crate::support::socket(&a, None).await;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({"op": "subscribe", "topic": format!("drop:{drop}")}).to_string(),
    ))
    .await
    .unwrap();
    let body = json!({"variant_id": variant, "quantity": 1});
    let path = format!("/api/drops/{drop}/holds");
    // Three holds on A, one on B, each by a buyer of its own; A's socket shows each.
    for (i, node) in [&a, &a, &a, &b].into_iter().enumerate() {
        let (_, buyer) = user_with_token(&a, "buyer").await;
        let (s, r) = node.post(&path, Some(&buyer), body.clone()).await;
        assert_eq!(s, 201, "{r}");
        let remaining = 10 - (i as i64 + 1);
        let shown = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let f = crate::support::next_frame(&mut ws, Duration::from_secs(20)).await;
                if f["type"] == "update" && f["data"]["variants"][0]["remaining"] == remaining {
                    break;
                }
            }
        })
        .await;
        let on = if i < 3 { "A" } else { "B" };
        assert!(
            shown.is_ok(),
            "hold {} (on {on}) never showed on A's socket",
            i + 1
        );
    }
}

/// A node whose actor for a drop is loaded but makes no change itself must not go on
/// answering, or pushing to sockets, the counts it loaded: the other node's writes reach
/// it through the bus and it re-reads the store. (Before, its next push, e.g. a watcher
/// count, carried the stale counts with a newer `seq`, and a socket that took the newest
/// state showed units that were gone.)
#[actix_web::test]
#[ignore = "needs postgres and redis"]
async fn a_node_that_changed_nothing_catches_up_with_the_other_nodes_writes() {
    let (a, b) = two_nodes().await;
    let (drop, variant) = live_drop(&a, 10).await;
    // A's actor is loaded with 10 left.
    let (s, state) = a.get(&format!("/api/drops/{drop}"), None).await;
    assert_eq!(s, 200, "{state}");
    assert_eq!(state["variants"][0]["remaining"], 10);
    let mut on_b = crate::support::socket(&b, None).await;
    let subscribe = json!({"op": "subscribe", "topic": format!("drop:{drop}")}).to_string();
    on_b.send(tokio_tungstenite::tungstenite::Message::text(
        subscribe.clone(),
    ))
    .await
    .unwrap();
    let body = json!({"variant_id": variant, "quantity": 1});
    for _ in 0..3 {
        let (_, buyer) = user_with_token(&a, "buyer").await;
        let (s, r) = b
            .post(
                &format!("/api/drops/{drop}/holds"),
                Some(&buyer),
                body.clone(),
            )
            .await;
        assert_eq!(s, 201, "{r}");
    }
    // A answers B's counts without having written anything.
    // A kept answering the counts it loaded before the fix: `eventually` then fails.
    crate::support::eventually(10, || async {
        let (_, state) = a.get(&format!("/api/drops/{drop}"), None).await;
        (state["variants"][0]["remaining"] == 7).then_some(())
    })
    .await;
    // Two sockets on A make A push (the watcher count, over both nodes: two on A, one on
    // B): B's socket gets that push, and it carries B's counts.
    let mut on_a = Vec::new();
    for _ in 0..2 {
        let mut ws = crate::support::socket(&a, None).await;
        ws.send(tokio_tungstenite::tungstenite::Message::text(
            subscribe.clone(),
        ))
        .await
        .unwrap();
        on_a.push(ws);
    }
    let from_a = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let f = crate::support::next_frame(&mut on_b, Duration::from_secs(20)).await;
            if f["type"] == "update" && f["data"]["watchers"] == 3 {
                return f;
            }
        }
    })
    .await
    .expect("A's push never reached B's socket");
    assert_eq!(from_a["data"]["variants"][0]["remaining"], 7, "{from_a}");
    // `watchers` counts the sockets of every node, whichever node answers.
    for node in [&a, &b] {
        crate::support::eventually(10, || async {
            let (_, state) = node.get(&format!("/api/drops/{drop}"), None).await;
            (state["watchers"] == 3).then_some(())
        })
        .await;
    }
    // And a node's sockets leaving are counted out on the other.
    std::mem::drop(on_a);
    crate::support::eventually(10, || async {
        let (_, state) = b.get(&format!("/api/drops/{drop}"), None).await;
        (state["watchers"] == 1).then_some(())
    })
    .await;
}
