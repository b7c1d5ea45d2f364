//! Raffles in the store: creation, the batched entry transaction the raffle actor commits,
//! the ticket ledger (credits and reversals), closing (freezing the entry list) and the
//! draw (once, whatever the number of requests or nodes: a conditional update).
//!
//! The rules of the draw itself live in [`crate::domain::draw`]; this file only keeps its
//! inputs and its result.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use crate::db::schema::{raffle_entrants, raffle_picks, raffle_tickets, raffles};
use crate::db::Store;
use crate::db_run;
use crate::domain::draw::{self as proof, Alternate, Entry, Prize, Winner};
use crate::domain::ids::{DropId, HoldId, LedgerId, OrderId, RaffleId, StorefrontId, UserId};
use crate::error::{AppError, AppResult};

/// A raffle without its (possibly large) frozen entry list.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = raffles)]
pub struct RaffleRow {
    pub id: RaffleId,
    pub storefront_id: Option<StorefrontId>,
    pub created_by: Option<UserId>,
    pub title: String,
    pub description: String,
    /// JSON `[{rank_from, rank_to, description}]`.
    pub prizes: String,
    pub alternates: i64,
    /// `free` (one entry per account) or `tickets` (entry plus purchases and bonuses).
    pub entry: String,
    pub tickets_per_dollar: i64,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub status: String,
    pub month: Option<String>,
    /// Hex; secret until the draw.
    pub seed: String,
    pub commitment: String,
    pub entrants: i64,
    pub tickets: i64,
    pub entries_digest: Option<String>,
    /// JSON `{winners, alternates}` once drawn.
    pub result: Option<String>,
    pub drop_id: Option<DropId>,
    pub claim_seconds: i64,
    pub closed_at: Option<NaiveDateTime>,
    pub drawn_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl RaffleRow {
    /// The prize list as stored; a list that does not parse is an error (a draw must never
    /// run on an empty list standing in for a corrupt one).
    pub fn prizes(&self) -> AppResult<Vec<Prize>> {
        serde_json::from_str(&self.prizes).map_err(|e| {
            AppError::internal(format!("raffle {}: unreadable prize list: {e}", self.id))
        })
    }

    pub fn drawn(&self) -> Option<DrawResult> {
        self.result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
    }

    pub fn seed_bytes(&self) -> AppResult<[u8; 32]> {
        let v = hex::decode(&self.seed).map_err(AppError::internal)?;
        v.try_into()
            .map_err(|_| AppError::internal("raffle seed is not 32 bytes"))
    }
}

/// What a draw decided, as stored and as the proof states it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct DrawResult {
    #[schema(value_type = Vec<Object>)]
    pub winners: Vec<Winner>,
    #[schema(value_type = Vec<Object>)]
    pub alternates: Vec<Alternate>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = raffle_tickets)]
pub struct LedgerRow {
    pub id: LedgerId,
    pub raffle_id: RaffleId,
    pub user_id: UserId,
    /// `entry`, `purchase`, `reversal` or `bonus`.
    pub kind: String,
    /// Negative for a reversal.
    pub tickets: i64,
    pub order_id: Option<OrderId>,
    pub note: String,
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = raffle_picks)]
pub struct PickRow {
    pub raffle_id: RaffleId,
    /// 1-based, in draw order: winners first, then alternates.
    pub position: i64,
    pub kind: String,
    /// The winner's rank, or the alternate's position among alternates.
    pub rank: i64,
    pub user_id: UserId,
    pub pseudonym: String,
    pub tickets: i64,
    pub prize: String,
    /// `picked` (a winner), `waiting` (an alternate), `offered` (holds a unit of the
    /// gated drop), `claimed` (bought it), `lapsed` (let the offer pass).
    pub state: String,
    pub hold_id: Option<HoldId>,
    pub offered_at: Option<NaiveDateTime>,
}

/// A new per-raffle pseudonym: random, so entrants cannot be followed across raffles.
pub fn new_pseudonym() -> String {
    let b: [u8; 8] = rand::random();
    format!("e-{}", hex::encode(b))
}

pub async fn insert(store: &Store, row: &RaffleRow) -> AppResult<()> {
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            diesel::insert_into(raffles::table)
                .values(row)
                .execute(c)
                .await?;
            if let Some(d) = row.drop_id {
                use crate::db::schema::drops;
                let n = diesel::update(
                    drops::table
                        .find(d)
                        .filter(drops::raffle_id.is_null())
                        .filter(drops::status.eq_any(["draft", "scheduled"])),
                )
                .set(drops::raffle_id.eq(Some(row.id)))
                .execute(c)
                .await?;
                if n == 0 {
                    return Err(diesel::result::Error::RollbackTransaction);
                }
            }
            Ok(())
        })
        .await
    });
    match r {
        Ok(()) => Ok(()),
        Err(diesel::result::Error::RollbackTransaction) => Err(AppError::field(
            "drop_id",
            "must be a draft or scheduled drop of this storefront no other raffle gates",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn find(store: &Store, id: RaffleId) -> AppResult<Option<RaffleRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        raffles::table
            .find(id)
            .select(RaffleRow::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

/// Raffles for a list: a storefront's, the platform's (`None`), or all (admins).
pub async fn list(
    store: &Store,
    storefront: Option<Option<StorefrontId>>,
    limit: i64,
) -> AppResult<Vec<RaffleRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        let mut q = raffles::table.into_boxed();
        match storefront {
            Some(Some(sf)) => q = q.filter(raffles::storefront_id.eq(sf)),
            Some(None) => q = q.filter(raffles::storefront_id.is_null()),
            None => {}
        }
        q.order(raffles::closes_at.desc())
            .limit(limit)
            .select(RaffleRow::as_select())
            .load(c)
            .await
    });
    Ok(r?)
}

/// `draft → published` (or `→ cancelled`), conditional on the current status.
pub async fn set_status(
    store: &Store,
    id: RaffleId,
    from: &[&str],
    to: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::update(raffles::table.find(id).filter(raffles::status.eq_any(from)))
            .set((raffles::status.eq(to), raffles::updated_at.eq(now)))
            .execute(c)
            .await
    })?;
    Ok(n == 1)
}

/// End an open raffle's entries now (its owner closes it early): `closes_at` becomes `now`,
/// conditional on the raffle being published and open. [`close`] then freezes the list.
pub async fn end_entries(store: &Store, id: RaffleId, now: NaiveDateTime) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::update(
            raffles::table
                .find(id)
                .filter(raffles::status.eq("published"))
                .filter(raffles::opens_at.le(now))
                .filter(raffles::closes_at.gt(now)),
        )
        .set((raffles::closes_at.eq(now), raffles::updated_at.eq(now)))
        .execute(c)
        .await
    })?;
    Ok(n == 1)
}

/// One request of an entry batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryOutcome {
    /// Entered; the entrant now holds this many tickets in the raffle.
    Entered {
        tickets: i64,
    },
    AlreadyEntered,
}

/// Why a whole batch was refused (the raffle's state is one for all its requests).
fn refusal(row: Option<&RaffleRow>, now: NaiveDateTime) -> AppError {
    match row {
        None => AppError::NotFound,
        Some(r) if r.status == "draft" => AppError::NotFound,
        Some(r) if r.status == "published" && now < r.opens_at => {
            AppError::conflict("not_open", "the raffle is not open yet")
        }
        Some(_) => AppError::conflict("raffle_closed", "the raffle has closed"),
    }
}

/// Enter every user of `batch` in one transaction, with a fixed number of statements
/// whatever its size (Postgres: one, [`PG_ENTER`]; SQLite: a handful of multi-row ones in
/// one blocking task). Only while the raffle is open at `now`; closing updates the same
/// raffle row, so it sees either all of a batch or none of it.
pub async fn enter_batch(
    store: &Store,
    raffle: RaffleId,
    batch: &[UserId],
    now: NaiveDateTime,
) -> AppResult<Entered> {
    let mut conn = store.write().await?;
    match &mut conn {
        crate::db::DbConn::Postgres(c) => {
            let c: &mut crate::db::PgConn = c;
            pg_enter(c, raffle, batch, now).await
        }
        crate::db::DbConn::Sqlite(c) => {
            let batch = batch.to_vec();
            c.spawn_blocking(move |c| sqlite::enter(c, raffle, &batch, now))
                .await?
        }
    }
}

/// SQLite's entry batch: plain Diesel in one blocking task on the writer connection, one
/// immediate transaction, a fixed number of multi-row statements per batch (the writer is
/// the only one, so who is already in is read once, inside the transaction).
mod sqlite {
    use std::collections::{HashMap, HashSet};

    use chrono::NaiveDateTime;
    use diesel::prelude::*;
    use diesel::result::Error as DieselError;
    use diesel::sql_types::{Text, Timestamp};
    use diesel::sqlite::Sqlite;
    use diesel::SqliteConnection;

    use super::{new_pseudonym, refusal, Entered, EntryOutcome, RaffleRow};
    use crate::db::models::value_rows;
    use crate::db::schema::{raffle_tickets, raffles};
    use crate::domain::ids::{LedgerId, RaffleId, UserId};
    use crate::error::AppResult;

    /// Rows per multi-row statement (SQLite binds at most 32,766 values; a ledger row
    /// takes four).
    const ROWS: usize = 1024;

    pub fn enter(
        c: &mut SqliteConnection,
        raffle: RaffleId,
        batch: &[UserId],
        now: NaiveDateTime,
    ) -> QueryResult<AppResult<Entered>> {
        c.immediate_transaction(|c| {
            let open = diesel::update(
                raffles::table
                    .find(raffle)
                    .filter(raffles::status.eq("published"))
                    .filter(raffles::opens_at.le(now))
                    .filter(raffles::closes_at.gt(now)),
            )
            .set(raffles::updated_at.eq(now))
            .execute(c)?;
            if open == 0 {
                let row = raffles::table
                    .find(raffle)
                    .select(RaffleRow::as_select())
                    .first(c)
                    .optional()?;
                return Ok(Err(refusal(row.as_ref(), now)));
            }
            let entry: String = raffles::table
                .find(raffle)
                .select(raffles::entry)
                .first(c)?;
            // Each account once, in the order of its first request.
            let mut seen = HashSet::new();
            let users: Vec<UserId> = batch.iter().copied().filter(|u| seen.insert(*u)).collect();
            let mut already: HashSet<UserId> = HashSet::new();
            for chunk in users.chunks(ROWS) {
                already.extend(
                    raffle_tickets::table
                        .filter(raffle_tickets::raffle_id.eq(raffle))
                        .filter(raffle_tickets::kind.eq("entry"))
                        .filter(raffle_tickets::user_id.eq_any(chunk))
                        .select(raffle_tickets::user_id)
                        .load::<UserId>(c)?,
                );
            }
            let new: Vec<UserId> = users.into_iter().filter(|u| !already.contains(u)).collect();
            let mut joined = 0usize;
            for chunk in new.chunks(ROWS) {
                let mut sql = String::from(
                    "INSERT INTO raffle_tickets (id, raffle_id, user_id, kind, tickets, order_id, \
                     note, created_at) VALUES ",
                );
                value_rows(&mut sql, chunk.len(), "(?, ?, ?, 'entry', 1, NULL, 'free entry', ?)");
                let mut q = diesel::sql_query(sql).into_boxed::<Sqlite>();
                for u in chunk {
                    q = q
                        .bind::<Text, _>(LedgerId::new())
                        .bind::<Text, _>(raffle)
                        .bind::<Text, _>(*u)
                        .bind::<Timestamp, _>(now);
                }
                q.execute(c)?;
                let mut sql = String::from(
                    "INSERT INTO raffle_entrants (raffle_id, user_id, pseudonym, created_at) VALUES ",
                );
                value_rows(&mut sql, chunk.len(), "(?, ?, ?, ?)");
                sql.push_str(" ON CONFLICT DO NOTHING");
                let mut q = diesel::sql_query(sql).into_boxed::<Sqlite>();
                for u in chunk {
                    q = q
                        .bind::<Text, _>(raffle)
                        .bind::<Text, _>(*u)
                        .bind::<Text, _>(new_pseudonym())
                        .bind::<Timestamp, _>(now);
                }
                joined += q.execute(c)?;
            }
            if !new.is_empty() {
                diesel::update(raffles::table.find(raffle))
                    .set((
                        raffles::entrants.eq(raffles::entrants + joined as i64),
                        raffles::tickets.eq(raffles::tickets + new.len() as i64),
                    ))
                    .execute(c)?;
            }
            // Each new entrant's tickets: one in a free raffle, else all of their rows.
            let mut tickets: HashMap<UserId, i64> = new.iter().map(|u| (*u, 1)).collect();
            if entry != "free" {
                for chunk in new.chunks(ROWS) {
                    let credits: Vec<(UserId, i64)> = raffle_tickets::table
                        .filter(raffle_tickets::raffle_id.eq(raffle))
                        .filter(raffle_tickets::user_id.eq_any(chunk))
                        .select((raffle_tickets::user_id, raffle_tickets::tickets))
                        .load(c)?;
                    let mut sums: HashMap<UserId, i64> = HashMap::new();
                    for (u, n) in credits {
                        *sums.entry(u).or_default() += n;
                    }
                    tickets.extend(sums);
                }
            }
            let (entrants, total): (i64, i64) = raffles::table
                .find(raffle)
                .select((raffles::entrants, raffles::tickets))
                .first(c)?;
            // The first request of a new entrant is its entry; any other is a repeat.
            let outcomes = batch
                .iter()
                .map(|u| match tickets.remove(u) {
                    Some(tickets) => EntryOutcome::Entered { tickets },
                    None => EntryOutcome::AlreadyEntered,
                })
                .collect();
            Ok::<_, DieselError>(Ok(Entered {
                outcomes,
                entrants,
                tickets: total,
            }))
        })
    }
}

/// The accounts with their free entry in `raffle` (one query: what a raffle's actor loads).
pub async fn free_entrants(
    store: &Store,
    raffle: RaffleId,
) -> AppResult<std::collections::HashSet<UserId>> {
    let mut conn = store.read().await?;
    let users: Vec<UserId> = db_run!(conn, |c| {
        raffle_tickets::table
            .filter(raffle_tickets::raffle_id.eq(raffle))
            .filter(raffle_tickets::kind.eq("entry"))
            .select(raffle_tickets::user_id)
            .load(c)
            .await
    })?;
    Ok(users.into_iter().collect())
}

/// A committed batch of entries: each request's outcome, in order, and the raffle's totals
/// after it (the actor's state, without reading the raffle again).
#[derive(Debug)]
pub struct Entered {
    pub outcomes: Vec<EntryOutcome>,
    pub entrants: i64,
    pub tickets: i64,
}

/// A batch of entries on Postgres as ONE statement (prepared once per connection, see
/// [`PgEnter`]): the ledger's free-entry rows (the unique index on one free entry per
/// account is the guard: a user already in, by any node, is simply not credited), the
/// entrants credited for the first time, the raffle's totals, and each credited user's
/// tickets, all only while the raffle is open at `now`. No rows back: it is not open.
const PG_ENTER: [&str; 6] = [
    "WITH p AS (SELECT ",
    "::text AS raffle_id, ",
    "::timestamp AS at
), req AS (
    SELECT * FROM unnest(",
    "::text[], ",
    "::text[], ",
    "::text[]) AS r(user_id, ledger_id, pseudonym)
), r AS (
    SELECT raffles.id, raffles.entry FROM raffles, p
    WHERE raffles.id = p.raffle_id AND raffles.status = 'published'
      AND raffles.opens_at <= p.at AND raffles.closes_at > p.at
), credited AS (
    INSERT INTO raffle_tickets (id, raffle_id, user_id, kind, tickets, order_id, note, created_at)
    SELECT req.ledger_id, r.id, req.user_id, 'entry', 1, NULL, 'free entry', p.at
    FROM req, r, p
    ON CONFLICT DO NOTHING
    RETURNING user_id
), joined AS (
    INSERT INTO raffle_entrants (raffle_id, user_id, pseudonym, created_at)
    SELECT r.id, req.user_id, req.pseudonym, p.at
    FROM req JOIN credited c ON c.user_id = req.user_id, r, p
    ON CONFLICT DO NOTHING
    RETURNING user_id
), bump AS (
    UPDATE raffles SET entrants = raffles.entrants + (SELECT count(*) FROM joined),
        tickets = raffles.tickets + (SELECT count(*) FROM credited), updated_at = p.at
    FROM p, r WHERE raffles.id = r.id
    RETURNING raffles.entrants, raffles.tickets
), earlier AS (
    SELECT t.user_id, sum(t.tickets)::int8 AS n FROM raffle_tickets t, r
    WHERE t.raffle_id = r.id AND r.entry = 'tickets'
      AND t.user_id IN (SELECT user_id FROM credited)
    GROUP BY t.user_id
)
SELECT c.user_id, 1 + coalesce(e.n, 0) AS user_tickets, b.entrants, b.tickets
FROM bump b LEFT JOIN credited c ON true LEFT JOIN earlier e ON e.user_id = c.user_id",
];

/// [`PG_ENTER`]'s parameters: a query type of our own, which Diesel caches (it never
/// caches a `sql_query`).
struct PgEnter {
    raffle: String,
    now: NaiveDateTime,
    users: Vec<String>,
    ledger: Vec<String>,
    pseudonyms: Vec<String>,
}

impl diesel::query_builder::QueryId for PgEnter {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for PgEnter {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for PgEnter {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, Text, Timestamp};
        let [s0, s1, s2, s3, s4, s5] = PG_ENTER;
        out.push_sql(s0);
        out.push_bind_param::<Text, _>(&self.raffle)?;
        out.push_sql(s1);
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(s2);
        out.push_bind_param::<Array<Text>, _>(&self.users)?;
        out.push_sql(s3);
        out.push_bind_param::<Array<Text>, _>(&self.ledger)?;
        out.push_sql(s4);
        out.push_bind_param::<Array<Text>, _>(&self.pseudonyms)?;
        out.push_sql(s5);
        Ok(())
    }
}

#[derive(QueryableByName)]
struct EnterRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    user_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    user_tickets: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    entrants: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    tickets: i64,
}

async fn pg_enter(
    c: &mut crate::db::PgConn,
    raffle: RaffleId,
    batch: &[UserId],
    now: NaiveDateTime,
) -> AppResult<Entered> {
    let q = PgEnter {
        raffle: raffle.to_string(),
        now,
        users: batch.iter().map(|u| u.to_string()).collect(),
        ledger: batch.iter().map(|_| LedgerId::new().to_string()).collect(),
        pseudonyms: batch.iter().map(|_| new_pseudonym()).collect(),
    };
    // One statement: its own transaction.
    let rows: Vec<EnterRow> = q.load(c).await?;
    let Some(first) = <[EnterRow]>::first(&rows) else {
        let row = raffles::table
            .find(raffle)
            .select(RaffleRow::as_select())
            .first(c)
            .await
            .optional()?;
        return Err(refusal(row.as_ref(), now));
    };
    let (entrants, tickets) = (first.entrants, first.tickets);
    let mut credited: std::collections::HashMap<String, i64> = rows
        .into_iter()
        .filter_map(|r| r.user_id.map(|u| (u, r.user_tickets)))
        .collect();
    // A user twice in one batch is credited once: the first request is the entry.
    let outcomes = batch
        .iter()
        .map(|u| match credited.remove(&u.to_string()) {
            Some(tickets) => EntryOutcome::Entered { tickets },
            None => EntryOutcome::AlreadyEntered,
        })
        .collect();
    Ok(Entered {
        outcomes,
        entrants,
        tickets,
    })
}

/// Ledger rows crediting a paid order to every open `tickets` raffle it counts for (the
/// platform's, and its storefront's), inside the caller's transaction on `$c`. Whole units
/// of the currency only; nothing for less than one. Idempotent per order and raffle.
macro_rules! credit_purchase_in {
    ($c:expr, $order:expr, $now:expr) => {
        async {
            use $crate::db::schema::{raffle_entrants, raffle_tickets, raffles};
            let c = $c;
            let (o, now): (&$crate::db::models::order::OrderRow, chrono::NaiveDateTime) =
                ($order, $now);
            let storefront = o.storefront_id;
            let units = $crate::domain::money::Currency::parse(&o.currency)
                .map(|cur| o.amount_cents / cur.minor_per_major())
                .unwrap_or(0);
            let open: Vec<($crate::domain::ids::RaffleId, i64)> = raffles::table
                .filter(raffles::entry.eq("tickets"))
                .filter(raffles::status.eq("published"))
                .filter(raffles::opens_at.le(now))
                .filter(raffles::closes_at.gt(now))
                .filter(raffles::tickets_per_dollar.gt(0))
                .filter(
                    raffles::storefront_id
                        .is_null()
                        .or(raffles::storefront_id.eq(storefront)),
                )
                .select((raffles::id, raffles::tickets_per_dollar))
                .load(c)
                .await?;
            for (raffle, per) in open {
                let tickets = units.saturating_mul(per);
                if tickets <= 0 {
                    continue;
                }
                let joined = diesel::insert_into(raffle_entrants::table)
                    .values((
                        raffle_entrants::raffle_id.eq(raffle),
                        raffle_entrants::user_id.eq(o.buyer_id),
                        raffle_entrants::pseudonym.eq($crate::db::models::raffle::new_pseudonym()),
                        raffle_entrants::created_at.eq(now),
                    ))
                    .on_conflict_do_nothing()
                    .execute(c)
                    .await?;
                let credited = diesel::insert_into(raffle_tickets::table)
                    .values(&$crate::db::models::raffle::LedgerRow {
                        id: $crate::domain::ids::LedgerId::new(),
                        raffle_id: raffle,
                        user_id: o.buyer_id,
                        kind: "purchase".into(),
                        tickets,
                        order_id: Some(o.id),
                        note: format!("order {}", o.id),
                        created_at: now,
                    })
                    .on_conflict_do_nothing()
                    .execute(c)
                    .await?;
                if credited == 1 {
                    diesel::update(raffles::table.find(raffle))
                        .set((
                            raffles::entrants.eq(raffles::entrants + joined as i64),
                            raffles::tickets.eq(raffles::tickets + tickets),
                        ))
                        .execute(c)
                        .await?;
                }
            }
            Ok::<(), diesel::result::Error>(())
        }
    };
}
pub(crate) use credit_purchase_in;

/// A reversal row for each credit of a refunded order, inside the caller's transaction.
/// An open raffle's live total drops with it; a closed one's frozen list does not change.
macro_rules! reverse_purchase_in {
    ($c:expr, $order:expr, $now:expr) => {
        async {
            use $crate::db::schema::{raffle_tickets, raffles};
            let c = $c;
            let (order, now): ($crate::domain::ids::OrderId, chrono::NaiveDateTime) =
                ($order, $now);
            let credits: Vec<$crate::db::models::raffle::LedgerRow> = raffle_tickets::table
                .filter(raffle_tickets::order_id.eq(order))
                .filter(raffle_tickets::kind.eq("purchase"))
                .select($crate::db::models::raffle::LedgerRow::as_select())
                .load(c)
                .await?;
            for credit in credits {
                let n = diesel::insert_into(raffle_tickets::table)
                    .values(&$crate::db::models::raffle::LedgerRow {
                        id: $crate::domain::ids::LedgerId::new(),
                        raffle_id: credit.raffle_id,
                        user_id: credit.user_id,
                        kind: "reversal".into(),
                        tickets: -credit.tickets,
                        order_id: Some(order),
                        note: format!("refund of order {order}"),
                        created_at: now,
                    })
                    .on_conflict_do_nothing()
                    .execute(c)
                    .await?;
                if n == 1 {
                    diesel::update(
                        raffles::table
                            .find(credit.raffle_id)
                            .filter(raffles::status.eq("published")),
                    )
                    .set(raffles::tickets.eq(raffles::tickets - credit.tickets))
                    .execute(c)
                    .await?;
                }
            }
            Ok::<(), diesel::result::Error>(())
        }
    };
}
pub(crate) use reverse_purchase_in;

/// Bonus tickets (a referral, a giveaway), credited while the raffle is open.
pub async fn credit_bonus(
    store: &Store,
    raffle: RaffleId,
    user: UserId,
    tickets: i64,
    note: &str,
    now: NaiveDateTime,
) -> AppResult<LedgerRow> {
    let row = LedgerRow {
        id: LedgerId::new(),
        raffle_id: raffle,
        user_id: user,
        kind: "bonus".into(),
        tickets,
        order_id: None,
        note: note.to_string(),
        created_at: now,
    };
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let open = diesel::update(
                raffles::table
                    .find(raffle)
                    .filter(raffles::status.eq("published"))
                    .filter(raffles::entry.eq("tickets"))
                    .filter(raffles::closes_at.gt(now)),
            )
            .set(raffles::updated_at.eq(now))
            .execute(c)
            .await?;
            if open == 0 {
                return Ok(false);
            }
            let joined = diesel::insert_into(raffle_entrants::table)
                .values((
                    raffle_entrants::raffle_id.eq(raffle),
                    raffle_entrants::user_id.eq(user),
                    raffle_entrants::pseudonym.eq(new_pseudonym()),
                    raffle_entrants::created_at.eq(now),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            diesel::insert_into(raffle_tickets::table)
                .values(&row)
                .execute(c)
                .await?;
            diesel::update(raffles::table.find(raffle))
                .set((
                    raffles::entrants.eq(raffles::entrants + joined as i64),
                    raffles::tickets.eq(raffles::tickets + tickets),
                ))
                .execute(c)
                .await?;
            Ok(true)
        })
        .await
    })?;
    if !r {
        return Err(AppError::conflict(
            "raffle_closed",
            "bonus tickets go to an open tickets raffle",
        ));
    }
    Ok(row)
}

/// One entrant's view of a raffle: their pseudonym and ledger rows.
pub async fn entrant(
    store: &Store,
    raffle: RaffleId,
    user: UserId,
) -> AppResult<(Option<String>, Vec<LedgerRow>)> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        async {
            let pseudonym = raffle_entrants::table
                .find((raffle, user))
                .select(raffle_entrants::pseudonym)
                .first::<String>(c)
                .await
                .optional()?;
            let rows = raffle_tickets::table
                .filter(raffle_tickets::raffle_id.eq(raffle))
                .filter(raffle_tickets::user_id.eq(user))
                .order(raffle_tickets::created_at.asc())
                .select(LedgerRow::as_select())
                .load(c)
                .await?;
            Ok::<_, diesel::result::Error>((pseudonym, rows))
        }
        .await
    })?;
    Ok(r)
}

/// Every ledger row of a user, newest first.
pub async fn ledger_of(store: &Store, user: UserId, limit: i64) -> AppResult<Vec<LedgerRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        raffle_tickets::table
            .filter(raffle_tickets::user_id.eq(user))
            .order(raffle_tickets::created_at.desc())
            .limit(limit)
            .select(LedgerRow::as_select())
            .load(c)
            .await
    })?;
    Ok(r)
}

/// Published raffles whose closing time has passed (for the timer).
pub async fn due_to_close(store: &Store, now: NaiveDateTime) -> AppResult<Vec<RaffleId>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        raffles::table
            .filter(raffles::status.eq("published"))
            .filter(raffles::closes_at.le(now))
            .select(raffles::id)
            .limit(100)
            .load(c)
            .await
    })?;
    Ok(r)
}

/// Close a raffle whose time is up and freeze its entry list: every entrant with a
/// positive ledger sum, in canonical order, its serialisation and digest stored with the
/// raffle. Conditional (`published → closed`), so timers on every node may race; one
/// freezes. Returns whether this call closed it.
pub async fn close(store: &Store, id: RaffleId, now: NaiveDateTime) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let n = diesel::update(
                raffles::table
                    .find(id)
                    .filter(raffles::status.eq("published"))
                    .filter(raffles::closes_at.le(now)),
            )
            .set((
                raffles::status.eq("closed"),
                raffles::closed_at.eq(Some(now)),
                raffles::updated_at.eq(now),
            ))
            .execute(c)
            .await?;
            if n == 0 {
                return Ok(false);
            }
            let names: Vec<(UserId, String)> = raffle_entrants::table
                .filter(raffle_entrants::raffle_id.eq(id))
                .select((raffle_entrants::user_id, raffle_entrants::pseudonym))
                .load(c)
                .await?;
            let rows: Vec<(UserId, i64)> = raffle_tickets::table
                .filter(raffle_tickets::raffle_id.eq(id))
                .select((raffle_tickets::user_id, raffle_tickets::tickets))
                .load(c)
                .await?;
            let mut sums: std::collections::HashMap<UserId, i64> =
                std::collections::HashMap::with_capacity(names.len());
            for (u, t) in rows {
                *sums.entry(u).or_default() += t;
            }
            let mut entries: Vec<Entry> = names
                .into_iter()
                .filter_map(|(u, p)| {
                    let t = sums.get(&u).copied().unwrap_or(0);
                    (t > 0).then_some(Entry {
                        entrant: p,
                        tickets: t as u64,
                    })
                })
                .collect();
            proof::sort_entries(&mut entries);
            let blob = String::from_utf8(proof::canonical_bytes(&entries)).unwrap_or_default();
            let digest = proof::entries_digest(&entries);
            let total: u64 = entries.iter().map(|e| e.tickets).sum();
            diesel::update(raffles::table.find(id))
                .set((
                    raffles::entries_blob.eq(Some(blob)),
                    raffles::entries_digest.eq(Some(digest)),
                    raffles::entrants.eq(entries.len() as i64),
                    raffles::tickets.eq(total as i64),
                ))
                .execute(c)
                .await?;
            Ok(true)
        })
        .await
    })?;
    Ok(r)
}

/// The frozen entry list of a closed raffle, parsed from its canonical serialisation.
pub async fn frozen_entries(store: &Store, id: RaffleId) -> AppResult<Vec<Entry>> {
    let mut conn = store.read().await?;
    let blob: Option<String> = db_run!(conn, |c| {
        raffles::table
            .find(id)
            .select(raffles::entries_blob)
            .first::<Option<String>>(c)
            .await
            .optional()
    })?
    .flatten();
    // Closing freezes the entries in the same transaction: a closed raffle without them is
    // corrupt, and drawing it on an empty list would be wrong.
    let blob =
        blob.ok_or_else(|| AppError::internal(format!("raffle {id}: entries never frozen")))?;
    let mut out = Vec::new();
    for line in blob.lines() {
        let (name, n) = line
            .rsplit_once(':')
            .ok_or_else(|| AppError::internal("malformed frozen entry line"))?;
        out.push(Entry {
            entrant: name.to_string(),
            tickets: n.parse().map_err(AppError::internal)?,
        });
    }
    Ok(out)
}

/// Store a draw's result and its picks, once: `closed → drawn` is conditional, so of two
/// concurrent draws (two requests, two nodes) one writes and both return what was written.
pub async fn record_draw(
    store: &Store,
    id: RaffleId,
    result: &DrawResult,
    picks: &[PickRow],
    now: NaiveDateTime,
) -> AppResult<bool> {
    let text = serde_json::to_string(result).map_err(AppError::internal)?;
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let n = diesel::update(raffles::table.find(id).filter(raffles::status.eq("closed")))
                .set((
                    raffles::status.eq("drawn"),
                    raffles::result.eq(Some(&text)),
                    raffles::drawn_at.eq(Some(now)),
                    raffles::updated_at.eq(now),
                ))
                .execute(c)
                .await?;
            if n == 0 {
                return Ok(false);
            }
            for p in picks {
                diesel::insert_into(raffle_picks::table)
                    .values(p)
                    .execute(c)
                    .await?;
            }
            Ok(true)
        })
        .await
    })?;
    Ok(r)
}

/// The entrants behind some pseudonyms of a raffle.
pub async fn users_of(
    store: &Store,
    raffle: RaffleId,
    pseudonyms: &[String],
) -> AppResult<Vec<(String, UserId)>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        raffle_entrants::table
            .filter(raffle_entrants::raffle_id.eq(raffle))
            .filter(raffle_entrants::pseudonym.eq_any(pseudonyms))
            .select((raffle_entrants::pseudonym, raffle_entrants::user_id))
            .load(c)
            .await
    })?;
    Ok(r)
}

/// Every entrant of a raffle (for the result mails).
pub async fn entrant_users(store: &Store, raffle: RaffleId) -> AppResult<Vec<UserId>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        raffle_entrants::table
            .filter(raffle_entrants::raffle_id.eq(raffle))
            .select(raffle_entrants::user_id)
            .load(c)
            .await
    })?;
    Ok(r)
}

pub async fn picks(store: &Store, raffle: RaffleId) -> AppResult<Vec<PickRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        raffle_picks::table
            .filter(raffle_picks::raffle_id.eq(raffle))
            .order(raffle_picks::position.asc())
            .select(PickRow::as_select())
            .load(c)
            .await
    })?;
    Ok(r)
}

/// Mark a pick offered before its hold is placed (`picked|waiting → offered`). The hold
/// is then placed with an idempotency key of the pick, so a retry after a crash between
/// the two finds the same hold.
pub async fn mark_offered(
    store: &Store,
    raffle: RaffleId,
    position: i64,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::update(
            raffle_picks::table
                .find((raffle, position))
                .filter(raffle_picks::state.eq_any(["picked", "waiting"])),
        )
        .set((
            raffle_picks::state.eq("offered"),
            raffle_picks::offered_at.eq(Some(now)),
        ))
        .execute(c)
        .await
    })?;
    Ok(n == 1)
}

pub async fn set_pick_hold(
    store: &Store,
    raffle: RaffleId,
    position: i64,
    hold: Option<HoldId>,
    state: &str,
) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::update(raffle_picks::table.find((raffle, position)))
            .set((
                raffle_picks::hold_id.eq(hold),
                raffle_picks::state.eq(state),
            ))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// An offered hold ended unbought: `offered → lapsed`, once. Returns the pick if this call
/// lapsed it.
pub async fn lapse(store: &Store, hold: HoldId) -> AppResult<Option<PickRow>> {
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let pick = raffle_picks::table
                .filter(raffle_picks::hold_id.eq(hold))
                .filter(raffle_picks::state.eq("offered"))
                .select(PickRow::as_select())
                .first(c)
                .await
                .optional()?;
            let Some(mut pick) = pick else {
                return Ok(None);
            };
            let n = diesel::update(
                raffle_picks::table
                    .find((pick.raffle_id, pick.position))
                    .filter(raffle_picks::state.eq("offered")),
            )
            .set(raffle_picks::state.eq("lapsed"))
            .execute(c)
            .await?;
            if n == 0 {
                return Ok(None);
            }
            pick.state = "lapsed".into();
            Ok(Some(pick))
        })
        .await
    })?;
    Ok(r)
}

/// Picks marked offered whose hold was never recorded (a crash between the two steps).
pub async fn offers_without_hold(store: &Store) -> AppResult<Vec<PickRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        raffle_picks::table
            .filter(raffle_picks::state.eq("offered"))
            .filter(raffle_picks::hold_id.is_null())
            .limit(100)
            .select(PickRow::as_select())
            .load(c)
            .await
    })?;
    Ok(r)
}

/// The platform's raffle for a calendar month (`YYYY-MM`), created if missing. Unique on
/// the month, so every node may try at once.
pub async fn ensure_monthly(store: &Store, row: &RaffleRow) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::insert_into(raffles::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)
            .await
    })?;
    Ok(n == 1)
}

pub async fn monthly_exists(store: &Store, month: &str) -> AppResult<bool> {
    let mut conn = store.read().await?;
    let n: i64 = db_run!(conn, |c| {
        raffles::table
            .filter(raffles::month.eq(month))
            .count()
            .get_result(c)
            .await
    })?;
    Ok(n > 0)
}

/// The email of each of `entrants` (pseudonyms) in raffle `id`: for the people who send
/// the prizes (admins, the storefront's owner), never in public answers.
pub async fn emails_of(
    store: &Store,
    id: RaffleId,
    entrants: &[String],
) -> AppResult<Vec<(String, String)>> {
    use crate::db::schema::users;
    let mut conn = store.read().await?;
    let entrants = entrants.to_vec();
    Ok(db_run!(conn, |c| {
        raffle_entrants::table
            .inner_join(users::table.on(users::id.eq(raffle_entrants::user_id)))
            .filter(raffle_entrants::raffle_id.eq(id))
            .filter(raffle_entrants::pseudonym.eq_any(&entrants))
            .select((raffle_entrants::pseudonym, users::email))
            .load(c)
            .await
    })?)
}
