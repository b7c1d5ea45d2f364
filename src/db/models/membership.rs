//! Memberships: a product paid period by period. The first period's order starts one
//! (`sale::apply_outcome`); when a period ends the renewal sweep either ends it (the
//! member cancelled) or opens the next period's order and charges the saved payment
//! method. Claiming a renewal is a conditional update, so two nodes never charge twice.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::order::OrderRow;
use crate::db::schema::{memberships, orders, products};
use crate::db::Store;
use crate::db_run;
use crate::domain::ids::{MembershipId, OrderId, ProductId, StorefrontId, UserId};
use crate::domain::sale::OrderDetails;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships)]
pub struct MembershipRow {
    pub id: MembershipId,
    pub product_id: ProductId,
    pub storefront_id: StorefrontId,
    pub buyer_id: UserId,
    pub order_id: OrderId,
    /// `active`, `ended` (cancelled or refunded) or `lapsed` (a renewal failed).
    pub status: String,
    pub billing_interval: String,
    pub amount_cents: i64,
    pub currency: String,
    /// What renewals charge: the card or payment method of the first payment.
    pub payment_method: String,
    pub current_period_end: NaiveDateTime,
    pub cancel_at_period_end: bool,
    /// The renewal being paid now, if any.
    pub renewal_order_id: Option<OrderId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub async fn find(store: &Store, id: MembershipId) -> AppResult<Option<MembershipRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        memberships::table
            .find(id)
            .select(MembershipRow::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

/// A buyer's memberships with their products' titles, newest first.
pub async fn of_buyer(store: &Store, buyer: UserId) -> AppResult<Vec<(MembershipRow, String)>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        memberships::table
            .inner_join(products::table.on(products::id.eq(memberships::product_id)))
            .filter(memberships::buyer_id.eq(buyer))
            .order(memberships::id.desc())
            .select((MembershipRow::as_select(), products::title))
            .load(c)
            .await
    });
    Ok(r?)
}

/// Cancel at the end of the paid period: no more renewals. `false` when it is not the
/// buyer's active membership.
pub async fn cancel(
    store: &Store,
    id: MembershipId,
    buyer: UserId,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::update(
            memberships::table
                .find(id)
                .filter(memberships::buyer_id.eq(buyer))
                .filter(memberships::status.eq("active")),
        )
        .set((
            memberships::cancel_at_period_end.eq(true),
            memberships::updated_at.eq(now),
        ))
        .execute(c)
        .await
    })?;
    Ok(n == 1)
}

/// Active memberships whose period has ended and that no renewal is paying yet.
pub async fn due(store: &Store, now: NaiveDateTime, limit: i64) -> AppResult<Vec<MembershipRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        memberships::table
            .filter(memberships::status.eq("active"))
            .filter(memberships::current_period_end.le(now))
            .filter(memberships::renewal_order_id.is_null())
            .order(memberships::current_period_end.asc())
            .limit(limit)
            .select(MembershipRow::as_select())
            .load(c)
            .await
    });
    Ok(r?)
}

/// What the sweep did with a due membership.
pub enum Renewal {
    /// Cancelled by the member: it ended with its period.
    Ended,
    /// The next period's order, opened `pending`, to be charged.
    Charge(Box<OrderRow>),
    /// Another node (or an earlier sweep) got there first.
    Taken,
}

/// End a cancelled membership, or open the next period's order and mark it as the one
/// paying for `m` — only if no other renewal did so first.
pub async fn claim(store: &Store, m: &MembershipRow, now: NaiveDateTime) -> AppResult<Renewal> {
    let details = OrderDetails {
        renews: Some(m.id),
        ..OrderDetails::default()
    };
    let order = OrderRow {
        refunded_cents: 0,
        restocked_at: None,
        id: OrderId::new(),
        hold_id: None,
        drop_id: None,
        variant_id: None,
        buyer_id: m.buyer_id,
        quantity: 1,
        amount_cents: m.amount_cents,
        currency: m.currency.clone(),
        status: "pending".into(),
        payment_ref: None,
        created_at: now,
        updated_at: now,
        product_id: m.product_id,
        storefront_id: m.storefront_id,
        kind: "membership".into(),
        details: serde_json::to_string(&details).unwrap_or_else(|_| "{}".into()),
        fulfilled_at: None,
        idempotency_key: None,
    };
    let (id, cancel) = (m.id, m.cancel_at_period_end);
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let due = memberships::table
                .find(id)
                .filter(memberships::status.eq("active"))
                .filter(memberships::current_period_end.le(now))
                .filter(memberships::renewal_order_id.is_null());
            if cancel {
                let n = diesel::update(due)
                    .set((
                        memberships::status.eq("ended"),
                        memberships::updated_at.eq(now),
                    ))
                    .execute(c)
                    .await?;
                return Ok(if n == 1 {
                    Renewal::Ended
                } else {
                    Renewal::Taken
                });
            }
            diesel::insert_into(orders::table)
                .values(&order)
                .execute(c)
                .await?;
            let n = diesel::update(due)
                .set((
                    memberships::renewal_order_id.eq(Some(order.id)),
                    memberships::updated_at.eq(now),
                ))
                .execute(c)
                .await?;
            if n == 0 {
                // Not ours to renew: the order goes with the rollback.
                return Err(diesel::result::Error::RollbackTransaction);
            }
            Ok(Renewal::Charge(Box::new(order.clone())))
        })
        .await
    });
    match r {
        Err(diesel::result::Error::RollbackTransaction) => Ok(Renewal::Taken),
        r => Ok(r?),
    }
}
