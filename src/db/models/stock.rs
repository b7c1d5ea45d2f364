//! The SQL of a drop's hot state: holds, stock per variant and each buyer's running total.
//! Only the drop actor (`src/actors/drop/`) calls this module (the test
//! `only_the_drop_actor_calls_the_hold_and_stock_model` fails if anything else does),
//! because the actor decides in memory and must see every change to what it decides on.
//!
//! The actor decides a batch of holds in memory, then [`write_grants`] writes the whole
//! batch with a fixed number of statements, whatever its size:
//!
//! * Postgres: ONE statement (`unnest` of the batch's columns, with data-modifying CTEs for
//!   the holds, the buyers' totals, the stock and the log; `RETURNING` the stock after it),
//!   prepared once per connection and run on its own: one round trip and one commit. A
//!   guard that does not hold aborts the statement, so nothing of the batch is written.
//! * SQLite: the whole batch in one blocking task on the writer connection, per-row
//!   statements that Diesel prepares once and caches (no `Option` struct inserts, no
//!   `sql_query`), one transaction, one fsync.
//!
//! The store stays the arbiter of last resort. `remaining >= 0` is a CHECK constraint, the
//! buyer's total is added only while it stays within the limit, and idempotency keys are
//! unique. A batch decided on stale memory (another node wrote, a restart) breaks one of
//! those; it is rolled back whole and [`BatchError::Stale`] tells the actor to redo it on
//! the slow path ([`place_holds`]: lock, re-read, decide, write) and reload.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::drop::{
    place_holds_in, DropRow, HoldOutcome, HoldRefusal, HoldRequest, HoldRow, LogRow, VariantRow,
};
use super::order::{insert_log, Applied, OrderRow, PAYMENT_WINDOW};
use crate::db::schema::{
    drop_buyers, drop_log, drop_variants, drops, holds, orders, products, raffle_picks,
};
use crate::db::{DbConn, Store};
use crate::db_run;
use crate::domain::drop::HoldEnd;
use crate::domain::ids::{DropId, HoldId, LogId, OrderId, UserId, VariantId};
use crate::error::{AppError, AppResult};

/// What the actor needs in memory to answer without the store.
#[derive(Debug, Clone, Default)]
pub struct Authority {
    /// Each buyer's units taken (held or bought) in this drop.
    pub buyers: HashMap<UserId, i64>,
    /// Holds placed with an `Idempotency-Key`, by (buyer, key): a retry gets this answer.
    pub keyed: HashMap<(UserId, String), HoldRow>,
}

/// A drop, its variants and the actor's authority, read in three queries (not row by row):
/// this is what a restart with a crowd of active holds waits for.
pub async fn load(
    store: &Store,
    id: DropId,
) -> AppResult<Option<(DropRow, Vec<VariantRow>, Authority)>> {
    let Some((d, vs)) = super::drop::find(store, id).await? else {
        return Ok(None);
    };
    let auth = load_authority(store, id).await?;
    Ok(Some((d, vs, auth)))
}

/// The buyers' totals and the keyed holds of a drop.
pub async fn load_authority(store: &Store, id: DropId) -> AppResult<Authority> {
    let mut conn = store.read().await?;
    let (buyers, keyed) = db_run!(conn, |c| {
        async {
            let buyers: Vec<(UserId, i64)> = drop_buyers::table
                .filter(drop_buyers::drop_id.eq(id))
                .select((drop_buyers::buyer_id, drop_buyers::taken))
                .load(c)
                .await?;
            let keyed: Vec<HoldRow> = holds::table
                .filter(holds::drop_id.eq(id))
                .filter(holds::idempotency_key.is_not_null())
                .select(HoldRow::as_select())
                .load(c)
                .await?;
            Ok::<_, DieselError>((buyers, keyed))
        }
        .await
    })?;
    let mut auth = Authority {
        buyers: buyers.into_iter().collect(),
        keyed: HashMap::with_capacity(keyed.len()),
    };
    for h in keyed {
        if let Some(k) = h.idempotency_key.clone() {
            auth.keyed.insert((h.buyer_id, k), h);
        }
    }
    Ok(auth)
}

/// A variant's counts as the store has them after a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Counts {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub id: VariantId,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub stock: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub remaining: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub held: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub sold: i64,
}

/// Why a batch was not written.
#[derive(Debug)]
pub enum BatchError {
    /// A guard in the store refused the batch: it was decided on stale memory. Nothing was
    /// written; redo it on the slow path and reload.
    Stale,
    /// The store failed (or is unreachable). Nothing was written.
    Store(AppError),
}

/// Whether a Diesel error says "the store refused this batch" rather than "the store
/// failed": a constraint the memory should have kept, or our own rollback of a guard.
///
/// A deadlock or a serialization failure is one too: the store aborted the batch, nothing
/// of it was written, and the slow path (which locks the stock row first) decides it
/// again. Two batches of the fast path cannot deadlock each other (they lock buyers in
/// id order, then the stock row), but a fast batch (buyers, then stock) and another node's
/// slow one (stock, then buyers) can.
fn stale(e: &DieselError) -> bool {
    match e {
        DieselError::RollbackTransaction
        | DieselError::DatabaseError(
            DatabaseErrorKind::CheckViolation
            | DatabaseErrorKind::NotNullViolation
            | DatabaseErrorKind::UniqueViolation
            | DatabaseErrorKind::SerializationFailure,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => info.message().starts_with("deadlock detected"),
        _ => false,
    }
}

fn batch_error(e: DieselError) -> BatchError {
    if stale(&e) {
        BatchError::Stale
    } else {
        BatchError::Store(AppError::from(e))
    }
}

/// Write a batch of holds the actor granted in memory. Every hold in `grants` is new.
/// Returns the counts of the variants it touched, as the store has them after the write.
pub async fn write_grants(
    conn: &mut DbConn,
    drop: DropId,
    per_buyer_limit: i64,
    grants: &[HoldRow],
    now: NaiveDateTime,
) -> Result<Vec<Counts>, BatchError> {
    if grants.is_empty() {
        return Ok(Vec::new());
    }
    let mut variants: Vec<VariantId> = grants.iter().map(|h| h.variant_id).collect();
    variants.sort();
    variants.dedup();
    let mut buyers: Vec<UserId> = grants.iter().map(|h| h.buyer_id).collect();
    buyers.sort();
    buyers.dedup();
    match conn {
        DbConn::Postgres(c) => {
            let c: &mut crate::db::PgConn = c;
            pg_write_grants(c, drop, per_buyer_limit, grants, now, buyers.len())
                .await
                .map_err(batch_error)
        }
        DbConn::Sqlite(c) => {
            let grants = grants.to_vec();
            c.spawn_blocking(move |c| {
                sqlite::write_grants(c, drop, per_buyer_limit, &grants, now, &variants)
            })
            .await
            .map_err(batch_error)
        }
    }
}

/// The batch as ONE statement, prepared once per connection and cached (it is built by
/// [`PgGrants`], not `sql_query`, which Diesel never caches), run on its own — an
/// implicit transaction, so a batch costs one round trip and one fsync, no BEGIN/COMMIT.
///
/// Each CTE runs exactly once and all see the same snapshot. Order matters for the one
/// row every batch of a drop updates: the stock update reads `taken` (all the holds) and
/// `logged` (the log rows, which read `ok`, which reads the buyers' totals), so every row
/// is inserted before the variant row is locked, and the lock is held only from there
/// to the commit; two batches in flight on two connections insert side by side and queue
/// only for that row.
///
/// The guards abort the whole statement, so nothing of a stale batch is written:
/// a buyer whose total would pass the limit (the upsert skips it, `ok` is false), or a
/// variant not of this drop, makes the log rows' `kind` NULL (`NOT NULL` violation); a
/// variant without the units makes `remaining` negative (`CHECK` violation). Parameters:
/// drop, per-buyer limit, expiry, now, number of buyers, then the batch's columns.
const PG_GRANTS: [&str; 12] = [
    "WITH p AS (SELECT ",
    "::text AS drop_id, ",
    "::int8 AS lim, ",
    "::timestamp AS expires_at, ",
    "::timestamp AS at, ",
    "::int8 AS n_buyers
), req AS (
    SELECT * FROM unnest(",
    "::text[], ",
    "::text[], ",
    "::text[], ",
    "::int8[], ",
    "::text[], ",
    "::text[]) AS r(hold_id, variant_id, buyer_id, quantity, idem, log_id)
), buyers AS (
    INSERT INTO drop_buyers AS b (drop_id, buyer_id, taken)
    SELECT (SELECT drop_id FROM p), buyer_id, sum(quantity)::int8 FROM req GROUP BY buyer_id
        HAVING sum(quantity) <= (SELECT lim FROM p) ORDER BY buyer_id
    ON CONFLICT (drop_id, buyer_id) DO UPDATE SET taken = b.taken + excluded.taken
        WHERE b.taken + excluded.taken <= (SELECT lim FROM p)
    RETURNING 1
), ins AS (
    INSERT INTO holds (id, drop_id, variant_id, buyer_id, quantity, status, expires_at,
                       idempotency_key, created_at, updated_at)
    SELECT req.hold_id, p.drop_id, req.variant_id, req.buyer_id, req.quantity, 'active',
           p.expires_at, req.idem, p.at, p.at FROM req, p
    RETURNING variant_id, quantity
), taken AS (
    SELECT variant_id, sum(quantity)::int8 AS n FROM ins GROUP BY variant_id
), ok AS (
    SELECT (SELECT count(*) FROM buyers) = p.n_buyers
       AND (SELECT count(*) FROM taken t JOIN drop_variants v ON v.id = t.variant_id
            WHERE v.drop_id = p.drop_id) = (SELECT count(*) FROM taken) AS ok
    FROM p
), logged AS (
    INSERT INTO drop_log (id, drop_id, at, kind, buyer_id, variant_id, hold_id, quantity, detail)
    SELECT req.log_id, p.drop_id, p.at, CASE WHEN ok.ok THEN 'hold' END, req.buyer_id,
           req.variant_id, req.hold_id, req.quantity, '{}' FROM req, p, ok
    RETURNING 1
)
UPDATE drop_variants dv SET remaining = dv.remaining - t.n, held = dv.held + t.n
FROM taken t, p, (SELECT count(*) AS n FROM logged) l
WHERE dv.id = t.variant_id AND dv.drop_id = p.drop_id AND l.n > 0
RETURNING dv.id, dv.stock, dv.remaining, dv.held, dv.sold",
];

/// A batch's parameters for [`PG_GRANTS`]. A query of our own rather than `sql_query`
/// because Diesel marks every `sql_query` unsafe to cache, and preparing (parsing,
/// planning) a statement this size per batch costs a round trip and more.
struct PgGrants {
    drop: String,
    limit: i64,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
    n_buyers: i64,
    ids: Vec<String>,
    variants: Vec<String>,
    buyers: Vec<String>,
    qty: Vec<i64>,
    keys: Vec<Option<String>>,
    logs: Vec<String>,
}

impl diesel::query_builder::QueryId for PgGrants {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for PgGrants {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for PgGrants {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
        let [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11] = PG_GRANTS;
        out.push_sql(s0);
        out.push_bind_param::<Text, _>(&self.drop)?;
        out.push_sql(s1);
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql(s2);
        out.push_bind_param::<Timestamp, _>(&self.expires_at)?;
        out.push_sql(s3);
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(s4);
        out.push_bind_param::<BigInt, _>(&self.n_buyers)?;
        out.push_sql(s5);
        out.push_bind_param::<Array<Text>, _>(&self.ids)?;
        out.push_sql(s6);
        out.push_bind_param::<Array<Text>, _>(&self.variants)?;
        out.push_sql(s7);
        out.push_bind_param::<Array<Text>, _>(&self.buyers)?;
        out.push_sql(s8);
        out.push_bind_param::<Array<BigInt>, _>(&self.qty)?;
        out.push_sql(s9);
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.keys)?;
        out.push_sql(s10);
        out.push_bind_param::<Array<Text>, _>(&self.logs)?;
        out.push_sql(s11);
        Ok(())
    }
}

/// The fast path's write on Postgres: BEGIN and [`PG_GRANTS`] sent together (pipelined:
/// one round trip), then COMMIT once the statement answered. COMMIT is sent only then, not
/// with them, so a node that dies while its batch waits (a lock, a slow disk) leaves a
/// transaction Postgres rolls back when the connection drops: nothing it did not
/// acknowledge appears (a statement run on its own would commit after its client died).
async fn pg_write_grants(
    c: &mut crate::db::PgConn,
    drop: DropId,
    per_buyer_limit: i64,
    grants: &[HoldRow],
    now: NaiveDateTime,
    n_buyers: usize,
) -> Result<Vec<Counts>, DieselError> {
    use diesel_async::SimpleAsyncConnection;
    let q = PgGrants::new(drop, per_buyer_limit, grants, now, n_buyers);
    let conn: &crate::db::PgConn = c;
    // Polled in this order, so BEGIN goes out first (the statement's prepare, on a fresh
    // connection, comes after it too).
    let (mut first, mut second) = (conn, conn);
    let (begun, written) =
        futures_util::join!(first.batch_execute("BEGIN"), q.load::<Counts>(&mut second));
    match written {
        Ok(counts) => {
            // Without the BEGIN the statement committed on its own, which is still a commit.
            if begun.is_ok() {
                c.batch_execute("COMMIT").await?;
            }
            Ok(counts)
        }
        Err(e) => {
            if begun.is_ok() {
                // A connection that cannot even roll back is closed, and the pool drops it.
                c.batch_execute("ROLLBACK").await?;
            }
            Err(e)
        }
    }
}

/// Write a granted batch on Postgres inside the caller's transaction (the slow path). A
/// guard that did not hold comes back as an error [`stale`] recognises.
async fn pg_grants_in(
    c: &mut crate::db::PgConn,
    drop: DropId,
    per_buyer_limit: i64,
    grants: &[HoldRow],
    now: NaiveDateTime,
    n_buyers: usize,
) -> Result<Vec<Counts>, DieselError> {
    // Every variant the batch took from is updated, or the statement aborted (`ok`).
    PgGrants::new(drop, per_buyer_limit, grants, now, n_buyers)
        .load(c)
        .await
}

impl PgGrants {
    fn new(
        drop: DropId,
        per_buyer_limit: i64,
        grants: &[HoldRow],
        now: NaiveDateTime,
        n_buyers: usize,
    ) -> PgGrants {
        PgGrants {
            drop: drop.to_string(),
            limit: per_buyer_limit,
            expires_at: grants[0].expires_at,
            now,
            n_buyers: n_buyers as i64,
            ids: grants.iter().map(|h| h.id.to_string()).collect(),
            variants: grants.iter().map(|h| h.variant_id.to_string()).collect(),
            buyers: grants.iter().map(|h| h.buyer_id.to_string()).collect(),
            qty: grants.iter().map(|h| h.quantity).collect(),
            keys: grants.iter().map(|h| h.idempotency_key.clone()).collect(),
            logs: grants.iter().map(|_| LogId::new().to_string()).collect(),
        }
    }
}

/// SQLite's side: plain Diesel on the inner connection, in the blocking task the wrapper
/// runs it on. Kept apart because the sync and async `RunQueryDsl` must not meet.
mod sqlite {
    use diesel::prelude::*;
    use diesel::result::Error as DieselError;
    use diesel::SqliteConnection;

    use super::{Counts, HoldRow};
    use crate::db::models::value_rows;
    use crate::db::schema::{drop_buyers, drop_log, drop_variants, holds};
    use crate::domain::ids::{DropId, HoldId, LogId, UserId, VariantId};
    use chrono::NaiveDateTime;

    /// Rows per multi-row statement: under SQLite's bound of 32,766 bound values with
    /// the widest row (holds: 9 values) and as large as a whole batch.
    const ROWS_PER_STATEMENT: usize = 1024;

    /// The batch in a handful of statements: the holds in one multi-row insert, the log
    /// rows in another, the buyers' totals in one guarded upsert, then one conditional
    /// update per variant. Each is prepared once per batch, not once per hold (Diesel
    /// does not cache upserts and updates, so per-hold statements were re-prepared every
    /// time: ~130 µs a hold).
    pub fn write_grants(
        c: &mut SqliteConnection,
        drop: DropId,
        per_buyer_limit: i64,
        grants: &[HoldRow],
        now: NaiveDateTime,
        variants: &[VariantId],
    ) -> Result<Vec<Counts>, DieselError> {
        use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
        use diesel::sqlite::Sqlite;
        c.immediate_transaction(|c| {
            for chunk in grants.chunks(ROWS_PER_STATEMENT) {
                let mut sql = String::from(
                    "INSERT INTO holds (id, drop_id, variant_id, buyer_id, quantity, status, \
                     expires_at, idempotency_key, created_at, updated_at) VALUES ",
                );
                value_rows(&mut sql, chunk.len(), "(?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)");
                let mut q = diesel::sql_query(sql).into_boxed::<Sqlite>();
                for h in chunk {
                    q = q
                        .bind::<Text, _>(h.id)
                        .bind::<Text, _>(h.drop_id)
                        .bind::<Text, _>(h.variant_id)
                        .bind::<Text, _>(h.buyer_id)
                        .bind::<BigInt, _>(h.quantity)
                        .bind::<Timestamp, _>(h.expires_at)
                        .bind::<Nullable<Text>, _>(h.idempotency_key.clone())
                        .bind::<Timestamp, _>(h.created_at)
                        .bind::<Timestamp, _>(h.updated_at);
                }
                q.execute(c)?;

                let mut sql = String::from(
                    "INSERT INTO drop_log (id, drop_id, at, kind, buyer_id, variant_id, hold_id, \
                     quantity, detail) VALUES ",
                );
                value_rows(&mut sql, chunk.len(), "(?, ?, ?, 'hold', ?, ?, ?, ?, '{}')");
                let mut q = diesel::sql_query(sql).into_boxed::<Sqlite>();
                for h in chunk {
                    q = q
                        .bind::<Text, _>(LogId::new())
                        .bind::<Text, _>(drop)
                        .bind::<Timestamp, _>(now)
                        .bind::<Text, _>(h.buyer_id)
                        .bind::<Text, _>(h.variant_id)
                        .bind::<Text, _>(h.id)
                        .bind::<BigInt, _>(h.quantity);
                }
                q.execute(c)?;
            }

            // Each buyer's units in this batch, added to their total only while it stays
            // within the limit: a row not changed means the memory was stale.
            let mut buyers: Vec<(UserId, i64)> = Vec::new();
            for h in grants {
                match buyers.iter_mut().find(|(b, _)| *b == h.buyer_id) {
                    Some(b) => b.1 += h.quantity,
                    None => buyers.push((h.buyer_id, h.quantity)),
                }
            }
            if buyers.iter().any(|(_, n)| *n > per_buyer_limit) {
                return Err(DieselError::RollbackTransaction);
            }
            for chunk in buyers.chunks(ROWS_PER_STATEMENT) {
                let mut sql = String::from("INSERT INTO drop_buyers (drop_id, buyer_id, taken) VALUES ");
                value_rows(&mut sql, chunk.len(), "(?, ?, ?)");
                sql.push_str(
                    " ON CONFLICT (drop_id, buyer_id) DO UPDATE SET taken = drop_buyers.taken + excluded.taken \
                     WHERE drop_buyers.taken + excluded.taken <= ?",
                );
                let mut q = diesel::sql_query(sql).into_boxed::<Sqlite>();
                for (b, n) in chunk {
                    q = q.bind::<Text, _>(drop).bind::<Text, _>(*b).bind::<BigInt, _>(*n);
                }
                let changed = q.bind::<BigInt, _>(per_buyer_limit).execute(c)?;
                if changed != chunk.len() {
                    return Err(DieselError::RollbackTransaction);
                }
            }

            let mut out = Vec::with_capacity(variants.len());
            for v in variants {
                let n: i64 = grants
                    .iter()
                    .filter(|h| h.variant_id == *v)
                    .map(|h| h.quantity)
                    .sum();
                let changed = diesel::update(
                    drop_variants::table
                        .filter(drop_variants::id.eq(*v))
                        .filter(drop_variants::drop_id.eq(drop))
                        .filter(drop_variants::remaining.ge(n)),
                )
                .set((
                    drop_variants::remaining.eq(drop_variants::remaining - n),
                    drop_variants::held.eq(drop_variants::held + n),
                ))
                .execute(c)?;
                if changed != 1 {
                    return Err(DieselError::RollbackTransaction);
                }
                out.push(counts(c, *v)?);
            }
            Ok(out)
        })
    }

    pub fn counts(c: &mut SqliteConnection, v: VariantId) -> Result<Counts, DieselError> {
        let (stock, remaining, held, sold) = drop_variants::table
            .filter(drop_variants::id.eq(v))
            .select((
                drop_variants::stock,
                drop_variants::remaining,
                drop_variants::held,
                drop_variants::sold,
            ))
            .first::<(i64, i64, i64, i64)>(c)?;
        Ok(Counts {
            id: v,
            stock,
            remaining,
            held,
            sold,
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert_log(
        c: &mut SqliteConnection,
        drop: DropId,
        at: NaiveDateTime,
        kind: &str,
        buyer: UserId,
        variant: VariantId,
        hold: HoldId,
        quantity: i64,
    ) -> Result<(), DieselError> {
        diesel::insert_into(drop_log::table)
            .values((
                drop_log::id.eq(LogId::new()),
                drop_log::drop_id.eq(drop),
                drop_log::at.eq(at),
                drop_log::kind.eq(kind),
                drop_log::buyer_id.eq(buyer),
                drop_log::variant_id.eq(variant),
                drop_log::hold_id.eq(hold),
                drop_log::quantity.eq(quantity),
                drop_log::detail.eq("{}"),
            ))
            .execute(c)?;
        Ok(())
    }

    /// End these holds if still active; returns the ones that ended.
    pub fn end_holds(
        c: &mut SqliteConnection,
        drop: DropId,
        ids: &[HoldId],
        to: &str,
        kind: &str,
        now: NaiveDateTime,
    ) -> Result<Vec<HoldRow>, DieselError> {
        c.immediate_transaction(|c| {
            let mut ended = Vec::new();
            for id in ids {
                let n = diesel::update(
                    holds::table
                        .filter(holds::id.eq(*id))
                        .filter(holds::drop_id.eq(drop))
                        .filter(holds::status.eq("active")),
                )
                .set((holds::status.eq(to), holds::updated_at.eq(now)))
                .execute(c)?;
                if n == 0 {
                    continue;
                }
                let h: HoldRow = holds::table
                    .filter(holds::id.eq(*id))
                    .select(HoldRow::as_select())
                    .first(c)?;
                diesel::update(drop_variants::table.filter(drop_variants::id.eq(h.variant_id)))
                    .set((
                        drop_variants::remaining.eq(drop_variants::remaining + h.quantity),
                        drop_variants::held.eq(drop_variants::held - h.quantity),
                    ))
                    .execute(c)?;
                diesel::update(
                    drop_buyers::table
                        .filter(drop_buyers::drop_id.eq(drop))
                        .filter(drop_buyers::buyer_id.eq(h.buyer_id)),
                )
                .set(drop_buyers::taken.eq(drop_buyers::taken - h.quantity))
                .execute(c)?;
                insert_log(
                    c,
                    drop,
                    now,
                    kind,
                    h.buyer_id,
                    h.variant_id,
                    h.id,
                    h.quantity,
                )?;
                ended.push(h);
            }
            Ok(ended)
        })
    }
}

const PG_END: &str = "\
WITH req AS (
    SELECT * FROM unnest($2::text[], $3::text[]) AS r(hold_id, log_id)
), e AS (
    UPDATE holds h SET status = $4, updated_at = $5
    FROM req WHERE h.id = req.hold_id AND h.drop_id = $1 AND h.status = 'active'
    RETURNING h.id, h.drop_id, h.variant_id, h.buyer_id, h.quantity, h.status, h.expires_at,
              h.idempotency_key, h.created_at, h.updated_at, req.log_id
), v AS (
    UPDATE drop_variants dv SET remaining = dv.remaining + s.n, held = dv.held - s.n
    FROM (SELECT variant_id, sum(quantity)::int8 AS n FROM e GROUP BY variant_id) s
    WHERE dv.id = s.variant_id
), b AS (
    UPDATE drop_buyers db SET taken = db.taken - s.n
    FROM (SELECT buyer_id, sum(quantity)::int8 AS n FROM e GROUP BY buyer_id) s
    WHERE db.drop_id = $1 AND db.buyer_id = s.buyer_id
), logged AS (
    INSERT INTO drop_log (id, drop_id, at, kind, buyer_id, variant_id, hold_id, quantity, detail)
    SELECT log_id, $1, $5, $6, buyer_id, variant_id, id, quantity, '{}' FROM e
)
SELECT id, drop_id, variant_id, buyer_id, quantity, status, expires_at, idempotency_key,
       created_at, updated_at FROM e";

/// End active holds of one drop (released, expired or cancelled) and give their units back,
/// in a fixed number of statements. Conditional on each hold still being active, so ending
/// one twice (two timers, a timer racing a release) returns its units once. Returns the
/// holds that ended here.
pub async fn end_holds(
    conn: &mut DbConn,
    drop: DropId,
    ids: &[HoldId],
    how: HoldEnd,
    now: NaiveDateTime,
) -> AppResult<Vec<HoldRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (to, kind) = (how.status(), how.log_kind());
    let ended = match conn {
        DbConn::Postgres(c) => {
            use diesel::sql_types::{Array, Text, Timestamp};
            let c: &mut crate::db::PgConn = c;
            let hold_ids: Vec<String> = ids.iter().map(|h| h.to_string()).collect();
            let logs: Vec<String> = ids.iter().map(|_| LogId::new().to_string()).collect();
            diesel::sql_query(PG_END)
                .bind::<Text, _>(drop.to_string())
                .bind::<Array<Text>, _>(&hold_ids)
                .bind::<Array<Text>, _>(&logs)
                .bind::<Text, _>(to)
                .bind::<Timestamp, _>(now)
                .bind::<Text, _>(kind)
                .load::<EndedHold>(c)
                .await?
                .into_iter()
                .map(|e| e.0)
                .collect()
        }
        DbConn::Sqlite(c) => {
            let ids = ids.to_vec();
            c.spawn_blocking(move |c| sqlite::end_holds(c, drop, &ids, to, kind, now))
                .await?
        }
    };
    Ok(ended)
}

/// A hold row read by name from a raw statement.
struct EndedHold(HoldRow);

impl QueryableByName<diesel::pg::Pg> for EndedHold {
    fn build<'a>(
        row: &impl diesel::row::NamedRow<'a, diesel::pg::Pg>,
    ) -> diesel::deserialize::Result<Self> {
        use diesel::row::NamedRow;
        use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
        Ok(EndedHold(HoldRow {
            id: NamedRow::get::<Text, _>(row, "id")?,
            drop_id: NamedRow::get::<Text, _>(row, "drop_id")?,
            variant_id: NamedRow::get::<Text, _>(row, "variant_id")?,
            buyer_id: NamedRow::get::<Text, _>(row, "buyer_id")?,
            quantity: NamedRow::get::<BigInt, _>(row, "quantity")?,
            status: NamedRow::get::<Text, _>(row, "status")?,
            expires_at: NamedRow::get::<Timestamp, _>(row, "expires_at")?,
            idempotency_key: NamedRow::get::<Nullable<Text>, _>(row, "idempotency_key")?,
            created_at: NamedRow::get::<Timestamp, _>(row, "created_at")?,
            updated_at: NamedRow::get::<Timestamp, _>(row, "updated_at")?,
        }))
    }
}

/// The active holds of a drop (all of them: cancelling releases every one).
pub async fn active_holds(conn: &mut DbConn, drop: DropId) -> AppResult<Vec<HoldId>> {
    let r = db_run!(conn, |c| {
        holds::table
            .filter(holds::drop_id.eq(drop))
            .filter(holds::status.eq("active"))
            .select(holds::id)
            .load::<HoldId>(c)
            .await
    });
    Ok(r?)
}

/// The slow path: commit a batch of hold requests in ONE transaction, each decided by
/// conditional updates against rows locked for the batch (`remaining >= n`,
/// `taken + n <= limit`), so it is right whatever the actor's memory said. Refusals are
/// rows not updated and never abort the batch; a store error aborts it all.
pub async fn place_holds(
    conn: &mut DbConn,
    drop: DropId,
    per_buyer_limit: i64,
    hold_seconds: i64,
    batch: &[HoldRequest],
    now: NaiveDateTime,
) -> AppResult<Vec<HoldOutcome>> {
    let expires_at = now + chrono::Duration::seconds(hold_seconds);
    if let DbConn::Postgres(c) = conn {
        let c: &mut crate::db::PgConn = c;
        // A few set queries per batch; a guard another writer broke meanwhile (a buyer's
        // total, a key, both nodes at once) sends the batch row by row below instead.
        let set = c
            .transaction::<_, DieselError, _>(async |c| {
                pg_place_holds_in(c, drop, per_buyer_limit, expires_at, now, batch).await
            })
            .await;
        match set {
            Ok(outcomes) => return Ok(outcomes),
            Err(e) if stale(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let r = db_run!(conn, |c| {
        c.transaction::<_, DieselError, _>(async |c| {
            place_holds_in!(&mut *c, drop, per_buyer_limit, expires_at, now, batch).await
        })
        .await
    });
    Ok(r?)
}

/// The slow path on Postgres, set-based: the drop's variant rows locked and read, the
/// batch's buyers' totals and earlier keyed holds read (one query each), the batch decided
/// in request order as the actor would, and written with the fast path's one statement.
/// Five round trips whatever the batch's size (the row-by-row path takes about five per
/// hold, with the stock row locked all along).
async fn pg_place_holds_in(
    c: &mut crate::db::PgConn,
    drop: DropId,
    per_buyer_limit: i64,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
    batch: &[HoldRequest],
) -> Result<Vec<HoldOutcome>, DieselError> {
    let mut left: HashMap<VariantId, i64> = drop_variants::table
        .filter(drop_variants::drop_id.eq(drop))
        .order(drop_variants::id)
        .select((drop_variants::id, drop_variants::remaining))
        .for_update()
        .load::<(VariantId, i64)>(c)
        .await?
        .into_iter()
        .collect();
    let mut buyers: Vec<UserId> = batch.iter().map(|r| r.buyer).collect();
    buyers.sort();
    buyers.dedup();
    let mut taken: HashMap<UserId, i64> = drop_buyers::table
        .filter(drop_buyers::drop_id.eq(drop))
        .filter(drop_buyers::buyer_id.eq_any(&buyers))
        .select((drop_buyers::buyer_id, drop_buyers::taken))
        .load::<(UserId, i64)>(c)
        .await?
        .into_iter()
        .collect();
    let keys: Vec<&String> = batch
        .iter()
        .filter_map(|r| r.idempotency_key.as_ref())
        .collect();
    let mut keyed: HashMap<(UserId, String), HoldRow> = HashMap::new();
    if !keys.is_empty() {
        let earlier: Vec<HoldRow> = holds::table
            .filter(holds::drop_id.eq(drop))
            .filter(holds::buyer_id.eq_any(&buyers))
            .filter(holds::idempotency_key.eq_any(keys))
            .select(HoldRow::as_select())
            .load(c)
            .await?;
        for h in earlier {
            if let Some(k) = h.idempotency_key.clone() {
                keyed.insert((h.buyer_id, k), h);
            }
        }
    }
    enum Decided {
        Now(HoldOutcome),
        Granted(usize),
        Repeat(usize),
    }
    let mut decided = Vec::with_capacity(batch.len());
    let mut grants: Vec<HoldRow> = Vec::new();
    let mut in_batch: HashMap<(UserId, String), usize> = HashMap::new();
    for req in batch {
        let key = req.idempotency_key.clone().map(|k| (req.buyer, k));
        if let Some(k) = &key {
            if let Some(h) = keyed.get(k) {
                decided.push(Decided::Now(Ok((h.clone(), false))));
                continue;
            }
            if let Some(&i) = in_batch.get(k) {
                decided.push(Decided::Repeat(i));
                continue;
            }
        }
        let refused = match left.get_mut(&req.variant) {
            None => Some(HoldRefusal::UnknownVariant),
            Some(r) if *r < req.quantity => Some(HoldRefusal::SoldOut),
            Some(r) => {
                let t = taken.entry(req.buyer).or_insert(0);
                if *t + req.quantity > per_buyer_limit {
                    Some(HoldRefusal::LimitReached)
                } else {
                    *t += req.quantity;
                    *r -= req.quantity;
                    None
                }
            }
        };
        if let Some(refused) = refused {
            decided.push(Decided::Now(Err(refused)));
            continue;
        }
        if let Some(k) = key {
            in_batch.insert(k, grants.len());
        }
        decided.push(Decided::Granted(grants.len()));
        grants.push(HoldRow {
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
        });
    }
    if !grants.is_empty() {
        let mut granted_buyers: Vec<UserId> = grants.iter().map(|h| h.buyer_id).collect();
        granted_buyers.sort();
        granted_buyers.dedup();
        pg_grants_in(c, drop, per_buyer_limit, &grants, now, granted_buyers.len()).await?;
    }
    Ok(decided
        .into_iter()
        .map(|d| match d {
            Decided::Now(o) => o,
            Decided::Granted(i) => Ok((grants[i].clone(), true)),
            Decided::Repeat(i) => Ok((grants[i].clone(), false)),
        })
        .collect())
}

/// Set a variant's stock. Never below what is held or sold (those units are promised): the
/// condition is in the update, so a hold committing at the same moment cannot slip under.
pub async fn set_stock(
    conn: &mut DbConn,
    drop: DropId,
    variant: VariantId,
    stock: i64,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let r = db_run!(conn, |c| {
        c.transaction::<_, DieselError, _>(async |c| {
            let n = diesel::update(
                drop_variants::table
                    .filter(drop_variants::id.eq(variant))
                    .filter(drop_variants::drop_id.eq(drop))
                    .filter((drop_variants::held + drop_variants::sold).le(stock)),
            )
            .set((
                drop_variants::stock.eq(stock),
                // remaining grows or shrinks by the change in stock.
                drop_variants::remaining
                    .eq(drop_variants::remaining - drop_variants::stock + stock),
            ))
            .execute(c)
            .await?;
            if n == 1 {
                diesel::insert_into(drop_log::table)
                    .values(&LogRow {
                        id: LogId::new(),
                        drop_id: drop,
                        at: now,
                        kind: "stock".into(),
                        buyer_id: None,
                        variant_id: Some(variant),
                        hold_id: None,
                        quantity: Some(stock),
                        detail: "{}".into(),
                    })
                    .execute(c)
                    .await?;
            }
            Ok(n == 1)
        })
        .await
    });
    Ok(r?)
}

/// A refunded order's units back on sale, once: `restocked_at` is set in the same
/// transaction, so asking twice (or on two nodes) returns them once. `false` when the
/// order is not this drop's, not refunded (or being refunded), or already restocked.
pub async fn restock(
    conn: &mut DbConn,
    drop: DropId,
    order: OrderId,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let r = db_run!(conn, |c| {
        c.transaction::<_, DieselError, _>(async |c| {
            let Some(o) = orders::table
                .find(order)
                .filter(orders::drop_id.eq(drop))
                .filter(orders::restocked_at.is_null())
                .filter(orders::status.eq_any(["refunded", "refund_pending", "paid"]))
                .filter(orders::refunded_cents.gt(0))
                .select(OrderRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(false);
            };
            let Some(variant) = o.variant_id else {
                return Ok(false);
            };
            // The claim decides: a restock racing this one (another node) finds it taken.
            let claimed = diesel::update(
                orders::table
                    .find(order)
                    .filter(orders::restocked_at.is_null()),
            )
            .set(orders::restocked_at.eq(Some(now)))
            .execute(c)
            .await?;
            if claimed != 1 {
                return Ok(false);
            }
            let n = diesel::update(
                drop_variants::table
                    .find(variant)
                    .filter(drop_variants::sold.ge(o.quantity)),
            )
            .set((
                drop_variants::sold.eq(drop_variants::sold - o.quantity),
                drop_variants::remaining.eq(drop_variants::remaining + o.quantity),
            ))
            .execute(c)
            .await?;
            if n != 1 {
                return Err(DieselError::RollbackTransaction);
            }
            diesel::insert_into(drop_log::table)
                .values(&LogRow {
                    id: LogId::new(),
                    drop_id: drop,
                    at: now,
                    kind: "restock".into(),
                    buyer_id: Some(o.buyer_id),
                    variant_id: Some(variant),
                    hold_id: o.hold_id,
                    quantity: Some(o.quantity),
                    detail: format!("{{\"order_id\":\"{}\"}}", o.id),
                })
                .execute(c)
                .await?;
            Ok(true)
        })
        .await
    });
    match r {
        Err(DieselError::RollbackTransaction) => Ok(false),
        r => Ok(r?),
    }
}

// Payment start and sale: the order rows are the order model's, but what they do to the
// hold and the stock is this module's, run by the drop actor in its write order.

/// Open an order for an active hold of `buyer`, extending the hold for the payment. One
/// payment at a time per hold; a declined one may be retried while the hold lasts.
pub async fn start_checkout(
    conn: &mut DbConn,
    hold: HoldId,
    buyer: UserId,
    now: NaiveDateTime,
) -> AppResult<OrderRow> {
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
            let kind: String = products::table
                .find(d.product_id)
                .select(products::kind)
                .first(c)
                .await?;
            let order = OrderRow {
                refunded_cents: 0,
                restocked_at: None,
                id: OrderId::new(),
                hold_id: Some(h.id),
                drop_id: Some(h.drop_id),
                variant_id: Some(h.variant_id),
                buyer_id: buyer,
                quantity: h.quantity,
                amount_cents: d.price_cents * h.quantity,
                currency: d.currency.clone(),
                status: "pending".into(),
                payment_ref: None,
                created_at: now,
                updated_at: now,
                product_id: d.product_id,
                storefront_id: d.storefront_id,
                kind,
                details: "{}".into(),
                fulfilled_at: None,
                idempotency_key: None,
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

/// Apply a payment outcome exactly once (`event_id` is recorded in the same transaction).
pub async fn apply_outcome(
    conn: &mut DbConn,
    event_id: &str,
    order_id: OrderId,
    succeeded: bool,
    payment_ref: &str,
    now: NaiveDateTime,
) -> AppResult<Applied> {
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let fresh =
                crate::db::models::order::record_event_in!(c, event_id, succeeded, order_id, now)?;
            if !fresh {
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
            // A drop's order always has its hold and variant.
            let (Some(hold_id), Some(variant_id)) = (o.hold_id, o.variant_id) else {
                return Ok(Applied::AlreadyApplied);
            };
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
                    .find(hold_id)
                    .filter(holds::status.eq("active")),
            )
            .set((holds::status.eq("converted"), holds::updated_at.eq(now)))
            .execute(c)
            .await?;
            if converted == 1 {
                diesel::update(drop_variants::table.find(variant_id))
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
                        .filter(raffle_picks::hold_id.eq(hold_id))
                        .filter(raffle_picks::state.eq("offered")),
                )
                .set(raffle_picks::state.eq("claimed"))
                .execute(c)
                .await?;
                crate::db::models::raffle::credit_purchase_in!(&mut *c, &o, now).await?;
                crate::db::models::ledger::credit_sale_in!(&mut *c, &o, now).await?;
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

/// A node's claim to a drop's fast path when several nodes share one Postgres: a session
/// advisory lock (keyed by a hash of the drop id) on a connection of its own, outside the
/// pool. Dropping the lease closes the connection, and that releases the lock; so does
/// the death of the node, since Postgres ends the session of a closed socket. SQLite has
/// one node and needs none.
pub struct LeaseConn(crate::db::PgConn);

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// A connection for a drop's lease: `None` on SQLite.
pub async fn lease_conn(store: &Store) -> AppResult<Option<LeaseConn>> {
    match store {
        Store::Sqlite { .. } => Ok(None),
        Store::Postgres { url, .. } => crate::db::PgConn::establish(url)
            .await
            .map(|c| Some(LeaseConn(c)))
            .map_err(AppError::unavailable),
    }
}

/// Try to take drop `id`'s lease on `conn` (without waiting): `true` if this session holds
/// it now (taking a lock the session already holds succeeds too).
pub async fn try_lease(conn: &mut LeaseConn, id: DropId) -> AppResult<bool> {
    let r: Locked =
        diesel::sql_query("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked")
            .bind::<diesel::sql_types::Text, _>(id.to_string())
            .get_result(&mut conn.0)
            .await
            .map_err(AppError::unavailable)?;
    Ok(r.locked)
}

/// Whether the lease's session is still alive (the lock lives as long as it does).
pub async fn lease_alive(conn: &mut LeaseConn) -> bool {
    use diesel_async::SimpleAsyncConnection;
    conn.0.batch_execute("SELECT 1").await.is_ok()
}
