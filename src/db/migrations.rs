//! Embedded migrations, one set per backend, and the check `/readyz` uses.
//!
//! Migrations run on a connection of their own in a thread of their own: diesel's
//! migration harness is synchronous, and diesel-async's `AsyncMigrationHarness` needs a
//! multi-thread runtime (it uses `block_in_place`), which a caller on actix's
//! single-threaded workers does not have.

use std::collections::BTreeSet;

use diesel::migration::MigrationSource;
use diesel::Connection;
use diesel_async::{AsyncConnection, AsyncMigrationHarness};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{Store, SQLITE_PRAGMAS};

pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Apply every pending migration; returns the versions applied.
pub async fn run(store: &Store) -> Result<Vec<String>, String> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || run_blocking(&store))
        .await
        .map_err(|e| format!("migration thread: {e}"))?
}

fn run_blocking(store: &Store) -> Result<Vec<String>, String> {
    match store {
        Store::Sqlite { path, .. } => {
            let mut conn = diesel::SqliteConnection::establish(path)
                .map_err(|e| format!("sqlite {path}: {e}"))?;
            diesel::connection::SimpleConnection::batch_execute(&mut conn, SQLITE_PRAGMAS)
                .map_err(|e| format!("sqlite pragmas: {e}"))?;
            let done = conn
                .run_pending_migrations(SQLITE)
                .map_err(|e| format!("migrations: {e}"))?;
            Ok(done.iter().map(|v| v.to_string()).collect())
        }
        Store::Postgres { url, .. } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| format!("migration runtime: {e}"))?;
            let url = url.clone();
            rt.block_on(async move {
                let task = tokio::spawn(async move {
                    let conn = super::PgConn::establish(&url)
                        .await
                        .map_err(|e| format!("postgres: {e}"))?;
                    let mut harness = AsyncMigrationHarness::new(conn);
                    let done = harness
                        .run_pending_migrations(POSTGRES)
                        .map_err(|e| format!("migrations: {e}"))?;
                    Ok::<_, String>(done.iter().map(|v| v.to_string()).collect())
                });
                task.await.map_err(|e| format!("migration task: {e}"))?
            })
        }
    }
}

/// The versions this binary carries for the store's backend.
fn embedded_versions(store: &Store) -> BTreeSet<String> {
    match store {
        Store::Sqlite { .. } => MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)
            .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect()),
        Store::Postgres { .. } => MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES)
            .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect()),
    }
    .unwrap_or_default()
}

#[derive(diesel::QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// How many of this binary's migrations the store has not applied yet.
pub async fn pending_count(store: &Store) -> crate::error::AppResult<usize> {
    let wanted = embedded_versions(store);
    let mut conn = store.read().await?;
    let q = diesel::sql_query("SELECT version FROM __diesel_schema_migrations");
    let applied: Vec<Version> =
        crate::db_run!(conn, |c| diesel_async::RunQueryDsl::load(q, c).await).unwrap_or_default();
    let applied: BTreeSet<String> = applied.into_iter().map(|v| v.version).collect();
    Ok(wanted.difference(&applied).count())
}
