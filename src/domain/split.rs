//! Revenue splits: an amount in minor units shared among parties by basis points, so that
//! the parts add up to the amount exactly.
//!
//! The rule (largest remainder): each party first gets `floor(amount × bp / 10,000)`; the
//! cents left over (fewer than the number of parties) go one each to the parties with the
//! largest remainders, ties broken by the order the parties are given in (callers give
//! owner, collaborators by id, platform: the same order every time, so the same amount
//! always splits the same way).

/// All of an amount, in basis points.
pub const WHOLE_BP: i64 = 10_000;

/// Who a share belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    /// The platform's fee.
    Platform,
    /// A creator (the drop's owner or a collaborator), by user id.
    User(String),
}

impl Party {
    /// As stored and answered: `"platform"` or the user's id.
    pub fn key(&self) -> &str {
        match self {
            Party::Platform => "platform",
            Party::User(id) => id,
        }
    }
}

/// Split `amount` (≥ 0) by `shares` (basis points ≥ 0 that add up to [`WHOLE_BP`]).
/// Returns each party's part, in the order given; the parts add up to `amount`.
pub fn split(amount: i64, shares: &[i64]) -> Vec<i64> {
    debug_assert!(amount >= 0);
    debug_assert_eq!(shares.iter().sum::<i64>(), WHOLE_BP);
    let amount = i128::from(amount.max(0));
    let mut parts: Vec<i64> = Vec::with_capacity(shares.len());
    let mut rems: Vec<(i128, usize)> = Vec::with_capacity(shares.len());
    for (i, &bp) in shares.iter().enumerate() {
        let exact = amount * i128::from(bp.max(0));
        parts.push((exact / i128::from(WHOLE_BP)) as i64);
        rems.push((exact % i128::from(WHOLE_BP), i));
    }
    let given: i128 = parts.iter().map(|&p| i128::from(p)).sum();
    let left = (amount - given).max(0) as usize;
    // Largest remainder first; equal remainders in the parties' order.
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rems.iter().take(left) {
        parts[i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_known_split() {
        // 60/35/5 of 1,001 cents: 600.6, 350.35, 50.05 → the cent left goes to 600.6.
        assert_eq!(split(1001, &[6000, 3500, 500]), vec![601, 350, 50]);
        // Three equal remainders, one cent: the first party in order takes it.
        assert_eq!(split(1, &[3334, 3333, 3333]), vec![1, 0, 0]);
        assert_eq!(split(0, &[5000, 5000]), vec![0, 0]);
        assert_eq!(split(999, &[10_000]), vec![999]);
    }

    fn shares() -> impl Strategy<Value = Vec<i64>> {
        // 1 to 8 parties, each ≥ 1 bp, adding up to 10,000.
        proptest::collection::vec(1i64..=4000, 0..7).prop_map(|mut v| {
            let mut total: i64 = v.iter().sum();
            while total > WHOLE_BP - 1 {
                let x = v.pop().unwrap_or(0);
                total -= x;
            }
            v.push(WHOLE_BP - total);
            v
        })
    }

    proptest! {
        #[test]
        fn parts_add_up_and_stay_within_a_cent_of_the_exact_share(
            amount in 0i64..=crate::domain::money::MAX_CENTS,
            shares in shares(),
        ) {
            let parts = split(amount, &shares);
            prop_assert_eq!(parts.iter().sum::<i64>(), amount);
            for (p, bp) in parts.iter().zip(&shares) {
                let exact = i128::from(amount) * i128::from(*bp);
                let floor = (exact / i128::from(WHOLE_BP)) as i64;
                prop_assert!(*p == floor || *p == floor + 1, "{} of {} at {} bp", p, amount, bp);
            }
            // Deterministic: the same input splits the same way.
            prop_assert_eq!(split(amount, &shares), parts);
        }
    }
}
