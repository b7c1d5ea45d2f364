//! Hot drop: one drop with ample stock, N concurrent buyers over HTTP keep-alive, each
//! request one hold (`POST /api/drops/{id}/holds`). One run prints one table:
//!
//! * the HTTP ceiling: a bare actix-web server (2 workers, no middleware) whose one
//!   handler has the hold endpoint's shape (the `AuthUser` bearer check with the same
//!   keys, the JSON body in, `201` and a small JSON body out) and touches no state;
//! * livedrop's write-combining drop actor behind the real endpoint, on SQLite and on
//!   Postgres, at each client count;
//! * at the largest count, for the same HTTP stack and store, the mechanism the commerce
//!   engines we compare with use: one transaction per request that locks the stock row
//!   (`SELECT … FOR UPDATE`, update, insert);
//! * at the largest count, two livedrop nodes (two `server::serve` in this process, two
//!   workers each) sharing one Postgres database, the clients split across both.
//!
//! Every livedrop and row-lock run ends with a stock check (nothing oversold, the counters
//! match the hold rows); a sell-out run per store and one over the two nodes sell a
//! 5,000-unit drop out and check it sold out exactly (the bench exits non-zero when a check
//! fails). The load generator is this executable started again as a process
//! of its own (see `common`): a minimal HTTP/1.1 client on a single-threaded runtime, one
//! connection per buyer, so the server's process does no client work (the machine's cores
//! are still shared; the CPU each side used is printed under the table).
//!
//! Run: `cargo bench --bench hot_drop` (SQLite and, when reachable, Postgres at
//! `BENCH_PG_URL`, default `postgres://postgres@127.0.0.1:5432`, a fresh database per
//! run). `BENCH_SECS` sets the length of each run (default 5), `BENCH_CONCURRENCY` the
//! list of client counts (default `16,64,256`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use futures_util::StreamExt;
use livedrop::auth::{AuthUser, JwtKeys, Role};
use livedrop::db::models::drop::HoldRow;
use livedrop::db::models::now;
use livedrop::db::schema::{drop_variants, holds};
use livedrop::db::{DbConn, Store};
use livedrop::domain::ids::{DropId, HoldId, UserId, VariantId};
use livedrop::error::{AppError, AppResult};
use livedrop::state::AppState;
use serde_json::{json, Value};

use common::{LoadSpec, Node, Outcome};

const SECRET: &str = "bench-secret-bench-secret-bench-secret-00";
const BUYERS: usize = 6000;
/// Workers per HTTP server (the ceiling, each livedrop node, the row-lock peer).
const WORKERS: usize = 2;

/// The hold endpoint's form (its `CreateHoldForm`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldForm {
    variant_id: VariantId,
    quantity: i64,
}

/// The peers' mechanism: one transaction per request, the stock row locked for its length.
async fn row_lock_hold(
    state: web::Data<AppState>,
    who: AuthUser,
    drop: web::Path<String>,
    form: web::Json<HoldForm>,
) -> AppResult<HttpResponse> {
    let drop = DropId::parse(&drop).ok_or(AppError::NotFound)?;
    let t = now();
    let hold = HoldRow {
        id: HoldId::new(),
        drop_id: drop,
        variant_id: form.variant_id,
        buyer_id: who.id,
        quantity: form.quantity,
        status: "active".into(),
        expires_at: t + chrono::Duration::seconds(600),
        idempotency_key: None,
        created_at: t,
        updated_at: t,
    };
    let q = form.quantity;
    let v = form.variant_id;
    let mut conn = state.store.write().await?;
    // The lock differs by backend: Postgres locks the row; SQLite's write lock is the
    // whole database, taken by the transaction's first write.
    let ok: bool = match &mut conn {
        DbConn::Postgres(c) => {
            let c: &mut livedrop::db::PgConn = c;
            c.transaction::<_, diesel::result::Error, _>(async |c| {
                let remaining: i64 = drop_variants::table
                    .find(v)
                    .select(drop_variants::remaining)
                    .for_update()
                    .first(c)
                    .await?;
                if remaining < q {
                    return Ok(false);
                }
                diesel::update(drop_variants::table.find(v))
                    .set((
                        drop_variants::remaining.eq(drop_variants::remaining - q),
                        drop_variants::held.eq(drop_variants::held + q),
                    ))
                    .execute(c)
                    .await?;
                diesel::insert_into(holds::table)
                    .values(&hold)
                    .execute(c)
                    .await?;
                Ok(true)
            })
            .await?
        }
        DbConn::Sqlite(c) => {
            let c: &mut livedrop::db::SqliteConn = c;
            c.transaction::<_, diesel::result::Error, _>(async |c| {
                let remaining: i64 = drop_variants::table
                    .find(v)
                    .select(drop_variants::remaining)
                    .first(c)
                    .await?;
                if remaining < q {
                    return Ok(false);
                }
                diesel::update(drop_variants::table.find(v))
                    .set((
                        drop_variants::remaining.eq(drop_variants::remaining - q),
                        drop_variants::held.eq(drop_variants::held + q),
                    ))
                    .execute(c)
                    .await?;
                diesel::insert_into(holds::table)
                    .values(&hold)
                    .execute(c)
                    .await?;
                Ok(true)
            })
            .await?
        }
    };
    if ok {
        Ok(HttpResponse::Created().json(json!({"id": hold.id})))
    } else {
        Err(AppError::conflict("sold_out", "sold out"))
    }
}

/// The ceiling's answer: the shape of livedrop's `HoldView`.
#[derive(serde::Serialize)]
struct CeilingHold {
    id: HoldId,
    variant_id: VariantId,
    quantity: i64,
    status: &'static str,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// The HTTP ceiling: what the hold endpoint costs before it does anything.
async fn ceiling_hold(
    who: AuthUser,
    drop: web::Path<String>,
    form: web::Json<HoldForm>,
) -> AppResult<HttpResponse> {
    let _ = (who.id, DropId::parse(&drop).ok_or(AppError::NotFound)?);
    Ok(HttpResponse::Created().json(CeilingHold {
        id: HoldId::new(),
        variant_id: form.variant_id,
        quantity: form.quantity,
        status: "active",
        expires_at: chrono::Utc::now() + chrono::Duration::seconds(600),
    }))
}

/// The ceiling's server: an `AppState` only because `AuthUser` reads the keys from it.
fn start_ceiling(dir: &Path) -> Node {
    let env = common::bench_env(
        &format!("sqlite://{}", dir.join("ceiling.db").display()),
        dir,
        SECRET,
    );
    common::start_node(env, None, |state| {
        let data = web::Data::new(state.clone());
        let (l, url) = common::bind();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(livedrop::http::extract::json_config())
                .app_data(livedrop::http::extract::path_config())
                .route("/api/drops/{id}/holds", web::post().to(ceiling_hold))
        })
        .workers(WORKERS)
        .listen(l)
        .unwrap()
        .run();
        vec![(url, server)]
    })
}

/// livedrop, with the row-lock endpoint on a second port (`extra_urls[0]`) when `peer`.
fn start_livedrop(database_url: &str, dir: &Path, peer: bool) -> Node {
    let env = common::bench_env(database_url, dir, SECRET);
    common::start_node(env, Some(WORKERS), move |state| {
        if !peer {
            return Vec::new();
        }
        let data = web::Data::new(state.clone());
        let (l, url) = common::bind();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(livedrop::http::extract::json_config())
                .route("/peer/drops/{id}/holds", web::post().to(row_lock_hold))
                .wrap(from_fn(livedrop::http::middleware::observe))
        })
        .workers(WORKERS)
        .listen(l)
        .unwrap()
        .run();
        vec![(url, server)]
    })
}

fn token(keys: &JwtKeys, id: UserId, role: Role) -> String {
    // Issued an hour ahead, so the tokens outlive any run (they last 15 minutes).
    keys.issue(id, role, true, chrono::Utc::now().timestamp() + 3600)
        .unwrap()
}

/// One bearer token a line, for the client process.
fn write_tokens(path: &Path, tokens: &[String]) -> PathBuf {
    std::fs::write(path, tokens.join("\n")).unwrap();
    path.to_path_buf()
}

struct Fixture {
    drop: DropId,
    variant: VariantId,
    stock: i64,
    tokens_file: PathBuf,
}

/// Units of the drop the sell-out runs sell: fewer than one run's requests, so the drop
/// sells out under load and the stock check tests "never oversold" where it matters.
const SELL_OUT_STOCK: i64 = 5_000;

/// The sell-out drop's units: `BENCH_SELL_OUT` (the short mode CI runs sells fewer), else
/// [`SELL_OUT_STOCK`].
fn sell_out_stock() -> i64 {
    env_or("BENCH_SELL_OUT", SELL_OUT_STOCK)
}

fn env_or(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &i64| n > 0)
        .unwrap_or(default)
}

/// A creator, a published drop open now with `stock` units, `BUYERS` buyer accounts and
/// their tokens.
async fn setup(node: &Node, dir: &Path, stock: i64) -> Fixture {
    let store = &node.state.store;
    let keys = JwtKeys::new(SECRET.as_bytes());
    let creator = livedrop::demo::account(store, Role::Creator).await.unwrap();
    let creator_token = token(&keys, creator.id, Role::Creator);
    let (sf, p) = livedrop::demo::shop(store, creator.id).await.unwrap();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{}/api/drops", node.url()))
        .bearer_auth(&creator_token)
        .json(&json!({"storefront_id": sf, "product_id": p, "title": "Bench", "price_cents": 100, "currency": "USD",
            "variants": [{"name": "A", "stock": stock}], "opens_at": chrono::Utc::now(), "waiting_room_seconds": 0,
            "per_buyer_limit": 100, "hold_seconds": 3600}))
        .send().await.unwrap().json().await.unwrap();
    let drop: DropId = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("drop not created: {created}"))
        .parse()
        .unwrap();
    let variant: VariantId = created["variants"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let r = http
        .post(format!("{}/api/drops/{drop}/publish", node.url()))
        .bearer_auth(&creator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let buyers: Vec<_> = futures_util::stream::iter(0..BUYERS)
        .map(|_| livedrop::demo::account(store, Role::Buyer))
        .buffer_unordered(16)
        .collect()
        .await;
    let tokens: Vec<String> = buyers
        .into_iter()
        .map(|u| token(&keys, u.unwrap().id, Role::Buyer))
        .collect();
    Fixture {
        drop,
        variant,
        stock,
        tokens_file: write_tokens(&dir.join("tokens.txt"), &tokens),
    }
}

fn hold_body(variant: VariantId) -> String {
    json!({"variant_id": variant, "quantity": 1}).to_string()
}

/// Run the load in the client process; also the CPU the server's process used meanwhile.
fn measure(
    urls: Vec<String>,
    tokens_file: &Path,
    body: String,
    buyers: usize,
    secs: u64,
) -> (Outcome, Option<f64>) {
    let mut spec = LoadSpec::post_json(urls, Some(tokens_file.to_path_buf()), body);
    spec.concurrency = buyers;
    spec.secs = secs as f64;
    let before = common::process_cpu_secs();
    let o = common::run_load(&spec);
    let server_cpu = before.and_then(|b| common::process_cpu_secs().map(|a| a - b));
    (o, server_cpu)
}

/// The table, and the CPU each side used per row (printed after it).
struct Report {
    ceiling: BTreeMap<usize, f64>,
    cpu: Vec<String>,
    /// The drop actors' batch counts at the last row.
    batches: (u64, u64, u64, u64),
    /// A stock check failed: the bench exits non-zero.
    failed: bool,
}

impl Report {
    fn row(
        &mut self,
        store: &str,
        mech: &str,
        buyers: usize,
        o: &Outcome,
        server_cpu: Option<f64>,
        verdict: &str,
    ) {
        self.failed |= !verdict.starts_with("ok") && verdict != "n/a";
        let pct = match self.ceiling.get(&buyers) {
            Some(c) if *c > 0.0 => format!("{:.0}%", 100.0 * o.rate() / c),
            _ => "–".into(),
        };
        let errors = match o.error_detail(201) {
            d if d.is_empty() => "0".to_string(),
            d => format!("{} ({d})", o.errors),
        };
        println!(
            "| {store} | {mech} | {buyers} | {:.0} | {:.1} | {:.1} | {pct} | {errors} | {verdict} |",
            o.rate(),
            o.p50_ms,
            o.p99_ms,
        );
        let f = |x: Option<f64>| x.map_or("?".into(), |x| format!("{x:.1}"));
        // The drop actors' batches since the last row (zero for the other mechanisms).
        let now = livedrop::actors::drop::stats::snapshot();
        let (b, h, us, slow) = (
            now.0 - self.batches.0,
            now.1 - self.batches.1,
            now.2 - self.batches.2,
            now.3 - self.batches.3,
        );
        self.batches = now;
        let batches = if b > 0 {
            format!(
                "; {b} batches, {:.1} holds and {:.2} ms of writing each, {slow} redone slowly",
                h as f64 / b as f64,
                us as f64 / 1000.0 / b as f64
            )
        } else {
            String::new()
        };
        self.cpu.push(format!(
            "{store} / {mech} / {buyers}: server process {} s, client process {} s, over {:.1} s{batches}",
            f(server_cpu),
            f(o.client_cpu_secs),
            o.secs
        ));
    }
}

/// Stock accounting after a run: nothing oversold, the counters match the hold rows.
async fn check(store: &Store, variant: VariantId, stock: i64) -> String {
    let mut conn = store.read().await.unwrap();
    let (remaining, held, sold, rows) = livedrop::db_run!(conn, |c| {
        let (r, h, s): (i64, i64, i64) = drop_variants::table
            .find(variant)
            .select((
                drop_variants::remaining,
                drop_variants::held,
                drop_variants::sold,
            ))
            .first(c)
            .await
            .unwrap();
        let rows: i64 = holds::table
            .filter(holds::variant_id.eq(variant))
            .count()
            .get_result(c)
            .await
            .unwrap();
        (r, h, s, rows)
    });
    if remaining >= 0 && remaining + held + sold == stock && held == rows {
        "ok".into()
    } else {
        format!("MISMATCH remaining={remaining} held={held} sold={sold} rows={rows}")
    }
}

/// Runs of a sell-out: enough to sell the drop out on a loaded machine (the short mode CI
/// runs has 1 s runs of a debug build), and a bound should it never sell out.
const SELL_OUT_RUNS: usize = 20;

/// Sell the drop out: runs of `secs` against `urls` until nothing is left to hold (one run
/// is enough on a quiet machine; the short mode on a busy one may need more), at most
/// [`SELL_OUT_RUNS`]. The first run's figures (the table's row), and the holds acknowledged
/// over all runs (the check's).
fn sell_out(
    rt: &tokio::runtime::Runtime,
    store: &Store,
    urls: Vec<String>,
    fx: &Fixture,
    buyers: usize,
    secs: u64,
) -> (Outcome, Option<f64>, u64) {
    let (first, cpu) = measure(
        urls.clone(),
        &fx.tokens_file,
        hold_body(fx.variant),
        buyers,
        secs,
    );
    let mut acked = first.ok;
    for _ in 1..SELL_OUT_RUNS {
        if rt.block_on(remaining(store, fx.variant)) == 0 {
            break;
        }
        let (more, _) = measure(
            urls.clone(),
            &fx.tokens_file,
            hold_body(fx.variant),
            buyers,
            secs,
        );
        acked += more.ok;
    }
    (first, cpu, acked)
}

async fn remaining(store: &Store, variant: VariantId) -> i64 {
    let mut conn = store.read().await.unwrap();
    livedrop::db_run!(conn, |c| {
        drop_variants::table
            .find(variant)
            .select(drop_variants::remaining)
            .first(c)
            .await
            .unwrap()
    })
}

/// After a sell-out run: the stock check, and the drop sold out exactly: every unit held,
/// none left, and as many holds acknowledged (201) as there are units.
async fn check_sold_out(store: &Store, variant: VariantId, stock: i64, acked: u64) -> String {
    let verdict = check(store, variant, stock).await;
    if verdict != "ok" {
        return verdict;
    }
    let mut conn = store.read().await.unwrap();
    let (remaining, held, sold): (i64, i64, i64) = livedrop::db_run!(conn, |c| {
        drop_variants::table
            .find(variant)
            .select((
                drop_variants::remaining,
                drop_variants::held,
                drop_variants::sold,
            ))
            .first(c)
            .await
            .unwrap()
    });
    if remaining == 0 && held + sold == stock && acked as i64 == stock {
        "ok (sold out)".into()
    } else {
        format!("NOT SOLD OUT EXACTLY remaining={remaining} held={held} sold={sold} acknowledged={acked}")
    }
}

/// Active holds the restart measurement puts behind a drop.
const CROWD: i64 = 100_000;

/// 100,000 active holds (each with an idempotency key, the most the actor loads) of as
/// many buyers, written straight to the store, with the stock and totals to match.
fn crowd_sql(backend: &str, drop: DropId, variant: VariantId) -> Vec<String> {
    let (series, n_user, n_hold, now, later) = match backend {
        "postgres" => (
            format!("generate_series(1, {CROWD}) AS s(n)"),
            "'00000000-0000-7000-8000-' || lpad(n::text, 12, '0')",
            "'00000000-0000-7000-9000-' || lpad(n::text, 12, '0')",
            "now()::timestamp",
            "(now() + interval '1 hour')::timestamp",
        ),
        _ => (
            format!("(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {CROWD}) SELECT n FROM c) AS s"),
            "'00000000-0000-7000-8000-' || substr('000000000000' || n, -12)",
            "'00000000-0000-7000-9000-' || substr('000000000000' || n, -12)",
            "strftime('%Y-%m-%d %H:%M:%f', 'now')",
            "strftime('%Y-%m-%d %H:%M:%f', 'now', '+1 hour')",
        ),
    };
    vec![
        format!("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) \
                 SELECT {n_user}, 'crowd' || n || '@bench.invalid', 'x', 'buyer', {now}, {now} FROM {series}"),
        format!("INSERT INTO holds (id, drop_id, variant_id, buyer_id, quantity, status, expires_at, idempotency_key, created_at, updated_at) \
                 SELECT {n_hold}, '{drop}', '{variant}', {n_user}, 1, 'active', {later}, 'crowd-' || n, {now}, {now} FROM {series}"),
        format!("INSERT INTO drop_buyers (drop_id, buyer_id, taken) SELECT '{drop}', {n_user}, 1 FROM {series}"),
        format!("UPDATE drop_variants SET remaining = remaining - {CROWD}, held = held + {CROWD} WHERE id = '{variant}'"),
    ]
}

/// Restart with a crowd: a node over a store where one drop has 100,000 active holds
/// starts, and the time until its first hold is answered 201 is measured (the actor loads
/// what it decides on — stock, buyers' totals, keyed holds — in a few set queries).
fn restart_with_crowd(
    rt: &tokio::runtime::Runtime,
    backend: &str,
    url: &str,
    dir: &Path,
) -> String {
    let sub = tempfile::tempdir_in(dir).unwrap();
    let node = start_livedrop(url, sub.path(), false);
    let fx = rt.block_on(setup(&node, sub.path(), 1_000_000));
    rt.block_on(async {
        let mut conn = node.state.store.write().await.unwrap();
        for sql in crowd_sql(backend, fx.drop, fx.variant) {
            livedrop::db_run!(conn, |c| diesel::sql_query(sql.clone())
                .execute(c)
                .await
                .unwrap());
        }
    });
    node.stop();
    let token = std::fs::read_to_string(&fx.tokens_file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let node = start_livedrop(url, sub.path(), false);
    let booted = started.elapsed();
    let served = rt.block_on(async {
        let http = reqwest::Client::new();
        loop {
            let r = http
                .post(format!("{}/api/drops/{}/holds", node.url(), fx.drop))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(hold_body(fx.variant))
                .send()
                .await
                .unwrap();
            if r.status().as_u16() == 201 {
                break started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no hold served: {}",
                r.status()
            );
        }
    });
    let verdict = rt.block_on(check_crowd(&node.state.store, fx.variant, fx.stock));
    node.stop();
    format!(
        "| {backend} | {CROWD} | {:.0} | {:.0} | {verdict} |",
        booted.as_secs_f64() * 1000.0,
        served.as_secs_f64() * 1000.0
    )
}

/// After the restart: the crowd's holds are all there and the counts add up.
async fn check_crowd(store: &Store, variant: VariantId, stock: i64) -> String {
    let verdict = check(store, variant, stock).await;
    let mut conn = store.read().await.unwrap();
    let active: i64 = livedrop::db_run!(conn, |c| holds::table
        .filter(holds::variant_id.eq(variant))
        .filter(holds::status.eq("active"))
        .count()
        .get_result(c)
        .await
        .unwrap());
    if active > CROWD {
        verdict
    } else {
        format!("{verdict}; only {active} active holds")
    }
}

fn main() {
    if common::client_main() {
        return;
    }
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let levels: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "16,64,256".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&c| c > 0)
        .collect();
    assert!(!levels.is_empty(), "BENCH_CONCURRENCY: no client count");
    // The row-lock and two-node runs: at the largest count (256 by default).
    let top = *levels.iter().max().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pg_base = common::pg_base();

    println!("hot drop: {secs} s per run, one hold per request, HTTP/1.1 keep-alive (one connection per buyer), \
        load generator in a process of its own, client and server on this machine ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get()));
    println!();
    println!("| store | mechanism | buyers | holds/s | p50 ms | p99 ms | % of ceiling | errors | stock check |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|");
    let mut report = Report {
        ceiling: BTreeMap::new(),
        cpu: Vec::new(),
        batches: (0, 0, 0, 0),
        failed: false,
    };

    // 1. The HTTP ceiling.
    {
        let sub = tempfile::tempdir_in(dir.path()).unwrap();
        let node = start_ceiling(sub.path());
        let keys = JwtKeys::new(SECRET.as_bytes());
        let tokens: Vec<String> = (0..BUYERS)
            .map(|_| token(&keys, UserId::new(), Role::Buyer))
            .collect();
        let tokens_file = write_tokens(&sub.path().join("tokens.txt"), &tokens);
        let url = format!("{}/api/drops/{}/holds", node.extra_urls[0], DropId::new());
        for &c in &levels {
            let (o, cpu) = measure(
                vec![url.clone()],
                &tokens_file,
                hold_body(VariantId::new()),
                c,
                secs,
            );
            report.ceiling.insert(c, o.rate());
            report.row(
                "–",
                "HTTP ceiling (bare actix-web: JWT + JSON, no store)",
                c,
                &o,
                cpu,
                "n/a",
            );
        }
        node.stop();
    }

    // 2 and 3. livedrop's endpoint at each count, the row lock at the largest.
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let pg = rt.block_on(common::fresh_pg_database(&pg_base, "livedrop_bench"));
    if pg.is_none() {
        eprintln!("postgres not reachable at {pg_base}: measuring SQLite only");
    }
    let mut backends = vec![("sqlite", sqlite_url)];
    if let Some(url) = &pg {
        backends.push(("postgres", url.clone()));
    }
    for (name, url) in &backends {
        let sub = tempfile::tempdir_in(dir.path()).unwrap();
        let node = start_livedrop(url, sub.path(), true);
        let fx = rt.block_on(setup(&node, sub.path(), 1_000_000));
        let body = hold_body(fx.variant);
        let runs = levels
            .iter()
            .map(|&c| {
                (
                    "livedrop actor (group commit)",
                    format!("{}/api/drops/{}/holds", node.url(), fx.drop),
                    c,
                )
            })
            .chain([(
                "row lock, tx per request",
                format!("{}/peer/drops/{}/holds", node.extra_urls[0], fx.drop),
                top,
            )]);
        for (mech, endpoint, c) in runs.collect::<Vec<_>>() {
            let (o, cpu) = measure(vec![endpoint], &fx.tokens_file, body.clone(), c, secs);
            let verdict = rt.block_on(check(&node.state.store, fx.variant, fx.stock));
            report.row(name, mech, c, &o, cpu, &verdict);
        }
        // A drop that sells out under the load: exactly its units are held, no more.
        let sub2 = tempfile::tempdir_in(sub.path()).unwrap();
        let fx = rt.block_on(setup(&node, sub2.path(), sell_out_stock()));
        let endpoint = format!("{}/api/drops/{}/holds", node.url(), fx.drop);
        let (o, cpu, acked) = sell_out(&rt, &node.state.store, vec![endpoint], &fx, top, secs);
        let verdict = rt.block_on(check_sold_out(
            &node.state.store,
            fx.variant,
            fx.stock,
            acked,
        ));
        report.row(
            name,
            &format!("livedrop actor, sell-out of {} units", sell_out_stock()),
            top,
            &o,
            cpu,
            &verdict,
        );
        node.stop();
    }
    if let Some(url) = &pg {
        rt.block_on(common::drop_pg_database(&pg_base, url));
    }

    // 4. Two livedrop nodes on one Postgres database, the buyers split across both.
    if pg.is_some() {
        let url = rt
            .block_on(common::fresh_pg_database(&pg_base, "livedrop_bench"))
            .expect("a second database");
        let (sa, sb) = (
            tempfile::tempdir_in(dir.path()).unwrap(),
            tempfile::tempdir_in(dir.path()).unwrap(),
        );
        let a = start_livedrop(&url, sa.path(), false);
        let b = start_livedrop(&url, sb.path(), false);
        let fx = rt.block_on(setup(&a, sa.path(), 1_000_000));
        let urls = [&a, &b]
            .iter()
            .map(|n| format!("{}/api/drops/{}/holds", n.url(), fx.drop))
            .collect();
        let (o, cpu) = measure(urls, &fx.tokens_file, hold_body(fx.variant), top, secs);
        let verdict = rt.block_on(check(&a.state.store, fx.variant, fx.stock));
        report.row(
            "postgres",
            "livedrop actor, 2 nodes (2 workers each)",
            top,
            &o,
            cpu,
            &verdict,
        );
        // Both nodes sell one drop out.
        let sa2 = tempfile::tempdir_in(sa.path()).unwrap();
        let fx = rt.block_on(setup(&a, sa2.path(), sell_out_stock()));
        let urls = [&a, &b]
            .iter()
            .map(|n| format!("{}/api/drops/{}/holds", n.url(), fx.drop))
            .collect();
        let (o, cpu, acked) = sell_out(&rt, &a.state.store, urls, &fx, top, secs);
        let verdict = rt.block_on(check_sold_out(&a.state.store, fx.variant, fx.stock, acked));
        report.row(
            "postgres",
            &format!(
                "livedrop actor, 2 nodes, sell-out of {} units",
                sell_out_stock()
            ),
            top,
            &o,
            cpu,
            &verdict,
        );
        a.stop();
        b.stop();
        rt.block_on(common::drop_pg_database(&pg_base, &url));
    }

    println!();
    println!("CPU used per run (the server's process includes every server in it):");
    for line in &report.cpu {
        println!("- {line}");
    }

    // 5. Restart with a crowd of active holds.
    println!();
    println!(
        "restart with a crowd: a node starts over a store where one drop has {CROWD} active holds;"
    );
    println!("time from starting the node to its first hold answered 201");
    println!();
    println!("| store | active holds | node up ms | first hold served ms | stock check |");
    println!("|---|---:|---:|---:|---|");
    {
        let sqlite_url = format!("sqlite://{}", dir.path().join("crowd.db").display());
        println!(
            "{}",
            restart_with_crowd(&rt, "sqlite", &sqlite_url, dir.path())
        );
        if pg.is_some() {
            let url = rt
                .block_on(common::fresh_pg_database(&pg_base, "livedrop_bench"))
                .expect("a third database");
            let line = restart_with_crowd(&rt, "postgres", &url, dir.path());
            report.failed |= !line.ends_with("| ok |");
            println!("{line}");
            rt.block_on(common::drop_pg_database(&pg_base, &url));
        }
    }
    if report.failed {
        eprintln!("a stock check failed: see the table");
        std::process::exit(1);
    }
}
