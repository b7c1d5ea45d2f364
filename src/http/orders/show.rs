use actix_web::{web, HttpResponse};

use super::OrderView;
use crate::auth::AuthUser;
use crate::db::models::{drop as drop_model, order, user};
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
    let o = order::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (d, _) = drop_model::find(&state.store, o.drop_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let seller = who.is_admin()
        || drop_model::storefront_owner(&state.store, d.storefront_id).await? == Some(who.id);
    if o.buyer_id != who.id && !seller {
        return Err(AppError::NotFound);
    }
    let mut v = OrderView::new(&o, state.payments.name());
    v.product_id = Some(d.product_id);
    if seller {
        v.buyer_email = user::find(&state.store, o.buyer_id).await?.map(|u| u.email);
    }
    Ok(HttpResponse::Ok().json(v))
}
