//! What follows a payment outcome, wherever it comes from (the charge answer or a
//! webhook): apply it once in the store, then the effects that must follow a commit —
//! the drop's live state, the mails, the automatic refund of a late payment.

use crate::db::models::order::{self, Applied, OrderRow};
use crate::db::models::{product, sale, storefront, user};
use crate::domain::ids::OrderId;
use crate::error::AppResult;
use crate::mail::sale::{self as mails, SaleFacts};
use crate::mail::Mail;
use crate::state::AppState;

pub async fn settle(
    state: &AppState,
    event_id: &str,
    order_id: OrderId,
    succeeded: bool,
    payment_ref: &str,
) -> AppResult<Applied> {
    let Some(o) = order::find(&state.store, order_id).await? else {
        return Ok(Applied::AlreadyApplied);
    };
    let applied = match o.drop_id {
        // A drop's sale changes the hold and the stock: applied by the drop's actor.
        Some(drop) => {
            state
                .registry
                .settle(drop, event_id, order_id, succeeded, payment_ref)
                .await?
        }
        None => {
            let now = state.clock.now();
            sale::apply_outcome(
                &state.store,
                event_id,
                order_id,
                succeeded,
                payment_ref,
                now,
            )
            .await?
        }
    };
    match &applied {
        Applied::Paid(o) => {
            let kind = crate::domain::analytics::Kind::Purchase;
            match o.drop_id {
                Some(drop) => {
                    crate::analytics::record(state, drop, kind, o.amount_cents, o.id.to_string())
                }
                // A product's sale counts on its storefront's dashboard too.
                None => {
                    let event = crate::domain::analytics::Event::server(
                        kind,
                        state.clock.now(),
                        o.amount_cents,
                        o.id.to_string(),
                    );
                    state.registry.record(o.storefront_id, event).await;
                }
            }
            // The sale may have earned raffle tickets.
            state.registry.reload_raffles().await;
            mail_paid(state, o).await;
        }
        Applied::MustRefund(o) => {
            tracing::warn!(order = %o.id, "payment arrived after its hold lapsed; refunding");
            let key = format!("{}-late", o.id);
            state
                .payments
                .refund(payment_ref, o.amount_cents, &key)
                .await?;
            order::mark_refunded(&state.store, o, state.clock.now()).await?;
        }
        Applied::Declined(o) => {
            // A renewal that failed: the membership lapsed (a first payment that fails
            // has no membership to lose).
            if o.details().renews.is_some() {
                if let Some((f, buyer, _)) = facts(state, o).await {
                    send(state, mails::renewal_failed(&buyer, &f), o.id).await;
                }
            }
        }
        Applied::AlreadyApplied => {}
    }
    Ok(applied)
}

/// Charge `o` with `method` (a card or payment method) and apply what the provider
/// answers; returns the order's status: `paid`, `declined`, `pending` (the outcome comes
/// by webhook) or `refunded` (a drop's hold lapsed meanwhile). A provider error closes the
/// order (its units back on sale) and is returned.
pub async fn pay(state: &AppState, o: &OrderRow, method: String) -> AppResult<String> {
    let charge = crate::payments::Charge {
        order: o.id,
        amount_cents: o.amount_cents,
        currency: o.currency.clone(),
        card: method,
    };
    let event = format!("charge:{}", o.id);
    let answer = match state.payments.charge(charge).await {
        Ok(a) => a,
        Err(e) => {
            settle(state, &format!("charge-error:{}", o.id), o.id, false, "").await?;
            return Err(e);
        }
    };
    let applied = match answer {
        crate::payments::ChargeOutcome::Pending { payment_ref } => {
            order::set_payment_ref(&state.store, o.id, &payment_ref).await?;
            return Ok("pending".into());
        }
        crate::payments::ChargeOutcome::Succeeded { payment_ref } => {
            settle(state, &event, o.id, true, &payment_ref).await?
        }
        crate::payments::ChargeOutcome::Declined { payment_ref, .. } => {
            settle(
                state,
                &event,
                o.id,
                false,
                payment_ref.as_deref().unwrap_or(""),
            )
            .await?
        }
    };
    status_after(state, &applied, o.id).await
}

/// The order's status after an outcome was applied (read back when it had been already).
pub async fn status_after(state: &AppState, applied: &Applied, id: OrderId) -> AppResult<String> {
    Ok(match applied {
        Applied::Paid(_) => "paid".into(),
        Applied::MustRefund(_) => "refunded".into(),
        Applied::Declined(_) => "declined".into(),
        Applied::AlreadyApplied => order::find(&state.store, id)
            .await?
            .map(|o| o.status)
            .unwrap_or_else(|| "pending".into()),
    })
}

/// What the sale's mails say, with the buyer's and the storefront owner's addresses.
pub async fn facts(state: &AppState, o: &OrderRow) -> Option<(SaleFacts, String, String)> {
    let p = product::find(&state.store, o.product_id).await.ok()??;
    let sf = storefront::find(&state.store, o.storefront_id)
        .await
        .ok()??;
    let buyer = user::find(&state.store, o.buyer_id).await.ok()??;
    let owner = user::find(&state.store, sf.owner_id).await.ok()??;
    let d = o.details();
    Some((
        SaleFacts {
            base_url: state.config.public_url.trim_end_matches('/').to_string(),
            order_id: o.id.to_string(),
            product_title: p.title,
            storefront_title: sf.title,
            kind: o.kind.clone(),
            quantity: o.quantity,
            amount_cents: o.amount_cents,
            shipping_cents: d.shipping_cents,
            currency: o.currency.clone(),
            shipping: d.shipping,
        },
        buyer.email,
        owner.email,
    ))
}

/// Queue `mail`; the sale is committed whatever happens to it, so a failure is logged.
pub async fn send(state: &AppState, mail: Mail, order: OrderId) {
    if let Err(e) = state.mail(mail).await {
        tracing::warn!(order = %order, error = %e, "sale mail not queued");
    }
}

/// A paid order: the buyer's confirmation (or renewal notice) and the creator's notice.
async fn mail_paid(state: &AppState, o: &OrderRow) {
    let Some((f, buyer, owner)) = facts(state, o).await else {
        return;
    };
    let renewal = match o.details().renews {
        Some(m) => crate::db::models::membership::find(&state.store, m)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    match renewal {
        Some(m) => {
            let until = m.current_period_end.and_utc();
            send(state, mails::renewed(&buyer, &f, until), o.id).await;
        }
        None => send(state, mails::confirmation(&buyer, &f), o.id).await,
    }
    send(state, mails::new_sale(&owner, &f, &buyer), o.id).await;
}
