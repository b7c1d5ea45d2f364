use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::payments::settle::settle;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    pub received: bool,
    /// False when this event had already been applied (providers retry).
    pub applied: bool,
}

/// The largest provider event we read (Stripe's events are a few KiB).
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;

/// The payment provider's events, signed (`Stripe-Signature`). Idempotent on the event id.
#[utoipa::path(post, path = "/api/payments/webhook", tag = "drops",
    request_body(content = String, content_type = "application/json", description = "the provider event, signed"),
    params(("Stripe-Signature" = String, Header)),
    responses((status = 200, body = WebhookAck), (status = 401, description = "`unauthorized`: bad signature"),
        (status = 413, description = "`payload_too_large`")))]
pub async fn webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> AppResult<HttpResponse> {
    // Read here rather than by the `Bytes` extractor, whose overflow answers a plain-text
    // 413: every error, this one too, has the JSON shape.
    let mut body = web::BytesMut::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
        let chunk = chunk.map_err(|_| AppError::BadRequest("the body could not be read".into()))?;
        if body.len() + chunk.len() > MAX_WEBHOOK_BODY {
            return Err(AppError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let sig = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthorized("missing Stripe-Signature"))?;
    let event = state
        .payments
        .verify_webhook(&body, sig, chrono::Utc::now().timestamp())?;
    // Events about something other than a payment's outcome, each idempotent by its
    // effect: an account's onboarding moved on (its status read again), a refund made at
    // the provider (what its total adds), a payout's transfer reversed (`paid → failed`).
    let handled = match event.kind.as_str() {
        "account.updated" => {
            Some(crate::payments::payout::account_updated(&state, &event.payment_ref).await?)
        }
        // A refund made at the provider (or ours, seen again): what is new is recorded.
        "charge.refunded" => match event.amount_refunded {
            Some(total) => {
                Some(super::refund::refunded_at_provider(&state, &event.payment_ref, total).await?)
            }
            None => Some(false),
        },
        "transfer.reversed" => Some(
            crate::db::models::payout::reverse(&state.store, &event.payment_ref, state.clock.now())
                .await?,
        ),
        _ => None,
    };
    if let Some(applied) = handled {
        return Ok(HttpResponse::Ok().json(WebhookAck {
            received: true,
            applied,
        }));
    }
    let (succeeded, order_id) = match (event.kind.as_str(), event.order_id) {
        ("payment.succeeded", Some(o)) => (true, o),
        ("payment.failed", Some(o)) => (false, o),
        // Events we do not act on are acknowledged, so the provider stops retrying.
        _ => {
            return Ok(HttpResponse::Ok().json(WebhookAck {
                received: true,
                applied: false,
            }))
        }
    };
    let applied = settle(&state, &event.id, order_id, succeeded, &event.payment_ref).await?;
    Ok(HttpResponse::Ok().json(WebhookAck {
        received: true,
        applied: !matches!(applied, crate::db::models::order::Applied::AlreadyApplied),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentsConfig {
    /// `test` (the built-in provider: the pages take a test card) or `stripe`.
    pub provider: String,
    /// Stripe's publishable key for the pages' Payment Element (`STRIPE_PUBLISHABLE_KEY`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publishable_key: Option<String>,
}

/// How the pages take a payment: the provider, and with Stripe its publishable key.
#[utoipa::path(get, path = "/api/payments/config", tag = "drops",
    responses((status = 200, body = PaymentsConfig)))]
pub async fn config(state: web::Data<AppState>) -> HttpResponse {
    let publishable_key = match &state.config.payments {
        crate::config::Payments::Stripe {
            publishable_key, ..
        } => publishable_key.clone(),
        crate::config::Payments::Test { .. } => None,
    };
    HttpResponse::Ok().json(PaymentsConfig {
        provider: state.payments.name().to_string(),
        publishable_key,
    })
}
