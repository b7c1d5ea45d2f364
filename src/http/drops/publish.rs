use actix_web::{web, HttpResponse};

use super::{drop_id, owns};
use crate::actors::drop::DropState;
use crate::auth::AuthUser;
use crate::db::models::drop as model;
use crate::domain::drop::DropStatus;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Schedule a draft drop: it opens by itself at `opens_at`.
#[utoipa::path(post, path = "/api/drops/{id}/publish", tag = "drops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DropState), (status = 403, description = "`email_unverified`"),
        (status = 409, description = "`not_draft`")))]
pub async fn publish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = drop_id(&id)?;
    let (drop, _) = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !owns(&state, &who, &drop).await? {
        return Err(AppError::NotFound);
    }
    crate::auth::ensure_verified(&state, &who).await?;
    let detail = serde_json::json!({"by": who.id});
    if !model::transition(
        &state.store,
        id,
        &[DropStatus::Draft],
        DropStatus::Scheduled,
        detail,
    )
    .await?
    {
        return Err(AppError::conflict(
            "not_draft",
            "only a draft can be published",
        ));
    }
    state.registry.refresh(id).await?;
    let mut view = state.registry.state(id).await?;
    // The refresh above is asynchronous; the committed status is what we answer with.
    let status = drop
        .schedule()
        .status_at(DropStatus::Scheduled, state.clock.now(), i64::MAX);
    view.status = status;
    Ok(HttpResponse::Ok().json(view))
}
