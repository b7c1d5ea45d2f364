//! Orders of products sold outside a drop: opening one (taking stock with a conditional
//! update, so concurrent buyers never take more than there is), applying its payment's
//! outcome once (tickets for an event, the membership for a membership), fulfilment and
//! check-in. A drop's orders are its actor's (`stock.rs`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::membership::MembershipRow;
use super::order::{Applied, OrderRow};
use super::product::ProductRow;
use crate::db::schema::{memberships, orders, products, tickets};
use crate::db::Store;
use crate::db_run;
use crate::domain::ids::{EventTicketId, MembershipId, OrderId, UserId};
use crate::domain::sale::{Fulfilment, Line};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = tickets)]
pub struct TicketRow {
    pub id: EventTicketId,
    pub order_id: OrderId,
    pub product_id: crate::domain::ids::ProductId,
    pub code: String,
    pub checked_in_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// A new unguessable ticket code: 96 random bits as 24 hex digits.
fn ticket_code() -> String {
    let u = uuid::Uuid::new_v4();
    u.simple().to_string()[..24].to_ascii_uppercase()
}

/// The buyer's order opened earlier with `key`, if any.
pub async fn by_key(store: &Store, buyer: UserId, key: &str) -> AppResult<Option<OrderRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        orders::table
            .filter(orders::buyer_id.eq(buyer))
            .filter(orders::idempotency_key.eq(key))
            .select(OrderRow::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

/// What opening an order did.
#[derive(Debug)]
pub enum Opened {
    New(OrderRow),
    /// The buyer opened this order earlier with the same idempotency key.
    Replay(OrderRow),
}

/// Open a `pending` order of `p` for `buyer`, taking its units from stock in the same
/// transaction. `sold_out` when fewer units are left than asked; `product_unpublished`
/// when the product was unpublished meanwhile. With `key`, a second call returns the
/// first order and takes nothing (the store's unique index decides between concurrent
/// ones).
pub async fn open(
    store: &Store,
    p: &ProductRow,
    limit: Option<i64>,
    buyer: UserId,
    line: &Line,
    key: Option<String>,
    now: NaiveDateTime,
) -> AppResult<Opened> {
    if let Some(k) = &key {
        if let Some(o) = by_key(store, buyer, k).await? {
            return Ok(Opened::Replay(o));
        }
    }
    let order = OrderRow {
        refunded_cents: 0,
        restocked_at: None,
        id: OrderId::new(),
        hold_id: None,
        drop_id: None,
        variant_id: None,
        buyer_id: buyer,
        quantity: line.quantity,
        amount_cents: line.amount_cents,
        currency: p.currency.clone(),
        status: "pending".into(),
        payment_ref: None,
        created_at: now,
        updated_at: now,
        product_id: p.id,
        storefront_id: p.storefront_id,
        kind: p.kind.clone(),
        details: serde_json::to_string(&line.details).unwrap_or_else(|_| "{}".into()),
        fulfilled_at: None,
        idempotency_key: key.clone(),
    };
    let take = line.takes_stock;
    let mut conn = store.write().await?;
    let r: Result<Result<OrderRow, AppError>, diesel::result::Error> = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let published = products::table
                .find(p.id)
                .filter(products::status.eq("published"))
                .count()
                .get_result::<i64>(c)
                .await?;
            if published == 0 {
                return Ok(Err(unpublished()));
            }
            if let (Some(q), Some(limit)) = (take, limit) {
                let taken = diesel::update(
                    products::table
                        .find(p.id)
                        .filter(products::status.eq("published"))
                        .filter((products::sold + q).le(limit)),
                )
                .set(products::sold.eq(products::sold + q))
                .execute(c)
                .await?;
                if taken == 0 {
                    return Ok(Err(AppError::conflict("sold_out", "not enough left")));
                }
            }
            diesel::insert_into(orders::table)
                .values(&order)
                .execute(c)
                .await?;
            Ok(Ok(order.clone()))
        })
        .await
    });
    match (r, &key) {
        // A concurrent call with the same key committed first: its order is the answer.
        (
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )),
            Some(k),
        ) => by_key(store, buyer, k)
            .await?
            .map(Opened::Replay)
            .ok_or_else(|| AppError::internal("idempotent order vanished")),
        (r, _) => r?.map(Opened::New),
    }
}

pub fn unpublished() -> AppError {
    AppError::conflict("product_unpublished", "this product is not on sale")
}

/// Units of `o` back to its product's stock (a declined or refunded order).
macro_rules! release_stock {
    ($c:expr, $o:expr) => {{
        let o: &$crate::db::models::order::OrderRow = $o;
        if matches!(o.kind.as_str(), "physical" | "event") && o.drop_id.is_none() {
            use $crate::db::schema::products;
            diesel::update(products::table.find(o.product_id))
                .set(products::sold.eq(products::sold - o.quantity))
                .execute($c)
                .await
                .map(|_| ())
        } else {
            Ok(())
        }
    }};
}

/// Apply a payment outcome to a product's order exactly once (`event_id` is recorded in
/// the same transaction). Paid: an event's tickets are issued, a membership begins or is
/// renewed. Declined: the units go back to stock; a renewal's membership lapses.
/// `payment_method` is what renews a membership this order starts.
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
            let fresh =
                crate::db::models::order::record_event_in!(c, event_id, succeeded, order_id, now)?;
            if !fresh {
                return Ok(Applied::AlreadyApplied);
            }
            let n = diesel::update(
                orders::table
                    .find(order_id)
                    .filter(orders::status.eq("pending")),
            )
            .set((
                orders::status.eq(if succeeded { "paid" } else { "declined" }),
                orders::payment_ref.eq(payment_ref),
                orders::updated_at.eq(now),
            ))
            .execute(c)
            .await?;
            if n == 0 {
                return Ok(Applied::AlreadyApplied);
            }
            let o = orders::table
                .find(order_id)
                .select(OrderRow::as_select())
                .first(c)
                .await?;
            // A renewal's membership, if this order is one.
            let renewing = match o.details().renews {
                Some(m) => memberships::table
                    .find(m)
                    .select(MembershipRow::as_select())
                    .first(c)
                    .await
                    .optional()?,
                None => None,
            };
            if !succeeded {
                release_stock!(c, &o)?;
                if let Some(m) = renewing {
                    diesel::update(memberships::table.find(m.id))
                        .set((
                            memberships::status.eq("lapsed"),
                            memberships::renewal_order_id.eq(None::<OrderId>),
                            memberships::updated_at.eq(now),
                        ))
                        .execute(c)
                        .await?;
                }
                return Ok(Applied::Declined(o));
            }
            crate::db::models::ledger::credit_sale_in!(&mut *c, &o, now).await?;
            match o.kind.as_str() {
                "event" => {
                    let rows: Vec<TicketRow> = (0..o.quantity)
                        .map(|_| TicketRow {
                            id: EventTicketId::new(),
                            order_id: o.id,
                            product_id: o.product_id,
                            code: ticket_code(),
                            checked_in_at: None,
                            created_at: now,
                        })
                        .collect();
                    for t in &rows {
                        diesel::insert_into(tickets::table)
                            .values(t)
                            .execute(c)
                            .await?;
                    }
                }
                "membership" => match renewing {
                    Some(m) => {
                        let end = crate::domain::sale::period_end(
                            m.current_period_end,
                            &m.billing_interval,
                        );
                        diesel::update(memberships::table.find(m.id))
                            .set((
                                memberships::current_period_end.eq(end),
                                memberships::renewal_order_id.eq(None::<OrderId>),
                                memberships::updated_at.eq(now),
                            ))
                            .execute(c)
                            .await?;
                    }
                    None => {
                        let d = o.details();
                        let interval = products::table
                            .find(o.product_id)
                            .select(products::details)
                            .first::<String>(c)
                            .await
                            .ok()
                            .and_then(|s| {
                                serde_json::from_str::<crate::domain::product::Details>(&s).ok()
                            })
                            .and_then(|d| match d {
                                crate::domain::product::Details::Membership {
                                    billing_interval,
                                } => Some(billing_interval),
                                _ => None,
                            })
                            .unwrap_or_else(|| "month".into());
                        let m = MembershipRow {
                            id: MembershipId::new(),
                            product_id: o.product_id,
                            storefront_id: o.storefront_id,
                            buyer_id: o.buyer_id,
                            order_id: o.id,
                            status: "active".into(),
                            current_period_end: crate::domain::sale::period_end(now, &interval),
                            billing_interval: interval,
                            amount_cents: o.amount_cents,
                            currency: o.currency.clone(),
                            payment_method: d.payment_method.unwrap_or_default(),
                            cancel_at_period_end: false,
                            renewal_order_id: None,
                            created_at: now,
                            updated_at: now,
                        };
                        diesel::insert_into(memberships::table)
                            .values(&m)
                            .execute(c)
                            .await?;
                    }
                },
                _ => {}
            }
            Ok(Applied::Paid(o))
        })
        .await
    });
    Ok(r?)
}

/// A refunded product order: its units back to stock, its tickets void, the membership
/// it started or renewed ended. Run in the refund's transaction.
macro_rules! undo_sale_in {
    ($c:expr, $o:expr, $now:expr) => {
        async {
            let o: &$crate::db::models::order::OrderRow = $o;
            if o.drop_id.is_some() {
                return Ok::<(), diesel::result::Error>(());
            }
            $crate::db::models::sale::release_stock!($c, o)?;
            diesel::delete(
                $crate::db::schema::tickets::table
                    .filter($crate::db::schema::tickets::order_id.eq(o.id)),
            )
            .execute($c)
            .await?;
            diesel::update(
                $crate::db::schema::memberships::table.filter(
                    $crate::db::schema::memberships::order_id
                        .eq(o.id)
                        .or($crate::db::schema::memberships::renewal_order_id.eq(o.id)),
                ),
            )
            .set((
                $crate::db::schema::memberships::status.eq("ended"),
                $crate::db::schema::memberships::updated_at.eq($now),
            ))
            .execute($c)
            .await?;
            Ok(())
        }
    };
}
pub(crate) use release_stock;
pub(crate) use undo_sale_in;

/// Mark a paid order fulfilled (`fulfilment` kept in its details). `Err(conflict)` when it
/// is not paid or already fulfilled.
pub async fn fulfil(
    store: &Store,
    o: &OrderRow,
    f: &Fulfilment,
    now: NaiveDateTime,
) -> AppResult<OrderRow> {
    let mut details = o.details();
    details.fulfilment = Some(f.clone());
    let json = serde_json::to_string(&details).unwrap_or_else(|_| "{}".into());
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::update(
            orders::table
                .find(o.id)
                .filter(orders::status.eq("paid"))
                .filter(orders::fulfilled_at.is_null()),
        )
        .set((
            orders::details.eq(&json),
            orders::fulfilled_at.eq(Some(now)),
            orders::updated_at.eq(now),
        ))
        .execute(c)
        .await
    })?;
    if n == 0 {
        return Err(if o.status != "paid" {
            AppError::conflict("not_paid", "only a paid order can be fulfilled")
        } else {
            AppError::conflict("already_fulfilled", "this order was already fulfilled")
        });
    }
    let mut o = o.clone();
    o.details = json;
    o.fulfilled_at = Some(now);
    o.updated_at = now;
    Ok(o)
}

/// An order's tickets, in the order they were issued.
pub async fn tickets_of(store: &Store, order: OrderId) -> AppResult<Vec<TicketRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        tickets::table
            .filter(tickets::order_id.eq(order))
            .order(tickets::id.asc())
            .select(TicketRow::as_select())
            .load(c)
            .await
    });
    Ok(r?)
}

/// Check in the ticket `code` of the paid order `order`: once. `not_found` when the code
/// is not one of the order's tickets, 409 `already_checked_in` the second time.
pub async fn check_in(
    store: &Store,
    order: OrderId,
    code: &str,
    now: NaiveDateTime,
) -> AppResult<TicketRow> {
    let code = code.trim().to_ascii_uppercase();
    let mut conn = store.write().await?;
    let r: Result<Result<TicketRow, AppError>, diesel::result::Error> = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let Some(t) = tickets::table
                .filter(tickets::order_id.eq(order))
                .filter(tickets::code.eq(&code))
                .select(TicketRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(Err(AppError::NotFound));
            };
            let n = diesel::update(
                tickets::table
                    .find(t.id)
                    .filter(tickets::checked_in_at.is_null()),
            )
            .set(tickets::checked_in_at.eq(Some(now)))
            .execute(c)
            .await?;
            if n == 0 {
                return Ok(Err(AppError::conflict(
                    "already_checked_in",
                    "this ticket was already checked in",
                )));
            }
            Ok(Ok(TicketRow {
                checked_in_at: Some(now),
                ..t
            }))
        })
        .await
    });
    r?
}
