//! Largest-remainder allocation in exact integer arithmetic (256-bit intermediate products).

use rust_decimal::Decimal;

use super::MoneyError;

/// Splits `total` minor units across `weights`; see [`super::Money::allocate`] for the contract.
pub(super) fn largest_remainder(total: i128, weights: &[Decimal]) -> Result<Vec<i128>, MoneyError> {
    if weights.is_empty() {
        return Err(MoneyError::EmptyWeights);
    }
    if let Some(index) = weights.iter().position(|w| *w < Decimal::ZERO) {
        return Err(MoneyError::NegativeWeight { index });
    }
    // Bring every weight to a common scale as an exact unsigned integer.
    let normalized: Vec<Decimal> = weights.iter().map(Decimal::normalize).collect();
    let scale = normalized.iter().map(Decimal::scale).max().unwrap_or(0);
    let mut ints = Vec::with_capacity(normalized.len());
    let mut sum: u128 = 0;
    for w in &normalized {
        let factor = 10u128
            .checked_pow(scale - w.scale())
            .ok_or(MoneyError::Overflow)?;
        let int = w
            .mantissa()
            .unsigned_abs()
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        sum = sum.checked_add(int).ok_or(MoneyError::Overflow)?;
        ints.push(int);
    }
    if sum == 0 {
        return Err(MoneyError::ZeroWeights);
    }

    let magnitude = total.unsigned_abs();
    let mut shares = Vec::with_capacity(ints.len());
    let mut remainders = Vec::with_capacity(ints.len());
    let mut distributed: u128 = 0;
    for &w in &ints {
        // w <= sum, so the quotient is at most `magnitude` and fits.
        let (q, r) = mul_div_rem(magnitude, w, sum);
        distributed = distributed.checked_add(q).ok_or(MoneyError::Overflow)?;
        shares.push(q);
        remainders.push(r);
    }
    // Σ floor(T·wᵢ/W) >= T - (n - 1), so fewer than n units are left over.
    let leftover = magnitude
        .checked_sub(distributed)
        .ok_or(MoneyError::Overflow)?;
    let mut order: Vec<usize> = (0..ints.len()).collect();
    // Largest remainder first; ties by position (stable sort keeps index order).
    order.sort_by(|&a, &b| remainders.get(b).cmp(&remainders.get(a)));
    let leftover = usize::try_from(leftover).map_err(|_| MoneyError::Overflow)?;
    for &i in order.iter().take(leftover) {
        if let Some(share) = shares.get_mut(i) {
            *share = share.checked_add(1).ok_or(MoneyError::Overflow)?;
        }
    }
    shares
        .into_iter()
        .map(|s| {
            let s = i128::try_from(s).map_err(|_| MoneyError::Overflow)?;
            Ok(if total < 0 { -s } else { s })
        })
        .collect()
}

/// `(floor(a·b / d), (a·b) mod d)` for `b <= d`, `d > 0`, with a 256-bit intermediate product.
pub(super) fn mul_div_rem(a: u128, b: u128, d: u128) -> (u128, u128) {
    let (hi, lo) = mul_wide(a, b);
    // hi < d because a·b <= a·d < 2^128·d, so the quotient fits in 128 bits.
    let mut rem = hi;
    let mut quot: u128 = 0;
    for bit in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((lo >> bit) & 1);
        quot <<= 1;
        if carry == 1 || rem >= d {
            // With the carry the true value is 2^128 + rem >= d, and the difference is < d.
            rem = rem.wrapping_sub(d);
            quot |= 1;
        }
    }
    (quot, rem)
}

/// The 256-bit product `a·b` as `(high, low)` 128-bit halves.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & MASK);
    let (b1, b0) = (b >> 64, b & MASK);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // Each term is < 2^64, so the sum is < 3·2^64.
    let mid = (p00 >> 64) + (p01 & MASK) + (p10 & MASK);
    let lo = (p00 & MASK) | ((mid & MASK) << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_arithmetic_matches_small_products() {
        for (a, b, d) in [
            (7u128, 3u128, 5u128),
            (100, 1, 3),
            (0, 5, 9),
            (u64::MAX as u128, 17, 19),
        ] {
            let p = a * b;
            assert_eq!(mul_div_rem(a, b, d), (p / d, p % d));
        }
    }

    #[test]
    fn wide_arithmetic_handles_full_width() {
        let a = u128::MAX;
        // a·a / a = a, remainder 0.
        assert_eq!(mul_div_rem(a, a, a), (a, 0));
        // a·(a-1) / a = a - 1.
        assert_eq!(mul_div_rem(a, a - 1, a), (a - 1, 0));
        // (2^127)·3 / 4 = 3·2^125.
        assert_eq!(mul_div_rem(1 << 127, 3, 4), (3 << 125, 0));
        // a·1 / 2 = floor(a/2), remainder 1.
        assert_eq!(mul_div_rem(a, 1, 2), (a / 2, 1));
    }
}
