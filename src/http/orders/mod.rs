//! Checkout, orders and the payment provider's webhook.

pub mod checkout;
pub mod delivery;
pub mod earnings;
pub mod fulfil;
pub mod list;
pub mod memberships;
pub mod payouts;
pub mod refund;
pub mod show;
pub mod webhook;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::models::order::{ListedOrder, OrderRow};
use crate::domain::ids::{DropId, HoldId, OrderId, ProductId, StorefrontId, VariantId};
use crate::domain::sale::{Fulfilment, Shipping};

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: OrderId,
    /// `pending`, `paid`, `declined`, `refund_pending` or `refunded`.
    pub status: String,
    /// The product's kind: `physical`, `digital`, `service`, `membership`, `tip` or `event`.
    pub kind: String,
    /// The product sold (a drop's product for a drop's order).
    pub product_id: ProductId,
    pub storefront_id: StorefrontId,
    /// A drop's order: its drop, variant and hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_id: Option<DropId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<VariantId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<HoldId>,
    pub quantity: i64,
    /// The total, shipping included.
    pub amount_cents: i64,
    /// What refunds have given back (all of `amount_cents` once `refunded`).
    pub refunded_cents: i64,
    /// The flat shipping fee included in `amount_cents` (physical products).
    #[serde(skip_serializing_if = "is_zero")]
    pub shipping_cents: i64,
    pub currency: String,
    /// `test` in embedded mode: no money moves.
    pub provider: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where a physical product goes (to its buyer, the storefront's owner and admins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Shipping>,
    /// A service's note from the buyer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Shipped (physical) or confirmed (service), once the creator did it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<Fulfilment>,
    /// What the buyer receives (on the order itself only): a digital product's download
    /// link, an event's tickets; once paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<delivery::Delivery>,
    /// The buyer's email: only to the storefront's owner and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl OrderView {
    pub fn new(o: &OrderRow, provider: &'static str) -> Self {
        let d = o.details();
        OrderView {
            id: o.id,
            status: o.status.clone(),
            kind: o.kind.clone(),
            product_id: o.product_id,
            storefront_id: o.storefront_id,
            drop_id: o.drop_id,
            variant_id: o.variant_id,
            hold_id: o.hold_id,
            quantity: o.quantity,
            amount_cents: o.amount_cents,
            refunded_cents: o.refunded_cents,
            shipping_cents: d.shipping_cents,
            currency: o.currency.clone(),
            provider,
            created_at: o.created_at.and_utc(),
            updated_at: o.updated_at.and_utc(),
            shipping: d.shipping,
            note: d.note,
            fulfilment: d.fulfilment,
            delivery: None,
            buyer_email: None,
        }
    }

    /// A listed order, and the buyer's email for the seller's view.
    pub fn listed(l: &ListedOrder, provider: &'static str, with_email: bool) -> Self {
        let mut v = OrderView::new(&l.order, provider);
        if with_email {
            v.buyer_email = Some(l.buyer_email.clone());
        }
        v
    }
}
