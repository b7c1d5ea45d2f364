//! A buyer's memberships: listed, and cancelled at the end of the paid period.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::models::membership::{self as model, MembershipRow};
use crate::domain::ids::{MembershipId, OrderId, ProductId, StorefrontId};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub id: MembershipId,
    pub product_id: ProductId,
    pub product_title: String,
    pub storefront_id: StorefrontId,
    /// `active`, `ended` (cancelled or refunded) or `lapsed` (a renewal failed).
    pub status: String,
    /// `month` or `year`.
    pub billing_interval: String,
    pub amount_cents: i64,
    pub currency: String,
    /// Paid until here; renewed then unless `cancel_at_period_end`.
    pub current_period_end: DateTime<Utc>,
    pub cancel_at_period_end: bool,
    /// The first period's order.
    pub order_id: OrderId,
    pub created_at: DateTime<Utc>,
}

impl MembershipView {
    fn new(m: &MembershipRow, title: String) -> Self {
        MembershipView {
            id: m.id,
            product_id: m.product_id,
            product_title: title,
            storefront_id: m.storefront_id,
            status: m.status.clone(),
            billing_interval: m.billing_interval.clone(),
            amount_cents: m.amount_cents,
            currency: m.currency.clone(),
            current_period_end: m.current_period_end.and_utc(),
            cancel_at_period_end: m.cancel_at_period_end,
            order_id: m.order_id,
            created_at: m.created_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipList {
    pub memberships: Vec<MembershipView>,
}

/// The signed-in buyer's memberships, newest first.
#[utoipa::path(get, path = "/api/me/memberships", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = MembershipList)))]
pub async fn mine(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    let rows = model::of_buyer(&state.store, who.id).await?;
    Ok(HttpResponse::Ok().json(MembershipList {
        memberships: rows
            .into_iter()
            .map(|(m, title)| MembershipView::new(&m, title))
            .collect(),
    }))
}

/// Cancel a membership at the end of its paid period: it stays active until then and is
/// not renewed.
#[utoipa::path(delete, path = "/api/me/memberships/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = MembershipView),
        (status = 404, description = "`not_found`: not your active membership")))]
pub async fn cancel(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = MembershipId::parse(&id).ok_or(AppError::NotFound)?;
    if !model::cancel(&state.store, id, who.id, state.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    let rows = model::of_buyer(&state.store, who.id).await?;
    let (m, title) = rows
        .into_iter()
        .find(|(m, _)| m.id == id)
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(MembershipView::new(&m, title)))
}
