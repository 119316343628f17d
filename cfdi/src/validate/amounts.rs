//! Checked decimal helpers for the SAT amount rules: decimal places, "redondeo" equality and the
//! límite inferior / superior tolerances of Anexo 20. Every operation is checked; `None` means the numbers are out
//! of `Decimal`'s range, in which case the caller skips the comparison (the schema limits amounts to 18 integer
//! digits, far below that range, so only hostile input reaches it).

use rust_decimal::{Decimal, RoundingStrategy};

/// Whether `value` is written with more decimal places than `dec` (`None` = no currency rule).
pub(super) fn exceeds(value: Decimal, dec: Option<u32>) -> bool {
    dec.is_some_and(|d| value.scale() > d)
}

/// Half a unit of the last written decimal place of `value`: `10^-scale / 2`.
pub(super) fn half_unit(value: Decimal) -> Option<Decimal> {
    Decimal::try_new(5, value.scale().checked_add(1)?).ok()
}

/// Checked sum.
pub(super) fn sum<I: IntoIterator<Item = Decimal>>(values: I) -> Option<Decimal> {
    values
        .into_iter()
        .try_fold(Decimal::ZERO, |acc, v| acc.checked_add(v))
}

/// `value` equals `raw` rounded to `dp` places, half away from zero or half to even (SAT says "redondeo" without
/// naming the mode; both are accepted).
pub(super) fn equals_rounded(value: Decimal, raw: Decimal, dp: u32) -> bool {
    value == raw.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
        || value == raw.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven)
}

/// Inclusive interval `[floor(lo, dp), ceil(hi, dp)]`.
fn widen(lo: Decimal, hi: Decimal, dp: u32) -> (Decimal, Decimal) {
    (
        lo.round_dp_with_strategy(dp, RoundingStrategy::ToNegativeInfinity),
        hi.round_dp_with_strategy(dp, RoundingStrategy::ToPositiveInfinity),
    )
}

/// Anexo 20 límites of `Importe = Cantidad × ValorUnitario`:
/// `[(Cantidad − ½ulp) × (ValorUnitario − ½ulp)` truncated, `(Cantidad + ½ulp) × (ValorUnitario + ½ulp)` rounded
/// up`]`, at `dp` decimals.
pub(super) fn importe_limits(
    cantidad: Decimal,
    valor: Decimal,
    dp: u32,
) -> Option<(Decimal, Decimal)> {
    let hc = half_unit(cantidad)?;
    let hv = half_unit(valor)?;
    let lo = cantidad
        .checked_sub(hc)?
        .checked_mul(valor.checked_sub(hv)?)?;
    let hi = cantidad
        .checked_add(hc)?
        .checked_mul(valor.checked_add(hv)?)?;
    Some(widen(lo, hi, dp))
}

/// Anexo 20 límites of a tax `Importe = Base × TasaOCuota`:
/// `[(Base − ½ulp) × Tasa` truncated, `(Base + ½ulp) × Tasa` rounded up`]`, at `dp` decimals.
pub(super) fn tax_limits(base: Decimal, tasa: Decimal, dp: u32) -> Option<(Decimal, Decimal)> {
    let hb = half_unit(base)?;
    let lo = base.checked_sub(hb)?.checked_mul(tasa)?;
    let hi = base.checked_add(hb)?.checked_mul(tasa)?;
    Some(widen(lo, hi, dp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn limits_follow_anexo_20() {
        // 3 × 33.333333 = 99.999999: límites at 2 decimals.
        let (lo, hi) = importe_limits(d("3"), d("33.333333"), 2).unwrap_or_default();
        assert_eq!((lo, hi), (d("83.33"), d("116.67")));
        let (lo, hi) = tax_limits(d("100.00"), d("0.160000"), 2).unwrap_or_default();
        assert_eq!((lo, hi), (d("15.99"), d("16.01")));
    }

    #[test]
    fn rounding_accepts_both_midpoint_modes() {
        assert!(equals_rounded(d("0.12"), d("0.125"), 2));
        assert!(equals_rounded(d("0.13"), d("0.125"), 2));
        assert!(!equals_rounded(d("0.14"), d("0.125"), 2));
        assert!(exceeds(d("1.001"), Some(2)));
        assert!(!exceeds(d("1.00"), Some(2)));
        assert!(!exceeds(d("1.00001"), None));
    }
}
