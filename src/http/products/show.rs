use actix_web::{web, HttpResponse};

use super::ProductView;
use crate::auth::MaybeAuth;
use crate::db::models::{product as model, storefront};
use crate::domain::ids::ProductId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A product: published ones (of published storefronts) for everyone; drafts for the owner
/// and admins.
#[utoipa::path(get, path = "/api/products/{id}", tag = "products", params(("id" = String, Path)),
    responses((status = 200, body = ProductView), (status = 404, description = "`not_found`")))]
pub async fn show(
    state: web::Data<AppState>,
    who: MaybeAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = ProductId::parse(&id).ok_or(AppError::NotFound)?;
    let p = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let sf = storefront::find(&state.store, p.storefront_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let owner = who.0.is_some_and(|w| w.id == sf.owner_id);
    let admin = who.0.is_some_and(|w| w.is_admin());
    let public = p.status == "published" && sf.status == "published";
    if !(public || owner || admin) {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::Ok().json(ProductView::new(&p, owner || admin)))
}
