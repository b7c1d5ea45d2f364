use actix_web::{web, HttpResponse};

use super::{drop_id, owns};
use crate::actors::drop::DropState;
use crate::auth::MaybeAuth;
use crate::domain::drop::DropStatus;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A drop's live state: status on the server's clock, and per variant the stock,
/// remaining, held and sold units. Drafts are visible to their owner and admins only.
#[utoipa::path(get, path = "/api/drops/{id}", tag = "drops", params(("id" = String, Path)),
    responses((status = 200, body = DropState), (status = 404, description = "`not_found`")))]
pub async fn show(
    state: web::Data<AppState>,
    who: MaybeAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = drop_id(&id)?;
    let view = state.registry.state(id).await?;
    if view.status == DropStatus::Draft {
        let Some(who) = who.0 else {
            return Err(AppError::NotFound);
        };
        let (drop, _) = crate::db::models::drop::find(&state.store, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !who.is_admin() && !owns(&state, &who, &drop).await? {
            return Err(AppError::NotFound);
        }
    }
    Ok(HttpResponse::Ok().json(view))
}
