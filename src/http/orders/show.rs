use actix_web::{web, HttpResponse};

use super::OrderView;
use crate::auth::AuthUser;
use crate::db::models::{drop as drop_model, order};
use crate::domain::ids::OrderId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An order: its buyer, the drop's creator and admins may read it.
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
    if o.buyer_id != who.id && !who.is_admin() {
        let (d, _) = drop_model::find(&state.store, o.drop_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if drop_model::storefront_owner(&state.store, d.storefront_id).await? != Some(who.id) {
            return Err(AppError::NotFound);
        }
    }
    Ok(HttpResponse::Ok().json(OrderView::new(&o, state.payments.name())))
}
