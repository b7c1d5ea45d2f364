//! Live state's sequence numbers.

use chrono::NaiveDateTime;

/// The sequence number after `prev`: above it, and at least the time in microseconds, so
/// numbers are comparable across the actors of one topic on different nodes (and across a
/// restart): a socket skips a number at or below one it has seen, so a node that changed
/// less must not count from lower. Nodes' clocks agree to well under the push interval
/// under NTP; a skew only delays an update by that skew, never loses the final state.
pub fn next_seq(prev: u64, now: NaiveDateTime) -> u64 {
    let micros = now.and_utc().timestamp_micros().max(0) as u64;
    (prev + 1).max(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequence_rises_and_keeps_up_with_the_clock() {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc();
        let a = next_seq(1, t);
        assert_eq!(a, 1_700_000_000_000_000);
        // Within the same microsecond, it still rises.
        assert_eq!(next_seq(a, t), a + 1);
        // A node that changed less (a low count) is above the other's once time moved.
        let later = t + chrono::Duration::milliseconds(1);
        assert!(next_seq(5, later) > next_seq(a, t));
    }
}
