use actix_web::{web, HttpResponse};

use super::{owned, ProductView};
use crate::auth::AuthUser;
use crate::db::models::now;
use crate::db::models::product as model;
use crate::error::AppResult;
use crate::state::AppState;

/// Show your product on your storefront. Needs a verified email.
#[utoipa::path(post, path = "/api/products/{id}/publish", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ProductView), (status = 403, description = "`email_unverified`"),
        (status = 404, description = "`not_found`"), (status = 409, description = "`product_archived`")))]
pub async fn publish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mut p = owned(&state, &who, &id).await?;
    crate::auth::ensure_verified(&state, &who).await?;
    if p.archived_at.is_some() {
        return Err(crate::error::AppError::conflict(
            "product_archived",
            "an archived product stays off sale",
        ));
    }
    if p.status != "published" {
        p.status = "published".into();
        p.updated_at = now();
        model::update(&state.store, &p).await?;
    }
    Ok(HttpResponse::Ok().json(ProductView::new(&p, true)))
}
