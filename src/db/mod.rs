//! The store of record: Diesel + diesel-async over SQLite (embedded) or Postgres (cluster).
//!
//! Queries are written once. [`db_run!`] expands the same block for each connection type,
//! because `SyncConnectionWrapper<SqliteConnection>` and `AsyncPgConnection` accept the same
//! query DSL but share no object-safe trait we could box. Where the two backends really
//! differ, the code says so next to the difference.
//!
//! SQLite has one writer at a time. Rather than let pooled connections race for the write
//! lock (and hit `SQLITE_BUSY` when a read transaction tries to upgrade), embedded mode keeps
//! a separate pool of exactly one writer; readers use WAL snapshots and never block it.

pub mod migrations;
pub mod models;
pub mod schema;

use std::time::Duration;

use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::FutureExt;

use crate::error::{AppError, AppResult};

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;
pub type PgConn = AsyncPgConnection;

/// How long a request waits for a pooled connection before we call the store unavailable.
const POOL_WAIT: Duration = Duration::from_secs(5);
// Pools recycle connections the `Fast` way: a connection Diesel saw break is dropped, and
// no `SELECT 1` round trip is paid on every checkout (the default `Verified` does that,
// which on a hot path is one extra round trip per write). A connection that died
// silently fails its next query, which answers 503 and is then dropped.

/// Per-connection settings for SQLite. `synchronous=FULL` makes an acknowledged write
/// survive power loss; group commit keeps that to one fsync per batch.
pub(crate) const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON;";
// busy_timeout: how long SQLite waits on a locked database before giving up. The writer
// pool makes that rare; the migration thread and the CLI are the other writers. It comes
// first, so that setting the journal mode waits too instead of failing while another
// process (a node still shutting down, the CLI) holds a lock.

#[derive(Clone)]
pub enum Store {
    Sqlite {
        write: Pool<SqliteConn>,
        read: Pool<SqliteConn>,
        path: String,
    },
    Postgres {
        pool: Pool<PgConn>,
        url: String,
    },
}

/// A connection checked out of the store's pool. One lives per query on the stack, and a
/// process uses one variant only, so boxing the larger one would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum DbConn {
    Sqlite(Object<SqliteConn>),
    Postgres(Object<PgConn>),
}

/// Run `$body` with `$conn` bound to the concrete connection (`&mut SqliteConn` or
/// `&mut PgConn`). The body is compiled once per backend.
#[macro_export]
macro_rules! db_run {
    ($db:expr, |$conn:ident| $body:expr) => {{
        match $db {
            $crate::db::DbConn::Sqlite(ref mut __c) => {
                let $conn: &mut $crate::db::SqliteConn = &mut **__c;
                $body
            }
            $crate::db::DbConn::Postgres(ref mut __c) => {
                let $conn: &mut $crate::db::PgConn = &mut **__c;
                $body
            }
        }
    }};
}

impl Store {
    /// Open the pools for a `sqlite://` or `postgres://` URL. Does not migrate. Start-up
    /// errors are plain strings: they are printed once and the process exits.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Store, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        format!("cannot create the data directory {}: {e}", dir.display())
                    })?;
                }
            }
            let write = sqlite_pool(path, 1)?;
            let read = sqlite_pool(path, pool_size.clamp(1, 8))?;
            Ok(Store::Sqlite {
                write,
                read,
                path: path.to_string(),
            })
        } else {
            let mut cfg = ManagerConfig::<PgConn>::default();
            cfg.recycling_method = RecyclingMethod::Fast;
            let mgr = AsyncDieselConnectionManager::<PgConn>::new_with_config(url, cfg);
            let pool = Pool::builder(mgr)
                .max_size(pool_size)
                .wait_timeout(Some(POOL_WAIT))
                .create_timeout(Some(POOL_WAIT))
                .runtime(deadpool::Runtime::Tokio1)
                .build()
                .map_err(|e| format!("postgres pool: {e}"))?;
            Ok(Store::Postgres {
                pool,
                url: url.to_string(),
            })
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite { .. } => "sqlite",
            Store::Postgres { .. } => "postgres",
        }
    }

    /// A connection for reads (a WAL snapshot on SQLite).
    pub async fn read(&self) -> AppResult<DbConn> {
        match self {
            Store::Sqlite { read, .. } => Ok(DbConn::Sqlite(read.get().await?)),
            Store::Postgres { pool, .. } => Ok(DbConn::Postgres(pool.get().await?)),
        }
    }

    /// A connection for a write transaction (the single writer on SQLite).
    pub async fn write(&self) -> AppResult<DbConn> {
        match self {
            Store::Sqlite { write, .. } => Ok(DbConn::Sqlite(write.get().await?)),
            Store::Postgres { pool, .. } => Ok(DbConn::Postgres(pool.get().await?)),
        }
    }

    /// Pool use for `/metrics`: (in use, idle, max) summed over pools.
    pub fn pool_status(&self) -> (usize, usize, usize) {
        let one = |s: deadpool::Status| (s.size - s.available, s.available, s.max_size);
        match self {
            Store::Sqlite { write, read, .. } => {
                let (a, b, c) = one(write.status());
                let (d, e, f) = one(read.status());
                (a + d, b + e, c + f)
            }
            Store::Postgres { pool, .. } => one(pool.status()),
        }
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> AppResult<()> {
        let mut conn = self.read().await?;
        db_run!(conn, |c| c.batch_execute("SELECT 1").await).map_err(AppError::unavailable)?;
        Ok(())
    }
}

fn sqlite_pool(path: &str, size: usize) -> Result<Pool<SqliteConn>, String> {
    let mut cfg = ManagerConfig::<SqliteConn>::default();
    cfg.recycling_method = RecyclingMethod::Fast;
    cfg.custom_setup = Box::new(|url| {
        async move {
            let mut conn = SqliteConn::establish(url).await?;
            conn.batch_execute(SQLITE_PRAGMAS)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let mgr = AsyncDieselConnectionManager::<SqliteConn>::new_with_config(path, cfg);
    Pool::builder(mgr)
        .max_size(size)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(POOL_WAIT))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| format!("sqlite pool: {e}"))
}
