//! Stripe, over its HTTP API (`reqwest`, rustls), behind [`PaymentProvider`].
//!
//! Why not the `async-stripe` crate named on the card: its typed models (1.0.0-rc.10 and
//! 0.41 alike) require fields that the fake Stripe our tests run against (`localstripe`)
//! leaves out (`amount_received`, `payment_method_types`, the Charge's `disputed`, the
//! Event's `pending_webhooks`…), so every PaymentIntent call and every webhook failed to
//! parse there; and it adds ~240,000 lines of generated code for the four calls we make.
//! Here the replies are read into small structs that keep only what we use, so real
//! Stripe and localstripe are read alike.
//!
//! A payment is a PaymentIntent created with the order's id in its metadata (and as the
//! idempotency key), then confirmed: two calls, so that a decline still names the intent.
//! Cards settle at once (`succeeded`); 3-D Secure or a bank debit answer `processing` or
//! `requires_action`, and the outcome comes by webhook (`payment_intent.succeeded` /
//! `payment_intent.payment_failed`), signed with the endpoint's secret (Stripe's scheme,
//! [`super::webhook`]).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{
    webhook, Charge, ChargeOutcome, PaymentProvider, PaymentState, PayoutLink, ProviderEvent,
    Transfer, TransferOutcome,
};
use crate::domain::ids::{OrderId, UserId};
use crate::error::{AppError, AppResult};

/// Stripe's API, unless `STRIPE_API_BASE` points elsewhere (a local fake in tests).
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// A call to Stripe that takes longer than this is an error (the order is reconciled).
const TIMEOUT: Duration = Duration::from_secs(20);

pub struct StripeProvider {
    http: reqwest::Client,
    base: String,
    /// Connect's accounts and transfers (`STRIPE_CONNECT_API_BASE`; by default `base`).
    connect_base: String,
    secret_key: String,
    webhook_secret: Vec<u8>,
}

/// The parts of a Connect account we read.
#[derive(Debug, Deserialize)]
struct Account {
    id: String,
    #[serde(default)]
    payouts_enabled: bool,
}

/// An account link, a transfer: their id or URL.
#[derive(Debug, Deserialize)]
struct Created {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// The parts of a PaymentIntent we read.
#[derive(Debug, Deserialize)]
struct Intent {
    id: String,
    status: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
    #[serde(default)]
    last_payment_error: Option<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ApiError,
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: EventObject,
}

#[derive(Debug, Deserialize)]
struct EventObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
    /// A Charge's PaymentIntent (`charge.refunded`).
    #[serde(default)]
    payment_intent: Option<String>,
    /// A Charge's total refunded so far.
    #[serde(default)]
    amount_refunded: Option<i64>,
}

/// What a call answered: the body on success, Stripe's error (with its HTTP status) else.
enum Reply<T> {
    Ok(T),
    Refused(u16, ApiError),
}

impl StripeProvider {
    pub fn new(
        secret_key: String,
        webhook_secret: String,
        api_base: &str,
        connect_api_base: &str,
    ) -> AppResult<Self> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| AppError::internal(format!("stripe client: {e}")))?;
        Ok(StripeProvider {
            http,
            base: api_base.trim_end_matches('/').to_string(),
            connect_base: connect_api_base.trim_end_matches('/').to_string(),
            secret_key,
            webhook_secret: webhook_secret.into_bytes(),
        })
    }

    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> AppResult<Reply<T>> {
        let res = req
            .bearer_auth(&self.secret_key)
            .send()
            .await
            .map_err(|e| AppError::unavailable(format!("stripe {what}: {e}")))?;
        let status = res.status();
        let body = res
            .bytes()
            .await
            .map_err(|e| AppError::unavailable(format!("stripe {what}: {e}")))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map(Reply::Ok)
                .map_err(|e| AppError::internal(format!("stripe {what}: unreadable answer: {e}")));
        }
        // 4xx with Stripe's error body: a refusal we act on (a decline, an unknown
        // intent). Anything else (5xx, a proxy's page) is the provider being unavailable.
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) if status.is_client_error() => Ok(Reply::Refused(status.as_u16(), e.error)),
            _ => Err(AppError::unavailable(format!(
                "stripe {what}: HTTP {status}"
            ))),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.base)
    }

    fn connect_url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.connect_base)
    }

    fn state_of(intent: Intent) -> PaymentState {
        match intent.status.as_str() {
            "succeeded" => PaymentState::Succeeded {
                payment_ref: intent.id,
            },
            // A confirmation that failed leaves the intent waiting for another method: for
            // us the order's payment failed (a new checkout makes a new intent).
            "requires_payment_method" | "canceled" if intent.last_payment_error.is_some() => {
                PaymentState::Failed {
                    payment_ref: intent.id,
                }
            }
            "canceled" => PaymentState::Failed {
                payment_ref: intent.id,
            },
            // Created but never confirmed: nothing was taken.
            "requires_payment_method" | "requires_confirmation" => PaymentState::NotCharged,
            _ => PaymentState::Pending,
        }
    }
}

fn reason(e: &ApiError) -> String {
    e.decline_code
        .clone()
        .or_else(|| e.code.clone())
        .or_else(|| e.message.clone())
        .unwrap_or_else(|| "declined".into())
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn charge(&self, charge: Charge) -> AppResult<ChargeOutcome> {
        let method = charge.card.trim();
        if method.is_empty() || method.len() > 255 || !method.is_ascii() {
            return Err(AppError::field(
                "payment_method",
                "a Stripe PaymentMethod id (pm_…) from the Payment Element",
            ));
        }
        let order = charge.order.to_string();
        let form = [
            ("amount", charge.amount_cents.to_string()),
            ("currency", charge.currency.to_ascii_lowercase()),
            ("payment_method", method.to_string()),
            ("payment_method_types[]", "card".to_string()),
            ("metadata[order_id]", order.clone()),
        ];
        let created: Reply<Intent> = self
            .call(
                self.http
                    .post(self.url("payment_intents"))
                    .header("Idempotency-Key", format!("livedrop-pi-{order}"))
                    .form(&form),
                "create payment",
            )
            .await?;
        let intent = match created {
            Reply::Ok(i) => i,
            // The method itself was refused (unknown, or not usable): nothing was taken.
            Reply::Refused(_, e) => {
                return Ok(ChargeOutcome::Declined {
                    reason: reason(&e),
                    payment_ref: None,
                })
            }
        };
        let confirmed: Reply<Intent> = self
            .call(
                self.http
                    .post(self.url(&format!("payment_intents/{}/confirm", intent.id)))
                    .header("Idempotency-Key", format!("livedrop-confirm-{order}"))
                    .form(&[] as &[(&str, &str)]),
                "confirm payment",
            )
            .await?;
        Ok(match confirmed {
            Reply::Ok(i) => match i.status.as_str() {
                "succeeded" => ChargeOutcome::Succeeded { payment_ref: i.id },
                "requires_payment_method" | "canceled" => ChargeOutcome::Declined {
                    payment_ref: Some(i.id.clone()),
                    reason: i
                        .last_payment_error
                        .as_ref()
                        .map_or_else(|| "declined".into(), reason),
                },
                // processing, requires_action: the webhook (or reconciliation) decides.
                _ => ChargeOutcome::Pending { payment_ref: i.id },
            },
            // 402: the card was declined.
            Reply::Refused(_, e) => ChargeOutcome::Declined {
                reason: reason(&e),
                payment_ref: Some(intent.id),
            },
        })
    }

    async fn refund(&self, payment_ref: &str, amount_cents: i64, key: &str) -> AppResult<()> {
        let form = [
            ("payment_intent", payment_ref.to_string()),
            ("amount", amount_cents.to_string()),
        ];
        let r: Reply<serde_json::Value> = self
            .call(
                self.http
                    .post(self.url("refunds"))
                    .header("Idempotency-Key", format!("livedrop-refund-{key}"))
                    .form(&form),
                "refund",
            )
            .await?;
        match r {
            Reply::Ok(_) => Ok(()),
            Reply::Refused(status, e) => Err(AppError::unavailable(format!(
                "stripe refused the refund (HTTP {status}): {}",
                reason(&e)
            ))),
        }
    }

    async fn lookup(&self, order: OrderId, payment_ref: Option<&str>) -> AppResult<PaymentState> {
        if let Some(r) = payment_ref {
            let req = self.http.get(self.url(&format!("payment_intents/{r}")));
            return match self.call::<Intent>(req, "payment lookup").await? {
                Reply::Ok(i) => Ok(Self::state_of(i)),
                Reply::Refused(404, _) => Ok(PaymentState::NotCharged),
                Reply::Refused(status, e) => Err(AppError::unavailable(format!(
                    "stripe payment lookup (HTTP {status}): {}",
                    reason(&e)
                ))),
            };
        }
        // The charge never answered: find the intent by the order in its metadata.
        let req = self
            .http
            .get(self.url("payment_intents/search"))
            .query(&[("query", format!("metadata['order_id']:'{order}'"))]);
        #[derive(Deserialize)]
        struct Found {
            data: Vec<Intent>,
        }
        match self.call::<Found>(req, "payment search").await? {
            Reply::Ok(f) => {
                // Several intents for one order only if a create was retried: any that
                // took money decides (a second one is refunded as a late payment).
                let mut states: Vec<PaymentState> = f
                    .data
                    .into_iter()
                    .filter(|i| i.metadata.get("order_id") == Some(&order.to_string()))
                    .map(Self::state_of)
                    .collect();
                states.sort_by_key(|s| match s {
                    PaymentState::Succeeded { .. } => 0,
                    PaymentState::Pending => 1,
                    PaymentState::Failed { .. } => 2,
                    PaymentState::NotCharged => 3,
                });
                Ok(states
                    .into_iter()
                    .next()
                    .unwrap_or(PaymentState::NotCharged))
            }
            // No search (a fake Stripe without it): not knowing is not "not charged".
            Reply::Refused(status, e) => Err(AppError::unavailable(format!(
                "stripe payment search (HTTP {status}): {}",
                reason(&e)
            ))),
        }
    }

    fn verify_webhook(
        &self,
        payload: &[u8],
        signature: &str,
        now: i64,
    ) -> AppResult<ProviderEvent> {
        webhook::check(&self.webhook_secret, payload, signature, now)?;
        let e: Event = serde_json::from_slice(payload)
            .map_err(|_| AppError::InvalidJson("not a Stripe event".into()))?;
        let is_intent = e.data.object.object.as_deref() == Some("payment_intent");
        let kind = match e.kind.as_str() {
            "payment_intent.succeeded" if is_intent => "payment.succeeded".to_string(),
            "payment_intent.payment_failed" if is_intent => "payment.failed".to_string(),
            other => other.to_string(),
        };
        let o = e.data.object;
        let is_charge = o.object.as_deref() == Some("charge");
        Ok(ProviderEvent {
            id: e.id,
            kind,
            order_id: o.metadata.get("order_id").and_then(|o| OrderId::parse(o)),
            // A charge's event is about its PaymentIntent (our payment reference).
            payment_ref: if is_charge {
                o.payment_intent.unwrap_or_default()
            } else {
                o.id.unwrap_or_default()
            },
            amount_refunded: if is_charge { o.amount_refunded } else { None },
        })
    }

    /// An Express account (created once per creator: the idempotency key is theirs) and an
    /// onboarding link for it.
    async fn payout_account(
        &self,
        user: UserId,
        email: &str,
        existing: Option<&str>,
        return_url: &str,
    ) -> AppResult<PayoutLink> {
        let (account_ref, enabled) = match existing {
            Some(a) => (a.to_string(), self.account_enabled(a).await?),
            None => {
                let form = [
                    ("type", "express".to_string()),
                    ("email", email.to_string()),
                    ("capabilities[transfers][requested]", "true".to_string()),
                    ("metadata[user_id]", user.to_string()),
                ];
                let r: Reply<Account> = self
                    .call(
                        self.http
                            .post(self.connect_url("accounts"))
                            .header("Idempotency-Key", format!("livedrop-account-{user}"))
                            .form(&form),
                        "create account",
                    )
                    .await?;
                match r {
                    Reply::Ok(a) => (a.id, a.payouts_enabled),
                    Reply::Refused(status, e) => {
                        return Err(AppError::unavailable(format!(
                            "stripe account (HTTP {status}): {}",
                            reason(&e)
                        )))
                    }
                }
            }
        };
        let form = [
            ("account", account_ref.clone()),
            ("refresh_url", return_url.to_string()),
            ("return_url", return_url.to_string()),
            ("type", "account_onboarding".to_string()),
        ];
        let r: Reply<Created> = self
            .call(
                self.http
                    .post(self.connect_url("account_links"))
                    .form(&form),
                "account link",
            )
            .await?;
        match r {
            Reply::Ok(Created { url: Some(url), .. }) => Ok(PayoutLink {
                account_ref,
                onboarding_url: url,
                enabled,
            }),
            Reply::Ok(_) => Err(AppError::internal("stripe account link without a url")),
            Reply::Refused(status, e) => Err(AppError::unavailable(format!(
                "stripe account link (HTTP {status}): {}",
                reason(&e)
            ))),
        }
    }

    async fn account_enabled(&self, account_ref: &str) -> AppResult<bool> {
        let r: Reply<Account> = self
            .call(
                self.http
                    .get(self.connect_url(&format!("accounts/{account_ref}"))),
                "account",
            )
            .await?;
        match r {
            Reply::Ok(a) => Ok(a.payouts_enabled),
            Reply::Refused(404, _) => Ok(false),
            Reply::Refused(status, e) => Err(AppError::unavailable(format!(
                "stripe account (HTTP {status}): {}",
                reason(&e)
            ))),
        }
    }

    /// A Transfer to the connected account, its idempotency key the payout's id: sent again
    /// after a crash, Stripe answers the first transfer.
    async fn transfer(&self, t: &Transfer) -> AppResult<TransferOutcome> {
        let form = [
            ("amount", t.amount_cents.to_string()),
            ("currency", t.currency.to_ascii_lowercase()),
            ("destination", t.account_ref.clone()),
            ("metadata[payout_id]", t.payout.to_string()),
        ];
        let r: Reply<Created> = self
            .call(
                self.http
                    .post(self.connect_url("transfers"))
                    .header("Idempotency-Key", format!("livedrop-payout-{}", t.payout))
                    .form(&form),
                "transfer",
            )
            .await?;
        Ok(match r {
            Reply::Ok(Created { id: Some(id), .. }) => TransferOutcome::Paid { transfer_ref: id },
            Reply::Ok(_) => return Err(AppError::internal("stripe transfer without an id")),
            // The same key in flight (another node resuming this payout) or rate limited:
            // not a refusal of the transfer; it stays pending and is sent again.
            Reply::Refused(status @ (409 | 429), e) => {
                return Err(AppError::unavailable(format!(
                    "stripe transfer (HTTP {status}): {}",
                    reason(&e)
                )))
            }
            Reply::Refused(_, e) => TransferOutcome::Refused { reason: reason(&e) },
        })
    }
}
