//! Orders: a hold turned into a payment. The sale itself is a conditional update on the
//! hold (`active → converted`), so a payment that arrives after its hold lapsed can never
//! take units that are back on sale: it is marked for refund instead.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::drop::LogRow;
use crate::db::schema::{drop_log, orders};
use crate::db::Store;
use crate::db_run;
use crate::domain::ids::{
    DropId, HoldId, LogId, OrderId, ProductId, StorefrontId, UserId, VariantId,
};
use crate::error::AppResult;

/// While a payment is in progress the hold is extended to at least this long from the
/// checkout, but never past its original expiry plus this: a slow payment may finish, an
/// abandoned one cannot keep units off sale for long.
pub const PAYMENT_WINDOW: Duration = Duration::seconds(120);

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: OrderId,
    /// A drop's order only: the hold it pays for, its drop and variant.
    pub hold_id: Option<HoldId>,
    pub drop_id: Option<DropId>,
    pub variant_id: Option<VariantId>,
    pub buyer_id: UserId,
    pub quantity: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub status: String,
    pub payment_ref: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub product_id: ProductId,
    pub storefront_id: StorefrontId,
    /// The product's kind (`domain::product::Kind`).
    pub kind: String,
    /// Kind-specific facts (`domain::sale::OrderDetails`) as JSON.
    pub details: String,
    /// When the creator fulfilled it (shipped, or confirmed a service).
    pub fulfilled_at: Option<NaiveDateTime>,
    /// A product checkout's `Idempotency-Key` (unique per buyer).
    pub idempotency_key: Option<String>,
    /// What has been given back (a refund of all or part of `amount_cents`).
    pub refunded_cents: i64,
    /// When a refunded drop order's units went back to the drop's stock.
    pub restocked_at: Option<NaiveDateTime>,
}

impl OrderRow {
    /// The kind-specific facts (empty for a row without any).
    pub fn details(&self) -> crate::domain::sale::OrderDetails {
        serde_json::from_str(&self.details).unwrap_or_default()
    }
}

/// A drop's order's line in its drop's log (`None` for another product's order: those
/// have no drop log).
pub(crate) fn order_log(o: &OrderRow, kind: &str, at: NaiveDateTime) -> Option<LogRow> {
    Some(LogRow {
        id: LogId::new(),
        drop_id: o.drop_id?,
        at,
        kind: kind.into(),
        buyer_id: Some(o.buyer_id),
        variant_id: o.variant_id,
        hold_id: o.hold_id,
        quantity: Some(o.quantity),
        detail: serde_json::json!({"order_id": o.id, "amount_cents": o.amount_cents, "currency": o.currency})
            .to_string(),
    })
}

macro_rules! insert_log {
    ($c:expr, $o:expr, $kind:expr, $at:expr) => {
        match $crate::db::models::order::order_log($o, $kind, $at) {
            Some(row) => {
                diesel::insert_into(drop_log::table)
                    .values(&row)
                    .execute($c)
                    .await
            }
            None => Ok(0),
        }
    };
}
pub(crate) use insert_log;

/// Record a payment outcome's event id in the running transaction: `true` the first time,
/// `false` when it was applied before (providers retry; the charge answer and the webhook
/// may both bring it).
macro_rules! record_event_in {
    ($c:expr, $event_id:expr, $succeeded:expr, $order_id:expr, $now:expr) => {{
        use $crate::db::schema::payment_events;
        diesel::insert_into(payment_events::table)
            .values((
                payment_events::id.eq($event_id),
                payment_events::kind.eq(if $succeeded {
                    "payment.succeeded"
                } else {
                    "payment.failed"
                }),
                payment_events::order_id.eq(Some($order_id.to_string())),
                payment_events::received_at.eq($now),
            ))
            .on_conflict_do_nothing()
            .execute($c)
            .await
            .map(|n| n == 1)
    }};
}
pub(crate) use record_event_in;

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

/// Orders still `pending` that were opened before `before`, oldest first: the ones whose
/// outcome should have arrived by now and is asked of the provider.
pub async fn pending_before(
    store: &Store,
    before: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<OrderRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        orders::table
            .filter(orders::status.eq("pending"))
            .filter(orders::created_at.lt(before))
            .order(orders::created_at.asc())
            .limit(limit)
            .select(OrderRow::as_select())
            .load(c)
            .await
    });
    Ok(r?)
}

/// Which orders a listing wants: a storefront's (its owner's view) or a buyer's, narrowed
/// by status, product, drop and creation time; newest first, `limit` at most, those
/// older than `after` (the last id of the previous page: order ids are UUIDv7, so their
/// order is the order of creation).
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// One order (its page).
    pub id: Option<OrderId>,
    pub storefront: Option<StorefrontId>,
    pub buyer: Option<UserId>,
    pub status: Option<String>,
    pub product: Option<ProductId>,
    pub drop: Option<DropId>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub after: Option<OrderId>,
    /// Orders whose buyer's email contains this (admins' search).
    pub buyer_email_like: Option<String>,
    pub limit: i64,
}

/// An order as its storefront sees it: with its buyer's email.
#[derive(Debug, Clone)]
pub struct ListedOrder {
    pub order: OrderRow,
    pub buyer_email: String,
}

/// A `LIKE` pattern that finds `text` anywhere, its own `%`, `_` and `\` taken literally
/// (with `ESCAPE '\'`).
pub fn like_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Orders matching `f`, newest first (one query: orders joined with their buyers).
pub async fn list(store: &Store, f: &OrderFilter) -> AppResult<Vec<ListedOrder>> {
    use crate::db::schema::users;
    let mut conn = store.read().await?;
    let rows: Vec<(OrderRow, String)> = db_run!(conn, |c| {
        let mut q = orders::table
            .inner_join(users::table)
            .select((OrderRow::as_select(), users::email))
            .order(orders::id.desc())
            .limit(f.limit)
            .into_boxed();
        if let Some(id) = f.id {
            q = q.filter(orders::id.eq(id));
        }
        if let Some(sf) = f.storefront {
            q = q.filter(orders::storefront_id.eq(sf));
        }
        if let Some(b) = f.buyer {
            q = q.filter(orders::buyer_id.eq(b));
        }
        if let Some(s) = &f.status {
            q = q.filter(orders::status.eq(s.clone()));
        }
        if let Some(p) = f.product {
            q = q.filter(orders::product_id.eq(p));
        }
        if let Some(d) = f.drop {
            q = q.filter(orders::drop_id.eq(d));
        }
        if let Some(t) = f.from {
            q = q.filter(orders::created_at.ge(t));
        }
        if let Some(t) = f.to {
            q = q.filter(orders::created_at.lt(t));
        }
        if let Some(a) = f.after {
            q = q.filter(orders::id.lt(a));
        }
        if let Some(text) = &f.buyer_email_like {
            q = q.filter(users::email.like(like_pattern(text)).escape('\\'));
        }
        q.load(c).await
    })?;
    Ok(rows
        .into_iter()
        .map(|(order, buyer_email)| ListedOrder { order, buyer_email })
        .collect())
}

/// The order paid with the provider's payment `payment_ref`.
pub async fn by_payment_ref(store: &Store, payment_ref: &str) -> AppResult<Option<OrderRow>> {
    if payment_ref.is_empty() {
        return Ok(None);
    }
    let mut conn = store.read().await?;
    Ok(db_run!(conn, |c| {
        orders::table
            .filter(orders::payment_ref.eq(payment_ref))
            .select(OrderRow::as_select())
            .first(c)
            .await
            .optional()
    })?)
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

/// Part of a paid order given back: `refunded_cents` grows by `amount` (only if it still
/// is `before`, so two refunds at once cannot both count) and each party's share of it is
/// reversed in the ledger, in one transaction; the order stays `paid`. `None` if the
/// order is not paid or was refunded meanwhile.
pub async fn partial_refund(
    store: &Store,
    id: OrderId,
    before: i64,
    amount: i64,
    now: NaiveDateTime,
) -> AppResult<Option<OrderRow>> {
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let Some(o) = orders::table
                .find(id)
                .filter(orders::status.eq("paid"))
                .filter(orders::refunded_cents.eq(before))
                .select(OrderRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(None);
            };
            crate::db::models::ledger::reverse_in!(&mut *c, &o, amount, now).await?;
            diesel::update(
                orders::table
                    .find(id)
                    .filter(orders::refunded_cents.eq(before)),
            )
            .set((
                orders::refunded_cents.eq(before + amount),
                orders::updated_at.eq(now),
            ))
            .execute(c)
            .await?;
            insert_log!(c, &o, "partial_refund", now)?;
            Ok(Some(o))
        })
        .await
    })?;
    Ok(r)
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
            // Everything not yet given back: each party's share of it reversed.
            let left = o.amount_cents - o.refunded_cents;
            crate::db::models::ledger::reverse_in!(&mut *c, &o, left, now).await?;
            diesel::update(orders::table.find(id))
                .set(orders::refunded_cents.eq(o.amount_cents))
                .execute(c)
                .await?;
            crate::db::models::raffle::reverse_purchase_in!(&mut *c, id, now).await?;
            crate::db::models::sale::undo_sale_in!(&mut *c, &o, now).await?;
            Ok(Some(o))
        })
        .await
    })?;
    Ok(r)
}
