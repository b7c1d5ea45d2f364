//! Orders whose outcome never arrived. A webhook can be lost (the provider gave up, or
//! this node died between the charge and the webhook, taking the test provider's delayed
//! delivery with it): such an order would stay `pending` forever and block its hold's
//! checkout. The janitor asks the provider about every order still pending a while after
//! it was opened and settles it like a webhook would (applied once, whichever comes
//! first).

use chrono::Duration;

use super::settle::settle;
use super::PaymentState;
use crate::db::models::order;
use crate::error::AppResult;
use crate::state::AppState;

/// An order with a payment reference is asked about once it is this old (its webhook is
/// normally in by then; asking early is harmless, the provider's answer is the truth).
pub const ASK_AFTER: Duration = Duration::seconds(10);
/// An order the charge never answered for (no reference) is closed as not charged only
/// after this long, well past any charge call still running on some node.
pub const CLOSE_UNCHARGED_AFTER: Duration = Duration::seconds(120);
/// Orders asked about per sweep.
const BATCH: i64 = 100;

/// Settle what the provider has decided; returns how many orders were settled.
pub async fn sweep(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let due = order::pending_before(&state.store, now - ASK_AFTER, BATCH).await?;
    let mut settled = 0;
    for o in due {
        let event = format!("reconcile:{}", o.id);
        let found = match state.payments.lookup(o.id, o.payment_ref.as_deref()).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(order = %o.id, error = %e, "payment lookup failed; retrying later");
                continue;
            }
        };
        let outcome = match found {
            PaymentState::Pending => None,
            PaymentState::Succeeded { payment_ref } => Some((true, payment_ref)),
            PaymentState::Failed { payment_ref } => Some((false, payment_ref)),
            PaymentState::NotCharged if o.created_at < now - CLOSE_UNCHARGED_AFTER => {
                Some((false, String::new()))
            }
            PaymentState::NotCharged => None,
        };
        let Some((succeeded, payment_ref)) = outcome else {
            continue;
        };
        tracing::info!(order = %o.id, succeeded, "pending order reconciled with the provider");
        settle(state, &event, o.id, succeeded, &payment_ref).await?;
        settled += 1;
    }
    Ok(settled)
}
