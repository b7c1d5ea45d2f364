//! What every handler can reach: the configuration and the parts chosen at start-up.
//!
//! The choice between embedded and cluster parts is made here, once; the rest of the code
//! holds trait objects and never asks which mode it is in.

use std::sync::Arc;

use lettre::message::Mailbox;

use crate::actors::registry::Registry;
use crate::auth::JwtKeys;
use crate::bus::{Bus, InProcessBus};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Store;
use crate::mail::queue::MailQueue;
use crate::mail::{Mail, Mailer, OutboxMailer};
use crate::payments::test_provider::TestProvider;
use crate::payments::PaymentProvider;
use crate::ratelimit::{InProcessLimiter, RateLimiter};
use crate::telemetry::Metrics;
use crate::ws::hub::Hub;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub bus: Arc<dyn Bus>,
    /// Outgoing mail: [`AppState::mail`] queues, the node's sender delivers.
    pub mail_queue: Arc<MailQueue>,
    pub limiter: Arc<dyn RateLimiter>,
    pub jwt: JwtKeys,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
    pub registry: Arc<Registry>,
    pub hub: Arc<Hub>,
    pub payments: Arc<dyn PaymentProvider>,
    /// Accounts deleted while their access tokens may still live.
    pub revoked: Arc<crate::auth::revoked::Revoked>,
    /// Signs digital products' download links (derived from the JWT secret, so every node
    /// of a cluster agrees on it).
    pub link_key: Arc<Vec<u8>>,
}

impl AppState {
    /// Connect everything the configuration names. Does not migrate or seed.
    pub async fn build(config: Config) -> Result<AppState, String> {
        let store = Store::connect(&config.database_url, config.db_pool_size).await?;
        let secret = jwt_secret(&config)?;
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| format!("MAIL_FROM: {e}"))?;
        let mailer: Arc<dyn Mailer> = match &config.smtp_url {
            Some(url) => Arc::new(crate::mail::smtp::SmtpMailer::new(url, from.clone())?),
            None => Arc::new(OutboxMailer::new(
                config.data_dir.join("outbox"),
                from.clone(),
            )?),
        };
        let (bus, limiter): (Arc<dyn Bus>, Arc<dyn RateLimiter>) = match &config.redis_url {
            Some(url) => (
                Arc::new(crate::bus::redis::RedisBus::connect(url).await?),
                Arc::new(crate::ratelimit::redis::RedisLimiter::connect(url).await?),
            ),
            None => (
                Arc::new(InProcessBus::new()),
                Arc::new(InProcessLimiter::new()),
            ),
        };
        let clock = Clock::default();
        let mail_queue = Arc::new(MailQueue::new(store.clone(), mailer, from, clock.clone()));
        let payments: Arc<dyn PaymentProvider> = match &config.payments {
            crate::config::Payments::Test { .. } => Arc::new(TestProvider::new(
                webhook_secret(&secret),
                &config.public_url,
            )),
            crate::config::Payments::Stripe {
                secret_key,
                webhook_secret,
                api_base,
                connect_api_base,
                ..
            } => Arc::new(
                crate::payments::stripe::StripeProvider::new(
                    secret_key.clone(),
                    webhook_secret.clone(),
                    api_base,
                    connect_api_base,
                )
                .map_err(|e| format!("stripe: {e}"))?,
            ),
        };
        let hub = Arc::new(Hub::default());
        let registry = Arc::new(Registry::new(
            store.clone(),
            bus.clone(),
            hub.clone(),
            clock.clone(),
        ));
        Ok(AppState {
            config: Arc::new(config),
            store,
            bus,
            clock,
            registry,
            hub,
            payments,
            mail_queue,
            limiter,
            jwt: JwtKeys::new(secret.as_bytes()),
            metrics: Arc::new(Metrics::default()),
            revoked: Arc::new(crate::auth::revoked::Revoked::default()),
            link_key: Arc::new(derived_key(&secret, b"livedrop download links")),
        })
    }

    /// Send `mail`: it is committed to the mail queue and delivered by the node's sender
    /// (retried until the relay takes it). Returns once queued, never waiting on the relay.
    pub async fn mail(&self, mail: Mail) -> crate::error::AppResult<()> {
        self.mail_queue.send(mail).await
    }
}

/// The configured secret, or in embedded mode one made on first start and kept in
/// `data_dir/jwt_secret` (mode 0600), so tokens survive a restart.
fn jwt_secret(config: &Config) -> Result<String, String> {
    if let Some(s) = &config.jwt_secret {
        return Ok(s.clone());
    }
    if !config.is_embedded() {
        return Err("JWT_SECRET is required with a postgres DATABASE_URL".into());
    }
    let path = config.data_dir.join("jwt_secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_string();
        if s.len() >= crate::config::MIN_JWT_SECRET_LEN {
            return Ok(s);
        }
    }
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    let (secret, _) = crate::auth::opaque_token();
    std::fs::write(&path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The secret signs every session: never leave it readable by other users.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            let _ = std::fs::remove_file(&path);
            format!("cannot make {} private (chmod 600): {e}", path.display())
        })?;
    }
    Ok(secret)
}

/// The test provider's webhook signing key, derived from the JWT secret so every node of a
/// cluster agrees on it without one more setting.
pub fn webhook_secret(jwt_secret: &str) -> Vec<u8> {
    derived_key(jwt_secret, b"livedrop test-provider webhooks")
}

/// A key for one purpose derived from the JWT secret (HMAC of the purpose).
fn derived_key(jwt_secret: &str, purpose: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    Hmac::<sha2::Sha256>::new_from_slice(jwt_secret.as_bytes())
        .map(|mut m| {
            m.update(purpose);
            m.finalize().into_bytes().to_vec()
        })
        .unwrap_or_else(|_| jwt_secret.as_bytes().to_vec())
}
