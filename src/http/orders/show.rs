use actix_web::{web, HttpResponse};

use super::OrderView;
use crate::auth::AuthUser;
use crate::db::models::{drop as drop_model, order};
use crate::domain::ids::OrderId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An order: its buyer, the drop's creator and admins may read it (the last two with the
/// buyer's email).
#[utoipa::path(get, path = "/api/orders/{id}", tag = "drops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, description = "`not_found`")))]
pub async fn show(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = OrderId::parse(&id).ok_or(AppError::NotFound)?;
    // The order with its drop's storefront and product and the buyer's email: one query.
    let filter = order::OrderFilter {
        id: Some(id),
        limit: 1,
        ..order::OrderFilter::default()
    };
    let l = order::list(&state.store, &filter)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let seller = who.is_admin()
        || drop_model::storefront_owner(&state.store, l.storefront_id).await? == Some(who.id);
    if l.order.buyer_id != who.id && !seller {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::Ok().json(OrderView::listed(&l, state.payments.name(), seller)))
}
