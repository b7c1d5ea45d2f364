use actix_web::{web, HttpResponse};

use super::StorefrontView;
use crate::auth::AuthUser;
use crate::db::models::storefront as model;
use crate::error::AppResult;
use crate::state::AppState;

/// The caller's own storefronts, drafts included.
#[utoipa::path(get, path = "/api/storefronts", tag = "storefronts", security(("bearer" = [])),
    responses((status = 200, body = Vec<StorefrontView>)))]
pub async fn list_mine(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    let rows = model::list_by_owner(&state.store, who.id).await?;
    let views: Vec<StorefrontView> = rows.iter().map(|r| StorefrontView::new(r, None)).collect();
    Ok(HttpResponse::Ok().json(views))
}
