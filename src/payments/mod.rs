//! Payments behind one trait. Embedded mode uses [`test_provider::TestProvider`]: a real
//! provider in every respect (asynchronous outcomes, signed webhooks, refunds) except that
//! no money moves, and it says so in every answer (`"provider": "test"`).

pub mod reconcile;
pub mod renew;
pub mod settle;
pub mod stripe;
pub mod test_provider;
pub mod webhook;

use async_trait::async_trait;

use crate::domain::ids::OrderId;
use crate::error::AppResult;

/// What the provider is asked to charge.
#[derive(Debug, Clone)]
pub struct Charge {
    pub order: OrderId,
    pub amount_cents: i64,
    pub currency: String,
    /// The card (test provider) or payment method token (real providers).
    pub card: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// Paid now.
    Succeeded { payment_ref: String },
    /// Refused; nothing was taken. `payment_ref` names the refused attempt when the
    /// provider made one (kept on the order, for support).
    Declined {
        reason: String,
        payment_ref: Option<String>,
    },
    /// The outcome arrives later by webhook.
    Pending { payment_ref: String },
}

/// What the provider says of an order's payment when asked (reconciliation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentState {
    Succeeded {
        payment_ref: String,
    },
    Failed {
        payment_ref: String,
    },
    /// Not decided yet.
    Pending,
    /// The provider has no payment for this order: nothing was taken.
    NotCharged,
}

/// A verified provider event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderEvent {
    pub id: String,
    /// `payment.succeeded` or `payment.failed` (what we act on); any other provider
    /// event keeps its own type and is acknowledged without effect.
    #[serde(rename = "type")]
    pub kind: String,
    /// The order the payment is for (none on events that are not about a payment).
    pub order_id: Option<OrderId>,
    pub payment_ref: String,
}

#[async_trait]
pub trait PaymentProvider: Send + Sync + 'static {
    /// Shown to buyers and in API answers.
    fn name(&self) -> &'static str;
    async fn charge(&self, charge: Charge) -> AppResult<ChargeOutcome>;
    /// Give back `amount_cents` of the payment `payment_ref`. `key` names this refund
    /// (the same key for a retry of the same refund: the provider makes it once).
    async fn refund(&self, payment_ref: &str, amount_cents: i64, key: &str) -> AppResult<()>;
    /// The state of an order's payment (`payment_ref` if the charge answered with one):
    /// how an outcome whose webhook never came (a crash, a lost delivery) is learnt.
    async fn lookup(&self, order: OrderId, payment_ref: Option<&str>) -> AppResult<PaymentState>;
    /// Check a webhook's signature and read its event.
    fn verify_webhook(&self, payload: &[u8], signature: &str, now: i64)
        -> AppResult<ProviderEvent>;
}
