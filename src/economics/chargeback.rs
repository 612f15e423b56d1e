//! Splitting money into cents that sum exactly: the largest-remainder rule.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds `total` to the cent (half away from zero) and splits it over `shares` (exact
/// amounts summing to `total`, up to decimal precision) in whole cents: each share gets
/// its amount rounded down to the cent, and the cents left go one each to the shares
/// with the largest remainders (ties: the earlier share). The result sums to the
/// rounded total exactly.
pub fn split_cents(total: Decimal, shares: &[Decimal]) -> Vec<Decimal> {
    let hundred = Decimal::ONE_HUNDRED;
    let target = (total * hundred)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i128()
        .unwrap_or(0);
    let mut cents: Vec<i128> = Vec::with_capacity(shares.len());
    let mut rem: Vec<(Decimal, usize)> = Vec::with_capacity(shares.len());
    for (i, s) in shares.iter().enumerate() {
        let c = s * hundred;
        let f = c.floor();
        cents.push(f.to_i128().unwrap_or(0));
        rem.push((c - f, i));
    }
    let mut left = target - cents.iter().sum::<i128>();
    if !shares.is_empty() {
        rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut k = 0;
        while left > 0 {
            cents[rem[k % rem.len()].1] += 1;
            left -= 1;
            k += 1;
        }
        let mut k = rem.len();
        while left < 0 {
            k = if k == 0 { rem.len() - 1 } else { k - 1 };
            cents[rem[k].1] -= 1;
            left += 1;
        }
    }
    cents
        .into_iter()
        .map(|c| Decimal::from_i128_with_scale(c, 2))
        .collect()
}
