//! Parts the HTTP benches share: a load generator that runs in a process of its own (the
//! bench binary started again with [`CLIENT_ENV`] set), a minimal HTTP/1.1 keep-alive
//! client for it, latency percentiles, starting livedrop (or a bare server with an
//! `AppState`) in an actix System of its own, fresh Postgres databases, and a socket that
//! watches a topic during a load, for the freshness of what it shows.
//!
//! Use from a bench with `#[path = "common/mod.rs"] mod common;` and, first thing in
//! `main`, `if common::client_main() { return; }`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use futures_util::{SinkExt, StreamExt};
use livedrop::config::Config;
use livedrop::db::Store;
use livedrop::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

// ---------------------------------------------------------------------------------------
// Load generator, in its own process
// ---------------------------------------------------------------------------------------

/// Set (to anything) in the environment of the client process; its one argument is the
/// [`LoadSpec`] as JSON.
pub const CLIENT_ENV: &str = "BENCH_LOAD_CLIENT";

/// What the client process does: `concurrency` simulated clients, each on one keep-alive
/// connection, send the same request back to back for `secs` seconds.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct LoadSpec {
    /// Full URLs (`http://host:port/path`); client `i` uses `urls[i % urls.len()]`.
    pub urls: Vec<String>,
    pub method: String,
    /// One bearer token a line; request `k` of client `i` uses line
    /// `(i + k·concurrency) mod lines`. `None`: no `Authorization` header.
    pub tokens_file: Option<PathBuf>,
    pub content_type: String,
    pub body: String,
    pub concurrency: usize,
    pub secs: f64,
    /// The status that counts as a success; any other answer is an error.
    pub ok_status: u16,
}

impl LoadSpec {
    /// `POST` of a JSON body, `201` expected.
    pub fn post_json(urls: Vec<String>, tokens_file: Option<PathBuf>, body: String) -> Self {
        LoadSpec {
            urls,
            method: "POST".into(),
            tokens_file,
            content_type: "application/json".into(),
            body,
            concurrency: 16,
            secs: 5.0,
            ok_status: 201,
        }
    }
}

/// One load run as the client process measured it.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Outcome {
    pub ok: u64,
    pub errors: u64,
    /// From the first request to the last answer.
    pub secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Every answer by status; `0` for a connection error or a timeout.
    pub statuses: BTreeMap<u16, u64>,
    /// CPU the client process used (user + system), where `/proc` tells.
    pub client_cpu_secs: Option<f64>,
}

impl Outcome {
    /// Successes per second.
    pub fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.ok as f64 / self.secs
        } else {
            0.0
        }
    }

    /// The answers that were not successes, e.g. `409×3, conn×1`; empty when none.
    pub fn error_detail(&self, ok_status: u16) -> String {
        self.statuses
            .iter()
            .filter(|(s, _)| **s != ok_status)
            .map(|(s, n)| match s {
                0 => format!("conn×{n}"),
                s => format!("{s}×{n}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Run `spec` in a new process (this executable again, with [`CLIENT_ENV`] set) and wait
/// for its result. Panics when the client fails.
pub fn run_load(spec: &LoadSpec) -> Outcome {
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe)
        .env(CLIENT_ENV, "1")
        .arg(serde_json::to_string(spec).expect("spec"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("start the client process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "client process failed: {stdout}");
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no result from the client process: {stdout}"));
    serde_json::from_str(line).expect("client result")
}

/// In the client process (when [`CLIENT_ENV`] is set): run the load given as the first
/// argument, print its [`Outcome`] as one JSON line and return `true`. Otherwise `false`.
pub fn client_main() -> bool {
    if std::env::var_os(CLIENT_ENV).is_none() {
        return false;
    }
    let arg = std::env::args().nth(1).expect("a load spec as JSON");
    let spec: LoadSpec = serde_json::from_str(&arg).expect("load spec");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut outcome = rt.block_on(client(spec));
    outcome.client_cpu_secs = process_cpu_secs();
    println!("{}", serde_json::to_string(&outcome).expect("outcome"));
    true
}

struct Target {
    addr: SocketAddr,
    /// One complete request per token.
    requests: Vec<Vec<u8>>,
}

/// `http://host:port/path` → (address, `host:port`, path).
fn parse_url(url: &str) -> (SocketAddr, String, String) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("only http:// URLs: {url}"));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("cannot resolve {authority}"));
    (addr, authority.to_string(), path.to_string())
}

async fn client(spec: LoadSpec) -> Outcome {
    let tokens: Vec<String> = match &spec.tokens_file {
        Some(p) => std::fs::read_to_string(p)
            .expect("tokens file")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        None => Vec::new(),
    };
    let auths: Vec<String> = if tokens.is_empty() {
        vec![String::new()]
    } else {
        tokens
            .iter()
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .collect()
    };
    let targets: Vec<Arc<Target>> = spec
        .urls
        .iter()
        .map(|u| {
            let (addr, host, path) = parse_url(u);
            let requests = auths
                .iter()
                .map(|auth| {
                    format!(
                        "{} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: {}\r\nContent-Length: {}\r\n\r\n{}",
                        spec.method,
                        spec.content_type,
                        spec.body.len(),
                        spec.body
                    )
                    .into_bytes()
                })
                .collect();
            Arc::new(Target { addr, requests })
        })
        .collect();
    let concurrency = spec.concurrency.max(1);
    let timeout = Duration::from_secs_f64(spec.secs.max(10.0) + 10.0);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(spec.secs);
    let tasks: Vec<_> = (0..concurrency)
        .map(|i| {
            let target = targets[i % targets.len()].clone();
            tokio::spawn(simulated_client(target, i, concurrency, deadline, timeout))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for t in tasks {
        let (lat, st) = t.await.expect("client task");
        latencies.extend(lat);
        for (s, n) in st {
            *statuses.entry(s).or_default() += n;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let ok = statuses.get(&spec.ok_status).copied().unwrap_or(0);
    Outcome {
        ok,
        errors: statuses.values().sum::<u64>() - ok,
        secs,
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
        statuses,
        client_cpu_secs: None,
    }
}

/// One simulated client: one connection (reopened after an error), requests back to back.
async fn simulated_client(
    target: Arc<Target>,
    first: usize,
    step: usize,
    deadline: Instant,
    timeout: Duration,
) -> (Vec<u32>, BTreeMap<u16, u64>) {
    let mut lat = Vec::with_capacity(4096);
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut conn: Option<Conn> = None;
    let mut i = first;
    while Instant::now() < deadline {
        let req = &target.requests[i % target.requests.len()];
        i += step;
        let t0 = Instant::now();
        let answer = tokio::time::timeout(timeout, async {
            if conn.is_none() {
                conn = Some(Conn::open(target.addr).await?);
            }
            match conn.as_mut() {
                Some(c) => c.exchange(req).await,
                None => unreachable!(),
            }
        })
        .await;
        let status = match answer {
            Ok(Ok((status, keep_alive))) => {
                if !keep_alive {
                    conn = None;
                }
                status
            }
            _ => {
                conn = None;
                0
            }
        };
        lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
        *statuses.entry(status).or_default() += 1;
        if status == 0 {
            // Do not spin on a refused connection.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    (lat, statuses)
}

/// A keep-alive HTTP/1.1 connection: one request at a time, no pipelining.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(8192),
        })
    }

    /// Read more bytes into the buffer; an error at end of stream.
    async fn fill(&mut self) -> std::io::Result<()> {
        self.buf.reserve(4096);
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    async fn fill_to(&mut self, len: usize) -> std::io::Result<()> {
        while self.buf.len() < len {
            self.fill().await?;
        }
        Ok(())
    }

    /// Send a complete request, read the whole answer (body skipped). Returns the status
    /// and whether the connection stays open.
    pub async fn exchange(&mut self, request: &[u8]) -> std::io::Result<(u16, bool)> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(p) = find(&self.buf, b"\r\n\r\n") {
                break p;
            }
            self.fill().await?;
        };
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad response head");
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|_| bad())?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().ok_or_else(bad)?;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let (mut length, mut chunked) = (None, false);
        let mut keep_alive = !status_line.starts_with("HTTP/1.0");
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().map_err(|_| bad())?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    keep_alive = false;
                } else if v.contains("keep-alive") {
                    keep_alive = true;
                }
            }
        }
        let mut at = head_end + 4;
        if chunked {
            loop {
                let line_end = loop {
                    if let Some(p) = find(&self.buf[at..], b"\r\n") {
                        break at + p;
                    }
                    self.fill().await?;
                };
                let size_text = std::str::from_utf8(&self.buf[at..line_end]).map_err(|_| bad())?;
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| bad())?;
                at = line_end + 2;
                if size == 0 {
                    // Trailers (none expected) end with an empty line.
                    loop {
                        let end = loop {
                            if let Some(p) = find(&self.buf[at..], b"\r\n") {
                                break at + p;
                            }
                            self.fill().await?;
                        };
                        let empty = end == at;
                        at = end + 2;
                        if empty {
                            break;
                        }
                    }
                    break;
                }
                self.fill_to(at + size + 2).await?;
                at += size + 2;
            }
        } else if let Some(n) = length {
            self.fill_to(at + n).await?;
            at += n;
        } else if !(keep_alive || status < 200 || status == 204 || status == 304) {
            // The body runs to the end of the connection.
            loop {
                match self.fill().await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e),
                }
            }
            at = self.buf.len();
        }
        self.buf.drain(..at);
        Ok((status, keep_alive))
    }
}

/// The `p` quantile (0..=1) of latencies in microseconds, sorted, in milliseconds.
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 * p) as usize).min(sorted_us.len() - 1);
    sorted_us[i] as f64 / 1000.0
}

/// CPU this process has used so far (user + system), from `/proc/self/stat` (Linux).
pub fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces): state is the first,
    // utime the 12th, stime the 13th; in clock ticks, 100 a second on Linux.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let utime: f64 = f.nth(11)?.parse().ok()?;
    let stime: f64 = f.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

// ---------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------

/// The environment livedrop gets in the benches: no rate limits, no demo, quiet.
pub fn bench_env(database_url: &str, data_dir: &Path, jwt_secret: &str) -> Vec<(String, String)> {
    [
        ("DATABASE_URL", database_url.to_string()),
        ("DATA_DIR", data_dir.display().to_string()),
        ("JWT_SECRET", jwt_secret.to_string()),
        ("RATE_LIMITS", "off".to_string()),
        ("SEED_DEMO", "false".to_string()),
        ("DB_POOL_SIZE", "32".to_string()),
        ("RUST_LOG", "warn".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A listener on a free local port and its `http://` base URL.
pub fn bind() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", l.local_addr().expect("local addr"));
    (l, url)
}

/// Servers started in an actix System on a thread of their own.
pub struct Node {
    /// livedrop's own server, when asked for.
    pub url: Option<String>,
    /// The servers the `extra` closure started, in its order.
    pub extra_urls: Vec<String>,
    pub state: AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl Node {
    /// livedrop's base URL (panics when the node has no livedrop server).
    pub fn url(&self) -> &str {
        self.url.as_deref().expect("a node serving livedrop")
    }

    /// Stop its servers and its System (actors, janitor, pools opened there).
    pub fn stop(self) {
        let _ = self.stop.send(());
        drop(self.state);
        let _ = self.thread.join();
    }
}

/// Start a node in a System of its own with the configuration `env` gives.
///
/// With `livedrop_workers`, it is livedrop: `server::prepare` (migrating), every pooled
/// connection opened on the System's runtime (a SQLite connection does its blocking work
/// on the runtime it was opened on, a Postgres one runs its driver task there: opened
/// anywhere else, server work would be charged elsewhere), then `server::serve` with that
/// many workers. Without, only an `AppState` is built (nothing migrated, nothing served),
/// for handlers that need one, such as the `AuthUser` extractor. Either way `extra` may
/// start more servers with the state; it returns their base URLs and servers.
pub fn start_node<F>(env: Vec<(String, String)>, livedrop_workers: Option<usize>, extra: F) -> Node
where
    F: FnOnce(&AppState) -> Vec<(String, actix_web::dev::Server)> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("bench-node".into())
        .spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let config = Config::from_lookup(|k| {
                    env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
                })
                .expect("bench configuration");
                let mut handles = Vec::new();
                let (state, url) = match livedrop_workers {
                    Some(workers) => {
                        let state = livedrop::server::prepare(config, true)
                            .await
                            .expect("livedrop start-up");
                        warm_pool(&state.store).await;
                        let (l, url) = bind();
                        let server =
                            livedrop::server::serve(state.clone(), l, workers).expect("serve");
                        handles.push(server.handle());
                        actix_web::rt::spawn(server);
                        (state, Some(url))
                    }
                    None => (AppState::build(config).await.expect("app state"), None),
                };
                let mut extra_urls = Vec::new();
                for (u, server) in extra(&state) {
                    handles.push(server.handle());
                    actix_web::rt::spawn(server);
                    extra_urls.push(u);
                }
                tx.send((url, extra_urls, state)).expect("node handed over");
                let _ = stop_rx.await;
                for h in handles {
                    h.stop(false).await;
                }
            });
            // Dropping the System's runtime drops every task and actor left on it.
        })
        .expect("node thread");
    let (url, extra_urls, state) = rx.recv().expect("node start-up");
    Node {
        url,
        extra_urls,
        state,
        stop: stop_tx,
        thread,
    }
}

/// Open every connection the store's pools may hold, here.
async fn warm_pool(store: &Store) {
    let (_, _, max) = store.pool_status();
    let mut held = vec![store.write().await.expect("write connection")];
    while held.len() < max {
        held.push(store.read().await.expect("read connection"));
    }
}

// ---------------------------------------------------------------------------------------
// Postgres
// ---------------------------------------------------------------------------------------

/// `BENCH_PG_URL`, default `postgres://postgres@127.0.0.1:5432` (no database in it).
pub fn pg_base() -> String {
    std::env::var("BENCH_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Create an empty database `<prefix>_<random>` on the server at `base`; its URL, or
/// `None` when the server cannot be reached.
pub async fn fresh_pg_database(base: &str, prefix: &str) -> Option<String> {
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut admin = diesel_async::AsyncPgConnection::establish(&format!("{base}/postgres"))
        .await
        .ok()?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .ok()?;
    Some(format!("{base}/{name}"))
}

/// Drop a database [`fresh_pg_database`] made (best effort; Postgres 13+ for `FORCE`).
pub async fn drop_pg_database(base: &str, url: &str) {
    let Some(name) = url.rsplit('/').next() else {
        return;
    };
    if let Ok(mut admin) =
        diesel_async::AsyncPgConnection::establish(&format!("{base}/postgres")).await
    {
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

// ---------------------------------------------------------------------------------------
// Freshness: a socket watching a topic during a load
// ---------------------------------------------------------------------------------------

/// Every frame of a watched topic that carried the figure: when it arrived, the figure.
pub type Frames = Arc<Mutex<Vec<(Instant, i64)>>>;

/// Open a socket to `url`'s `/ws`, authenticate with `token` when given, subscribe to
/// `topic` and, until the returned task is aborted (which closes the socket), record every
/// snapshot or update frame whose `data` has an integer at `figure` (a JSON pointer, e.g.
/// `/entrants`). Returns once the server has acknowledged the subscription (the snapshot,
/// which comes before that acknowledgement, is recorded); panics when it is refused.
pub async fn watch_topic(
    url: &str,
    token: Option<&str>,
    topic: &str,
    figure: &str,
    frames: Frames,
) -> tokio::task::JoinHandle<()> {
    let ws_url = format!("{}/ws", url.replacen("http://", "ws://", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("socket to /ws");
    let figure = figure.to_string();
    // Records the frame when it carries the figure; its JSON either way.
    let record = move |at: Instant, text: &str| -> Value {
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        if v["type"] == "update" || v["type"] == "snapshot" {
            if let Some(n) = v["data"].pointer(&figure).and_then(Value::as_i64) {
                frames.lock().expect("frames").push((at, n));
            }
        }
        v
    };
    if let Some(token) = token {
        ws.send(Message::text(
            json!({"op": "auth", "token": token}).to_string(),
        ))
        .await
        .expect("auth sent");
        let text = loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => break text,
                Some(Ok(_)) => continue,
                other => panic!("socket closed before the auth answer: {other:?}"),
            }
        };
        let v: Value = serde_json::from_str(&text).expect("auth answer");
        assert_eq!(v["type"], "ack", "{v}");
    }
    ws.send(Message::text(
        json!({"op": "subscribe", "topic": topic}).to_string(),
    ))
    .await
    .expect("subscribe sent");
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let v = record(Instant::now(), &text);
                match v["type"].as_str() {
                    Some("ack") if v["op"] == "subscribe" => break,
                    Some("error") => panic!("subscription to {topic} refused: {v}"),
                    _ => {}
                }
            }
            Some(Ok(_)) => continue,
            other => panic!("socket closed before the subscription to {topic}: {other:?}"),
        }
    }
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let at = Instant::now();
            let Message::Text(text) = msg else { continue };
            let v = record(at, &text);
            if v["type"] == "error" {
                panic!("socket error frame: {v}");
            }
        }
    })
}

/// Wait until a frame has shown at least `target`, at most `limit`; whether one did.
pub async fn frame_shows(frames: &Frames, target: i64, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if frames
            .lock()
            .expect("frames")
            .iter()
            .any(|(_, n)| *n >= target)
        {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Freshness of each probe `(when, figure acknowledged by then)`: from its moment to the
/// first frame showing at least that figure (0 when a frame had already shown it), in
/// microseconds, sorted; also how many probes no frame satisfied.
pub fn freshness(probes: &[(Instant, i64)], frames: &[(Instant, i64)]) -> (Vec<u32>, usize) {
    let mut out = Vec::with_capacity(probes.len());
    let mut missed = 0;
    for &(t, target) in probes {
        match frames.iter().find(|(_, n)| *n >= target) {
            Some((at, _)) => out.push(
                at.saturating_duration_since(t)
                    .as_micros()
                    .min(u32::MAX as u128) as u32,
            ),
            None => missed += 1,
        }
    }
    out.sort_unstable();
    (out, missed)
}

/// A table cell for [`freshness`]'s result: `p50 / p99 / max` ms, and how many of the
/// `probes` no frame showed, if any.
pub fn freshness_cell(sorted_us: &[u32], missed: usize, probes: usize) -> String {
    format!(
        "{:.0} / {:.0} / {:.0}{}",
        percentile_ms(sorted_us, 0.50),
        percentile_ms(sorted_us, 0.99),
        sorted_us.last().copied().unwrap_or(0) as f64 / 1000.0,
        if missed > 0 {
            format!(" ({missed} of {probes} never shown)")
        } else {
            String::new()
        }
    )
}
