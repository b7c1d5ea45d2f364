//! Fan-out: N sockets watch one drop; holds change its stock; how long until every watcher
//! has the new state? Measures, for N = 1,000 / 10,000 / 19,000 (one process may hold at
//! most 20,000 sockets here, so the watchers live in a client process of their own):
//! connections per second, server memory per socket, and the delay from the hold request
//! to each socket's receipt of the update (p50, p99, max), plus any update a socket missed.
//!
//! Then, with Postgres and Redis reachable (`BENCH_PG_URL`, `REDIS_URL`), two livedrop
//! nodes on one Postgres and one Redis: the watchers on node B, the holds on node A, so
//! each update crosses Redis (`FANOUT_TWO_NODES` sizes, default 10000 or the largest of
//! `FANOUT_SIZES` if smaller; empty to skip).
//!
//! Run: `cargo bench --bench fanout` (`FANOUT_SIZES=1000,10000` to choose sizes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use livedrop::auth::{JwtKeys, Role};
use livedrop::config::Config;
use livedrop::state::AppState;
use serde_json::{json, Value};

const SECRET: &str = "bench-secret-bench-secret-bench-secret-00";
/// Holds made per size; each one is a state change every watcher must see.
const CHANGES: usize = 30;
/// Spacing of the changes: above the 50 ms push interval, so no change is coalesced away.
const SPACING: Duration = Duration::from_millis(150);

fn epoch_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn rss_kib(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The watcher process: connect N sockets, subscribe, report ready, record every update's
/// receipt until told to stop, then print `remaining receipt_us` lines.
fn client() {
    let url = std::env::var("FANOUT_URL").unwrap();
    let topic = std::env::var("FANOUT_TOPIC").unwrap();
    let n: usize = std::env::var("FANOUT_N").unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let started = Instant::now();
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(256));
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let (url, topic, ready, mut stop, gate) = (url.clone(), topic.clone(), ready_tx.clone(), stop_rx.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                let permit = gate.acquire_owned().await.unwrap();
                let (mut ws, _) = loop {
                    match tokio_tungstenite::connect_async(url.as_str()).await {
                        Ok(x) => break x,
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                };
                ws.send(tokio_tungstenite::tungstenite::Message::text(
                    json!({"op": "subscribe", "topic": topic}).to_string(),
                ))
                .await
                .unwrap();
                let mut seen = Vec::new();
                let mut permit = Some(permit);
                loop {
                    tokio::select! {
                        msg = ws.next() => {
                            let Some(Ok(msg)) = msg else { break };
                            let t = epoch_us();
                            let tokio_tungstenite::tungstenite::Message::Text(text) = msg else { continue };
                            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                            match v["type"].as_str() {
                                Some("snapshot") => {
                                    drop(permit.take());
                                    let _ = ready.send(());
                                }
                                Some("update") => {
                                    if let Some(r) = v["data"]["variants"][0]["remaining"].as_i64() {
                                        seen.push((r, t));
                                    }
                                }
                                _ => {}
                            }
                        }
                        _ = stop.changed() => break,
                    }
                }
                seen
            }));
        }
        drop(ready_tx);
        for _ in 0..n {
            ready_rx.recv().await.unwrap();
        }
        println!("ready {:.3}", started.elapsed().as_secs_f64());
        std::io::stdout().flush().unwrap();
        let mut line = String::new();
        tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await.unwrap().unwrap();
        stop_tx.send(true).unwrap();
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for t in tasks {
            for (r, at) in t.await.unwrap() {
                writeln!(out, "{r} {at}").unwrap();
            }
        }
        writeln!(out, "done").unwrap();
    });
}

/// The watcher counts of the one-node runs (`FANOUT_SIZES`).
fn fanout_sizes() -> Vec<usize> {
    std::env::var("FANOUT_SIZES")
        .unwrap_or_else(|_| "1000,10000,19000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// livedrop's worker threads (`FANOUT_WORKERS`, default 2: one per core here).
fn workers() -> usize {
    std::env::var("FANOUT_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(2)
}

fn start_server(dir: &std::path::Path) -> (String, AppState) {
    let (tx, rx) = std::sync::mpsc::channel();
    let env = [
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("fanout.db").display()),
        ),
        ("DATA_DIR", dir.display().to_string()),
        ("JWT_SECRET", SECRET.to_string()),
        ("RATE_LIMITS", "off".to_string()),
        ("SEED_DEMO", "false".to_string()),
    ];
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let config =
                Config::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
                    .unwrap();
            let state = livedrop::server::prepare(config, true).await.unwrap();
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", l.local_addr().unwrap());
            let server = livedrop::server::serve(state.clone(), l, workers()).unwrap();
            tx.send((url, state)).unwrap();
            let _ = server.await;
        });
    });
    rx.recv().unwrap()
}

async fn setup(url: &str, state: &AppState) -> (String, String, Vec<String>) {
    let keys = JwtKeys::new(SECRET.as_bytes());
    let token = |id, role| {
        keys.issue(id, role, true, chrono::Utc::now().timestamp() + 7200)
            .unwrap()
    };
    let creator = livedrop::demo::account(&state.store, Role::Creator)
        .await
        .unwrap();
    let creator_token = token(creator.id, Role::Creator);
    let (sf, p) = livedrop::demo::shop(&state.store, creator.id)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{url}/api/drops"))
        .bearer_auth(&creator_token)
        .json(&json!({"storefront_id": sf, "product_id": p, "title": "Fanout", "price_cents": 100, "currency": "USD",
            "variants": [{"name": "A", "stock": 1_000_000}], "opens_at": chrono::Utc::now(), "waiting_room_seconds": 0,
            "per_buyer_limit": 100, "hold_seconds": 3600}))
        .send().await.unwrap().json().await.unwrap();
    let drop = created["id"].as_str().unwrap().to_string();
    let variant = created["variants"][0]["id"].as_str().unwrap().to_string();
    http.post(format!("{url}/api/drops/{drop}/publish"))
        .bearer_auth(&creator_token)
        .send()
        .await
        .unwrap();
    let buyer = livedrop::demo::account(&state.store, Role::Buyer)
        .await
        .unwrap();
    (drop, variant, vec![token(buyer.id, Role::Buyer)])
}

/// What the watchers connect to, and how to make one change there.
enum Target {
    Livedrop {
        /// Where the changes are made.
        url: String,
        /// Where the watchers connect (another node's URL in the two-node run).
        ws: String,
        drop: String,
        variant: String,
        token: String,
    },
    Node {
        url: String,
        pid: u32,
    },
}

impl Target {
    fn ws_url(&self) -> String {
        match self {
            Target::Livedrop { ws, .. } => format!("{}/ws", ws.replace("http://", "ws://")),
            Target::Node { url, .. } => url.replace("http://", "ws://"),
        }
    }

    fn topic(&self) -> String {
        match self {
            Target::Livedrop { drop, .. } => format!("drop:{drop}"),
            Target::Node { .. } => "drop:peer".into(),
        }
    }

    /// The server's resident memory, KiB.
    fn rss(&self) -> u64 {
        match self {
            Target::Livedrop { .. } => rss_kib("/proc/self/status"),
            Target::Node { pid, .. } => rss_kib(&format!("/proc/{pid}/status")),
        }
    }

    /// Make one change; returns the remaining count it produced.
    fn change(&self, rt: &tokio::runtime::Runtime, http: &reqwest::Client) -> Option<i64> {
        rt.block_on(async {
            match self {
                Target::Livedrop {
                    url,
                    drop,
                    variant,
                    token,
                    ..
                } => {
                    let r = http
                        .post(format!("{url}/api/drops/{drop}/holds"))
                        .bearer_auth(token)
                        .json(&json!({"variant_id": variant, "quantity": 1}))
                        .send()
                        .await
                        .ok()?;
                    if r.status().as_u16() != 201 {
                        return None;
                    }
                    let s: Value = http
                        .get(format!("{url}/api/drops/{drop}"))
                        .send()
                        .await
                        .ok()?
                        .json()
                        .await
                        .ok()?;
                    s["variants"][0]["remaining"].as_i64()
                }
                Target::Node { url, .. } => {
                    let v: Value = http
                        .post(format!("{url}/change"))
                        .send()
                        .await
                        .ok()?
                        .json()
                        .await
                        .ok()?;
                    v["remaining"].as_i64()
                }
            }
        })
    }
}

fn measure(
    name: &str,
    target: &Target,
    n: usize,
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
) -> Result<(), String> {
    let base = target.rss();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("FANOUT_ROLE", "client")
        .env("FANOUT_URL", target.ws_url())
        .env("FANOUT_TOPIC", target.topic())
        .env("FANOUT_N", n.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let connect_secs: f64 = line.trim().strip_prefix("ready ").unwrap().parse().unwrap();
    let per_socket = target.rss().saturating_sub(base) as f64 / n as f64;
    let mut sent = std::collections::HashMap::new();
    for _ in 0..CHANGES {
        let t = epoch_us();
        if let Some(r) = target.change(rt, http) {
            sent.insert(r, t);
        }
        std::thread::sleep(SPACING);
    }
    std::thread::sleep(Duration::from_millis(500));
    writeln!(child.stdin.as_mut().unwrap(), "stop").unwrap();
    let mut delays = Vec::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 || line.trim() == "done" {
            break;
        }
        let mut it = line.split_whitespace();
        let (r, at): (i64, u64) = (
            it.next().unwrap().parse().unwrap(),
            it.next().unwrap().parse().unwrap(),
        );
        if let Some(t) = sent.get(&r) {
            delays.push(at.saturating_sub(*t));
        }
    }
    child.wait().unwrap();
    delays.sort_unstable();
    let pct = |p: f64| {
        delays
            .get(((delays.len() as f64 * p) as usize).min(delays.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let expected = sent.len() * n;
    println!(
        "| {name} | {n} | {:.0} | {per_socket:.1} | {:.1} | {:.1} | {:.1} | {} |",
        n as f64 / connect_secs,
        pct(0.5),
        pct(0.99),
        delays.last().copied().unwrap_or(0) as f64 / 1000.0,
        expected.saturating_sub(delays.len())
    );
    // The check: every change was made, and every socket received every one.
    let failed = CHANGES - sent.len();
    let missed = expected.saturating_sub(delays.len());
    if failed > 0 || missed > 0 {
        return Err(format!(
            "{name} at {n} watchers: {failed} of {CHANGES} changes failed, {missed} updates missed"
        ));
    }
    Ok(())
}

fn main() {
    if std::env::var("FANOUT_ROLE").as_deref() == Ok("client") {
        return client();
    }
    let sizes = fanout_sizes();
    let dir = tempfile::tempdir().unwrap();
    let (url, state) = start_server(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // One buyer makes every change: 30 per size stays under the per-buyer limit of 100.
    let (drop, variant, tokens) = rt.block_on(setup(&url, &state));
    let http = reqwest::Client::new();
    let ours = Target::Livedrop {
        ws: url.clone(),
        url,
        drop,
        variant,
        token: tokens[0].clone(),
    };

    let node_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/node");
    let mut node = if node_dir.join("node_modules/ws").exists() {
        Command::new("node")
            .arg(node_dir.join("ws-broadcast.mjs"))
            .stdout(Stdio::piped())
            .spawn()
            .ok()
    } else {
        eprintln!("peer not measured: run `npm ci` in benches/node first");
        None
    };
    let peer = node.as_mut().map(|c| {
        let mut line = String::new();
        BufReader::new(c.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("listening ").unwrap().to_string();
        Target::Node {
            url: format!("http://127.0.0.1:{port}"),
            pid: c.id(),
        }
    });

    println!("fan-out: {CHANGES} changes {} ms apart; watchers in a separate process; delay from the change request to receipt", SPACING.as_millis());
    println!();
    println!("| server | watchers | connects/s | server KiB per socket | p50 ms | p99 ms | max ms | missed |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut problems = Vec::new();
    for &n in &sizes {
        problems.extend(measure("livedrop (worker writers)", &ours, n, &rt, &http).err());
        if let Some(p) = &peer {
            problems.extend(measure("node ws broadcast", p, n, &rt, &http).err());
        }
    }
    if let Some(mut c) = node {
        let _ = c.kill();
    }
    problems.extend(two_nodes(&rt, &http));
    if !problems.is_empty() {
        eprintln!("fan-out check failed:\n{}", problems.join("\n"));
        std::process::exit(1);
    }
}

/// The two-node run: node A takes the holds, node B serves the watchers; each update
/// reaches B through Redis. Skipped (and said so) without Postgres or Redis.
fn two_nodes(rt: &tokio::runtime::Runtime, http: &reqwest::Client) -> Vec<String> {
    // Default: 10,000 watchers, or the largest of `FANOUT_SIZES` when that is smaller (a
    // smoke run in a debug build asks for a few hundred).
    let default = fanout_sizes()
        .into_iter()
        .max()
        .unwrap_or(10_000)
        .min(10_000);
    let sizes: Vec<usize> = std::env::var("FANOUT_TWO_NODES")
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if sizes.is_empty() {
        return Vec::new();
    }
    let base = common::pg_base();
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let Some(db) = rt.block_on(common::fresh_pg_database(&base, "fanout")) else {
        eprintln!("two-node run skipped: no Postgres at {base}");
        return Vec::new();
    };
    let dir = tempfile::tempdir().unwrap();
    let env = |name: &str| {
        let mut env = common::bench_env(&db, &dir.path().join(name), SECRET);
        env.push(("REDIS_URL".into(), redis.clone()));
        env.push(("PAYMENT_PROVIDER".into(), "test".into()));
        env
    };
    let a = common::start_node(env("a"), Some(2), |_| Vec::new());
    let b = common::start_node(env("b"), Some(2), |_| Vec::new());
    let (drop, variant, tokens) = rt.block_on(setup(a.url(), &a.state));
    let target = Target::Livedrop {
        url: a.url().to_string(),
        ws: b.url().to_string(),
        drop,
        variant,
        token: tokens[0].clone(),
    };
    let mut problems = Vec::new();
    for n in sizes {
        problems.extend(
            measure(
                "livedrop, 2 nodes (watchers on B, holds on A, Redis)",
                &target,
                n,
                rt,
                http,
            )
            .err(),
        );
    }
    a.stop();
    b.stop();
    rt.block_on(common::drop_pg_database(&base, &db));
    problems
}
