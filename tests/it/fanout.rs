//! Fan-out contracts beyond one topic's snapshots: personal (`user:`) messages are each
//! delivered, in order, never skipped for a newer one the way snapshot updates are.

use futures_util::SinkExt;
use serde_json::json;

use crate::support::{next_frame, socket, user_with_token, TestApp};

#[actix_web::test]
async fn every_personal_message_arrives_in_order_even_in_a_burst() {
    let app = TestApp::sqlite().await;
    let (me, token) = user_with_token(&app, "buyer").await;
    let mut ws = socket(&app, Some(&token)).await;
    let topic = format!("user:{me}");
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({"op": "subscribe", "topic": topic}).to_string(),
    ))
    .await
    .unwrap();
    let ack = next_frame(&mut ws, std::time::Duration::from_secs(10)).await;
    assert_eq!(ack["op"].as_str(), Some("subscribe"), "{ack}");
    // A burst, published back to back on the node's bus (as queue results and raffle
    // offers are): a snapshot topic would keep only the newest of these.
    const N: i64 = 100;
    for i in 0..N {
        app.state
            .bus
            .publish(livedrop::bus::Event {
                topic: topic.clone(),
                payload: json!({"type": "queue_result", "n": i}),
            })
            .await
            .unwrap();
    }
    for i in 0..N {
        let f = next_frame(&mut ws, std::time::Duration::from_secs(10)).await;
        assert_eq!(f["topic"].as_str(), Some(topic.as_str()), "{f}");
        assert_eq!(f["data"]["n"].as_i64(), Some(i), "message {i} of {N}: {f}");
    }
    app.stop().await;
}

/// A peer that goes silent (it never answers the server's pings and sends nothing) is
/// dropped after the documented 15 s (`ws::worker::CLIENT_TIMEOUT`), checked on the 5 s
/// heartbeat, so between 15 and 20 s (a little slack for a loaded machine). The client is a
/// raw TCP socket that completes the handshake and then only reads bytes: it never parses a
/// ping, so it never answers one, which is what a dead or frozen browser looks like.
#[actix_web::test]
async fn a_silent_peer_is_dropped_after_the_client_timeout() {
    use livedrop::ws::worker::{CLIENT_TIMEOUT, HEARTBEAT_INTERVAL};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::sqlite().await;
    let addr = app.url.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    let opened = std::time::Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let limit = CLIENT_TIMEOUT + HEARTBEAT_INTERVAL + std::time::Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(opened + limit),
            tcp.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the silent peer was still connected after {limit:?}"),
        }
    }
    let lived = opened.elapsed();
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    // Pings came (opcode 0x89 frames), and went unanswered.
    assert!(seen.contains(&0x89), "no ping was sent");
    assert!(
        lived >= CLIENT_TIMEOUT,
        "dropped after {lived:?}, before the documented {CLIENT_TIMEOUT:?}"
    );
    app.stop().await;
}

/// Layers as designed: actors publish (to the bus, or to the hub through the `LocalSink`
/// trait of `bus`), never to sockets. Nothing under `src/actors/` names the socket layer;
/// read from the source tree, so a new import fails `cargo test`.
#[test]
fn no_actor_imports_the_socket_layer() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut offenders = Vec::new();
    for f in crate::support::source_files(&["src/actors"]) {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("crate::ws") || code.contains("super::ws") || code.contains("ws::hub")
            {
                offenders.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        root.join("src/actors").is_dir(),
        "the actors' directory moved: update this check"
    );
    assert!(
        offenders.is_empty(),
        "src/actors/ must not import src/ws/:\n{}",
        offenders.join("\n")
    );
}
