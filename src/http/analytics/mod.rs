//! Storefront analytics: page events in, reports and exports out, deletion.

pub mod events;
pub mod privacy;
pub mod report;

use crate::auth::AuthUser;
use crate::db::models::storefront::{self as model, StorefrontRow};
use crate::domain::ids::StorefrontId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The storefront, if `who` may see its analytics: its owner or an admin. Anyone else
/// gets a 404, as if it did not exist.
pub async fn readable(state: &AppState, who: &AuthUser, id: &str) -> AppResult<StorefrontRow> {
    let id = StorefrontId::parse(id).ok_or(AppError::NotFound)?;
    let row = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.owner_id != who.id && !who.is_admin() {
        return Err(AppError::NotFound);
    }
    Ok(row)
}
