use actix_web::{web, HttpResponse};

use super::{visible, StorefrontStats, StorefrontView};
use crate::auth::MaybeAuth;
use crate::db::models::analytics;
use crate::db::models::product;
use crate::error::AppResult;
use crate::http::products::ProductView;
use crate::state::AppState;

/// A storefront by id or slug, with its products: the published ones for everyone,
/// all of them (with private fields) for the owner.
#[utoipa::path(get, path = "/api/storefronts/{id_or_slug}", tag = "storefronts",
    params(("id_or_slug" = String, Path)),
    responses((status = 200, body = StorefrontView), (status = 404, description = "`not_found`")))]
pub async fn show(
    state: web::Data<AppState>,
    who: MaybeAuth,
    key: web::Path<String>,
) -> AppResult<HttpResponse> {
    let row = visible(&state, who.0.as_ref(), &key).await?;
    let owner = who.0.is_some_and(|w| w.id == row.owner_id);
    let products = product::list(&state.store, row.id, owner).await?;
    let views = products
        .iter()
        .map(|p| ProductView::new(p, owner))
        .collect();
    let (views_30d, clicks_30d) =
        analytics::views_and_clicks(&state.store, row.id, state.clock.now()).await?;
    let mut view = StorefrontView::new(&row, Some(views));
    view.stats = Some(StorefrontStats {
        views_30d,
        clicks_30d,
    });
    Ok(HttpResponse::Ok().json(view))
}
