//! The built-in test provider (embedded mode). No money moves. Test cards:
//!
//! | card | outcome |
//! |---|---|
//! | `4242424242424242` | paid at once |
//! | `4000000000000002` | declined |
//! | `4000000000000077` | pending, then paid by a signed webhook after [`DELAY`] |
//! | `4000000000000119` | pending, then failed by a signed webhook after [`DELAY`] |
//!
//! A payment's reference says what it will become and when (`test_pay_<uuid v7>`, with
//! `_later_paid` or `_later_failed` for the delayed cards), so [`TestProvider::lookup`]
//! answers like a real provider's API after a restart, with no state of its own.
//!
//! Webhooks are POSTed to `{PUBLIC_URL}/api/payments/webhook`, signed like Stripe's, so the
//! webhook path is exercised exactly as in production.

use std::time::Duration;

use async_trait::async_trait;

use super::{
    webhook, Charge, ChargeOutcome, PaymentProvider, PaymentState, PayoutLink, ProviderEvent,
    Transfer, TransferOutcome,
};
use crate::domain::ids::{OrderId, UserId};
use crate::error::{AppError, AppResult};

pub const CARD_SUCCESS: &str = "4242424242424242";
pub const CARD_DECLINE: &str = "4000000000000002";
pub const CARD_DELAYED_SUCCESS: &str = "4000000000000077";
pub const CARD_DELAYED_FAILURE: &str = "4000000000000119";
/// How long a delayed outcome takes to arrive.
pub const DELAY: Duration = Duration::from_secs(2);
const LATER_PAID: &str = "_later_paid";
const LATER_FAILED: &str = "_later_failed";

pub struct TestProvider {
    secret: Vec<u8>,
    webhook_url: String,
    http: reqwest::Client,
}

impl TestProvider {
    pub fn new(secret: Vec<u8>, public_url: &str) -> Self {
        TestProvider {
            secret,
            webhook_url: format!("{public_url}/api/payments/webhook"),
            http: reqwest::Client::new(),
        }
    }

    /// Sign an event as this provider does (tests use it to send their own).
    pub fn signed(&self, event: &ProviderEvent, t: i64) -> (String, String) {
        let body = serde_json::to_string(event).unwrap_or_default();
        let sig = webhook::sign(&self.secret, body.as_bytes(), t);
        (body, sig)
    }

    fn later(&self, event: ProviderEvent) {
        let (http, url) = (self.http.clone(), self.webhook_url.clone());
        let secret = self.secret.clone();
        tokio::spawn(async move {
            tokio::time::sleep(DELAY).await;
            let body = serde_json::to_string(&event).unwrap_or_default();
            // Retried like a real provider's, a few times with backoff.
            for attempt in 0..5u32 {
                let sig = webhook::sign(&secret, body.as_bytes(), chrono::Utc::now().timestamp());
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("stripe-signature", sig)
                    .body(body.clone())
                    .send()
                    .await;
                if matches!(&r, Ok(res) if res.status().is_success()) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
            tracing::warn!(event = %event.id, "test provider gave up delivering a webhook");
        });
    }
}

#[async_trait]
impl PaymentProvider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }

    async fn charge(&self, charge: Charge) -> AppResult<ChargeOutcome> {
        let payment_ref = format!("test_pay_{}", uuid::Uuid::now_v7().simple());
        let card: String = charge.card.chars().filter(|c| !c.is_whitespace()).collect();
        Ok(match card.as_str() {
            CARD_SUCCESS => ChargeOutcome::Succeeded { payment_ref },
            CARD_DECLINE => ChargeOutcome::Declined {
                reason: "card_declined".into(),
                payment_ref: None,
            },
            CARD_DELAYED_SUCCESS | CARD_DELAYED_FAILURE => {
                let (kind, later) = if card == CARD_DELAYED_SUCCESS {
                    ("payment.succeeded", LATER_PAID)
                } else {
                    ("payment.failed", LATER_FAILED)
                };
                let payment_ref = format!("{payment_ref}{later}");
                self.later(ProviderEvent {
                    id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
                    kind: kind.into(),
                    order_id: Some(charge.order),
                    payment_ref: payment_ref.clone(),
                    amount_refunded: None,
                });
                ChargeOutcome::Pending { payment_ref }
            }
            _ => {
                return Err(AppError::field(
                    "card",
                    "this is the test provider: use 4242424242424242 (paid), 4000000000000002 (declined), 4000000000000077 (paid later) or 4000000000000119 (fails later)",
                ))
            }
        })
    }

    async fn refund(&self, payment_ref: &str, amount_cents: i64, key: &str) -> AppResult<()> {
        tracing::info!(%payment_ref, amount_cents, %key, "test provider refund (no money moves)");
        Ok(())
    }

    async fn lookup(&self, _order: OrderId, payment_ref: Option<&str>) -> AppResult<PaymentState> {
        // Without a reference the charge never answered: this provider took nothing.
        let Some(r) = payment_ref else {
            return Ok(PaymentState::NotCharged);
        };
        let Some(rest) = r.strip_prefix("test_pay_") else {
            return Ok(PaymentState::NotCharged);
        };
        let (id, later) = match (
            rest.strip_suffix(LATER_PAID),
            rest.strip_suffix(LATER_FAILED),
        ) {
            (Some(id), _) => (id, Some(true)),
            (_, Some(id)) => (id, Some(false)),
            _ => (rest, None),
        };
        let Some(charged_at) = uuid::Uuid::parse_str(id)
            .ok()
            .and_then(|u| u.get_timestamp())
            .map(|t| t.to_unix())
        else {
            return Ok(PaymentState::NotCharged);
        };
        let payment_ref = r.to_string();
        Ok(match later {
            None => PaymentState::Succeeded { payment_ref },
            Some(paid) => {
                let due = Duration::new(charged_at.0, charged_at.1) + DELAY;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                if now < due {
                    PaymentState::Pending
                } else if paid {
                    PaymentState::Succeeded { payment_ref }
                } else {
                    PaymentState::Failed { payment_ref }
                }
            }
        })
    }

    fn verify_webhook(
        &self,
        payload: &[u8],
        signature: &str,
        now: i64,
    ) -> AppResult<ProviderEvent> {
        webhook::check(&self.secret, payload, signature, now)?;
        serde_json::from_slice(payload)
            .map_err(|_| AppError::InvalidJson("not a provider event".into()))
    }

    /// Connected at once; the onboarding link is the local page the creator came from.
    async fn payout_account(
        &self,
        user: UserId,
        _email: &str,
        existing: Option<&str>,
        return_url: &str,
    ) -> AppResult<PayoutLink> {
        Ok(PayoutLink {
            account_ref: existing.map_or_else(|| format!("acct_test_{user}"), str::to_string),
            onboarding_url: return_url.to_string(),
            enabled: true,
        })
    }

    async fn account_enabled(&self, _account_ref: &str) -> AppResult<bool> {
        Ok(true)
    }

    /// No money moves: the transfer's reference is the payout's, so the same payout sent
    /// twice is one transfer.
    async fn transfer(&self, t: &Transfer) -> AppResult<TransferOutcome> {
        Ok(TransferOutcome::Paid {
            transfer_ref: format!("tr_test_{}", t.payout),
        })
    }
}
