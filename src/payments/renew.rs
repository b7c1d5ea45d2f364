//! Membership renewals: when a paid period ends, a cancelled membership ends with it and
//! any other is charged for the next period with its saved payment method. Claiming a
//! renewal is one conditional update (`membership::claim`), so every node may sweep.

use crate::db::models::membership::{self, Renewal};
use crate::db::models::order;
use crate::error::AppResult;
use crate::payments::settle::settle;
use crate::payments::{Charge, ChargeOutcome};
use crate::state::AppState;

/// Memberships renewed or ended per sweep.
const BATCH: i64 = 100;

/// Renew or end what is due now; returns how many memberships were handled.
pub async fn sweep(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let mut handled = 0;
    for m in membership::due(&state.store, now, BATCH).await? {
        let o = match membership::claim(&state.store, &m, now).await? {
            Renewal::Taken => continue,
            Renewal::Ended => {
                handled += 1;
                continue;
            }
            Renewal::Charge(o) => o,
        };
        handled += 1;
        let charge = Charge {
            order: o.id,
            amount_cents: o.amount_cents,
            currency: o.currency.clone(),
            card: m.payment_method.clone(),
        };
        let event = format!("charge:{}", o.id);
        match state.payments.charge(charge).await {
            Ok(ChargeOutcome::Succeeded { payment_ref }) => {
                settle(state, &event, o.id, true, &payment_ref).await?;
            }
            Ok(ChargeOutcome::Declined { .. }) => {
                settle(state, &event, o.id, false, "").await?;
            }
            // The outcome comes by webhook (or reconciliation).
            Ok(ChargeOutcome::Pending { payment_ref }) => {
                order::set_payment_ref(&state.store, o.id, &payment_ref).await?;
            }
            Err(e) => {
                tracing::warn!(order = %o.id, error = %e, "renewal charge failed");
                settle(state, &format!("charge-error:{}", o.id), o.id, false, "").await?;
            }
        }
    }
    Ok(handled)
}
