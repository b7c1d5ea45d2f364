//! Raffles beyond the store: the draw (once, then the results told and, on a gated drop,
//! the units offered), the proof document, the cascade of lapsed offers to alternates,
//! and the timer work (closing, the monthly platform raffle).
//!
//! [`proof`] is the draw algorithm itself, pure and documented in docs/raffle-proof.md.

/// The draw's rules live in the pure domain ([`crate::domain::draw`]); known here as
/// `raffle::proof`, the name its callers and the proof format's documentation use.
pub use crate::domain::draw as proof;

use std::collections::HashMap;

use crate::db::models::drop::{self as drop_model, HoldRequest, HoldRow};
use crate::db::models::raffle::{self as model, DrawResult, PickRow, RaffleRow};
use crate::db::models::user;
use crate::domain::ids::{RaffleId, UserId};
use crate::domain::raffle::{month_of, RaffleStatus};
use crate::error::{AppError, AppResult};
use crate::mail::Mail;
use crate::state::AppState;

/// Tickets per whole unit of currency in the monthly platform raffle.
pub const MONTHLY_TICKETS_PER_DOLLAR: i64 = 1;
/// Alternates drawn in the monthly raffle.
pub const MONTHLY_ALTERNATES: i64 = 3;
/// Default claim window for a raffle-gated drop's offers.
pub const DEFAULT_CLAIM_SECONDS: i64 = 24 * 3600;

/// A fresh secret seed and its commitment (hex, hex).
pub fn new_seed() -> (String, String) {
    let seed: [u8; 32] = rand::random();
    (hex::encode(seed), proof::commitment(&seed))
}

/// Draw a closed raffle (closing it first if its time is up and no timer has yet). Once:
/// a second request, here or on another node, gets the stored result.
pub async fn draw(state: &AppState, id: RaffleId) -> AppResult<DrawResult> {
    let now = state.clock.now();
    let mut row = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.status == "published" && row.closes_at <= now {
        model::close(&state.store, id, now).await?;
        row = model::find(&state.store, id)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    match row.status.as_str() {
        "drawn" => return row.drawn().ok_or(AppError::Internal),
        "closed" => {}
        "cancelled" => {
            return Err(AppError::conflict(
                "raffle_cancelled",
                "the raffle was cancelled",
            ))
        }
        _ => {
            return Err(AppError::conflict(
                "raffle_open",
                "the raffle has not closed yet",
            ))
        }
    }
    let entries = model::frozen_entries(&state.store, id).await?;
    let seed = row.seed_bytes()?;
    let p = proof::build_proof(
        &id.to_string(),
        &row.title,
        &seed,
        row.prizes()?,
        row.alternates.max(0) as u32,
        entries,
        &now.and_utc().to_rfc3339(),
    )
    .map_err(AppError::internal)?;
    let result = DrawResult {
        winners: p.winners,
        alternates: p.alternates,
    };
    let names: Vec<String> = result
        .winners
        .iter()
        .map(|w| w.entrant.clone())
        .chain(result.alternates.iter().map(|a| a.entrant.clone()))
        .collect();
    let users: HashMap<String, UserId> = model::users_of(&state.store, id, &names)
        .await?
        .into_iter()
        .collect();
    let mut picks = Vec::with_capacity(names.len());
    for (i, w) in result.winners.iter().enumerate() {
        picks.push(PickRow {
            raffle_id: id,
            position: i as i64 + 1,
            kind: "winner".into(),
            rank: w.rank as i64,
            user_id: *users.get(&w.entrant).ok_or(AppError::Internal)?,
            pseudonym: w.entrant.clone(),
            tickets: w.tickets as i64,
            prize: w.prize.clone(),
            state: "picked".into(),
            hold_id: None,
            offered_at: None,
        });
    }
    let base = picks.len() as i64;
    for a in &result.alternates {
        picks.push(PickRow {
            raffle_id: id,
            position: base + a.position as i64,
            kind: "alternate".into(),
            rank: a.position as i64,
            user_id: *users.get(&a.entrant).ok_or(AppError::Internal)?,
            pseudonym: a.entrant.clone(),
            tickets: a.tickets as i64,
            prize: String::new(),
            state: "waiting".into(),
            hold_id: None,
            offered_at: None,
        });
    }
    if !model::record_draw(&state.store, id, &result, &picks, now).await? {
        // Another request drew it first; its result is the result.
        let row = model::find(&state.store, id)
            .await?
            .ok_or(AppError::NotFound)?;
        return row.drawn().ok_or(AppError::Internal);
    }
    tracing::info!(raffle = %id, winners = result.winners.len(), alternates = result.alternates.len(), "raffle drawn");
    state.registry.raffle_reload(id).await?;
    publish_state(state, id).await;
    if row.drop_id.is_some() {
        for p in picks.iter().filter(|p| p.kind == "winner") {
            offer(state, &row, p).await?;
        }
    }
    let st = state.clone();
    actix_web::rt::spawn(async move {
        if let Err(e) = tell_results(&st, &row, &picks).await {
            tracing::warn!(raffle = %row.id, error = %e, "raffle results not all told");
        }
    });
    Ok(result)
}

/// Push the raffle's state to every node's watchers (the actor may live on another node).
async fn publish_state(state: &AppState, id: RaffleId) {
    if let Ok(s) = state.registry.raffle_state(id).await {
        let event = crate::bus::Event {
            topic: format!("raffle:{id}"),
            payload: serde_json::to_value(s).unwrap_or_default(),
        };
        if let Err(e) = state.bus.publish(event).await {
            tracing::warn!(error = %e, "raffle state not published");
        }
    }
}

/// Tell a user on their socket (best effort; the same facts are in the API and the mail).
async fn push_user(state: &AppState, user: UserId, data: serde_json::Value) {
    let event = crate::bus::Event {
        topic: format!("user:{user}"),
        payload: data,
    };
    if let Err(e) = state.bus.publish(event).await {
        tracing::warn!(error = %e, "user event not published");
    }
}

async fn mail_user(state: &AppState, user: UserId, subject: String, text: String) {
    let Ok(Some(u)) = user::find(&state.store, user).await else {
        return;
    };
    let mail = Mail {
        to: u.email,
        subject,
        text,
        html: None,
    };
    if let Err(e) = state.mail(mail).await {
        tracing::warn!(error = %e, "raffle mail not sent");
    }
}

/// Every entrant learns the outcome: winners their prize, alternates their place in line,
/// everyone else that they were not drawn.
async fn tell_results(state: &AppState, row: &RaffleRow, picks: &[PickRow]) -> AppResult<()> {
    let url = format!("{}/r/{}", state.config.public_url, row.id);
    let by_user: HashMap<UserId, &PickRow> = picks.iter().map(|p| (p.user_id, p)).collect();
    for user in model::entrant_users(&state.store, row.id).await? {
        let (outcome, subject, text) = match by_user.get(&user) {
            Some(p) if p.kind == "winner" => (
                "won",
                format!("You won: {}", row.title),
                format!(
                    "Congratulations! You are winner #{} of \"{}\" ({}).\n{}\nThe draw and its proof: {url}\n",
                    p.rank,
                    row.title,
                    p.prize,
                    if row.drop_id.is_some() {
                        "A unit is held for you: check out from the raffle page before your claim window ends."
                    } else {
                        ""
                    }
                ),
            ),
            Some(p) => (
                "alternate",
                format!("You are alternate #{} for {}", p.rank, row.title),
                format!(
                    "You were drawn as alternate #{} of \"{}\". If a winner does not claim, the offer passes to you in this order.\nThe draw and its proof: {url}\n",
                    p.rank, row.title
                ),
            ),
            None => (
                "not_drawn",
                format!("The results of {}", row.title),
                format!(
                    "The draw of \"{}\" is done and you were not drawn this time. Anyone can check the draw: {url}\n",
                    row.title
                ),
            ),
        };
        let pick = by_user.get(&user);
        push_user(
            state,
            user,
            serde_json::json!({
                "kind": "raffle_result",
                "raffle_id": row.id,
                "outcome": outcome,
                "rank": pick.map(|p| p.rank),
                "prize": pick.map(|p| p.prize.clone()),
            }),
        )
        .await;
        mail_user(state, user, subject, text).await;
    }
    Ok(())
}

/// Offer a pick a unit of the raffle's gated drop: mark the pick offered, then place a hold
/// for the claim window with the pick as idempotency key (a retry finds the same hold).
pub async fn offer(state: &AppState, row: &RaffleRow, pick: &PickRow) -> AppResult<()> {
    let Some(drop_id) = row.drop_id else {
        return Ok(());
    };
    let now = state.clock.now();
    if pick.state != "offered"
        && !model::mark_offered(&state.store, row.id, pick.position, now).await?
    {
        return Ok(());
    }
    let (drop, variants) = drop_model::find(&state.store, drop_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let variant = variants
        .iter()
        .find(|v| v.remaining > 0)
        .or(variants.first())
        .ok_or(AppError::Internal)?;
    let request = HoldRequest {
        buyer: pick.user_id,
        variant: variant.id,
        quantity: 1,
        idempotency_key: Some(format!("raffle:{}:{}", row.id, pick.position)),
    };
    let outcome = state
        .registry
        .offer(drop_id, request, row.claim_seconds)
        .await?;
    match outcome {
        Ok((hold, _)) => {
            model::set_pick_hold(
                &state.store,
                row.id,
                pick.position,
                Some(hold.id),
                "offered",
            )
            .await?;
            let page = format!("{}/d/{}", state.config.public_url, drop_id);
            push_user(
                state,
                pick.user_id,
                serde_json::json!({
                    "kind": "raffle_offer",
                    "raffle_id": row.id,
                    "drop_id": drop_id,
                    "hold_id": hold.id,
                    "position": pick.position,
                    "expires_at": hold.expires_at.and_utc(),
                }),
            )
            .await;
            mail_user(
                state,
                pick.user_id,
                format!("A unit of {} is yours to claim", drop.title),
                format!(
                    "Through \"{}\" a unit of \"{}\" is held for you until {} UTC. Check out here: {page}\nIf you do not, it passes to the next alternate.\n",
                    row.title,
                    drop.title,
                    hold.expires_at.format("%Y-%m-%d %H:%M:%S")
                ),
            )
            .await;
        }
        Err(refusal) => {
            tracing::warn!(raffle = %row.id, position = pick.position, ?refusal, "no unit left to offer");
            model::set_pick_hold(&state.store, row.id, pick.position, None, "lapsed").await?;
        }
    }
    Ok(())
}

/// A hold ended without a sale. If it was a raffle offer, the offer lapses and the next
/// waiting alternate, in draw order, is offered a unit.
pub async fn hold_ended(state: &AppState, hold: &HoldRow) -> AppResult<()> {
    if !hold
        .idempotency_key
        .as_deref()
        .is_some_and(|k| k.starts_with("raffle:"))
    {
        return Ok(());
    }
    let Some(lapsed) = model::lapse(&state.store, hold.id).await? else {
        return Ok(());
    };
    push_user(
        state,
        lapsed.user_id,
        serde_json::json!({"kind": "raffle_offer_lapsed", "raffle_id": lapsed.raffle_id, "position": lapsed.position}),
    )
    .await;
    offer_next(state, lapsed.raffle_id).await
}

/// Offer the next waiting alternate of a raffle a unit, if any.
pub async fn offer_next(state: &AppState, id: RaffleId) -> AppResult<()> {
    let Some(row) = model::find(&state.store, id).await? else {
        return Ok(());
    };
    for mut p in model::picks(&state.store, id).await? {
        if p.state == "waiting"
            && model::mark_offered(&state.store, id, p.position, state.clock.now()).await?
        {
            p.state = "offered".into();
            return offer(state, &row, &p).await;
        }
    }
    Ok(())
}

/// Timer work, on every node (each step is conditional, so nodes may race): close due
/// raffles, finish offers a crash interrupted, create this month's platform raffle.
pub async fn sweep(state: &AppState) -> AppResult<()> {
    let now = state.clock.now();
    for id in model::due_to_close(&state.store, now).await? {
        if model::close(&state.store, id, now).await? {
            tracing::info!(raffle = %id, "raffle closed; entry list frozen");
        }
        state.registry.raffle_reload(id).await?;
    }
    for p in model::offers_without_hold(&state.store).await? {
        if let Some(row) = model::find(&state.store, p.raffle_id).await? {
            offer(state, &row, &p).await?;
        }
    }
    ensure_monthly(state).await?;
    Ok(())
}

/// The platform raffle of the current UTC month: every paid order earns its buyer
/// [`MONTHLY_TICKETS_PER_DOLLAR`] tickets per whole unit of currency.
pub async fn ensure_monthly(state: &AppState) -> AppResult<()> {
    let now = state.clock.now();
    let (month, start, end) = month_of(now);
    if model::monthly_exists(&state.store, &month).await? {
        return Ok(());
    }
    let (seed, commitment) = new_seed();
    let label = start.format("%B %Y").to_string();
    let row = RaffleRow {
        id: RaffleId::new(),
        storefront_id: None,
        created_by: None,
        title: format!("Monthly raffle — {label}"),
        description: format!(
            "Every paid order in {label} earns {MONTHLY_TICKETS_PER_DOLLAR} ticket per whole unit of currency spent; a refund takes them back. Drawn after the month ends."
        ),
        prizes: serde_json::json!([{"rank_from": 1, "rank_to": 1, "description": "Monthly prize"}]).to_string(),
        alternates: MONTHLY_ALTERNATES,
        entry: "tickets".into(),
        tickets_per_dollar: MONTHLY_TICKETS_PER_DOLLAR,
        opens_at: start,
        closes_at: end,
        status: "published".into(),
        month: Some(month.clone()),
        seed,
        commitment,
        entrants: 0,
        tickets: 0,
        entries_digest: None,
        result: None,
        drop_id: None,
        claim_seconds: DEFAULT_CLAIM_SECONDS,
        closed_at: None,
        drawn_at: None,
        created_at: now,
        updated_at: now,
    };
    if model::ensure_monthly(&state.store, &row).await? {
        tracing::info!(%month, raffle = %row.id, "monthly raffle created");
    }
    Ok(())
}

/// The proof document of a drawn raffle (docs/raffle-proof.md).
pub async fn proof_of(state: &AppState, id: RaffleId) -> AppResult<proof::Proof> {
    let row = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let status = RaffleStatus::at(&row.status, row.opens_at, row.closes_at, state.clock.now());
    let Some(result) = row.drawn() else {
        return Err(AppError::conflict(
            "not_drawn",
            match status {
                RaffleStatus::Closed => "the raffle is closed but not drawn yet",
                _ => "the raffle has not been drawn yet",
            },
        ));
    };
    let entries = model::frozen_entries(&state.store, id).await?;
    Ok(proof::Proof {
        algorithm: proof::ALGORITHM.to_string(),
        raffle_id: id.to_string(),
        title: row.title.clone(),
        commitment: row.commitment.clone(),
        seed: row.seed.clone(),
        entries_digest: row.entries_digest.clone().unwrap_or_default(),
        prizes: row.prizes()?,
        alternates_wanted: row.alternates.max(0) as u32,
        entries,
        winners: result.winners,
        alternates: result.alternates,
        drawn_at: row
            .drawn_at
            .map(|d| d.and_utc().to_rfc3339())
            .unwrap_or_default(),
    })
}
