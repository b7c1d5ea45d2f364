//! This node's topics. One task reads the bus; for each event it renders the update frame
//! once and stores it in the topic's `watch` slot. Each subscription reads that slot: a
//! reader that falls behind simply finds the newest frame next time (intermediate ones are
//! skipped, which is safe because every frame is a whole snapshot), and publishing costs
//! the same whether the readers are fast, slow or gone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

use crate::bus::{Bus, LocalSink};

/// The newest update frame of a topic, with its sequence number.
#[derive(Debug, Clone)]
pub struct Frame {
    pub seq: u64,
    pub text: Arc<str>,
}

/// How many personal messages one socket may have waiting before it misses some.
pub const PERSONAL_CAPACITY: usize = 256;

/// Whether a topic carries personal messages (`user:`): each is its own news (a queue
/// result, an offer), so each is delivered, never skipped for a newer one.
pub fn is_personal(topic: &str) -> bool {
    topic.starts_with("user:")
}

#[derive(Default)]
pub struct Hub {
    /// Snapshot topics: the newest frame only.
    topics: Mutex<HashMap<String, watch::Sender<Option<Frame>>>>,
    /// Personal topics: every frame, in order.
    personal: Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>,
}

impl Hub {
    /// A receiver for `topic`'s frames (created on first use).
    pub fn watch(&self, topic: &str) -> Option<watch::Receiver<Option<Frame>>> {
        let mut map = self.topics.lock().ok()?;
        let tx = map
            .entry(topic.to_string())
            .or_insert_with(|| watch::channel(None).0);
        Some(tx.subscribe())
    }

    /// A receiver of every frame of the personal topic `topic` (created on first use).
    pub fn each(&self, topic: &str) -> Option<broadcast::Receiver<Arc<str>>> {
        let mut map = self.personal.lock().ok()?;
        let tx = map
            .entry(topic.to_string())
            .or_insert_with(|| broadcast::channel(PERSONAL_CAPACITY).0);
        Some(tx.subscribe())
    }

    /// Feed the hub from the bus until the process ends.
    pub async fn run(self: Arc<Self>, bus: Arc<dyn Bus>) {
        let mut rx = bus.subscribe();
        loop {
            match rx.recv().await {
                Ok(event) => self.deliver(&event.topic, &event.payload),
                // Snapshots supersede each other, so skipping is safe; say that it happened.
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "hub fell behind the bus")
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// What the actors see of the hub; the hub's own bus reader delivers through it too.
impl LocalSink for Hub {
    /// Whether a socket on this node watches `topic`.
    fn watching(&self, topic: &str) -> bool {
        if is_personal(topic) {
            return self
                .personal
                .lock()
                .ok()
                .and_then(|m| m.get(topic).map(|tx| tx.receiver_count() > 0))
                .unwrap_or(false);
        }
        self.topics
            .lock()
            .ok()
            .and_then(|m| m.get(topic).map(|tx| tx.receiver_count() > 0))
            .unwrap_or(false)
    }

    /// Publish an event's payload to this node's subscribers of `topic`.
    fn deliver(&self, topic: &str, payload: &serde_json::Value) {
        if is_personal(topic) {
            let Ok(mut map) = self.personal.lock() else {
                return;
            };
            let Some(tx) = map.get(topic) else { return };
            if tx.receiver_count() == 0 {
                map.remove(topic);
                return;
            }
            let _ = tx.send(super::protocol::frame(topic, "update", payload).into());
            return;
        }
        let Ok(mut map) = self.topics.lock() else {
            return;
        };
        let Some(tx) = map.get(topic) else { return };
        if tx.receiver_count() == 0 {
            // Nobody here watches it any more: forget the topic.
            map.remove(topic);
            return;
        }
        let seq = payload.get("seq").and_then(|s| s.as_u64()).unwrap_or(0);
        let text: Arc<str> = super::protocol::frame(topic, "update", payload).into();
        tx.send_replace(Some(Frame { seq, text }));
    }
}
