//! The storefront actor aggregates one storefront's traffic and sales in memory on this
//! node and pushes the live figures to the owner's dashboard (`dashboard:{id}`).
//!
//! Events are counted the moment they arrive (in `pending`) and written to the store in
//! batches every [`FLUSH_EVERY`]: raw rows and their rollups in one transaction. After
//! each flush the actor re-reads today's committed figures (`base`), which also brings in
//! what other nodes flushed; while someone watches, it re-reads every [`RELOAD_EVERY`]
//! even when idle. The live figures are `base` + the batch being written + `pending`, so
//! an event is never counted twice nor missed between the three.
//!
//! A `202` from `POST /api/events` means "counted in memory": a crash loses at most the
//! last second of analytics (never an order or a hold, which are written before they are
//! acknowledged). That is the usual trade of analytics pipelines, and what lets one node
//! take 100,000 events a second.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{NaiveDate, NaiveDateTime};
use tokio::sync::oneshot;

use super::messages::*;
use crate::bus::LocalSink;
use crate::clock::Clock;
use crate::db::models::analytics::{self as model, Live, Sale, LIVE_MINUTES, TICKER};
use crate::db::Store;
use crate::domain::analytics::{top_values, Dim, Event, Grain, Kind, Rollup, Sketch};
use crate::domain::ids::StorefrontId;
use crate::error::{AppError, AppResult};

/// How often pending events are written (and so the most a crash can lose).
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Pushes to the dashboard are coalesced to at most one per this interval; with the
/// flush/reload cadence an event reaches the owner's screen well within a second.
pub const PUSH_EVERY: Duration = Duration::from_millis(200);
/// While a dashboard watches, today's committed figures are re-read this often, so
/// events flushed by other nodes appear.
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);
/// More unwritten events than this means the store cannot keep up: new page events are
/// refused (503) rather than held in memory without bound. Two seconds at 100,000/s.
pub const MAX_PENDING: usize = 200_000;
/// A visitor sending more events than this in a minute is rate limited (429, not
/// counted) and counted as a bot for the rest of the day. A person reading a storefront
/// opens a page every few seconds at most.
pub const VISITOR_EVENTS_PER_MINUTE: u32 = 30;
/// At most this many visitors are remembered as flagged per day (memory bound).
pub const MAX_FLAGGED: usize = 100_000;
/// Distinct values per top list per day; further values count as `(other)`, so a script
/// inventing paths cannot grow the store or the actor without bound.
pub const MAX_TOP_VALUES: usize = 1_000;
/// "Visitors now" counts the unique visitors of the last this many minutes.
pub const NOW_MINUTES: i64 = 5;
/// A storefront actor nobody has used for this long, with nothing to write, stops.
pub const IDLE_STOP: Duration = Duration::from_secs(600);
/// Top values on the dashboard.
const DASHBOARD_TOP: usize = 10;
/// The value counted in place of new ones once a top list is full.
pub const OTHER: &str = "(other)";

/// Figures of one UTC day, for the live view.
#[derive(Debug, Clone)]
struct Tally {
    day: NaiveDate,
    today: Rollup,
    /// Minute buckets of the last half hour (any day).
    minutes: BTreeMap<NaiveDateTime, Rollup>,
    tops: HashMap<(Dim, String), i64>,
    /// Newest last.
    sales: Vec<Sale>,
}

impl Tally {
    fn empty(day: NaiveDate) -> Tally {
        Tally {
            day,
            today: Rollup::default(),
            minutes: BTreeMap::new(),
            tops: HashMap::new(),
            sales: Vec::new(),
        }
    }

    fn from_live(live: Live) -> Tally {
        let mut sales = live.sales;
        sales.reverse();
        Tally {
            day: live.day,
            today: live.today,
            minutes: live.minutes.into_iter().collect(),
            tops: live.tops,
            sales,
        }
    }

    fn add(&mut self, e: &Event) {
        let day = e.at.date();
        if day > self.day {
            // Midnight passed: what this tally said of "today" is yesterday's.
            *self = Tally {
                minutes: std::mem::take(&mut self.minutes),
                ..Tally::empty(day)
            };
        }
        let minute = Grain::Minute.bucket(e.at);
        self.minutes.entry(minute).or_default().add_event(e);
        let oldest = minute - chrono::Duration::minutes(LIVE_MINUTES);
        while self
            .minutes
            .first_key_value()
            .is_some_and(|(m, _)| *m <= oldest)
        {
            self.minutes.pop_first();
        }
        if day != self.day {
            return;
        }
        self.today.add_event(e);
        for (dim, value) in top_values(e) {
            *self.tops.entry((dim, value.to_string())).or_default() += 1;
        }
        if e.kind == Kind::Purchase && !e.bot {
            self.sales.push(Sale {
                at: e.at.and_utc(),
                order_id: e.ref_id.clone(),
                amount_cents: e.amount_cents,
            });
            if self.sales.len() > 2 * TICKER {
                self.sales.drain(..TICKER);
            }
        }
    }

    /// Add `other` into `self` (the day of `self` wins; another day's "today" is skipped).
    fn absorb(&mut self, other: &Tally) {
        for (m, r) in &other.minutes {
            let mine = self.minutes.entry(*m).or_default();
            mine.counts.add(&r.counts);
            mine.sketch.merge(&r.sketch);
        }
        if other.day != self.day {
            return;
        }
        self.today.counts.add(&other.today.counts);
        self.today.sketch.merge(&other.today.sketch);
        for (k, n) in &other.tops {
            *self.tops.entry(k.clone()).or_default() += n;
        }
        self.sales.extend(other.sales.iter().cloned());
    }
}

/// Events not yet written, and their tally.
struct Pending {
    events: Vec<Event>,
    tally: Tally,
}

impl Pending {
    fn new(day: NaiveDate) -> Pending {
        Pending {
            events: Vec::new(),
            tally: Tally::empty(day),
        }
    }

    fn push(&mut self, e: Event) {
        self.tally.add(&e);
        self.events.push(e);
    }
}

pub struct StorefrontActor {
    id: StorefrontId,
    topic: String,
    store: Store,
    hub: Arc<dyn LocalSink>,
    clock: Clock,
    /// Today as committed, read after the last flush or reload.
    base: Tally,
    /// The tally of the batch being written (its events went to the writing task).
    in_flight: Option<Pending>,
    /// How many events that batch holds.
    in_flight_events: usize,
    pending: Pending,
    /// A flush or reload is running.
    busy: bool,
    flush_waiters: Vec<oneshot::Sender<AppResult<()>>>,
    /// Events per visitor in the current minute.
    rate: HashMap<u64, u32>,
    rate_minute: i64,
    /// Visitors that flooded today: their events count as bots.
    flagged: HashSet<u64>,
    flagged_day: NaiveDate,
    /// Distinct top values seen today, per dimension.
    seen: HashMap<Dim, HashSet<String>>,
    seen_day: NaiveDate,
    seq: u64,
    dirty: bool,
    last_pushed: Option<Dashboard>,
    last_load: Instant,
    last_used: Instant,
}

impl StorefrontActor {
    pub fn new(
        id: StorefrontId,
        store: Store,
        hub: Arc<dyn LocalSink>,
        clock: Clock,
        live: Live,
    ) -> Self {
        let day = live.day;
        let mut seen: HashMap<Dim, HashSet<String>> = HashMap::new();
        for (dim, value) in live.tops.keys() {
            seen.entry(*dim).or_default().insert(value.clone());
        }
        StorefrontActor {
            id,
            topic: format!("dashboard:{id}"),
            store,
            hub,
            clock,
            base: Tally::from_live(live),
            in_flight: None,
            in_flight_events: 0,
            pending: Pending::new(day),
            busy: false,
            flush_waiters: Vec::new(),
            rate: HashMap::new(),
            rate_minute: 0,
            flagged: HashSet::new(),
            flagged_day: day,
            seen,
            seen_day: day,
            seq: 0,
            dirty: false,
            last_pushed: None,
            last_load: Instant::now(),
            last_used: Instant::now(),
        }
    }

    fn watched(&self) -> bool {
        self.hub.watching(&self.topic)
    }

    /// Count an event: cap its top values, add it to `pending`.
    fn count(&mut self, mut e: Event) {
        let day = e.at.date();
        if day != self.seen_day {
            self.seen.clear();
            self.seen_day = day;
        }
        if e.kind == Kind::Pageview && !e.bot {
            for dim in [Dim::Page, Dim::Referrer, Dim::Campaign, Dim::Country] {
                let value = match dim {
                    Dim::Page => &mut e.path,
                    Dim::Referrer => &mut e.referrer,
                    Dim::Campaign => &mut e.utm_campaign,
                    _ => &mut e.country,
                };
                if value.is_empty() {
                    continue;
                }
                let seen = self.seen.entry(dim).or_default();
                if !seen.contains(value.as_str()) {
                    if seen.len() >= MAX_TOP_VALUES {
                        *value = OTHER.to_string();
                    } else {
                        seen.insert(value.clone());
                    }
                }
            }
        }
        self.pending.push(e);
        self.dirty = true;
    }

    fn unwritten(&self) -> usize {
        self.pending.events.len() + self.in_flight_events
    }

    /// Start writing `pending`, or re-reading `base`, unless one of them runs already.
    fn flush_or_reload(&mut self, ctx: &mut Context<Self>, force_reload: bool) {
        if self.busy {
            return;
        }
        let flushing = !self.pending.events.is_empty();
        if !flushing && !force_reload {
            return;
        }
        self.busy = true;
        let now = self.clock.now();
        let mut batch =
            flushing.then(|| std::mem::replace(&mut self.pending, Pending::new(now.date())));
        // The events move to the writing task, which hands them back if the write fails.
        let events: Vec<Event> = batch
            .as_mut()
            .map(|b| std::mem::take(&mut b.events))
            .unwrap_or_default();
        self.in_flight_events = events.len();
        self.in_flight = batch;
        let (store, id) = (self.store.clone(), self.id);
        let addr = ctx.address();
        actix::spawn(async move {
            let written = model::flush(&store, id, &events).await;
            if let (true, Err(e)) = (flushing, &written) {
                tracing::warn!(storefront = %id, error = %e, "analytics flush failed; retried");
            }
            let flushed = flushing && written.is_ok();
            let (result, unwritten) = match written {
                Ok(()) => (model::live(&store, id, now).await, Vec::new()),
                Err(e) => (Err(e), events),
            };
            addr.do_send(Loaded {
                result,
                flushed,
                unwritten,
            });
        });
    }

    fn loaded(&mut self, msg: Loaded, ctx: &mut Context<Self>) {
        self.busy = false;
        self.last_load = Instant::now();
        self.in_flight_events = 0;
        if msg.flushed {
            self.in_flight = None;
        } else if let Some(batch) = self.in_flight.take() {
            // The write failed and rolled back: the batch goes back in front of what came
            // since, and is written with the next flush.
            let mut events = msg.unwritten;
            let mut tally = batch.tally;
            tally.absorb(&self.pending.tally);
            events.append(&mut self.pending.events);
            self.pending = Pending { events, tally };
        }
        match msg.result {
            Ok(live) => self.base = Tally::from_live(live),
            Err(e) => tracing::warn!(storefront = %self.id, error = %e, "analytics reload failed"),
        }
        self.dirty = true;
        if !self.flush_waiters.is_empty() {
            if !msg.flushed && self.in_flight.is_none() && !self.pending.events.is_empty() {
                // A failed write: tell the waiters rather than loop.
                for w in self.flush_waiters.drain(..) {
                    let _ = w.send(Err(AppError::Unavailable));
                }
            } else if self.pending.events.is_empty() {
                for w in self.flush_waiters.drain(..) {
                    let _ = w.send(Ok(()));
                }
            } else {
                self.flush_or_reload(ctx, false);
            }
        }
    }

    /// The live figures: committed + being written + pending.
    fn dashboard(&self) -> Dashboard {
        let now = self.clock.now();
        let mut acc = Tally::empty(now.date());
        acc.absorb(&self.base);
        if let Some(b) = &self.in_flight {
            acc.absorb(&b.tally);
        }
        acc.absorb(&self.pending.tally);

        let this_minute = Grain::Minute.bucket(now);
        let mut visitors_now = Sketch::default();
        let mut views_per_minute = Vec::with_capacity(LIVE_MINUTES as usize);
        for back in (0..LIVE_MINUTES).rev() {
            let m = this_minute - chrono::Duration::minutes(back);
            let r = acc.minutes.get(&m);
            if back < NOW_MINUTES {
                if let Some(r) = r {
                    visitors_now.merge(&r.sketch);
                }
            }
            views_per_minute.push(Minute {
                minute: m.and_utc(),
                views: r.map_or(0, |r| r.counts.pageviews),
            });
        }
        acc.sales.sort_by_key(|s| std::cmp::Reverse(s.at));
        acc.sales.truncate(TICKER);
        let c = acc.today.counts;
        Dashboard {
            storefront_id: self.id,
            seq: self.seq,
            server_time: now.and_utc(),
            visitors_now: visitors_now.estimate(),
            views_per_minute,
            today: Today {
                visitors: acc.today.sketch.estimate(),
                counts: c,
            },
            funnel: Funnel {
                views: c.pageviews,
                holds: c.holds,
                checkouts: c.checkouts,
                purchases: c.purchases,
            },
            sales: acc.sales,
            top_pages: model::top_of(&acc.tops, Dim::Page, DASHBOARD_TOP),
            top_referrers: model::top_of(&acc.tops, Dim::Referrer, DASHBOARD_TOP),
            top_campaigns: model::top_of(&acc.tops, Dim::Campaign, DASHBOARD_TOP),
        }
    }

    /// A sequence number above every earlier one, also across a restart of the actor
    /// (a socket skips numbers it has seen).
    fn next_seq(&mut self) -> u64 {
        self.seq = crate::domain::live::next_seq(self.seq, self.clock.now());
        self.seq
    }

    fn push(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        if !self.watched() {
            return;
        }
        let mut d = self.dashboard();
        let same = self.last_pushed.as_ref().is_some_and(|last| {
            let mut last = last.clone();
            last.seq = d.seq;
            last.server_time = d.server_time;
            last == d
        });
        if same {
            return;
        }
        d.seq = self.next_seq();
        if let Ok(v) = serde_json::to_value(&d) {
            self.hub.deliver(&self.topic, &v);
        }
        self.last_pushed = Some(d);
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let watched = self.watched();
        let stale_day = self.base.day != self.clock.now().date();
        let reload = (watched && self.last_load.elapsed() >= RELOAD_EVERY) || stale_day;
        self.flush_or_reload(ctx, reload);
        if watched {
            // "Visitors now" and the minute chart move with time, not only with events.
            self.dirty = true;
        }
        if !self.busy
            && self.in_flight.is_none()
            && self.pending.events.is_empty()
            && !watched
            && self.last_used.elapsed() >= IDLE_STOP
        {
            ctx.stop();
        }
    }
}

impl Actor for StorefrontActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(65_536);
        ctx.run_interval(FLUSH_EVERY, |act, ctx| act.tick(ctx));
        ctx.run_interval(PUSH_EVERY, |act, _| act.push());
    }
}

impl Handler<Track> for StorefrontActor {
    type Result = MessageResult<Track>;

    fn handle(&mut self, msg: Track, _: &mut Self::Context) -> Self::Result {
        self.last_used = Instant::now();
        let mut e = msg.event;
        if self.unwritten() >= MAX_PENDING {
            return MessageResult(Tracked::Busy);
        }
        let day = e.at.date();
        if day != self.flagged_day || self.flagged.len() >= MAX_FLAGGED {
            self.flagged.clear();
            self.flagged_day = day;
        }
        let minute = e.at.and_utc().timestamp() / 60;
        if minute != self.rate_minute {
            // A fixed one-minute window: the map holds this minute's visitors only.
            self.rate.clear();
            self.rate_minute = minute;
        }
        let n = self.rate.entry(e.visitor).or_insert(0);
        *n += 1;
        if *n > VISITOR_EVENTS_PER_MINUTE {
            self.flagged.insert(e.visitor);
            return MessageResult(Tracked::Limited);
        }
        if self.flagged.contains(&e.visitor) {
            e.bot = true;
        }
        self.count(e);
        MessageResult(Tracked::Accepted)
    }
}

impl Handler<Record> for StorefrontActor {
    type Result = ();

    fn handle(&mut self, msg: Record, _: &mut Self::Context) {
        self.last_used = Instant::now();
        self.count(msg.event);
    }
}

impl Handler<GetDashboard> for StorefrontActor {
    type Result = MessageResult<GetDashboard>;

    fn handle(&mut self, _: GetDashboard, _: &mut Self::Context) -> Self::Result {
        self.last_used = Instant::now();
        let mut d = self.dashboard();
        d.seq = self.next_seq();
        MessageResult(d)
    }
}

impl Handler<FlushNow> for StorefrontActor {
    type Result = ();

    fn handle(&mut self, msg: FlushNow, ctx: &mut Self::Context) {
        self.last_used = Instant::now();
        if !self.busy && self.pending.events.is_empty() && self.in_flight.is_none() {
            let _ = msg.done.send(Ok(()));
            return;
        }
        self.flush_waiters.push(msg.done);
        self.flush_or_reload(ctx, false);
    }
}

impl Handler<Forget> for StorefrontActor {
    type Result = ();

    fn handle(&mut self, msg: Forget, ctx: &mut Self::Context) {
        let day = self.clock.now().date();
        self.pending = Pending::new(day);
        self.base = Tally::empty(day);
        self.seen.clear();
        self.dirty = true;
        let _ = msg.done.send(());
        self.flush_or_reload(ctx, true);
    }
}

impl Handler<Loaded> for StorefrontActor {
    type Result = ();

    fn handle(&mut self, msg: Loaded, ctx: &mut Self::Context) {
        self.loaded(msg, ctx);
    }
}
