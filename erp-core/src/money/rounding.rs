//! Explicit rounding modes.

use rust_decimal::{Decimal, RoundingStrategy};

/// How to round an amount to a number of decimal places. There is no default: every rounding names its mode.
///
/// | mode | 2.345 → | 2.355 → | -2.345 → | 2.341 → |
/// |---|---|---|---|---|
/// | [`HalfUp`](Self::HalfUp) | 2.35 | 2.36 | -2.35 | 2.34 |
/// | [`HalfEven`](Self::HalfEven) | 2.34 | 2.36 | -2.34 | 2.34 |
/// | [`Truncate`](Self::Truncate) | 2.34 | 2.35 | -2.34 | 2.34 |
/// | [`Ceiling`](Self::Ceiling) | 2.35 | 2.36 | -2.34 | 2.35 |
/// | [`Floor`](Self::Floor) | 2.34 | 2.35 | -2.35 | 2.34 |
///
/// `rust_decimal`'s `Decimal::round_dp` silently uses banker's rounding; this crate never calls it (the
/// workspace `clippy.toml` forbids it) and always goes through [`Rounding::round`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rounding {
    /// Round half away from zero (commercial rounding; what SAT and Hacienda expect for positive amounts).
    HalfUp,
    /// Round half to the nearest even digit (banker's rounding).
    HalfEven,
    /// Drop the extra digits (round toward zero).
    Truncate,
    /// Round toward positive infinity.
    Ceiling,
    /// Round toward negative infinity.
    Floor,
}

impl Rounding {
    /// Rounds `value` to `decimal_places` decimal places with this mode.
    ///
    /// Values that already have at most `decimal_places` decimals are returned unchanged. Never panics:
    /// rounding only shortens the mantissa.
    ///
    /// ```
    /// use erp_hub_core::money::Rounding;
    /// use rust_decimal_macros::dec;
    ///
    /// assert_eq!(Rounding::HalfUp.round(dec!(2.345), 2), dec!(2.35));
    /// assert_eq!(Rounding::HalfEven.round(dec!(2.345), 2), dec!(2.34));
    /// ```
    pub fn round(self, value: Decimal, decimal_places: u32) -> Decimal {
        value.round_dp_with_strategy(decimal_places, self.strategy())
    }

    /// The equivalent `rust_decimal` strategy.
    pub fn strategy(self) -> RoundingStrategy {
        match self {
            Self::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Self::HalfEven => RoundingStrategy::MidpointNearestEven,
            Self::Truncate => RoundingStrategy::ToZero,
            Self::Ceiling => RoundingStrategy::ToPositiveInfinity,
            Self::Floor => RoundingStrategy::ToNegativeInfinity,
        }
    }
}
