//! The raffle actor: a write-combiner for entries on one raffle, like the drop actor for
//! holds. Entries that arrive while a batch commits wait for the next batch; each is
//! answered after its batch has committed. It also keeps the live totals and pushes them
//! on `raffle:{id}`, coalesced to at most one push per [`PUSH_INTERVAL`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::bus::{Bus, Event};
use crate::clock::Clock;
use crate::db::models::raffle::{self as model, DrawResult, EntryOutcome, RaffleRow};
use crate::db::Store;
use crate::domain::ids::{DropId, RaffleId, StorefrontId, UserId};
use crate::domain::raffle::RaffleStatus;
use crate::error::{AppError, AppResult};
use crate::raffle::proof::Prize;

pub const MAX_BATCH: usize = 2048;
pub const PUSH_INTERVAL: Duration = Duration::from_millis(50);
pub const TICK: Duration = Duration::from_millis(250);
/// While someone watches, the totals are re-read this often: entries and purchases
/// committed on other nodes show up within it.
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);
pub const IDLE_STOP: Duration = Duration::from_secs(300);

type Reply = oneshot::Sender<AppResult<EntryOutcome>>;

#[derive(Message)]
#[rtype(result = "()")]
pub struct Enter {
    pub user: UserId,
    pub reply: Reply,
}

#[derive(Message)]
#[rtype(result = "RaffleState")]
pub struct GetRaffle;

#[derive(Message)]
#[rtype(result = "()")]
pub struct ReloadRaffle {
    pub done: Option<oneshot::Sender<()>>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct RaffleWatchers {
    pub delta: i64,
}

/// A raffle as everyone sees it: the body of `GET /api/raffles/{id}` and of every
/// `raffle:{id}` socket message.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RaffleState {
    pub id: RaffleId,
    /// `null` for a platform raffle.
    pub storefront_id: Option<StorefrontId>,
    pub title: String,
    pub description: String,
    pub status: RaffleStatus,
    /// SHA-256 of the secret seed, published from creation (docs/raffle-proof.md).
    pub commitment: String,
    pub entrants: i64,
    pub tickets: i64,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub server_time: DateTime<Utc>,
    /// `free` or `tickets`.
    pub entry: String,
    pub tickets_per_dollar: i64,
    #[schema(value_type = Vec<Object>)]
    pub prizes: Vec<Prize>,
    pub alternates_wanted: i64,
    /// The monthly platform raffle's month (`YYYY-MM`).
    pub month: Option<String>,
    /// The drop whose units go to this raffle's winners.
    pub drop_id: Option<DropId>,
    pub claim_seconds: i64,
    /// SHA-256 of the frozen entry list, once closed.
    pub entries_digest: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub winners: Option<Vec<crate::raffle::proof::Winner>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub alternates: Option<Vec<crate::raffle::proof::Alternate>>,
    /// Sockets watching on this node.
    pub watchers: i64,
    pub seq: u64,
}

impl RaffleState {
    pub fn of(row: &RaffleRow, now: chrono::NaiveDateTime, watchers: i64, seq: u64) -> Self {
        let drawn: Option<DrawResult> = row.drawn();
        RaffleState {
            id: row.id,
            storefront_id: row.storefront_id,
            title: row.title.clone(),
            description: row.description.clone(),
            status: RaffleStatus::at(&row.status, row.opens_at, row.closes_at, now),
            commitment: row.commitment.clone(),
            entrants: row.entrants,
            tickets: row.tickets,
            opens_at: row.opens_at.and_utc(),
            closes_at: row.closes_at.and_utc(),
            server_time: now.and_utc(),
            entry: row.entry.clone(),
            tickets_per_dollar: row.tickets_per_dollar,
            // Shown as none (and logged) rather than failing every read of the raffle; a
            // draw refuses to run on it.
            prizes: row.prizes().unwrap_or_else(|e| {
                tracing::error!(error = %e, "raffle shown without its prizes");
                Vec::new()
            }),
            alternates_wanted: row.alternates,
            month: row.month.clone(),
            drop_id: row.drop_id,
            claim_seconds: row.claim_seconds,
            entries_digest: row.entries_digest.clone(),
            winners: drawn.as_ref().map(|d| d.winners.clone()),
            alternates: drawn.map(|d| d.alternates),
            watchers,
            seq,
        }
    }
}

pub struct RaffleActor {
    store: Store,
    bus: Arc<dyn Bus>,
    clock: Clock,
    raffle: RaffleRow,
    /// Who runs the raffle: refused entry (`own_raffle`).
    runner: Option<UserId>,
    /// Accounts with their free entry in (loaded at start, then every batch's answer):
    /// a second entry is refused from here. Another node's entries are not in it; for
    /// those the store's one-free-entry index decides.
    entered: HashSet<UserId>,
    pending: Vec<(UserId, Reply)>,
    committing: bool,
    reloading: bool,
    reload_waiters: Vec<oneshot::Sender<()>>,
    next_reload: Option<Vec<oneshot::Sender<()>>>,
    seq: u64,
    watchers: i64,
    push_scheduled: bool,
    last_push: Option<Instant>,
    last_reload: Instant,
    last_used: Instant,
    last_status: RaffleStatus,
}

impl RaffleActor {
    pub fn new(
        store: Store,
        bus: Arc<dyn Bus>,
        clock: Clock,
        raffle: RaffleRow,
        runner: Option<UserId>,
        entered: HashSet<UserId>,
    ) -> Self {
        let last_status = RaffleStatus::at(
            &raffle.status,
            raffle.opens_at,
            raffle.closes_at,
            clock.now(),
        );
        let seq = crate::domain::live::next_seq(0, clock.now());
        RaffleActor {
            store,
            bus,
            clock,
            raffle,
            runner,
            entered,
            pending: Vec::new(),
            committing: false,
            reloading: false,
            reload_waiters: Vec::new(),
            next_reload: None,
            seq,
            watchers: 0,
            push_scheduled: false,
            last_push: None,
            last_reload: Instant::now(),
            last_used: Instant::now(),
            last_status,
        }
    }

    fn status(&self) -> RaffleStatus {
        RaffleStatus::at(
            &self.raffle.status,
            self.raffle.opens_at,
            self.raffle.closes_at,
            self.clock.now(),
        )
    }

    fn state(&self) -> RaffleState {
        RaffleState::of(&self.raffle, self.clock.now(), self.watchers, self.seq)
    }

    fn commit_next(&mut self, ctx: &mut Context<Self>) {
        if self.committing || self.pending.is_empty() {
            return;
        }
        self.committing = true;
        let n = self.pending.len().min(MAX_BATCH);
        let (users, replies): (Vec<UserId>, Vec<Reply>) = self.pending.drain(..n).unzip();
        let batch = users.clone();
        let store = self.store.clone();
        let id = self.raffle.id;
        let now = self.clock.now();
        // The batch's answer carries the raffle's totals after it: nothing is read again.
        // A refused batch (closed meanwhile, on any node) re-reads the raffle.
        let work = async move {
            let r = model::enter_batch(&store, id, &users, now).await;
            let row = match &r {
                Ok(_) => None,
                Err(_) => model::find(&store, id).await.ok().flatten(),
            };
            (r, row)
        };
        ctx.spawn(work.into_actor(self).map(move |(r, row), act, ctx| {
            act.committing = false;
            match r {
                Ok(entered) => {
                    // Entered now or before (here or on another node): in, either way.
                    act.entered.extend(batch);
                    for (reply, o) in replies.into_iter().zip(entered.outcomes) {
                        let _ = reply.send(Ok(o));
                    }
                    if (entered.entrants, entered.tickets)
                        != (act.raffle.entrants, act.raffle.tickets)
                    {
                        act.raffle.entrants = entered.entrants;
                        act.raffle.tickets = entered.tickets;
                        act.changed(ctx);
                    }
                }
                Err(e) => {
                    let refusal = matches!(e, AppError::Conflict { .. } | AppError::NotFound);
                    let code = e.code();
                    let message = e.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(if refusal {
                            match code {
                                "not_found" => AppError::NotFound,
                                "not_open" => AppError::conflict("not_open", message.clone()),
                                _ => AppError::conflict("raffle_closed", message.clone()),
                            }
                        } else {
                            AppError::Unavailable
                        }));
                    }
                }
            }
            if let Some(row) = row {
                act.apply(row, ctx);
            }
            act.commit_next(ctx);
        }));
    }

    fn apply(&mut self, row: RaffleRow, ctx: &mut Context<Self>) {
        let changed = row.entrants != self.raffle.entrants
            || row.tickets != self.raffle.tickets
            || row.status != self.raffle.status
            || row.result != self.raffle.result
            || row.entries_digest != self.raffle.entries_digest
            || row.title != self.raffle.title;
        self.raffle = row;
        if changed {
            self.changed(ctx);
        }
    }

    fn changed(&mut self, ctx: &mut Context<Self>) {
        self.seq = crate::domain::live::next_seq(self.seq, self.clock.now());
        if self.push_scheduled {
            return;
        }
        let wait = match self.last_push {
            Some(at) => PUSH_INTERVAL.saturating_sub(at.elapsed()),
            None => Duration::ZERO,
        };
        self.push_scheduled = true;
        ctx.run_later(wait, |act, ctx| {
            act.push_scheduled = false;
            act.last_push = Some(Instant::now());
            let event = Event {
                topic: format!("raffle:{}", act.raffle.id),
                payload: serde_json::to_value(act.state()).unwrap_or_default(),
            };
            let bus = act.bus.clone();
            ctx.spawn(
                async move {
                    if let Err(e) = bus.publish(event).await {
                        tracing::warn!(error = %e, "raffle state not published");
                    }
                }
                .into_actor(act),
            );
        });
    }

    fn reload(&mut self, ctx: &mut Context<Self>, done: Option<oneshot::Sender<()>>) {
        if self.reloading {
            self.next_reload.get_or_insert_with(Vec::new).extend(done);
            return;
        }
        self.reloading = true;
        self.last_reload = Instant::now();
        self.reload_waiters.extend(done);
        let store = self.store.clone();
        let id = self.raffle.id;
        ctx.spawn(
            async move { model::find(&store, id).await }
                .into_actor(self)
                .map(|found, act, ctx| {
                    act.reloading = false;
                    match found {
                        Ok(Some(row)) => act.apply(row, ctx),
                        Ok(None) => ctx.stop(),
                        Err(e) => {
                            // The change that asked for it has committed; try again soon so
                            // this memory does not stay behind it.
                            tracing::warn!(error = %e, "raffle reload failed: retrying in a second");
                            ctx.run_later(Duration::from_secs(1), |act, ctx| act.reload(ctx, None));
                        }
                    }
                    for w in act.reload_waiters.drain(..) {
                        let _ = w.send(());
                    }
                    if let Some(next) = act.next_reload.take() {
                        act.reload(ctx, None);
                        act.reload_waiters.extend(next);
                    }
                }),
        );
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let status = self.status();
        if status != self.last_status {
            self.last_status = status;
            self.changed(ctx);
            if status == RaffleStatus::Closed && self.raffle.status == "published" {
                // Freeze the entry list now rather than at the next timer sweep.
                let (store, id, now) = (self.store.clone(), self.raffle.id, self.clock.now());
                ctx.spawn(
                    async move {
                        if let Err(e) = model::close(&store, id, now).await {
                            tracing::warn!(error = %e, "raffle close failed; the timer retries");
                        }
                    }
                    .into_actor(self)
                    .map(|_, act, ctx| act.reload(ctx, None)),
                );
            }
        }
        if self.watchers > 0 && self.last_reload.elapsed() >= RELOAD_EVERY {
            self.reload(ctx, None);
        }
        if self.pending.is_empty()
            && !self.committing
            && !self.reloading
            && self.watchers <= 0
            && self.last_used.elapsed() >= IDLE_STOP
        {
            ctx.stop();
        }
    }
}

impl Actor for RaffleActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(16 * MAX_BATCH);
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }
}

impl Handler<Enter> for RaffleActor {
    type Result = ();

    fn handle(&mut self, msg: Enter, ctx: &mut Self::Context) {
        self.last_used = Instant::now();
        // The batch transaction checks the window again; this only spares it hopeless work.
        let refusal = match self.status() {
            // A draft here may have been published on another node: the store decides.
            RaffleStatus::Open | RaffleStatus::Draft => None,
            RaffleStatus::Scheduled => {
                Some(AppError::conflict("not_open", "the raffle is not open yet"))
            }
            _ => Some(AppError::conflict("raffle_closed", "the raffle has closed")),
        };
        let refusal = refusal.or_else(|| {
            (self.runner == Some(msg.user)).then(|| {
                AppError::conflict(
                    "own_raffle",
                    "the people who run a raffle cannot take part in it",
                )
            })
        });
        if let Some(e) = refusal {
            let _ = msg.reply.send(Err(e));
            return;
        }
        if self.entered.contains(&msg.user) {
            let _ = msg.reply.send(Ok(EntryOutcome::AlreadyEntered));
            return;
        }
        self.pending.push((msg.user, msg.reply));
        self.commit_next(ctx);
    }
}

impl Handler<GetRaffle> for RaffleActor {
    type Result = MessageResult<GetRaffle>;

    fn handle(&mut self, _: GetRaffle, _: &mut Self::Context) -> Self::Result {
        self.last_used = Instant::now();
        MessageResult(self.state())
    }
}

impl Handler<ReloadRaffle> for RaffleActor {
    type Result = ();

    fn handle(&mut self, msg: ReloadRaffle, ctx: &mut Self::Context) {
        self.last_used = Instant::now();
        self.reload(ctx, msg.done);
    }
}

impl Handler<RaffleWatchers> for RaffleActor {
    type Result = ();

    fn handle(&mut self, msg: RaffleWatchers, _: &mut Self::Context) {
        self.last_used = Instant::now();
        self.watchers = (self.watchers + msg.delta).max(0);
    }
}
