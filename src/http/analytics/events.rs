use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::actors::storefront::Tracked;
use crate::domain::analytics::{self as analytics, Event, Kind};
use crate::domain::ids::StorefrontId;
use crate::error::{AppError, AppResult};
use crate::http::auth::client_ip;
use crate::state::AppState;

/// The largest event accepted. A page view with a long referrer and UTM tags is a few
/// hundred bytes.
pub const MAX_EVENT_BYTES: usize = 4096;
/// The largest request accepted (an array of events).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Most events in one request: what one page gathers in a second.
pub const MAX_EVENTS: usize = 20;
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

/// A request's body: one event, or what a page gathered (1 to 20 events). Documentation
/// only: the body is read by hand (sizes are judged per event).
pub struct EventBody;

impl utoipa::PartialSchema for EventBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder, Ref};
        let event = Ref::from_schema_name("EventForm");
        OneOfBuilder::new()
            .item(event.clone())
            .item(
                ArrayBuilder::new()
                    .items(event)
                    .min_items(Some(1))
                    .max_items(Some(MAX_EVENTS)),
            )
            .into()
    }
}

impl ToSchema for EventBody {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            "EventForm".into(),
            <EventForm as utoipa::PartialSchema>::schema(),
        ));
        <EventForm as ToSchema>::schemas(schemas);
    }
}

/// The answer to a request of events.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Accepted {
    /// Events taken, bots included (they are counted apart).
    pub accepted: usize,
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

/// Record page views and link clicks: one event, or a JSON array of 1 to 20 (a page's
/// batch; each event counts against the visitor's limit). Nothing of a request is taken
/// if any event in it is malformed or names an unknown storefront. No cookies: the
/// visitor is a hash of a daily salt, the IP, the user agent and the storefront (README,
/// "Analytics and privacy"). Answered once counted in memory; written to the store within
/// a second.
#[utoipa::path(post, path = "/api/events", tag = "analytics", request_body = EventBody,
    responses((status = 202, body = Accepted, description = "counted"),
        (status = 400, description = "`invalid_event` (malformed, unknown type, bad path, an empty array or more than 20 events) or `event_too_large` (an event over 4 KiB)"),
        (status = 404, description = "`not_found`: no published storefront has this slug"),
        (status = 413, description = "`payload_too_large`: the request is over 64 KiB"),
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
        if body.len() > MAX_REQUEST_BYTES {
            return Err(AppError::PayloadTooLarge);
        }
    }
    let too_large = || AppError::Invalid {
        code: "event_too_large",
        message: format!("an event is at most {MAX_EVENT_BYTES} bytes"),
    };
    let forms: Vec<EventForm> = if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let raw: Vec<&serde_json::value::RawValue> = serde_json::from_slice(&body)
            .map_err(|e| invalid(format!("not an array of events: {e}")))?;
        if raw.is_empty() || raw.len() > MAX_EVENTS {
            return Err(invalid(format!("an array holds 1 to {MAX_EVENTS} events")));
        }
        if raw.iter().any(|r| r.get().len() > MAX_EVENT_BYTES) {
            return Err(too_large());
        }
        raw.iter()
            .map(|r| {
                serde_json::from_str(r.get()).map_err(|e| invalid(format!("not an event: {e}")))
            })
            .collect::<AppResult<_>>()?
    } else {
        if body.len() > MAX_EVENT_BYTES {
            return Err(too_large());
        }
        vec![serde_json::from_slice(&body).map_err(|e| invalid(format!("not an event: {e}")))?]
    };
    let checked = forms.iter().map(check).collect::<AppResult<Vec<_>>>()?;
    // Each event's storefront, each slug looked up once; one unknown refuses the request.
    let mut found: Vec<(&str, StorefrontId)> = Vec::new();
    let mut storefronts = Vec::with_capacity(checked.len());
    for c in &checked {
        let sf = match found.iter().find(|(slug, _)| *slug == c.slug) {
            Some(&(_, sf)) => sf,
            None => {
                let sf = state
                    .registry
                    .storefront_by_slug(&c.slug)
                    .await?
                    .ok_or(AppError::NotFound)?;
                found.push((&c.slug, sf));
                sf
            }
        };
        storefronts.push(sf);
    }

    // What the request says about its visitor, read once for all its events.
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
    let device = analytics::device_class(ua);
    let bot = analytics::is_bot_agent(ua);

    let mut accepted = 0;
    for (c, sf) in checked.into_iter().zip(storefronts) {
        let event = Event {
            at: now,
            kind: c.kind,
            visitor: analytics::visitor_id(&salt, &ip, ua, &sf.to_string()),
            path: c.path,
            referrer: analytics::referrer_host(&c.referrer, &host),
            utm_source: c.utm_source,
            utm_medium: c.utm_medium,
            utm_campaign: c.utm_campaign,
            device,
            country: country.clone(),
            bot,
            amount_cents: 0,
            ref_id: String::new(),
            count: 1,
        };
        // Events before a refusal were taken and are said to be; a refusal of the first
        // is the request's answer.
        match state.registry.track(sf, event).await {
            Ok(Tracked::Accepted) => accepted += 1,
            _ if accepted > 0 => break,
            Ok(Tracked::Limited) => return Err(AppError::RateLimited { retry_after: 60 }),
            Ok(Tracked::Busy) => return Err(AppError::Unavailable),
            Err(e) => return Err(e),
        }
    }
    Ok(HttpResponse::Accepted().json(Accepted { accepted }))
}

/// An event's fields, checked and normalised.
struct Checked {
    slug: String,
    kind: Kind,
    path: String,
    referrer: String,
    utm_source: String,
    utm_medium: String,
    utm_campaign: String,
}

fn check(form: &EventForm) -> AppResult<Checked> {
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
    let slug = form.storefront.trim();
    if slug.is_empty() || form.storefront.chars().count() > 64 {
        return Err(invalid("storefront is a storefront's slug or id"));
    }
    Ok(Checked {
        slug: slug.to_lowercase(),
        kind,
        path,
        referrer: referrer.to_string(),
        utm_source: utm(&form.utm_source, "utm_source")?,
        utm_medium: utm(&form.utm_medium, "utm_medium")?,
        utm_campaign: utm(&form.utm_campaign, "utm_campaign")?,
    })
}
