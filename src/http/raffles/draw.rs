use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::raffle_id;
use crate::actors::raffle::RaffleState;
use crate::auth::AuthUser;
use crate::db::models::raffle::{self as model, DrawResult};
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Drawn {
    #[serde(flatten)]
    pub result: DrawResult,
    /// Where anyone can fetch the proof.
    pub proof_url: String,
    /// Each winner's and alternate's account email (the draw answers only admins and the
    /// storefront's owner, who send the prizes; the public proof never names them).
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Contact {
    /// The entrant's pseudonym, as in `winners` and `alternates`.
    pub entrant: String,
    pub email: String,
}

/// The draw's answer: the result, where its proof is, and whom to contact.
async fn drawn(
    state: &AppState,
    id: crate::domain::ids::RaffleId,
    result: DrawResult,
) -> AppResult<Drawn> {
    let names: Vec<String> = result
        .winners
        .iter()
        .map(|w| w.entrant.clone())
        .chain(result.alternates.iter().map(|a| a.entrant.clone()))
        .collect();
    let emails = model::emails_of(&state.store, id, &names).await?;
    let contacts = names
        .iter()
        .filter_map(|n| {
            let (_, email) = emails.iter().find(|(p, _)| p == n)?;
            Some(Contact {
                entrant: n.clone(),
                email: email.clone(),
            })
        })
        .collect();
    Ok(Drawn {
        result,
        proof_url: format!("{}/api/raffles/{id}/proof", state.config.public_url),
        contacts,
    })
}

/// Draw a closed raffle (admins). Once: repeating it, here or on another node, returns the
/// same winners and alternates. The seed is revealed in the proof.
#[utoipa::path(post, path = "/api/admin/raffles/{id}/draw", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Drawn), (status = 403, description = "`forbidden`"),
        (status = 409, description = "`raffle_open`, `raffle_cancelled`")))]
pub async fn draw(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    who.require_admin()?;
    let id = raffle_id(&id)?;
    let result = crate::raffle::draw(&state, id).await?;
    Ok(HttpResponse::Ok().json(drawn(&state, id, result).await?))
}

/// Draw your storefront's closed raffle (its owner; admins draw any, platform raffles
/// included, on the admin route). Answers as the admin route does, once.
#[utoipa::path(post, path = "/api/raffles/{id}/draw", tag = "raffles", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Drawn),
        (status = 404, description = "`not_found`: no such raffle, or not your storefront's"),
        (status = 409, description = "`raffle_open`, `raffle_cancelled`")))]
pub async fn draw_own(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let rid = raffle_id(&id)?;
    let r = model::find(&state.store, rid)
        .await?
        .ok_or(crate::error::AppError::NotFound)?;
    let owner = match r.storefront_id {
        Some(sf) => crate::db::models::drop::storefront_owner(&state.store, sf).await?,
        None => None,
    };
    if owner != Some(who.id) && !who.is_admin() {
        return Err(crate::error::AppError::NotFound);
    }
    let result = crate::raffle::draw(&state, rid).await?;
    Ok(HttpResponse::Ok().json(drawn(&state, rid, result).await?))
}

/// Every raffle (admins), newest closing first, with live totals.
#[utoipa::path(get, path = "/api/admin/raffles", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<RaffleState>), (status = 403, description = "`forbidden`")))]
pub async fn list(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    who.require_admin()?;
    let rows = model::list(&state.store, None, 200).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        // Open raffles through their actor (live totals), the rest from the row.
        let s = match state.registry.raffle_loaded(r.id) {
            Some(_) => state.registry.raffle_state(r.id).await?,
            None => RaffleState::of(r, state.clock.now(), 0, 0),
        };
        out.push(s);
    }
    Ok(HttpResponse::Ok().json(out))
}
