use actix_web::{web, HttpResponse};

use super::OrderView;
use crate::auth::AuthUser;
use crate::db::models::{drop as drop_model, order};
use crate::domain::ids::OrderId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Refund a paid order (the drop's creator or an admin). In one transaction the order
/// becomes `refund_pending` and every raffle ticket it earned is reversed in the ledger;
/// then the provider returns the money and the order becomes `refunded`.
#[utoipa::path(post, path = "/api/orders/{id}/refund", tag = "drops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, description = "`not_found`"),
        (status = 409, description = "`not_paid`")))]
pub async fn refund(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = OrderId::parse(&id).ok_or(AppError::NotFound)?;
    let o = order::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (d, _) = drop_model::find(&state.store, o.drop_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let owner = drop_model::storefront_owner(&state.store, d.storefront_id).await?;
    if owner != Some(who.id) && !who.is_admin() {
        return Err(AppError::NotFound);
    }
    let Some(o) = order::start_refund(&state.store, id, state.clock.now()).await? else {
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
    let o = order::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(OrderView::new(&o, state.payments.name())))
}
