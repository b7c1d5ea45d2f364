use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::managed;
use crate::actors::raffle::RaffleState;
use crate::auth::AuthUser;
use crate::db::models::drop as drop_model;
use crate::db::models::raffle::{self as model, RaffleRow};
use crate::db::models::{now, truncate};
use crate::domain::ids::{DropId, RaffleId, StorefrontId};
use crate::domain::validate::{self, Check};
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::raffle::proof::{self, Prize};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrizeForm {
    #[schema(minimum = 1)]
    pub rank_from: u32,
    #[schema(minimum = 1)]
    pub rank_to: u32,
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRaffleForm {
    /// Your storefront's raffle; omit for a platform raffle (admins only).
    pub storefront_id: Option<StorefrontId>,
    #[schema(
        max_length = 120,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: String,
    #[schema(
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: Option<String>,
    /// Ranks 1..=N covered once each, e.g. `[{1,1,"Signed print"},{2,5,"Sticker pack"}]`.
    #[schema(min_items = 1)]
    pub prizes: Vec<PrizeForm>,
    /// Alternates drawn after the winners, in order.
    #[schema(minimum = 0, maximum = 10000)]
    pub alternates: i64,
    /// `free`: one free entry per account. `tickets`: the free entry plus tickets per
    /// whole unit of currency spent at the storefront (or anywhere, for a platform raffle)
    /// while open, and bonus tickets.
    #[schema(value_type = crate::http::openapi::RaffleEntry)]
    pub entry: String,
    /// For `tickets` raffles (default 1; 0 for a `free` raffle).
    #[schema(minimum = 0, maximum = 1000)]
    pub tickets_per_dollar: Option<i64>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Gate this drop (a draft or scheduled drop of the same storefront): its units go to
    /// the winners, then the alternates, by offered holds.
    pub drop_id: Option<DropId>,
    /// How long a winner's offered hold lasts (default 86400, at least 30).
    #[schema(minimum = 30, maximum = 2592000)]
    pub claim_seconds: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRaffle {
    pub id: RaffleId,
    /// SHA-256 of the secret seed: the engine's commitment, public from now on.
    pub commitment: String,
    #[serde(flatten)]
    pub raffle: RaffleState,
}

pub const MAX_PRIZE_RANKS: u32 = 10_000;
pub const MAX_ALTERNATES: i64 = 10_000;

/// Create a raffle (a draft). Its commitment is published at once.
#[utoipa::path(post, path = "/api/raffles", tag = "raffles", request_body = CreateRaffleForm,
    security(("bearer" = [])),
    responses((status = 201, body = CreatedRaffle), (status = 403, description = "`forbidden`"),
        (status = 404, description = "`not_found`: no such storefront of yours"),
        (status = 422, description = "`validation_failed`")))]
pub async fn create(
    state: web::Data<AppState>,
    who: AuthUser,
    form: Json<CreateRaffleForm>,
) -> AppResult<HttpResponse> {
    who.require_creator()?;
    let f = form.into_inner();
    // Whose raffle first: someone else's storefront is a 404, a platform raffle needs an
    // admin, whatever the form says.
    match f.storefront_id {
        Some(sf) => {
            if drop_model::storefront_owner(&state.store, sf).await? != Some(who.id) {
                return Err(AppError::NotFound);
            }
        }
        None => who.require_admin()?,
    }
    let mut check = Check::new();
    let title = check.take("title", validate::text(&f.title, 1, 120, false));
    let description = check.take(
        "description",
        validate::text(f.description.as_deref().unwrap_or(""), 0, 4000, true),
    );
    let prizes: Vec<Prize> = f
        .prizes
        .iter()
        .map(|p| Prize {
            rank_from: p.rank_from,
            rank_to: p.rank_to,
            description: p.description.trim().to_string(),
        })
        .collect();
    if prizes.is_empty() {
        check.fail("prizes", "name at least one prize");
    } else if let Err(m) = proof::check_prizes(&prizes) {
        check.fail("prizes", m);
    } else if proof::winners_wanted(&prizes) > MAX_PRIZE_RANKS {
        check.fail("prizes", format!("at most {MAX_PRIZE_RANKS} winners"));
    }
    for (i, p) in prizes.iter().enumerate() {
        if let Err(m) = validate::text(&p.description, 1, 200, false) {
            check.fail(&format!("prizes.{i}.description"), m);
        }
    }
    if !(0..=MAX_ALTERNATES).contains(&f.alternates) {
        check.fail("alternates", format!("must be from 0 to {MAX_ALTERNATES}"));
    }
    if f.entry != "free" && f.entry != "tickets" {
        check.fail("entry", "must be \"free\" or \"tickets\"");
    }
    let per = f
        .tickets_per_dollar
        .unwrap_or(if f.entry == "tickets" { 1 } else { 0 });
    if !(0..=1000).contains(&per) || (f.entry == "free" && per != 0) {
        check.fail(
            "tickets_per_dollar",
            "must be from 0 to 1000, and 0 for a free raffle",
        );
    }
    if f.closes_at <= f.opens_at {
        check.fail("closes_at", "must be after opens_at");
    }
    if f.closes_at.naive_utc() <= state.clock.now() {
        check.fail("closes_at", "must be in the future");
    }
    let claim = f
        .claim_seconds
        .unwrap_or(crate::raffle::DEFAULT_CLAIM_SECONDS);
    if !(30..=30 * 86400).contains(&claim) {
        check.fail("claim_seconds", "must be from 30 to 2592000");
    }
    if f.drop_id.is_some() && f.storefront_id.is_none() {
        check.fail("drop_id", "only a storefront's raffle can gate its drop");
    }
    check.finish()?;
    let (Some(title), Some(description)) = (title, description) else {
        return Err(AppError::Internal);
    };
    if let (Some(d), Some(sf)) = (f.drop_id, f.storefront_id) {
        let ok = drop_model::find(&state.store, d)
            .await?
            .is_some_and(|(row, _)| row.storefront_id == sf);
        if !ok {
            return Err(AppError::field(
                "drop_id",
                "is not a drop of this storefront",
            ));
        }
    }
    let t = now();
    let (seed, commitment) = crate::raffle::new_seed();
    let row = RaffleRow {
        id: RaffleId::new(),
        storefront_id: f.storefront_id,
        created_by: Some(who.id),
        title,
        description,
        prizes: serde_json::to_string(&prizes).map_err(AppError::internal)?,
        alternates: f.alternates,
        entry: f.entry,
        tickets_per_dollar: per,
        opens_at: truncate(f.opens_at.naive_utc()),
        closes_at: truncate(f.closes_at.naive_utc()),
        status: "draft".into(),
        month: None,
        seed,
        commitment: commitment.clone(),
        entrants: 0,
        tickets: 0,
        entries_digest: None,
        result: None,
        drop_id: f.drop_id,
        claim_seconds: claim,
        closed_at: None,
        drawn_at: None,
        created_at: t,
        updated_at: t,
    };
    model::insert(&state.store, &row).await?;
    if let Some(d) = row.drop_id {
        state.registry.refresh(d).await?;
    }
    let raffle = RaffleState::of(&row, state.clock.now(), 0, 1);
    Ok(HttpResponse::Created().json(CreatedRaffle {
        id: row.id,
        commitment,
        raffle,
    }))
}

/// Publish a draft raffle: it opens by itself at `opens_at` and closes at `closes_at`.
#[utoipa::path(post, path = "/api/raffles/{id}/publish", tag = "raffles", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = RaffleState), (status = 403, description = "`email_unverified`"),
        (status = 409, description = "`not_draft`")))]
pub async fn publish(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let row = managed(&state, &who, &id).await?;
    let id = row.id;
    crate::auth::ensure_verified(&state, &who).await?;
    if !model::set_status(&state.store, id, &["draft"], "published", state.clock.now()).await? {
        return Err(AppError::conflict(
            "not_draft",
            "only a draft can be published",
        ));
    }
    state.registry.raffle_reload(id).await?;
    Ok(HttpResponse::Ok().json(state.registry.raffle_state(id).await?))
}

/// Cancel a raffle that has not been drawn. Nobody wins; entries stay in the ledger.
#[utoipa::path(post, path = "/api/raffles/{id}/cancel", tag = "raffles", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = RaffleState), (status = 409, description = "`already_drawn`")))]
pub async fn cancel(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let row = managed(&state, &who, &id).await?;
    let id = row.id;
    if !model::set_status(
        &state.store,
        id,
        &["draft", "published", "closed"],
        "cancelled",
        state.clock.now(),
    )
    .await?
    {
        return Err(AppError::conflict(
            "already_drawn",
            "a drawn or cancelled raffle cannot be cancelled",
        ));
    }
    state.registry.raffle_reload(id).await?;
    Ok(HttpResponse::Ok().json(state.registry.raffle_state(id).await?))
}

/// Close an open raffle now, before its announced time: entries end, the entry list is
/// frozen as at its closing time, and it can be drawn.
#[utoipa::path(post, path = "/api/raffles/{id}/close", tag = "raffles", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = RaffleState), (status = 404, description = "`not_found`"),
        (status = 409, description = "`not_open`: a draft, or not open yet (cancel it instead); `already_closed`: closed, drawn or cancelled")))]
pub async fn close(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let row = managed(&state, &who, &id).await?;
    let id = row.id;
    let now = state.clock.now();
    if !model::end_entries(&state.store, id, now).await? {
        // Not open now. Read again (it may have changed since): a published raffle whose
        // time is already up is closed below like the timer would.
        let row = model::find(&state.store, id)
            .await?
            .ok_or(AppError::NotFound)?;
        match row.status.as_str() {
            "published" if row.opens_at <= now => {}
            "draft" | "published" => {
                return Err(AppError::conflict(
                    "not_open",
                    "the raffle has not opened: cancel it instead",
                ))
            }
            _ => {
                return Err(AppError::conflict(
                    "already_closed",
                    "the raffle is already closed, drawn or cancelled",
                ))
            }
        }
    }
    model::close(&state.store, id, now).await?;
    state.registry.raffle_reload(id).await?;
    Ok(HttpResponse::Ok().json(state.registry.raffle_state(id).await?))
}
