//! Money is integer minor units plus an ISO-4217 currency. No floats near a price.

use serde::{Deserialize, Serialize};

/// The currencies we accept, with their minor-unit exponent (ISO 4217).
pub const CURRENCIES: &[(&str, u32)] = &[
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("CAD", 2),
    ("AUD", 2),
    ("NZD", 2),
    ("CHF", 2),
    ("SEK", 2),
    ("NOK", 2),
    ("DKK", 2),
    ("PLN", 2),
    ("CZK", 2),
    ("MXN", 2),
    ("BRL", 2),
    ("INR", 2),
    ("SGD", 2),
    ("HKD", 2),
    ("JPY", 0),
    ("KRW", 0),
];

/// Largest price we accept (one billion major units of a 2-exponent currency): far below
/// `i64::MAX`, so sums over many lines cannot overflow.
pub const MAX_CENTS: i64 = 100_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(code: &str) -> Option<Currency> {
        let up = code.to_ascii_uppercase();
        CURRENCIES.iter().find(|(c, _)| *c == up).map(|(c, _)| {
            let b = c.as_bytes();
            Currency([b[0], b[1], b[2]])
        })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Minor units per major unit (100 for USD, 1 for JPY).
    pub fn minor_per_major(&self) -> i64 {
        let exp = CURRENCIES
            .iter()
            .find(|(c, _)| c.as_bytes() == self.0)
            .map(|(_, e)| *e)
            .unwrap_or(2);
        10i64.pow(exp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_parse_case_insensitively_and_refuse_unknowns() {
        assert_eq!(
            Currency::parse("usd").map(|c| c.as_str().to_string()),
            Some("USD".into())
        );
        assert_eq!(Currency::parse("JPY").map(|c| c.minor_per_major()), Some(1));
        assert!(Currency::parse("XYZ").is_none());
        assert!(Currency::parse("US").is_none());
        assert!(Currency::parse("").is_none());
    }
}

/// `1234, "USD"` → `"12.34 USD"`; `500, "JPY"` → `"500 JPY"`. For mails and logs.
pub fn format_minor(cents: i64, currency: &str) -> String {
    let per = Currency::parse(currency).map_or(100, |c| c.minor_per_major());
    if per == 1 {
        return format!("{cents} {currency}");
    }
    let digits = per.to_string().len() - 1;
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    let per = per.unsigned_abs();
    format!("{sign}{}.{:0digits$} {currency}", a / per, a % per)
}

#[cfg(test)]
mod format_tests {
    use super::format_minor;

    #[test]
    fn minor_units_format_without_floats() {
        assert_eq!(format_minor(1234, "USD"), "12.34 USD");
        assert_eq!(format_minor(5, "EUR"), "0.05 EUR");
        assert_eq!(format_minor(500, "JPY"), "500 JPY");
        assert_eq!(format_minor(-150, "USD"), "-1.50 USD");
    }
}
