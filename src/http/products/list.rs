use actix_web::{web, HttpResponse};

use super::ProductView;
use crate::auth::MaybeAuth;
use crate::db::models::product as model;
use crate::error::AppResult;
use crate::http::storefronts::visible;
use crate::state::AppState;

/// A storefront's products: published ones for everyone, all for the owner.
#[utoipa::path(get, path = "/api/storefronts/{id}/products", tag = "products", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ProductView>), (status = 404, description = "`not_found`")))]
pub async fn list(
    state: web::Data<AppState>,
    who: MaybeAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let sf = visible(&state, who.0.as_ref(), &id).await?;
    let owner = who.0.is_some_and(|w| w.id == sf.owner_id);
    let rows = model::list(&state.store, sf.id, owner).await?;
    let views: Vec<ProductView> = rows.iter().map(|p| ProductView::new(p, owner)).collect();
    Ok(HttpResponse::Ok().json(views))
}
