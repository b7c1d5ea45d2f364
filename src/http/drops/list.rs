use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::actors::drop::VariantState;
use crate::auth::AuthUser;
use crate::db::models::drop as model;
use crate::domain::drop::DropStatus;
use crate::domain::ids::{DropId, ProductId};
use crate::error::AppResult;
use crate::http::analytics::readable;
use crate::state::AppState;

/// A drop as its storefront's owner manages it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StudioDrop {
    pub id: DropId,
    pub product_id: ProductId,
    pub title: String,
    /// On the server's clock (a scheduled drop whose opening has passed is `live`).
    pub status: DropStatus,
    pub opens_at: DateTime<Utc>,
    pub closes_at: Option<DateTime<Utc>>,
    pub price_cents: i64,
    pub currency: String,
    pub per_buyer_limit: i64,
    pub hold_seconds: i64,
    pub waiting_room_seconds: i64,
    /// As last committed; `GET /api/drops/{id}` and the `drop:{id}` socket topic are live.
    pub variants: Vec<VariantState>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StudioDrops {
    /// Drafts included, the latest opening first (at most 200).
    pub drops: Vec<StudioDrop>,
}

/// Every drop of a storefront, drafts included (its owner and admins).
#[utoipa::path(get, path = "/api/storefronts/{id}/drops", tag = "drops", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = StudioDrops),
        (status = 404, description = "`not_found`: no such storefront, or not yours")))]
pub async fn list(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let sf = readable(&state, &who, &id).await?;
    let now = state.clock.now();
    let drops = model::all_of_storefront(&state.store, sf.id)
        .await?
        .into_iter()
        .map(|(d, vs)| {
            let remaining = vs.iter().map(|v| v.remaining).sum();
            StudioDrop {
                id: d.id,
                product_id: d.product_id,
                title: d.title.clone(),
                status: d.schedule().status_at(d.stored_status(), now, remaining),
                opens_at: d.opens_at.and_utc(),
                closes_at: d.closes_at.map(|c| c.and_utc()),
                price_cents: d.price_cents,
                currency: d.currency.clone(),
                per_buyer_limit: d.per_buyer_limit,
                hold_seconds: d.hold_seconds,
                waiting_room_seconds: d.waiting_room_seconds,
                variants: vs.iter().map(VariantState::from).collect(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(StudioDrops { drops }))
}
