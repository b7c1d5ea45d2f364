//! `id → Addr` for this node's actors. An actor is started on first use (from the store)
//! on the asking thread's arbiter, and forgotten when it stops; the next use starts a new
//! one rebuilt from the store, which is the source of truth.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::actors::drop::{
    Checkout, DropActor, DropState, EndHolds, GetState, Offer, PlaceHold, Refresh, Restock,
    SeenElsewhere, SetStock, Settle, WatchersElsewhere,
};
use crate::actors::raffle::{
    Enter, GetRaffle, RaffleActor, RaffleState, RaffleWatchers, ReloadRaffle,
};
use crate::actors::storefront::{
    Dashboard, FlushNow, Forget, GetDashboard, Record, StorefrontActor, Track, Tracked,
};
use crate::bus::Bus;
use crate::bus::LocalSink;
use crate::clock::Clock;
use crate::db::models::analytics as analytics_model;
use crate::db::models::drop::{HoldOutcome, HoldRequest, HoldRow};
use crate::db::models::raffle::{self as raffle_model, EntryOutcome};
use crate::db::Store;
use crate::domain::analytics::Event as AnalyticsEvent;
use crate::domain::drop::HoldEnd;
use crate::domain::ids::{DropId, HoldId, RaffleId, StorefrontId, UserId, VariantId};
use crate::error::{AppError, AppResult};

pub struct Registry {
    drops: Mutex<HashMap<DropId, Addr<DropActor>>>,
    raffles: Mutex<HashMap<RaffleId, Addr<RaffleActor>>>,
    storefronts: Mutex<HashMap<StorefrontId, Addr<StorefrontActor>>>,
    /// Each drop's storefront, learnt when its actor starts (it never changes), so the
    /// analytics of a hold need no message to the busy drop actor.
    drop_storefronts: Mutex<HashMap<DropId, StorefrontId>>,
    /// Published storefronts by slug, for `POST /api/events` (which names the slug), with
    /// when each was read; unknown slugs are remembered too, so junk costs no query.
    slugs: Mutex<HashMap<String, (Option<StorefrontId>, Instant)>>,
    /// Today's visitor salt.
    salt: std::sync::RwLock<Option<(chrono::NaiveDate, Arc<[u8]>)>>,
    /// Held while today's salt is fetched, so one request per node asks the store.
    salt_fetch: tokio::sync::Mutex<()>,
    /// Events the server recorded (holds, checkouts, sales), waiting to be handed to their
    /// storefront's actor by `analytics::run`: one short lock per event on the request's
    /// path instead of a task and a message each.
    inbox: Mutex<Vec<(DropId, AnalyticsEvent)>>,
    store: Store,
    bus: Arc<dyn Bus>,
    hub: Arc<dyn LocalSink>,
    clock: Clock,
}

/// How long a slug's storefront is remembered by [`Registry::storefront_by_slug`].
const SLUG_TTL: Duration = Duration::from_secs(30);
/// At most this many slugs are remembered; the map is emptied when it is full.
const MAX_SLUGS: usize = 10_000;

impl Registry {
    pub fn new(store: Store, bus: Arc<dyn Bus>, hub: Arc<dyn LocalSink>, clock: Clock) -> Self {
        Registry {
            drops: Mutex::new(HashMap::new()),
            raffles: Mutex::new(HashMap::new()),
            storefronts: Mutex::new(HashMap::new()),
            drop_storefronts: Mutex::new(HashMap::new()),
            slugs: Mutex::new(HashMap::new()),
            salt: std::sync::RwLock::new(None),
            salt_fetch: tokio::sync::Mutex::new(()),
            inbox: Mutex::new(Vec::new()),
            store,
            bus,
            hub,
            clock,
        }
    }

    /// The running actor for `id`, if this node has one.
    pub fn loaded(&self, id: DropId) -> Option<Addr<DropActor>> {
        let map = self.drops.lock().ok()?;
        map.get(&id).filter(|a| a.connected()).cloned()
    }

    /// The actor for `id`, started from the store if needed. `NotFound` for no such drop.
    pub async fn drop_actor(&self, id: DropId) -> AppResult<Addr<DropActor>> {
        if let Some(a) = self.loaded(id) {
            return Ok(a);
        }
        // The actor decides in memory: it starts with the stock, the buyers' totals and the
        // keyed holds, read in a few set queries (not a row per hold).
        let actor = DropActor::load(self.store.clone(), self.bus.clone(), self.clock.clone(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut map = self.drops.lock().map_err(|_| AppError::Internal)?;
        // Another request may have started it while we read the store.
        if let Some(a) = map.get(&id).filter(|a| a.connected()) {
            return Ok(a.clone());
        }
        if let Ok(mut sfs) = self.drop_storefronts.lock() {
            sfs.insert(id, actor.storefront_id());
        }
        let addr = actor.start();
        map.insert(id, addr.clone());
        Ok(addr)
    }

    /// Hand each drop state another node publishes to this node's actor for that drop, if
    /// it has one, so that an actor another node's writes left behind catches up (until the
    /// process ends; nothing to do without other nodes).
    pub async fn follow_elsewhere(self: Arc<Self>, bus: Arc<dyn Bus>) {
        let Some(mut rx) = bus.remote() else { return };
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let Some(id) = event.topic.strip_prefix("watchers:drop:") {
                        let actor = id.parse::<DropId>().ok().and_then(|id| self.loaded(id));
                        let count = serde_json::from_value::<WatchersElsewhere>(event.payload);
                        if let (Some(actor), Ok(count)) = (actor, count) {
                            actor.do_send(count);
                        }
                        continue;
                    }
                    let id = event.topic.strip_prefix("drop:");
                    let Some(Ok(id)) = id.map(str::parse::<DropId>) else {
                        continue;
                    };
                    if let Some(actor) = self.loaded(id) {
                        match serde_json::from_value::<SeenElsewhere>(event.payload) {
                            Ok(seen) => actor.do_send(seen),
                            Err(e) => {
                                tracing::warn!(error = %e, "unreadable drop state from another node")
                            }
                        }
                    }
                }
                // Missed states are superseded by the next one; the tick re-reads anyway
                // once a newer one differs.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    fn forget(&self, id: DropId) {
        if let Ok(mut map) = self.drops.lock() {
            if map.get(&id).is_some_and(|a| !a.connected()) {
                map.remove(&id);
            }
        }
    }

    /// Ask the drop's actor for units; answered after the batch commits.
    pub async fn hold(&self, id: DropId, request: HoldRequest) -> AppResult<HoldOutcome> {
        // Two tries: the actor may stop (idle) between the lookup and the send.
        for _ in 0..2 {
            let addr = self.drop_actor(id).await?;
            let (reply, answer) = oneshot::channel();
            match addr
                .send(PlaceHold {
                    request: request.clone(),
                    reply,
                })
                .await
            {
                Ok(()) => return answer.await.map_err(|_| AppError::Unavailable)?,
                Err(_) => self.forget(id),
            }
        }
        Err(AppError::Unavailable)
    }

    /// The storefront a drop belongs to.
    pub async fn storefront_of(&self, id: DropId) -> AppResult<StorefrontId> {
        if let Some(sf) = self
            .drop_storefronts
            .lock()
            .ok()
            .and_then(|m| m.get(&id).copied())
        {
            return Ok(sf);
        }
        // Starting the drop's actor (from its row) records it.
        Ok(self.state(id).await?.storefront_id)
    }

    /// The drop's live state.
    pub async fn state(&self, id: DropId) -> AppResult<DropState> {
        for _ in 0..2 {
            let addr = self.drop_actor(id).await?;
            match addr.send(GetState).await {
                Ok(s) => return Ok(s),
                Err(_) => self.forget(id),
            }
        }
        Err(AppError::Unavailable)
    }

    /// Tell the drop's actor (starting one if needed) that its drop row or stock changed
    /// elsewhere (a status, a sale), and wait until it has reloaded: what the caller
    /// committed is then what the actor shows.
    pub async fn refresh(&self, id: DropId) -> AppResult<()> {
        self.reload(id, false).await
    }

    /// Like [`Registry::refresh`], for holds written outside the actor's batches (the
    /// waiting room): the buyers' totals and keyed holds are re-read too.
    pub async fn refresh_all(&self, id: DropId) -> AppResult<()> {
        self.reload(id, true).await
    }

    async fn reload(&self, id: DropId, full: bool) -> AppResult<()> {
        let addr = self.drop_actor(id).await?;
        let (done, applied) = oneshot::channel();
        if addr
            .send(Refresh {
                done: Some(done),
                full,
            })
            .await
            .is_err()
        {
            // It stopped; the next use starts a fresh one from the store.
            self.forget(id);
            return Ok(());
        }
        // Deliberately not an error when the reload failed: the caller's write has
        // committed and its answer is true; the actor logs the failure and reloads again a
        // second later (`RELOAD_RETRY`) until its memory has caught up.
        applied.await.map_err(|_| AppError::Unavailable)
    }

    /// Ask the drop's actor for one write in its order and wait for the answer.
    async fn ask<T, M>(
        &self,
        id: DropId,
        make: impl Fn(oneshot::Sender<AppResult<T>>) -> M,
    ) -> AppResult<T>
    where
        M: actix::Message<Result = ()> + Send + 'static,
        DropActor: actix::Handler<M>,
    {
        for _ in 0..2 {
            let addr = self.drop_actor(id).await?;
            let (reply, answer) = oneshot::channel();
            match addr.send(make(reply)).await {
                Ok(()) => return answer.await.map_err(|_| AppError::Unavailable)?,
                Err(_) => self.forget(id),
            }
        }
        Err(AppError::Unavailable)
    }

    /// End holds of one drop through its actor (a release, expiries, a cancellation, which
    /// ends every active hold whatever `holds` says). Returns those that ended here.
    pub async fn end_holds(
        &self,
        id: DropId,
        holds: Vec<HoldId>,
        how: HoldEnd,
    ) -> AppResult<Vec<HoldRow>> {
        self.ask(id, |reply| EndHolds {
            holds: holds.clone(),
            how,
            reply,
        })
        .await
    }

    /// Place a raffle winner's hold through the drop's actor (decided by the store).
    pub async fn offer(
        &self,
        id: DropId,
        request: HoldRequest,
        hold_seconds: i64,
    ) -> AppResult<HoldOutcome> {
        self.ask(id, |reply| Offer {
            request: request.clone(),
            hold_seconds,
            reply,
        })
        .await
    }

    /// Open an order for a hold through its drop's actor (payment start).
    pub async fn checkout(
        &self,
        id: DropId,
        hold: HoldId,
        buyer: UserId,
    ) -> AppResult<crate::db::models::order::OrderRow> {
        self.ask(id, |reply| Checkout { hold, buyer, reply }).await
    }

    /// Apply a payment outcome through the order's drop's actor (a sale).
    pub async fn settle(
        &self,
        id: DropId,
        event_id: &str,
        order: crate::domain::ids::OrderId,
        succeeded: bool,
        payment_ref: &str,
    ) -> AppResult<crate::db::models::order::Applied> {
        self.ask(id, |reply| Settle {
            event_id: event_id.to_string(),
            order,
            succeeded,
            payment_ref: payment_ref.to_string(),
            reply,
        })
        .await
    }

    /// Set a variant's stock through the drop's actor; `false` if held + sold exceed it.
    pub async fn set_stock(&self, id: DropId, variant: VariantId, units: i64) -> AppResult<bool> {
        self.ask(id, |reply| SetStock {
            variant,
            stock: units,
            reply,
        })
        .await
    }

    /// A refunded order's units back in its drop's stock, through the drop's actor (once).
    pub async fn restock(&self, id: DropId, order: crate::domain::ids::OrderId) -> AppResult<bool> {
        self.ask(id, |reply| Restock { order, reply }).await
    }

    /// The running raffle actor for `id`, if this node has one.
    pub fn raffle_loaded(&self, id: RaffleId) -> Option<Addr<RaffleActor>> {
        let map = self.raffles.lock().ok()?;
        map.get(&id).filter(|a| a.connected()).cloned()
    }

    /// The raffle's actor, started from the store if needed. `NotFound` for no such raffle.
    pub async fn raffle_actor(&self, id: RaffleId) -> AppResult<Addr<RaffleActor>> {
        if let Some(a) = self.raffle_loaded(id) {
            return Ok(a);
        }
        let row = raffle_model::find(&self.store, id)
            .await?
            .ok_or(AppError::NotFound)?;
        // Who runs it (its storefront's owner, or for a platform raffle its creator) may
        // not enter it.
        let runner = match row.storefront_id {
            Some(sf) => crate::db::models::drop::storefront_owner(&self.store, sf).await?,
            None => row.created_by,
        };
        let entered = raffle_model::free_entrants(&self.store, id).await?;
        let mut map = self.raffles.lock().map_err(|_| AppError::Internal)?;
        if let Some(a) = map.get(&id).filter(|a| a.connected()) {
            return Ok(a.clone());
        }
        let addr = RaffleActor::new(
            self.store.clone(),
            self.bus.clone(),
            self.clock.clone(),
            row,
            runner,
            entered,
        )
        .start();
        map.insert(id, addr.clone());
        Ok(addr)
    }

    fn forget_raffle(&self, id: RaffleId) {
        if let Ok(mut map) = self.raffles.lock() {
            if map.get(&id).is_some_and(|a| !a.connected()) {
                map.remove(&id);
            }
        }
    }

    /// Enter `user` in the raffle; answered after the entry batch commits.
    pub async fn enter(&self, id: RaffleId, user: UserId) -> AppResult<EntryOutcome> {
        for _ in 0..2 {
            let addr = self.raffle_actor(id).await?;
            let (reply, answer) = oneshot::channel();
            match addr.send(Enter { user, reply }).await {
                Ok(()) => return answer.await.map_err(|_| AppError::Unavailable)?,
                Err(_) => self.forget_raffle(id),
            }
        }
        Err(AppError::Unavailable)
    }

    /// The raffle's live state.
    pub async fn raffle_state(&self, id: RaffleId) -> AppResult<RaffleState> {
        for _ in 0..2 {
            let addr = self.raffle_actor(id).await?;
            match addr.send(GetRaffle).await {
                Ok(s) => return Ok(s),
                Err(_) => self.forget_raffle(id),
            }
        }
        Err(AppError::Unavailable)
    }

    /// The raffle's row changed elsewhere: reload (if this node runs its actor) and wait.
    pub async fn raffle_reload(&self, id: RaffleId) -> AppResult<()> {
        let Some(addr) = self.raffle_loaded(id) else {
            return Ok(());
        };
        let (done, applied) = oneshot::channel();
        if addr.send(ReloadRaffle { done: Some(done) }).await.is_err() {
            self.forget_raffle(id);
            return Ok(());
        }
        // As for a drop: a failed reload is the actor's to retry (it does, a second later),
        // not the committed change's to report.
        let _ = applied.await;
        Ok(())
    }

    /// A socket started or stopped watching a raffle on this node.
    pub fn raffle_watchers(&self, id: RaffleId, delta: i64) {
        if let Some(addr) = self.raffle_loaded(id) {
            addr.do_send(RaffleWatchers { delta });
        }
    }

    /// Ledger rows changed for raffles this node may show (a sale, a refund): reload every
    /// raffle actor running here, and wait. Other nodes re-read while watched.
    pub async fn reload_raffles(&self) {
        let addrs: Vec<Addr<RaffleActor>> = match self.raffles.lock() {
            Ok(map) => map.values().filter(|a| a.connected()).cloned().collect(),
            Err(_) => return,
        };
        for addr in addrs {
            let (done, applied) = oneshot::channel();
            if addr.send(ReloadRaffle { done: Some(done) }).await.is_ok() {
                let _ = applied.await;
            }
        }
    }

    /// The storefront's analytics actor, started from today's committed figures if needed.
    pub async fn storefront_actor(&self, id: StorefrontId) -> AppResult<Addr<StorefrontActor>> {
        if let Some(a) = self
            .storefronts
            .lock()
            .ok()
            .and_then(|m| m.get(&id).filter(|a| a.connected()).cloned())
        {
            return Ok(a);
        }
        let live = analytics_model::live(&self.store, id, self.clock.now()).await?;
        let mut map = self.storefronts.lock().map_err(|_| AppError::Internal)?;
        if let Some(a) = map.get(&id).filter(|a| a.connected()) {
            return Ok(a.clone());
        }
        let addr = StorefrontActor::new(
            id,
            self.store.clone(),
            self.hub.clone(),
            self.clock.clone(),
            live,
        )
        .start();
        map.insert(id, addr.clone());
        Ok(addr)
    }

    fn forget_storefront(&self, id: StorefrontId) {
        if let Ok(mut map) = self.storefronts.lock() {
            if map.get(&id).is_some_and(|a| !a.connected()) {
                map.remove(&id);
            }
        }
    }

    /// Count a page's event (`POST /api/events`).
    pub async fn track(&self, id: StorefrontId, event: AnalyticsEvent) -> AppResult<Tracked> {
        for _ in 0..2 {
            let addr = self.storefront_actor(id).await?;
            match addr
                .send(Track {
                    event: event.clone(),
                })
                .await
            {
                Ok(t) => return Ok(t),
                Err(_) => self.forget_storefront(id),
            }
        }
        Err(AppError::Unavailable)
    }

    /// Record an event the server itself saw (after its write committed). Best effort:
    /// analytics never fail the request that caused them.
    pub async fn record(&self, id: StorefrontId, event: AnalyticsEvent) {
        for _ in 0..2 {
            match self.storefront_actor(id).await {
                Ok(addr) => match addr
                    .send(Record {
                        event: event.clone(),
                    })
                    .await
                {
                    Ok(()) => return,
                    Err(_) => self.forget_storefront(id),
                },
                Err(e) => {
                    tracing::warn!(storefront = %id, error = %e, "analytics event not recorded");
                    return;
                }
            }
        }
    }

    /// The storefront's live dashboard figures.
    pub async fn dashboard(&self, id: StorefrontId) -> AppResult<Dashboard> {
        for _ in 0..2 {
            let addr = self.storefront_actor(id).await?;
            match addr.send(GetDashboard).await {
                Ok(d) => return Ok(d),
                Err(_) => self.forget_storefront(id),
            }
        }
        Err(AppError::Unavailable)
    }

    /// Write the storefront's pending analytics now (if this node has any).
    pub async fn flush_analytics(&self, id: StorefrontId) -> AppResult<()> {
        self.drain_inbox().await;
        let Some(addr) = self
            .storefronts
            .lock()
            .ok()
            .and_then(|m| m.get(&id).filter(|a| a.connected()).cloned())
        else {
            return Ok(());
        };
        let (done, flushed) = oneshot::channel();
        if addr.send(FlushNow { done }).await.is_err() {
            return Ok(());
        }
        flushed.await.map_err(|_| AppError::Unavailable)?
    }

    /// Keep a server-recorded event of `drop`'s storefront for the next [`Registry::drain_inbox`].
    pub fn note(&self, drop: DropId, event: AnalyticsEvent) {
        if let Ok(mut inbox) = self.inbox.lock() {
            inbox.push((drop, event));
        }
    }

    /// Hand every event in the inbox to its storefront's actor.
    pub async fn drain_inbox(&self) {
        let events = match self.inbox.lock() {
            Ok(mut inbox) if !inbox.is_empty() => std::mem::take(&mut *inbox),
            _ => return,
        };
        let events = crate::domain::analytics::merge_holds(events);
        for (drop, event) in events {
            match self.storefront_of(drop).await {
                Ok(sf) => self.record(sf, event).await,
                Err(e) => tracing::warn!(drop = %drop, error = %e, "analytics event not recorded"),
            }
        }
    }

    /// Write every storefront's pending analytics (graceful shutdown).
    pub async fn flush_all_analytics(&self) {
        self.drain_inbox().await;
        let ids: Vec<StorefrontId> = match self.storefronts.lock() {
            Ok(m) => m.keys().copied().collect(),
            Err(_) => return,
        };
        for id in ids {
            if let Err(e) = self.flush_analytics(id).await {
                tracing::warn!(storefront = %id, error = %e, "analytics not flushed at shutdown");
            }
        }
    }

    /// The storefront's analytics were deleted: drop this node's unwritten events.
    pub async fn forget_analytics(&self, id: StorefrontId) {
        let addr = self
            .storefronts
            .lock()
            .ok()
            .and_then(|m| m.get(&id).filter(|a| a.connected()).cloned());
        if let Some(addr) = addr {
            let (done, forgotten) = oneshot::channel();
            if addr.send(Forget { done }).await.is_ok() {
                let _ = forgotten.await;
            }
        }
    }

    /// The published storefront with this slug or id (remembered for [`SLUG_TTL`]).
    pub async fn storefront_by_slug(&self, slug: &str) -> AppResult<Option<StorefrontId>> {
        if let Ok(map) = self.slugs.lock() {
            if let Some((id, at)) = map.get(slug) {
                if at.elapsed() < SLUG_TTL {
                    return Ok(*id);
                }
            }
        }
        // Pages that know their storefront by id (drop and raffle pages) send the id.
        let row = match StorefrontId::parse(slug) {
            Some(id) => crate::db::models::storefront::find(&self.store, id).await?,
            None => crate::db::models::storefront::find_by_slug(&self.store, slug).await?,
        };
        let id = row.filter(|s| s.status == "published").map(|s| s.id);
        if let Ok(mut map) = self.slugs.lock() {
            if map.len() >= MAX_SLUGS {
                map.clear();
            }
            map.insert(slug.to_string(), (id, Instant::now()));
        }
        Ok(id)
    }

    /// The visitor salt of `now`'s UTC day (the same on every node: kept in the store).
    pub async fn visitor_salt(&self, now: chrono::NaiveDateTime) -> AppResult<Arc<[u8]>> {
        let day = now.date();
        let cached = || {
            self.salt.read().ok().and_then(|s| {
                s.as_ref()
                    .filter(|(d, _)| *d == day)
                    .map(|(_, s)| s.clone())
            })
        };
        if let Some(s) = cached() {
            return Ok(s);
        }
        let _one = self.salt_fetch.lock().await;
        if let Some(s) = cached() {
            return Ok(s);
        }
        let s: Arc<[u8]> = analytics_model::salt_for(&self.store, day, now)
            .await?
            .into();
        if let Ok(mut slot) = self.salt.write() {
            *slot = Some((day, s.clone()));
        }
        Ok(s)
    }
}
