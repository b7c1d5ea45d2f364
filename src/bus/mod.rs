//! Event fan-out between nodes. An event is published only after the write that made it
//! true has committed; every node's topic hub receives every event and hands it to the
//! sockets subscribed to its topic.
//!
//! Embedded mode uses [`InProcessBus`] (a broadcast channel); cluster mode uses
//! [`redis::RedisBus`] (Redis pub/sub), so an event published on one node reaches all.

pub mod redis;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::error::AppResult;

/// An event on a topic such as `drop:{id}` or `dashboard:{storefront_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub topic: String,
    pub payload: serde_json::Value,
}

/// This node's live subscribers as the actors see them (the topic hub implements it), so
/// that actors reach sockets without knowing them: whether anyone here watches a topic, and
/// a delivery to this node's subscribers only, for state each node computes for itself
/// (a storefront's live dashboard). What every node must see goes through [`Bus::publish`].
pub trait LocalSink: Send + Sync + 'static {
    fn watching(&self, topic: &str) -> bool;
    fn deliver(&self, topic: &str, payload: &serde_json::Value);
}

/// How many events a slow local subscriber may fall behind before it starts skipping.
/// Subscribers hold snapshots, so skipping to the latest is always safe.
pub const LOCAL_CAPACITY: usize = 4096;

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Deliver `event` to every node (this one included).
    async fn publish(&self, event: Event) -> AppResult<()>;
    /// Every event published anywhere from now on.
    fn subscribe(&self) -> broadcast::Receiver<Event>;
    /// Only the events other nodes publish, from now on (`None`: there are no other
    /// nodes). An actor whose memory another node's write made stale learns of it here.
    fn remote(&self) -> Option<broadcast::Receiver<Event>> {
        None
    }
    /// This node's mark among the nodes (`None`: there are no other nodes), for what a
    /// node announces about itself (its watcher counts).
    fn origin(&self) -> Option<&str> {
        None
    }
}

/// The bus of a single node.
pub struct InProcessBus {
    tx: broadcast::Sender<Event>,
}

impl InProcessBus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(LOCAL_CAPACITY);
        InProcessBus { tx }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, event: Event) -> AppResult<()> {
        // No receivers is not an error: nobody is watching that topic on this node.
        let _ = self.tx.send(event);
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
