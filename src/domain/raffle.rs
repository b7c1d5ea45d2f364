//! Raffles: the lifecycle on the clock. Pure: callers pass `now`.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// A raffle's status as people see it. The store keeps `draft`, `published`, `closed`,
/// `drawn` and `cancelled`; `scheduled` and `open` are a published raffle before and
/// during its entry window, and a published raffle past its closing time is `closed` at
/// once, before any timer has frozen its entry list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RaffleStatus {
    Draft,
    Scheduled,
    Open,
    Closed,
    Drawn,
    Cancelled,
}

impl RaffleStatus {
    pub fn at(
        stored: &str,
        opens_at: NaiveDateTime,
        closes_at: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Self {
        match stored {
            "published" if now < opens_at => RaffleStatus::Scheduled,
            "published" if now < closes_at => RaffleStatus::Open,
            "published" | "closed" => RaffleStatus::Closed,
            "drawn" => RaffleStatus::Drawn,
            "cancelled" => RaffleStatus::Cancelled,
            _ => RaffleStatus::Draft,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RaffleStatus::Draft => "draft",
            RaffleStatus::Scheduled => "scheduled",
            RaffleStatus::Open => "open",
            RaffleStatus::Closed => "closed",
            RaffleStatus::Drawn => "drawn",
            RaffleStatus::Cancelled => "cancelled",
        }
    }
}

/// `YYYY-MM` of a UTC instant, and the first instants of that month and the next.
pub fn month_of(now: NaiveDateTime) -> (String, NaiveDateTime, NaiveDateTime) {
    use chrono::Datelike;
    let (y, m) = (now.year(), now.month());
    let start = chrono::NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(now);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let end = chrono::NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(now);
    (format!("{y:04}-{m:02}"), start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn status_follows_the_clock() {
        let (o, c) = (t("2026-01-01 10:00:00"), t("2026-01-01 11:00:00"));
        assert_eq!(
            RaffleStatus::at("published", o, c, t("2026-01-01 09:59:59")),
            RaffleStatus::Scheduled
        );
        assert_eq!(RaffleStatus::at("published", o, c, o), RaffleStatus::Open);
        assert_eq!(RaffleStatus::at("published", o, c, c), RaffleStatus::Closed);
        assert_eq!(RaffleStatus::at("draft", o, c, c), RaffleStatus::Draft);
        assert_eq!(RaffleStatus::at("drawn", o, c, o), RaffleStatus::Drawn);
    }

    #[test]
    fn months_roll_over_the_year() {
        let (m, s, e) = month_of(t("2026-12-31 23:59:59"));
        assert_eq!(m, "2026-12");
        assert_eq!(s, t("2026-12-01 00:00:00"));
        assert_eq!(e, t("2027-01-01 00:00:00"));
    }
}
