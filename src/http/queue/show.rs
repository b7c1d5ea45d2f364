use actix_web::{web, HttpResponse};

use super::TicketView;
use crate::auth::AuthUser;
use crate::db::models::{drop as drop_model, queue};
use crate::domain::ids::TicketId;
use crate::error::{AppError, AppResult};
use crate::http::holds::create::HoldView;
use crate::state::AppState;

/// A waiting-room ticket: `waiting`, or the result of the admission with the hold.
#[utoipa::path(get, path = "/api/queue/{ticket_id}", tag = "drops", security(("bearer" = [])),
    params(("ticket_id" = String, Path)),
    responses((status = 200, body = TicketView), (status = 404, description = "`not_found`")))]
pub async fn show(
    state: web::Data<AppState>,
    who: AuthUser,
    ticket_id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = TicketId::parse(&ticket_id).ok_or(AppError::NotFound)?;
    let t = queue::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if t.buyer_id != who.id {
        return Err(AppError::NotFound);
    }
    if t.state == "waiting" {
        // Polling past the opening second is what starts the drop's actor on a node where
        // nobody else asked yet: admission must not wait for a tick elsewhere.
        let _ = state.registry.state(t.drop_id).await?;
    }
    let hold = match t.hold_id {
        Some(h) => drop_model::find_hold(&state.store, h)
            .await?
            .map(|h| HoldView::from(&h)),
        None => None,
    };
    Ok(HttpResponse::Ok().json(TicketView::new(&t, hold)))
}
