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

/// The payment provider's events, signed (`Stripe-Signature`). Idempotent on the event id.
#[utoipa::path(post, path = "/api/payments/webhook", tag = "drops",
    request_body(content = String, content_type = "application/json", description = "the provider event, signed"),
    params(("Stripe-Signature" = String, Header)),
    responses((status = 200, body = WebhookAck), (status = 401, description = "`unauthorized`: bad signature")))]
pub async fn webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let sig = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthorized("missing Stripe-Signature"))?;
    let event = state
        .payments
        .verify_webhook(&body, sig, chrono::Utc::now().timestamp())?;
    let succeeded = match event.kind.as_str() {
        "payment.succeeded" => true,
        "payment.failed" => false,
        // Events we do not act on are acknowledged, so the provider stops retrying.
        _ => {
            return Ok(HttpResponse::Ok().json(WebhookAck {
                received: true,
                applied: false,
            }))
        }
    };
    let applied = settle(
        &state,
        &event.id,
        event.order_id,
        succeeded,
        &event.payment_ref,
    )
    .await?;
    Ok(HttpResponse::Ok().json(WebhookAck {
        received: true,
        applied: !matches!(applied, crate::db::models::order::Applied::AlreadyApplied),
    }))
}
