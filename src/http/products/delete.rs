use actix_web::{web, HttpResponse};

use super::owned;
use crate::auth::AuthUser;
use crate::db::models::product as model;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Delete a draft product. Published products stay, because drops and orders may refer
/// to them.
#[utoipa::path(delete, path = "/api/products/{id}", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 404, description = "`not_found`"),
        (status = 409, description = "`product_published`; `product_has_orders` (archive it instead)")))]
pub async fn delete(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let p = owned(&state, &who, &id).await?;
    if !model::delete_draft(&state.store, p.id).await? {
        return Err(AppError::conflict(
            "product_published",
            "a published product cannot be deleted",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}
