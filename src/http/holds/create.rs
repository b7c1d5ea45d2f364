use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::models::drop::{HoldRefusal, HoldRequest, HoldRow};
use crate::domain::ids::{HoldId, VariantId};
use crate::error::{AppError, AppResult};
use crate::http::drops::drop_id;
use crate::http::extract::Json;
use crate::ratelimit;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHoldForm {
    pub variant_id: VariantId,
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub id: HoldId,
    pub variant_id: VariantId,
    pub quantity: i64,
    pub status: String,
    pub expires_at: DateTime<Utc>,
}

impl From<&HoldRow> for HoldView {
    fn from(h: &HoldRow) -> Self {
        HoldView {
            id: h.id,
            variant_id: h.variant_id,
            quantity: h.quantity,
            status: h.status.clone(),
            expires_at: h.expires_at.and_utc(),
        }
    }
}

pub use crate::http::extract::MAX_IDEMPOTENCY_KEY;

/// Reserve units of a live drop. Answered only after the hold has committed. With an
/// `Idempotency-Key`, a retry returns the first answer and takes nothing more.
#[utoipa::path(post, path = "/api/drops/{id}/holds", tag = "drops", request_body = CreateHoldForm,
    security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200, pattern = r"^[!-~]+$",
        description = "1 to 200 visible ASCII characters; a retry with the same key returns the first answer")),
    responses((status = 201, body = HoldView),
        (status = 409, description = "`sold_out`, `not_open`, `drop_paused`, `drop_cancelled`, `drop_closed`, `limit_reached`, `raffle_required`"),
        (status = 404, description = "`not_found`: no such drop"),
        (status = 422, description = "`validation_failed`: `variant_id` is not one of the drop's variants, or `quantity` is out of range"),
        (status = 429, description = "`rate_limited`")))]
pub async fn create(
    state: web::Data<AppState>,
    who: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    form: Json<CreateHoldForm>,
) -> AppResult<HttpResponse> {
    let id = drop_id(&id)?;
    let limits = &state.config.rate_limits;
    let ip = crate::http::auth::client_ip(&req, &state);
    // Keys are only built when a limit is set (a hot path pays nothing when it is off).
    if limits.hold_account.is_some() {
        let key = format!("hold:user:{}", who.id);
        ratelimit::check(state.limiter.as_ref(), &key, limits.hold_account).await?;
    }
    if limits.hold_ip.is_some() {
        let key = format!("hold:ip:{ip}");
        ratelimit::check(state.limiter.as_ref(), &key, limits.hold_ip).await?;
    }
    let key = crate::http::extract::idempotency_key(&req)?;
    if !(1..=100).contains(&form.quantity) {
        return Err(AppError::field("quantity", "must be from 1 to 100"));
    }
    let request = HoldRequest {
        buyer: who.id,
        variant: form.variant_id,
        quantity: form.quantity,
        idempotency_key: key,
    };
    match state.registry.hold(id, request).await? {
        Ok((hold, new)) => {
            if new {
                crate::analytics::record(
                    &state,
                    id,
                    crate::domain::analytics::Kind::Hold,
                    0,
                    hold.drop_id.to_string(),
                );
            }
            Ok(HttpResponse::Created().json(HoldView::from(&hold)))
        }
        Err(HoldRefusal::SoldOut) => Err(AppError::conflict(
            "sold_out",
            "no units of this variant are left",
        )),
        Err(HoldRefusal::LimitReached) => Err(AppError::conflict(
            "limit_reached",
            "you already hold or bought as many units of this drop as one buyer may",
        )),
        Err(HoldRefusal::UnknownVariant) => Err(AppError::field(
            "variant_id",
            "is not a variant of this drop",
        )),
    }
}
