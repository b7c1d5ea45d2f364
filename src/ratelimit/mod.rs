//! Rate limits: a fixed window per key. In-process in embedded mode, Redis (`INCR` +
//! `PEXPIRE`, shared by every node) in cluster mode.

pub mod redis;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;

use crate::config::Limit;
use crate::error::{AppError, AppResult};

#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Count one event against `key`. `Ok(None)` when allowed, `Ok(Some(secs))` when over
    /// the limit, with the seconds until the window resets.
    async fn hit(&self, key: &str, limit: Limit) -> AppResult<Option<u64>>;
}

/// Count one event and turn "over the limit" into a 429.
pub async fn check(limiter: &dyn RateLimiter, key: &str, limit: Option<Limit>) -> AppResult<()> {
    let Some(limit) = limit else { return Ok(()) };
    match limiter.hit(key, limit).await? {
        None => Ok(()),
        Some(retry_after) => Err(AppError::RateLimited { retry_after }),
    }
}

/// Windows are kept in a map; expired ones are swept when the map grows, so memory stays
/// bounded by the number of keys active within one window.
pub struct InProcessLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Sweep expired windows once the map holds this many keys.
const SWEEP_AT: usize = 10_000;

impl InProcessLimiter {
    pub fn new() -> Self {
        InProcessLimiter {
            windows: Mutex::new(HashMap::new()),
        }
    }
}

impl Default for InProcessLimiter {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl RateLimiter for InProcessLimiter {
    async fn hit(&self, key: &str, limit: Limit) -> AppResult<Option<u64>> {
        let now = Instant::now();
        let mut map = self.windows.lock().map_err(|_| AppError::Internal)?;
        if map.len() >= SWEEP_AT {
            map.retain(|_, (start, _)| now.duration_since(*start) < limit.window);
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= limit.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > limit.max {
            let left = limit.window.saturating_sub(now.duration_since(entry.0));
            Ok(Some(left.as_secs().max(1)))
        } else {
            Ok(None)
        }
    }
}
