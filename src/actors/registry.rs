//! `id → Addr` for this node's actors. An actor is started on first use (from the store)
//! on the asking thread's arbiter, and forgotten when it stops; the next use starts a new
//! one rebuilt from the store, which is the source of truth.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::actors::drop::{DropActor, DropState, GetState, PlaceHold, Refresh};
use crate::actors::raffle::{
    Enter, GetRaffle, RaffleActor, RaffleState, RaffleWatchers, ReloadRaffle,
};
use crate::bus::Bus;
use crate::clock::Clock;
use crate::db::models::drop::{self as model, HoldOutcome, HoldRequest};
use crate::db::models::raffle::{self as raffle_model, EntryOutcome};
use crate::db::Store;
use crate::domain::ids::{DropId, RaffleId, UserId};
use crate::error::{AppError, AppResult};

pub struct Registry {
    drops: Mutex<HashMap<DropId, Addr<DropActor>>>,
    raffles: Mutex<HashMap<RaffleId, Addr<RaffleActor>>>,
    store: Store,
    bus: Arc<dyn Bus>,
    clock: Clock,
}

impl Registry {
    pub fn new(store: Store, bus: Arc<dyn Bus>, clock: Clock) -> Self {
        Registry {
            drops: Mutex::new(HashMap::new()),
            raffles: Mutex::new(HashMap::new()),
            store,
            bus,
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
        let (row, variants) = model::find(&self.store, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut map = self.drops.lock().map_err(|_| AppError::Internal)?;
        // Another request may have started it while we read the store.
        if let Some(a) = map.get(&id).filter(|a| a.connected()) {
            return Ok(a.clone());
        }
        let actor = DropActor::new(
            self.store.clone(),
            self.bus.clone(),
            self.clock.clone(),
            row,
            variants,
        );
        let addr = actor.start();
        map.insert(id, addr.clone());
        Ok(addr)
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

    /// Tell the drop's actor (starting one if needed) that its rows changed elsewhere, and
    /// wait until it has reloaded: what the caller committed is then what the actor shows.
    pub async fn refresh(&self, id: DropId) -> AppResult<()> {
        let addr = self.drop_actor(id).await?;
        let (done, applied) = oneshot::channel();
        if addr.send(Refresh { done: Some(done) }).await.is_err() {
            // It stopped; the next use starts a fresh one from the store.
            self.forget(id);
            return Ok(());
        }
        let _ = applied.await;
        Ok(())
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
        let mut map = self.raffles.lock().map_err(|_| AppError::Internal)?;
        if let Some(a) = map.get(&id).filter(|a| a.connected()) {
            return Ok(a.clone());
        }
        let addr = RaffleActor::new(
            self.store.clone(),
            self.bus.clone(),
            self.clock.clone(),
            row,
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
}
