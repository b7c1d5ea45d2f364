//! Liveness, readiness and metrics.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::error::AppResult;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct HealthView {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = HealthView)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthView { status: "ok" })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReadyView {
    pub status: &'static str,
    pub store: &'static str,
    pub pending_migrations: usize,
}

/// The node can serve: the store answers and has every migration this binary needs.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = ReadyView), (status = 503, description = "store unreachable or migrations pending")))]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state.store.ping().await?;
    let pending = crate::db::migrations::pending_count(&state.store).await?;
    let view = ReadyView {
        status: if pending == 0 {
            "ready"
        } else {
            "migrations_pending"
        },
        store: state.store.backend(),
        pending_migrations: pending,
    };
    Ok(if pending == 0 {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::ServiceUnavailable().json(view)
    })
}

/// Prometheus text: requests by route and status, latency histogram, pool use.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", body = String),
        (status = 401, description = "`unauthorized`: not the metrics token"),
        (status = 404, description = "`not_found`: no `METRICS_TOKEN` configured")))]
pub async fn metrics(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, crate::error::AppError> {
    // Served only with the configured token (compared in constant time); without one
    // configured, not at all.
    let Some(expected) = state.config.metrics_token.as_deref() else {
        return Err(crate::error::AppError::NotFound);
    };
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let same = presented.len() == expected.len()
        && presented
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(crate::error::AppError::Unauthorized(
            "the metrics token is needed",
        ));
    }
    let mut body = state
        .metrics
        .render(state.store.pool_status(), state.store.backend());
    body.push_str(&drop_metrics());
    // Read from the store, so every node reports the cluster's queue; left out when the
    // store does not answer (the pool and request figures still say so).
    if let Ok(queued) = state.mail_queue.depth().await {
        body.push_str(&format!(
            "# HELP livedrop_mail_queued Mails accepted and not yet taken by the relay.\n\
             # TYPE livedrop_mail_queued gauge\n\
             livedrop_mail_queued {queued}\n"
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body))
}

/// The drop actors' figures: batches written, holds in them, batches the store decided
/// (stale memory, or no lease), and how many drops' write leases this node holds.
fn drop_metrics() -> String {
    use crate::actors::drop::stats;
    let (batches, holds, _, slow) = stats::snapshot();
    let leases = stats::leases();
    format!(
        "# HELP livedrop_hold_batches_total Hold batches written by drop actors.\n\
         # TYPE livedrop_hold_batches_total counter\n\
         livedrop_hold_batches_total {batches}\n\
         # HELP livedrop_hold_batch_holds_total Holds carried by those batches.\n\
         # TYPE livedrop_hold_batch_holds_total counter\n\
         livedrop_hold_batch_holds_total {holds}\n\
         # HELP livedrop_hold_batches_slow_total Batches decided by the store (stale memory, or another node holds the drop's lease).\n\
         # TYPE livedrop_hold_batches_slow_total counter\n\
         livedrop_hold_batches_slow_total {slow}\n\
         # HELP livedrop_drop_leases Drops whose write lease this node holds.\n\
         # TYPE livedrop_drop_leases gauge\n\
         livedrop_drop_leases {leases}\n"
    )
}
