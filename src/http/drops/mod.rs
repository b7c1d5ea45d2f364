//! Drops: create, publish, read.

pub mod collaborators;
pub mod create;
pub mod list;
pub mod log;
pub mod publish;
pub mod show;
pub mod status;
pub mod update;

use crate::auth::AuthUser;
use crate::db::models::drop::{self as model, DropRow};
use crate::domain::ids::DropId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Whether `who` may manage `drop` (its storefront's owner; admins read only).
pub async fn owns(state: &AppState, who: &AuthUser, drop: &DropRow) -> AppResult<bool> {
    let owner = model::storefront_owner(&state.store, drop.storefront_id).await?;
    Ok(owner == Some(who.id))
}

/// Parse a path id; anything that is not one is a 404 like a missing drop.
pub fn drop_id(raw: &str) -> AppResult<DropId> {
    DropId::parse(raw).ok_or(AppError::NotFound)
}
