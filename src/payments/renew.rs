//! Membership renewals: when a paid period ends, a cancelled membership ends with it and
//! any other is charged for the next period with its saved payment method. Claiming a
//! renewal is one conditional update (`membership::claim`), so every node may sweep.

use crate::db::models::membership::{self, Renewal};
use crate::error::AppResult;
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
        if let Err(e) = crate::payments::settle::pay(state, &o, m.payment_method.clone()).await {
            tracing::warn!(order = %o.id, error = %e, "renewal charge failed");
        }
    }
    Ok(handled)
}
