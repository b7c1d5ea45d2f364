//! The creator's side of an order after payment: marking it shipped (physical) or
//! confirmed (service), and checking an event's tickets in at the door.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::OrderView;
use crate::auth::AuthUser;
use crate::db::models::sale;
use crate::domain::sale::Fulfilment;
use crate::domain::validate::{self, Check};
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::payments::settle;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilForm {
    /// The carrier, e.g. `DHL` (physical products).
    #[schema(max_length = 100)]
    pub carrier: Option<String>,
    #[schema(max_length = 100)]
    pub tracking: Option<String>,
}

fn optional(check: &mut Check, field: &str, v: &Option<String>) -> Option<String> {
    match v.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => check.take(field, validate::text(s, 1, 100, false)),
    }
}

/// Mark a paid physical order shipped (the buyer is mailed, with the carrier and tracking
/// number if given), or confirm a paid service. Once.
#[utoipa::path(post, path = "/api/orders/{id}/fulfil", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = FulfilForm,
    responses((status = 200, body = OrderView), (status = 404, description = "`not_found`"),
        (status = 409, description = "`not_paid`, `already_fulfilled`, `nothing_to_fulfil`"),
        (status = 422, description = "`validation_failed`")))]
pub async fn fulfil(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<FulfilForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let o = super::show::as_seller(&state, &who, &id).await?;
    let mut check = Check::new();
    let carrier = optional(&mut check, "carrier", &form.carrier);
    let tracking = optional(&mut check, "tracking", &form.tracking);
    check.finish()?;
    if !matches!(o.kind.as_str(), "physical" | "service") {
        return Err(AppError::conflict(
            "nothing_to_fulfil",
            "only a physical product or a service is fulfilled by hand",
        ));
    }
    let now = state.clock.now();
    let f = Fulfilment {
        carrier: carrier.clone(),
        tracking: tracking.clone(),
        at: now.and_utc(),
    };
    let o = sale::fulfil(&state.store, &o, &f, now).await?;
    if o.kind == "physical" {
        if let Some((facts, buyer, _)) = settle::facts(&state, &o).await {
            let mail =
                crate::mail::sale::shipped(&buyer, &facts, carrier.as_deref(), tracking.as_deref());
            settle::send(&state, mail, o.id).await;
        }
    }
    Ok(HttpResponse::Ok().json(OrderView::new(&o, state.payments.name())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInForm {
    /// The ticket's code, as shown on the buyer's order page.
    #[schema(min_length = 1, max_length = 64)]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckedIn {
    pub code: String,
    pub checked_in_at: chrono::DateTime<chrono::Utc>,
}

/// Check an event ticket in at the door (the storefront's owner): once per ticket.
#[utoipa::path(post, path = "/api/orders/{id}/check-in", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CheckInForm,
    responses((status = 200, body = CheckedIn),
        (status = 404, description = "`not_found`: no such order, or the code is not one of its tickets"),
        (status = 409, description = "`already_checked_in`, `not_paid`")))]
pub async fn check_in(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<CheckInForm>,
) -> AppResult<HttpResponse> {
    let o = super::show::as_seller(&state, &who, &id).await?;
    if form.code.len() > 64 {
        return Err(AppError::field("code", "is too long"));
    }
    if o.status != "paid" {
        return Err(AppError::conflict("not_paid", "this order is not paid"));
    }
    let t = sale::check_in(&state.store, o.id, &form.code, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(CheckedIn {
        code: t.code,
        checked_in_at: t.checked_in_at.unwrap_or_default().and_utc(),
    }))
}
