//! Taking a product off sale: unpublished (a draft again, can be published later) or
//! archived (off sale for good; kept, since orders and drops name it).

use actix_web::{web, HttpResponse};

use super::{owned, ProductView};
use crate::auth::AuthUser;
use crate::db::models::now;
use crate::db::models::product as model;
use crate::error::AppResult;
use crate::state::AppState;

/// Take your product off the storefront (a draft again). Orders already paid stand.
#[utoipa::path(post, path = "/api/products/{id}/unpublish", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ProductView), (status = 404, description = "`not_found`")))]
pub async fn unpublish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mut p = owned(&state, &who, &id).await?;
    if p.status != "draft" {
        p.status = "draft".into();
        p.updated_at = now();
        model::update(&state.store, &p).await?;
    }
    Ok(HttpResponse::Ok().json(ProductView::new(&p, true)))
}

/// Archive your product: off sale for good and out of the storefront, but kept with its
/// orders (`status: archived`). It cannot be published again.
#[utoipa::path(post, path = "/api/products/{id}/archive", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ProductView), (status = 404, description = "`not_found`")))]
pub async fn archive(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mut p = owned(&state, &who, &id).await?;
    if p.archived_at.is_none() {
        let t = now();
        p.status = "draft".into();
        p.archived_at = Some(t);
        p.updated_at = t;
        model::update(&state.store, &p).await?;
    }
    Ok(HttpResponse::Ok().json(ProductView::new(&p, true)))
}
