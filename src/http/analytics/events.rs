use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::actors::storefront::Tracked;
use crate::domain::analytics::{self as analytics, Event, Kind};
use crate::error::{AppError, AppResult};
use crate::http::auth::client_ip;
use crate::state::AppState;

/// The largest event body accepted. A page view with a long referrer and UTM tags is a
/// few hundred bytes.
pub const MAX_EVENT_BYTES: usize = 4096;
/// Longest referrer URL, UTM value and path read, in characters (longer ones are refused,
/// not cut).
const MAX_REFERRER: usize = 2048;
const MAX_UTM: usize = 256;
const MAX_PATH: usize = 1024;

/// A page's event, sent with `navigator.sendBeacon`. The visitor is derived from the
/// connection and the user agent, never sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventForm {
    /// The storefront's slug (or its id); white space around it is ignored.
    #[schema(max_length = 64, pattern = r"\S")]
    pub storefront: String,
    /// `pageview` or `click`.
    #[serde(rename = "type")]
    #[schema(value_type = EventType)]
    pub kind: String,
    /// The page's path (its query is dropped; UTM tags go in their own fields).
    #[schema(max_length = 1024, pattern = r"^/[^\u0000-\u001f\u007f-\u009f]*$")]
    pub path: String,
    /// `document.referrer`; only its host is kept.
    #[schema(max_length = 2048)]
    pub referrer: Option<String>,
    #[schema(max_length = 256, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub utm_source: Option<String>,
    #[schema(max_length = 256, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub utm_medium: Option<String>,
    #[schema(max_length = 256, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub utm_campaign: Option<String>,
}

/// What an event records.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documentation only: the form reads a string
pub enum EventType {
    Pageview,
    Click,
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code: "invalid_event",
        message: message.into(),
    }
}

fn utm(v: &Option<String>, name: &str) -> AppResult<String> {
    // Checked as sent (the document states the limits on the value sent), then trimmed.
    let v = v.as_deref().unwrap_or("");
    if v.chars().count() > MAX_UTM || v.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{name} is longer than {MAX_UTM} characters or has control characters"
        )));
    }
    Ok(v.trim().to_lowercase())
}

/// Record a page view or a link click. No cookies: the visitor is a hash of a daily salt,
/// the IP, the user agent and the storefront (README, "Analytics and privacy").
/// Answered once counted in memory; written to the store within a second.
#[utoipa::path(post, path = "/api/events", tag = "analytics", request_body = EventForm,
    responses((status = 202, description = "counted"),
        (status = 400, description = "`invalid_event` (malformed, unknown type, bad path) or `event_too_large`"),
        (status = 404, description = "`not_found`: no published storefront has this slug"),
        (status = 429, description = "`rate_limited`: this visitor sent too many events this minute"),
        (status = 503, description = "`service_unavailable`: events wait for the store")))]
pub async fn track(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> AppResult<HttpResponse> {
    // Read at most one byte past the limit: a huge body is refused without being buffered.
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| invalid("the body could not be read"))?;
        body.extend_from_slice(&chunk);
        if body.len() > MAX_EVENT_BYTES {
            return Err(AppError::Invalid {
                code: "event_too_large",
                message: format!("an event is at most {MAX_EVENT_BYTES} bytes"),
            });
        }
    }
    let form: EventForm =
        serde_json::from_slice(&body).map_err(|e| invalid(format!("not an event: {e}")))?;
    let kind = match form.kind.as_str() {
        "pageview" => Kind::Pageview,
        "click" => Kind::Click,
        _ => return Err(invalid("type is pageview or click")),
    };
    if form.path.chars().count() > MAX_PATH {
        return Err(invalid(format!(
            "path is longer than {MAX_PATH} characters"
        )));
    }
    let path = analytics::clean_path(&form.path).ok_or_else(|| invalid("path starts with /"))?;
    let referrer = form.referrer.as_deref().unwrap_or("");
    if referrer.chars().count() > MAX_REFERRER {
        return Err(invalid(format!(
            "referrer is longer than {MAX_REFERRER} characters"
        )));
    }
    let utm_source = utm(&form.utm_source, "utm_source")?;
    let utm_medium = utm(&form.utm_medium, "utm_medium")?;
    let utm_campaign = utm(&form.utm_campaign, "utm_campaign")?;
    let slug = form.storefront.trim();
    if slug.is_empty() || form.storefront.chars().count() > 64 {
        return Err(invalid("storefront is a storefront's slug or id"));
    }
    let slug = slug.to_lowercase();
    let sf = state
        .registry
        .storefront_by_slug(&slug)
        .await?
        .ok_or(AppError::NotFound)?;

    let now = state.clock.now();
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ip = client_ip(&req, &state);
    let salt = state.registry.visitor_salt(now).await?;
    let host = req.connection_info().host().to_string();
    // A country only from a proxy we trust to set it (Cloudflare's or our own header).
    let country = if state.config.trust_proxy_headers {
        ["cf-ipcountry", "x-country"]
            .iter()
            .find_map(|h| req.headers().get(*h).and_then(|v| v.to_str().ok()))
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let event = Event {
        at: now,
        kind,
        visitor: analytics::visitor_id(&salt, &ip, ua, &sf.to_string()),
        path,
        referrer: analytics::referrer_host(referrer, &host),
        utm_source,
        utm_medium,
        utm_campaign,
        device: analytics::device_class(ua),
        country,
        bot: analytics::is_bot_agent(ua),
        amount_cents: 0,
        ref_id: String::new(),
        count: 1,
    };
    match state.registry.track(sf, event).await? {
        Tracked::Accepted => Ok(HttpResponse::Accepted().finish()),
        Tracked::Limited => Err(AppError::RateLimited { retry_after: 60 }),
        Tracked::Busy => Err(AppError::Unavailable),
    }
}
