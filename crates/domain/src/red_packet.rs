//! Red packets (红包): how a total is split into shares.
//!
//! A lucky packet is split when it is sent, by choosing `n - 1` distinct cut
//! points uniformly in `1..total`: every share is at least one minor unit,
//! the shares sum exactly to the total, and every arrangement is equally
//! likely, so the expected share is `total / n` whatever the order of opening.
//! Opening then takes the next unopened share — which is what makes
//! concurrent opening simple to get right in the store.

use std::collections::BTreeSet;

use crate::Error;

/// Most shares in one packet (a group's size).
pub const MAX_SHARES: u32 = 500;

/// A source of uniform random numbers, injected so splits are reproducible in tests.
pub trait Random {
    fn next_u64(&mut self) -> u64;
}

/// Uniform in `1..=n` without modulo bias.
fn uniform(random: &mut impl Random, n: u64) -> u64 {
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let r = random.next_u64();
        if r < zone {
            return r % n + 1;
        }
    }
}

/// Splits `total` minor units into `shares` random shares of at least 1.
pub fn lucky_split(total: i64, shares: u32, random: &mut impl Random) -> Result<Vec<i64>, Error> {
    if shares == 0 || shares > MAX_SHARES || total < i64::from(shares) {
        return Err(Error::InvalidRequest);
    }
    let cuts_needed = u64::from(shares - 1);
    let positions = (total - 1) as u64;
    // Floyd's algorithm: `cuts_needed` distinct values in 1..=positions, O(k).
    let mut cuts = BTreeSet::new();
    for j in (positions - cuts_needed + 1)..=positions {
        let t = uniform(random, j);
        if !cuts.insert(t) {
            cuts.insert(j);
        }
    }
    let mut result = Vec::with_capacity(shares as usize);
    let mut previous = 0i64;
    for cut in cuts {
        result.push(cut as i64 - previous);
        previous = cut as i64;
    }
    result.push(total - previous);
    Ok(result)
}

/// `shares` equal shares of `each` minor units; the total is overflow-checked.
pub fn identical_split(each: i64, shares: u32) -> Result<(i64, Vec<i64>), Error> {
    if each <= 0 || shares == 0 || shares > MAX_SHARES {
        return Err(Error::InvalidRequest);
    }
    let total = each.checked_mul(i64::from(shares)).ok_or(Error::InvalidRequest)?;
    Ok((total, vec![each; shares as usize]))
}

/// The index of the best-luck share (the largest; the earliest opened wins a tie).
pub fn best_luck(opened: &[i64]) -> Option<usize> {
    let max = opened.iter().max()?;
    opened.iter().position(|s| s == max)
}

/// SplitMix64: a small, fast generator expanded from one seed. The caller
/// seeds it from the operating system; a seed reproduces a split exactly.
pub struct SplitMix(pub u64);

impl Random for SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn lucky_shares_are_positive_and_sum_exactly(total in 1i64..10_000_000, shares in 1u32..=500, seed in any::<u64>()) {
            prop_assume!(total >= i64::from(shares));
            let split = lucky_split(total, shares, &mut SplitMix(seed)).expect("valid");
            prop_assert_eq!(split.len(), shares as usize);
            prop_assert!(split.iter().all(|s| *s >= 1));
            prop_assert_eq!(split.iter().sum::<i64>(), total);
        }

        #[test]
        fn identical_shares(each in 1i64..1_000_000, shares in 1u32..=500) {
            let (total, split) = identical_split(each, shares).expect("valid");
            prop_assert_eq!(total, each * i64::from(shares));
            prop_assert!(split.iter().all(|s| *s == each));
        }
    }

    #[test]
    fn the_expected_share_does_not_depend_on_the_order_of_opening() {
        let (total, shares, rounds) = (1_000i64, 5u32, 40_000);
        let mut sums = [0i64; 5];
        let mut random = SplitMix(42);
        for _ in 0..rounds {
            for (i, share) in lucky_split(total, shares, &mut random)
                .expect("valid")
                .iter()
                .enumerate()
            {
                sums[i] += share;
            }
        }
        let expected = total as f64 / f64::from(shares);
        for sum in sums {
            let mean = sum as f64 / f64::from(rounds);
            assert!((mean - expected).abs() < expected * 0.02, "mean {mean} vs {expected}");
        }
    }

    /// Yields the values given, in order.
    struct Scripted(Vec<u64>);

    impl Random for Scripted {
        fn next_u64(&mut self) -> u64 {
            self.0.remove(0)
        }
    }

    /// A draw at the edge of the unbiased zone is thrown away, not used.
    #[test]
    fn uniform_rejects_the_biased_tail() {
        // 2^64 - 1 is a multiple of 3, so the zone ends at u64::MAX itself.
        assert_eq!(uniform(&mut Scripted(vec![u64::MAX, 4]), 3), 2);
        assert_eq!(
            uniform(&mut Scripted(vec![u64::MAX - 1, 4]), 3),
            3,
            "(2^64 - 2) mod 3 is 2"
        );
    }

    /// SplitMix64's published sequence for seed 0: a seed reproduces a split
    /// only if the generator is exactly this one.
    #[test]
    fn splitmix_is_the_reference_generator() {
        let mut random = SplitMix(0);
        let drawn: Vec<u64> = (0..3).map(|_| random.next_u64()).collect();
        assert_eq!(
            drawn,
            vec![0xe220_a839_7b1d_cdaf, 0x6e78_9e6a_a1b9_65f4, 0x06c4_5d18_8009_454f]
        );
    }

    #[test]
    fn identical_splits_refuse_what_is_out_of_bounds() {
        assert_eq!(identical_split(1, MAX_SHARES + 1), Err(Error::InvalidRequest));
        assert_eq!(identical_split(1, 0), Err(Error::InvalidRequest));
        assert_eq!(identical_split(-1, 3), Err(Error::InvalidRequest));
        assert_eq!(
            identical_split(2, MAX_SHARES),
            Ok((2 * i64::from(MAX_SHARES), vec![2; MAX_SHARES as usize]))
        );
        assert_eq!(best_luck(&[5, 1, 2]), Some(0));
        assert_eq!(best_luck(&[1, 2, 7]), Some(2));
        assert_eq!(best_luck(&[]), None);
    }

    /// Two cents in two shares can only be a cent each, whatever the draw.
    #[test]
    fn the_smallest_packet_splits_one_way() {
        for seed in 0..64 {
            assert_eq!(lucky_split(2, 2, &mut SplitMix(seed)), Ok(vec![1, 1]), "seed {seed}");
        }
    }

    #[test]
    fn edges() {
        let mut random = SplitMix(1);
        assert_eq!(lucky_split(5, 5, &mut random).expect("valid"), vec![1; 5]);
        assert_eq!(lucky_split(4, 5, &mut random), Err(Error::InvalidRequest));
        assert_eq!(lucky_split(100, 0, &mut random), Err(Error::InvalidRequest));
        assert_eq!(lucky_split(10_000, 501, &mut random), Err(Error::InvalidRequest));
        assert_eq!(identical_split(i64::MAX, 2), Err(Error::InvalidRequest));
        assert_eq!(identical_split(0, 2), Err(Error::InvalidRequest));
        assert_eq!(best_luck(&[3, 9, 9, 1]), Some(1));
    }
}
