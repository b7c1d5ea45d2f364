use actix_web::{web, HttpResponse};

use super::OrderView;
use crate::auth::AuthUser;
use crate::db::models::order;
use crate::error::{AppError, AppResult};
use crate::payments::settle;
use crate::state::AppState;

/// Refund a paid order (the storefront's owner or an admin). In one transaction the order
/// becomes `refund_pending`, every raffle ticket it earned is reversed in the ledger, and
/// a product's units go back to stock (an event's tickets void, a membership ended); then
/// the provider returns the money, the order becomes `refunded` and the buyer is told.
#[utoipa::path(post, path = "/api/orders/{id}/refund", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, description = "`not_found`"),
        (status = 409, description = "`not_paid`")))]
pub async fn refund(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let o = super::show::as_seller(&state, &who, &id).await?;
    let Some(o) = order::start_refund(&state.store, o.id, state.clock.now()).await? else {
        return Err(AppError::conflict(
            "not_paid",
            "only a paid order can be refunded",
        ));
    };
    // If the provider fails now, the order stays `refund_pending` (its tickets already
    // reversed) and the refund can be asked again... by the provider's retry or support.
    if let Some(r) = &o.payment_ref {
        state.payments.refund(r, o.amount_cents).await?;
    }
    order::mark_refunded(&state.store, &o, state.clock.now()).await?;
    state.registry.reload_raffles().await;
    let o = order::find(&state.store, o.id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some((f, buyer, _)) = settle::facts(&state, &o).await {
        settle::send(&state, crate::mail::sale::refunded(&buyer, &f), o.id).await;
    }
    Ok(HttpResponse::Ok().json(OrderView::new(&o, state.payments.name())))
}
