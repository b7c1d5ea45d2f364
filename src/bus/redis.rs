//! Redis pub/sub bus (cluster mode). Every node publishes to one channel and subscribes to
//! it; a background task feeds what arrives into the node's local broadcast, so the rest of
//! the node sees the same `Bus` as in embedded mode.
//!
//! Pub/sub is fire-and-forget: a node that is disconnected misses what was published in
//! the meantime. That is acceptable here because every event is a whole snapshot and the
//! next one supersedes it, and a socket that (re)subscribes gets a fresh snapshot first.
//!
//! A node's own events go to its local broadcast at once, not through Redis: its sockets
//! keep being served while Redis is unreachable (only the other nodes miss the event).
//! Each event on the channel carries its node's `origin`, so the subscriber skips the
//! node's own events when they come back.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot};

use super::{Bus, Event, LOCAL_CAPACITY};
use crate::error::{AppError, AppResult};

/// The one channel all nodes share.
pub const CHANNEL: &str = "livedrop:events";
/// Longest wait between reconnection attempts of the subscriber.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How the command connections (this publisher, the rate limiter) reconnect. A command
/// sent while the connection is down waits for the reconnection attempt; the crate's
/// default (6 retries, doubling from 100 ms) made each wait ~10 s while Redis was gone.
/// One retry fails it within a few hundred ms (a refused connection fails at once, an
/// unanswered one after the 1 s connection timeout); the next command tries again, so
/// the connection is back with the first command after Redis is.
pub(crate) fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200))
        .set_connection_timeout(Some(Duration::from_secs(1)))
}

pub struct RedisBus {
    publisher: ConnectionManager,
    local: broadcast::Sender<Event>,
    /// What other nodes published (also in `local`).
    remote: broadcast::Sender<Event>,
    /// This process's mark on what it publishes (random, per start).
    origin: String,
}

/// An event as it travels on the channel. Without `origin` (a node from before it
/// existed), it is delivered like any other node's.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(default)]
    origin: String,
    #[serde(flatten)]
    event: Event,
}

impl RedisBus {
    /// Connect, and return only once the subscription is active, so an event another node
    /// publishes after this returns is received.
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("REDIS_URL: {e}"))?;
        let publisher = ConnectionManager::new_with_config(client.clone(), manager_config())
            .await
            .map_err(|e| format!("REDIS_URL: cannot connect: {e}"))?;
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);
        let (remote, _) = broadcast::channel(LOCAL_CAPACITY);
        let origin = uuid::Uuid::new_v4().simple().to_string();
        let (ready_tx, ready_rx) = oneshot::channel();
        tokio::spawn(subscriber(
            client,
            local.clone(),
            remote.clone(),
            origin.clone(),
            Some(ready_tx),
        ));
        ready_rx
            .await
            .map_err(|_| "REDIS_URL: the subscriber stopped".to_string())?
            .map_err(|e| format!("REDIS_URL: cannot subscribe: {e}"))?;
        Ok(RedisBus {
            publisher,
            local,
            remote,
            origin,
        })
    }
}

/// Keep a subscription open for the life of the process, reconnecting with backoff.
async fn subscriber(
    client: redis::Client,
    local: broadcast::Sender<Event>,
    remote: broadcast::Sender<Event>,
    origin: String,
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
                    match serde_json::from_str::<Wire>(&payload) {
                        // Delivered here when it was published.
                        Ok(wire) if wire.origin == origin => {}
                        Ok(wire) => {
                            if remote.receiver_count() > 0 {
                                let _ = remote.send(wire.event.clone());
                            }
                            let _ = local.send(wire.event);
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
        let wire = Wire {
            origin: self.origin.clone(),
            event,
        };
        let payload = serde_json::to_string(&wire).map_err(AppError::internal)?;
        // No receivers is not an error: nobody is watching that topic on this node.
        let _ = self.local.send(wire.event);
        let mut conn = self.publisher.clone();
        let _: i64 = conn.publish(CHANNEL, payload).await?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }

    fn remote(&self) -> Option<broadcast::Receiver<Event>> {
        Some(self.remote.subscribe())
    }

    fn origin(&self) -> Option<&str> {
        Some(&self.origin)
    }
}
