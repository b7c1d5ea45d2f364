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
