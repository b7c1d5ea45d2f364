//! Per-request plumbing: request id, access log, metrics, security headers, CORS.

use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, Error, HttpMessage};
use tracing::Instrument;

use crate::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";

/// The request id of this request, for handlers that want to log it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Request id, span, access log line and metrics in one pass.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let started = Instant::now();
    // Take the caller's id when it is short and printable (a load balancer's), else make one.
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // Fields are only formatted when the span is enabled (not at the default level).
    let span =
        tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());

    let res = next.call(req).instrument(span.clone()).await;
    let mut res = match res {
        Ok(r) => r,
        Err(e) => {
            // Errors from inner middleware: render them here so they get the same treatment.
            let r = e.error_response();
            return Err(actix_web::error::InternalError::from_response(e, r).into());
        }
    };
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(state) = state {
        state
            .metrics
            .observe(method.as_str(), &route, status, elapsed);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), v);
    }
    let _e = span.enter();
    if status >= 500 {
        tracing::warn!(status, ms = elapsed * 1000.0, %route, "request failed");
    } else {
        tracing::info!(status, ms = elapsed * 1000.0, %route, "request");
    }
    Ok(res)
}

/// The pages' CSP: only our own scripts and styles (plain HTML + modules from `/static`,
/// no CDN). A node taking payments through Stripe also allows Stripe.js and its frames
/// and API, as Stripe requires for the Payment Element (loaded from js.stripe.com only).
pub const CSP: &str = "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
pub const CSP_WITH_STRIPE: &str = "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self' https://js.stripe.com; frame-src https://js.stripe.com https://hooks.stripe.com; connect-src 'self' ws: wss: https://api.stripe.com; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Headers every response carries (`stripe`: the CSP allows Stripe.js, see [`CSP_WITH_STRIPE`]).
pub fn security_headers(stripe: bool) -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "strict-origin-when-cross-origin"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            if stripe { CSP_WITH_STRIPE } else { CSP },
        ))
        .add((
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ))
        .add((
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
}

/// CORS from `CORS_ORIGINS`: none (same-origin only), a list, or `*`.
pub fn cors(origins: &[String]) -> Cors {
    let base = Cors::default()
        .allowed_methods(vec!["GET", "POST", "PATCH", "PUT", "DELETE"])
        .allowed_headers(vec![
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers(vec![
            HeaderName::from_static(REQUEST_ID),
            header::RETRY_AFTER,
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        return base.allow_any_origin();
    }
    origins
        .iter()
        .fold(base, |c, o| c.allowed_origin(o.as_str()))
}

/// The header every answer carries when a cluster node serves with the test provider.
pub const TEST_PAYMENTS: &str = "x-payment-provider";
/// The notice at the top of every page in that case.
const TEST_PAYMENTS_BANNER: &str = "<p class=\"test-payments\" role=\"note\">Test payments: \
    this service takes no real money (PAYMENT_PROVIDER=test).</p>";

/// A cluster node serving with the test provider says so on every answer (a header) and
/// every page (a notice at the top): nobody should take it for a shop that charges.
pub async fn test_payments(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let mut res = next.call(req).await?;
    res.headers_mut().insert(
        HeaderName::from_static(TEST_PAYMENTS),
        HeaderValue::from_static("test; no money moves"),
    );
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    // Pages are small and already in memory; one that cannot be read is answered as is.
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("page body"))?;
    let text = String::from_utf8_lossy(&body);
    let page = match text
        .find("<body")
        .and_then(|i| text[i..].find('>').map(|j| i + j + 1))
    {
        Some(at) => format!("{}{TEST_PAYMENTS_BANNER}{}", &text[..at], &text[at..]),
        None => text.into_owned(),
    };
    let mut head = head.set_body(page).map_into_boxed_body();
    head.headers_mut().remove(header::CONTENT_LENGTH);
    Ok(ServiceResponse::new(req, head))
}
