//! Redis rate limiter (cluster mode): one fixed window per key shared by every node.
//! `INCR` and the window's expiry are set in one Lua script, so a crash between the two
//! cannot leave a counter that never expires.

use async_trait::async_trait;
use redis::aio::ConnectionManager;

use super::RateLimiter;
use crate::config::Limit;
use crate::error::AppResult;

const PREFIX: &str = "livedrop:rl:";

/// Returns `{count, milliseconds left in the window}`.
const SCRIPT: &str = r#"
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"#;

pub struct RedisLimiter {
    conn: ConnectionManager,
    script: redis::Script,
}

impl RedisLimiter {
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("REDIS_URL: {e}"))?;
        let conn = ConnectionManager::new_with_config(client, crate::bus::redis::manager_config())
            .await
            .map_err(|e| format!("REDIS_URL: cannot connect: {e}"))?;
        Ok(RedisLimiter {
            conn,
            script: redis::Script::new(SCRIPT),
        })
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn hit(&self, key: &str, limit: Limit) -> AppResult<Option<u64>> {
        let mut conn = self.conn.clone();
        let window_ms = limit.window.as_millis().max(1) as u64;
        let (count, ttl_ms): (u64, i64) = self
            .script
            .key(format!("{PREFIX}{key}"))
            .arg(window_ms)
            .invoke_async(&mut conn)
            .await?;
        if count > u64::from(limit.max) {
            Ok(Some((ttl_ms.max(0) as u64).div_ceil(1000).max(1)))
        } else {
            Ok(None)
        }
    }
}
