//! Products of every kind on a storefront.

pub mod checkout;
pub mod create;
pub mod delete;
pub mod list;
pub mod publish;
pub mod show;
pub mod unpublish;
pub mod update;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::models::product::{self as model, ProductRow};
use crate::db::models::storefront;
use crate::domain::ids::{ProductId, StorefrontId};
use crate::domain::money::{Currency, MAX_CENTS};
use crate::domain::validate::Check;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub id: ProductId,
    pub storefront_id: StorefrontId,
    /// digital, physical, service, membership, tip, link or event.
    pub kind: String,
    pub title: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    /// `draft`, `published` or `archived`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Units (physical) or seats (event) still for sale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// The kind-specific fields (e.g. `stock`, `url`, `starts_at`); a digital product's
    /// `download_url` only for its owner.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

impl ProductView {
    pub fn new(p: &ProductRow, owner: bool) -> Self {
        let fields = p
            .details()
            .map(|d| if owner { d.private() } else { d.public() })
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        ProductView {
            id: p.id,
            storefront_id: p.storefront_id,
            kind: p.kind.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            price_cents: p.price_cents,
            currency: p.currency.clone(),
            status: if p.archived_at.is_some() {
                "archived".into()
            } else {
                p.status.clone()
            },
            created_at: p.created_at.and_utc(),
            updated_at: p.updated_at.and_utc(),
            available: p.available(),
            fields,
        }
    }
}

/// Price and currency checks shared by create and update.
pub fn check_price(check: &mut Check, price_cents: i64, currency: &str) -> Option<Currency> {
    if !(0..=MAX_CENTS).contains(&price_cents) {
        check.fail(
            "price_cents",
            format!("must be from 0 to {MAX_CENTS} (minor units)"),
        );
    }
    let c = Currency::parse(currency);
    if c.is_none() {
        check.fail(
            "currency",
            "is not a currency we accept (ISO 4217, e.g. USD)",
        );
    }
    c
}

/// A product of a storefront `who` owns; anyone else's is a 404.
pub async fn owned(state: &AppState, who: &AuthUser, id: &str) -> AppResult<ProductRow> {
    let id = ProductId::parse(id).ok_or(AppError::NotFound)?;
    let p = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let sf = storefront::find(&state.store, p.storefront_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if sf.owner_id != who.id {
        return Err(AppError::NotFound);
    }
    Ok(p)
}
