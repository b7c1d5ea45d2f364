//! Payouts: a creator connects a payout account and follows their payouts; an admin runs
//! a payout now (the janitor runs one a day).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::models::payout::{self as model, PayoutRow};
use crate::domain::ids::{PayoutId, UserId};
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutView {
    pub id: PayoutId,
    pub user_id: UserId,
    pub amount_cents: i64,
    pub currency: String,
    /// `pending` (sent, not confirmed yet), `paid`, or `failed` (the amount is available
    /// again).
    pub status: String,
    /// `stripe`, or `test` in embedded mode (no money moves).
    pub provider: String,
    /// The provider's transfer, once paid.
    pub transfer_ref: Option<String>,
    /// Why it failed.
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&PayoutRow> for PayoutView {
    fn from(p: &PayoutRow) -> Self {
        PayoutView {
            id: p.id,
            user_id: p.user_id,
            amount_cents: p.amount_cents,
            currency: p.currency.clone(),
            status: p.status.clone(),
            provider: p.provider.clone(),
            transfer_ref: p.transfer_ref.clone(),
            failure: p.failure.clone(),
            created_at: p.created_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutAccountView {
    /// Whether a payout account was connected (its onboarding may not be finished).
    pub connected: bool,
    /// `pending` (onboarding not finished) or `enabled` (payouts are sent to it).
    pub status: Option<String>,
    pub provider: Option<String>,
    /// Where to go to finish (or start) the account's onboarding; with the `POST` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onboarding_url: Option<String>,
}

/// Your payout account, if one is connected.
#[utoipa::path(get, path = "/api/me/payouts/account", tag = "money", security(("bearer" = [])),
    responses((status = 200, body = PayoutAccountView)))]
pub async fn account(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    let row = model::account(&state.store, who.id).await?;
    Ok(HttpResponse::Ok().json(PayoutAccountView {
        connected: row.is_some(),
        status: row.as_ref().map(|a| a.status.clone()),
        provider: row.map(|a| a.provider),
        onboarding_url: None,
    }))
}

/// Connect a payout account (Stripe Connect Express; with the test provider it is
/// connected at once) or continue its onboarding: go to `onboarding_url`, which comes
/// back to the studio.
#[utoipa::path(post, path = "/api/me/payouts/account", tag = "money", security(("bearer" = [])),
    responses((status = 200, body = PayoutAccountView), (status = 403, description = "`forbidden`: buyers have no earnings"),
        (status = 503, description = "`unavailable`: the payment provider did not answer")))]
pub async fn connect(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    who.require_creator()?;
    let back = format!("{}/studio?payouts=connected#team", state.config.public_url);
    let (row, link) = crate::payments::payout::connect(&state, who.id, &back).await?;
    Ok(HttpResponse::Ok().json(PayoutAccountView {
        connected: true,
        status: Some(row.status),
        provider: Some(row.provider),
        onboarding_url: Some(link.onboarding_url),
    }))
}

/// Your payouts, newest first (at most 100).
#[utoipa::path(get, path = "/api/me/payouts", tag = "money", security(("bearer" = [])),
    responses((status = 200, body = Vec<PayoutView>)))]
pub async fn mine(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    let rows = model::of_user(&state.store, who.id).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(PayoutView::from).collect::<Vec<_>>()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutRun {
    /// The payouts this run made or finished; a run right after another pays nothing more.
    pub payouts: Vec<PayoutView>,
}

/// Run a payout now (admins; every node's janitor runs one a day): each connected
/// creator's available balance, per currency, at least `PAYOUT_MINIMUM_CENTS`.
#[utoipa::path(post, path = "/api/admin/payouts/run", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = PayoutRun), (status = 403, description = "`forbidden`")))]
pub async fn run(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    who.require_admin()?;
    let done = crate::payments::payout::run(&state).await?;
    Ok(HttpResponse::Ok().json(PayoutRun {
        payouts: done.iter().map(PayoutView::from).collect(),
    }))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PayoutQuery {
    /// `pending`, `paid` or `failed`.
    #[param(pattern = "^(pending|paid|failed)$")]
    pub status: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminPayoutView {
    #[serde(flatten)]
    pub payout: PayoutView,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminPayouts {
    /// Newest first.
    pub payouts: Vec<AdminPayoutView>,
}

/// Every creator's newest payouts, with their email (admins).
#[utoipa::path(get, path = "/api/admin/payouts", tag = "admin", security(("bearer" = [])),
    params(PayoutQuery),
    responses((status = 200, body = AdminPayouts), (status = 403, description = "`forbidden`"),
        (status = 422, description = "`validation_failed`")))]
pub async fn list(
    state: web::Data<AppState>,
    who: AuthUser,
    q: web::Query<PayoutQuery>,
) -> AppResult<HttpResponse> {
    who.require_admin()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(crate::error::AppError::field(
            "limit",
            "must be from 1 to 200",
        ));
    }
    if let Some(s) = &q.status {
        if !["pending", "paid", "failed"].contains(&s.as_str()) {
            return Err(crate::error::AppError::field(
                "status",
                "must be pending, paid or failed",
            ));
        }
    }
    let rows = model::recent(&state.store, q.status.as_deref(), limit).await?;
    Ok(HttpResponse::Ok().json(AdminPayouts {
        payouts: rows
            .iter()
            .map(|(p, email)| AdminPayoutView {
                payout: PayoutView::from(p),
                email: email.clone(),
            })
            .collect(),
    }))
}
