//! Model functions: plain reads and writes, each written once for both backends with
//! [`crate::db_run!`]. Handlers call these; no SQL lives in handlers.

pub mod analytics;
pub mod collaborator;
pub mod drop;
pub mod ledger;
pub mod mail;
pub mod membership;
pub mod order;
pub mod payout;
pub mod privacy;
pub mod product;
pub mod queue;
pub mod raffle;
pub mod sale;
pub mod stock;
pub mod storefront;
pub mod token;
pub mod user;

/// `n` copies of a multi-row insert's `row` of placeholders, comma-separated, after `sql`.
pub(crate) fn value_rows(sql: &mut String, n: usize, row: &str) {
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(row);
    }
}

/// Now, in UTC, truncated to microseconds so SQLite and Postgres round-trip it equally.
pub fn now() -> chrono::NaiveDateTime {
    truncate(chrono::Utc::now().naive_utc())
}

/// A timestamp truncated to microseconds, the precision both stores keep.
pub fn truncate(t: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    chrono::DurationRound::duration_trunc(t, chrono::Duration::microseconds(1)).unwrap_or(t)
}
