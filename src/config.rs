//! Configuration: one typed struct, read once at start-up from the environment (and `.env`).
//!
//! Every variable is documented in the README's configuration table. A value that cannot
//! be used stops start-up with a message naming the variable; nothing later re-reads the
//! environment, so the rest of the code never asks which mode it runs in.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A rate limit: at most `max` events per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn per(max: u32, secs: u64) -> Self {
        Limit {
            max,
            window: Duration::from_secs(secs),
        }
    }
}

/// The named rate limits. `None` everywhere when `RATE_LIMITS=off`.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Login attempts per email address.
    pub login_email: Option<Limit>,
    /// Login attempts per client IP.
    pub login_ip: Option<Limit>,
    /// Registrations per client IP.
    pub register_ip: Option<Limit>,
    /// Mails requested (verification resend, password reset) per email address.
    pub mail_email: Option<Limit>,
    /// Hold requests per account (a bot hammering one drop is slowed, not the drop).
    pub hold_account: Option<Limit>,
    /// Hold requests per client IP.
    pub hold_ip: Option<Limit>,
}

impl RateLimits {
    pub fn off() -> Self {
        RateLimits {
            login_email: None,
            login_ip: None,
            register_ip: None,
            mail_email: None,
            hold_account: None,
            hold_ip: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Who takes the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payments {
    /// The built-in test provider: no money moves. `explicit` when `PAYMENT_PROVIDER=test`
    /// was set (a cluster node serves with it only then, and says so everywhere).
    Test { explicit: bool },
    /// Stripe (`STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`, `STRIPE_API_BASE`, and
    /// `STRIPE_CONNECT_API_BASE` for Connect's accounts and transfers, by default the same).
    Stripe {
        secret_key: String,
        webhook_secret: String,
        api_base: String,
        connect_api_base: String,
        /// `STRIPE_PUBLISHABLE_KEY` (`pk_…`): the pages' Payment Element. Without it the
        /// pages cannot take a card, and say so.
        publishable_key: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://path` (embedded mode) or `postgres://…` (cluster mode).
    pub database_url: String,
    /// Redis for the bus and rate limits in cluster mode; in-process when absent.
    pub redis_url: Option<String>,
    /// SMTP relay (`smtp://`, `smtps://`); without it mail is written to `data_dir/outbox`.
    pub smtp_url: Option<String>,
    /// The `From:` of every mail.
    pub mail_from: String,
    /// HS256 key for access tokens. Embedded mode makes one and keeps it in `data_dir`.
    pub jwt_secret: Option<String>,
    pub bind: SocketAddr,
    /// The address people reach the service at; used in mail links.
    pub public_url: String,
    pub log_format: LogFormat,
    pub rate_limits: RateLimits,
    /// Origins allowed by CORS (`*` for any); empty means same-origin only.
    pub cors_origins: Vec<String>,
    /// Where embedded mode keeps its database, secret and outbox.
    pub data_dir: PathBuf,
    /// Connections in the store pool.
    pub db_pool_size: usize,
    /// Take the client address from `X-Forwarded-For` (set behind a load balancer you
    /// run; never on a node reachable directly, or clients could pick their own address).
    pub trust_proxy_headers: bool,
    /// Seed the demo storefront when the store is empty (`serve` in embedded mode).
    pub seed_demo: bool,
    /// The bearer token `/metrics` asks for; without one `/metrics` is not served (it
    /// tells which routes are used and how the pools fare: not for everybody).
    pub metrics_token: Option<String>,
    /// The payment provider (`PAYMENT_PROVIDER=test|stripe`).
    pub payments: Payments,
    /// The platform's fee in basis points (`PLATFORM_FEE_BP`), fixed on each storefront and
    /// drop when it is created.
    pub platform_fee_bp: i64,
    /// Days before a credit is available for payout (`PAYOUT_DELAY_DAYS`): refunds inside
    /// that window never overdraw.
    pub payout_delay_days: i64,
    /// The smallest payout (`PAYOUT_MINIMUM_CENTS`, minor units of its currency; default
    /// 100): a smaller available balance waits for the next run.
    pub payout_minimum_cents: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// Minimum length of a JWT secret we accept in cluster mode (256 bits of hex or text).
pub const MIN_JWT_SECRET_LEN: usize = 32;

impl Config {
    /// Read from the process environment (after loading `.env` if there is one).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read through any lookup function; tests pass a map.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = get("DATABASE_URL").unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                data_dir.join("livedrop.db").to_string_lossy()
            )
        });
        if !(database_url.starts_with("sqlite://")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(bad(
                "DATABASE_URL",
                "must start with sqlite:// or postgres://",
            ));
        }
        let is_pg = !database_url.starts_with("sqlite://");

        let redis_url = get("REDIS_URL");
        if let Some(u) = &redis_url {
            if !(u.starts_with("redis://") || u.starts_with("rediss://")) {
                return Err(bad("REDIS_URL", "must start with redis:// or rediss://"));
            }
        }
        let smtp_url = get("SMTP_URL");
        if let Some(u) = &smtp_url {
            if !(u.starts_with("smtp://") || u.starts_with("smtps://")) {
                return Err(bad("SMTP_URL", "must start with smtp:// or smtps://"));
            }
        }
        let jwt_secret = get("JWT_SECRET");
        match &jwt_secret {
            Some(s) if s.len() < MIN_JWT_SECRET_LEN => {
                return Err(bad(
                    "JWT_SECRET",
                    format!("must be at least {MIN_JWT_SECRET_LEN} characters"),
                ))
            }
            None if is_pg => {
                return Err(bad(
                    "JWT_SECRET",
                    "is required with a postgres DATABASE_URL (every node must share it)",
                ))
            }
            _ => {}
        }
        let bind: SocketAddr = get("BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|_| bad("BIND", "must be an address like 127.0.0.1:8080"))?;
        let public_url = get("PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_string();
        if url::Url::parse(&public_url).is_err() {
            return Err(bad("PUBLIC_URL", "must be an absolute URL"));
        }
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") | Some("text") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(bad("LOG_FORMAT", "must be `pretty` or `json`")),
        };
        let rate_limits = match get("RATE_LIMITS").as_deref() {
            Some("off") => RateLimits::off(),
            None | Some("on") => RateLimits {
                login_email: parse_limit(&get, "RATE_LIMIT_LOGIN_EMAIL", Limit::per(10, 300))?,
                login_ip: parse_limit(&get, "RATE_LIMIT_LOGIN_IP", Limit::per(30, 60))?,
                register_ip: parse_limit(&get, "RATE_LIMIT_REGISTER_IP", Limit::per(20, 3600))?,
                mail_email: parse_limit(&get, "RATE_LIMIT_MAIL_EMAIL", Limit::per(5, 3600))?,
                hold_account: parse_limit(&get, "RATE_LIMIT_HOLD_ACCOUNT", Limit::per(30, 60))?,
                hold_ip: parse_limit(&get, "RATE_LIMIT_HOLD_IP", Limit::per(300, 60))?,
            },
            Some(_) => return Err(bad("RATE_LIMITS", "must be `on` or `off`")),
        };
        let trust_proxy_headers = match get("TRUST_PROXY_HEADERS").as_deref() {
            None | Some("0") | Some("false") | Some("off") => false,
            Some("1") | Some("true") | Some("on") => true,
            Some(_) => return Err(bad("TRUST_PROXY_HEADERS", "must be true or false")),
        };
        let cors_origins = get("CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let db_pool_size = match get("DB_POOL_SIZE") {
            None => 16,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| bad("DB_POOL_SIZE", "must be a number from 1 to 1000"))?,
        };
        let seed_demo = match get("SEED_DEMO").as_deref() {
            None => !is_pg,
            Some("1") | Some("true") | Some("on") => true,
            Some("0") | Some("false") | Some("off") => false,
            Some(_) => return Err(bad("SEED_DEMO", "must be true or false")),
        };
        let metrics_token = match get("METRICS_TOKEN") {
            None => None,
            Some(t) if t.len() >= 16 && t.bytes().all(|b| b.is_ascii_graphic()) => Some(t),
            Some(_) => {
                return Err(bad(
                    "METRICS_TOKEN",
                    "must be at least 16 visible ASCII characters",
                ))
            }
        };
        let mail_from =
            get("MAIL_FROM").unwrap_or_else(|| "livedrop <no-reply@livedrop.local>".into());
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(bad("MAIL_FROM", "must be a mailbox like `Name <a@b.c>`"));
        }
        let payments = parse_payments(&get)?;
        let platform_fee_bp = match get("PLATFORM_FEE_BP") {
            None => 500,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (0..crate::domain::split::WHOLE_BP).contains(n))
                .ok_or_else(|| bad("PLATFORM_FEE_BP", "must be basis points from 0 to 9999"))?,
        };
        let payout_delay_days = match get("PAYOUT_DELAY_DAYS") {
            None => 7,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=365).contains(n))
                .ok_or_else(|| {
                    bad(
                        "PAYOUT_DELAY_DAYS",
                        "must be a number of days from 0 to 365",
                    )
                })?,
        };
        let payout_minimum_cents = match get("PAYOUT_MINIMUM_CENTS") {
            None => 100,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=100_000_000).contains(n))
                .ok_or_else(|| {
                    bad(
                        "PAYOUT_MINIMUM_CENTS",
                        "must be minor units from 1 to 100000000",
                    )
                })?,
        };
        Ok(Config {
            payments,
            platform_fee_bp,
            payout_delay_days,
            payout_minimum_cents,
            database_url,
            redis_url,
            smtp_url,
            mail_from,
            jwt_secret,
            bind,
            public_url,
            log_format,
            rate_limits,
            cors_origins,
            data_dir,
            db_pool_size,
            seed_demo,
            trust_proxy_headers,
            metrics_token,
        })
    }

    pub fn is_embedded(&self) -> bool {
        self.database_url.starts_with("sqlite://")
    }

    /// What `serve` requires beyond a readable configuration: a cluster node takes real
    /// payments, so it never falls back to the test provider unless told to.
    pub fn check_serve(&self) -> Result<(), ConfigError> {
        if !self.is_embedded() && self.payments == (Payments::Test { explicit: false }) {
            return Err(bad(
                "PAYMENT_PROVIDER",
                "a cluster node takes real payments: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, \
                 or PAYMENT_PROVIDER=test to serve with the test provider (no money moves, and every page says so)",
            ));
        }
        Ok(())
    }

    /// The test provider serving where real payments are expected (a cluster node with
    /// `PAYMENT_PROVIDER=test`): every answer and page says so.
    pub fn says_test_payments(&self) -> bool {
        !self.is_embedded() && matches!(self.payments, Payments::Test { .. })
    }
}

/// `PAYMENT_PROVIDER`, and Stripe's keys when it is (or, unset, when a key is given) Stripe.
fn parse_payments(get: &impl Fn(&str) -> Option<String>) -> Result<Payments, ConfigError> {
    let stripe = match get("PAYMENT_PROVIDER").as_deref() {
        Some("test") => return Ok(Payments::Test { explicit: true }),
        Some("stripe") => true,
        None => get("STRIPE_SECRET_KEY").is_some(),
        Some(_) => return Err(bad("PAYMENT_PROVIDER", "must be `test` or `stripe`")),
    };
    if !stripe {
        return Ok(Payments::Test { explicit: false });
    }
    let secret_key = get("STRIPE_SECRET_KEY")
        .filter(|k| k.starts_with("sk_") || k.starts_with("rk_"))
        .ok_or_else(|| {
            bad(
                "STRIPE_SECRET_KEY",
                "Stripe's secret key (sk_…) is required",
            )
        })?;
    let webhook_secret = get("STRIPE_WEBHOOK_SECRET").ok_or_else(|| {
        bad(
            "STRIPE_WEBHOOK_SECRET",
            "the webhook endpoint's signing secret (whsec_…) is required",
        )
    })?;
    let api_base =
        get("STRIPE_API_BASE").unwrap_or_else(|| crate::payments::stripe::DEFAULT_API_BASE.into());
    match url::Url::parse(&api_base) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => return Err(bad("STRIPE_API_BASE", "must be an http(s) URL")),
    }
    let connect_api_base = get("STRIPE_CONNECT_API_BASE").unwrap_or_else(|| api_base.clone());
    match url::Url::parse(&connect_api_base) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => return Err(bad("STRIPE_CONNECT_API_BASE", "must be an http(s) URL")),
    }
    let publishable_key = match get("STRIPE_PUBLISHABLE_KEY") {
        None => None,
        Some(k)
            if k.starts_with("pk_")
                && k.len() <= 255
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            Some(k)
        }
        Some(_) => {
            return Err(bad(
                "STRIPE_PUBLISHABLE_KEY",
                "Stripe's publishable key (pk_…) is expected",
            ))
        }
    };
    Ok(Payments::Stripe {
        secret_key,
        webhook_secret,
        api_base,
        connect_api_base,
        publishable_key,
    })
}

/// `N/SECONDS`, or `off`.
fn parse_limit(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: Limit,
) -> Result<Option<Limit>, ConfigError> {
    let Some(v) = get(var) else {
        return Ok(Some(default));
    };
    if v == "off" {
        return Ok(None);
    }
    let (n, s) = v
        .split_once('/')
        .ok_or_else(|| bad(var, "must look like 10/60 (count per seconds) or `off`"))?;
    let max = n.trim().parse::<u32>().ok().filter(|n| *n > 0);
    let secs = s.trim().parse::<u64>().ok().filter(|s| *s > 0);
    match (max, secs) {
        (Some(max), Some(secs)) => Ok(Some(Limit::per(max, secs))),
        _ => Err(bad(
            var,
            "must look like 10/60 (count per seconds) or `off`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |k| m.get(k).cloned())
    }

    #[test]
    fn defaults_are_embedded() {
        let c = cfg(&[]).unwrap();
        assert!(c.is_embedded());
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert!(c.rate_limits.login_email.is_some());
    }

    #[test]
    fn postgres_requires_a_long_secret() {
        let e = cfg(&[("DATABASE_URL", "postgres://x/y")]).unwrap_err();
        assert_eq!(e.var, "JWT_SECRET");
        let e = cfg(&[("DATABASE_URL", "postgres://x/y"), ("JWT_SECRET", "short")]).unwrap_err();
        assert_eq!(e.var, "JWT_SECRET");
        let long = "k".repeat(40);
        assert!(cfg(&[("DATABASE_URL", "postgres://x/y"), ("JWT_SECRET", &long)]).is_ok());
    }

    #[test]
    fn a_cluster_node_never_falls_back_to_the_test_provider() {
        let long = "k".repeat(40);
        let pg = [
            ("DATABASE_URL", "postgres://x/y"),
            ("JWT_SECRET", long.as_str()),
        ];
        let c = cfg(&pg).unwrap();
        assert_eq!(c.payments, Payments::Test { explicit: false });
        assert_eq!(c.check_serve().unwrap_err().var, "PAYMENT_PROVIDER");
        let c = cfg(&[pg[0], pg[1], ("PAYMENT_PROVIDER", "test")]).unwrap();
        assert!(c.check_serve().is_ok());
        assert!(c.says_test_payments());
        let c = cfg(&[
            pg[0],
            pg[1],
            ("STRIPE_SECRET_KEY", "sk_test_1"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_1"),
        ])
        .unwrap();
        assert!(matches!(c.payments, Payments::Stripe { .. }));
        assert!(c.check_serve().is_ok());
        assert!(!c.says_test_payments());
        // Embedded mode serves with the test provider by default, without a banner.
        let c = cfg(&[]).unwrap();
        assert!(c.check_serve().is_ok());
        assert!(!c.says_test_payments());
        // Stripe without its webhook secret, or with a key that is not one.
        let e = cfg(&[
            ("PAYMENT_PROVIDER", "stripe"),
            ("STRIPE_SECRET_KEY", "sk_x"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "STRIPE_WEBHOOK_SECRET");
        let e = cfg(&[
            ("STRIPE_SECRET_KEY", "pk_x"),
            ("STRIPE_WEBHOOK_SECRET", "w"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "STRIPE_SECRET_KEY");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, val) in [
            ("BIND", "nope"),
            ("LOG_FORMAT", "xml"),
            ("RATE_LIMITS", "maybe"),
            ("RATE_LIMIT_LOGIN_IP", "10"),
            ("DB_POOL_SIZE", "0"),
            ("DATABASE_URL", "mysql://x"),
            ("REDIS_URL", "http://x"),
            ("PAYMENT_PROVIDER", "paypal"),
            ("PLATFORM_FEE_BP", "10000"),
            ("PAYOUT_DELAY_DAYS", "-1"),
        ] {
            let e = cfg(&[(var, val)]).unwrap_err();
            assert_eq!(e.var, var, "{val}");
        }
    }

    #[test]
    fn rate_limits_can_be_turned_off() {
        let c = cfg(&[("RATE_LIMITS", "off")]).unwrap();
        assert!(c.rate_limits.login_ip.is_none());
        let c = cfg(&[("RATE_LIMIT_LOGIN_IP", "3/10")]).unwrap();
        assert_eq!(c.rate_limits.login_ip, Some(Limit::per(3, 10)));
    }
}
