//! Checkout, orders and the payment provider's webhook.

pub mod checkout;
pub mod list;
pub mod refund;
pub mod show;
pub mod webhook;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::models::order::{ListedOrder, OrderRow};
use crate::domain::ids::{DropId, HoldId, OrderId, ProductId, VariantId};

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: OrderId,
    /// `pending`, `paid`, `declined`, `refund_pending` or `refunded`.
    pub status: String,
    pub drop_id: DropId,
    /// The product sold (a drop's product for a drop's order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<ProductId>,
    pub variant_id: VariantId,
    pub hold_id: HoldId,
    pub quantity: i64,
    pub amount_cents: i64,
    pub currency: String,
    /// `test` in embedded mode: no money moves.
    pub provider: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The buyer's email: only to the storefront's owner and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
}

impl OrderView {
    pub fn new(o: &OrderRow, provider: &'static str) -> Self {
        OrderView {
            id: o.id,
            status: o.status.clone(),
            drop_id: o.drop_id,
            product_id: None,
            variant_id: o.variant_id,
            hold_id: o.hold_id,
            quantity: o.quantity,
            amount_cents: o.amount_cents,
            currency: o.currency.clone(),
            provider,
            created_at: o.created_at.and_utc(),
            updated_at: o.updated_at.and_utc(),
            buyer_email: None,
        }
    }
}

impl OrderView {
    /// A listed order (with its product), and the buyer's email for the seller's view.
    pub fn listed(l: &ListedOrder, provider: &'static str, with_email: bool) -> Self {
        let mut v = OrderView::new(&l.order, provider);
        v.product_id = Some(l.product_id);
        if with_email {
            v.buyer_email = Some(l.buyer_email.clone());
        }
        v
    }
}
