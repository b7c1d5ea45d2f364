//! A person's data: all of it exported as JSON, or the account deleted. Deletion keeps
//! orders (the business needs them for accounting) and raffle pseudonyms (published
//! proofs must keep verifying), but nothing left names the person: the email and
//! password are replaced, sessions, mailed links and queued mail are deleted,
//! storefronts taken down.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::{json, Value};

use crate::db::models::drop::HoldRow;
use crate::db::models::order::OrderRow;
use crate::db::models::queue::TicketRow;
use crate::db::models::raffle::{LedgerRow, PickRow};
use crate::db::models::storefront::StorefrontRow;
use crate::db::schema::{
    email_tokens, holds, mail_queue, memberships, orders, queue_tickets, raffle_entrants,
    raffle_picks, raffle_tickets, refresh_tokens, storefronts, users,
};
use crate::db::Store;
use crate::db_run;
use crate::domain::ids::UserId;
use crate::error::{AppError, AppResult};

fn ts(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339()
}

/// Everything the store keeps about `user`, as one JSON document.
pub async fn export(store: &Store, user: UserId, now: NaiveDateTime) -> AppResult<Value> {
    let u = crate::db::models::user::find(store, user)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut conn = store.read().await?;
    let (fronts, orders, holds, tickets, entries, ledger, picks, sessions) = db_run!(conn, |c| {
        let fronts: Vec<StorefrontRow> = storefronts::table
            .filter(storefronts::owner_id.eq(user))
            .select(StorefrontRow::as_select())
            .load(c)
            .await?;
        let orders: Vec<OrderRow> = orders::table
            .filter(orders::buyer_id.eq(user))
            .select(OrderRow::as_select())
            .load(c)
            .await?;
        let holds: Vec<HoldRow> = holds::table
            .filter(holds::buyer_id.eq(user))
            .select(HoldRow::as_select())
            .load(c)
            .await?;
        let tickets: Vec<TicketRow> = queue_tickets::table
            .filter(queue_tickets::buyer_id.eq(user))
            .select(TicketRow::as_select())
            .load(c)
            .await?;
        let entries: Vec<(String, String, NaiveDateTime)> = raffle_entrants::table
            .filter(raffle_entrants::user_id.eq(user))
            .select((
                raffle_entrants::raffle_id,
                raffle_entrants::pseudonym,
                raffle_entrants::created_at,
            ))
            .load(c)
            .await?;
        let ledger: Vec<LedgerRow> = raffle_tickets::table
            .filter(raffle_tickets::user_id.eq(user))
            .select(LedgerRow::as_select())
            .load(c)
            .await?;
        let picks: Vec<PickRow> = raffle_picks::table
            .filter(raffle_picks::user_id.eq(user))
            .select(PickRow::as_select())
            .load(c)
            .await?;
        let sessions: Vec<(NaiveDateTime, NaiveDateTime, Option<NaiveDateTime>)> =
            refresh_tokens::table
                .filter(refresh_tokens::user_id.eq(user))
                .select((
                    refresh_tokens::created_at,
                    refresh_tokens::expires_at,
                    refresh_tokens::revoked_at,
                ))
                .load(c)
                .await?;
        Ok::<_, diesel::result::Error>((
            fronts, orders, holds, tickets, entries, ledger, picks, sessions,
        ))
    })?;
    Ok(json!({
        "exported_at": ts(now),
        "account": {
            "id": u.id,
            "email": u.email,
            "role": u.role,
            "email_verified_at": u.email_verified_at.map(ts),
            "created_at": ts(u.created_at),
        },
        "storefronts": fronts.iter().map(|s| json!({
            "id": s.id, "slug": s.slug, "title": s.title, "bio": s.bio, "status": s.status,
            "links": serde_json::from_str::<Value>(&s.links).unwrap_or(Value::Null),
            "socials": serde_json::from_str::<Value>(&s.socials).unwrap_or(Value::Null),
            "created_at": ts(s.created_at),
        })).collect::<Vec<_>>(),
        "orders": orders,
        "holds": holds.iter().map(|h| json!({
            "id": h.id, "drop_id": h.drop_id, "variant_id": h.variant_id, "quantity": h.quantity,
            "status": h.status, "expires_at": ts(h.expires_at), "created_at": ts(h.created_at),
        })).collect::<Vec<_>>(),
        "queue_tickets": tickets,
        "raffle_entries": entries.iter().map(|(r, p, at)| json!({
            "raffle_id": r, "pseudonym": p, "entered_at": ts(*at),
        })).collect::<Vec<_>>(),
        "raffle_tickets": ledger,
        "raffle_picks": picks,
        "sessions": sessions.iter().map(|(created, expires, revoked)| json!({
            "created_at": ts(*created), "expires_at": ts(*expires), "revoked_at": revoked.map(ts),
        })).collect::<Vec<_>>(),
        "analytics": "page visits are counted without cookies under a visitor id that changes every day and cannot be linked to an account, so there is no analytics data about a person to export",
    }))
}

/// Delete the account: one transaction. `password_hash` is a hash of a random secret
/// nobody knows (so the login path needs no special case); the email becomes unusable
/// and unique (`deleted-<id>@deleted.invalid`).
pub async fn delete_account(
    store: &Store,
    user: UserId,
    password_hash: String,
    now: NaiveDateTime,
) -> AppResult<()> {
    let email = format!("deleted-{user}{}", super::user::DELETED_DOMAIN);
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let old_email: Option<String> = users::table
                .find(user)
                .select(users::email)
                .first(c)
                .await
                .optional()?;
            // Mail to them not yet sent (or sent, kept a few days) names them: it goes too.
            if let Some(old) = old_email {
                diesel::delete(mail_queue::table.filter(mail_queue::recipient.eq(old)))
                    .execute(c)
                    .await?;
            }
            diesel::update(users::table.find(user))
                .set((
                    users::email.eq(&email),
                    users::password_hash.eq(&password_hash),
                    users::email_verified_at.eq(None::<NaiveDateTime>),
                    users::updated_at.eq(now),
                ))
                .execute(c)
                .await?;
            diesel::delete(refresh_tokens::table.filter(refresh_tokens::user_id.eq(user)))
                .execute(c)
                .await?;
            diesel::delete(email_tokens::table.filter(email_tokens::user_id.eq(user)))
                .execute(c)
                .await?;
            // Nothing is charged for a deleted account again.
            diesel::update(
                memberships::table
                    .filter(memberships::buyer_id.eq(user))
                    .filter(memberships::status.eq("active")),
            )
            .set((
                memberships::status.eq("ended"),
                memberships::updated_at.eq(now),
            ))
            .execute(c)
            .await?;
            diesel::update(storefronts::table.filter(storefronts::owner_id.eq(user)))
                .set((
                    storefronts::status.eq("draft"),
                    storefronts::updated_at.eq(now),
                ))
                .execute(c)
                .await?;
            Ok(())
        })
        .await
    })?;
    Ok(())
}
