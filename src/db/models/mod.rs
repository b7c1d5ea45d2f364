//! Model functions: plain reads and writes, each written once for both backends with
//! [`crate::db_run!`]. Handlers call these; no SQL lives in handlers.

pub mod token;
pub mod user;

/// Now, in UTC, truncated to microseconds so SQLite and Postgres round-trip it equally.
pub fn now() -> chrono::NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(t, chrono::Duration::microseconds(1)).unwrap_or(t)
}
