use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{manages, owner_of, raffle_id};
use crate::auth::AuthUser;
use crate::db::models::raffle::{self as model, EntryOutcome};
use crate::db::models::user;
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::ratelimit;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Entered {
    /// Your tickets in this raffle now.
    pub tickets: i64,
}

/// Enter a raffle (your one free entry). Answered after the entry has committed.
#[utoipa::path(post, path = "/api/raffles/{id}/entries", tag = "raffles", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 201, body = Entered),
        (status = 409, description = "`already_entered`, `not_open`, `raffle_closed`, `own_raffle` (you run this raffle)"),
        (status = 429, description = "`rate_limited`")))]
pub async fn enter(
    state: web::Data<AppState>,
    who: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = raffle_id(&id)?;
    let limits = &state.config.rate_limits;
    let ip = crate::http::auth::client_ip(&req, &state);
    ratelimit::check(
        state.limiter.as_ref(),
        &format!("entry:user:{}", who.id),
        limits.hold_account,
    )
    .await?;
    ratelimit::check(
        state.limiter.as_ref(),
        &format!("entry:ip:{ip}"),
        limits.hold_ip,
    )
    .await?;
    match state.registry.enter(id, who.id).await? {
        EntryOutcome::Entered { tickets } => Ok(HttpResponse::Created().json(Entered { tickets })),
        EntryOutcome::AlreadyEntered => Err(AppError::conflict(
            "already_entered",
            "you have already entered this raffle",
        )),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BonusForm {
    /// The account credited, by email.
    pub email: String,
    pub tickets: i64,
    /// Why, e.g. "referral".
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub note: String,
}

/// Credit bonus tickets (a referral, a giveaway) in an open `tickets` raffle you manage.
/// The answer is the same whether or not the email has an account (nothing is credited
/// when it has none), so the endpoint cannot be used to find out who does; the people who
/// run the raffle cannot be credited.
#[utoipa::path(post, path = "/api/raffles/{id}/bonus", tag = "raffles", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = BonusForm,
    responses((status = 202, description = "credited if the email has an account"),
        (status = 409, description = "`raffle_closed`, `own_raffle`")))]
pub async fn bonus(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<BonusForm>,
) -> AppResult<HttpResponse> {
    let id = raffle_id(&id)?;
    let row = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !manages(&state, &who, &row).await? {
        return Err(AppError::NotFound);
    }
    if !(1..=1000).contains(&form.tickets) {
        return Err(AppError::field("tickets", "must be from 1 to 1000"));
    }
    let note = crate::domain::validate::text(&form.note, 1, 200, false)
        .map_err(|m| AppError::field("note", m))?;
    let email =
        crate::domain::validate::email(&form.email).map_err(|m| AppError::field("email", m))?;
    // The same answer whether or not the email has an account: the endpoint must not tell
    // who does. Credited only to an account that exists and does not run the raffle.
    let Some(target) = user::find_by_email(&state.store, &email).await? else {
        return Ok(HttpResponse::Accepted().finish());
    };
    if target.id == who.id || Some(target.id) == owner_of(&state, &row).await? {
        return Err(AppError::conflict(
            "own_raffle",
            "the people who run a raffle cannot take part in it",
        ));
    }
    let now = state.clock.now();
    model::credit_bonus(&state.store, id, target.id, form.tickets, &note, now).await?;
    state.registry.raffle_reload(id).await?;
    Ok(HttpResponse::Accepted().finish())
}
