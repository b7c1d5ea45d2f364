//! Payments behind one trait. Embedded mode uses [`test_provider::TestProvider`]: a real
//! provider in every respect (asynchronous outcomes, signed webhooks, refunds) except that
//! no money moves, and it says so in every answer (`"provider": "test"`).

pub mod payout;
pub mod reconcile;
pub mod renew;
pub mod settle;
pub mod stripe;
pub mod test_provider;
pub mod webhook;

use async_trait::async_trait;

use crate::domain::ids::{OrderId, PayoutId, UserId};
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
    /// `charge.refunded`: everything refunded of the payment so far (minor units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_refunded: Option<i64>,
}

/// A creator's payout account at the provider, and where they finish setting it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutLink {
    pub account_ref: String,
    pub onboarding_url: String,
    /// Payouts may be sent to it already (the test provider's accounts are at once).
    pub enabled: bool,
}

/// One payout's money to a creator's account. `payout` is the idempotency key.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub payout: PayoutId,
    pub account_ref: String,
    pub amount_cents: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferOutcome {
    Paid {
        transfer_ref: String,
    },
    /// The provider refused it (the account cannot receive it): nothing was sent.
    Refused {
        reason: String,
    },
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
    /// The creator's payout account (`existing`, or a new one) and a link to finish its
    /// onboarding that comes back to `return_url`.
    async fn payout_account(
        &self,
        user: UserId,
        email: &str,
        existing: Option<&str>,
        return_url: &str,
    ) -> AppResult<PayoutLink>;
    /// Whether payouts may be sent to the account now.
    async fn account_enabled(&self, account_ref: &str) -> AppResult<bool>;
    /// Send a payout. The same payout sent twice (a run that died and is resumed) is one
    /// transfer. An error means the outcome is unknown: the payout stays pending and the
    /// next run sends it again.
    async fn transfer(&self, t: &Transfer) -> AppResult<TransferOutcome>;
}
