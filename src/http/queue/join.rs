use actix_web::{web, HttpResponse};

use super::TicketView;
use crate::auth::AuthUser;
use crate::db::models::queue::{self, TicketRow};
use crate::domain::drop::DropStatus;
use crate::domain::ids::TicketId;
use crate::error::{AppError, AppResult};
use crate::http::drops::drop_id;
use crate::http::extract::Json;
use crate::http::holds::create::CreateHoldForm;
use crate::state::AppState;

/// Join a drop's waiting room (from `waiting_room_opens_at` until the opening second). At
/// the opening the queue is shuffled and served before anyone who arrives later, so being
/// a few milliseconds closer to the server buys nothing. Joining twice returns the same
/// ticket.
#[utoipa::path(post, path = "/api/drops/{id}/queue", tag = "drops", request_body = CreateHoldForm,
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 202, body = TicketView),
        (status = 404, description = "`not_found`: no such drop"),
        (status = 422, description = "`validation_failed`: `variant_id` is not one of the drop's variants, or `quantity` is more than one buyer may take"),
        (status = 409, description = "`not_open` (before the waiting room), `drop_open` (reserve directly), `drop_paused`, `drop_cancelled`, `drop_closed`, `no_waiting_room`")))]
pub async fn join(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<CreateHoldForm>,
) -> AppResult<HttpResponse> {
    let id = drop_id(&id)?;
    if !(1..=100).contains(&form.quantity) {
        return Err(AppError::field("quantity", "must be from 1 to 100"));
    }
    let (drop, variants) = crate::db::models::drop::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !variants.iter().any(|v| v.id == form.variant_id) {
        return Err(AppError::field(
            "variant_id",
            "is not a variant of this drop",
        ));
    }
    if form.quantity > drop.per_buyer_limit {
        return Err(AppError::field(
            "quantity",
            format!("one buyer may take at most {}", drop.per_buyer_limit),
        ));
    }
    if let Some(r) = drop.raffle_id {
        return Err(AppError::conflict(
            "raffle_required",
            format!("units of this drop go to the winners of raffle {r}"),
        ));
    }
    let now = state.clock.now();
    let sched = drop.schedule();
    match sched.status_at(drop.stored_status(), now, i64::MAX) {
        DropStatus::Draft => return Err(AppError::NotFound),
        DropStatus::Scheduled if drop.waiting_room_seconds == 0 => {
            return Err(AppError::conflict(
                "no_waiting_room",
                "this drop has no waiting room; reserve at the opening",
            ))
        }
        DropStatus::Scheduled if !sched.in_waiting_room(now) => {
            return Err(AppError::conflict(
                "not_open",
                "the waiting room is not open yet",
            ))
        }
        DropStatus::Scheduled => {}
        DropStatus::Live | DropStatus::SoldOut => {
            return Err(AppError::conflict(
                "drop_open",
                "the drop is open: reserve directly",
            ))
        }
        DropStatus::Paused => return Err(AppError::conflict("drop_paused", "the drop is paused")),
        DropStatus::Cancelled => {
            return Err(AppError::conflict(
                "drop_cancelled",
                "the drop was cancelled",
            ))
        }
        DropStatus::Ended => return Err(AppError::conflict("drop_closed", "the drop has closed")),
    }
    let ticket = queue::join(
        &state.store,
        &TicketRow {
            id: TicketId::new(),
            drop_id: id,
            buyer_id: who.id,
            variant_id: form.variant_id,
            quantity: form.quantity,
            state: "waiting".into(),
            position: None,
            hold_id: None,
            created_at: now,
            updated_at: now,
        },
    )
    .await?;
    Ok(HttpResponse::Accepted().json(TicketView::new(&ticket, None)))
}
