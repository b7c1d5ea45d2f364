//! A creator's earnings: their rows of the money ledger, summed.

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::db::models::{ledger, payout};
use crate::domain::ids::{DropId, OrderId};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EarningsQuery {
    /// ISO 4217 code (any case); without it, the currency the account has earned most
    /// entries in. A currency without entries answers zeros.
    #[param(pattern = r"^[A-Za-z]{3}$")]
    pub currency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EarningsEntry {
    pub order_id: OrderId,
    pub drop_id: Option<DropId>,
    /// `owner` or `collaborator`.
    pub role: String,
    /// `sale` (a credit) or `refund` (a reversal, negative).
    pub kind: String,
    pub share_bp: i64,
    pub amount_cents: i64,
    pub created_at: NaiveDateTime,
    /// When it counts as available for payout (`PAYOUT_DELAY_DAYS` after it was written).
    pub available_at: NaiveDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EarningsView {
    pub currency: String,
    /// Credits and reversals still inside the payout delay.
    pub pending_cents: i64,
    /// Past the delay and not paid out or being paid out (negative after a refund that
    /// followed a payout: the next credits fill it first).
    pub available_cents: i64,
    /// Paid out to the creator's payout account (`GET /api/me/payouts`).
    pub paid_out_cents: i64,
    /// The newest 100 entries, newest first.
    pub entries: Vec<EarningsEntry>,
}

/// The signed-in creator's earnings in one currency, from the ledger.
#[utoipa::path(get, path = "/api/me/earnings", tag = "money", security(("bearer" = [])),
    params(EarningsQuery),
    responses((status = 200, body = EarningsView),
        (status = 422, description = "`validation_failed`: not a three-letter code")))]
pub async fn mine(
    state: web::Data<AppState>,
    who: AuthUser,
    q: web::Query<EarningsQuery>,
) -> AppResult<HttpResponse> {
    let asked = match &q.currency {
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(c.to_ascii_uppercase())
        }
        Some(_) => return Err(AppError::field("currency", "is a three-letter code")),
        None => None,
    };
    let me = who.id.to_string();
    let rows = ledger::of_party(&state.store, &me, asked.as_deref()).await?;
    let currency = asked.unwrap_or_else(|| {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for r in &rows {
            *counts.entry(r.currency.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map_or_else(|| "USD".to_string(), |(c, _)| c.to_string())
    });
    let delay = chrono::Duration::days(state.config.payout_delay_days);
    let now = state.clock.now();
    let (mut pending, mut available) = (0i64, 0i64);
    let mut entries = Vec::new();
    for r in rows.iter().filter(|r| r.currency == currency) {
        let available_at = r.created_at + delay;
        if available_at <= now {
            available += r.amount_cents;
        } else {
            pending += r.amount_cents;
        }
        if entries.len() < 100 {
            entries.push(EarningsEntry {
                order_id: r.order_id,
                drop_id: r.drop_id,
                role: r.role.clone(),
                kind: r.kind.clone(),
                share_bp: r.share_bp,
                amount_cents: r.amount_cents,
                created_at: r.created_at,
                available_at,
            });
        }
    }
    // Payouts taken from the balance: sent (pending) or paid; a failed one gave it back.
    let (sending, paid_out) = payout::taken(&state.store, who.id, &currency).await?;
    Ok(HttpResponse::Ok().json(EarningsView {
        currency,
        pending_cents: pending,
        available_cents: available - paid_out - sending,
        paid_out_cents: paid_out,
        entries,
    }))
}
