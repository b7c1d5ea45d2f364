//! Drops: the lifecycle on the clock and the waiting-room shuffle.
//! Pure: callers pass `now`.

use chrono::{Duration, NaiveDateTime};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DropStatus {
    Draft,
    Scheduled,
    Live,
    SoldOut,
    Ended,
    Paused,
    Cancelled,
}

impl DropStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DropStatus::Draft => "draft",
            DropStatus::Scheduled => "scheduled",
            DropStatus::Live => "live",
            DropStatus::SoldOut => "sold_out",
            DropStatus::Ended => "ended",
            DropStatus::Paused => "paused",
            DropStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<DropStatus> {
        Some(match s {
            "draft" => DropStatus::Draft,
            "scheduled" => DropStatus::Scheduled,
            "live" => DropStatus::Live,
            "sold_out" => DropStatus::SoldOut,
            "ended" => DropStatus::Ended,
            "paused" => DropStatus::Paused,
            "cancelled" => DropStatus::Cancelled,
            _ => return None,
        })
    }

    /// States no clock or sale can leave.
    pub fn is_final(&self) -> bool {
        matches!(self, DropStatus::Ended | DropStatus::Cancelled)
    }
}

/// The timing of a drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub opens_at: NaiveDateTime,
    pub closes_at: Option<NaiveDateTime>,
    pub waiting_room_seconds: i64,
}

impl Schedule {
    /// The status the clock says a published drop has at `now`, given what is stored and
    /// whether any unit is left to hold. Draft, paused and the final states are decided by
    /// people, not the clock, so they stay as they are.
    pub fn status_at(&self, stored: DropStatus, now: NaiveDateTime, remaining: i64) -> DropStatus {
        match stored {
            DropStatus::Draft | DropStatus::Paused | DropStatus::Ended | DropStatus::Cancelled => {
                stored
            }
            DropStatus::Scheduled | DropStatus::Live | DropStatus::SoldOut => {
                if self.closes_at.is_some_and(|c| now >= c) {
                    DropStatus::Ended
                } else if now < self.opens_at {
                    DropStatus::Scheduled
                } else if remaining <= 0 {
                    DropStatus::SoldOut
                } else {
                    DropStatus::Live
                }
            }
        }
    }

    /// From this instant buyers join the queue instead of racing.
    pub fn waiting_room_opens(&self) -> NaiveDateTime {
        self.opens_at - Duration::seconds(self.waiting_room_seconds.max(0))
    }

    pub fn in_waiting_room(&self, now: NaiveDateTime) -> bool {
        self.waiting_room_seconds > 0 && now >= self.waiting_room_opens() && now < self.opens_at
    }

    /// The next instant at which `status_at` may change by the clock alone, if any.
    pub fn next_transition(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        [
            Some(self.waiting_room_opens()),
            Some(self.opens_at),
            self.closes_at,
        ]
        .into_iter()
        .flatten()
        .filter(|t| *t > now)
        .min()
    }
}

/// The order in which the waiting room is served: a Fisher–Yates shuffle driven by a
/// ChaCha20 stream keyed by `seed`. The seed is recorded in the drop log, so the order can
/// be recomputed from the log; arriving first within the window buys nothing.
pub fn shuffle<T>(items: &mut [T], seed: [u8; 32]) {
    let mut rng = ChaCha20Rng::from_seed(seed);
    items.shuffle(&mut rng);
}

/// How a hold ends without a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEnd {
    /// The buyer gave it back.
    Released,
    /// Its time ran out.
    Expired,
    /// The drop was cancelled.
    Cancelled,
}

impl HoldEnd {
    /// The hold's status afterwards.
    pub fn status(self) -> &'static str {
        match self {
            HoldEnd::Released | HoldEnd::Cancelled => "released",
            HoldEnd::Expired => "expired",
        }
    }
    /// The log row's kind.
    pub fn log_kind(self) -> &'static str {
        match self {
            HoldEnd::Released => "release",
            HoldEnd::Expired => "expiry",
            HoldEnd::Cancelled => "cancel_release",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + s, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn the_clock_moves_a_published_drop_through_its_states() {
        let s = Schedule {
            opens_at: t(100),
            closes_at: Some(t(200)),
            waiting_room_seconds: 30,
        };
        assert_eq!(
            s.status_at(DropStatus::Scheduled, t(0), 5),
            DropStatus::Scheduled
        );
        assert!(!s.in_waiting_room(t(69)));
        assert!(s.in_waiting_room(t(70)));
        assert!(!s.in_waiting_room(t(100)));
        assert_eq!(
            s.status_at(DropStatus::Scheduled, t(100), 5),
            DropStatus::Live
        );
        assert_eq!(
            s.status_at(DropStatus::Live, t(150), 0),
            DropStatus::SoldOut
        );
        assert_eq!(
            s.status_at(DropStatus::SoldOut, t(150), 1),
            DropStatus::Live
        );
        assert_eq!(s.status_at(DropStatus::Live, t(200), 5), DropStatus::Ended);
        assert_eq!(s.status_at(DropStatus::Draft, t(150), 5), DropStatus::Draft);
        assert_eq!(
            s.status_at(DropStatus::Paused, t(150), 5),
            DropStatus::Paused
        );
        assert_eq!(
            s.status_at(DropStatus::Cancelled, t(50), 5),
            DropStatus::Cancelled
        );
        assert_eq!(s.next_transition(t(0)), Some(t(70)));
        assert_eq!(s.next_transition(t(70)), Some(t(100)));
        assert_eq!(s.next_transition(t(100)), Some(t(200)));
        assert_eq!(s.next_transition(t(200)), None);
    }

    /// Fixed test vectors of the waiting-room order, computed outside this code from the
    /// documented algorithm (ChaCha20 keyed by the seed, zero nonce, read as little-endian
    /// u32 words; for i from n−1 down to 1, j uniform in 0..=i by widening multiply with
    /// rejection; swap i and j), with the ChaCha20 of `docs/raffle_proof_reference.py`. A
    /// change of algorithm or of the `rand` version under it changes these orders, and with
    /// them every published waiting-room log's: that must be a decision, not an accident.
    #[test]
    fn the_waiting_room_order_for_a_known_seed_is_fixed() {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let mut tickets: Vec<String> = (1..=12).map(|i| format!("t{i:02}")).collect();
        shuffle(&mut tickets, seed);
        assert_eq!(
            tickets,
            ["t02", "t12", "t11", "t01", "t09", "t10", "t07", "t03", "t08", "t05", "t04", "t06"]
        );
        let mut many: Vec<usize> = (0..300).collect();
        shuffle(&mut many, [0xab; 32]);
        assert_eq!(
            many[..20],
            [
                47, 182, 94, 66, 13, 25, 290, 224, 240, 199, 254, 159, 299, 42, 89, 271, 198, 114,
                148, 150
            ]
        );
    }

    proptest! {
        #[test]
        fn the_shuffle_is_a_permutation_and_depends_only_on_the_seed(n in 0usize..300, seed in any::<[u8; 32]>()) {
            let mut a: Vec<usize> = (0..n).collect();
            let mut b = a.clone();
            shuffle(&mut a, seed);
            shuffle(&mut b, seed);
            prop_assert_eq!(&a, &b);
            let mut sorted = a.clone();
            sorted.sort();
            prop_assert_eq!(sorted, (0..n).collect::<Vec<_>>());
        }
    }
}
