//! Drops in the store: creation, reads, and the batched hold transaction the drop actor
//! commits (group commit). Stock and per-buyer limits are taken with conditional updates,
//! so the database, not any node's memory, decides who gets a unit.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::schema::{drop_log, drop_variants, drops, holds};
use crate::db::Store;
use crate::db_run;
use crate::domain::drop::{DropStatus, Schedule};
use crate::domain::ids::{DropId, HoldId, LogId, ProductId, StorefrontId, UserId, VariantId};
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = drops)]
pub struct DropRow {
    pub id: DropId,
    pub storefront_id: StorefrontId,
    pub product_id: ProductId,
    pub title: String,
    pub price_cents: i64,
    pub currency: String,
    pub opens_at: NaiveDateTime,
    pub closes_at: Option<NaiveDateTime>,
    pub per_buyer_limit: i64,
    pub hold_seconds: i64,
    pub waiting_room_seconds: i64,
    pub status: String,
    pub queue_seed: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Set on a raffle-gated drop: only that raffle's picks get units.
    pub raffle_id: Option<crate::domain::ids::RaffleId>,
    /// The platform's fee on this drop's sales, fixed when it was created.
    pub platform_fee_bp: i64,
}

impl DropRow {
    pub fn stored_status(&self) -> DropStatus {
        DropStatus::parse(&self.status).unwrap_or(DropStatus::Draft)
    }

    pub fn schedule(&self) -> Schedule {
        Schedule {
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            waiting_room_seconds: self.waiting_room_seconds,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = drop_variants)]
pub struct VariantRow {
    pub id: VariantId,
    pub drop_id: DropId,
    pub name: String,
    pub position: i64,
    pub stock: i64,
    pub remaining: i64,
    pub held: i64,
    pub sold: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = holds)]
pub struct HoldRow {
    pub id: HoldId,
    pub drop_id: DropId,
    pub variant_id: VariantId,
    pub buyer_id: UserId,
    pub quantity: i64,
    pub status: String,
    pub expires_at: NaiveDateTime,
    pub idempotency_key: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One audit row: every admission, hold, release, expiry, sale and refund.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = drop_log)]
pub struct LogRow {
    pub id: LogId,
    pub drop_id: DropId,
    pub at: NaiveDateTime,
    pub kind: String,
    pub buyer_id: Option<UserId>,
    pub variant_id: Option<VariantId>,
    pub hold_id: Option<HoldId>,
    pub quantity: Option<i64>,
    pub detail: String,
}

pub(crate) fn log(
    drop: DropId,
    at: NaiveDateTime,
    kind: &str,
    hold: Option<&HoldRow>,
    detail: serde_json::Value,
) -> LogRow {
    LogRow {
        id: LogId::new(),
        drop_id: drop,
        at,
        kind: kind.into(),
        buyer_id: hold.map(|h| h.buyer_id),
        variant_id: hold.map(|h| h.variant_id),
        hold_id: hold.map(|h| h.id),
        quantity: hold.map(|h| h.quantity),
        detail: detail.to_string(),
    }
}

/// Insert a drop and its variants in one transaction.
pub async fn create(store: &Store, drop: &DropRow, variants: &[VariantRow]) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            diesel::insert_into(drops::table)
                .values(drop)
                .execute(c)
                .await?;
            // Row by row: a multi-row insert does not compile for the SQLite wrapper.
            for v in variants {
                diesel::insert_into(drop_variants::table)
                    .values(v)
                    .execute(c)
                    .await?;
            }
            diesel::insert_into(drop_log::table)
                .values(&log(
                    drop.id,
                    drop.created_at,
                    "created",
                    None,
                    serde_json::json!({}),
                ))
                .execute(c)
                .await?;
            Ok(())
        })
        .await
    })?;
    Ok(())
}

/// A drop and its variants (in display order), as stored.
pub async fn find(store: &Store, id: DropId) -> AppResult<Option<(DropRow, Vec<VariantRow>)>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        async {
            let Some(d) = drops::table
                .find(id)
                .select(DropRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok::<_, diesel::result::Error>(None);
            };
            let vs = variants_of!(c, id)?;
            Ok(Some((d, vs)))
        }
        .await
    });
    Ok(r?)
}

/// The variants of a drop, fresh from the store.
pub async fn variants(store: &Store, id: DropId) -> AppResult<Vec<VariantRow>> {
    let mut conn = store.read().await?;
    Ok(db_run!(conn, |c| variants_of!(c, id))?)
}

/// The variants of a drop in display order; a macro so one text serves both connections.
macro_rules! variants_of {
    ($c:expr, $id:expr) => {
        drop_variants::table
            .filter(drop_variants::drop_id.eq($id))
            .order(drop_variants::position.asc())
            .select(VariantRow::as_select())
            .load($c)
            .await
    };
}
pub(crate) use variants_of;

/// Set the stored status, only from one of `from` (timers may run twice, on any node).
/// A drop already in `to` is left alone, so a transition is logged once (publishing
/// stores `scheduled`, and the actor's clock, seeing `scheduled`, must not log it again).
pub async fn transition(
    store: &Store,
    id: DropId,
    from: &[DropStatus],
    to: DropStatus,
    detail: serde_json::Value,
) -> AppResult<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let now = super::now();
    let mut conn = store.write().await?;
    let changed = db_run!(conn, |c| {
        let from = &from;
        let detail = &detail;
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let n = diesel::update(
                drops::table
                    .find(id)
                    .filter(drops::status.eq_any(from))
                    .filter(drops::status.ne(to.as_str())),
            )
            .set((drops::status.eq(to.as_str()), drops::updated_at.eq(now)))
            .execute(c)
            .await?;
            if n == 1 {
                diesel::insert_into(drop_log::table)
                    .values(&log(id, now, to.as_str(), None, detail.clone()))
                    .execute(c)
                    .await?;
            }
            Ok(n == 1)
        })
        .await
    })?;
    Ok(changed)
}

/// One buyer's request for units, as the drop actor batches them.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    pub buyer: UserId,
    pub variant: VariantId,
    pub quantity: i64,
    pub idempotency_key: Option<String>,
}

/// Why a hold was not granted (the drop's own state is checked before the batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldRefusal {
    SoldOut,
    LimitReached,
    UnknownVariant,
}

/// The hold decisions of a batch, inside the caller's transaction on connection `$c`:
/// a macro so the same text compiles for both connection types and can run inside the
/// waiting room's admission transaction too.
macro_rules! place_holds_in {
    ($c:expr, $drop:expr, $per_buyer_limit:expr, $expires_at:expr, $now:expr, $batch:expr) => {
        async {
            let c = $c;
            let (drop, per_buyer_limit, expires_at, now, batch): (
                DropId,
                i64,
                NaiveDateTime,
                NaiveDateTime,
                &[HoldRequest],
            ) = ($drop, $per_buyer_limit, $expires_at, $now, $batch);
            // Lock each variant row the batch touches (a no-op update takes the row lock on
            // Postgres and is harmless on SQLite, whose writer already holds the database),
            // then read what is left. Units are then decided in memory, in request order, and
            // written back with ONE conditional update per variant at the end: updating the
            // same row once per hold would build a chain of row versions within the
            // transaction that every later update has to walk.
            let mut variant_ids: Vec<VariantId> = batch.iter().map(|r| r.variant).collect();
            variant_ids.sort();
            variant_ids.dedup();
            let mut left: std::collections::HashMap<VariantId, (i64, i64)> =
                std::collections::HashMap::new();
            for v in &variant_ids {
                diesel::update(
                    drop_variants::table
                        .filter(drop_variants::id.eq(*v))
                        .filter(drop_variants::drop_id.eq(drop)),
                )
                .set(drop_variants::remaining.eq(drop_variants::remaining))
                .execute(c)
                .await?;
                let remaining: Option<i64> = drop_variants::table
                    .filter(drop_variants::id.eq(*v))
                    .filter(drop_variants::drop_id.eq(drop))
                    .select(drop_variants::remaining)
                    .first(c)
                    .await
                    .optional()?;
                if let Some(r) = remaining {
                    left.insert(*v, (r, 0));
                }
            }
            let mut out = Vec::with_capacity(batch.len());
            for req in batch {
                // A retried request (same buyer, drop and key) gets the first answer.
                if let Some(key) = &req.idempotency_key {
                    let earlier = holds::table
                        .filter(holds::buyer_id.eq(req.buyer))
                        .filter(holds::drop_id.eq(drop))
                        .filter(holds::idempotency_key.eq(key))
                        .select(HoldRow::as_select())
                        .first(c)
                        .await
                        .optional()?;
                    if let Some(h) = earlier {
                        out.push(Ok((h, false)));
                        continue;
                    }
                }
                let Some((remaining, taken)) = left.get_mut(&req.variant) else {
                    out.push(Err(HoldRefusal::UnknownVariant));
                    continue;
                };
                if *remaining < req.quantity {
                    out.push(Err(HoldRefusal::SoldOut));
                    continue;
                }
                // One statement for the buyer's running total: insert it, or add to it only
                // while it stays within the limit (0 rows = over the limit).
                if req.quantity > per_buyer_limit {
                    out.push(Err(HoldRefusal::LimitReached));
                    continue;
                }
                let upsert = diesel::insert_into(drop_buyers::table)
                    .values((
                        drop_buyers::drop_id.eq(drop),
                        drop_buyers::buyer_id.eq(req.buyer),
                        drop_buyers::taken.eq(req.quantity),
                    ))
                    .on_conflict((drop_buyers::drop_id, drop_buyers::buyer_id))
                    .do_update()
                    .set(drop_buyers::taken.eq(drop_buyers::taken + req.quantity));
                let within = diesel::query_dsl::methods::FilterDsl::filter(
                    upsert,
                    drop_buyers::taken.le(per_buyer_limit - req.quantity),
                )
                .execute(c)
                .await?;
                if within == 0 {
                    out.push(Err(HoldRefusal::LimitReached));
                    continue;
                }
                *remaining -= req.quantity;
                *taken += req.quantity;
                let hold = HoldRow {
                    id: HoldId::new(),
                    drop_id: drop,
                    variant_id: req.variant,
                    buyer_id: req.buyer,
                    quantity: req.quantity,
                    status: "active".into(),
                    expires_at,
                    idempotency_key: req.idempotency_key.clone(),
                    created_at: now,
                    updated_at: now,
                };
                diesel::insert_into(holds::table)
                    .values(&hold)
                    .execute(c)
                    .await?;
                diesel::insert_into(drop_log::table)
                    .values(&$crate::db::models::drop::log(
                        drop,
                        now,
                        "hold",
                        Some(&hold),
                        serde_json::json!({}),
                    ))
                    .execute(c)
                    .await?;
                out.push(Ok((hold, true)));
            }
            for (v, (_, taken)) in left {
                if taken == 0 {
                    continue;
                }
                // Still conditional: the row is locked, so this always holds; if it ever did
                // not, the whole batch rolls back rather than oversell.
                let n = diesel::update(
                    drop_variants::table
                        .filter(drop_variants::id.eq(v))
                        .filter(drop_variants::remaining.ge(taken)),
                )
                .set((
                    drop_variants::remaining.eq(drop_variants::remaining - taken),
                    drop_variants::held.eq(drop_variants::held + taken),
                ))
                .execute(c)
                .await?;
                if n != 1 {
                    return Err(diesel::result::Error::RollbackTransaction);
                }
            }
            Ok::<_, diesel::result::Error>(out)
        }
    };
}
pub(crate) use place_holds_in;

/// The answer to one request of a batch: the hold (new, or the earlier one for a repeated
/// idempotency key) or the reason it was refused.
pub type HoldOutcome = Result<(HoldRow, bool), HoldRefusal>;

pub async fn find_hold(store: &Store, id: HoldId) -> AppResult<Option<HoldRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        holds::table
            .find(id)
            .select(HoldRow::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

/// Active holds of a drop whose time is up (at most `limit`, oldest first).
pub async fn due_holds(
    store: &Store,
    drop: Option<DropId>,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<HoldRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        let mut q = holds::table
            .filter(holds::status.eq("active"))
            .filter(holds::expires_at.le(now))
            .into_boxed();
        if let Some(d) = drop {
            q = q.filter(holds::drop_id.eq(d));
        }
        q.order(holds::expires_at.asc())
            .limit(limit)
            .select(HoldRow::as_select())
            .load(c)
            .await
    });
    Ok(r?)
}

/// The owner of a storefront, if it exists.
pub async fn storefront_owner(store: &Store, id: StorefrontId) -> AppResult<Option<UserId>> {
    use crate::db::schema::storefronts;
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        storefronts::table
            .find(id)
            .select(storefronts::owner_id)
            .first::<UserId>(c)
            .await
            .optional()
    });
    Ok(r?)
}

/// Whether `product` belongs to `storefront`.
pub async fn product_in_storefront(
    store: &Store,
    product: ProductId,
    storefront: StorefrontId,
) -> AppResult<bool> {
    use crate::db::schema::products;
    let mut conn = store.read().await?;
    let n = db_run!(conn, |c| {
        products::table
            .filter(products::id.eq(product))
            .filter(products::storefront_id.eq(storefront))
            .count()
            .get_result::<i64>(c)
            .await
    })?;
    Ok(n > 0)
}

/// A page of a drop's log, oldest first, after the entry `after` (exclusive).
pub async fn log_page(
    store: &Store,
    drop: DropId,
    after: Option<LogId>,
    limit: i64,
) -> AppResult<Vec<LogRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        let mut q = drop_log::table
            .filter(drop_log::drop_id.eq(drop))
            .into_boxed();
        if let Some(a) = after {
            q = q.filter(drop_log::id.gt(a));
        }
        q.order(drop_log::id.asc())
            .limit(limit)
            .select(LogRow::as_select())
            .load(c)
            .await
    });
    Ok(r?)
}

/// A storefront's drops that are not drafts, soonest first.
pub async fn list_for_storefront(store: &Store, sf: StorefrontId) -> AppResult<Vec<DropRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        drops::table
            .filter(drops::storefront_id.eq(sf))
            .filter(drops::status.ne("draft"))
            .order(drops::opens_at.asc())
            .limit(50)
            .select(DropRow::as_select())
            .load(c)
            .await
    });
    Ok(r?)
}

/// Every drop of a storefront, drafts included, with its variants as the store has them
/// (the studio's list): the latest opening first, at most 200. Two queries.
pub async fn all_of_storefront(
    store: &Store,
    sf: StorefrontId,
) -> AppResult<Vec<(DropRow, Vec<VariantRow>)>> {
    let mut conn = store.read().await?;
    let (ds, vs) = db_run!(conn, |c| {
        async {
            let ds: Vec<DropRow> = drops::table
                .filter(drops::storefront_id.eq(sf))
                .order(drops::opens_at.desc())
                .limit(200)
                .select(DropRow::as_select())
                .load(c)
                .await?;
            let ids: Vec<DropId> = ds.iter().map(|d| d.id).collect();
            let vs: Vec<VariantRow> = drop_variants::table
                .filter(drop_variants::drop_id.eq_any(&ids))
                .order((drop_variants::drop_id.asc(), drop_variants::position.asc()))
                .select(VariantRow::as_select())
                .load(c)
                .await?;
            Ok::<_, diesel::result::Error>((ds, vs))
        }
        .await
    })?;
    let mut by_drop: std::collections::HashMap<DropId, Vec<VariantRow>> =
        std::collections::HashMap::new();
    for v in vs {
        by_drop.entry(v.drop_id).or_default().push(v);
    }
    Ok(ds
        .into_iter()
        .map(|d| {
            let v = by_drop.remove(&d.id).unwrap_or_default();
            (d, v)
        })
        .collect())
}

/// Units left to hold in each of these drops (the sum over their variants), as the store
/// has them.
pub async fn remaining_of(
    store: &Store,
    ids: &[DropId],
) -> AppResult<std::collections::HashMap<DropId, i64>> {
    let mut conn = store.read().await?;
    let rows: Vec<(DropId, i64)> = db_run!(conn, |c| {
        drop_variants::table
            .filter(drop_variants::drop_id.eq_any(ids))
            .select((drop_variants::drop_id, drop_variants::remaining))
            .load(c)
            .await
    })?;
    let mut out = std::collections::HashMap::new();
    for (d, r) in rows {
        *out.entry(d).or_insert(0) += r;
    }
    Ok(out)
}

/// Change a drop's title and times.
pub async fn set_meta(
    store: &Store,
    drop: DropId,
    title: &str,
    opens_at: NaiveDateTime,
    closes_at: Option<NaiveDateTime>,
) -> AppResult<()> {
    let now = super::now();
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::update(drops::table.find(drop))
            .set((
                drops::title.eq(title),
                drops::opens_at.eq(opens_at),
                drops::closes_at.eq(closes_at),
                drops::updated_at.eq(now),
            ))
            .execute(c)
            .await
    })?;
    Ok(())
}
