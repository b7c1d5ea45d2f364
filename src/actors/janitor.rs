//! The node's timer for holds: every tick it expires the holds whose time is up, across
//! all drops, handing each drop's due holds to its actor. Expiry is a conditional
//! update (only an `active` hold expires), so every node may run this at once and each
//! hold's units still come back exactly once. It also covers drops no actor has loaded,
//! for example right after a restart.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::db::models::drop as model;
use crate::domain::drop::HoldEnd;
use crate::domain::ids::{DropId, HoldId};
use crate::state::AppState;

/// How late a hold may expire at most (plus the time of one sweep).
pub const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// Holds handled per sweep; a backlog drains over consecutive sweeps.
pub const SWEEP_BATCH: i64 = 500;

/// Ticks between two payout runs (a day); the first comes two seconds after start, so a
/// run a crash interrupted is finished then.
const PAYOUT_EVERY_TICKS: u64 = 24 * 3600 * 1000 / SWEEP_EVERY.as_millis() as u64;

/// Ticks between two prunes of old analytics (about a minute).
const PRUNE_EVERY_TICKS: u64 = 60_000 / SWEEP_EVERY.as_millis() as u64;

pub async fn run(state: AppState) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        every.tick().await;
        if let Err(e) = sweep(&state).await {
            tracing::warn!(error = %e, "hold sweep failed; retrying");
        }
        // Raffles need less: closing, interrupted offers, the monthly raffle, once a second.
        ticks += 1;
        if ticks % 4 == 1 {
            if let Err(e) = crate::raffle::sweep(&state).await {
                tracing::warn!(error = %e, "raffle sweep failed; retrying");
            }
        }
        // Pending payments whose outcome never came: asked of the provider every 2 s.
        if ticks % 8 == 3 {
            if let Err(e) = crate::payments::reconcile::sweep(&state).await {
                tracing::warn!(error = %e, "payment reconciliation failed; retrying");
            }
        }
        // Memberships whose paid period ended: renewed or ended every 2 s.
        if ticks % 8 == 5 {
            if let Err(e) = crate::payments::renew::sweep(&state).await {
                tracing::warn!(error = %e, "membership renewal failed; retrying");
            }
        }
        // Payouts to creators: a day apart (each payout is decided in one transaction and
        // sent under its own id as the idempotency key, so nodes may run this at once).
        if ticks % PAYOUT_EVERY_TICKS == 8 {
            match crate::payments::payout::run(&state).await {
                Ok(done) if !done.is_empty() => tracing::info!(payouts = done.len(), "payout run"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "payout run failed; the next one retries"),
            }
        }
        // Analytics past their keeping time and old visitor salts: about once a minute.
        if ticks % PRUNE_EVERY_TICKS == 2 {
            if let Err(e) =
                crate::db::models::analytics::prune(&state.store, state.clock.now()).await
            {
                tracing::warn!(error = %e, "analytics prune failed; retrying");
            }
        }
    }
}

/// Expire what is due now; returns how many holds this call expired. Each drop's due
/// holds go to its actor, which ends them in one write in its own order (the actor is the
/// only writer of holds and stock).
pub async fn sweep(state: &AppState) -> crate::error::AppResult<usize> {
    let now = state.clock.now();
    let due = model::due_holds(&state.store, None, now, SWEEP_BATCH).await?;
    let mut by_drop: BTreeMap<DropId, Vec<HoldId>> = BTreeMap::new();
    for hold in &due {
        by_drop.entry(hold.drop_id).or_default().push(hold.id);
    }
    let mut expired = 0;
    for (drop, holds) in by_drop {
        let ended = state
            .registry
            .end_holds(drop, holds, HoldEnd::Expired)
            .await?;
        expired += ended.len();
        for hold in &ended {
            // A lapsed raffle offer passes to the next alternate.
            crate::raffle::hold_ended(state, hold).await?;
        }
    }
    Ok(expired)
}
