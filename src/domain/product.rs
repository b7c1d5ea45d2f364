//! The seven kinds of product and their kind-specific fields.
//!
//! A product's common fields (title, price, currency, …) are columns; what only one kind
//! has lives in `details`, a JSON object validated here into [`Details`], so the store
//! never holds a field a kind does not have.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::money::MAX_CENTS;
use super::validate::{self, Check};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Delivered by a link after purchase.
    Digital,
    /// Has stock; shipping required.
    Physical,
    Service,
    /// Billed every month or year.
    Membership,
    /// Pay what you want, above a minimum.
    Tip,
    /// An external link shown on the storefront.
    Link,
    /// Starts at a time, has a capacity.
    Event,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Digital,
        Kind::Physical,
        Kind::Service,
        Kind::Membership,
        Kind::Tip,
        Kind::Link,
        Kind::Event,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Digital => "digital",
            Kind::Physical => "physical",
            Kind::Service => "service",
            Kind::Membership => "membership",
            Kind::Tip => "tip",
            Kind::Link => "link",
            Kind::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind-specific fields this kind accepts.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            Kind::Digital => &["download_url"],
            Kind::Physical => &["stock", "weight_grams", "shipping_cents"],
            Kind::Service => &["duration_minutes"],
            Kind::Membership => &["billing_interval"],
            Kind::Tip => &["min_cents"],
            Kind::Link => &["url"],
            Kind::Event => &["starts_at", "capacity", "location"],
        }
    }
}

/// Kind-specific fields, as stored in `products.details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Details {
    Digital {
        download_url: String,
    },
    Physical {
        stock: i64,
        requires_shipping: bool,
        weight_grams: Option<i64>,
        /// A flat shipping fee per order, in the product's currency's minor unit.
        #[serde(default)]
        shipping_cents: i64,
    },
    Service {
        duration_minutes: Option<i64>,
    },
    Membership {
        billing_interval: String,
    },
    Tip {
        min_cents: i64,
    },
    Link {
        url: String,
    },
    Event {
        starts_at: DateTime<Utc>,
        capacity: i64,
        location: Option<String>,
    },
}

impl Details {
    pub fn kind(&self) -> Kind {
        match self {
            Details::Digital { .. } => Kind::Digital,
            Details::Physical { .. } => Kind::Physical,
            Details::Service { .. } => Kind::Service,
            Details::Membership { .. } => Kind::Membership,
            Details::Tip { .. } => Kind::Tip,
            Details::Link { .. } => Kind::Link,
            Details::Event { .. } => Kind::Event,
        }
    }

    /// The fields anyone may see. A digital product's download link is for buyers only.
    pub fn public(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("kind");
            o.remove("download_url");
        }
        v
    }

    /// All fields, for the owner.
    pub fn private(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("kind");
        }
        v
    }
}

pub const MAX_STOCK: i64 = 10_000_000;
pub const MAX_CAPACITY: i64 = 1_000_000;
/// The highest flat shipping fee (10,000.00 in a two-decimal currency).
pub const MAX_SHIPPING_CENTS: i64 = 1_000_000;

fn int(fields: &Map<String, Value>, name: &str, check: &mut Check) -> Option<Option<i64>> {
    match fields.get(name) {
        None | Some(Value::Null) => Some(None),
        Some(Value::Number(n)) if n.is_i64() => Some(n.as_i64()),
        Some(_) => {
            check.fail(name, "must be a whole number");
            None
        }
    }
}

fn text(fields: &Map<String, Value>, name: &str, check: &mut Check) -> Option<Option<String>> {
    match fields.get(name) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => {
            check.fail(name, "must be text");
            None
        }
    }
}

fn required<T>(v: Option<Option<T>>, name: &str, check: &mut Check) -> Option<T> {
    match v {
        Some(Some(x)) => Some(x),
        Some(None) => {
            check.fail(name, "is required for this kind of product");
            None
        }
        None => None,
    }
}

/// Validate the kind-specific `fields` of a product of `kind`.
/// Messages go into `check`; `None` when any failed. Fields of another kind are refused.
pub fn details(kind: Kind, fields: &Map<String, Value>, check: &mut Check) -> Option<Details> {
    for name in fields.keys() {
        if !kind.fields().contains(&name.as_str()) {
            check.fail(
                name,
                format!("is not a field of a {} product", kind.as_str()),
            );
        }
    }
    let before = check.fields.len();
    let d = match kind {
        Kind::Digital => {
            let url = required(text(fields, "download_url", check), "download_url", check);
            let url = url.and_then(|u| check.take("download_url", validate::http_url(&u)));
            url.map(|download_url| Details::Digital { download_url })
        }
        Kind::Physical => {
            let stock = required(int(fields, "stock", check), "stock", check);
            if stock.is_some_and(|s| !(0..=MAX_STOCK).contains(&s)) {
                check.fail("stock", format!("must be from 0 to {MAX_STOCK}"));
            }
            let weight = int(fields, "weight_grams", check).flatten();
            if weight.is_some_and(|w| !(0..=1_000_000).contains(&w)) {
                check.fail("weight_grams", "must be from 0 to 1000000");
            }
            let shipping = int(fields, "shipping_cents", check).flatten();
            if shipping.is_some_and(|s| !(0..=MAX_SHIPPING_CENTS).contains(&s)) {
                check.fail(
                    "shipping_cents",
                    format!("must be from 0 to {MAX_SHIPPING_CENTS}"),
                );
            }
            stock.map(|stock| Details::Physical {
                stock,
                requires_shipping: true,
                weight_grams: weight,
                shipping_cents: shipping.unwrap_or(0),
            })
        }
        Kind::Service => {
            let d = int(fields, "duration_minutes", check).flatten();
            if d.is_some_and(|d| !(1..=10_080).contains(&d)) {
                check.fail("duration_minutes", "must be from 1 to 10080 (a week)");
            }
            Some(Details::Service {
                duration_minutes: d,
            })
        }
        Kind::Membership => {
            let i = required(
                text(fields, "billing_interval", check),
                "billing_interval",
                check,
            );
            match i.as_deref() {
                Some("month") | Some("year") => {
                    i.map(|billing_interval| Details::Membership { billing_interval })
                }
                Some(_) => {
                    check.fail("billing_interval", "must be `month` or `year`");
                    None
                }
                None => None,
            }
        }
        Kind::Tip => {
            // The suggested amount (`price_cents`) may be below the minimum: buyers are
            // then offered the minimum (`sale::line`, the checkout page). A relation
            // between two fields is not something the API document can state.
            let min = required(int(fields, "min_cents", check), "min_cents", check);
            if min.is_some_and(|m| !(0..=MAX_CENTS).contains(&m)) {
                check.fail("min_cents", format!("must be from 0 to {MAX_CENTS}"));
            }
            min.map(|min_cents| Details::Tip { min_cents })
        }
        Kind::Link => {
            let url = required(text(fields, "url", check), "url", check);
            let url = url.and_then(|u| check.take("url", validate::http_url(&u)));
            url.map(|url| Details::Link { url })
        }
        Kind::Event => {
            let starts = required(text(fields, "starts_at", check), "starts_at", check);
            let starts = starts.and_then(|s| match DateTime::parse_from_rfc3339(&s) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(_) => {
                    check.fail(
                        "starts_at",
                        "must be a date and time like 2027-01-31T20:00:00Z",
                    );
                    None
                }
            });
            let capacity = required(int(fields, "capacity", check), "capacity", check);
            if capacity.is_some_and(|c| !(1..=MAX_CAPACITY).contains(&c)) {
                check.fail("capacity", format!("must be from 1 to {MAX_CAPACITY}"));
            }
            let location = text(fields, "location", check)
                .flatten()
                .and_then(|l| check.take("location", validate::text(&l, 1, 200, false)));
            match (starts, capacity) {
                (Some(starts_at), Some(capacity)) => Some(Details::Event {
                    starts_at,
                    capacity,
                    location,
                }),
                _ => None,
            }
        }
    };
    if check.fields.len() > before {
        None
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(kind: Kind, v: Value, _price: i64) -> Result<Details, Vec<String>> {
        let mut c = Check::new();
        let m = v.as_object().cloned().unwrap_or_default();
        match details(kind, &m, &mut c) {
            Some(d) if c.fields.is_empty() => Ok(d),
            _ => Err(c.fields.keys().cloned().collect()),
        }
    }

    #[test]
    fn every_kind_accepts_its_fields() {
        assert!(run(
            Kind::Digital,
            json!({"download_url": "https://x.example/f.zip"}),
            100
        )
        .is_ok());
        assert!(run(
            Kind::Physical,
            json!({"stock": 3, "weight_grams": 200}),
            100
        )
        .is_ok());
        assert!(run(Kind::Service, json!({}), 100).is_ok());
        assert!(run(Kind::Membership, json!({"billing_interval": "year"}), 100).is_ok());
        assert!(run(Kind::Tip, json!({"min_cents": 100}), 500).is_ok());
        assert!(run(Kind::Link, json!({"url": "https://x.example"}), 0).is_ok());
        assert!(run(
            Kind::Event,
            json!({"starts_at": "2027-01-31T20:00:00Z", "capacity": 50}),
            100
        )
        .is_ok());
    }

    #[test]
    fn invalid_variants_name_the_field() {
        assert_eq!(
            run(Kind::Digital, json!({}), 1),
            Err(vec!["download_url".into()])
        );
        assert_eq!(
            run(Kind::Physical, json!({"stock": -1}), 1),
            Err(vec!["stock".into()])
        );
        assert_eq!(
            run(Kind::Physical, json!({"stock": "3"}), 1),
            Err(vec!["stock".into()])
        );
        assert_eq!(
            run(Kind::Membership, json!({"billing_interval": "week"}), 1),
            Err(vec!["billing_interval".into()])
        );
        // A suggestion below the minimum is taken (buyers are offered the minimum).
        assert!(run(Kind::Tip, json!({"min_cents": 500}), 100).is_ok());
        assert_eq!(
            run(Kind::Tip, json!({"min_cents": -1}), 100),
            Err(vec!["min_cents".into()])
        );
        assert_eq!(
            run(Kind::Link, json!({"url": "javascript:alert(1)"}), 0),
            Err(vec!["url".into()])
        );
        assert_eq!(
            run(Kind::Event, json!({"starts_at": "soon", "capacity": 0}), 1),
            Err(vec!["capacity".into(), "starts_at".into()])
        );
        assert_eq!(
            run(Kind::Service, json!({"stock": 5}), 1),
            Err(vec!["stock".into()]),
            "a field of another kind"
        );
    }

    #[test]
    fn the_public_view_hides_the_download_link() {
        let d = run(
            Kind::Digital,
            json!({"download_url": "https://x.example/secret.zip"}),
            1,
        )
        .unwrap();
        assert!(d.public().get("download_url").is_none());
        assert!(d.private().get("download_url").is_some());
    }
}
