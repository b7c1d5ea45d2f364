//! Payouts: a creator's payout account and the payouts sent to it.
//!
//! A creator's balance in a currency is a sum of rows: their ledger entries (credits and
//! reversals) less their payouts that are `pending` or `paid`. A payout is created, in one
//! transaction that holds the creator's payout-account row, only when what is available
//! then reaches the minimum, so two runs (two nodes, or the janitor and an admin) never
//! pay the same money twice; its transfer is sent afterwards with the payout's id as the
//! idempotency key, so a run that died between the two finishes it, never repeats it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::schema::{ledger_entries, payout_accounts, payouts};
use crate::db::Store;
use crate::db_run;
use crate::domain::ids::{PayoutId, UserId};
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payout_accounts)]
pub struct AccountRow {
    pub user_id: UserId,
    pub provider: String,
    /// The provider's account id (`acct_…` at Stripe).
    pub account_ref: String,
    /// `pending` (onboarding not finished) or `enabled` (payouts may be sent).
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payouts)]
pub struct PayoutRow {
    pub id: PayoutId,
    pub user_id: UserId,
    pub currency: String,
    pub amount_cents: i64,
    /// `pending` (created, its transfer not confirmed), `paid` or `failed`.
    pub status: String,
    pub provider: String,
    pub account_ref: String,
    pub transfer_ref: Option<String>,
    pub failure: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub async fn account(store: &Store, user: UserId) -> AppResult<Option<AccountRow>> {
    let mut conn = store.read().await?;
    Ok(db_run!(conn, |c| {
        payout_accounts::table
            .find(user)
            .select(AccountRow::as_select())
            .first(c)
            .await
            .optional()
    })?)
}

/// Keep `row` as the user's payout account (a new one, or its status and reference).
pub async fn save_account(store: &Store, row: &AccountRow) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::insert_into(payout_accounts::table)
            .values(row)
            .on_conflict(payout_accounts::user_id)
            .do_update()
            .set((
                payout_accounts::provider.eq(&row.provider),
                payout_accounts::account_ref.eq(&row.account_ref),
                payout_accounts::status.eq(&row.status),
                payout_accounts::updated_at.eq(row.updated_at),
            ))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// The account with the provider's reference `account_ref`, its status set (a webhook).
pub async fn set_account_status(
    store: &Store,
    account_ref: &str,
    status: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::update(payout_accounts::table.filter(payout_accounts::account_ref.eq(account_ref)))
            .set((
                payout_accounts::status.eq(status),
                payout_accounts::updated_at.eq(now),
            ))
            .execute(c)
            .await
    })?;
    Ok(n == 1)
}

/// Accounts payouts may be sent to.
pub async fn enabled_accounts(store: &Store) -> AppResult<Vec<AccountRow>> {
    let mut conn = store.read().await?;
    Ok(db_run!(conn, |c| {
        payout_accounts::table
            .filter(payout_accounts::status.eq("enabled"))
            .select(AccountRow::as_select())
            .load(c)
            .await
    })?)
}

/// The currencies a party has ledger entries in.
pub async fn currencies_of(store: &Store, party: &str) -> AppResult<Vec<String>> {
    let mut conn = store.read().await?;
    Ok(db_run!(conn, |c| {
        ledger_entries::table
            .filter(ledger_entries::party.eq(party))
            .select(ledger_entries::currency)
            .distinct()
            .load(c)
            .await
    })?)
}

/// The user's payouts in `currency` that count against their balance: (being sent —
/// `pending` —, `paid`). A `failed` one gave its amount back.
pub async fn taken(store: &Store, user: UserId, currency: &str) -> AppResult<(i64, i64)> {
    let mut conn = store.read().await?;
    let rows: Vec<(String, i64)> = db_run!(conn, |c| {
        payouts::table
            .filter(payouts::user_id.eq(user))
            .filter(payouts::currency.eq(currency))
            .filter(payouts::status.eq_any(["pending", "paid"]))
            .select((payouts::status, payouts::amount_cents))
            .load(c)
            .await
    })?;
    Ok(rows
        .iter()
        .fold((0, 0), |(sending, paid), (status, amount)| {
            if status == "paid" {
                (sending, paid + amount)
            } else {
                (sending + amount, paid)
            }
        }))
}

/// A new payout of everything available to `account`'s owner in `currency` (ledger entries
/// written at or before `cutoff`, less payouts pending or paid), if that reaches `minimum`.
/// Decided and written in one transaction that first updates the owner's account row, so
/// runs on two nodes take turns and the second sees the first's payout.
pub async fn take_available(
    store: &Store,
    account: &AccountRow,
    currency: &str,
    cutoff: NaiveDateTime,
    minimum: i64,
    now: NaiveDateTime,
) -> AppResult<Option<PayoutRow>> {
    let mut conn = store.write().await?;
    let party = account.user_id.to_string();
    Ok(db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            // The turn: a row lock on Postgres until commit (SQLite has one writer).
            let held = diesel::update(payout_accounts::table.find(account.user_id))
                .filter(payout_accounts::status.eq("enabled"))
                .set(payout_accounts::updated_at.eq(now))
                .execute(c)
                .await?;
            if held == 0 {
                return Ok(None);
            }
            let earned: Vec<i64> = ledger_entries::table
                .filter(ledger_entries::party.eq(&party))
                .filter(ledger_entries::currency.eq(currency))
                .filter(ledger_entries::created_at.le(cutoff))
                .select(ledger_entries::amount_cents)
                .load::<i64>(c)
                .await?;
            let taken: Vec<i64> = payouts::table
                .filter(payouts::user_id.eq(account.user_id))
                .filter(payouts::currency.eq(currency))
                .filter(payouts::status.eq_any(["pending", "paid"]))
                .select(payouts::amount_cents)
                .load::<i64>(c)
                .await?;
            let available = earned.iter().sum::<i64>() - taken.iter().sum::<i64>();
            if available < minimum.max(1) {
                return Ok(None);
            }
            let row = PayoutRow {
                id: PayoutId::new(),
                user_id: account.user_id,
                currency: currency.to_string(),
                amount_cents: available,
                status: "pending".into(),
                provider: account.provider.clone(),
                account_ref: account.account_ref.clone(),
                transfer_ref: None,
                failure: None,
                created_at: now,
                updated_at: now,
            };
            diesel::insert_into(payouts::table)
                .values(&row)
                .execute(c)
                .await?;
            Ok(Some(row))
        })
        .await
    })?)
}

/// Payouts whose transfer was not confirmed (a run died, or the provider did not answer).
pub async fn pending(store: &Store) -> AppResult<Vec<PayoutRow>> {
    let mut conn = store.read().await?;
    Ok(db_run!(conn, |c| {
        payouts::table
            .filter(payouts::status.eq("pending"))
            .order(payouts::id.asc())
            .select(PayoutRow::as_select())
            .load(c)
            .await
    })?)
}

/// `pending → paid` (with the transfer's reference) or `pending → failed` (with why: the
/// amount is then available again). Conditional, so a payout finishes once.
pub async fn finish(
    store: &Store,
    id: PayoutId,
    outcome: Result<&str, &str>,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        let q = diesel::update(
            payouts::table
                .find(id)
                .filter(payouts::status.eq("pending")),
        );
        match outcome {
            Ok(transfer) => {
                q.set((
                    payouts::status.eq("paid"),
                    payouts::transfer_ref.eq(Some(transfer)),
                    payouts::updated_at.eq(now),
                ))
                .execute(c)
                .await
            }
            Err(why) => {
                q.set((
                    payouts::status.eq("failed"),
                    payouts::failure.eq(Some(why)),
                    payouts::updated_at.eq(now),
                ))
                .execute(c)
                .await
            }
        }
    })?;
    Ok(n == 1)
}

/// A paid payout whose transfer the provider reversed afterwards (`transfer.reversed`):
/// `paid → failed`, the amount available again.
pub async fn reverse(store: &Store, transfer_ref: &str, now: NaiveDateTime) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::update(
            payouts::table
                .filter(payouts::transfer_ref.eq(transfer_ref))
                .filter(payouts::status.eq("paid")),
        )
        .set((
            payouts::status.eq("failed"),
            payouts::failure.eq(Some("reversed by the provider")),
            payouts::updated_at.eq(now),
        ))
        .execute(c)
        .await
    })?;
    Ok(n == 1)
}

pub async fn find(store: &Store, id: PayoutId) -> AppResult<Option<PayoutRow>> {
    let mut conn = store.read().await?;
    Ok(db_run!(conn, |c| {
        payouts::table
            .find(id)
            .select(PayoutRow::as_select())
            .first(c)
            .await
            .optional()
    })?)
}

/// The user's payouts, newest first (at most 100).
pub async fn of_user(store: &Store, user: UserId) -> AppResult<Vec<PayoutRow>> {
    let mut conn = store.read().await?;
    Ok(db_run!(conn, |c| {
        payouts::table
            .filter(payouts::user_id.eq(user))
            .order(payouts::id.desc())
            .limit(100)
            .select(PayoutRow::as_select())
            .load(c)
            .await
    })?)
}

/// The newest payouts of every creator (admins), with each creator's email; `status` to
/// narrow them.
pub async fn recent(
    store: &Store,
    status: Option<&str>,
    limit: i64,
) -> AppResult<Vec<(PayoutRow, String)>> {
    use crate::db::schema::users;
    let mut conn = store.read().await?;
    let status = status.map(str::to_string);
    Ok(db_run!(conn, |c| {
        let mut q = payouts::table
            .inner_join(users::table)
            .select((PayoutRow::as_select(), users::email))
            .order(payouts::id.desc())
            .limit(limit)
            .into_boxed();
        if let Some(s) = &status {
            q = q.filter(payouts::status.eq(s.clone()));
        }
        q.load(c).await
    })?)
}
