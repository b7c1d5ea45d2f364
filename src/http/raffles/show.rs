use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{manages, raffle_id};
use crate::actors::raffle::RaffleState;
use crate::auth::{AuthUser, MaybeAuth};
use crate::db::models::raffle::{self as model, LedgerRow};
use crate::domain::ids::StorefrontId;
use crate::domain::raffle::RaffleStatus;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A raffle's live state: status on the server's clock, the commitment, entrants and
/// tickets; winners and alternates once drawn. Drafts are visible to who manages them.
#[utoipa::path(get, path = "/api/raffles/{id}", tag = "raffles", params(("id" = String, Path)),
    responses((status = 200, body = RaffleState), (status = 404, description = "`not_found`")))]
pub async fn show(
    state: web::Data<AppState>,
    who: MaybeAuth,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = raffle_id(&id)?;
    let view = state.registry.raffle_state(id).await?;
    if view.status == RaffleStatus::Draft {
        let Some(who) = who.0 else {
            return Err(AppError::NotFound);
        };
        let row = model::find(&state.store, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !who.is_admin() && !manages(&state, &who, &row).await? {
            return Err(AppError::NotFound);
        }
    }
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// A storefront's raffles; without it, the platform's.
    pub storefront: Option<String>,
}

/// Published raffles of a storefront, or of the platform (the monthly raffle among them).
#[utoipa::path(get, path = "/api/raffles", tag = "raffles", params(ListQuery),
    responses((status = 200, body = Vec<RaffleState>),
        (status = 404, description = "`not_found`: no such storefront")))]
pub async fn list(state: web::Data<AppState>, q: web::Query<ListQuery>) -> AppResult<HttpResponse> {
    let sf = match &q.storefront {
        Some(s) => Some(StorefrontId::parse(s).ok_or(AppError::NotFound)?),
        None => None,
    };
    let now = state.clock.now();
    let rows = model::list(&state.store, Some(sf), 100).await?;
    let out: Vec<RaffleState> = rows
        .iter()
        .filter(|r| r.status != "draft")
        .map(|r| RaffleState::of(r, now, 0, 0))
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Every raffle of a storefront, drafts included (its owner and admins): the studio's list,
/// the latest closing first (at most 200).
#[utoipa::path(get, path = "/api/storefronts/{id}/raffles", tag = "raffles", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<RaffleState>),
        (status = 404, description = "`not_found`: no such storefront, or not yours")))]
pub async fn of_storefront(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let sf = crate::http::analytics::readable(&state, &who, &id).await?;
    let now = state.clock.now();
    let rows = model::list(&state.store, Some(Some(sf.id)), 200).await?;
    let out: Vec<RaffleState> = rows.iter().map(|r| RaffleState::of(r, now, 0, 0)).collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyEntry {
    pub entered: bool,
    /// Your pseudonym in this raffle: how you appear in its proof.
    pub entrant: Option<String>,
    pub tickets: i64,
    pub ledger: Vec<LedgerRow>,
    /// Your place in the draw, once drawn: `won` (with rank), `alternate`, `not_drawn`.
    pub outcome: Option<String>,
    pub rank: Option<u32>,
}

/// Your entry: pseudonym, tickets and the ledger rows behind them, and the outcome.
#[utoipa::path(get, path = "/api/raffles/{id}/me", tag = "raffles", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = MyEntry)))]
pub async fn me(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = raffle_id(&id)?;
    let row = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (entrant, ledger) = model::entrant(&state.store, id, who.id).await?;
    let tickets = ledger.iter().map(|l| l.tickets).sum();
    let (mut outcome, mut rank) = (None, None);
    if let (Some(result), Some(name)) = (row.drawn(), &entrant) {
        if let Some(w) = result.winners.iter().find(|w| &w.entrant == name) {
            outcome = Some("won".to_string());
            rank = Some(w.rank);
        } else if let Some(a) = result.alternates.iter().find(|a| &a.entrant == name) {
            outcome = Some("alternate".to_string());
            rank = Some(a.position);
        } else {
            outcome = Some("not_drawn".to_string());
        }
    }
    Ok(HttpResponse::Ok().json(MyEntry {
        entered: ledger.iter().any(|l| l.kind == "entry"),
        entrant,
        tickets,
        ledger,
        outcome,
        rank,
    }))
}

/// Your raffle tickets everywhere: every credit and reversal, newest first.
#[utoipa::path(get, path = "/api/me/tickets", tag = "raffles", security(("bearer" = [])),
    responses((status = 200, body = Vec<LedgerRow>)))]
pub async fn my_tickets(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(model::ledger_of(&state.store, who.id, 1000).await?))
}

/// The proof of a drawn raffle: commitment, seed, entries, digest, algorithm, winners and
/// alternates. `livedrop raffle verify <this URL>` recomputes it (docs/raffle-proof.md).
#[utoipa::path(get, path = "/api/raffles/{id}/proof", tag = "raffles", params(("id" = String, Path)),
    responses((status = 200, description = "The proof document"),
        (status = 409, description = "`not_drawn`")))]
pub async fn proof(state: web::Data<AppState>, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = raffle_id(&id)?;
    let p = crate::raffle::proof_of(&state, id).await?;
    Ok(HttpResponse::Ok().json(p))
}
