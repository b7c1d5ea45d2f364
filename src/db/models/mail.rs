//! The mail queue in the store: a mail is a row from the moment it is accepted until the
//! relay took it, so a relay that is down (or a node that dies) delays mail but loses none.
//!
//! Any node may deliver any row. A sender *claims* due rows with one conditional update
//! (`claimed_until` is a lease: only rows unsent and unclaimed, or whose lease lapsed,
//! are taken), written once for both stores: on Postgres a second node's update re-checks
//! the condition on the row the first one committed and skips it; on SQLite the single
//! writer runs the updates one after the other. So two nodes never send a row at the same
//! time. A node that dies between sending and marking the row sent leaves a lease that
//! lapses, and the row is sent again: delivery is at-least-once.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::mail_queue;
use crate::db::Store;
use crate::db_run;
use crate::domain::ids::MailId;
use crate::error::AppResult;

/// `last_error` keeps this many characters of the transport's message.
const ERROR_CHARS: usize = 500;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_queue)]
pub struct MailRow {
    pub id: MailId,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub created_at: NaiveDateTime,
    /// Deliveries started (counted when claimed, so a node dying mid-send counts too).
    pub attempts: i64,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

impl MailRow {
    /// A row due at once.
    pub fn new(
        recipient: String,
        subject: String,
        body_text: String,
        body_html: Option<String>,
        now: NaiveDateTime,
    ) -> MailRow {
        MailRow {
            id: MailId::new(),
            recipient,
            subject,
            body_text,
            body_html,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            claimed_until: None,
            sent_at: None,
            last_error: None,
        }
    }
}

/// Commit one mail to the queue.
pub async fn enqueue(store: &Store, row: &MailRow) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::insert_into(mail_queue::table)
            .values(row)
            .execute(c)
            .await
    })?;
    Ok(())
}

/// Claim up to `limit` rows due at `now` for `lease`: each returned row is this caller's
/// to send until `now + lease`, and its `attempts` already counts this attempt.
pub async fn claim_due(
    store: &Store,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> AppResult<Vec<MailRow>> {
    // Found on a reader, so an idle queue never takes SQLite's single writer (which the
    // drop actors' batches wait on); the update below re-checks what the read saw.
    let mut conn = store.read().await?;
    let due = db_run!(conn, |c| {
        mail_queue::table
            .filter(mail_queue::sent_at.is_null())
            .filter(mail_queue::next_attempt_at.le(now))
            .filter(
                mail_queue::claimed_until
                    .is_null()
                    .or(mail_queue::claimed_until.le(now)),
            )
            .order(mail_queue::next_attempt_at.asc())
            .select(mail_queue::id)
            .limit(limit)
            .load::<MailId>(c)
            .await
    })?;
    drop(conn);
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = store.write().await?;
    let claimed = db_run!(conn, |c| {
        // The same condition again, in the update: whatever another node claimed or sent
        // since the read above is not taken (the update's WHERE is the arbiter).
        diesel::update(
            mail_queue::table
                .filter(mail_queue::id.eq_any(&due))
                .filter(mail_queue::sent_at.is_null())
                .filter(
                    mail_queue::claimed_until
                        .is_null()
                        .or(mail_queue::claimed_until.le(now)),
                ),
        )
        .set((
            mail_queue::claimed_until.eq(now + lease),
            mail_queue::attempts.eq(mail_queue::attempts + 1),
        ))
        .returning(MailRow::as_returning())
        .get_results(c)
        .await
    })?;
    Ok(claimed)
}

/// The relay took the mail. The body is erased: it may carry a single-use link, which the
/// store otherwise keeps only as a hash. The row stays a few days (see [`prune_sent`]).
pub async fn mark_sent(store: &Store, id: MailId, now: NaiveDateTime) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::update(mail_queue::table.find(id))
            .set((
                mail_queue::sent_at.eq(now),
                mail_queue::claimed_until.eq(None::<NaiveDateTime>),
                mail_queue::body_text.eq(""),
                mail_queue::body_html.eq(None::<String>),
                mail_queue::last_error.eq(None::<String>),
            ))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// The attempt failed: release the claim and try again at `retry_at`.
pub async fn mark_failed(
    store: &Store,
    id: MailId,
    retry_at: NaiveDateTime,
    error: &str,
) -> AppResult<()> {
    let error: String = error.chars().take(ERROR_CHARS).collect();
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::update(
            mail_queue::table
                .find(id)
                .filter(mail_queue::sent_at.is_null()),
        )
        .set((
            mail_queue::claimed_until.eq(None::<NaiveDateTime>),
            mail_queue::next_attempt_at.eq(retry_at),
            mail_queue::last_error.eq(error),
        ))
        .execute(c)
        .await
    })?;
    Ok(())
}

/// When the earliest unsent, unclaimed row falls due (`None`: nothing waits, or all of it
/// is claimed by some sender right now).
pub async fn next_due(store: &Store, now: NaiveDateTime) -> AppResult<Option<NaiveDateTime>> {
    let mut conn = store.read().await?;
    let next = db_run!(conn, |c| {
        mail_queue::table
            .filter(mail_queue::sent_at.is_null())
            .filter(
                mail_queue::claimed_until
                    .is_null()
                    .or(mail_queue::claimed_until.le(now)),
            )
            .select(diesel::dsl::min(mail_queue::next_attempt_at))
            .first::<Option<NaiveDateTime>>(c)
            .await
    })?;
    Ok(next)
}

/// Mails not yet sent (for `/metrics`).
pub async fn count_unsent(store: &Store) -> AppResult<i64> {
    let mut conn = store.read().await?;
    let n = db_run!(conn, |c| {
        mail_queue::table
            .filter(mail_queue::sent_at.is_null())
            .count()
            .get_result::<i64>(c)
            .await
    })?;
    Ok(n)
}

/// Every row, oldest first. For tests and operators.
pub async fn all(store: &Store) -> AppResult<Vec<MailRow>> {
    let mut conn = store.read().await?;
    let rows = db_run!(conn, |c| {
        mail_queue::table
            .order(mail_queue::id.asc())
            .select(MailRow::as_select())
            .load(c)
            .await
    })?;
    Ok(rows)
}

/// Forget rows sent before `before` (their bodies are already gone; the rest is a trail
/// for "did the mail leave?" questions, which are asked within days).
pub async fn prune_sent(store: &Store, before: NaiveDateTime) -> AppResult<usize> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::delete(mail_queue::table.filter(mail_queue::sent_at.lt(before)))
            .execute(c)
            .await
    })?;
    Ok(n)
}
