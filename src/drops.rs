//! What follows a drop's cancellation, after it has committed: every active hold is
//! released through the drop's actor (one write), each holder is told on their `user:`
//! topic and by mail, and the creator learns how many orders were already paid (they stay
//! paid; the creator may refund them).

use std::collections::BTreeSet;

use crate::db::models::{order, user};
use crate::domain::drop::HoldEnd;
use crate::domain::ids::DropId;
use crate::error::AppResult;
use crate::mail::Mail;
use crate::state::AppState;

/// What a cancellation did.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct Cancelled {
    /// Active holds released by the cancellation.
    pub released_holds: usize,
    /// Orders already paid: they stay paid until the creator refunds them.
    pub paid_orders: i64,
}

/// Release every active hold of the (already cancelled) drop and tell each holder.
pub async fn after_cancel(state: &AppState, id: DropId, title: &str) -> AppResult<Cancelled> {
    let ended = state
        .registry
        .end_holds(id, Vec::new(), HoldEnd::Cancelled)
        .await?;
    let page = format!("{}/d/{}", state.config.public_url, id);
    let mut told = BTreeSet::new();
    for h in &ended {
        let event = crate::bus::Event {
            topic: format!("user:{}", h.buyer_id),
            payload: serde_json::json!({
                "kind": "hold_released",
                "reason": "drop_cancelled",
                "drop_id": id,
                "hold_id": h.id,
            }),
        };
        if let Err(e) = state.bus.publish(event).await {
            tracing::warn!(error = %e, "cancellation not pushed to a holder");
        }
        // One mail per buyer, however many holds they had.
        if !told.insert(h.buyer_id) {
            continue;
        }
        let Ok(Some(u)) = user::find(&state.store, h.buyer_id).await else {
            continue;
        };
        let mail = Mail {
            to: u.email,
            subject: format!("\"{title}\" was cancelled"),
            text: format!(
                "The creator cancelled \"{title}\". Your reservation was released and you were not charged for it.\n{page}\n"
            ),
            html: None,
        };
        if let Err(e) = state.mail(mail).await {
            tracing::warn!(error = %e, "cancellation mail not sent");
        }
    }
    let paid_orders = order::count_paid(&state.store, id).await?;
    Ok(Cancelled {
        released_holds: ended.len(),
        paid_orders,
    })
}
