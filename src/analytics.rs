//! Events the server records itself, after the write they describe has committed: a hold
//! placed, a checkout started, a purchase paid. They feed the storefront's funnel and
//! sales ticker; pages report their own views and clicks (`POST /api/events`).

use crate::domain::analytics::{Event, Kind};
use crate::domain::ids::DropId;
use crate::state::AppState;

/// Record `kind` for the storefront of `drop`. Best effort, off the request's path: a
/// failure is logged and never fails the hold or payment that caused it.
pub fn record(state: &AppState, drop: DropId, kind: Kind, amount_cents: i64, ref_id: String) {
    let state = state.clone();
    let at = state.clock.now();
    actix_web::rt::spawn(async move {
        let sf = match state.registry.storefront_of(drop).await {
            Ok(sf) => sf,
            Err(e) => {
                tracing::warn!(drop = %drop, error = %e, "analytics event not recorded");
                return;
            }
        };
        let event = Event::server(kind, at, amount_cents, ref_id);
        state.registry.record(sf, event).await;
    });
}
