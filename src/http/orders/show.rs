use actix_web::{web, HttpResponse};

use super::{delivery, OrderView};
use crate::auth::AuthUser;
use crate::db::models::{drop as drop_model, order};
use crate::domain::ids::OrderId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An order: its buyer, the storefront's owner and admins may read it (the last two with
/// the buyer's email). Once paid it carries what the buyer receives (`delivery`).
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, description = "`not_found`")))]
pub async fn show(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = OrderId::parse(&id).ok_or(AppError::NotFound)?;
    // The order with the buyer's email: one query.
    let filter = order::OrderFilter {
        id: Some(id),
        limit: 1,
        ..order::OrderFilter::default()
    };
    let l = order::list(&state.store, &filter)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let seller = l.order.buyer_id != who.id
        && (who.is_admin()
            || drop_model::storefront_owner(&state.store, l.order.storefront_id).await?
                == Some(who.id));
    if l.order.buyer_id != who.id && !seller {
        return Err(AppError::NotFound);
    }
    let mut v = OrderView::listed(&l, state.payments.name(), seller);
    v.delivery = delivery::of(&state, &l.order).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The order `id` if `who` sells it (the storefront's owner) or is an admin; a 404 for
/// anyone else, so an order's existence is not told to strangers.
pub async fn as_seller(state: &AppState, who: &AuthUser, id: &str) -> AppResult<order::OrderRow> {
    let id = OrderId::parse(id).ok_or(AppError::NotFound)?;
    let o = order::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !who.is_admin()
        && drop_model::storefront_owner(&state.store, o.storefront_id).await? != Some(who.id)
    {
        return Err(AppError::NotFound);
    }
    Ok(o)
}
