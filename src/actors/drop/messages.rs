//! What a drop actor is asked, and what it answers.

use actix::Message;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::db::models::drop::{HoldOutcome, HoldRequest, HoldRow};
use crate::domain::drop::DropStatus;
use crate::domain::drop::HoldEnd;
use crate::domain::ids::{DropId, HoldId, VariantId};
use crate::error::AppResult;

/// Take units for a buyer. The answer comes on `reply` once the batch holding this request
/// has committed (or failed); the actor itself never awaits.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PlaceHold {
    pub request: HoldRequest,
    pub reply: oneshot::Sender<AppResult<HoldOutcome>>,
}

/// The current state, from the actor's cache (refreshed from every commit).
#[derive(Message)]
#[rtype(result = "DropState")]
pub struct GetState;

/// Something changed the drop's rows outside this actor (a release, an expiry, a sale, an
/// edit): reload from the store and push the new state. `done` is answered once a reload
/// that started after this message has been applied.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refresh {
    pub done: Option<oneshot::Sender<()>>,
    /// Reload the buyers' totals and keyed holds too (holds were written elsewhere, e.g.
    /// by the waiting room), not only the drop row and its stock.
    pub full: bool,
}

/// End these holds of the drop (released by their buyer, expired, or released by a
/// cancellation) and give their units back; answered with the holds that ended here
/// (a hold that had already ended is left out), after the commit.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EndHolds {
    pub holds: Vec<HoldId>,
    pub how: HoldEnd,
    pub reply: oneshot::Sender<AppResult<Vec<HoldRow>>>,
}

/// Place a hold decided by the store rather than by memory (a raffle winner's offer, held
/// for the raffle's claim window): the slow path, in the actor's write order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Offer {
    pub request: HoldRequest,
    pub hold_seconds: i64,
    pub reply: oneshot::Sender<AppResult<HoldOutcome>>,
}

/// Open an order for a hold of `buyer` and extend the hold for the payment.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Checkout {
    pub hold: HoldId,
    pub buyer: crate::domain::ids::UserId,
    pub reply: oneshot::Sender<AppResult<crate::db::models::order::OrderRow>>,
}

/// Apply a payment outcome to an order of this drop (a sale turns the hold into sold
/// stock), exactly once per provider event.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Settle {
    pub event_id: String,
    pub order: crate::domain::ids::OrderId,
    pub succeeded: bool,
    pub payment_ref: String,
    pub reply: oneshot::Sender<AppResult<crate::db::models::order::Applied>>,
}

/// Set a variant's stock (never below what is held and sold); answers whether it was set.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetStock {
    pub variant: VariantId,
    pub stock: i64,
    pub reply: oneshot::Sender<AppResult<bool>>,
}

/// A refunded order's units back on sale (once); answers whether they went back.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Restock {
    pub order: crate::domain::ids::OrderId,
    pub reply: oneshot::Sender<AppResult<bool>>,
}

/// A watcher joined or left on this node.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Watchers {
    pub delta: i64,
}

/// Another node's count of sockets watching this drop (`watchers:drop:{id}` on the bus).
#[derive(Message, Debug, Deserialize)]
#[rtype(result = "()")]
pub struct WatchersElsewhere {
    pub node: String,
    pub count: i64,
}

/// Another node published this drop's state (the part of a `drop:{id}` message that
/// tells whether this node's memory is behind: its counts and status).
#[derive(Message, Debug, Deserialize)]
#[rtype(result = "()")]
pub struct SeenElsewhere {
    pub seq: u64,
    pub status: DropStatus,
    pub variants: Vec<SeenVariant>,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct SeenVariant {
    pub id: VariantId,
    pub stock: i64,
    pub remaining: i64,
    pub held: i64,
    pub sold: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VariantState {
    pub id: VariantId,
    pub name: String,
    pub stock: i64,
    pub remaining: i64,
    pub held: i64,
    pub sold: i64,
}

impl From<&crate::db::models::drop::VariantRow> for VariantState {
    fn from(v: &crate::db::models::drop::VariantRow) -> Self {
        VariantState {
            id: v.id,
            name: v.name.clone(),
            stock: v.stock,
            remaining: v.remaining,
            held: v.held,
            sold: v.sold,
        }
    }
}

/// A drop as watchers see it: the body of `GET /api/drops/{id}` and of every
/// `drop:{id}` socket message.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DropState {
    pub id: DropId,
    pub storefront_id: crate::domain::ids::StorefrontId,
    pub title: String,
    pub status: DropStatus,
    pub opens_at: DateTime<Utc>,
    pub closes_at: Option<DateTime<Utc>>,
    /// The server's clock when this state was taken, for countdowns that agree with it.
    pub server_time: DateTime<Utc>,
    /// From this instant buyers join the queue instead of racing (if the drop has one).
    pub waiting_room_opens_at: Option<DateTime<Utc>>,
    pub price_cents: i64,
    pub currency: String,
    pub per_buyer_limit: i64,
    pub hold_seconds: i64,
    /// A raffle-gated drop: its units go to this raffle's winners, by offered holds.
    pub raffle_id: Option<crate::domain::ids::RaffleId>,
    pub variants: Vec<VariantState>,
    /// Sockets watching this drop, on every node (another node's count is as it last
    /// announced it: within ~2 s, and forgotten 30 s after its node went quiet).
    pub watchers: i64,
    /// Increases with every change; a client keeps the state with the highest.
    pub seq: u64,
}
