//! Raffles: create, publish, enter, read, draw (admins), proof.

pub mod create;
pub mod draw;
pub mod enter;
pub mod show;

use crate::auth::AuthUser;
use crate::db::models::drop as drop_model;
use crate::db::models::raffle::RaffleRow;
use crate::domain::ids::RaffleId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Parse a path id; anything that is not one is a 404 like a missing raffle.
pub fn raffle_id(raw: &str) -> AppResult<RaffleId> {
    RaffleId::parse(raw).ok_or(AppError::NotFound)
}

/// Whether `who` manages `raffle`: its storefront's owner, or an admin for a platform one.
/// Who runs a raffle: its storefront's owner, or for a platform raffle its creator.
pub async fn owner_of(
    state: &AppState,
    raffle: &RaffleRow,
) -> AppResult<Option<crate::domain::ids::UserId>> {
    match raffle.storefront_id {
        Some(sf) => drop_model::storefront_owner(&state.store, sf).await,
        None => Ok(raffle.created_by),
    }
}

pub async fn manages(state: &AppState, who: &AuthUser, raffle: &RaffleRow) -> AppResult<bool> {
    match raffle.storefront_id {
        Some(sf) => Ok(drop_model::storefront_owner(&state.store, sf).await? == Some(who.id)),
        None => Ok(who.is_admin()),
    }
}

/// The raffle `key` names, if `who` manages it ([`manages`]); anyone else gets a 404.
pub async fn managed(state: &AppState, who: &AuthUser, key: &str) -> AppResult<RaffleRow> {
    let id = raffle_id(key)?;
    let row = crate::db::models::raffle::find(&state.store, id)
        .await?
        .ok_or(crate::error::AppError::NotFound)?;
    if !manages(state, who, &row).await? {
        return Err(crate::error::AppError::NotFound);
    }
    Ok(row)
}
