//! The waiting room: join before the opening, learn the result at the opening.

pub mod join;
pub mod show;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::models::queue::TicketRow;
use crate::domain::ids::{DropId, TicketId, VariantId};
use crate::http::holds::create::HoldView;

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    pub ticket_id: TicketId,
    pub drop_id: DropId,
    pub variant_id: VariantId,
    pub quantity: i64,
    /// `waiting` until the opening second, then `held`, `sold_out` or `limit_reached`.
    pub state: String,
    /// The place this ticket drew in the shuffle (0 is served first).
    pub position: Option<i64>,
    pub hold: Option<HoldView>,
    pub joined_at: DateTime<Utc>,
}

impl TicketView {
    pub fn new(t: &TicketRow, hold: Option<HoldView>) -> Self {
        TicketView {
            ticket_id: t.id,
            drop_id: t.drop_id,
            variant_id: t.variant_id,
            quantity: t.quantity,
            state: t.state.clone(),
            position: t.position,
            hold,
            joined_at: t.created_at.and_utc(),
        }
    }
}
