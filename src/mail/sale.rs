//! The mails around a sale, each in plain text and HTML: the buyer's confirmation, the
//! creator's new-sale notice, shipped, refunded, a membership renewed or not. Pure: the
//! caller gathers the facts and queues the mail.

use chrono::{DateTime, Utc};

use super::Mail;
use crate::domain::html::esc;
use crate::domain::money::format_minor;
use crate::domain::sale::Shipping;

/// What a sale's mails say about it.
#[derive(Debug, Clone)]
pub struct SaleFacts {
    /// The service's public URL, without a trailing slash.
    pub base_url: String,
    pub order_id: String,
    pub product_title: String,
    pub storefront_title: String,
    pub kind: String,
    pub quantity: i64,
    pub amount_cents: i64,
    pub shipping_cents: i64,
    pub currency: String,
    pub shipping: Option<Shipping>,
}

impl SaleFacts {
    /// The buyer's page of the order (sign-in there if needed).
    pub fn order_url(&self) -> String {
        format!("{}/orders/{}", self.base_url, self.order_id)
    }

    fn lines(&self) -> Vec<String> {
        let mut l = vec![format!(
            "{} × {} from {}",
            self.quantity, self.product_title, self.storefront_title
        )];
        if self.shipping_cents > 0 {
            l.push(format!(
                "Shipping: {}",
                format_minor(self.shipping_cents, &self.currency)
            ));
        }
        l.push(format!(
            "Total: {}",
            format_minor(self.amount_cents, &self.currency)
        ));
        l
    }
}

/// One mail: a greeting paragraph, lines, and one link, in both forms.
fn compose(to: &str, subject: String, intro: &str, lines: &[String], link: (&str, &str)) -> Mail {
    let mut text = format!("{intro}\n\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    text.push_str(&format!("\n{}: {}\n\n— livedrop\n", link.0, link.1));
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5\">\
         <p>{}</p><ul>",
        esc(intro)
    );
    for l in lines {
        html.push_str(&format!("<li>{}</li>", esc(l)));
    }
    html.push_str(&format!(
        "</ul><p><a href=\"{}\">{}</a></p><p>— livedrop</p></body></html>",
        esc(link.1),
        esc(link.0)
    ));
    Mail {
        to: to.to_string(),
        subject,
        text,
        html: Some(html),
    }
}

fn address_lines(s: &Shipping) -> Vec<String> {
    let mut l = vec![format!("Ship to: {}", s.name), s.line1.clone()];
    l.extend(s.line2.clone());
    let mut city = format!("{} {}", s.postal_code, s.city);
    if let Some(r) = &s.region {
        city.push_str(&format!(", {r}"));
    }
    l.push(city);
    l.push(s.country.clone());
    l
}

/// To the buyer: the order is paid.
pub fn confirmation(to: &str, f: &SaleFacts) -> Mail {
    let mut lines = f.lines();
    let next = match f.kind.as_str() {
        "digital" => "Your download is on the order page.",
        "event" => "Your tickets, with their QR codes, are on the order page.",
        "physical" => "We will tell you when it ships.",
        "service" => "The creator will confirm the details with you.",
        "membership" => "Your membership is active; it renews each period until you cancel.",
        _ => "Thank you for your support!",
    };
    lines.push(next.to_string());
    if let Some(s) = &f.shipping {
        lines.extend(address_lines(s));
    }
    compose(
        to,
        format!("Your order of {} is confirmed", f.product_title),
        &format!("Thank you! Your order {} is paid.", f.order_id),
        &lines,
        ("See your order", &f.order_url()),
    )
}

/// To the storefront's owner: something sold.
pub fn new_sale(to: &str, f: &SaleFacts, buyer_email: &str) -> Mail {
    let mut lines = f.lines();
    lines.push(format!("Buyer: {buyer_email}"));
    if let Some(s) = &f.shipping {
        lines.extend(address_lines(s));
    }
    compose(
        to,
        format!("New sale: {}", f.product_title),
        &format!("You sold {} on {}.", f.product_title, f.storefront_title),
        &lines,
        ("See the order", &f.order_url()),
    )
}

/// To the buyer: the parcel left.
pub fn shipped(to: &str, f: &SaleFacts, carrier: Option<&str>, tracking: Option<&str>) -> Mail {
    let mut lines = f.lines();
    if let Some(c) = carrier {
        lines.push(format!("Carrier: {c}"));
    }
    if let Some(t) = tracking {
        lines.push(format!("Tracking number: {t}"));
    }
    compose(
        to,
        format!("Your {} has shipped", f.product_title),
        &format!("Good news: order {} is on its way.", f.order_id),
        &lines,
        ("See your order", &f.order_url()),
    )
}

/// To the buyer: the money went back.
pub fn refunded(to: &str, f: &SaleFacts) -> Mail {
    compose(
        to,
        format!("Your order of {} is refunded", f.product_title),
        &format!(
            "Order {} is refunded: {} goes back to your payment method.",
            f.order_id,
            format_minor(f.amount_cents, &f.currency)
        ),
        &f.lines(),
        ("See your order", &f.order_url()),
    )
}

/// To the buyer: part of the order was refunded (the order stays paid).
pub fn partly_refunded(to: &str, f: &SaleFacts, amount_cents: i64, refunded_cents: i64) -> Mail {
    compose(
        to,
        format!("Part of your order of {} is refunded", f.product_title),
        &format!(
            "{} of order {} goes back to your payment method ({} refunded of {} in all).",
            format_minor(amount_cents, &f.currency),
            f.order_id,
            format_minor(refunded_cents, &f.currency),
            format_minor(f.amount_cents, &f.currency)
        ),
        &f.lines(),
        ("See your order", &f.order_url()),
    )
}

/// To the member: the next period is paid.
pub fn renewed(to: &str, f: &SaleFacts, until: DateTime<Utc>) -> Mail {
    let mut lines = f.lines();
    lines.push(format!(
        "Active until {}",
        until.format("%Y-%m-%d %H:%M UTC")
    ));
    compose(
        to,
        format!("Your {} membership is renewed", f.product_title),
        "Your membership was renewed. Thank you for staying!",
        &lines,
        ("See the renewal", &f.order_url()),
    )
}

/// To the member: the renewal could not be charged; the membership lapsed.
pub fn renewal_failed(to: &str, f: &SaleFacts) -> Mail {
    compose(
        to,
        format!("Your {} membership could not be renewed", f.product_title),
        "We could not charge your payment method for the next period, so your membership \
         has lapsed. Join again from the storefront whenever you like.",
        &f.lines(),
        ("See the renewal", &f.order_url()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> SaleFacts {
        SaleFacts {
            base_url: "https://shop.example".into(),
            order_id: "0192".into(),
            product_title: "Tee <Limited>".into(),
            storefront_title: "Ada's".into(),
            kind: "physical".into(),
            quantity: 2,
            amount_cents: 4495,
            shipping_cents: 495,
            currency: "USD".into(),
            shipping: None,
        }
    }

    #[test]
    fn both_forms_carry_the_order_link_and_the_html_is_escaped() {
        let m = confirmation("a@b.c", &facts());
        assert!(m.text.contains("https://shop.example/orders/0192"));
        assert!(m.text.contains("2 × Tee <Limited> from Ada's"));
        let html = m.html.unwrap();
        assert!(html.contains("href=\"https://shop.example/orders/0192\""));
        assert!(html.contains("Tee &lt;Limited&gt;"), "{html}");
        assert!(!html.contains("<Limited>"));
    }
}
