use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::readable;
use crate::auth::AuthUser;
use crate::db::models::analytics::{self as model, EventRow, Range, Report};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
pub struct RangeQuery {
    /// `24h` (hourly series, the default), `7d` or `30d` (daily series).
    #[param(value_type = Option<Range>)]
    pub range: Option<String>,
}

fn range_of(q: &RangeQuery) -> AppResult<Range> {
    match q.range.as_deref() {
        None => Ok(Range::Day),
        Some(r) => {
            Range::parse(r).ok_or_else(|| AppError::BadRequest("range is 24h, 7d or 30d".into()))
        }
    }
}

/// A storefront's analytics over a range, from the rollups: unique visitors (bots
/// apart), page views, clicks, the funnel, revenue, top pages, referrers and campaigns,
/// and a series per hour (24h) or day (7d, 30d). Owner or admin.
#[utoipa::path(get, path = "/api/storefronts/{id}/analytics", tag = "analytics", security(("bearer" = [])),
    params(("id" = String, Path), RangeQuery),
    responses((status = 200, body = Report), (status = 400, description = "`bad_request`: unknown range"),
        (status = 404, description = "`not_found`: no such storefront, or not yours")))]
pub async fn report(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<RangeQuery>,
) -> AppResult<HttpResponse> {
    let range = range_of(&q)?;
    let sf = readable(&state, &who, &id).await?;
    let r = model::report(&state.store, sf.id, range, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// The same report's series as CSV (one row per hour or day), for spreadsheets.
#[utoipa::path(get, path = "/api/storefronts/{id}/analytics.csv", tag = "analytics", security(("bearer" = [])),
    params(("id" = String, Path), RangeQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, description = "`bad_request`: unknown range"),
        (status = 404, description = "`not_found`")))]
pub async fn csv(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<RangeQuery>,
) -> AppResult<HttpResponse> {
    let range = range_of(&q)?;
    let sf = readable(&state, &who, &id).await?;
    let r = model::report(&state.store, sf.id, range, state.clock.now()).await?;
    let mut out = String::from(
        "bucket,visitors,pageviews,clicks,holds,checkouts,purchases,revenue_cents,bots\n",
    );
    for p in &r.series {
        let c = p.counts;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            p.bucket.format("%Y-%m-%dT%H:%M:%SZ"),
            p.visitors,
            c.pageviews,
            c.clicks,
            c.holds,
            c.checkouts,
            c.purchases,
            c.revenue_cents,
            c.bots
        ));
    }
    let name = format!(
        "{}-analytics-{}.csv",
        sf.slug,
        q.range.as_deref().unwrap_or("24h")
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(out))
}

/// The most raw events an export carries (the newest); older ones live on in rollups.
pub const EXPORT_EVENTS: i64 = 100_000;

/// One raw event in an export.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedEvent {
    pub at: chrono::DateTime<chrono::Utc>,
    pub kind: String,
    /// The day's visitor id (a hash; it changes every day).
    pub visitor: String,
    pub path: String,
    pub referrer: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub device: String,
    pub country: String,
    pub bot: bool,
    pub amount_cents: i64,
    /// How many events this row stands for: 1, except a drop's holds, recorded as one row
    /// per drop and minute between two hand-overs (every 50 ms).
    pub count: i64,
}

impl From<EventRow> for ExportedEvent {
    fn from(e: EventRow) -> Self {
        ExportedEvent {
            at: e.at.and_utc(),
            kind: e.kind,
            visitor: if e.visitor == 0 {
                String::new()
            } else {
                format!("{:016x}", e.visitor)
            },
            path: e.path,
            referrer: e.referrer,
            utm_source: e.utm_source,
            utm_medium: e.utm_medium,
            utm_campaign: e.utm_campaign,
            device: e.device,
            country: e.country,
            bot: e.bot,
            amount_cents: e.amount_cents,
            count: e.count,
        }
    }
}

/// A storefront's analytics export: the 30-day report and the raw events.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyticsExport {
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub report: Report,
    /// Newest first, at most 100,000.
    pub events: Vec<ExportedEvent>,
}

/// Export everything the store keeps about a storefront's traffic (owner or admin).
#[utoipa::path(get, path = "/api/storefronts/{id}/analytics/export", tag = "analytics", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AnalyticsExport), (status = 404, description = "`not_found`")))]
pub async fn export(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let sf = readable(&state, &who, &id).await?;
    // What was counted a moment ago is written first, so the export is complete.
    state.registry.flush_analytics(sf.id).await?;
    let now = state.clock.now();
    let report = model::report(&state.store, sf.id, Range::Month, now).await?;
    let events = model::events(&state.store, sf.id, EXPORT_EVENTS).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{}-analytics.json\"", sf.slug),
        ))
        .json(AnalyticsExport {
            exported_at: now.and_utc(),
            report,
            events: events.into_iter().map(ExportedEvent::from).collect(),
        }))
}
