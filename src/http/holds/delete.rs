use actix_web::{web, HttpResponse};

use crate::auth::AuthUser;
use crate::db::models::drop as model;
use crate::domain::drop::HoldEnd;
use crate::domain::ids::HoldId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Give a hold's units back before it lapses. Idempotent for the hold's buyer.
#[utoipa::path(delete, path = "/api/holds/{id}", tag = "drops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "released"), (status = 404, description = "`not_found`")))]
pub async fn delete(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = HoldId::parse(&id).ok_or(AppError::NotFound)?;
    let hold = model::find_hold(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if hold.buyer_id != who.id {
        return Err(AppError::NotFound);
    }
    let ended = state
        .registry
        .end_holds(hold.drop_id, vec![hold.id], HoldEnd::Released)
        .await?;
    for h in &ended {
        crate::raffle::hold_ended(&state, h).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
