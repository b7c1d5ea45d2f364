//! What follows a payment outcome, wherever it comes from (the charge answer or a
//! webhook): apply it once in the store, then the effects that must follow a commit —
//! the drop's live state, the confirmation mail, the automatic refund of a late payment.

use crate::db::models::order::{self, Applied, OrderRow};
use crate::db::models::user;
use crate::domain::ids::OrderId;
use crate::error::AppResult;
use crate::mail::Mail;
use crate::state::AppState;

pub async fn settle(
    state: &AppState,
    event_id: &str,
    order_id: OrderId,
    succeeded: bool,
    payment_ref: &str,
) -> AppResult<Applied> {
    // A sale changes the hold and the stock: applied by the order's drop's actor.
    let Some(o) = order::find(&state.store, order_id).await? else {
        return Ok(Applied::AlreadyApplied);
    };
    let applied = state
        .registry
        .settle(o.drop_id, event_id, order_id, succeeded, payment_ref)
        .await?;
    match &applied {
        Applied::Paid(o) => {
            crate::analytics::record(
                state,
                o.drop_id,
                crate::domain::analytics::Kind::Purchase,
                o.amount_cents,
                o.id.to_string(),
            );
            // The sale may have earned raffle tickets.
            state.registry.reload_raffles().await;
            confirm_by_mail(state, o).await;
        }
        Applied::MustRefund(o) => {
            tracing::warn!(order = %o.id, "payment arrived after its hold lapsed; refunding");
            state.payments.refund(payment_ref, o.amount_cents).await?;
            order::mark_refunded(&state.store, o, state.clock.now()).await?;
        }
        Applied::Declined(_) | Applied::AlreadyApplied => {}
    }
    Ok(applied)
}

/// The sale is committed whatever happens to the mail; a failure is logged.
async fn confirm_by_mail(state: &AppState, o: &OrderRow) {
    let Ok(Some(buyer)) = user::find(&state.store, o.buyer_id).await else {
        return;
    };
    let amount = crate::domain::money::format_minor(o.amount_cents, &o.currency);
    let mail = Mail {
        to: buyer.email.clone(),
        subject: "Your livedrop order is confirmed".into(),
        text: format!(
            "Thank you! Your order {} is paid: {} × 1 line, {}.\n\nSee it at {}/api/orders/{}\n",
            o.id, o.quantity, amount, state.config.public_url, o.id
        ),
        html: None,
    };
    if let Err(e) = state.mail(mail).await {
        tracing::warn!(order = %o.id, error = %e, "confirmation mail not sent");
    }
}
