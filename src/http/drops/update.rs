use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{drop_id, owns};
use crate::actors::drop::DropState;
use crate::auth::AuthUser;
use crate::db::models::{drop as model, truncate};
use crate::domain::drop::DropStatus;
use crate::domain::ids::VariantId;
use crate::domain::validate::{self, Check};
use crate::error::{AppError, AppResult};
use crate::http::drops::create::MAX_STOCK;
use crate::http::extract::Json;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockForm {
    pub variant_id: VariantId,
    #[schema(minimum = 0, maximum = 1000000)]
    pub stock: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDropForm {
    #[schema(
        max_length = 120,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: Option<String>,
    /// Only before the drop opens.
    pub opens_at: Option<DateTime<Utc>>,
    /// `null` removes the closing time.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub closes_at: Option<Option<DateTime<Utc>>>,
    /// New stock per variant. Once live, stock may be added but never cut below what is
    /// held or sold (`409 stock_below_promised`).
    pub stock: Option<Vec<StockForm>>,
}

/// Tells an absent field (`None`: leave it) from an explicit `null` (`Some(None)`: clear it).
fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(d).map(Some)
}

/// Change a drop you own.
#[utoipa::path(patch, path = "/api/drops/{id}", tag = "drops", request_body = UpdateDropForm,
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = DropState), (status = 404, description = "`not_found`"),
        (status = 409, description = "`stock_below_promised`, `already_open`, `drop_closed`"),
        (status = 422, description = "`validation_failed`")))]
pub async fn update(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<UpdateDropForm>,
) -> AppResult<HttpResponse> {
    let id = drop_id(&id)?;
    let (drop, variants) = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !owns(&state, &who, &drop).await? {
        return Err(AppError::NotFound);
    }
    let now = state.clock.now();
    let status = drop
        .schedule()
        .status_at(drop.stored_status(), now, i64::MAX);
    if status.is_final() {
        return Err(AppError::conflict("drop_closed", "the drop has closed"));
    }
    let f = form.into_inner();
    let mut check = Check::new();
    let title = match &f.title {
        Some(t) => check.take("title", validate::text(t, 1, 120, false)),
        None => Some(drop.title.clone()),
    };
    let opens_at = f
        .opens_at
        .map(|t| truncate(t.naive_utc()))
        .unwrap_or(drop.opens_at);
    if f.opens_at.is_some() && !matches!(status, DropStatus::Draft | DropStatus::Scheduled) {
        return Err(AppError::conflict(
            "already_open",
            "the opening time cannot change once open",
        ));
    }
    let closes_at = match f.closes_at {
        Some(c) => c.map(|t| truncate(t.naive_utc())),
        None => drop.closes_at,
    };
    if closes_at.is_some_and(|c| c <= opens_at) {
        check.fail("closes_at", "must be after opens_at");
    }
    for (i, s) in f.stock.iter().flatten().enumerate() {
        if !variants.iter().any(|v| v.id == s.variant_id) {
            check.fail(
                &format!("stock.{i}.variant_id"),
                "is not a variant of this drop",
            );
        }
        if !(0..=MAX_STOCK).contains(&s.stock) {
            check.fail(
                &format!("stock.{i}.stock"),
                format!("must be from 0 to {MAX_STOCK}"),
            );
        }
    }
    check.finish()?;
    let title = title.ok_or(AppError::Internal)?;
    model::set_meta(&state.store, id, &title, opens_at, closes_at).await?;
    let mut refused = false;
    for s in f.stock.iter().flatten() {
        refused |= !state.registry.set_stock(id, s.variant_id, s.stock).await?;
    }
    state.registry.refresh(id).await?;
    if refused {
        return Err(AppError::conflict(
            "stock_below_promised",
            "stock cannot be cut below the units held or sold; other changes were saved",
        ));
    }
    Ok(HttpResponse::Ok().json(state.registry.state(id).await?))
}
