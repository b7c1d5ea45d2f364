//! Analytics in the store: the daily visitor salt, the batched flush of raw events with
//! their rollups (one transaction), the live figures a storefront actor starts from, the
//! reports of `GET /api/storefronts/{id}/analytics`, pruning and deletion.
//!
//! Rollup counts are additive; a bucket's visitor sketch is merged by read, merge and a
//! write conditional on the row's `version`, retried when another node got there first,
//! so two nodes flushing the same minute never lose each other's visitors.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::schema::{analytics_events, analytics_rollups, analytics_salts, analytics_top};
use crate::db::{DbConn, Store};
use crate::db_run;
use crate::domain::analytics::{BatchRollup, Counts, Dim, Event, Grain, Kind, Rollup, Sketch};
use crate::domain::ids::StorefrontId;
use crate::error::{AppError, AppResult};

/// Minute rollups are kept this long (the live view needs the last half hour).
pub const KEEP_MINUTES: Duration = Duration::days(2);
/// Hourly rollups feed the 24 h range; kept a little over the longest range.
pub const KEEP_HOURS: Duration = Duration::days(35);
/// Raw events are kept for the longest range, then only their rollups remain.
pub const KEEP_EVENTS: Duration = Duration::days(31);
/// Postgres binds at most 65,535 parameters per statement; 16 columns per event.
const PG_CHUNK: usize = 2000;

#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = analytics_events)]
pub struct EventRow {
    pub id: String,
    pub storefront_id: StorefrontId,
    pub at: NaiveDateTime,
    pub kind: String,
    pub visitor: i64,
    pub path: String,
    pub referrer: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub device: String,
    pub country: String,
    pub bot: bool,
    pub amount_cents: i64,
    pub ref_id: String,
    /// How many events this row stands for (a drop's holds within a minute are one row).
    pub count: i64,
}

impl EventRow {
    fn of(sf: StorefrontId, e: &Event) -> EventRow {
        EventRow {
            id: uuid::Uuid::now_v7().to_string(),
            storefront_id: sf,
            at: e.at,
            kind: e.kind.as_str().to_string(),
            visitor: e.visitor as i64,
            path: e.path.clone(),
            referrer: e.referrer.clone(),
            utm_source: e.utm_source.clone(),
            utm_medium: e.utm_medium.clone(),
            utm_campaign: e.utm_campaign.clone(),
            device: e.device.to_string(),
            country: e.country.clone(),
            bot: e.bot,
            amount_cents: e.amount_cents,
            ref_id: e.ref_id.clone(),
            count: e.count,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = analytics_rollups)]
pub struct RollupRow {
    pub storefront_id: StorefrontId,
    pub grain: String,
    pub bucket: NaiveDateTime,
    pub pageviews: i64,
    pub clicks: i64,
    pub bots: i64,
    pub holds: i64,
    pub checkouts: i64,
    pub purchases: i64,
    pub revenue_cents: i64,
    pub visitors: i64,
    pub sketch: Vec<u8>,
    pub version: i64,
}

impl RollupRow {
    pub fn counts(&self) -> Counts {
        Counts {
            pageviews: self.pageviews,
            clicks: self.clicks,
            bots: self.bots,
            holds: self.holds,
            checkouts: self.checkouts,
            purchases: self.purchases,
            revenue_cents: self.revenue_cents,
        }
    }

    pub fn rollup(&self) -> Rollup {
        Rollup {
            counts: self.counts(),
            sketch: Sketch::from_bytes(&self.sketch),
        }
    }

    fn merged(&self, add: &Rollup) -> RollupRow {
        let mut r = self.rollup();
        r.counts.add(&add.counts);
        r.sketch.merge(&add.sketch);
        RollupRow::of(
            self.storefront_id,
            &self.grain,
            self.bucket,
            &r,
            self.version + 1,
        )
    }

    fn of(
        sf: StorefrontId,
        grain: &str,
        bucket: NaiveDateTime,
        r: &Rollup,
        version: i64,
    ) -> RollupRow {
        let c = r.counts;
        RollupRow {
            storefront_id: sf,
            grain: grain.to_string(),
            bucket,
            pageviews: c.pageviews,
            clicks: c.clicks,
            bots: c.bots,
            holds: c.holds,
            checkouts: c.checkouts,
            purchases: c.purchases,
            revenue_cents: c.revenue_cents,
            visitors: r.sketch.estimate(),
            sketch: r.sketch.as_bytes().to_vec(),
            version,
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = analytics_top)]
struct TopRow {
    storefront_id: StorefrontId,
    day: NaiveDateTime,
    dim: String,
    value: String,
    hits: i64,
}

/// The salt of `day` (UTC), made by whichever node asks first. Salts of earlier days are
/// deleted by [`prune`].
pub async fn salt_for(store: &Store, day: NaiveDate, now: NaiveDateTime) -> AppResult<Vec<u8>> {
    let key = day.format("%Y-%m-%d").to_string();
    let fresh: [u8; 32] = rand::random();
    let mut conn = store.write().await?;
    let salt: String = db_run!(conn, |c| {
        diesel::insert_into(analytics_salts::table)
            .values((
                analytics_salts::day.eq(&key),
                analytics_salts::salt.eq(hex::encode(fresh)),
                analytics_salts::created_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(c)
            .await?;
        analytics_salts::table
            .find(&key)
            .select(analytics_salts::salt)
            .first(c)
            .await
    })?;
    // An empty salt would make visitor ids guessable: an unreadable one is an error.
    match hex::decode(&salt) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(AppError::internal(format!(
            "unreadable visitor salt for {day}"
        ))),
    }
}

/// Upsert one bucket's rollup: insert it, or merge it into the row another flush wrote
/// (retried while a concurrent flush keeps changing the row's version).
macro_rules! upsert_rollup {
    ($c:expr, $sf:expr, $grain:expr, $bucket:expr, $add:expr) => {{
        loop {
            let existing: Option<RollupRow> = analytics_rollups::table
                .find(($sf, $grain.as_str(), $bucket))
                .select(RollupRow::as_select())
                .first($c)
                .await
                .optional()?;
            let done = match existing {
                None => {
                    diesel::insert_into(analytics_rollups::table)
                        .values(&RollupRow::of($sf, $grain.as_str(), $bucket, $add, 0))
                        .on_conflict_do_nothing()
                        .execute($c)
                        .await?
                }
                Some(row) => {
                    let new = row.merged($add);
                    diesel::update(
                        analytics_rollups::table
                            .find(($sf, $grain.as_str(), $bucket))
                            .filter(analytics_rollups::version.eq(row.version)),
                    )
                    .set((
                        analytics_rollups::pageviews.eq(new.pageviews),
                        analytics_rollups::clicks.eq(new.clicks),
                        analytics_rollups::bots.eq(new.bots),
                        analytics_rollups::holds.eq(new.holds),
                        analytics_rollups::checkouts.eq(new.checkouts),
                        analytics_rollups::purchases.eq(new.purchases),
                        analytics_rollups::revenue_cents.eq(new.revenue_cents),
                        analytics_rollups::visitors.eq(new.visitors),
                        analytics_rollups::sketch.eq(&new.sketch),
                        analytics_rollups::version.eq(new.version),
                    ))
                    .execute($c)
                    .await?
                }
            };
            if done == 1 {
                break;
            }
        }
    }};
}

/// Add the rollups and top values of a batch (inside the flush transaction).
macro_rules! write_rollups {
    ($c:expr, $sf:expr, $rollup:expr) => {{
        for ((grain, bucket), add) in &$rollup.buckets {
            upsert_rollup!($c, $sf, grain, *bucket, add);
        }
        for ((day, dim, value), hits) in &$rollup.tops {
            diesel::insert_into(analytics_top::table)
                .values(&TopRow {
                    storefront_id: $sf,
                    day: *day,
                    dim: dim.as_str().to_string(),
                    value: value.clone(),
                    hits: *hits,
                })
                .on_conflict((
                    analytics_top::storefront_id,
                    analytics_top::day,
                    analytics_top::dim,
                    analytics_top::value,
                ))
                .do_update()
                .set(analytics_top::hits.eq(analytics_top::hits + excluded(analytics_top::hits)))
                .execute($c)
                .await?;
        }
        Ok::<(), diesel::result::Error>(())
    }};
}

/// Write a batch of raw events and their rollups in one transaction: after it commits the
/// rollups equal the raw counts, and before, neither is visible.
pub async fn flush(store: &Store, sf: StorefrontId, events: &[Event]) -> AppResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let rollup = BatchRollup::of(events);
    let rows: Vec<EventRow> = events.iter().map(|e| EventRow::of(sf, e)).collect();
    let mut conn = store.write().await?;
    match &mut conn {
        // SQLite: the wrapper runs each statement on a blocking thread, which costs more than
        // the insert itself; the raw rows go in from one blocking task on the same
        // connection, inside the same transaction (multi-row VALUES with this schema's
        // types does not compile for SQLite either).
        DbConn::Sqlite(c) => {
            let c: &mut crate::db::SqliteConn = c;
            c.transaction::<_, diesel::result::Error, _>(async |c| {
                c.spawn_blocking(move |sync| {
                    for row in &rows {
                        // The blocking connection runs diesel's own (sync) RunQueryDsl.
                        diesel::RunQueryDsl::execute(
                            diesel::insert_into(analytics_events::table).values(row),
                            sync,
                        )?;
                    }
                    Ok(())
                })
                .await?;
                write_rollups!(c, sf, rollup)
            })
            .await?
        }
        DbConn::Postgres(c) => {
            let c: &mut crate::db::PgConn = c;
            c.transaction::<_, diesel::result::Error, _>(async |c| {
                for chunk in rows.chunks(PG_CHUNK) {
                    diesel::insert_into(analytics_events::table)
                        .values(chunk)
                        .execute(c)
                        .await?;
                }
                write_rollups!(c, sf, rollup)
            })
            .await?
        }
    }
    Ok(())
}

/// A sale for the dashboard's ticker.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Sale {
    pub at: chrono::DateTime<chrono::Utc>,
    pub order_id: String,
    pub amount_cents: i64,
}

/// What a storefront actor starts from (and re-reads after each flush): today's figures
/// as committed by every node.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub day: NaiveDate,
    pub today: Rollup,
    /// The last half hour's minute rollups.
    pub minutes: Vec<(NaiveDateTime, Rollup)>,
    pub tops: HashMap<(Dim, String), i64>,
    /// Today's last sales, newest first.
    pub sales: Vec<Sale>,
}

/// How far back the live view's per-minute series reaches.
pub const LIVE_MINUTES: i64 = 30;
/// How many sales the ticker shows.
pub const TICKER: usize = 20;
/// How many top values per dimension are loaded for the live view.
pub const LIVE_TOP: usize = 50;

pub async fn live(store: &Store, sf: StorefrontId, now: NaiveDateTime) -> AppResult<Live> {
    let day = now.date();
    let day_bucket = Grain::Day.bucket(now);
    let since = Grain::Minute.bucket(now) - Duration::minutes(LIVE_MINUTES);
    let mut conn = store.read().await?;
    let (today, minutes, tops, sales) = db_run!(conn, |c| {
        let today: Option<RollupRow> = analytics_rollups::table
            .find((sf, "day", day_bucket))
            .select(RollupRow::as_select())
            .first(c)
            .await
            .optional()?;
        let minutes: Vec<RollupRow> = analytics_rollups::table
            .filter(analytics_rollups::storefront_id.eq(sf))
            .filter(analytics_rollups::grain.eq("minute"))
            .filter(analytics_rollups::bucket.gt(since))
            .order(analytics_rollups::bucket.asc())
            .select(RollupRow::as_select())
            .load(c)
            .await?;
        let tops: Vec<(String, String, i64)> = analytics_top::table
            .filter(analytics_top::storefront_id.eq(sf))
            .filter(analytics_top::day.eq(day_bucket))
            .select((
                analytics_top::dim,
                analytics_top::value,
                analytics_top::hits,
            ))
            .load(c)
            .await?;
        let sales: Vec<(NaiveDateTime, String, i64)> = analytics_events::table
            .filter(analytics_events::storefront_id.eq(sf))
            .filter(analytics_events::at.ge(day_bucket))
            .filter(analytics_events::kind.eq(Kind::Purchase.as_str()))
            .filter(analytics_events::bot.eq(false))
            .order(analytics_events::at.desc())
            .limit(TICKER as i64)
            .select((
                analytics_events::at,
                analytics_events::ref_id,
                analytics_events::amount_cents,
            ))
            .load(c)
            .await?;
        Ok::<_, diesel::result::Error>((today, minutes, tops, sales))
    })?;
    Ok(Live {
        day,
        today: today.map(|r| r.rollup()).unwrap_or_default(),
        minutes: minutes.iter().map(|r| (r.bucket, r.rollup())).collect(),
        tops: tops
            .into_iter()
            .filter_map(|(dim, value, hits)| Some(((Dim::parse(&dim)?, value), hits)))
            .collect(),
        sales: sales
            .into_iter()
            .map(|(at, order_id, amount_cents)| Sale {
                at: at.and_utc(),
                order_id,
                amount_cents,
            })
            .collect(),
    })
}

/// A value and its count in a top list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Top {
    pub value: String,
    pub count: i64,
}

/// The `count` highest of `hits` for `dim`, ties by value.
pub fn top_of(hits: &HashMap<(Dim, String), i64>, dim: Dim, count: usize) -> Vec<Top> {
    let mut v: Vec<Top> = hits
        .iter()
        .filter(|((d, _), _)| *d == dim)
        .map(|((_, value), n)| Top {
            value: value.clone(),
            count: *n,
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    v.truncate(count);
    v
}

/// A report's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum Range {
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
}

impl Range {
    pub fn parse(s: &str) -> Option<Range> {
        match s {
            "24h" => Some(Range::Day),
            "7d" => Some(Range::Week),
            "30d" => Some(Range::Month),
            _ => None,
        }
    }

    /// The grain of its series and the first bucket (inclusive).
    pub fn buckets(self, now: NaiveDateTime) -> (Grain, NaiveDateTime) {
        match self {
            Range::Day => (Grain::Hour, Grain::Hour.bucket(now) - Duration::hours(23)),
            Range::Week => (Grain::Day, Grain::Day.bucket(now) - Duration::days(6)),
            Range::Month => (Grain::Day, Grain::Day.bucket(now) - Duration::days(29)),
        }
    }
}

/// One bucket of a report's series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Point {
    pub bucket: chrono::DateTime<chrono::Utc>,
    pub visitors: i64,
    #[serde(flatten)]
    pub counts: Counts,
}

/// The body of `GET /api/storefronts/{id}/analytics`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub storefront_id: StorefrontId,
    pub range: Range,
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    /// Unique visitors over the whole range (a merge of the buckets' sketches).
    pub visitors: i64,
    #[serde(flatten)]
    pub counts: Counts,
    pub top_pages: Vec<Top>,
    pub top_referrers: Vec<Top>,
    pub top_campaigns: Vec<Top>,
    pub top_devices: Vec<Top>,
    pub top_countries: Vec<Top>,
    pub series: Vec<Point>,
}

/// How many values each top list of a report holds.
pub const REPORT_TOP: usize = 10;

pub async fn report(
    store: &Store,
    sf: StorefrontId,
    range: Range,
    now: NaiveDateTime,
) -> AppResult<Report> {
    let (grain, from) = range.buckets(now);
    let from_day = Grain::Day.bucket(from);
    let mut conn = store.read().await?;
    let (rows, tops) = db_run!(conn, |c| {
        let rows: Vec<RollupRow> = analytics_rollups::table
            .filter(analytics_rollups::storefront_id.eq(sf))
            .filter(analytics_rollups::grain.eq(grain.as_str()))
            .filter(analytics_rollups::bucket.ge(from))
            .order(analytics_rollups::bucket.asc())
            .select(RollupRow::as_select())
            .load(c)
            .await?;
        let tops: Vec<(String, String, i64)> = analytics_top::table
            .filter(analytics_top::storefront_id.eq(sf))
            .filter(analytics_top::day.ge(from_day))
            .select((
                analytics_top::dim,
                analytics_top::value,
                analytics_top::hits,
            ))
            .load(c)
            .await?;
        Ok::<_, diesel::result::Error>((rows, tops))
    })?;
    let mut total = Rollup::default();
    let mut by_bucket: HashMap<NaiveDateTime, &RollupRow> = HashMap::new();
    for r in &rows {
        total.counts.add(&r.counts());
        total.sketch.merge(&Sketch::from_bytes(&r.sketch));
        by_bucket.insert(r.bucket, r);
    }
    let step = match grain {
        Grain::Hour => Duration::hours(1),
        _ => Duration::days(1),
    };
    let last = grain.bucket(now);
    let mut series = Vec::new();
    let mut b = from;
    while b <= last {
        let (visitors, counts) = by_bucket
            .get(&b)
            .map(|r| (r.visitors, r.counts()))
            .unwrap_or_default();
        series.push(Point {
            bucket: b.and_utc(),
            visitors,
            counts,
        });
        b += step;
    }
    let mut hits: HashMap<(Dim, String), i64> = HashMap::new();
    for (dim, value, n) in tops {
        if let Some(d) = Dim::parse(&dim) {
            *hits.entry((d, value)).or_default() += n;
        }
    }
    Ok(Report {
        storefront_id: sf,
        range,
        from: from.and_utc(),
        to: now.and_utc(),
        visitors: total.sketch.estimate(),
        counts: total.counts,
        top_pages: top_of(&hits, Dim::Page, REPORT_TOP),
        top_referrers: top_of(&hits, Dim::Referrer, REPORT_TOP),
        top_campaigns: top_of(&hits, Dim::Campaign, REPORT_TOP),
        top_devices: top_of(&hits, Dim::Device, REPORT_TOP),
        top_countries: top_of(&hits, Dim::Country, REPORT_TOP),
        series,
    })
}

/// Page views and link clicks of a storefront over the last 30 days, from the daily
/// rollups (what its page shows).
pub async fn views_and_clicks(
    store: &Store,
    sf: StorefrontId,
    now: NaiveDateTime,
) -> AppResult<(i64, i64)> {
    let from = Grain::Day.bucket(now) - Duration::days(29);
    let mut conn = store.read().await?;
    let rows: Vec<(i64, i64)> = db_run!(conn, |c| {
        analytics_rollups::table
            .filter(analytics_rollups::storefront_id.eq(sf))
            .filter(analytics_rollups::grain.eq("day"))
            .filter(analytics_rollups::bucket.ge(from))
            .select((analytics_rollups::pageviews, analytics_rollups::clicks))
            .load(c)
            .await
    })?;
    Ok(rows
        .into_iter()
        .fold((0, 0), |(v, k), (a, b)| (v + a, k + b)))
}

/// Raw event counts by kind (humans and bots apart) since `from`: what the rollups must
/// add up to. For tests and audits.
pub async fn raw_counts(store: &Store, sf: StorefrontId, from: NaiveDateTime) -> AppResult<Counts> {
    let mut conn = store.read().await?;
    let rows: Vec<(String, bool, i64, i64)> = db_run!(conn, |c| {
        analytics_events::table
            .filter(analytics_events::storefront_id.eq(sf))
            .filter(analytics_events::at.ge(from))
            .select((
                analytics_events::kind,
                analytics_events::bot,
                analytics_events::amount_cents,
                analytics_events::count,
            ))
            .load(c)
            .await
    })?;
    let mut counts = Counts::default();
    for (kind, bot, amount, count) in rows {
        let kind = match kind.as_str() {
            "pageview" => Kind::Pageview,
            "click" => Kind::Click,
            "hold" => Kind::Hold,
            "checkout" => Kind::Checkout,
            _ => Kind::Purchase,
        };
        let mut e = Event::server(kind, from, amount, String::new());
        e.bot = bot;
        e.count = count;
        counts.add_event(&e);
    }
    Ok(counts)
}

/// Raw events of a storefront (newest first, at most `limit`), for the creator's export.
pub async fn events(store: &Store, sf: StorefrontId, limit: i64) -> AppResult<Vec<EventRow>> {
    let mut conn = store.read().await?;
    let rows = db_run!(conn, |c| {
        analytics_events::table
            .filter(analytics_events::storefront_id.eq(sf))
            .order(analytics_events::at.desc())
            .limit(limit)
            .select(EventRow::as_select())
            .load(c)
            .await
    })?;
    Ok(rows)
}

/// Delete every event, rollup and top value of a storefront. Returns the events deleted.
pub async fn delete_all(store: &Store, sf: StorefrontId) -> AppResult<usize> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let n = diesel::delete(
                analytics_events::table.filter(analytics_events::storefront_id.eq(sf)),
            )
            .execute(c)
            .await?;
            diesel::delete(
                analytics_rollups::table.filter(analytics_rollups::storefront_id.eq(sf)),
            )
            .execute(c)
            .await?;
            diesel::delete(analytics_top::table.filter(analytics_top::storefront_id.eq(sf)))
                .execute(c)
                .await?;
            Ok(n)
        })
        .await
    })?;
    Ok(n)
}

/// Drop what is past its keeping time, and the salts of past days (after which their
/// visitor ids can no longer be recomputed by anyone). Idempotent; any node may run it.
pub async fn prune(store: &Store, now: NaiveDateTime) -> AppResult<()> {
    let today = now.date().format("%Y-%m-%d").to_string();
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::delete(analytics_salts::table.filter(analytics_salts::day.lt(&today)))
            .execute(c)
            .await?;
        diesel::delete(
            analytics_rollups::table
                .filter(analytics_rollups::grain.eq("minute"))
                .filter(analytics_rollups::bucket.lt(now - KEEP_MINUTES)),
        )
        .execute(c)
        .await?;
        diesel::delete(
            analytics_rollups::table
                .filter(analytics_rollups::grain.eq("hour"))
                .filter(analytics_rollups::bucket.lt(now - KEEP_HOURS)),
        )
        .execute(c)
        .await?;
        diesel::delete(analytics_events::table.filter(analytics_events::at.lt(now - KEEP_EVENTS)))
            .execute(c)
            .await?;
        Ok::<(), diesel::result::Error>(())
    })?;
    Ok(())
}
