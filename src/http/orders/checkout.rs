use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::domain::ids::{HoldId, OrderId};
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutForm {
    /// With the test provider: 4242424242424242 (paid), 4000000000000002 (declined),
    /// 4000000000000077 (paid later by webhook), 4000000000000119 (fails later).
    #[schema(min_length = 1, max_length = 64)]
    pub card: Option<String>,
    /// With Stripe: the PaymentMethod id (`pm_…`) from the Payment Element. The test
    /// provider takes a test card here too.
    #[schema(min_length = 1, max_length = 255)]
    pub payment_method: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutView {
    pub order_id: OrderId,
    /// `paid`, `declined`, `pending` (outcome by webhook) or `refunded`.
    pub status: String,
    pub provider: &'static str,
}

/// Pay for a hold. The hold is extended while the payment is in progress (bounded); a
/// payment that succeeds after the hold lapsed is refunded automatically.
#[utoipa::path(post, path = "/api/holds/{id}/checkout", tag = "drops", request_body = CheckoutForm,
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 201, body = CheckoutView),
        (status = 409, description = "`hold_expired`, `checkout_in_progress`, `drop_cancelled`"),
        (status = 422, description = "`validation_failed`: no payment method, an unknown test card")))]
pub async fn checkout(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<CheckoutForm>,
) -> AppResult<HttpResponse> {
    let hold = HoldId::parse(&id).ok_or(AppError::NotFound)?;
    // The payment start changes the hold (extended for the payment): through its drop's actor.
    let h = crate::db::models::drop::find_hold(&state.store, hold)
        .await?
        .filter(|h| h.buyer_id == who.id)
        .ok_or(AppError::NotFound)?;
    let form = form.into_inner();
    let method = match (form.payment_method, form.card) {
        (Some(m), _) if m.len() > 255 => {
            return Err(AppError::field("payment_method", "is too long"))
        }
        (None, Some(c)) if c.len() > 64 => return Err(AppError::field("card", "is too long")),
        (Some(m), _) | (None, Some(m)) if !m.trim().is_empty() => m,
        _ => return Err(AppError::field("payment_method", "is required")),
    };
    let o = state.registry.checkout(h.drop_id, hold, who.id).await?;
    let provider = state.payments.name();
    let status = crate::payments::settle::pay(&state, &o, method).await?;
    // A declined card is not a checkout in the funnel: only a payment that went through
    // (or is still deciding) counts.
    if status != "declined" {
        crate::analytics::record(
            &state,
            h.drop_id,
            crate::domain::analytics::Kind::Checkout,
            0,
            o.id.to_string(),
        );
    }
    Ok(HttpResponse::Created().json(CheckoutView {
        order_id: o.id,
        status,
        provider,
    }))
}
