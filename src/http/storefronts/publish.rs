use actix_web::{web, HttpResponse};

use super::{owned, StorefrontView};
use crate::auth::AuthUser;
use crate::db::models::now;
use crate::db::models::storefront as model;
use crate::error::AppResult;
use crate::state::AppState;

/// Make your storefront public at `/s/{slug}`. Needs a verified email.
#[utoipa::path(post, path = "/api/storefronts/{id}/publish", tag = "storefronts", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = StorefrontView), (status = 403, description = "`email_unverified`"),
        (status = 404, description = "`not_found`")))]
pub async fn publish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mut row = owned(&state, &who, &id).await?;
    crate::auth::ensure_verified(&state, &who).await?;
    if row.status != "published" {
        row.status = "published".into();
        row.updated_at = now();
        model::update(&state.store, &row).await?;
    }
    Ok(HttpResponse::Ok().json(StorefrontView::new(&row, None)))
}

/// Take your storefront off the web: its page answers 404 until it is published again.
/// Admins may take any storefront down (for abuse); its owner can publish it again.
#[utoipa::path(post, path = "/api/storefronts/{id}/unpublish", tag = "storefronts", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = StorefrontView), (status = 404, description = "`not_found`")))]
pub async fn unpublish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mut row = if who.is_admin() {
        super::by_key(&state, &id).await?
    } else {
        owned(&state, &who, &id).await?
    };
    if who.is_admin() && row.owner_id != who.id {
        tracing::info!(storefront = %row.id, admin = %who.id, "storefront taken down by an admin");
    }
    if row.status != "draft" {
        row.status = "draft".into();
        row.updated_at = now();
        model::update(&state.store, &row).await?;
    }
    Ok(HttpResponse::Ok().json(StorefrontView::new(&row, None)))
}
