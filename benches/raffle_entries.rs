//! Raffle entry ingest: N concurrent clients over HTTP keep-alive, each request one free
//! entry by a distinct account. Measures entries/s, p50 and p99 through livedrop's raffle
//! actor (entries group-committed, one transaction per batch) and, in the same run, through
//! the same HTTP stack and store, for one transaction per entry that locks the raffle row
//! (the way a counter-on-the-raffle design serialises entries). In livedrop's runs, a
//! socket subscribed to `raffle:<id>` during the load measures the live count's freshness:
//! for every acknowledged entry, how long until a frame shows at least the entrants
//! acknowledged by then. Ends with a count check: the raffle's totals equal its ledger
//! rows, and (livedrop's runs) a frame shows the final count within 10 s of the load.
//!
//! Run: `cargo bench --bench raffle_entries` (SQLite and, when reachable, Postgres at
//! `BENCH_PG_URL`). `BENCH_ENTRIES` accounts per run (default 20000), `BENCH_CONCURRENCY`
//! the list of client counts (default `64,256`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use livedrop::auth::{AuthUser, JwtKeys, Role};
use livedrop::config::Config;
use livedrop::db::models::raffle::LedgerRow;
use livedrop::db::models::{now, user};
use livedrop::db::schema::{raffle_entrants, raffle_tickets, raffles, users};
use livedrop::db::Store;
use livedrop::domain::ids::{LedgerId, RaffleId, UserId};
use livedrop::error::{AppError, AppResult};
use livedrop::state::AppState;
use serde_json::{json, Value};

const SECRET: &str = "bench-secret-bench-secret-bench-secret-00";
/// After a load, how long a frame may take to show the final count before the check fails.
const FINAL_WITHIN: Duration = Duration::from_secs(10);

/// The HTTP ceiling: what the entry endpoint costs before it does anything (the bearer
/// check with the same keys, the raffle's id, `201` and a small JSON body), no state.
async fn ceiling_entry(who: AuthUser, raffle: web::Path<String>) -> AppResult<HttpResponse> {
    let _ = (who.id, RaffleId::parse(&raffle).ok_or(AppError::NotFound)?);
    Ok(HttpResponse::Created().json(json!({"tickets": 1})))
}

/// The peer mechanism: one transaction per entry, the raffle row locked for its length.
async fn row_lock_entry(
    state: web::Data<AppState>,
    who: AuthUser,
    raffle: web::Path<String>,
) -> AppResult<HttpResponse> {
    let raffle = RaffleId::parse(&raffle).ok_or(AppError::NotFound)?;
    let t = now();
    let mut conn = state.store.write().await?;
    let entered = livedrop::db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            // The lock: a no-op update of the raffle row (Postgres locks the row; SQLite's
            // write lock is the whole database).
            diesel::update(raffles::table.find(raffle))
                .set(raffles::updated_at.eq(raffles::updated_at))
                .execute(c)
                .await?;
            let n = diesel::insert_into(raffle_tickets::table)
                .values(&LedgerRow {
                    id: LedgerId::new(),
                    raffle_id: raffle,
                    user_id: who.id,
                    kind: "entry".into(),
                    tickets: 1,
                    order_id: None,
                    note: "free entry".into(),
                    created_at: t,
                })
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            if n == 0 {
                return Ok(false);
            }
            diesel::insert_into(raffle_entrants::table)
                .values((
                    raffle_entrants::raffle_id.eq(raffle),
                    raffle_entrants::user_id.eq(who.id),
                    raffle_entrants::pseudonym.eq(livedrop::db::models::raffle::new_pseudonym()),
                    raffle_entrants::created_at.eq(t),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            diesel::update(raffles::table.find(raffle))
                .set((
                    raffles::entrants.eq(raffles::entrants + 1),
                    raffles::tickets.eq(raffles::tickets + 1),
                ))
                .execute(c)
                .await?;
            Ok(true)
        })
        .await
    })?;
    if entered {
        Ok(HttpResponse::Created().json(json!({"tickets": 1})))
    } else {
        Err(AppError::conflict("already_entered", "already entered"))
    }
}

struct Server {
    url: String,
    peer_url: String,
    /// A bare actix-web server (2 workers, no middleware) with only [`ceiling_entry`].
    ceiling_url: String,
    state: AppState,
}

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
                    .route("/peer/raffles/{id}/entries", web::post().to(row_lock_entry))
                    .wrap(from_fn(livedrop::http::middleware::observe))
            })
            .workers(2)
            .listen(pl)
            .unwrap()
            .run();
            let ceiling_data = web::Data::new(state.clone());
            let cl = TcpListener::bind("127.0.0.1:0").unwrap();
            let ceiling_url = format!("http://{}", cl.local_addr().unwrap());
            let ceiling = HttpServer::new(move || {
                App::new().app_data(ceiling_data.clone()).route(
                    "/ceiling/raffles/{id}/entries",
                    web::post().to(ceiling_entry),
                )
            })
            .workers(2)
            .listen(cl)
            .unwrap()
            .run();
            tx.send(Server {
                url,
                peer_url,
                ceiling_url,
                state,
            })
            .unwrap();
            let _ = futures_util::future::join3(server, peer, ceiling).await;
        });
    });
    rx.recv().unwrap()
}

/// `n` buyer accounts written in bulk, and their tokens.
async fn accounts(store: &Store, n: usize) -> Vec<String> {
    let keys = JwtKeys::new(SECRET.as_bytes());
    let t = now();
    let rows: Vec<user::User> = (0..n)
        .map(|_| {
            let id = UserId::new();
            user::User {
                id,
                email: format!("b-{}@bench.livedrop.local", id.0.simple()),
                password_hash: "!".into(),
                role: "buyer".into(),
                email_verified_at: Some(t),
                created_at: t,
                updated_at: t,
            }
        })
        .collect();
    for chunk in rows.chunks(2000) {
        let mut conn = store.write().await.unwrap();
        // One transaction per chunk (SQLite has no multi-row insert with defaults).
        livedrop::db_run!(conn, |c| {
            c.transaction::<_, diesel::result::Error, _>(async |c| {
                for u in chunk {
                    diesel::insert_into(users::table)
                        .values(u)
                        .execute(c)
                        .await?;
                }
                Ok(())
            })
            .await
            .unwrap()
        });
    }
    rows.iter()
        .map(|u| {
            keys.issue(
                u.id,
                Role::Buyer,
                true,
                chrono::Utc::now().timestamp() + 3600,
            )
            .unwrap()
        })
        .collect()
}

async fn open_raffle(server: &Server, token: &str) -> String {
    let http = reqwest::Client::new();
    let opens = chrono::Utc::now() - chrono::Duration::seconds(1);
    let created: Value = http
        .post(format!("{}/api/raffles", server.url))
        .bearer_auth(token)
        .json(
            &json!({"title": "Bench raffle", "alternates": 0, "entry": "free",
            "prizes": [{"rank_from": 1, "rank_to": 1, "description": "A"}],
            "opens_at": opens, "closes_at": opens + chrono::Duration::hours(1)}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("raffle created").to_string();
    let r = http
        .post(format!("{}/api/raffles/{id}/publish", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    id
}

struct Outcome {
    ok: usize,
    errors: usize,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// With an acknowledgement counter: (when, entries acknowledged by then), one per `201`.
    acks: Vec<(Instant, i64)>,
}

/// Every token enters once, `concurrency` requests in flight. With `acked`, each `201`
/// counts there and is recorded in [`Outcome::acks`].
async fn load(
    url: String,
    tokens: Arc<Vec<String>>,
    concurrency: usize,
    acked: Option<Arc<AtomicI64>>,
) -> Outcome {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (url, tokens, acked) = (url.clone(), tokens.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let (mut lat, mut ok, mut errors) = (Vec::new(), 0usize, 0usize);
            let mut acks = Vec::new();
            let mut i = worker;
            while i < tokens.len() {
                let t0 = Instant::now();
                let r = http.post(&url).bearer_auth(&tokens[i]).send().await;
                let good = matches!(&r, Ok(res) if res.status().as_u16() == 201);
                if let (true, Some(acked)) = (good, &acked) {
                    // The moment is taken after counting: every entry counted by then was
                    // acknowledged by then.
                    let k = acked.fetch_add(1, Ordering::SeqCst) + 1;
                    acks.push((Instant::now(), k));
                }
                if let Ok(res) = r {
                    let _ = res.bytes().await;
                }
                lat.push(t0.elapsed().as_micros() as u32);
                if good {
                    ok += 1
                } else {
                    errors += 1
                }
                i += concurrency;
            }
            (lat, ok, errors, acks)
        }));
    }
    let mut all = Vec::new();
    let (mut ok, mut errors, mut acks) = (0, 0, Vec::new());
    for t in tasks {
        let (l, o, e, a) = t.await.unwrap();
        all.extend(l);
        ok += o;
        errors += e;
        acks.extend(a);
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
        acks,
    }
}

/// A count check failed: the bench exits non-zero at the end.
static FAILED: AtomicBool = AtomicBool::new(false);

/// The raffle's totals against its ledger and entrant rows, and those against the
/// accounts that entered (`expected`: each enters once).
async fn check(store: &Store, raffle: &str, expected: usize) -> String {
    let id = RaffleId::parse(raffle).unwrap();
    let mut conn = store.read().await.unwrap();
    let (entrants, tickets, rows, people) = livedrop::db_run!(conn, |c| {
        let (e, t): (i64, i64) = raffles::table
            .find(id)
            .select((raffles::entrants, raffles::tickets))
            .first(c)
            .await
            .unwrap();
        let rows: i64 = raffle_tickets::table
            .filter(raffle_tickets::raffle_id.eq(id))
            .count()
            .get_result(c)
            .await
            .unwrap();
        let people: i64 = raffle_entrants::table
            .filter(raffle_entrants::raffle_id.eq(id))
            .count()
            .get_result(c)
            .await
            .unwrap();
        (e, t, rows, people)
    });
    if entrants == people && tickets == rows && rows as usize == expected {
        "ok".into()
    } else {
        FAILED.store(true, Ordering::SeqCst);
        format!(
            "MISMATCH entrants={entrants}/{people} tickets={tickets}/{rows} expected={expected}"
        )
    }
}

fn main() {
    let n: usize = std::env::var("BENCH_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let levels: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "64,256".into())
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
    let pg_base = common::pg_base();
    let pg = rt.block_on(common::fresh_pg_database(&pg_base, "livedrop_bench"));
    match pg {
        Some(url) => backends.push(("postgres", url)),
        None => eprintln!("postgres not reachable at {pg_base}: measuring SQLite only"),
    }
    println!("raffle entries: {n} accounts enter once each per run, HTTP keep-alive, client and server on this machine");
    println!(
        "freshness (livedrop's runs): a socket subscribed to `raffle:<id>` during the load; for \
         every acknowledged entry, the time until a frame shows at least the entrants acknowledged \
         by then (p50 / p99 / max ms); the count check also fails when no frame shows the final \
         count within {} s of the load",
        FINAL_WITHIN.as_secs()
    );
    println!();
    println!(
        "| store | mechanism | clients | entries/s | p50 ms | p99 ms | errors | % of ceiling | freshness ms p50 / p99 / max | count check |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|---|");
    for (name, url) in backends {
        let sub = tempfile::tempdir().unwrap();
        let server = start(&url, sub.path());
        let admin = rt.block_on(async {
            let a = livedrop::demo::account(&server.state.store, Role::Admin)
                .await
                .unwrap();
            JwtKeys::new(SECRET.as_bytes())
                .issue(
                    a.id,
                    Role::Admin,
                    true,
                    chrono::Utc::now().timestamp() + 3600,
                )
                .unwrap()
        });
        for &c in &levels {
            // The HTTP ceiling at this client count, on this store's server process: five
            // requests per account (it keeps nothing), so that the run is long enough for
            // its connections' setup not to be the figure.
            let tokens = rt.block_on(accounts(&server.state.store, n));
            let tokens = Arc::new((0..5).flat_map(|_| tokens.clone()).collect::<Vec<_>>());
            let endpoint = format!(
                "{}/ceiling/raffles/{}/entries",
                server.ceiling_url,
                RaffleId::new()
            );
            let o = rt.block_on(load(endpoint, tokens, c, None));
            let ceiling = o.ok as f64 / o.secs;
            println!(
                "| {name} | HTTP ceiling (bare actix-web: JWT, no store) | {c} | {ceiling:.0} | {:.1} | {:.1} | {} | 100% | — | n/a |",
                o.p50_ms, o.p99_ms, o.errors
            );
            for (mech, peer) in [
                ("livedrop actor (group commit)", false),
                ("row lock, tx per entry", true),
            ] {
                let tokens = Arc::new(rt.block_on(accounts(&server.state.store, n)));
                let raffle = rt.block_on(open_raffle(&server, &admin));
                let endpoint = if peer {
                    format!("{}/peer/raffles/{raffle}/entries", server.peer_url)
                } else {
                    format!("{}/api/raffles/{raffle}/entries", server.url)
                };
                let entered = tokens.len();
                // livedrop's runs: a watcher of the raffle's live state, subscribed before
                // the load (its snapshot shows 0 entrants), and the entries acknowledged.
                let watch = (!peer).then(|| {
                    let frames: common::Frames = Arc::default();
                    let task = rt.block_on(common::watch_topic(
                        &server.url,
                        None,
                        &format!("raffle:{raffle}"),
                        "/entrants",
                        frames.clone(),
                    ));
                    (frames, task)
                });
                let acked = watch.as_ref().map(|_| Arc::new(AtomicI64::new(0)));
                let o = rt.block_on(load(endpoint, tokens, c, acked));
                let mut verdict = rt.block_on(check(&server.state.store, &raffle, entered));
                let fresh_cell = match watch {
                    Some((frames, task)) => {
                        let last = o.ok as i64;
                        let shown = rt.block_on(common::frame_shows(&frames, last, FINAL_WITHIN));
                        task.abort();
                        let frames = frames.lock().unwrap();
                        if !shown {
                            FAILED.store(true, Ordering::SeqCst);
                            verdict = format!(
                                "{verdict}; LIVE COUNT: no frame showed {last} entrants within {} s (highest {})",
                                FINAL_WITHIN.as_secs(),
                                frames.iter().map(|(_, e)| *e).max().unwrap_or(0)
                            );
                        }
                        let (fr, missed) = common::freshness(&o.acks, &frames);
                        common::freshness_cell(&fr, missed, o.acks.len())
                    }
                    None => "—".into(),
                };
                let rate = o.ok as f64 / o.secs;
                println!(
                    "| {name} | {mech} | {c} | {rate:.0} | {:.1} | {:.1} | {} | {:.0}% | {fresh_cell} | {verdict} |",
                    o.p50_ms,
                    o.p99_ms,
                    o.errors,
                    100.0 * rate / ceiling.max(1e-9)
                );
            }
        }
    }
    if AtomicBool::load(&FAILED, Ordering::SeqCst) {
        eprintln!("raffle entries: a count check failed (see the table)");
        std::process::exit(1);
    }
}
