//! Storefront analytics ingest: N concurrent page beacons over HTTP keep-alive to
//! `POST /api/events`, each from one of ~50,000 visitors (X-Forwarded-For, trusted as a
//! load balancer's), all for one storefront. Measures, per store and client count:
//! events/s, p50 and p99, every answer that was not a `202`; the dashboard's freshness (a
//! socket subscribed to `dashboard:<id>` during the load: how long until a frame shows
//! every page view acknowledged by a given moment, sampled every 100 ms); the process's
//! RSS before, after the run and after a second run with fresh visitors; and, after a
//! forced flush, whether raw rows and rollups both equal the `202`s. The same run
//! measures the naive design through the same HTTP stack and store: one `INSERT` per
//! beacon in its own transaction, at a smaller event count.
//!
//! Run: `cargo bench --bench analytics_events` (SQLite and, when reachable, Postgres at
//! `BENCH_PG_URL`, default `postgres://postgres@127.0.0.1:5432`). `BENCH_EVENTS` events per
//! run (default 200000), `BENCH_PEER_EVENTS` for the peer (default 20000),
//! `BENCH_CONCURRENCY` the list of client counts (default `64,256`).
//!
//! The clients run in this process, on the same cores as the server: the figures are a
//! floor for the server alone. The CPU each thread group used is printed after the table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use diesel_async::AsyncConnection;
use livedrop::auth::{JwtKeys, Role};
use livedrop::config::Config;
use livedrop::db::models::analytics::{self as model, EventRow, Range};
use livedrop::db::models::{now, storefront};
use livedrop::db::schema::analytics_events;
use livedrop::db::Store;
use livedrop::domain::analytics::{self as analytics, Counts, Kind};
use livedrop::domain::ids::StorefrontId;
use livedrop::error::{AppError, AppResult};
use livedrop::http::analytics::events::EventForm;
use livedrop::state::AppState;
use serde_json::json;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-00";
/// A desktop browser's user agent: an empty or scripted one would count as a bot.
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
/// Visitors per run at least (the brief's "many visitors").
const MIN_VISITORS: usize = 50_000;
/// Events per visitor per run at most: under the actor's 30 a minute, so no `429` is a
/// visitor's own doing.
const PER_VISITOR: usize = 20;
/// How often the freshness probe samples the count of acknowledged page views.
const PROBE_EVERY: Duration = Duration::from_millis(100);
/// After a run, how long frames are still collected (pushes are 200 ms apart).
const SETTLE: Duration = Duration::from_millis(1500);

/// The peer mechanism: the same parsing and visitor hash as `POST /api/events`, then one
/// raw row inserted in a transaction of its own per beacon (aggregates left to read time).
async fn insert_per_beacon(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let invalid = |m: &str| AppError::Invalid {
        code: "invalid_event",
        message: m.to_string(),
    };
    let form: EventForm = serde_json::from_slice(&body).map_err(|_| invalid("not an event"))?;
    let kind = match form.kind.as_str() {
        "pageview" => Kind::Pageview,
        "click" => Kind::Click,
        _ => return Err(invalid("type is pageview or click")),
    };
    let path = analytics::clean_path(&form.path).ok_or_else(|| invalid("path starts with /"))?;
    let slug = form.storefront.trim().to_lowercase();
    let sf = state
        .registry
        .storefront_by_slug(&slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let t = state.clock.now();
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ip = livedrop::http::auth::client_ip(&req, &state);
    let salt = state.registry.visitor_salt(t).await?;
    let host = req.connection_info().host().to_string();
    let row = EventRow {
        id: uuid::Uuid::now_v7().to_string(),
        storefront_id: sf,
        at: t,
        kind: kind.as_str().to_string(),
        visitor: analytics::visitor_id(&salt, &ip, ua, &sf.to_string()) as i64,
        path,
        referrer: analytics::referrer_host(form.referrer.as_deref().unwrap_or(""), &host),
        utm_source: form.utm_source.unwrap_or_default().to_lowercase(),
        utm_medium: form.utm_medium.unwrap_or_default().to_lowercase(),
        utm_campaign: form.utm_campaign.unwrap_or_default().to_lowercase(),
        device: analytics::device_class(ua).to_string(),
        country: String::new(),
        bot: analytics::is_bot_agent(ua),
        amount_cents: 0,
        ref_id: String::new(),
        count: 1,
    };
    // Scoped here: its blanket `load` would shadow the atomics' elsewhere in this file.
    use diesel_async::RunQueryDsl;
    let mut conn = state.store.write().await?;
    livedrop::db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            diesel::insert_into(analytics_events::table)
                .values(&row)
                .execute(c)
                .await?;
            Ok(())
        })
        .await
    })?;
    Ok(HttpResponse::Accepted().finish())
}

struct Server {
    url: String,
    peer_url: String,
    state: AppState,
    fx: Fixture,
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
        // The visitors are told apart by X-Forwarded-For, as behind a load balancer.
        ("TRUST_PROXY_HEADERS", "true".to_string()),
        ("RUST_LOG", "warn".to_string()),
    ];
    std::thread::Builder::new()
        .name("server-system".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let config = Config::from_lookup(|k| {
                    env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
                })
                .unwrap();
                let state = livedrop::server::prepare(config, true).await.unwrap();
                let fx = setup(&state.store).await;
                // Open every pooled connection here: a SQLite connection runs its blocking
                // work on the runtime it was opened on, and a Postgres connection its
                // driver task, so one the clients' runtime opened would charge server
                // work to the clients' threads.
                let sqlite = state.store.backend() == "sqlite";
                let mut held = vec![state.store.write().await.unwrap()];
                for _ in 0..if sqlite { 8 } else { 31 } {
                    held.push(state.store.read().await.unwrap());
                }
                drop(held);
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                let url = format!("http://{}", l.local_addr().unwrap());
                let server = livedrop::server::serve(state.clone(), l, 2).unwrap();
                let data = web::Data::new(state.clone());
                let pl = TcpListener::bind("127.0.0.1:0").unwrap();
                let peer_url = format!("http://{}", pl.local_addr().unwrap());
                let peer = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route("/peer/events", web::post().to(insert_per_beacon))
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
                    fx,
                })
                .unwrap();
                let _ = futures_util::future::join(server, peer).await;
            });
        })
        .unwrap();
    rx.recv().unwrap()
}

/// A verified creator with two published storefronts (one for livedrop's endpoint, one
/// for the peer's, so neither's rows count in the other's check).
struct Fixture {
    owner_token: String,
    sf: StorefrontId,
    slug: String,
    peer_sf: StorefrontId,
    peer_slug: String,
}

async fn setup(store: &Store) -> Fixture {
    let creator = livedrop::demo::account(store, Role::Creator).await.unwrap();
    let owner_token = JwtKeys::new(SECRET.as_bytes())
        .issue(
            creator.id,
            Role::Creator,
            true,
            chrono::Utc::now().timestamp() + 24 * 3600,
        )
        .unwrap();
    let (sf, _) = livedrop::demo::shop(store, creator.id).await.unwrap();
    let (peer_sf, _) = livedrop::demo::shop(store, creator.id).await.unwrap();
    let slug_of = async |id| storefront::find(store, id).await.unwrap().unwrap().slug;
    Fixture {
        owner_token,
        sf,
        slug: slug_of(sf).await,
        peer_sf,
        peer_slug: slug_of(peer_sf).await,
    }
}

/// Visitor `v` as an address in 10.0.0.0/8 (16.7 million of them).
fn ip(v: u32) -> String {
    format!("10.{}.{}.{}", (v >> 16) & 255, (v >> 8) & 255, v & 255)
}

/// The beacon of the `i`-th event of a run: mostly page views, some clicks, some with a
/// referrer or a campaign, over a few dozen paths.
fn beacon(slug: &str, i: usize) -> (bool, String) {
    let pageview = i % 10 != 9;
    let mut body = json!({
        "storefront": slug,
        "type": if pageview { "pageview" } else { "click" },
        "path": format!("/p/{}", i % 40),
    });
    if i % 3 == 0 {
        body["referrer"] = json!("https://news.example.com/article");
    }
    if i % 5 == 0 {
        body["utm_source"] = json!("newsletter");
        body["utm_campaign"] = json!(format!("launch-{}", i % 4));
    }
    (pageview, body.to_string())
}

/// What has been acknowledged so far on the measured storefront (cumulative, all runs).
#[derive(Default)]
struct Acked {
    events: AtomicI64,
    pageviews: AtomicI64,
}

struct Outcome {
    accepted: usize,
    other: BTreeMap<String, usize>,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// (when, page views acknowledged by then), every [`PROBE_EVERY`].
    probes: Vec<(Instant, i64)>,
}

impl Outcome {
    fn rejected(&self) -> String {
        if self.other.is_empty() {
            return "0".into();
        }
        self.other
            .iter()
            .map(|(k, n)| format!("{n}×{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn pct_ms(sorted_us: &[u32], p: f64) -> f64 {
    sorted_us
        .get(((sorted_us.len() as f64 * p) as usize).min(sorted_us.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0) as f64
        / 1000.0
}

/// `n` events from `visitors`, `concurrency` requests in flight (one keep-alive connection
/// per client), `batch` events per request (one visitor's page: an array when over one).
async fn load(
    url: String,
    slug: Arc<str>,
    n: usize,
    visitors: std::ops::Range<u32>,
    concurrency: usize,
    batch: usize,
    acked: Arc<Acked>,
) -> Outcome {
    let (first, count) = (visitors.start, visitors.len());
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (stop, acked) = (stop.clone(), acked.clone());
        tokio::spawn(async move {
            let mut probes = Vec::new();
            let mut every = tokio::time::interval(PROBE_EVERY);
            while !stop.load(Ordering::Relaxed) {
                every.tick().await;
                probes.push((Instant::now(), acked.pageviews.load(Ordering::SeqCst)));
            }
            probes
        })
    };
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (url, slug, acked) = (url.clone(), slug.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut lat = Vec::with_capacity(n / concurrency + 1);
            let (mut ok, mut other) = (0usize, BTreeMap::<String, usize>::new());
            // Request `r` carries events r·batch … r·batch + batch − 1, one visitor's page.
            let mut request = worker;
            while request * batch < n {
                let i = request * batch;
                let events: Vec<(bool, String)> =
                    (i..(i + batch).min(n)).map(|e| beacon(&slug, e)).collect();
                let body = if batch == 1 {
                    events[0].1.clone()
                } else {
                    let all: Vec<&str> = events.iter().map(|(_, b)| b.as_str()).collect();
                    format!("[{}]", all.join(","))
                };
                let visitor = first + ((i / batch) % count) as u32;
                let t0 = Instant::now();
                let r = http
                    .post(&url)
                    .header("content-type", "text/plain;charset=UTF-8")
                    .header("user-agent", UA)
                    .header("x-forwarded-for", ip(visitor))
                    .body(body)
                    .send()
                    .await;
                match r {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let answer = res.bytes().await.unwrap_or_default();
                        if status == 202 {
                            // The events taken are the first `accepted` of the request
                            // (the peer's `202` has no body: its one event was taken).
                            let taken = if answer.is_empty() {
                                events.len()
                            } else {
                                serde_json::from_slice::<serde_json::Value>(&answer)
                                    .ok()
                                    .and_then(|v| v["accepted"].as_u64())
                                    .unwrap_or(0) as usize
                            };
                            let views = events[..taken.min(events.len())]
                                .iter()
                                .filter(|(pageview, _)| *pageview)
                                .count();
                            ok += taken;
                            acked.events.fetch_add(taken as i64, Ordering::SeqCst);
                            acked.pageviews.fetch_add(views as i64, Ordering::SeqCst);
                            if taken < events.len() {
                                *other.entry("not taken (in a 202)".into()).or_default() +=
                                    events.len() - taken;
                            }
                        } else {
                            *other.entry(status.to_string()).or_default() += 1;
                        }
                    }
                    Err(_) => *other.entry("transport error".into()).or_default() += 1,
                }
                lat.push(t0.elapsed().as_micros() as u32);
                request += concurrency;
            }
            (lat, ok, other)
        }));
    }
    let mut all = Vec::with_capacity(n);
    let (mut accepted, mut other) = (0, BTreeMap::new());
    for t in tasks {
        let (l, o, e) = t.await.unwrap();
        all.extend(l);
        accepted += o;
        for (k, v) in e {
            *other.entry(k).or_default() += v;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let probes = probe.await.unwrap();
    all.sort_unstable();
    Outcome {
        accepted,
        other,
        secs,
        p50_ms: pct_ms(&all, 0.50),
        p99_ms: pct_ms(&all, 0.99),
        probes,
    }
}

/// A line of `/proc/self/status` in MiB: `VmRSS` (resident now), `VmHWM` (the peak since
/// the last [`reset_peak`]).
fn status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':')))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// Start a new peak (`VmHWM`) from the current RSS (Linux `clear_refs`, value 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// CPU seconds used so far by each thread of this process, by thread id: (name, seconds).
/// Names are Linux `comm`, at most 15 characters: `actix-rt|system` are the server's
/// worker arbiters (both servers'), `bench-client` the clients.
fn cpu_by_thread() -> BTreeMap<u32, (String, f64)> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in dir.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // Fields 14 and 15 of stat (utime, stime, in 1/100 s), counted after the name.
        let field = |i: usize| {
            rest.get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        out.insert(tid, (name, (field(11) + field(12)) / 100.0));
    }
    out
}

/// CPU seconds per thread name between two readings, with the busiest single thread of
/// each name (a thread near the wall time is a serial bottleneck).
fn cpu_delta(
    before: &BTreeMap<u32, (String, f64)>,
    after: &BTreeMap<u32, (String, f64)>,
) -> String {
    let mut by_name: BTreeMap<&str, (f64, f64, usize)> = BTreeMap::new();
    for (tid, (name, secs)) in after {
        let d = secs - before.get(tid).map_or(0.0, |(_, s)| *s);
        let e = by_name.entry(name.as_str()).or_default();
        e.0 += d;
        e.1 = e.1.max(d);
        if d >= 0.05 {
            e.2 += 1;
        }
    }
    let mut d: Vec<_> = by_name.into_iter().filter(|(_, v)| v.0 >= 0.05).collect();
    d.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    d.iter()
        .map(|(k, (sum, max, busy))| {
            format!("`{k}` {sum:.1} ({busy} threads busy, the busiest {max:.1})")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// CPU seconds the whole machine has been busy (all processes), from `/proc/stat`: what
/// this process did not use of it was taken by something else running at the same time.
fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or("");
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|i| v.get(*i))
        .sum::<f64>()
        / 100.0
}

/// CPU seconds used so far by the Postgres server's processes (all named `postgres`);
/// a backend that exits during a run takes its share with it.
fn postgres_cpu() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let mut total = 0.0;
    for p in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(p.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if &stat[open + 1..close] != "postgres" {
            continue;
        }
        let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let field = |i: usize| {
            rest.get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        total += (field(11) + field(12)) / 100.0;
    }
    total
}

/// The CPU of a run: this process by thread group, the Postgres server, and whatever
/// else ran on the machine meanwhile (a compiler, say, which the figures then suffer).
struct CpuMeter {
    threads: BTreeMap<u32, (String, f64)>,
    postgres: f64,
    machine: f64,
}

impl CpuMeter {
    fn start() -> CpuMeter {
        CpuMeter {
            threads: cpu_by_thread(),
            postgres: postgres_cpu(),
            machine: machine_busy(),
        }
    }

    fn report(&self) -> String {
        let after = cpu_by_thread();
        let ours: f64 = after
            .iter()
            .map(|(tid, (_, s))| s - self.threads.get(tid).map_or(0.0, |(_, b)| *b))
            .sum();
        let postgres = (postgres_cpu() - self.postgres).max(0.0);
        let others = (machine_busy() - self.machine - ours - postgres).max(0.0);
        format!(
            "{}; postgres server {postgres:.1}; anything else {others:.1}",
            cpu_delta(&self.threads, &after)
        )
    }
}

fn total(c: &Counts) -> i64 {
    c.pageviews + c.clicks + c.bots + c.holds + c.checkouts + c.purchases
}

/// The storefront's raw rows by kind, counted in the store. (`model::raw_counts` would
/// load every row into this process and so into the RSS this bench reports.)
async fn raw_rows(store: &Store, sf: StorefrontId) -> Counts {
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::RunQueryDsl;
    let mut conn = store.read().await.unwrap();
    let rows: Vec<(String, bool, i64)> = livedrop::db_run!(conn, |c| {
        analytics_events::table
            .filter(analytics_events::storefront_id.eq(sf))
            .group_by((analytics_events::kind, analytics_events::bot))
            .select((
                analytics_events::kind,
                analytics_events::bot,
                diesel::dsl::count_star(),
            ))
            .load(c)
            .await
            .unwrap()
    });
    let mut counts = Counts::default();
    for (kind, bot, n) in rows {
        match (kind.as_str(), bot) {
            (_, true) => counts.bots += n,
            ("pageview", false) => counts.pageviews += n,
            ("click", false) => counts.clicks += n,
            _ => counts.holds += n,
        }
    }
    counts
}

/// A count check failed: the bench exits non-zero at the end.
static FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// After a forced flush: raw rows, hourly and daily rollups against the `202`s.
async fn check(state: &AppState, sf: StorefrontId, acked: &Acked) -> String {
    state.registry.flush_analytics(sf).await.unwrap();
    let expected = acked.events.load(Ordering::SeqCst);
    let views = acked.pageviews.load(Ordering::SeqCst);
    let raw = raw_rows(&state.store, sf).await;
    let t = now();
    let hours = model::report(&state.store, sf, Range::Day, t)
        .await
        .unwrap()
        .counts;
    let days = model::report(&state.store, sf, Range::Week, t)
        .await
        .unwrap()
        .counts;
    let agree = [raw, hours, days]
        .iter()
        .all(|c| total(c) == expected && c.pageviews == views && c.bots == 0);
    if agree {
        "ok".into()
    } else {
        FAILED.store(true, Ordering::SeqCst);
        format!(
            "MISMATCH 202s={expected} (views {views}); raw={}/{}/{} hourly={}/{}/{} daily={}/{}/{} (views/clicks/bots)",
            raw.pageviews, raw.clicks, raw.bots, hours.pageviews, hours.clicks, hours.bots,
            days.pageviews, days.clicks, days.bots
        )
    }
}

/// The peer's raw rows against its `202`s.
async fn check_peer(store: &Store, sf: StorefrontId, expected: usize) -> String {
    let raw = raw_rows(store, sf).await;
    if total(&raw) == expected as i64 {
        "ok".into()
    } else {
        FAILED.store(true, Ordering::SeqCst);
        format!("MISMATCH 202s={expected} raw rows={}", total(&raw))
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n = env_usize("BENCH_EVENTS", 200_000);
    let peer_n = env_usize("BENCH_PEER_EVENTS", 20_000);
    let levels: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "64,256".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("bench-client")
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
    let visitors = MIN_VISITORS.max(n.div_ceil(PER_VISITOR));
    let peer_visitors = MIN_VISITORS.max(peer_n.div_ceil(PER_VISITOR));
    // Every run takes visitors no earlier run used ("fresh visitors").
    let next_visitor = AtomicU32::new(1);
    let fresh = |count: usize| {
        let first = next_visitor.fetch_add(count as u32, Ordering::Relaxed);
        first..first + count as u32
    };

    let mut rows = Vec::new();
    let mut cpu_notes = Vec::new();
    for (name, url) in backends {
        let sub = tempfile::tempdir().unwrap();
        let server = start(&url, sub.path());
        let fx = &server.fx;
        let (slug, peer_slug): (Arc<str>, Arc<str>) =
            (fx.slug.clone().into(), fx.peer_slug.clone().into());
        let acked = Arc::new(Acked::default());
        let endpoint = format!("{}/api/events", server.url);
        let peer_endpoint = format!("{}/peer/events", server.peer_url);
        // One beacon first: it starts the storefront's actor (on a server worker), so the
        // dashboard socket below has figures to show from the start.
        let warm = rt.block_on(load(
            endpoint.clone(),
            slug.clone(),
            1,
            fresh(1),
            1,
            1,
            acked.clone(),
        ));
        assert_eq!(
            warm.accepted,
            1,
            "warm-up beacon refused: {}",
            warm.rejected()
        );
        // The owner watches the storefront's dashboard: every frame's page views today.
        let frames: common::Frames = Arc::default();
        let watcher = rt.block_on(common::watch_topic(
            &server.url,
            Some(&fx.owner_token),
            &format!("dashboard:{}", fx.sf),
            "/today/pageviews",
            frames.clone(),
        ));
        let mut peer_accepted = 0usize;
        for &c in &levels {
            let mut run_rates = Vec::new();
            for (mech, label, batch) in [
                ("livedrop actor", "new visitors", 1),
                ("livedrop actor", "fresh visitors again", 1),
                ("livedrop actor, arrays of 20", "fresh visitors", 20),
            ] {
                reset_peak();
                let rss_before = status_mib("VmRSS");
                let cpu = CpuMeter::start();
                let o = rt.block_on(load(
                    endpoint.clone(),
                    slug.clone(),
                    n,
                    fresh(visitors),
                    c,
                    batch,
                    acked.clone(),
                ));
                let cpu_used = cpu.report();
                rt.block_on(async { tokio::time::sleep(SETTLE).await });
                let (fr, missed) = common::freshness(&o.probes, &frames.lock().unwrap());
                let (rss_after, rss_peak) = (status_mib("VmRSS"), status_mib("VmHWM"));
                let verdict = rt.block_on(check(&server.state, fx.sf, &acked));
                // What the actor re-reads after every flush, and every second while a
                // dashboard watches: its cost as today's events pile up.
                let reload = rt.block_on(async {
                    let t0 = Instant::now();
                    model::live(&server.state.store, fx.sf, now())
                        .await
                        .unwrap();
                    t0.elapsed().as_secs_f64() * 1000.0
                });
                let rate = o.accepted as f64 / o.secs;
                run_rates.push(rate);
                let fresh_cell = common::freshness_cell(&fr, missed, o.probes.len());
                eprintln!(
                    "{name} {c} clients, {label}: {rate:.0} events/s, non-202 {}, check {verdict}",
                    o.rejected()
                );
                cpu_notes.push(format!(
                    "{name}, {c} clients, {label} ({:.1} s wall): {cpu_used}; then `live()` \
                     (the actor's re-read) took {reload:.0} ms with {} events today",
                    o.secs,
                    acked.events.load(Ordering::SeqCst)
                ));
                rows.push(format!(
                    "| {name} | {mech}, {label} | {c} | {n} | {rate:.0} | {:.1} | {:.1} | {} | {} | {fresh_cell} | {rss_before:.0} → {rss_after:.0} (peak {rss_peak:.0}) | {verdict} |",
                    o.p50_ms,
                    o.p99_ms,
                    o.accepted,
                    o.rejected(),
                ));
            }
            let cpu = CpuMeter::start();
            let o = rt.block_on(load(
                peer_endpoint.clone(),
                peer_slug.clone(),
                peer_n,
                fresh(peer_visitors),
                c,
                1,
                Arc::new(Acked::default()),
            ));
            let cpu_used = cpu.report();
            peer_accepted += o.accepted;
            let verdict = rt.block_on(check_peer(&server.state.store, fx.peer_sf, peer_accepted));
            let rate = o.accepted as f64 / o.secs;
            eprintln!(
                "{name} {c} clients, INSERT per beacon: {rate:.0} events/s, non-202 {}, check {verdict}",
                o.rejected()
            );
            cpu_notes.push(format!(
                "{name}, {c} clients, INSERT per beacon ({:.1} s wall): {}",
                o.secs, cpu_used
            ));
            rows.push(format!(
                "| {name} | INSERT per beacon, tx each | {c} | {peer_n} | {rate:.0} | {:.1} | {:.1} | {} | {} | — | — | {verdict} |",
                o.p50_ms,
                o.p99_ms,
                o.accepted,
                o.rejected(),
            ));
            rows.push(format!(
                "| {name} | ratio livedrop / INSERT per beacon | {c} | | {:.1}× | | | | | | | |",
                run_rates[0] / rate.max(1e-9)
            ));
        }
        // Close the socket: a watched storefront re-reads its figures every second, which
        // would otherwise go on costing CPU during the next store's runs.
        watcher.abort();
    }
    println!(
        "analytics events: {n} beacons per run ({visitors} visitors, ≤ {PER_VISITOR} each), \
         peer {peer_n}; HTTP keep-alive; clients in this process on the same {} cores as the server",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "freshness: every {} ms, the time until a dashboard frame shows every page view \
         acknowledged by then (p50 / p99 / max ms); RSS of the whole process (server and clients) \
         before → after each run, settled, and its peak during the run",
        PROBE_EVERY.as_millis()
    );
    println!();
    println!("| store | mechanism | clients | events | events/s | p50 ms | p99 ms | 202 | non-202 | freshness ms p50 / p99 / max | RSS MiB before → after | count check |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!();
    println!("CPU seconds by thread during each run (`actix-rt|system` = server worker arbiters, `bench-client` = the clients, `tokio-rt-worker` = blocking pool):");
    for note in cpu_notes {
        println!("- {note}");
    }
    if std::sync::atomic::AtomicBool::load(&FAILED, Ordering::SeqCst) {
        eprintln!("analytics events: a count check failed (see the table)");
        std::process::exit(1);
    }
}
