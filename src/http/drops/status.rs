//! Pause, resume and cancel: three small handlers on one mechanism (a conditional status
//! transition, logged), kept together so the allowed transitions read as one table.

use actix_web::{web, HttpResponse};

use super::{drop_id, owns};
use crate::actors::drop::DropState;
use crate::auth::AuthUser;
use crate::db::models::drop as model;
use crate::domain::drop::DropStatus;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

async fn transition(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    from: &[DropStatus],
    to: DropStatus,
) -> AppResult<HttpResponse> {
    let id = drop_id(id)?;
    let (drop, _) = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !owns(state, who, &drop).await? {
        return Err(AppError::NotFound);
    }
    let detail = serde_json::json!({"by": who.id});
    if !model::transition(&state.store, id, from, to, detail).await? {
        return Err(AppError::conflict(
            "invalid_transition",
            format!("a {} drop cannot become {}", drop.status, to.as_str()),
        ));
    }
    state.registry.refresh(id).await?;
    Ok(HttpResponse::Ok().json(state.registry.state(id).await?))
}

const RUNNING: &[DropStatus] = &[DropStatus::Scheduled, DropStatus::Live, DropStatus::SoldOut];

/// Stop taking holds for a while (existing holds and payments go on).
#[utoipa::path(post, path = "/api/drops/{id}/pause", tag = "drops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DropState), (status = 409, description = "`invalid_transition`")))]
pub async fn pause(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    transition(&state, &who, &id, RUNNING, DropStatus::Paused).await
}

/// Take holds again; the clock decides whether the drop is scheduled or live.
#[utoipa::path(post, path = "/api/drops/{id}/resume", tag = "drops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DropState), (status = 409, description = "`invalid_transition`")))]
pub async fn resume(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    transition(
        &state,
        &who,
        &id,
        &[DropStatus::Paused],
        DropStatus::Scheduled,
    )
    .await
}

/// Call the drop off for good. Active holds lapse as usual; no new ones are taken.
#[utoipa::path(post, path = "/api/drops/{id}/cancel", tag = "drops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DropState), (status = 409, description = "`invalid_transition`")))]
pub async fn cancel(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let from = [
        DropStatus::Draft,
        DropStatus::Scheduled,
        DropStatus::Live,
        DropStatus::SoldOut,
        DropStatus::Paused,
    ];
    transition(&state, &who, &id, &from, DropStatus::Cancelled).await
}
