use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::OrderView;
use crate::auth::AuthUser;
use crate::db::models::order;
use crate::error::{AppError, AppResult};
use crate::payments::settle;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundForm {
    /// Minor units to give back; without it, all that has not been given back yet.
    #[schema(minimum = 1)]
    pub amount_cents: Option<i64>,
    /// Put a drop order's units back on sale (through the drop's actor; watchers see it).
    /// A product's units always go back when it is refunded in full.
    #[serde(default)]
    pub restock: bool,
}

/// Refund all or part of a paid order (the storefront's owner or an admin). Each party's
/// share is reversed in the ledger in the transaction that records the refund; a full
/// refund also makes the order `refund_pending`, reverses its raffle tickets and returns a
/// product's units (an event's tickets void, a membership ended); then the provider returns
/// the money, the order becomes `refunded` and the buyer is told. A partial refund leaves
/// the order `paid` with `refunded_cents` grown.
#[utoipa::path(post, path = "/api/orders/{id}/refund", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = Option<RefundForm>, description = "optional: no body refunds all that is left"),
    responses((status = 200, body = OrderView), (status = 404, description = "`not_found`"),
        (status = 400, description = "`invalid_json`"),
        (status = 409, description = "`not_paid`"),
        (status = 422, description = "`validation_failed`: an amount below 1 or above what is left")))]
pub async fn refund(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let form: RefundForm = if body.iter().all(u8::is_ascii_whitespace) {
        RefundForm::default()
    } else if body.len() > 4096 {
        return Err(AppError::PayloadTooLarge);
    } else {
        // `null` is no form, like an empty body; otherwise the rules of every JSON form.
        match serde_json::from_slice(&body).map_err(|e| AppError::InvalidJson(e.to_string()))? {
            serde_json::Value::Null => RefundForm::default(),
            v => crate::http::extract::form_from_value(v)?,
        }
    };
    let o = super::show::as_seller(&state, &who, &id).await?;
    if o.status != "paid" {
        return Err(not_paid());
    }
    let left = o.amount_cents - o.refunded_cents;
    let amount = form.amount_cents.unwrap_or(left);
    if amount < 1 || amount > left {
        return Err(AppError::field(
            "amount_cents",
            format!("must be from 1 to what is left to refund ({left})"),
        ));
    }
    let now = state.clock.now();
    let key = format!("{}-{}", o.id, o.refunded_cents + amount);
    let full = amount == left;
    let recorded = if full {
        order::start_refund(&state.store, o.id, now).await?
    } else {
        order::partial_refund(&state.store, o.id, o.refunded_cents, amount, now).await?
    };
    let o = recorded.ok_or_else(not_paid)?;
    // Recorded first: if the provider fails now, the refund is recorded (a full one stays
    // `refund_pending`) and can be asked of the provider again with the same key.
    if let Some(r) = &o.payment_ref {
        state.payments.refund(r, amount, &key).await?;
    }
    let mut o = recorded_refund(&state, o, amount, full).await?;
    if let (true, Some(drop)) = (form.restock, o.drop_id) {
        state.registry.restock(drop, o.id).await?;
        // The restock stamps the order (`restocked_at`).
        o = order::find(&state.store, o.id)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    Ok(HttpResponse::Ok().json(OrderView::new(&o, state.payments.name())))
}

/// What follows a refund recorded in the store, once the provider has the money back: a
/// full one becomes `refunded` (raffle totals reloaded), the dashboard counts it, the buyer
/// is told (how much, for a part).
async fn recorded_refund(
    state: &AppState,
    o: order::OrderRow,
    amount: i64,
    full: bool,
) -> AppResult<order::OrderRow> {
    crate::analytics::refunded(state, &o, amount).await;
    if full {
        order::mark_refunded(&state.store, &o, state.clock.now()).await?;
        state.registry.reload_raffles().await;
    }
    let o = order::find(&state.store, o.id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some((f, buyer, _)) = settle::facts(state, &o).await {
        let mail = if o.status == "refunded" {
            crate::mail::sale::refunded(&buyer, &f)
        } else {
            crate::mail::sale::partly_refunded(&buyer, &f, amount, o.refunded_cents)
        };
        settle::send(state, mail, o.id).await;
    }
    Ok(o)
}

/// `charge.refunded`: the provider says `total` of payment `payment_ref` has gone back — a
/// refund made at the provider (Stripe's dashboard), or one of ours seen again. What is new
/// is recorded as ours would be (ledger reversals, the order refunded in part or in full,
/// the dashboard, the buyer's mail) without asking the provider again. Idempotent: a total
/// already recorded changes nothing, and an older event's smaller total neither. Whether
/// it changed anything.
pub async fn refunded_at_provider(
    state: &AppState,
    payment_ref: &str,
    total: i64,
) -> AppResult<bool> {
    let Some(o) = order::by_payment_ref(&state.store, payment_ref).await? else {
        return Ok(false);
    };
    if o.status != "paid" || total <= o.refunded_cents {
        return Ok(false);
    }
    let now = state.clock.now();
    let full = total >= o.amount_cents;
    let amount = total.min(o.amount_cents) - o.refunded_cents;
    let recorded = if full {
        order::start_refund(&state.store, o.id, now).await?
    } else {
        order::partial_refund(&state.store, o.id, o.refunded_cents, amount, now).await?
    };
    let Some(o) = recorded else {
        return Ok(false); // refunded meanwhile by another path: that one counts
    };
    recorded_refund(state, o, amount, full).await?;
    Ok(true)
}

fn not_paid() -> AppError {
    AppError::conflict("not_paid", "only a paid order can be refunded")
}
