//! Payouts to creators: connecting a payout account, and the payout run.
//!
//! A run (daily on every node's janitor, or by an admin now) first finishes the payouts a
//! run before it left pending (it died, or the provider did not answer), sending the same
//! transfer again under the same idempotency key (the payout's id), then, for each enabled
//! account and currency, takes what is available ([`model::take_available`]: credits past
//! `PAYOUT_DELAY_DAYS`, less payouts pending or paid; at least `PAYOUT_MINIMUM_CENTS`) as a
//! new payout and sends it. A refused transfer marks the payout failed, which gives the
//! amount back to the balance; a refund after a payout leaves the balance negative, and the
//! next credits fill it before anything is paid again.

use crate::db::models::payout::{self as model, AccountRow, PayoutRow};
use crate::db::models::user;
use crate::domain::ids::UserId;
use crate::error::{AppError, AppResult};
use crate::payments::{PayoutLink, Transfer, TransferOutcome};
use crate::state::AppState;

/// Connect the user's payout account (or continue its onboarding): the provider's link.
pub async fn connect(
    state: &AppState,
    who: UserId,
    return_url: &str,
) -> AppResult<(AccountRow, PayoutLink)> {
    let me = user::find(&state.store, who)
        .await?
        .ok_or(AppError::NotFound)?;
    let existing = model::account(&state.store, who).await?;
    let link = state
        .payments
        .payout_account(
            who,
            &me.email,
            existing.as_ref().map(|a| a.account_ref.as_str()),
            return_url,
        )
        .await?;
    let now = state.clock.now();
    let row = AccountRow {
        user_id: who,
        provider: state.payments.name().to_string(),
        account_ref: link.account_ref.clone(),
        status: if link.enabled { "enabled" } else { "pending" }.into(),
        created_at: existing.as_ref().map_or(now, |a| a.created_at),
        updated_at: now,
    };
    model::save_account(&state.store, &row).await?;
    Ok((row, link))
}

/// `account.updated`: the account's status read again from the provider. Whether it is
/// one of ours.
pub async fn account_updated(state: &AppState, account_ref: &str) -> AppResult<bool> {
    if account_ref.is_empty() {
        return Ok(false);
    }
    let enabled = state.payments.account_enabled(account_ref).await?;
    model::set_account_status(
        &state.store,
        account_ref,
        if enabled { "enabled" } else { "pending" },
        state.clock.now(),
    )
    .await
}

/// Send `p`'s transfer and record the outcome: the payout as it stands after. When the
/// outcome is unknown (the provider did not answer, the store failed) it stays pending as
/// it was, and the next run sends it again under the same key.
async fn send(state: &AppState, p: PayoutRow) -> PayoutRow {
    match try_send(state, &p).await {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(payout = %p.id, error = %e, "payout without an answer; the next run sends it again");
            p
        }
    }
}

async fn try_send(state: &AppState, p: &PayoutRow) -> AppResult<PayoutRow> {
    let outcome = state
        .payments
        .transfer(&Transfer {
            payout: p.id,
            account_ref: p.account_ref.clone(),
            amount_cents: p.amount_cents,
            currency: p.currency.clone(),
        })
        .await?;
    let now = state.clock.now();
    match &outcome {
        TransferOutcome::Paid { transfer_ref } => {
            model::finish(&state.store, p.id, Ok(transfer_ref), now).await?;
        }
        TransferOutcome::Refused { reason } => {
            tracing::warn!(payout = %p.id, reason = %reason, "payout refused; the amount is available again");
            model::finish(&state.store, p.id, Err(reason), now).await?;
        }
    }
    model::find(&state.store, p.id)
        .await?
        .ok_or(AppError::Internal)
}

/// One payout run; the payouts it finished or made (pending ones whose transfer still
/// has no answer included).
pub async fn run(state: &AppState) -> AppResult<Vec<PayoutRow>> {
    let mut done = Vec::new();
    for p in model::pending(&state.store).await? {
        done.push(send(state, p).await);
    }
    let now = state.clock.now();
    let cutoff = now - chrono::Duration::days(state.config.payout_delay_days);
    for account in model::enabled_accounts(&state.store).await? {
        if account.provider != state.payments.name() {
            continue; // connected under another provider's configuration
        }
        for currency in model::currencies_of(&state.store, &account.user_id.to_string()).await? {
            let Some(p) = model::take_available(
                &state.store,
                &account,
                &currency,
                cutoff,
                state.config.payout_minimum_cents,
                now,
            )
            .await?
            else {
                continue;
            };
            done.push(send(state, p).await);
        }
    }
    Ok(done)
}
