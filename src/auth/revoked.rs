//! Accounts deleted while their access tokens still live. A JWT is valid on its own for
//! its 15 minutes; without this, a deleted account kept reading and writing for that long.
//! Every node keeps the set in memory (a lookup per authenticated request, no store read
//! on the hot path): loaded at start from the accounts deleted within a token's lifetime,
//! and kept current by an event on the bus that the deleting node publishes.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use crate::bus::{Bus, Event};
use crate::domain::ids::UserId;

/// The bus topic deletions (and disabled accounts) travel on (no socket can subscribe).
pub const TOPIC: &str = "system:account_deleted";
/// The topic an admin's re-enabling of an account travels on.
pub const LIFTED: &str = "system:account_enabled";

#[derive(Default)]
pub struct Revoked {
    set: RwLock<HashSet<UserId>>,
}

impl Revoked {
    pub fn contains(&self, id: UserId) -> bool {
        // A poisoned lock refuses nobody it cannot read; the writer never panics.
        self.set.read().map(|s| s.contains(&id)).unwrap_or(false)
    }

    pub fn insert(&self, id: UserId) {
        if let Ok(mut s) = self.set.write() {
            s.insert(id);
        }
    }

    pub fn remove(&self, id: UserId) {
        if let Ok(mut s) = self.set.write() {
            s.remove(&id);
        }
    }

    /// Tell every node (this one included) that `id` may sign in again (an admin enabled
    /// a disabled account; a deleted one is never lifted).
    pub async fn lift(&self, bus: &dyn Bus, id: UserId) {
        self.remove(id);
        let event = Event {
            topic: LIFTED.to_string(),
            payload: serde_json::json!({ "user_id": id }),
        };
        if let Err(e) = bus.publish(event).await {
            tracing::warn!(error = %e, "account enabling not announced to other nodes");
        }
    }

    /// Tell every node (this one included) that `id` is gone.
    pub async fn announce(&self, bus: &dyn Bus, id: UserId) {
        self.insert(id);
        let event = Event {
            topic: TOPIC.to_string(),
            payload: serde_json::json!({ "user_id": id }),
        };
        if let Err(e) = bus.publish(event).await {
            tracing::warn!(error = %e, "account deletion not announced to other nodes");
        }
    }

    /// Follow deletions announced by any node, forever.
    pub async fn follow(self: Arc<Self>, bus: Arc<dyn Bus>) {
        let mut rx = bus.subscribe();
        loop {
            match rx.recv().await {
                Ok(e) if e.topic == TOPIC || e.topic == LIFTED => {
                    match serde_json::from_value::<UserId>(e.payload["user_id"].clone()) {
                        Ok(id) if e.topic == LIFTED => self.remove(id),
                        Ok(id) => self.insert(id),
                        Err(err) => {
                            tracing::warn!(error = %err, "unreadable account deletion event")
                        }
                    }
                }
                Ok(_) => {}
                // Fell behind the bus: the events skipped may hold deletions, which the
                // store has; they are reloaded by the caller's next start. Log it loudly.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::error!(skipped = n, "account deletion follower fell behind the bus");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
