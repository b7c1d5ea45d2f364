//! The waiting room in the store: tickets, and the admission at the opening second.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

// The tables and types below are also used inside `place_holds_in!`.
use super::drop::{
    place_holds_in, DropRow, HoldOutcome, HoldRefusal, HoldRequest, HoldRow, LogRow,
};
use crate::db::schema::{drop_buyers, drop_log, drop_variants, drops, holds, queue_tickets};
use crate::db::Store;
use crate::db_run;
use crate::domain::drop::shuffle;
use crate::domain::ids::{DropId, HoldId, LogId, TicketId, UserId, VariantId};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = queue_tickets)]
pub struct TicketRow {
    pub id: TicketId,
    pub drop_id: DropId,
    pub buyer_id: UserId,
    pub variant_id: VariantId,
    pub quantity: i64,
    pub state: String,
    pub position: Option<i64>,
    pub hold_id: Option<HoldId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Join the queue; a buyer has one ticket per drop, so joining again returns it.
pub async fn join(store: &Store, ticket: &TicketRow) -> AppResult<TicketRow> {
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let n = diesel::insert_into(queue_tickets::table)
                .values(ticket)
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            let t = queue_tickets::table
                .filter(queue_tickets::drop_id.eq(ticket.drop_id))
                .filter(queue_tickets::buyer_id.eq(ticket.buyer_id))
                .select(TicketRow::as_select())
                .first(c)
                .await?;
            if n == 1 {
                diesel::insert_into(drop_log::table)
                    .values(&LogRow {
                        id: LogId::new(),
                        drop_id: t.drop_id,
                        at: t.created_at,
                        kind: "queue_join".into(),
                        buyer_id: Some(t.buyer_id),
                        variant_id: Some(t.variant_id),
                        hold_id: None,
                        quantity: Some(t.quantity),
                        detail: serde_json::json!({"ticket_id": t.id}).to_string(),
                    })
                    .execute(c)
                    .await?;
            }
            Ok(t)
        })
        .await
    });
    Ok(r?)
}

pub async fn find(store: &Store, id: TicketId) -> AppResult<Option<TicketRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        queue_tickets::table
            .find(id)
            .select(TicketRow::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

/// Serve the waiting room, once per drop, in one transaction: record the seed (only if
/// none is recorded yet: another node may have done this already), shuffle the waiting
/// tickets with it, and decide each ticket's hold in that order. `None` when the drop was
/// already admitted.
pub async fn admit(
    store: &Store,
    drop: &DropRow,
    seed: [u8; 32],
    now: NaiveDateTime,
) -> AppResult<Option<Vec<TicketRow>>> {
    let seed_hex = hex::encode(seed);
    let expires_at = now + chrono::Duration::seconds(drop.hold_seconds);
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        let seed_hex = &seed_hex;
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let claimed = diesel::update(
                drops::table
                    .find(drop.id)
                    .filter(drops::queue_seed.is_null()),
            )
            .set(drops::queue_seed.eq(seed_hex))
            .execute(c)
            .await?;
            if claimed == 0 {
                return Ok(None);
            }
            // The canonical order before the shuffle is the ticket id (UUIDv7: arrival).
            let mut tickets: Vec<TicketRow> = queue_tickets::table
                .filter(queue_tickets::drop_id.eq(drop.id))
                .filter(queue_tickets::state.eq("waiting"))
                .order(queue_tickets::id.asc())
                .select(TicketRow::as_select())
                .load(c)
                .await?;
            shuffle(&mut tickets, seed);
            diesel::insert_into(drop_log::table)
                .values(&LogRow {
                    id: LogId::new(),
                    drop_id: drop.id,
                    at: now,
                    kind: "waiting_room_shuffled".into(),
                    buyer_id: None,
                    variant_id: None,
                    hold_id: None,
                    quantity: None,
                    detail: serde_json::json!({
                        "seed": seed_hex,
                        "tickets": tickets.len(),
                        "algorithm": "Fisher-Yates over ticket ids in ascending order, ChaCha20 keyed by the seed",
                    })
                    .to_string(),
                })
                .execute(c)
                .await?;
            let requests: Vec<HoldRequest> = tickets
                .iter()
                .map(|t| HoldRequest {
                    buyer: t.buyer_id,
                    variant: t.variant_id,
                    quantity: t.quantity,
                    idempotency_key: Some(format!("queue:{}", t.id)),
                })
                .collect();
            let outcomes: Vec<HoldOutcome> =
                place_holds_in!(&mut *c, drop.id, drop.per_buyer_limit, expires_at, now, &requests).await?;
            for (i, (t, outcome)) in tickets.iter_mut().zip(outcomes).enumerate() {
                let (state, hold): (&str, Option<HoldRow>) = match outcome {
                    Ok((h, _)) => ("held", Some(h)),
                    Err(HoldRefusal::LimitReached) => ("limit_reached", None),
                    Err(_) => ("sold_out", None),
                };
                t.state = state.into();
                t.position = Some(i as i64);
                t.hold_id = hold.as_ref().map(|h| h.id);
                t.updated_at = now;
                diesel::update(queue_tickets::table.find(t.id))
                    .set((
                        queue_tickets::state.eq(state),
                        queue_tickets::position.eq(t.position),
                        queue_tickets::hold_id.eq(t.hold_id),
                        queue_tickets::updated_at.eq(now),
                    ))
                    .execute(c)
                    .await?;
                diesel::insert_into(drop_log::table)
                    .values(&LogRow {
                        id: LogId::new(),
                        drop_id: drop.id,
                        at: now,
                        kind: "admission".into(),
                        buyer_id: Some(t.buyer_id),
                        variant_id: Some(t.variant_id),
                        hold_id: t.hold_id,
                        quantity: Some(t.quantity),
                        detail: serde_json::json!({"ticket_id": t.id, "position": i, "result": state}).to_string(),
                    })
                    .execute(c)
                    .await?;
            }
            Ok(Some(tickets))
        })
        .await
    });
    r.map_err(AppError::from)
}
