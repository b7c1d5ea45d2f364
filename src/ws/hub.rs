//! This node's topics. One task reads the bus; for each event on a topic someone here
//! watches, the hub renders the update frame once (one `Bytes` buffer, WebSocket header
//! included) and hands that same buffer to every worker thread that has sockets
//! ([`super::worker`]): one message per worker per update, whatever the number of
//! watchers. The hub also keeps the newest state of each watched public topic, so a new
//! subscriber's snapshot comes from here instead of from the topic's actor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc};

use crate::bus::{Bus, LocalSink};

/// One update, encoded once, on its way to each worker's sockets.
#[derive(Debug)]
pub struct Outgoing {
    pub topic: Arc<str>,
    /// The state's `seq` (0 when the payload has none): a socket skips a frame at or
    /// below what it has already shown.
    pub seq: u64,
    /// The whole WebSocket frame, byte-identical for every watcher: for a drop, what
    /// changed since the previous update (always the whole `variants`, `seq` and
    /// `server_time`).
    pub frame: Bytes,
    /// The same update with the whole state, for a socket that skipped an earlier frame
    /// (the same buffer as `frame` where updates are whole anyway).
    pub full: Bytes,
    /// Each one delivered, in order, never replaced by a newer one (personal topics).
    pub each: bool,
}

/// Whether a topic carries personal messages (`user:`, `dashboard:`): each is its own news
/// (a queue result, an offer, a dashboard change), so each is delivered, never skipped for
/// a newer one.
pub fn is_personal(topic: &str) -> bool {
    topic.starts_with("user:") || topic.starts_with("dashboard:")
}

/// What the hub keeps of a watched topic.
#[derive(Default)]
struct Topic {
    /// Sockets on this node subscribed to it.
    watchers: usize,
    /// The newest full state (public topics), with its `seq`.
    latest: Option<(u64, Arc<serde_json::Value>)>,
}

#[derive(Default)]
pub struct Hub {
    topics: Mutex<HashMap<String, Topic>>,
    workers: Mutex<Vec<mpsc::UnboundedSender<Arc<Outgoing>>>>,
}

impl Hub {
    /// A worker thread's feed of updates (called once per worker, at its start).
    pub fn join_worker(&self) -> mpsc::UnboundedReceiver<Arc<Outgoing>> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut w) = self.workers.lock() {
            w.push(tx);
        }
        rx
    }

    /// One more socket watches `topic`. From now on its updates are rendered and its
    /// newest state kept.
    pub fn watch(&self, topic: &str) {
        if let Ok(mut map) = self.topics.lock() {
            map.entry(topic.to_string()).or_default().watchers += 1;
        }
    }

    /// One socket fewer watches `topic`; the last one takes the topic's state with it.
    pub fn unwatch(&self, topic: &str) {
        if let Ok(mut map) = self.topics.lock() {
            if let Some(t) = map.get_mut(topic) {
                t.watchers = t.watchers.saturating_sub(1);
                if t.watchers == 0 {
                    map.remove(topic);
                }
            }
        }
    }

    /// The newest state of a watched public topic, if the hub has seen one.
    pub fn latest(&self, topic: &str) -> Option<(u64, Arc<serde_json::Value>)> {
        let map = self.topics.lock().ok()?;
        map.get(topic)?.latest.clone()
    }

    /// A state read from the topic's actor (for a first subscriber): kept unless the hub
    /// has seen a newer one meanwhile. Returns the newest state either way.
    pub fn seed(&self, topic: &str, state: serde_json::Value) -> (u64, Arc<serde_json::Value>) {
        let seq = seq_of(&state);
        let fresh = (seq, Arc::new(state));
        let Ok(mut map) = self.topics.lock() else {
            return fresh;
        };
        let Some(t) = map.get_mut(topic) else {
            return fresh;
        };
        match &t.latest {
            Some(l) if l.0 > seq => l.clone(),
            _ => {
                t.latest = Some(fresh.clone());
                fresh
            }
        }
    }

    /// Feed the hub from the bus until the process ends.
    pub async fn run(self: Arc<Self>, bus: Arc<dyn Bus>) {
        let mut rx = bus.subscribe();
        loop {
            match rx.recv().await {
                Ok(event) => self.deliver(&event.topic, &event.payload),
                // Public topics' states supersede each other, so skipping is safe for them;
                // the kept states may be behind, so forget them (the next subscriber asks
                // the actor). Say that it happened.
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "hub fell behind the bus");
                    if let Ok(mut map) = self.topics.lock() {
                        map.values_mut().for_each(|t| t.latest = None);
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

fn seq_of(payload: &serde_json::Value) -> u64 {
    payload.get("seq").and_then(|s| s.as_u64()).unwrap_or(0)
}

/// What the actors see of the hub; the hub's own bus reader delivers through it too.
impl LocalSink for Hub {
    /// Whether a socket on this node watches `topic`.
    fn watching(&self, topic: &str) -> bool {
        self.topics
            .lock()
            .ok()
            .is_some_and(|m| m.get(topic).is_some_and(|t| t.watchers > 0))
    }

    /// Publish an event's payload to this node's subscribers of `topic`.
    fn deliver(&self, topic: &str, payload: &serde_json::Value) {
        let each = is_personal(topic);
        let seq = seq_of(payload);
        let mut small = None;
        {
            let Ok(mut map) = self.topics.lock() else {
                return;
            };
            let Some(t) = map.get_mut(topic) else { return };
            if !each {
                // A state at or below the newest seen (another node's older one, or the
                // one a first subscriber just read from the actor) is nothing new.
                if t.latest.as_ref().is_some_and(|l| seq <= l.0) {
                    return;
                }
                if topic.starts_with("drop:") {
                    small = t.latest.as_ref().map(|l| changes(&l.1, payload));
                }
                t.latest = Some((seq, Arc::new(payload.clone())));
            }
        }
        let full = super::frame::text(super::protocol::frame(topic, "update", payload).as_bytes());
        let frame = match small {
            Some(data) => {
                super::frame::text(super::protocol::frame(topic, "update", &data).as_bytes())
            }
            None => full.clone(),
        };
        let out = Arc::new(Outgoing {
            topic: topic.into(),
            seq,
            frame,
            full,
            each,
        });
        if let Ok(mut workers) = self.workers.lock() {
            // A worker that ended (its server stopped) is forgotten.
            workers.retain(|w| w.send(out.clone()).is_ok());
        }
    }
}

/// Fields every drop update carries, changed or not: enough on their own for a reader
/// that skipped frames to show the right stock.
const ALWAYS: [&str; 3] = ["variants", "seq", "server_time"];

/// What of `new` differs from `old` (top-level fields), plus [`ALWAYS`]. The merge rule
/// (README, "WebSocket feed"): a field in an update replaces the one held; a field left
/// out is unchanged.
pub fn changes(old: &serde_json::Value, new: &serde_json::Value) -> serde_json::Value {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return new.clone();
    };
    let kept = new
        .iter()
        .filter(|(k, v)| ALWAYS.contains(&k.as_str()) || old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_update_carries_what_changed_and_always_the_variants() {
        let old = json!({"title": "T", "status": "live", "watchers": 3, "seq": 1,
            "server_time": "a", "variants": [{"id": "v", "remaining": 5}]});
        let new = json!({"title": "T", "status": "sold_out", "watchers": 3, "seq": 2,
            "server_time": "b", "variants": [{"id": "v", "remaining": 5}]});
        let d = changes(&old, &new);
        assert_eq!(
            d,
            json!({"status": "sold_out", "seq": 2, "server_time": "b",
                "variants": [{"id": "v", "remaining": 5}]})
        );
        // Merged into the old state, it is the new state.
        let mut merged = old.as_object().unwrap().clone();
        merged.extend(d.as_object().unwrap().clone());
        assert_eq!(serde_json::Value::Object(merged), new);
    }
}
