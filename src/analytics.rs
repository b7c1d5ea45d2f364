//! Events the server records itself, after the write they describe has committed: a hold
//! placed, a checkout started, a purchase paid. They feed the storefront's funnel and
//! sales ticker; pages report their own views and clicks (`POST /api/events`).

use crate::domain::analytics::{Event, Kind};
use crate::domain::ids::DropId;
use crate::state::AppState;

/// Record `kind` for the storefront of `drop`. Best effort, off the request's path: the
/// event waits in the node's inbox (a push under a short lock, no task, no state clone)
/// and is handed to the storefront's actor by [`run`]; a failure is logged there and never
/// fails the hold or payment that caused it.
pub fn record(state: &AppState, drop: DropId, kind: Kind, amount_cents: i64, ref_id: String) {
    let event = Event::server(kind, state.clock.now(), amount_cents, ref_id);
    state.registry.note(drop, event);
}

/// A refund of `amount_cents` of order `o`, on its storefront's dashboard: a purchase
/// event of the negative amount that counts no purchase (count 0), so revenue is net of
/// refunds and the sales ticker shows it, while the funnel still counts the sale made.
pub async fn refunded(state: &AppState, o: &crate::db::models::order::OrderRow, amount_cents: i64) {
    let mut event = Event::server(
        Kind::Purchase,
        state.clock.now(),
        -amount_cents,
        o.id.to_string(),
    );
    event.count = 0;
    match o.drop_id {
        Some(drop) => state.registry.note(drop, event),
        None => state.registry.record(o.storefront_id, event).await,
    }
}

/// How often the inbox is handed on: well inside the dashboard's one-second freshness.
pub const DRAIN_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// Hand the inbox's events to their storefronts' actors, forever.
pub async fn run(state: AppState) {
    let mut every = tokio::time::interval(DRAIN_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        state.registry.drain_inbox().await;
    }
}
