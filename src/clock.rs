//! The service's clock. Everything that asks "what time is it" for business logic (drop
//! opening, hold expiry) asks this, so tests can move time forward instead of sleeping.
//! In production the offset is zero and it is the system clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::NaiveDateTime;

#[derive(Clone, Default)]
pub struct Clock {
    /// Microseconds added to the system time; only tests change it.
    offset_us: Arc<AtomicI64>,
}

impl Clock {
    /// Now, in UTC, truncated to microseconds (what both stores round-trip).
    pub fn now(&self) -> NaiveDateTime {
        crate::db::models::now()
            + chrono::Duration::microseconds(self.offset_us.load(Ordering::Relaxed))
    }

    /// Move this clock (and every component sharing it) forward. For tests.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_us
            .fetch_add(by.num_microseconds().unwrap_or(0), Ordering::Relaxed);
    }
}
