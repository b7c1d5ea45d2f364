//! The drop actor: the only writer of one drop's holds, stock and buyers' totals, and the
//! in-memory authority that decides them.
//!
//! It keeps what it needs to answer — remaining stock per variant, each buyer's running
//! total, the (buyer, Idempotency-Key) → hold map — and refuses (`sold_out`,
//! `limit_reached`) or repeats an earlier answer without touching the store. Granted holds
//! queue in `pending` while the previous write commits; when it returns, the next batch is
//! decided in memory and written with a fixed number of statements (`db::models::stock`).
//! Every request of a batch is answered only after its commit. So on a hot drop the number
//! of commits per second stays about constant while the holds per commit grow with the load.
//!
//! The store is the backstop: a batch decided on stale memory (another node wrote, a
//! restart) breaks one of its guards, is rolled back whole, redone on the slow path (locked
//! rows, decided by the store) and the memory reloaded. Everything else that changes holds
//! or stock (releases, expiries, raffle offers, stock edits, cancellation) and every reload
//! runs in the same write order, one at a time (`Op`), so memory and store never race.
//!
//! With several nodes on one Postgres, one node at a time owns a drop's fast path: its
//! actor holds the drop's lease (`stock::try_lease`, a session advisory lock on a
//! connection of its own). An actor without it decides every request in the store (the
//! slow path: locked rows), tries again every [`LEASE_RETRY`], and reloads its memory when
//! it takes the lease over, e.g. after the owner died (its session, and the lock, end with
//! it). The owner checks its lease every [`LEASE_CHECK`] and gives it up when the drop is
//! quiet.
//!
//! The handlers are synchronous: I/O runs in futures spawned on the actor's context that
//! report back through `map`, so no handler holds state across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::messages::*;
use crate::bus::{Bus, Event};
use crate::clock::Clock;
use crate::db::models::drop::{
    self as model, DropRow, HoldOutcome, HoldRefusal, HoldRequest, HoldRow, VariantRow,
};
use crate::db::models::order::{Applied, OrderRow};
use crate::db::models::queue;
use crate::db::models::stock::{self, Authority, BatchError, Counts, LeaseConn};
use crate::db::{DbConn, Store};
use crate::domain::drop::DropStatus;
use crate::domain::drop::HoldEnd;
use crate::domain::ids::{HoldId, OrderId, UserId, VariantId};
use crate::error::{AppError, AppResult};

/// Most requests in one transaction. Large enough that a hot drop commits a few hundred
/// batches a second, small enough that one transaction stays a few milliseconds.
pub const MAX_BATCH: usize = 1024;
/// Batches in flight at once on Postgres: while one commits, the next writes its rows on a
/// second connection (they queue only for the variant row, locked just before COMMIT).
/// SQLite has one writer, so one.
pub const PIPELINE: usize = 2;
/// A second batch goes out while one is in flight only once this many requests wait:
/// under light load a batch waits for the one before (a few ms) rather than spend a
/// commit on one or two holds.
pub const PIPELINE_MIN: usize = 32;
/// A hold's status while it reserves units.
const HOLD_ACTIVE: &str = "active";
/// Pushes per drop are coalesced to at most one per this interval (~20 a second), always
/// ending on the latest state: fan-out cost does not grow with the request rate.
pub const PUSH_INTERVAL: Duration = Duration::from_millis(50);
/// A change of the watcher count alone is pushed at most this often: on a drop with
/// thousands of watchers, a push per join would be thousands of frames per join.
pub const WATCHERS_PUSH_INTERVAL: Duration = Duration::from_secs(2);
/// A node announces its watcher count again this often while it has watchers, so a
/// node that starts late, or missed an announcement, learns it.
pub const WATCHERS_REANNOUNCE: Duration = Duration::from_secs(10);
/// Another node's count unheard of for this long is forgotten (the node is gone).
pub const WATCHERS_STALE: Duration = Duration::from_secs(30);
/// How often the actor looks at the clock (opening, closing) and at its idleness.
pub const TICK: Duration = Duration::from_millis(250);
/// An actor nobody asked anything for this long stops; the registry starts a new one on
/// the next request.
pub const IDLE_STOP: Duration = Duration::from_secs(300);
/// A drop that wrote nothing for this long returns its writer connection to the pool.
pub const KEEP_CONN: Duration = Duration::from_secs(2);
/// How soon a reload that failed (the store was unreachable) is tried again.
pub const RELOAD_RETRY: Duration = Duration::from_secs(1);
/// How often an actor without its drop's lease tries to take it.
pub const LEASE_RETRY: Duration = Duration::from_secs(1);
/// How long a quiet drop keeps its lease. Taking it again reloads the actor's memory (the
/// other node may have written meanwhile), which for a drop with many holds is the costly
/// part: a drop that pauses for seconds keeps it.
pub const LEASE_KEEP: Duration = Duration::from_secs(30);
/// How often the owner checks that the session holding its lease is alive.
pub const LEASE_CHECK: Duration = Duration::from_secs(1);

type Reply = oneshot::Sender<AppResult<HoldOutcome>>;

/// Process-wide counts of hold batches, for `/metrics` and the benches: how many were
/// written, how many holds they carried, and the time spent writing them.
pub mod stats {
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

    static BATCHES: AtomicU64 = AtomicU64::new(0);
    static HOLDS: AtomicU64 = AtomicU64::new(0);
    static WRITE_MICROS: AtomicU64 = AtomicU64::new(0);
    static SLOW: AtomicU64 = AtomicU64::new(0);
    static LEASES: AtomicI64 = AtomicI64::new(0);

    pub(super) fn batch(holds: usize, micros: u64) {
        BATCHES.fetch_add(1, Ordering::Relaxed);
        HOLDS.fetch_add(holds as u64, Ordering::Relaxed);
        WRITE_MICROS.fetch_add(micros, Ordering::Relaxed);
    }

    pub(super) fn slow() {
        SLOW.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn lease(delta: i64) {
        LEASES.fetch_add(delta, Ordering::Relaxed);
    }

    /// How many drops' leases this node holds.
    pub fn leases() -> i64 {
        LEASES.load(Ordering::Relaxed)
    }

    /// (batches written, holds in them, microseconds writing, batches decided by the store).
    pub fn snapshot() -> (u64, u64, u64, u64) {
        (
            BATCHES.load(Ordering::Relaxed),
            HOLDS.load(Ordering::Relaxed),
            WRITE_MICROS.load(Ordering::Relaxed),
            SLOW.load(Ordering::Relaxed),
        )
    }
}

/// Whether this node owns the drop's fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lease {
    /// SQLite: one node, nothing to share.
    Local,
    /// Not held (not yet, given up or lost); the next attempt not before `retry_at`.
    Free { retry_at: Instant },
    /// An attempt is under way.
    Trying,
    /// Another node holds it; the next attempt not before `retry_at`.
    Elsewhere { retry_at: Instant },
    /// This node holds it; its session was last seen alive at `checked`.
    Owned { checked: Instant, checking: bool },
}

/// What [`DropActor::pump`] may do with pending holds.
enum Path {
    Fast,
    Slow,
    Wait,
}

/// Work that must run in the actor's write order, one at a time, before the next batch of
/// holds: anything else that changes holds, stock or buyers' totals, and reloads.
enum Op {
    End {
        holds: Vec<HoldId>,
        how: HoldEnd,
        reply: oneshot::Sender<AppResult<Vec<HoldRow>>>,
    },
    Offer {
        request: HoldRequest,
        hold_seconds: i64,
        reply: Reply,
    },
    SetStock {
        variant: VariantId,
        stock: i64,
        reply: oneshot::Sender<AppResult<bool>>,
    },
    Restock {
        order: OrderId,
        reply: oneshot::Sender<AppResult<bool>>,
    },
    Checkout {
        hold: HoldId,
        buyer: UserId,
        reply: oneshot::Sender<AppResult<OrderRow>>,
    },
    Settle {
        event_id: String,
        order: OrderId,
        succeeded: bool,
        payment_ref: String,
        reply: oneshot::Sender<AppResult<Applied>>,
    },
}

/// How one request of a batch is answered once the batch has committed.
enum Answer {
    Now(AppResult<HoldOutcome>),
    /// The batch's grant at this index.
    Granted(usize),
    /// A retry, within the same batch, of the grant at this index.
    Repeat(usize),
}

/// What a batch's write returned: the connection (unless it failed) and the outcome.
type Written = (Option<DbConn>, Result<Vec<Counts>, BatchError>);

/// A batch sent to the store, with what it answers once it has committed.
struct InFlight {
    seq: u64,
    answers: Vec<(Reply, Answer)>,
    grants: Vec<HoldRow>,
    /// Filled when the write returns: the connection (unless it failed) and the outcome.
    done: Option<Written>,
}

pub struct DropActor {
    store: Store,
    bus: Arc<dyn Bus>,
    clock: Clock,
    drop: DropRow,
    variants: Vec<VariantRow>,
    /// Buyers' totals and keyed holds: with `variants`, what holds are decided on.
    auth: Authority,
    pending: Vec<(HoldRequest, Reply)>,
    ops: VecDeque<Op>,
    /// Something is being written or reloaded: the next write waits for it.
    busy: bool,
    /// This actor's writer connections, kept between batches on Postgres.
    conns: Vec<DbConn>,
    /// Batches written and not yet answered, oldest first. Answers go out in this order.
    inflight: VecDeque<InFlight>,
    /// How many batches may be in flight at once (two on Postgres, one on SQLite).
    depth: usize,
    next_batch: u64,
    /// A batch failed: the batches in flight are awaited and then settled in order.
    recovering: bool,
    /// A reload was asked for (`Some(true)`: with buyers and keyed holds).
    reload_wanted: Option<bool>,
    /// Answered when a reload asked for before it started has been applied.
    reload_waiters: Vec<oneshot::Sender<()>>,
    /// Requests refused by a stored status people set (draft, paused, cancelled) wait for
    /// one reload before the refusal, so an actor that missed a publish elsewhere (another
    /// node) cannot refuse on stale data.
    recheck: Vec<(HoldRequest, Reply)>,
    /// The waiting room has been served (or the drop has none). Until then, requests that
    /// arrive after the opening wait in `held_back`: the queue goes first.
    admitted: bool,
    admit_wanted: bool,
    held_back: Vec<(HoldRequest, Reply)>,
    seq: u64,
    /// Sockets watching on this node.
    watchers: i64,
    /// Sockets watching on other nodes, as each last announced: node → (count, heard at).
    watchers_elsewhere: HashMap<String, (i64, Instant)>,
    /// The count this node last announced to the others, and when.
    announced: Option<(i64, Instant)>,
    /// The watcher count changed since the last push.
    watchers_dirty: bool,
    push_scheduled: bool,
    last_push: Option<Instant>,
    last_used: Instant,
    /// When the writer connection was last used.
    last_write: Instant,
    last_status: DropStatus,
    lease: Lease,
    /// The lease's own connection (Postgres): kept while the drop is hot.
    lease_conn: Option<LeaseConn>,
    /// The memory was loaded while this node decided alone; false once another node may
    /// have written (this one did not hold the lease), so taking the lease reloads it.
    memory_fresh: bool,
    /// Another node published a newer state that differs from this node's: re-read the
    /// store at the next tick, so that this node neither answers nor publishes stale
    /// counts (a socket keeps the state with the highest `seq`, whichever node sent it).
    behind: bool,
}

impl DropActor {
    pub fn new(
        store: Store,
        bus: Arc<dyn Bus>,
        clock: Clock,
        drop: DropRow,
        variants: Vec<VariantRow>,
        auth: Authority,
    ) -> Self {
        let last_status = drop.stored_status();
        let seq = crate::domain::live::next_seq(0, clock.now());
        let admitted = drop.queue_seed.is_some() || drop.waiting_room_seconds == 0;
        let shared = matches!(store, Store::Postgres { .. });
        let depth = if shared { PIPELINE } else { 1 };
        let lease = if shared {
            Lease::Free {
                retry_at: Instant::now(),
            }
        } else {
            Lease::Local
        };
        DropActor {
            store,
            bus,
            clock,
            drop,
            variants,
            auth,
            pending: Vec::new(),
            ops: VecDeque::new(),
            busy: false,
            conns: Vec::new(),
            inflight: VecDeque::new(),
            depth,
            next_batch: 0,
            recovering: false,
            reload_wanted: None,
            reload_waiters: Vec::new(),
            recheck: Vec::new(),
            admitted,
            admit_wanted: false,
            held_back: Vec::new(),
            seq,
            watchers: 0,
            watchers_elsewhere: HashMap::new(),
            announced: None,
            watchers_dirty: false,
            push_scheduled: false,
            last_push: None,
            last_used: Instant::now(),
            last_write: Instant::now(),
            last_status,
            lease,
            lease_conn: None,
            memory_fresh: true,
            behind: false,
        }
    }

    /// An actor for drop `id`, loaded from the store; `None` if there is no such drop.
    pub async fn load(
        store: Store,
        bus: Arc<dyn Bus>,
        clock: Clock,
        id: crate::domain::ids::DropId,
    ) -> AppResult<Option<DropActor>> {
        Ok(stock::load(&store, id)
            .await?
            .map(|(d, v, auth)| DropActor::new(store, bus, clock, d, v, auth)))
    }

    pub fn storefront_id(&self) -> crate::domain::ids::StorefrontId {
        self.drop.storefront_id
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
            variants: self.variants.iter().map(VariantState::from).collect(),
            watchers: self.watchers
                + self
                    .watchers_elsewhere
                    .values()
                    .map(|(n, _)| n)
                    .sum::<i64>(),
            seq: self.seq,
        }
    }

    /// Why a new hold is refused in `status`, if it is.
    fn refusal(&self, status: DropStatus) -> Option<AppError> {
        let refusal = match status {
            DropStatus::Live | DropStatus::SoldOut => None,
            DropStatus::Draft => Some(AppError::NotFound),
            DropStatus::Scheduled => {
                Some(AppError::conflict("not_open", "the drop is not open yet"))
            }
            DropStatus::Paused => Some(AppError::conflict(
                "drop_paused",
                "the drop is paused; holds already placed can still be paid",
            )),
            DropStatus::Cancelled => Some(AppError::conflict(
                "drop_cancelled",
                "the drop was cancelled",
            )),
            DropStatus::Ended => Some(AppError::conflict("drop_closed", "the drop has closed")),
        };
        refusal.or_else(|| {
            self.drop.raffle_id.map(|r| {
                AppError::conflict(
                    "raffle_required",
                    format!("units of this drop go to the winners of raffle {r}"),
                )
            })
        })
    }

    /// Start the next piece of work if nothing is being written: a reload, the waiting
    /// room, another writer's op, else the next batch of holds.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.busy || self.recovering {
            return;
        }
        let other_work = self.reload_wanted.is_some()
            || (self.admit_wanted && !self.admitted)
            || !self.ops.is_empty();
        if other_work {
            // Everything but holds runs alone, once the batches in flight are answered.
            if !self.inflight.is_empty() {
                return;
            }
            if let Some(full) = self.reload_wanted.take() {
                self.start_reload(ctx, full);
            } else if self.admit_wanted && !self.admitted {
                self.admit_wanted = false;
                self.start_admission(ctx);
            } else if let Some(op) = self.ops.pop_front() {
                self.start_op(ctx, op);
            }
            return;
        }
        if self.pending.is_empty() {
            return;
        }
        match self.path(ctx) {
            Path::Wait => {}
            Path::Slow => {
                if self.inflight.is_empty() {
                    self.start_slow_batch(ctx);
                }
            }
            Path::Fast => {
                while !self.pending.is_empty()
                    && self.inflight.len() < self.depth
                    && (self.inflight.is_empty() || self.pending.len() >= PIPELINE_MIN)
                {
                    if !self.start_batch(ctx) {
                        break;
                    }
                }
            }
        }
    }

    /// The fast path needs the lease; without it, requests are decided by the store. A
    /// due attempt to take the lease is started, and the requests wait for its outcome.
    fn path(&mut self, ctx: &mut Context<Self>) -> Path {
        match self.lease {
            Lease::Local | Lease::Owned { .. } => Path::Fast,
            Lease::Trying => Path::Wait,
            Lease::Free { retry_at } | Lease::Elsewhere { retry_at } => {
                if Instant::now() >= retry_at {
                    self.try_lease(ctx);
                    Path::Wait
                } else {
                    Path::Slow
                }
            }
        }
    }

    fn try_lease(&mut self, ctx: &mut Context<Self>) {
        self.lease = Lease::Trying;
        let kept = self.lease_conn.take();
        let store = self.store.clone();
        let id = self.drop.id;
        let work = async move {
            let mut conn = match kept {
                Some(c) => c,
                None => match stock::lease_conn(&store).await {
                    Ok(Some(c)) => c,
                    Ok(None) => return (None, Ok(true)),
                    Err(e) => return (None, Err(e)),
                },
            };
            let r = stock::try_lease(&mut conn, id).await;
            (r.is_ok().then_some(conn), r)
        };
        ctx.spawn(work.into_actor(self).map(|(conn, taken), act, ctx| {
            let retry_at = Instant::now() + LEASE_RETRY;
            match taken {
                Ok(true) => {
                    act.lease_conn = conn;
                    act.lease = Lease::Owned {
                        checked: Instant::now(),
                        checking: false,
                    };
                    stats::lease(1);
                    if !act.memory_fresh {
                        act.reload_wanted = Some(true);
                    }
                    act.memory_fresh = true;
                    tracing::info!(drop = %act.drop.id, "took the drop's write lease");
                }
                Ok(false) => {
                    act.lease_conn = conn;
                    act.lease = Lease::Elsewhere { retry_at };
                    act.memory_fresh = false;
                }
                Err(e) => {
                    tracing::warn!(drop = %act.drop.id, error = %e, "drop lease not taken");
                    act.lease = Lease::Free { retry_at };
                    act.memory_fresh = false;
                }
            }
            act.pump(ctx);
        }));
    }

    /// Give the lease up (the drop went quiet, or its session died): its connection is
    /// closed, which releases the lock for another node.
    fn drop_lease(&mut self) {
        if matches!(self.lease, Lease::Local) {
            return;
        }
        if matches!(self.lease, Lease::Owned { .. }) {
            stats::lease(-1);
        }
        self.lease_conn = None;
        self.memory_fresh = false;
        self.lease = Lease::Free {
            retry_at: Instant::now(),
        };
    }

    /// The owner makes sure, now and then, that the session holding its lease still
    /// exists: if it died (the store restarted, the link broke), so did the lock, and
    /// another node may be writing.
    fn check_lease(&mut self, ctx: &mut Context<Self>) {
        let Lease::Owned {
            checked,
            checking: false,
        } = self.lease
        else {
            return;
        };
        if checked.elapsed() < LEASE_CHECK {
            return;
        }
        let Some(mut conn) = self.lease_conn.take() else {
            return;
        };
        self.lease = Lease::Owned {
            checked,
            checking: true,
        };
        let work = async move {
            let alive = stock::lease_alive(&mut conn).await;
            (conn, alive)
        };
        ctx.spawn(work.into_actor(self).map(|(conn, alive), act, _| {
            if !matches!(act.lease, Lease::Owned { .. }) {
                return; // given up meanwhile: the connection closes here
            }
            if alive {
                act.lease_conn = Some(conn);
                act.lease = Lease::Owned {
                    checked: Instant::now(),
                    checking: false,
                };
            } else {
                tracing::warn!(drop = %act.drop.id, "the drop's lease session died: lease lost");
                act.drop_lease();
            }
        }));
    }

    /// Without the lease: the store decides the pending requests (locked rows, fresh
    /// counts), one transaction per batch, and the memory takes the store's counts.
    fn start_slow_batch(&mut self, ctx: &mut Context<Self>) {
        let n = self.pending.len().min(MAX_BATCH);
        let batch: Vec<(HoldRequest, Reply)> = self.pending.drain(..n).collect();
        let refusal = self.refusal(self.status());
        let mut requests = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for (req, reply) in batch {
            match &refusal {
                Some(e) => {
                    let _ = reply.send(Err(e.clone()));
                }
                None => {
                    requests.push(req);
                    replies.push(reply);
                }
            }
        }
        if requests.is_empty() {
            return;
        }
        self.busy = true;
        stats::slow();
        let conn = self.take_conn();
        let store = self.store.clone();
        let d = self.drop.clone();
        let now = self.clock.now();
        let work = async move {
            let mut conn = match conn.await {
                Ok(c) => c,
                Err(e) => return (None, Err(e), None),
            };
            let outcomes = stock::place_holds(
                &mut conn,
                d.id,
                d.per_buyer_limit,
                d.hold_seconds,
                &requests,
                now,
            )
            .await;
            // The counts the answers are consistent with, read before anyone is answered.
            let found = model::find(&store, d.id).await.ok().flatten();
            (outcomes.is_ok().then_some(conn), outcomes, found)
        };
        ctx.spawn(
            work.into_actor(self)
                .map(move |(conn, outcomes, found), act, ctx| {
                    act.busy = false;
                    if let Some(c) = conn {
                        act.keep_conn(c);
                    }
                    if let Some((d, v)) = found {
                        act.drop = d;
                        act.variants = v;
                    }
                    match outcomes {
                        Ok(o) => {
                            for (reply, outcome) in replies.into_iter().zip(o) {
                                let _ = reply.send(Ok(outcome));
                            }
                        }
                        Err(e) => {
                            for reply in replies {
                                let _ = reply.send(Err(e.clone()));
                            }
                        }
                    }
                    act.changed(ctx);
                    act.pump(ctx);
                }),
        );
    }

    /// The writer connection: the kept one, or a fresh checkout.
    fn take_conn(&mut self) -> impl std::future::Future<Output = AppResult<DbConn>> + 'static {
        let kept = self.conns.pop();
        let store = self.store.clone();
        async move {
            match kept {
                Some(c) => Ok(c),
                None => store.write().await,
            }
        }
    }

    /// Give the writer connection back after a write that went well. Postgres keeps it
    /// (one connection per hot drop); SQLite's single writer goes back to its pool.
    fn keep_conn(&mut self, conn: DbConn) {
        self.last_write = Instant::now();
        if matches!(conn, DbConn::Postgres(_)) && self.conns.len() < self.depth {
            self.conns.push(conn);
        }
    }

    /// Decide the pending requests in memory, in arrival order, and write the granted
    /// ones in one batch. Every answer waits for the commit.
    fn start_batch(&mut self, ctx: &mut Context<Self>) -> bool {
        let n = self.pending.len().min(MAX_BATCH);
        let batch: Vec<(HoldRequest, Reply)> = self.pending.drain(..n).collect();
        let now = self.clock.now();
        let expires_at = now + chrono::Duration::seconds(self.drop.hold_seconds);
        let refusal = self.refusal(self.status());
        let limit = self.drop.per_buyer_limit;
        let mut grants: Vec<HoldRow> = Vec::new();
        let mut answers: Vec<(Reply, Answer)> = Vec::with_capacity(batch.len());
        let mut keys_in_batch: HashMap<(UserId, String), usize> = HashMap::new();
        for (req, reply) in batch {
            let key = req.idempotency_key.clone().map(|k| (req.buyer, k));
            if let Some(k) = &key {
                if let Some(h) = self.auth.keyed.get(k) {
                    answers.push((reply, Answer::Now(Ok(Ok((h.clone(), false))))));
                    continue;
                }
                if let Some(&i) = keys_in_batch.get(k) {
                    answers.push((reply, Answer::Repeat(i)));
                    continue;
                }
            }
            if let Some(e) = &refusal {
                answers.push((reply, Answer::Now(Err(e.clone()))));
                continue;
            }
            let decided = match self.variants.iter_mut().find(|v| v.id == req.variant) {
                None => Err(HoldRefusal::UnknownVariant),
                Some(v) if v.remaining < req.quantity => Err(HoldRefusal::SoldOut),
                Some(v) => {
                    let taken = self.auth.buyers.entry(req.buyer).or_insert(0);
                    if *taken + req.quantity > limit {
                        Err(HoldRefusal::LimitReached)
                    } else {
                        *taken += req.quantity;
                        v.remaining -= req.quantity;
                        v.held += req.quantity;
                        Ok(())
                    }
                }
            };
            if let Err(refused) = decided {
                answers.push((reply, Answer::Now(Ok(Err(refused)))));
                continue;
            }
            if let Some(k) = key {
                keys_in_batch.insert(k, grants.len());
            }
            answers.push((reply, Answer::Granted(grants.len())));
            grants.push(HoldRow {
                id: HoldId::new(),
                drop_id: self.drop.id,
                variant_id: req.variant,
                buyer_id: req.buyer,
                quantity: req.quantity,
                status: HOLD_ACTIVE.into(),
                expires_at,
                idempotency_key: req.idempotency_key,
                created_at: now,
                updated_at: now,
            });
        }
        let seq = self.next_batch;
        self.next_batch += 1;
        if grants.is_empty() {
            // Nothing to write: every answer is already known. It still waits its turn
            // behind the batches in flight, so answers go out in order.
            self.inflight.push_back(InFlight {
                seq,
                answers,
                grants,
                done: Some((None, Ok(Vec::new()))),
            });
            self.settle(ctx);
            return true;
        }
        let conn = self.take_conn();
        let d = self.drop.id;
        let written = grants.clone();
        self.inflight.push_back(InFlight {
            seq,
            answers,
            grants,
            done: None,
        });
        let work = async move {
            let mut conn = match conn.await {
                Ok(c) => c,
                Err(e) => return (None, Err(BatchError::Store(e))),
            };
            let started = Instant::now();
            let r = stock::write_grants(&mut conn, d, limit, &written, now).await;
            stats::batch(written.len(), started.elapsed().as_micros() as u64);
            (Some(conn), r)
        };
        ctx.spawn(work.into_actor(self).map(move |(conn, result), act, ctx| {
            if let Some(b) = act.inflight.iter_mut().find(|b| b.seq == seq) {
                b.done = Some((conn, result));
            }
            act.settle(ctx);
            act.pump(ctx);
        }));
        true
    }

    /// Answer the batches at the front that have committed, in order. A batch that failed
    /// stops the line: once every batch in flight has returned, they are settled together
    /// ([`DropActor::recover`]).
    fn settle(&mut self, ctx: &mut Context<Self>) {
        while let Some(front) = self.inflight.front() {
            match &front.done {
                None => return,
                Some((_, Ok(_))) => {
                    let Some(b) = self.inflight.pop_front() else {
                        return;
                    };
                    let Some((conn, Ok(counts))) = b.done else {
                        return;
                    };
                    if let Some(c) = conn {
                        self.keep_conn(c);
                    }
                    self.adopt_counts(&counts);
                    for h in &b.grants {
                        if let Some(k) = &h.idempotency_key {
                            self.auth.keyed.insert((h.buyer_id, k.clone()), h.clone());
                        }
                    }
                    self.answer(b.answers, &b.grants);
                    if !b.grants.is_empty() {
                        self.changed(ctx);
                    }
                }
                Some((_, Err(_))) => {
                    if self.inflight.iter().all(|b| b.done.is_some()) {
                        self.recover(ctx);
                    } else {
                        self.recovering = true;
                    }
                    return;
                }
            }
        }
    }

    /// Answer a committed batch, in its order.
    fn answer(&self, answers: Vec<(Reply, Answer)>, grants: &[HoldRow]) {
        for (reply, answer) in answers {
            let a = match answer {
                Answer::Now(a) => a,
                Answer::Granted(i) => Ok(Ok((grants[i].clone(), true))),
                Answer::Repeat(i) => Ok(Ok((grants[i].clone(), false))),
            };
            let _ = reply.send(a);
        }
    }

    /// Take back in memory what an uncommitted batch took.
    fn undo(&mut self, grants: &[HoldRow]) {
        for h in grants {
            if let Some(v) = self.variants.iter_mut().find(|v| v.id == h.variant_id) {
                v.remaining += h.quantity;
                v.held -= h.quantity;
            }
            if let Some(t) = self.auth.buyers.get_mut(&h.buyer_id) {
                *t -= h.quantity;
            }
        }
    }

    /// The store's counts after a commit are the truth (they include what other writers
    /// did behind this actor's back), less what the batches still in flight took, which
    /// the memory already counts and the store does not yet.
    fn adopt_counts(&mut self, counts: &[Counts]) {
        for c in counts {
            let later: i64 = self
                .inflight
                .iter()
                .flat_map(|b| b.grants.iter())
                .filter(|h| h.variant_id == c.id)
                .map(|h| h.quantity)
                .sum();
            if let Some(v) = self.variants.iter_mut().find(|v| v.id == c.id) {
                v.stock = c.stock;
                v.remaining = c.remaining - later;
                v.held = c.held + later;
                v.sold = c.sold;
            }
        }
    }

    /// A batch failed (the store refused it as stale, or the store failed) and every batch
    /// in flight has returned. In order: a committed batch is answered; a refused one is
    /// decided again against locked, fresh rows (the slow path) and answered; a failed one
    /// is answered 503 (nothing of it was committed). Then the memory is reloaded.
    fn recover(&mut self, ctx: &mut Context<Self>) {
        self.recovering = true;
        self.busy = true;
        let batches: Vec<InFlight> = self.inflight.drain(..).collect();
        let mut conn = None;
        let mut work = Vec::with_capacity(batches.len());
        for mut b in batches {
            let (c, result) = b
                .done
                .take()
                .unwrap_or((None, Err(BatchError::Store(AppError::Internal))));
            if let (Some(c), None) = (c, &conn) {
                if !matches!(result, Err(BatchError::Store(_))) {
                    conn = Some(c);
                }
            }
            match &result {
                Ok(_) => {}
                Err(BatchError::Stale) => {
                    stats::slow();
                    tracing::info!(drop = %self.drop.id, holds = b.grants.len(),
                        "batch refused by the store (stale memory): redone on the slow path");
                    self.undo(&b.grants);
                }
                Err(BatchError::Store(e)) => {
                    tracing::warn!(drop = %self.drop.id, error = %e, "hold batch not committed");
                    self.undo(&b.grants);
                }
            }
            work.push((b, result.map(|_| ())));
        }
        let store = self.store.clone();
        let d = self.drop.clone();
        let fut = async move {
            let mut conn = match conn {
                Some(c) => Some(c),
                None => store.write().await.ok(),
            };
            // Answers are sent once the memory is reloaded, so nobody who got an answer
            // can then read a state older than it.
            let mut out: Vec<(Reply, AppResult<HoldOutcome>)> = Vec::new();
            for (b, result) in work {
                match result {
                    Ok(()) => {
                        for (reply, answer) in b.answers {
                            out.push((
                                reply,
                                match answer {
                                    Answer::Now(a) => a,
                                    Answer::Granted(i) => Ok(Ok((b.grants[i].clone(), true))),
                                    Answer::Repeat(i) => Ok(Ok((b.grants[i].clone(), false))),
                                },
                            ));
                        }
                    }
                    Err(BatchError::Stale) => {
                        let requests: Vec<HoldRequest> = b
                            .grants
                            .iter()
                            .map(|h| HoldRequest {
                                buyer: h.buyer_id,
                                variant: h.variant_id,
                                quantity: h.quantity,
                                idempotency_key: h.idempotency_key.clone(),
                            })
                            .collect();
                        let now = b.grants.first().map(|h| h.created_at);
                        let outcomes = match (&mut conn, now) {
                            (Some(c), Some(now)) => {
                                stock::place_holds(
                                    c,
                                    d.id,
                                    d.per_buyer_limit,
                                    d.hold_seconds,
                                    &requests,
                                    now,
                                )
                                .await
                            }
                            _ => Err(AppError::Unavailable),
                        };
                        if outcomes.is_err() {
                            // The connection may be what failed.
                            conn = None;
                        }
                        for (reply, answer) in b.answers {
                            let a = match (answer, &outcomes) {
                                (Answer::Now(a), _) => a,
                                (Answer::Granted(i), Ok(o)) => {
                                    o.get(i).cloned().ok_or(AppError::Internal)
                                }
                                (Answer::Repeat(i), Ok(o)) => match o.get(i).cloned() {
                                    Some(Ok((h, _))) => Ok(Ok((h, false))),
                                    Some(refused) => Ok(refused),
                                    None => Err(AppError::Internal),
                                },
                                (_, Err(_)) => Err(AppError::Unavailable),
                            };
                            out.push((reply, a));
                        }
                    }
                    Err(BatchError::Store(_)) => {
                        for (reply, answer) in b.answers {
                            out.push((
                                reply,
                                match answer {
                                    Answer::Now(a) => a,
                                    _ => Err(AppError::Unavailable),
                                },
                            ));
                        }
                    }
                }
            }
            let loaded = stock::load(&store, d.id).await;
            (conn, out, loaded)
        };
        ctx.spawn(fut.into_actor(self).map(|(conn, out, loaded), act, ctx| {
            act.busy = false;
            act.recovering = false;
            if let Some(c) = conn {
                act.keep_conn(c);
            }
            match loaded {
                Ok(l) => act.apply_loaded(l, ctx),
                Err(e) => {
                    tracing::warn!(drop = %act.drop.id, error = %e, "drop reload failed");
                    act.reload_wanted = Some(true);
                }
            }
            for (reply, a) in out {
                let _ = reply.send(a);
            }
            act.pump(ctx);
        }));
    }

    fn apply_loaded(
        &mut self,
        loaded: Option<(DropRow, Vec<VariantRow>, Authority)>,
        ctx: &mut Context<Self>,
    ) {
        match loaded {
            Some((d, v, auth)) => {
                self.admitted |= d.queue_seed.is_some() || d.waiting_room_seconds == 0;
                self.drop = d;
                self.variants = v;
                self.auth = auth;
                self.changed(ctx);
            }
            None => ctx.stop(),
        }
    }

    fn start_op(&mut self, ctx: &mut Context<Self>, op: Op) {
        self.busy = true;
        let conn = self.take_conn();
        let store = self.store.clone();
        let d = self.drop.clone();
        let now = self.clock.now();
        match op {
            Op::End { holds, how, reply } => {
                let work = async move {
                    let mut conn = conn.await?;
                    let holds = if how == HoldEnd::Cancelled {
                        stock::active_holds(&mut conn, d.id).await?
                    } else {
                        holds
                    };
                    let ended = stock::end_holds(&mut conn, d.id, &holds, how, now).await?;
                    Ok::<_, AppError>((conn, ended))
                };
                ctx.spawn(work.into_actor(self).map(move |r, act, ctx| {
                    act.busy = false;
                    match r {
                        Ok((conn, ended)) => {
                            act.keep_conn(conn);
                            for h in &ended {
                                if let Some(v) =
                                    act.variants.iter_mut().find(|v| v.id == h.variant_id)
                                {
                                    v.remaining += h.quantity;
                                    v.held -= h.quantity;
                                }
                                if let Some(t) = act.auth.buyers.get_mut(&h.buyer_id) {
                                    *t -= h.quantity;
                                }
                                if let Some(k) = &h.idempotency_key {
                                    if let Some(kept) =
                                        act.auth.keyed.get_mut(&(h.buyer_id, k.clone()))
                                    {
                                        kept.status = h.status.clone();
                                        kept.updated_at = h.updated_at;
                                    }
                                }
                            }
                            if !ended.is_empty() {
                                act.changed(ctx);
                            }
                            let _ = reply.send(Ok(ended));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                            act.reload_wanted = Some(true);
                        }
                    }
                    act.pump(ctx);
                }));
            }
            Op::Offer {
                request,
                hold_seconds,
                reply,
            } => {
                let work = async move {
                    let mut conn = conn.await?;
                    let outcome = stock::place_holds(
                        &mut conn,
                        d.id,
                        d.per_buyer_limit.max(1),
                        hold_seconds,
                        std::slice::from_ref(&request),
                        now,
                    )
                    .await?
                    .into_iter()
                    .next()
                    .ok_or(AppError::Internal)?;
                    let loaded = stock::load(&store, d.id).await?;
                    Ok::<_, AppError>((conn, outcome, loaded))
                };
                ctx.spawn(work.into_actor(self).map(move |r, act, ctx| {
                    act.busy = false;
                    match r {
                        Ok((conn, outcome, loaded)) => {
                            act.keep_conn(conn);
                            let _ = reply.send(Ok(outcome));
                            act.apply_loaded(loaded, ctx);
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                            act.reload_wanted = Some(true);
                        }
                    }
                    act.pump(ctx);
                }));
            }
            Op::Checkout { hold, buyer, reply } => {
                let work = async move {
                    let mut conn = conn.await?;
                    let r = stock::start_checkout(&mut conn, hold, buyer, now).await;
                    Ok::<_, AppError>((conn, r))
                };
                ctx.spawn(work.into_actor(self).map(move |r, act, ctx| {
                    act.busy = false;
                    match r {
                        Ok((conn, r)) => {
                            act.keep_conn(conn);
                            let _ = reply.send(r);
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                    act.pump(ctx);
                }));
            }
            Op::Settle {
                event_id,
                order,
                succeeded,
                payment_ref,
                reply,
            } => {
                let work = async move {
                    let mut conn = conn.await?;
                    let r = stock::apply_outcome(
                        &mut conn,
                        &event_id,
                        order,
                        succeeded,
                        &payment_ref,
                        now,
                    )
                    .await;
                    Ok::<_, AppError>((conn, r))
                };
                ctx.spawn(work.into_actor(self).map(move |r, act, ctx| {
                    act.busy = false;
                    match r {
                        Ok((conn, r)) => {
                            act.keep_conn(conn);
                            if let Ok(Applied::Paid(o)) = &r {
                                // The held units became sold ones.
                                if let Some(v) =
                                    act.variants.iter_mut().find(|v| Some(v.id) == o.variant_id)
                                {
                                    v.held -= o.quantity;
                                    v.sold += o.quantity;
                                }
                                act.changed(ctx);
                            }
                            let _ = reply.send(r);
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                            act.reload_wanted = Some(true);
                        }
                    }
                    act.pump(ctx);
                }));
            }
            Op::SetStock {
                variant,
                stock: units,
                reply,
            } => {
                let work = async move {
                    let mut conn = conn.await?;
                    let set = stock::set_stock(&mut conn, d.id, variant, units, now).await?;
                    let variants = model::variants(&store, d.id).await?;
                    Ok::<_, AppError>((conn, set, variants))
                };
                self.stock_changed(ctx, work, reply);
            }
            Op::Restock { order, reply } => {
                let work = async move {
                    let mut conn = conn.await?;
                    let set = stock::restock(&mut conn, d.id, order, now).await?;
                    let variants = model::variants(&store, d.id).await?;
                    Ok::<_, AppError>((conn, set, variants))
                };
                self.stock_changed(ctx, work, reply);
            }
        }
    }

    /// A stock change written by `work` (which re-reads the variants after it): applied to
    /// memory, pushed, answered; a failure has the actor re-read the store.
    fn stock_changed(
        &mut self,
        ctx: &mut Context<Self>,
        work: impl std::future::Future<Output = AppResult<(DbConn, bool, Vec<VariantRow>)>> + 'static,
        reply: oneshot::Sender<AppResult<bool>>,
    ) {
        ctx.spawn(work.into_actor(self).map(move |r, act, ctx| {
            act.busy = false;
            match r {
                Ok((conn, set, variants)) => {
                    act.keep_conn(conn);
                    act.variants = variants;
                    act.changed(ctx);
                    let _ = reply.send(Ok(set));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                    act.reload_wanted = Some(true);
                }
            }
            act.pump(ctx);
        }));
    }

    /// Re-read the drop (and, if `full`, the buyers' totals and keyed holds) in the write
    /// order: nothing of this actor's is in flight while it reads.
    fn start_reload(&mut self, ctx: &mut Context<Self>, full: bool) {
        self.busy = true;
        let waiters = std::mem::take(&mut self.reload_waiters);
        let store = self.store.clone();
        let id = self.drop.id;
        let work = async move {
            if full {
                stock::load(&store, id)
                    .await
                    .map(|l| l.map(|(d, v, a)| (d, v, Some(a))))
            } else {
                model::find(&store, id)
                    .await
                    .map(|l| l.map(|(d, v)| (d, v, None)))
            }
        };
        ctx.spawn(work.into_actor(self).map(move |found, act, ctx| {
            act.busy = false;
            match found {
                Ok(Some((d, v, auth))) => {
                    act.admitted |= d.queue_seed.is_some() || d.waiting_room_seconds == 0;
                    act.drop = d;
                    act.variants = v;
                    if let Some(a) = auth {
                        act.auth = a;
                    }
                    act.changed(ctx);
                }
                Ok(None) => ctx.stop(),
                Err(e) => {
                    // The write that asked for it has committed; this memory is behind it
                    // until a reload succeeds, so another is tried (in the write order) soon.
                    tracing::warn!(error = %e, "drop reload failed: retrying in a second");
                    ctx.run_later(RELOAD_RETRY, move |act, ctx| {
                        act.reload_wanted = Some(act.reload_wanted.unwrap_or(false) || full);
                        act.pump(ctx);
                    });
                }
            }
            for w in waiters {
                let _ = w.send(());
            }
            for (request, reply) in std::mem::take(&mut act.recheck) {
                act.admit(request, reply, ctx, false);
            }
            act.pump(ctx);
        }));
    }

    /// The state changed: push it, coalesced to one push per [`PUSH_INTERVAL`].
    fn changed(&mut self, ctx: &mut Context<Self>) {
        self.seq = crate::domain::live::next_seq(self.seq, self.clock.now());
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

    /// Queue a request for the next batch, or refuse it by the drop's status.
    fn admit(
        &mut self,
        request: HoldRequest,
        reply: Reply,
        ctx: &mut Context<Self>,
        may_recheck: bool,
    ) {
        let status = self.status();
        if may_recheck
            && matches!(
                status,
                DropStatus::Draft | DropStatus::Paused | DropStatus::Cancelled
            )
        {
            self.recheck.push((request, reply));
            self.reload_wanted.get_or_insert(false);
            self.pump(ctx);
            return;
        }
        if let Some(e) = self.refusal(status) {
            let _ = reply.send(Err(e));
            return;
        }
        if !self.admitted {
            self.held_back.push((request, reply));
            self.admit_wanted = true;
            self.pump(ctx);
            return;
        }
        self.pending.push((request, reply));
        self.pump(ctx);
    }

    /// At the opening second: serve the waiting room in its shuffled order (one
    /// transaction, once per drop across all nodes), tell each ticket's buyer, then let the
    /// requests that arrived after the opening through.
    fn start_admission(&mut self, ctx: &mut Context<Self>) {
        self.busy = true;
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
            stock::load(&store, drop.id).await
        };
        ctx.spawn(work.into_actor(self).map(|found, act, ctx| {
            act.busy = false;
            match found {
                Ok(Some(loaded)) => {
                    act.admitted = true;
                    act.apply_loaded(Some(loaded), ctx);
                    let waiting = std::mem::take(&mut act.held_back);
                    act.pending.extend(waiting);
                }
                Ok(None) => ctx.stop(),
                // Retried on the next tick; the held-back requests keep waiting.
                Err(e) => tracing::warn!(error = %e, "waiting room admission failed"),
            }
            act.pump(ctx);
        }));
    }

    /// Clock work: push when the clock changes the status (opening, closing), record the
    /// transition in the store (idempotent), stop when idle.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        // A quiet drop gives its writer connection back to the pool: the pool is shared by
        // every drop and request of the node, and only a hot drop needs one of its own.
        if !self.busy
            && self.inflight.is_empty()
            && self.pending.is_empty()
            && self.last_write.elapsed() >= KEEP_CONN
        {
            self.conns.clear();
        }
        // A drop quiet for longer gives its lease up, so a node that sells it now can take
        // it (a node without it closes its lease connection too).
        let quiet = !self.busy && self.inflight.is_empty() && self.pending.is_empty();
        let lease_idle = match self.lease {
            Lease::Owned { .. } => self.last_write.elapsed() >= LEASE_KEEP,
            Lease::Elsewhere { .. } => self.last_write.elapsed() >= KEEP_CONN,
            _ => false,
        };
        if quiet && lease_idle {
            self.drop_lease();
        }
        self.check_lease(ctx);
        // At most one re-read per tick however often the other node publishes; it runs in
        // the write order (after the batches in flight) and ends with a push of its own.
        if std::mem::take(&mut self.behind) {
            self.reload_wanted.get_or_insert(false);
            self.pump(ctx);
        }
        self.announce_watchers(ctx);
        if self.watchers_dirty
            && self
                .last_push
                .is_none_or(|at| at.elapsed() >= WATCHERS_PUSH_INTERVAL)
        {
            self.changed(ctx);
        }
        let status = self.status();
        if matches!(status, DropStatus::Live | DropStatus::SoldOut) && !self.admitted {
            self.admit_wanted = true;
            self.pump(ctx);
        }
        if status != self.last_status {
            let from = self.last_status;
            self.last_status = status;
            self.changed(ctx);
            // Only what the clock decides is recorded as the clock's. A status a person set
            // (paused, cancelled, a draft) is in the store already; recording it from here
            // could undo a later change this actor has not reloaded yet (a resume turned
            // back into a pause: seen in the studio's browser test).
            let by_clock = matches!(
                self.drop.stored_status(),
                DropStatus::Scheduled | DropStatus::Live | DropStatus::SoldOut
            );
            if by_clock {
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
        }
        if self.pending.is_empty()
            && !self.busy
            && self.inflight.is_empty()
            && self.ops.is_empty()
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

    fn stopped(&mut self, _: &mut Self::Context) {
        self.drop_lease();
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
        let full = self.reload_wanted.unwrap_or(false) || msg.full;
        self.reload_wanted = Some(full);
        self.reload_waiters.extend(msg.done);
        self.pump(ctx);
    }
}

impl Handler<SeenElsewhere> for DropActor {
    type Result = ();

    fn handle(&mut self, seen: SeenElsewhere, _: &mut Self::Context) {
        if seen.seq <= self.seq {
            return;
        }
        let same = seen.status == self.status()
            && seen.variants.len() == self.variants.len()
            && seen.variants.iter().zip(&self.variants).all(|(s, v)| {
                (s.id, s.stock, s.remaining, s.held, s.sold)
                    == (v.id, v.stock, v.remaining, v.held, v.sold)
            });
        self.behind |= !same;
    }
}

impl DropActor {
    /// Tell the other nodes this node's watcher count (when it changed, at most every
    /// [`WATCHERS_PUSH_INTERVAL`], and every [`WATCHERS_REANNOUNCE`] while not zero), and
    /// forget the counts of nodes gone quiet.
    fn announce_watchers(&mut self, ctx: &mut Context<Self>) {
        let Some(origin) = self.bus.origin() else {
            return;
        };
        let before = self.watchers_elsewhere.len();
        self.watchers_elsewhere
            .retain(|_, (_, at)| at.elapsed() < WATCHERS_STALE);
        if self.watchers_elsewhere.len() != before {
            self.watchers_dirty = true;
        }
        let due = match self.announced {
            None => self.watchers > 0,
            Some((n, at)) => {
                (n != self.watchers && at.elapsed() >= WATCHERS_PUSH_INTERVAL)
                    || (self.watchers > 0 && at.elapsed() >= WATCHERS_REANNOUNCE)
            }
        };
        if !due {
            return;
        }
        self.announced = Some((self.watchers, Instant::now()));
        let event = Event {
            topic: format!("watchers:drop:{}", self.drop.id),
            payload: serde_json::json!({"node": origin, "count": self.watchers}),
        };
        let bus = self.bus.clone();
        ctx.spawn(
            async move {
                if let Err(e) = bus.publish(event).await {
                    tracing::debug!(error = %e, "watcher count not announced");
                }
            }
            .into_actor(self),
        );
    }
}

impl Handler<WatchersElsewhere> for DropActor {
    type Result = ();

    fn handle(&mut self, msg: WatchersElsewhere, _: &mut Self::Context) {
        let before = self.watchers_elsewhere.get(&msg.node).map(|(n, _)| *n);
        if msg.count > 0 {
            self.watchers_elsewhere
                .insert(msg.node, (msg.count, Instant::now()));
        } else {
            self.watchers_elsewhere.remove(&msg.node);
        }
        if before.unwrap_or(0) != msg.count {
            self.watchers_dirty = true;
        }
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

/// Messages that become an [`Op`]: queued in the write order, run when it is their turn.
macro_rules! op_handlers {
    ($($msg:ident => |$m:ident| $op:expr;)*) => {$(
        impl Handler<$msg> for DropActor {
            type Result = ();

            fn handle(&mut self, $m: $msg, ctx: &mut Self::Context) {
                self.last_used = Instant::now();
                self.ops.push_back($op);
                self.pump(ctx);
            }
        }
    )*};
}

op_handlers! {
    EndHolds => |m| Op::End { holds: m.holds, how: m.how, reply: m.reply };
    Offer => |m| Op::Offer { request: m.request, hold_seconds: m.hold_seconds, reply: m.reply };
    Checkout => |m| Op::Checkout { hold: m.hold, buyer: m.buyer, reply: m.reply };
    Settle => |m| Op::Settle { event_id: m.event_id, order: m.order, succeeded: m.succeeded, payment_ref: m.payment_ref, reply: m.reply };
    SetStock => |m| Op::SetStock { variant: m.variant, stock: m.stock, reply: m.reply };
    Restock => |m| Op::Restock { order: m.order, reply: m.reply };
}
