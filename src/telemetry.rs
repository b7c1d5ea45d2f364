//! Logs and metrics.
//!
//! Logs go through `tracing` (JSON with `LOG_FORMAT=json`); every request gets an id
//! (`X-Request-Id`, taken from the client when it sends a sane one) that tags its log lines.
//! Metrics are kept in a few atomics and maps and rendered in Prometheus text format.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,diesel=warn"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    // try_init: tests start many servers in one process.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Latency histogram bucket upper bounds, in seconds (Prometheus' defaults, plus 1 ms and
/// 2.5 ms because most of our requests finish below 5 ms).
pub const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl RouteStats {
    fn record(&mut self, status: u16, seconds: f64) {
        *self.by_status.entry(status).or_default() += 1;
        if self.buckets.is_empty() {
            self.buckets = vec![0; BUCKETS.len()];
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                self.buckets[i] += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn add(&mut self, other: &RouteStats) {
        for (status, n) in &other.by_status {
            *self.by_status.entry(*status).or_default() += n;
        }
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (i, n) in other.buckets.iter().enumerate() {
            self.buckets[i] += n;
        }
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// Request counters, sharded: each worker thread writes to the shard it was given the first
/// time it recorded, so recording takes an uncontended lock instead of one global lock
/// every request in the process queues on. `/metrics` merges the shards.
pub struct Metrics {
    shards: Vec<Mutex<Routes>>,
}

/// Method → route pattern → stats. Looked up with borrowed strings, so a request to a
/// series that exists allocates nothing.
type Routes = BTreeMap<String, BTreeMap<String, RouteStats>>;

/// Enough shards that two workers rarely share one on the machines we run on.
const SHARDS: usize = 16;

thread_local! {
    /// This thread's shard index (the same for every `Metrics` in the process).
    static SHARD: usize = {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % SHARDS
    };
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            shards: (0..SHARDS).map(|_| Mutex::new(Routes::new())).collect(),
        }
    }
}

impl Metrics {
    /// Record one finished request. `route` is the matched pattern (`/api/storefronts/{id}`),
    /// never the raw path, so the number of series stays bounded.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let shard = SHARD.with(|s| *s);
        let Some(Ok(mut routes)) = self.shards.get(shard).map(|m| m.lock()) else {
            return;
        };
        let by_route = match routes.get_mut(method) {
            Some(r) => r,
            None => routes.entry(method.to_string()).or_default(),
        };
        let s = match by_route.get_mut(route) {
            Some(s) => s,
            None => by_route.entry(route.to_string()).or_default(),
        };
        s.record(status, seconds);
    }

    /// Every shard's counts, merged.
    fn merged(&self) -> BTreeMap<(String, String), RouteStats> {
        let mut all: BTreeMap<(String, String), RouteStats> = BTreeMap::new();
        for shard in &self.shards {
            let Ok(routes) = shard.lock() else { continue };
            for (m, by_route) in routes.iter() {
                for (r, s) in by_route {
                    all.entry((m.clone(), r.clone())).or_default().add(s);
                }
            }
        }
        all
    }

    /// Prometheus text exposition format.
    pub fn render(&self, pool: (usize, usize, usize), backend: &str) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP livedrop_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE livedrop_http_requests_total counter");
        let routes = self.merged();
        for ((m, r), s) in routes.iter() {
            for (status, n) in &s.by_status {
                let _ = writeln!(
                    out,
                    "livedrop_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(r)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP livedrop_http_request_duration_seconds HTTP request latency."
        );
        let _ = writeln!(
            out,
            "# TYPE livedrop_http_request_duration_seconds histogram"
        );
        for ((m, r), s) in routes.iter() {
            let labels = format!("method=\"{m}\",route=\"{}\"", escape(r));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "livedrop_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    s.buckets.get(i).copied().unwrap_or(0)
                );
            }
            let _ = writeln!(
                out,
                "livedrop_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "livedrop_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "livedrop_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        let (used, idle, max) = pool;
        let _ = writeln!(
            out,
            "# HELP livedrop_db_pool_connections Store pool connections by state."
        );
        let _ = writeln!(out, "# TYPE livedrop_db_pool_connections gauge");
        let _ = writeln!(
            out,
            "livedrop_db_pool_connections{{backend=\"{backend}\",state=\"in_use\"}} {used}"
        );
        let _ = writeln!(
            out,
            "livedrop_db_pool_connections{{backend=\"{backend}\",state=\"idle\"}} {idle}"
        );
        let _ = writeln!(
            out,
            "livedrop_db_pool_connections{{backend=\"{backend}\",state=\"max\"}} {max}"
        );
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
