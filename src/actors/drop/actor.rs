//! The drop actor: a write-combiner for holds on one drop.
//!
//! Requests queue in `pending` while a batch commits. When the commit returns, every
//! request of that batch is answered and the next batch (everything that arrived in the
//! meantime) starts. So on a hot drop the number of transactions per second stays about
//! constant while the number of holds per transaction grows with the load.
//!
//! The handlers are synchronous: I/O runs in futures spawned on the actor's context that
//! report back through `map`, so no handler holds state across an `.await`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::messages::*;
use crate::bus::{Bus, Event};
use crate::clock::Clock;
use crate::db::models::drop::{self as model, DropRow, HoldOutcome, HoldRequest, VariantRow};
use crate::db::models::queue;
use crate::db::Store;
use crate::domain::drop::DropStatus;
use crate::error::{AppError, AppResult};

/// Most requests in one transaction. Large enough that a hot drop commits a few hundred
/// batches a second, small enough that one transaction stays a few milliseconds.
pub const MAX_BATCH: usize = 1024;
/// Pushes per drop are coalesced to at most one per this interval (~20 a second), always
/// ending on the latest state: fan-out cost does not grow with the request rate.
pub const PUSH_INTERVAL: Duration = Duration::from_millis(50);
/// A change of the watcher count alone is pushed at most this often: on a drop with
/// thousands of watchers, a push per join would be thousands of frames per join.
pub const WATCHERS_PUSH_INTERVAL: Duration = Duration::from_secs(2);
/// How often the actor looks at the clock (opening, closing) and at its idleness.
pub const TICK: Duration = Duration::from_millis(250);
/// An actor nobody asked anything for this long stops; the registry starts a new one on
/// the next request.
pub const IDLE_STOP: Duration = Duration::from_secs(300);

type Reply = oneshot::Sender<AppResult<HoldOutcome>>;

pub struct DropActor {
    store: Store,
    bus: Arc<dyn Bus>,
    clock: Clock,
    drop: DropRow,
    variants: Vec<VariantRow>,
    pending: Vec<(HoldRequest, Reply)>,
    committing: bool,
    refreshing: bool,
    /// Answered when the running reload is applied.
    refresh_waiters: Vec<oneshot::Sender<()>>,
    /// Asked for while a reload was running: they need one that starts after it.
    next_refresh: Option<Vec<oneshot::Sender<()>>>,
    /// Requests refused by a stored status people set (draft, paused, cancelled) wait for
    /// one reload before the refusal, so an actor that missed a publish elsewhere (another
    /// node) cannot refuse on stale data.
    recheck: Vec<(HoldRequest, Reply)>,
    /// The waiting room has been served (or the drop has none). Until then, requests that
    /// arrive after the opening wait in `held_back`: the queue goes first.
    admitted: bool,
    admitting: bool,
    held_back: Vec<(HoldRequest, Reply)>,
    seq: u64,
    watchers: i64,
    /// The watcher count changed since the last push.
    watchers_dirty: bool,
    push_scheduled: bool,
    last_push: Option<Instant>,
    last_used: Instant,
    last_status: DropStatus,
}

impl DropActor {
    pub fn new(
        store: Store,
        bus: Arc<dyn Bus>,
        clock: Clock,
        drop: DropRow,
        variants: Vec<VariantRow>,
    ) -> Self {
        let last_status = drop.stored_status();
        let admitted = drop.queue_seed.is_some() || drop.waiting_room_seconds == 0;
        DropActor {
            store,
            bus,
            clock,
            drop,
            variants,
            pending: Vec::new(),
            committing: false,
            refreshing: false,
            refresh_waiters: Vec::new(),
            next_refresh: None,
            recheck: Vec::new(),
            admitted,
            admitting: false,
            held_back: Vec::new(),
            seq: 1,
            watchers: 0,
            watchers_dirty: false,
            push_scheduled: false,
            last_push: None,
            last_used: Instant::now(),
            last_status,
        }
    }

    fn remaining(&self) -> i64 {
        self.variants.iter().map(|v| v.remaining).sum()
    }

    fn status(&self) -> DropStatus {
        self.drop.schedule().status_at(
            self.drop.stored_status(),
            self.clock.now(),
            self.remaining(),
        )
    }

    fn state(&self) -> DropState {
        let sched = self.drop.schedule();
        DropState {
            id: self.drop.id,
            storefront_id: self.drop.storefront_id,
            title: self.drop.title.clone(),
            status: self.status(),
            opens_at: self.drop.opens_at.and_utc(),
            closes_at: self.drop.closes_at.map(|c| c.and_utc()),
            server_time: self.clock.now().and_utc(),
            waiting_room_opens_at: (self.drop.waiting_room_seconds > 0)
                .then(|| sched.waiting_room_opens().and_utc()),
            price_cents: self.drop.price_cents,
            currency: self.drop.currency.clone(),
            per_buyer_limit: self.drop.per_buyer_limit,
            hold_seconds: self.drop.hold_seconds,
            raffle_id: self.drop.raffle_id,
            variants: self
                .variants
                .iter()
                .map(|v| VariantState {
                    id: v.id,
                    name: v.name.clone(),
                    stock: v.stock,
                    remaining: v.remaining,
                    held: v.held,
                    sold: v.sold,
                })
                .collect(),
            watchers: self.watchers,
            seq: self.seq,
        }
    }

    /// Start the next batch if none is committing.
    fn commit_next(&mut self, ctx: &mut Context<Self>) {
        if self.committing || self.pending.is_empty() {
            return;
        }
        self.committing = true;
        let n = self.pending.len().min(MAX_BATCH);
        let (requests, replies): (Vec<HoldRequest>, Vec<Reply>) = self.pending.drain(..n).unzip();
        let store = self.store.clone();
        let d = self.drop.clone();
        let now = self.clock.now();
        let work = async move {
            let results = model::place_holds(
                &store,
                d.id,
                d.per_buyer_limit,
                d.hold_seconds,
                &requests,
                now,
            )
            .await;
            // Fresh counts for the cache and the push; a failure here only delays them.
            let variants = model::variants(&store, d.id).await.ok();
            (results, variants)
        };
        ctx.spawn(
            work.into_actor(self)
                .map(move |(results, variants), act, ctx| {
                    act.committing = false;
                    match results {
                        Ok(outcomes) => {
                            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                                let _ = reply.send(Ok(outcome));
                            }
                        }
                        Err(e) => {
                            // Nothing of this batch was committed, so nothing was acknowledged.
                            let code = e.code();
                            for reply in replies {
                                let _ = reply.send(Err(match code {
                                    "internal_error" => AppError::Internal,
                                    _ => AppError::Unavailable,
                                }));
                            }
                        }
                    }
                    if let Some(v) = variants {
                        act.variants = v;
                        act.changed(ctx);
                    }
                    act.commit_next(ctx);
                }),
        );
    }

    /// The state changed: push it, coalesced to one push per [`PUSH_INTERVAL`].
    fn changed(&mut self, ctx: &mut Context<Self>) {
        self.seq += 1;
        self.watchers_dirty = false;
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
                topic: format!("drop:{}", act.drop.id),
                payload: serde_json::to_value(act.state()).unwrap_or_default(),
            };
            let bus = act.bus.clone();
            ctx.spawn(
                async move {
                    if let Err(e) = bus.publish(event).await {
                        tracing::warn!(error = %e, "drop state not published");
                    }
                }
                .into_actor(act),
            );
        });
    }

    fn refresh(&mut self, ctx: &mut Context<Self>, done: Option<oneshot::Sender<()>>) {
        if self.refreshing {
            // The running reload may have read the store before the change: run one more.
            self.next_refresh.get_or_insert_with(Vec::new).extend(done);
            return;
        }
        self.refreshing = true;
        self.refresh_waiters.extend(done);
        let store = self.store.clone();
        let id = self.drop.id;
        let work = async move { model::find(&store, id).await };
        ctx.spawn(work.into_actor(self).map(|found, act, ctx| {
            act.refreshing = false;
            match found {
                Ok(Some((d, v))) => {
                    act.admitted |= d.queue_seed.is_some() || d.waiting_room_seconds == 0;
                    act.drop = d;
                    act.variants = v;
                    act.changed(ctx);
                }
                Ok(None) => ctx.stop(),
                Err(e) => tracing::warn!(error = %e, "drop refresh failed"),
            }
            for w in act.refresh_waiters.drain(..) {
                let _ = w.send(());
            }
            for (request, reply) in std::mem::take(&mut act.recheck) {
                act.admit(request, reply, ctx, false);
            }
            if let Some(next) = act.next_refresh.take() {
                act.refresh(ctx, None);
                act.refresh_waiters.extend(next);
            }
        }));
    }

    /// Queue a request for the next batch, or refuse it by the drop's status.
    fn admit(
        &mut self,
        request: HoldRequest,
        reply: Reply,
        ctx: &mut Context<Self>,
        may_recheck: bool,
    ) {
        let refusal = match self.status() {
            DropStatus::Live | DropStatus::SoldOut => None,
            DropStatus::Draft | DropStatus::Paused | DropStatus::Cancelled if may_recheck => {
                self.recheck.push((request, reply));
                self.refresh(ctx, None);
                return;
            }
            DropStatus::Draft => Some(AppError::NotFound),
            DropStatus::Scheduled | DropStatus::Paused => {
                Some(AppError::conflict("not_open", "the drop is not open yet"))
            }
            DropStatus::Ended | DropStatus::Cancelled => {
                Some(AppError::conflict("drop_closed", "the drop has closed"))
            }
        };
        let refusal = refusal.or_else(|| {
            self.drop.raffle_id.map(|r| {
                AppError::conflict(
                    "raffle_required",
                    format!("units of this drop go to the winners of raffle {r}"),
                )
            })
        });
        if let Some(e) = refusal {
            let _ = reply.send(Err(e));
            return;
        }
        if !self.admitted {
            self.held_back.push((request, reply));
            self.admit_queue(ctx);
            return;
        }
        self.pending.push((request, reply));
        self.commit_next(ctx);
    }

    /// At the opening second: serve the waiting room in its shuffled order (one
    /// transaction, once per drop across all nodes), tell each ticket's buyer, then let the
    /// requests that arrived after the opening through.
    fn admit_queue(&mut self, ctx: &mut Context<Self>) {
        if self.admitting || self.admitted {
            return;
        }
        self.admitting = true;
        let (store, bus) = (self.store.clone(), self.bus.clone());
        let drop = self.drop.clone();
        let now = self.clock.now();
        let work = async move {
            let seed: [u8; 32] = rand::random();
            if let Some(tickets) = queue::admit(&store, &drop, seed, now).await? {
                for t in tickets {
                    let event = Event {
                        topic: format!("user:{}", t.buyer_id),
                        payload: serde_json::json!({"kind": "queue_result", "ticket": t}),
                    };
                    if let Err(e) = bus.publish(event).await {
                        tracing::warn!(error = %e, "queue result not pushed; the buyer can poll");
                    }
                }
            }
            model::find(&store, drop.id).await
        };
        ctx.spawn(work.into_actor(self).map(|found, act, ctx| {
            act.admitting = false;
            match found {
                Ok(Some((d, v))) => {
                    act.admitted = true;
                    act.drop = d;
                    act.variants = v;
                    act.changed(ctx);
                    let waiting = std::mem::take(&mut act.held_back);
                    act.pending.extend(waiting);
                    act.commit_next(ctx);
                }
                Ok(None) => ctx.stop(),
                // Retried on the next tick; the held-back requests keep waiting.
                Err(e) => tracing::warn!(error = %e, "waiting room admission failed"),
            }
        }));
    }

    /// Clock work: push when the clock changes the status (opening, closing), record the
    /// transition in the store (idempotent), stop when idle.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.watchers_dirty
            && self
                .last_push
                .is_none_or(|at| at.elapsed() >= WATCHERS_PUSH_INTERVAL)
        {
            self.changed(ctx);
        }
        let status = self.status();
        if matches!(status, DropStatus::Live | DropStatus::SoldOut) && !self.admitted {
            self.admit_queue(ctx);
        }
        if status != self.last_status {
            let from = self.last_status;
            self.last_status = status;
            self.changed(ctx);
            let store = self.store.clone();
            let id = self.drop.id;
            let at = self.clock.now();
            ctx.spawn(
                async move {
                    let detail = serde_json::json!({"from": from.as_str(), "by": "clock", "at": at.and_utc()});
                    let allowed = [DropStatus::Scheduled, DropStatus::Live, DropStatus::SoldOut];
                    if let Err(e) = model::transition(&store, id, &allowed, status, detail).await {
                        tracing::warn!(error = %e, "drop transition not recorded");
                    }
                }
                .into_actor(self),
            );
        }
        if self.pending.is_empty()
            && !self.committing
            && !self.refreshing
            && self.held_back.is_empty()
            && self.watchers <= 0
            && self.last_used.elapsed() >= IDLE_STOP
        {
            ctx.stop();
        }
    }
}

impl Actor for DropActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Requests beyond this wait in the HTTP layer's send, which applies back-pressure.
        ctx.set_mailbox_capacity(16 * MAX_BATCH);
        self.last_status = self.status();
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }
}

impl Handler<PlaceHold> for DropActor {
    type Result = ();

    fn handle(&mut self, msg: PlaceHold, ctx: &mut Self::Context) {
        self.last_used = Instant::now();
        self.admit(msg.request, msg.reply, ctx, true);
    }
}

impl Handler<GetState> for DropActor {
    type Result = MessageResult<GetState>;

    fn handle(&mut self, _: GetState, _: &mut Self::Context) -> Self::Result {
        self.last_used = Instant::now();
        MessageResult(self.state())
    }
}

impl Handler<Refresh> for DropActor {
    type Result = ();

    fn handle(&mut self, msg: Refresh, ctx: &mut Self::Context) {
        self.last_used = Instant::now();
        self.refresh(ctx, msg.done);
    }
}

impl Handler<Watchers> for DropActor {
    type Result = ();

    fn handle(&mut self, msg: Watchers, _: &mut Self::Context) {
        self.last_used = Instant::now();
        self.watchers = (self.watchers + msg.delta).max(0);
        // Shown by GetState at once; pushed with the next change or by the tick.
        self.watchers_dirty = true;
    }
}
