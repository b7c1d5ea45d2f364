//! Redis pub/sub bus (cluster mode). Every node publishes to one channel and subscribes to
//! it; a background task feeds what arrives into the node's local broadcast, so the rest of
//! the node sees the same `Bus` as in embedded mode.
//!
//! Pub/sub is fire-and-forget: a node that is disconnected misses what was published in
//! the meantime. That is acceptable here because every event is a whole snapshot and the
//! next one supersedes it, and a socket that (re)subscribes gets a fresh snapshot first.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use tokio::sync::{broadcast, oneshot};

use super::{Bus, Event, LOCAL_CAPACITY};
use crate::error::{AppError, AppResult};

/// The one channel all nodes share.
pub const CHANNEL: &str = "livedrop:events";
/// Longest wait between reconnection attempts of the subscriber.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub struct RedisBus {
    publisher: ConnectionManager,
    local: broadcast::Sender<Event>,
}

impl RedisBus {
    /// Connect, and return only once the subscription is active, so an event another node
    /// publishes after this returns is received.
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("REDIS_URL: {e}"))?;
        let publisher = ConnectionManager::new(client.clone())
            .await
            .map_err(|e| format!("REDIS_URL: cannot connect: {e}"))?;
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);
        let (ready_tx, ready_rx) = oneshot::channel();
        tokio::spawn(subscriber(client, local.clone(), Some(ready_tx)));
        ready_rx
            .await
            .map_err(|_| "REDIS_URL: the subscriber stopped".to_string())?
            .map_err(|e| format!("REDIS_URL: cannot subscribe: {e}"))?;
        Ok(RedisBus { publisher, local })
    }
}

/// Keep a subscription open for the life of the process, reconnecting with backoff.
async fn subscriber(
    client: redis::Client,
    local: broadcast::Sender<Event>,
    mut ready: Option<oneshot::Sender<Result<(), String>>>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let attempt = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            Ok::<_, redis::RedisError>(pubsub)
        }
        .await;
        match attempt {
            Ok(pubsub) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Ok(()));
                }
                backoff = Duration::from_millis(100);
                let mut messages = pubsub.into_on_message();
                while let Some(msg) = messages.next().await {
                    let Ok(payload) = msg.get_payload::<String>() else {
                        continue;
                    };
                    match serde_json::from_str::<Event>(&payload) {
                        Ok(event) => {
                            let _ = local.send(event);
                        }
                        Err(e) => tracing::warn!(error = %e, "ignoring a malformed bus event"),
                    }
                }
                tracing::warn!("redis subscription ended; reconnecting");
            }
            Err(e) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(e.to_string()));
                    return;
                }
                tracing::warn!(error = %e, "redis subscription failed; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, event: Event) -> AppResult<()> {
        let payload = serde_json::to_string(&event).map_err(AppError::internal)?;
        let mut conn = self.publisher.clone();
        let _: i64 = conn.publish(CHANNEL, payload).await?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }
}
