//! Messages of the storefront actor.

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::db::models::analytics::{Live, Sale, Top};
use crate::domain::analytics::{Counts, Event};
use crate::domain::ids::StorefrontId;
use crate::error::AppResult;

/// An event a page sent (`POST /api/events`), to be counted unless its visitor floods.
#[derive(Message)]
#[rtype(result = "Tracked")]
pub struct Track {
    pub event: Event,
}

/// The answer to [`Track`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracked {
    /// Counted; written with the next flush.
    Accepted,
    /// The visitor sent more than its share this minute: not counted.
    Limited,
    /// Too many events wait for the store: not counted (the store is slow or down).
    Busy,
}

/// An event the server records itself after its write committed (a hold, a checkout
/// start, a purchase). Never refused.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Record {
    pub event: Event,
}

/// The live figures (the `dashboard:{id}` snapshot).
#[derive(Message)]
#[rtype(result = "Dashboard")]
pub struct GetDashboard;

/// Write everything pending now and answer when it has committed (tests, shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct FlushNow {
    pub done: oneshot::Sender<AppResult<()>>,
}

/// The storefront's analytics were deleted: forget the live figures and reload.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Forget {
    pub done: oneshot::Sender<()>,
}

/// A flush or reload finished (sent by the actor's own futures).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Loaded {
    pub result: AppResult<Live>,
    pub flushed: bool,
    /// The batch's events when its write failed (empty otherwise).
    pub unwritten: Vec<Event>,
}

/// Views in one minute of the live chart.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Minute {
    pub minute: DateTime<Utc>,
    pub views: i64,
}

/// The funnel of today: page views → holds → checkouts → purchases.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Funnel {
    pub views: i64,
    pub holds: i64,
    pub checkouts: i64,
    pub purchases: i64,
}

/// Today's figures (UTC day).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Today {
    pub visitors: i64,
    #[serde(flatten)]
    pub counts: Counts,
}

/// The body of every `dashboard:{storefront_id}` socket message.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub storefront_id: StorefrontId,
    pub seq: u64,
    pub server_time: DateTime<Utc>,
    /// Unique visitors in the last 5 minutes.
    pub visitors_now: i64,
    /// Page views per minute over the last 30 minutes, oldest first (the current minute last).
    pub views_per_minute: Vec<Minute>,
    pub today: Today,
    pub funnel: Funnel,
    /// Today's last sales, newest first.
    pub sales: Vec<Sale>,
    pub top_pages: Vec<Top>,
    pub top_referrers: Vec<Top>,
    pub top_campaigns: Vec<Top>,
}
