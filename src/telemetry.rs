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

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
}

impl Metrics {
    /// Record one finished request. `route` is the matched pattern (`/api/storefronts/{id}`),
    /// never the raw path, so the number of series stays bounded.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let s = routes
            .entry((method.to_string(), route.to_string()))
            .or_default();
        *s.by_status.entry(status).or_default() += 1;
        if s.buckets.is_empty() {
            s.buckets = vec![0; BUCKETS.len()];
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                s.buckets[i] += 1;
            }
        }
        s.sum += seconds;
        s.count += 1;
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
        let Ok(routes) = self.routes.lock() else {
            return out;
        };
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
        drop(routes);
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
