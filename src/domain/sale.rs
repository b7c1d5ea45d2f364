//! Selling a product outside a drop: what a checkout asks for each kind, what it costs,
//! and the facts an order keeps about it (shipping address, note, fulfilment). Pure: the
//! store takes the stock and the provider the money.

use chrono::{DateTime, Months, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::OrderId;
use super::product::{Details, Kind};
use super::validate::{self, Check};
use crate::error::AppError;

/// The most units one order may buy.
pub const MAX_QUANTITY: i64 = 100;
/// The highest tip (1,000,000.00 in a two-decimal currency).
pub const MAX_TIP_CENTS: i64 = 100_000_000;

/// Where a physical product goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Shipping {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    pub country: String,
}

impl Shipping {
    /// The address with its fields trimmed and checked (messages under `shipping.<field>`).
    pub fn validated(&self, check: &mut Check) -> Option<Shipping> {
        let before = check.fields.len();
        let mut line = |field: &str, v: &str, max: usize| {
            check.take(
                &format!("shipping.{field}"),
                validate::text(v, 1, max, false),
            )
        };
        let name = line("name", &self.name, 100);
        let line1 = line("line1", &self.line1, 200);
        let city = line("city", &self.city, 100);
        let postal_code = line("postal_code", &self.postal_code, 20);
        let line2 = match self.line2.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => line("line2", v, 200),
        };
        let region = match self.region.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => line("region", v, 100),
        };
        let country = self.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            check.fail(
                "shipping.country",
                "must be a two-letter country code (ISO 3166-1), e.g. DE",
            );
        }
        if check.fields.len() > before {
            return None;
        }
        Some(Shipping {
            name: name?,
            line1: line1?,
            line2,
            city: city?,
            region,
            postal_code: postal_code?,
            country,
        })
    }
}

/// A physical order's shipment, once the creator sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fulfilment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    /// When it was marked shipped (or, for a service, confirmed).
    pub at: DateTime<Utc>,
}

/// What an order keeps beyond its amount (`orders.details`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Shipping>,
    /// The flat fee included in the amount.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shipping_cents: i64,
    /// A service's note or requested time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<Fulfilment>,
    /// A membership renewal's membership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renews: Option<super::ids::MembershipId>,
    /// What renews the membership this order starts (the card or payment method it was
    /// paid with). Never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// What a buyer asks for at checkout.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub quantity: Option<i64>,
    pub amount_cents: Option<i64>,
    pub shipping: Option<Shipping>,
    pub note: Option<String>,
}

/// A checkout that can be charged: units, the total and the facts to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub quantity: i64,
    pub amount_cents: i64,
    /// Units taken from stock (physical) or seats (event) when the order opens.
    pub takes_stock: Option<i64>,
    pub details: OrderDetails,
}

/// Price a checkout of a product of `details` priced at `price_cents`, or say why not.
/// `not_for_sale` for a link; `validation_failed` with every field at fault otherwise.
pub fn line(details: &Details, price_cents: i64, req: &Request) -> Result<Line, AppError> {
    let mut check = Check::new();
    let kind = details.kind();
    if kind == Kind::Link {
        return Err(AppError::conflict(
            "not_for_sale",
            "a link is not for sale: open it instead",
        ));
    }
    let quantity = req.quantity.unwrap_or(1);
    let single = matches!(kind, Kind::Tip | Kind::Membership | Kind::Service);
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        check.fail("quantity", format!("must be from 1 to {MAX_QUANTITY}"));
    } else if single && quantity != 1 {
        check.fail(
            "quantity",
            format!("a {} is bought one at a time", kind.as_str()),
        );
    }
    if req.amount_cents.is_some() && kind != Kind::Tip {
        check.fail("amount_cents", "only a tip's amount is chosen by the buyer");
    }
    if req.shipping.is_some() && kind != Kind::Physical {
        check.fail("shipping", "only a physical product is shipped");
    }
    let note = match req.note.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) if kind == Kind::Service => check.take("note", validate::text(n, 1, 1000, true)),
        Some(_) => {
            check.fail("note", "only a service takes a note");
            None
        }
    };
    let mut out = OrderDetails {
        note,
        ..OrderDetails::default()
    };
    let mut amount = price_cents.saturating_mul(quantity);
    let mut takes_stock = None;
    match details {
        Details::Physical { shipping_cents, .. } => {
            match &req.shipping {
                None => check.fail("shipping", "is required for a physical product"),
                Some(s) => out.shipping = s.validated(&mut check),
            }
            out.shipping_cents = *shipping_cents;
            amount = amount.saturating_add(*shipping_cents);
            takes_stock = Some(quantity);
        }
        Details::Event { .. } => takes_stock = Some(quantity),
        Details::Tip { min_cents } => match req.amount_cents {
            None => amount = price_cents.max(*min_cents),
            Some(a) if a < *min_cents => check.fail(
                "amount_cents",
                format!("must be at least the minimum, {min_cents}"),
            ),
            Some(a) if a > MAX_TIP_CENTS => {
                check.fail("amount_cents", format!("must be at most {MAX_TIP_CENTS}"))
            }
            Some(a) => amount = a,
        },
        _ => {}
    }
    check.finish()?;
    Ok(Line {
        quantity,
        amount_cents: amount,
        takes_stock,
        details: out,
    })
}

/// How many units of a product with `details` can be sold in all (`None`: unlimited).
pub fn stock_limit(details: &Details) -> Option<i64> {
    match details {
        Details::Physical { stock, .. } => Some(*stock),
        Details::Event { capacity, .. } => Some(*capacity),
        _ => None,
    }
}

/// The end of a membership period of `interval` (`month` or `year`) that starts at `from`.
/// Calendar months: from 31 January, one month ends on the last day of February.
pub fn period_end(from: NaiveDateTime, interval: &str) -> NaiveDateTime {
    let months = if interval == "year" { 12 } else { 1 };
    from.checked_add_months(Months::new(months))
        .unwrap_or(from + chrono::Duration::days(30 * months as i64))
}

/// How long a download link works.
pub const DOWNLOAD_LINK_TTL: chrono::Duration = chrono::Duration::minutes(15);

fn download_mac(key: &[u8], order: OrderId, expires: i64) -> Option<hmac::Hmac<sha2::Sha256>> {
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).ok()?;
    m.update(b"livedrop download ");
    m.update(order.0.as_bytes());
    m.update(&expires.to_be_bytes());
    Some(m)
}

/// The token of a download link for `order` that works until `expires` (unix seconds):
/// `<order>.<expires>.<HMAC>`, unguessable without the key.
pub fn download_token(key: &[u8], order: OrderId, expires: i64) -> String {
    use hmac::Mac;
    let sig = download_mac(key, order, expires)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("{}.{expires}.{sig}", order.0.simple())
}

/// The order a download token is for, if its signature holds and it has not expired
/// at `now` (unix seconds).
pub fn download_order(key: &[u8], token: &str, now: i64) -> Option<OrderId> {
    use hmac::Mac;
    let mut parts = token.splitn(3, '.');
    let order = OrderId::parse(parts.next()?)?;
    let expires: i64 = parts.next()?.parse().ok()?;
    let sig = hex::decode(parts.next()?).ok()?;
    download_mac(key, order, expires)?.verify_slice(&sig).ok()?;
    (now < expires).then_some(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn physical(stock: i64, shipping_cents: i64) -> Details {
        Details::Physical {
            stock,
            requires_shipping: true,
            weight_grams: None,
            shipping_cents,
        }
    }

    fn address() -> Shipping {
        Shipping {
            name: " Ada Lovelace ".into(),
            line1: "1 Analytical Way".into(),
            line2: Some("".into()),
            city: "London".into(),
            region: None,
            postal_code: "N1 1AA".into(),
            country: "gb".into(),
        }
    }

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::Validation(f) => f.keys().cloned().collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn a_physical_order_needs_an_address_and_pays_the_flat_fee_once() {
        let d = physical(10, 495);
        let e = line(&d, 2000, &Request::default()).unwrap_err();
        assert_eq!(fields(e), vec!["shipping".to_string()]);
        let l = line(
            &d,
            2000,
            &Request {
                quantity: Some(3),
                shipping: Some(address()),
                ..Request::default()
            },
        )
        .unwrap();
        assert_eq!(l.amount_cents, 3 * 2000 + 495);
        assert_eq!(l.takes_stock, Some(3));
        let s = l.details.shipping.unwrap();
        assert_eq!(
            (s.name.as_str(), s.country.as_str()),
            ("Ada Lovelace", "GB")
        );
        assert_eq!(s.line2, None, "an empty second line is no line");
    }

    #[test]
    fn a_bad_address_names_each_field() {
        let mut a = address();
        a.country = "Germany".into();
        a.city = "  ".into();
        let e = line(
            &physical(1, 0),
            100,
            &Request {
                shipping: Some(a),
                ..Request::default()
            },
        )
        .unwrap_err();
        let mut f = fields(e);
        f.sort();
        assert_eq!(f, vec!["shipping.city", "shipping.country"]);
    }

    #[test]
    fn a_tip_is_at_least_its_minimum_and_links_are_not_for_sale() {
        let tip = Details::Tip { min_cents: 300 };
        let low = Request {
            amount_cents: Some(299),
            ..Request::default()
        };
        assert_eq!(
            fields(line(&tip, 500, &low).unwrap_err()),
            vec!["amount_cents"]
        );
        let ok = Request {
            amount_cents: Some(300),
            ..Request::default()
        };
        assert_eq!(line(&tip, 500, &ok).unwrap().amount_cents, 300);
        assert_eq!(
            line(&tip, 500, &Request::default()).unwrap().amount_cents,
            500
        );
        // A suggestion below the minimum: the minimum is what is charged.
        assert_eq!(
            line(&tip, 100, &Request::default()).unwrap().amount_cents,
            300
        );
        let link = Details::Link {
            url: "https://example.com".into(),
        };
        match line(&link, 0, &Request::default()) {
            Err(AppError::Conflict { code, .. }) => assert_eq!(code, "not_for_sale"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn quantities_are_bounded_and_single_kinds_are_one() {
        let d = Details::Service {
            duration_minutes: None,
        };
        for q in [0, -1, 2] {
            let r = Request {
                quantity: Some(q),
                ..Request::default()
            };
            assert_eq!(fields(line(&d, 100, &r).unwrap_err()), vec!["quantity"]);
        }
        let digital = Details::Digital {
            download_url: "https://example.com/f.zip".into(),
        };
        let r = Request {
            quantity: Some(MAX_QUANTITY + 1),
            ..Request::default()
        };
        assert_eq!(
            fields(line(&digital, 100, &r).unwrap_err()),
            vec!["quantity"]
        );
    }

    #[test]
    fn download_tokens_expire_and_cannot_be_forged() {
        let o = OrderId::new();
        let t = download_token(b"key", o, 1000);
        assert_eq!(download_order(b"key", &t, 999), Some(o));
        assert_eq!(download_order(b"key", &t, 1000), None, "expired");
        assert_eq!(download_order(b"other", &t, 999), None, "another key");
        let later = t.replace(".1000.", ".9999.");
        assert_eq!(download_order(b"key", &later, 999), None, "expiry moved");
        let other = download_token(b"key", OrderId::new(), 1000);
        let swapped = format!("{}{}", &other[..32], &t[32..]);
        assert_eq!(download_order(b"key", &swapped, 999), None, "order swapped");
        assert_eq!(download_order(b"key", "nonsense", 0), None);
    }

    #[test]
    fn periods_are_calendar_months_and_years() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            period_end(t("2027-01-31 10:00:00"), "month"),
            t("2027-02-28 10:00:00")
        );
        assert_eq!(
            period_end(t("2027-03-15 00:00:00"), "year"),
            t("2028-03-15 00:00:00")
        );
    }
}
