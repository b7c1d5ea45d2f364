//! Hot drop: one drop with ample stock, N concurrent buyers over HTTP keep-alive, each
//! request one hold. Measures holds/s, p50 and p99 for livedrop's write-combining actor
//! and, in the same run, through the same HTTP stack and store, for the mechanism the
//! commerce engines we compare with use: one transaction per request that locks the
//! stock row (`SELECT … FOR UPDATE`, update, insert). Ends each run with an oversell check.
//!
//! Run: `cargo bench --bench hot_drop` (SQLite and, when reachable, Postgres at
//! `BENCH_PG_URL`, default `postgres://postgres@127.0.0.1:5432`). `BENCH_SECS` sets the
//! length of each run (default 5), `BENCH_CONCURRENCY` the list (default `16,64,256`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use livedrop::auth::{AuthUser, JwtKeys, Role};
use livedrop::config::Config;
use livedrop::db::models::drop::HoldRow;
use livedrop::db::models::now;
use livedrop::db::schema::{drop_variants, holds};
use livedrop::db::{DbConn, Store};
use livedrop::domain::ids::{DropId, HoldId, VariantId};
use livedrop::error::{AppError, AppResult};
use livedrop::state::AppState;
use serde_json::{json, Value};

const SECRET: &str = "bench-secret-bench-secret-bench-secret-00";
const BUYERS: usize = 6000;

#[derive(serde::Deserialize)]
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

struct Server {
    url: String,
    peer_url: String,
    state: AppState,
}

/// Start livedrop (and the peer endpoint on a second port) in a System of its own.
fn start(database_url: &str, dir: &std::path::Path) -> Server {
    let (tx, rx) = std::sync::mpsc::channel();
    let env = [
        ("DATABASE_URL", database_url.to_string()),
        ("DATA_DIR", dir.display().to_string()),
        ("JWT_SECRET", SECRET.to_string()),
        ("RATE_LIMITS", "off".to_string()),
        ("SEED_DEMO", "false".to_string()),
        ("DB_POOL_SIZE", "32".to_string()),
        ("RUST_LOG", "warn".to_string()),
    ];
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let config =
                Config::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
                    .unwrap();
            let state = livedrop::server::prepare(config, true).await.unwrap();
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", l.local_addr().unwrap());
            let server = livedrop::server::serve(state.clone(), l, 2).unwrap();
            let data = web::Data::new(state.clone());
            let pl = TcpListener::bind("127.0.0.1:0").unwrap();
            let peer_url = format!("http://{}", pl.local_addr().unwrap());
            let peer = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .app_data(livedrop::http::extract::json_config())
                    .route("/peer/drops/{id}/holds", web::post().to(row_lock_hold))
                    .wrap(from_fn(livedrop::http::middleware::observe))
            })
            .workers(2)
            .listen(pl)
            .unwrap()
            .run();
            tx.send(Server {
                url,
                peer_url,
                state,
            })
            .unwrap();
            let _ = futures_util::future::join(server, peer).await;
        });
    });
    rx.recv().unwrap()
}

async fn setup(server: &Server) -> (DropId, VariantId, Vec<String>, i64) {
    let store = &server.state.store;
    let keys = JwtKeys::new(SECRET.as_bytes());
    let token = |id, role| {
        keys.issue(id, role, true, chrono::Utc::now().timestamp() + 3600)
            .unwrap()
    };
    let creator = livedrop::demo::account(store, Role::Creator).await.unwrap();
    let creator_token = token(creator.id, Role::Creator);
    let (sf, p) = livedrop::demo::shop(store, creator.id).await.unwrap();
    let stock = 1_000_000i64;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{}/api/drops", server.url))
        .bearer_auth(&creator_token)
        .json(&json!({"storefront_id": sf, "product_id": p, "title": "Bench", "price_cents": 100, "currency": "USD",
            "variants": [{"name": "A", "stock": stock}], "opens_at": chrono::Utc::now(), "waiting_room_seconds": 0,
            "per_buyer_limit": 100, "hold_seconds": 3600}))
        .send().await.unwrap().json().await.unwrap();
    let drop: DropId = created["id"].as_str().unwrap().parse().unwrap();
    let variant: VariantId = created["variants"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let r = http
        .post(format!("{}/api/drops/{drop}/publish", server.url))
        .bearer_auth(&creator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut tokens = Vec::with_capacity(BUYERS);
    for _ in 0..BUYERS {
        let u = livedrop::demo::account(store, Role::Buyer).await.unwrap();
        tokens.push(token(u.id, Role::Buyer));
    }
    (drop, variant, tokens, stock)
}

struct Outcome {
    ok: usize,
    errors: usize,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn load(
    url: String,
    variant: VariantId,
    tokens: Arc<Vec<String>>,
    concurrency: usize,
    secs: u64,
) -> Outcome {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (url, tokens) = (url.clone(), tokens.clone());
        tasks.push(tokio::spawn(async move {
            // One keep-alive connection per simulated buyer.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let body = json!({"variant_id": variant, "quantity": 1}).to_string();
            let (mut lat, mut ok, mut errors, mut i) = (Vec::new(), 0usize, 0usize, worker);
            while Instant::now() < deadline {
                let token = &tokens[i % tokens.len()];
                i += concurrency;
                let t0 = Instant::now();
                let r = http
                    .post(&url)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let good = matches!(&r, Ok(res) if res.status().as_u16() == 201);
                if let Ok(res) = r {
                    let _ = res.bytes().await;
                }
                lat.push(t0.elapsed().as_micros() as u32);
                if good {
                    ok += 1
                } else {
                    errors += 1
                }
            }
            (lat, ok, errors)
        }));
    }
    let mut all = Vec::new();
    let (mut ok, mut errors) = (0, 0);
    for t in tasks {
        let (l, o, e) = t.await.unwrap();
        all.extend(l);
        ok += o;
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    Outcome {
        ok,
        errors,
        secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
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

fn main() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let levels: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "16,64,256".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut backends = vec![(
        "sqlite",
        format!("sqlite://{}", dir.path().join("bench.db").display()),
    )];
    let pg_base = std::env::var("BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let pg = rt.block_on(async {
        let name = format!("livedrop_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel_async::AsyncPgConnection::establish(&format!("{pg_base}/postgres"))
            .await
            .ok()?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .ok()?;
        Some(format!("{pg_base}/{name}"))
    });
    match pg {
        Some(url) => backends.push(("postgres", url)),
        None => eprintln!("postgres not reachable at {pg_base}: measuring SQLite only"),
    }
    println!("hot drop: {secs} s per run, one hold per request, HTTP keep-alive, client and server on this machine");
    println!();
    println!("| store | mechanism | buyers | holds/s | p50 ms | p99 ms | errors | stock check |");
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    for (name, url) in backends {
        let sub = tempfile::tempdir().unwrap();
        let server = start(&url, sub.path());
        let (drop, variant, tokens, stock) = rt.block_on(setup(&server));
        let tokens = Arc::new(tokens);
        for &c in &levels {
            for (mech, endpoint) in [
                (
                    "livedrop actor (group commit)",
                    format!("{}/api/drops/{drop}/holds", server.url),
                ),
                (
                    "row lock, tx per request",
                    format!("{}/peer/drops/{drop}/holds", server.peer_url),
                ),
            ] {
                let o = rt.block_on(load(endpoint, variant, tokens.clone(), c, secs));
                let verdict = rt.block_on(check(&server.state.store, variant, stock));
                println!(
                    "| {name} | {mech} | {c} | {:.0} | {:.1} | {:.1} | {} | {verdict} |",
                    o.ok as f64 / o.secs,
                    o.p50_ms,
                    o.p99_ms,
                    o.errors
                );
            }
        }
    }
}
