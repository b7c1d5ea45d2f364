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
    let drop = change(state, who, id, from, to).await?;
    Ok(HttpResponse::Ok().json(state.registry.state(drop.id).await?))
}

/// The transition itself (owner only, conditional in the store, logged), then the actor
/// reloads. Returns the drop as it was read before.
async fn change(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    from: &[DropStatus],
    to: DropStatus,
) -> AppResult<model::DropRow> {
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
    Ok(drop)
}

const RUNNING: &[DropStatus] = &[DropStatus::Scheduled, DropStatus::Live, DropStatus::SoldOut];

/// Stop taking holds and queue joins for a while (409 `drop_paused`); existing holds may
/// still be paid within their time.
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

/// Call the drop off for good: every active hold is released at once and its holder told;
/// no new holds, queue joins or checkouts (409 `drop_cancelled`); a payment that still
/// succeeds is refunded. Paid orders stay paid: the answer says how many there are.
#[utoipa::path(post, path = "/api/drops/{id}/cancel", tag = "drops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CancelView), (status = 409, description = "`invalid_transition`")))]
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
    let row = change(&state, &who, &id, &from, DropStatus::Cancelled).await?;
    let done = crate::drops::after_cancel(&state, row.id, &row.title).await?;
    Ok(HttpResponse::Ok().json(CancelView {
        drop: state.registry.state(row.id).await?,
        cancelled: done,
    }))
}

/// The drop after its cancellation, with what the cancellation did.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CancelView {
    #[serde(flatten)]
    pub drop: DropState,
    #[serde(flatten)]
    pub cancelled: crate::drops::Cancelled,
}
