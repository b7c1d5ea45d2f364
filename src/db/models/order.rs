//! Orders: a hold turned into a payment. The sale itself is a conditional update on the
//! hold (`active → converted`), so a payment that arrives after its hold lapsed can never
//! take units that are back on sale: it is marked for refund instead.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::drop::{DropRow, HoldRow, LogRow};
use crate::db::schema::{
    drop_log, drop_variants, drops, holds, orders, payment_events, raffle_picks,
};
use crate::db::Store;
use crate::db_run;
use crate::domain::ids::{DropId, HoldId, LogId, OrderId, UserId, VariantId};
use crate::error::{AppError, AppResult};

/// While a payment is in progress the hold is extended to at least this long from the
/// checkout, but never past its original expiry plus this: a slow payment may finish, an
/// abandoned one cannot keep units off sale for long.
pub const PAYMENT_WINDOW: Duration = Duration::seconds(120);

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: OrderId,
    pub hold_id: HoldId,
    pub drop_id: DropId,
    pub variant_id: VariantId,
    pub buyer_id: UserId,
    pub quantity: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub status: String,
    pub payment_ref: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

fn order_log(o: &OrderRow, kind: &str, at: NaiveDateTime) -> LogRow {
    LogRow {
        id: LogId::new(),
        drop_id: o.drop_id,
        at,
        kind: kind.into(),
        buyer_id: Some(o.buyer_id),
        variant_id: Some(o.variant_id),
        hold_id: Some(o.hold_id),
        quantity: Some(o.quantity),
        detail: serde_json::json!({"order_id": o.id, "amount_cents": o.amount_cents, "currency": o.currency})
            .to_string(),
    }
}

macro_rules! insert_log {
    ($c:expr, $o:expr, $kind:expr, $at:expr) => {
        diesel::insert_into(drop_log::table)
            .values(&order_log($o, $kind, $at))
            .execute($c)
            .await
    };
}

/// Open an order for an active hold of `buyer`, extending the hold for the payment. One
/// payment at a time per hold; a declined one may be retried while the hold lasts.
pub async fn start_checkout(
    store: &Store,
    hold: HoldId,
    buyer: UserId,
    now: NaiveDateTime,
) -> AppResult<OrderRow> {
    let mut conn = store.write().await?;
    let r: Result<Result<OrderRow, AppError>, diesel::result::Error> = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let Some(h) = holds::table
                .find(hold)
                .select(HoldRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(Err(AppError::NotFound));
            };
            if h.buyer_id != buyer {
                return Ok(Err(AppError::NotFound));
            }
            let d = drops::table
                .find(h.drop_id)
                .select(DropRow::as_select())
                .first(c)
                .await?;
            // A cancelled drop sells nothing more (its holds were released with it).
            if d.stored_status() == crate::domain::drop::DropStatus::Cancelled {
                return Ok(Err(AppError::conflict(
                    "drop_cancelled",
                    "the drop was cancelled",
                )));
            }
            if h.status != "active" || h.expires_at <= now {
                return Ok(Err(AppError::conflict(
                    "hold_expired",
                    "this hold has ended; reserve again",
                )));
            }
            let open = orders::table
                .filter(orders::hold_id.eq(hold))
                .filter(orders::status.eq_any(["pending", "paid"]))
                .count()
                .get_result::<i64>(c)
                .await?;
            if open > 0 {
                return Ok(Err(AppError::conflict(
                    "checkout_in_progress",
                    "this hold already has a payment in progress",
                )));
            }
            let order = OrderRow {
                id: OrderId::new(),
                hold_id: h.id,
                drop_id: h.drop_id,
                variant_id: h.variant_id,
                buyer_id: buyer,
                quantity: h.quantity,
                amount_cents: d.price_cents * h.quantity,
                currency: d.currency.clone(),
                status: "pending".into(),
                payment_ref: None,
                created_at: now,
                updated_at: now,
            };
            diesel::insert_into(orders::table)
                .values(&order)
                .execute(c)
                .await?;
            let cap = h.created_at + Duration::seconds(d.hold_seconds) + PAYMENT_WINDOW;
            let extended = (now + PAYMENT_WINDOW).min(cap).max(h.expires_at);
            diesel::update(holds::table.find(h.id))
                .set((holds::expires_at.eq(extended), holds::updated_at.eq(now)))
                .execute(c)
                .await?;
            insert_log!(c, &order, "checkout", now)?;
            Ok(Ok(order))
        })
        .await
    });
    match r {
        // Another checkout of this hold opened its order first (the store allows one open
        // order per hold): this one is refused, nothing of it was written.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(AppError::conflict(
            "checkout_in_progress",
            "this hold already has a payment in progress",
        )),
        r => r?,
    }
}

/// How many orders of a drop are paid.
pub async fn count_paid(store: &Store, drop: DropId) -> AppResult<i64> {
    let mut conn = store.read().await?;
    let n = db_run!(conn, |c| {
        orders::table
            .filter(orders::drop_id.eq(drop))
            .filter(orders::status.eq("paid"))
            .count()
            .get_result::<i64>(c)
            .await
    })?;
    Ok(n)
}

pub async fn set_payment_ref(store: &Store, order: OrderId, payment_ref: &str) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::update(orders::table.find(order))
            .set(orders::payment_ref.eq(payment_ref))
            .execute(c)
            .await
    })?;
    Ok(())
}

pub async fn find(store: &Store, id: OrderId) -> AppResult<Option<OrderRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        orders::table
            .find(id)
            .select(OrderRow::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

/// What applying a payment outcome did.
#[derive(Debug, Clone)]
pub enum Applied {
    /// The hold became a sale.
    Paid(OrderRow),
    /// The hold had lapsed: the money must go back (`refund_pending` until it has).
    MustRefund(OrderRow),
    Declined(OrderRow),
    /// This event (or an earlier outcome) was already applied.
    AlreadyApplied,
}

/// Apply a payment outcome exactly once (`event_id` is recorded in the same transaction).
pub async fn apply_outcome(
    store: &Store,
    event_id: &str,
    order_id: OrderId,
    succeeded: bool,
    payment_ref: &str,
    now: NaiveDateTime,
) -> AppResult<Applied> {
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let fresh = diesel::insert_into(payment_events::table)
                .values((
                    payment_events::id.eq(event_id),
                    payment_events::kind.eq(if succeeded {
                        "payment.succeeded"
                    } else {
                        "payment.failed"
                    }),
                    payment_events::order_id.eq(Some(order_id.to_string())),
                    payment_events::received_at.eq(now),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            if fresh == 0 {
                return Ok(Applied::AlreadyApplied);
            }
            let Some(mut o) = orders::table
                .find(order_id)
                .select(OrderRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(Applied::AlreadyApplied);
            };
            if o.status != "pending" {
                return Ok(Applied::AlreadyApplied);
            }
            o.payment_ref = Some(payment_ref.to_string());
            o.updated_at = now;
            if !succeeded {
                o.status = "declined".into();
                diesel::update(orders::table.find(o.id))
                    .set((
                        orders::status.eq("declined"),
                        orders::payment_ref.eq(payment_ref),
                        orders::updated_at.eq(now),
                    ))
                    .execute(c)
                    .await?;
                insert_log!(c, &o, "declined", now)?;
                return Ok(Applied::Declined(o));
            }
            let converted = diesel::update(
                holds::table
                    .find(o.hold_id)
                    .filter(holds::status.eq("active")),
            )
            .set((holds::status.eq("converted"), holds::updated_at.eq(now)))
            .execute(c)
            .await?;
            if converted == 1 {
                diesel::update(drop_variants::table.find(o.variant_id))
                    .set((
                        drop_variants::held.eq(drop_variants::held - o.quantity),
                        drop_variants::sold.eq(drop_variants::sold + o.quantity),
                    ))
                    .execute(c)
                    .await?;
                o.status = "paid".into();
                diesel::update(orders::table.find(o.id))
                    .set((
                        orders::status.eq("paid"),
                        orders::payment_ref.eq(payment_ref),
                        orders::updated_at.eq(now),
                    ))
                    .execute(c)
                    .await?;
                insert_log!(c, &o, "sale", now)?;
                // A raffle pick's offered unit is now claimed.
                diesel::update(
                    raffle_picks::table
                        .filter(raffle_picks::hold_id.eq(o.hold_id))
                        .filter(raffle_picks::state.eq("offered")),
                )
                .set(raffle_picks::state.eq("claimed"))
                .execute(c)
                .await?;
                crate::db::models::raffle::credit_purchase_in!(&mut *c, &o, now).await?;
                Ok(Applied::Paid(o))
            } else {
                // Its units went back on sale when it lapsed; they may be someone else's now.
                o.status = "refund_pending".into();
                diesel::update(orders::table.find(o.id))
                    .set((
                        orders::status.eq("refund_pending"),
                        orders::payment_ref.eq(payment_ref),
                        orders::updated_at.eq(now),
                    ))
                    .execute(c)
                    .await?;
                insert_log!(c, &o, "late_payment", now)?;
                Ok(Applied::MustRefund(o))
            }
        })
        .await
    });
    Ok(r?)
}

/// The provider returned the money: `refund_pending → refunded`, logged.
pub async fn mark_refunded(store: &Store, o: &OrderRow, now: NaiveDateTime) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let n = diesel::update(
                orders::table
                    .find(o.id)
                    .filter(orders::status.eq("refund_pending")),
            )
            .set((orders::status.eq("refunded"), orders::updated_at.eq(now)))
            .execute(c)
            .await?;
            if n == 1 {
                insert_log!(c, o, "refund", now)?;
            }
            Ok(())
        })
        .await
    })?;
    Ok(())
}

/// A paid order is refunded by the storefront (or an admin): `paid → refund_pending`,
/// logged, and every raffle ticket it earned reversed, in one transaction. The provider's
/// refund follows, then [`mark_refunded`]. `None` if the order is not paid.
pub async fn start_refund(
    store: &Store,
    id: OrderId,
    now: NaiveDateTime,
) -> AppResult<Option<OrderRow>> {
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let n = diesel::update(orders::table.find(id).filter(orders::status.eq("paid")))
                .set((
                    orders::status.eq("refund_pending"),
                    orders::updated_at.eq(now),
                ))
                .execute(c)
                .await?;
            if n == 0 {
                return Ok(None);
            }
            let o = orders::table
                .find(id)
                .select(OrderRow::as_select())
                .first(c)
                .await?;
            insert_log!(c, &o, "refund_requested", now)?;
            crate::db::models::raffle::reverse_purchase_in!(&mut *c, id, now).await?;
            Ok(Some(o))
        })
        .await
    })?;
    Ok(r)
}
