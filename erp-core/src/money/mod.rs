//! Decimal money: ISO 4217 [`Currency`], [`Money`], explicit [`Rounding`], allocation and FX conversion.
//!
//! * Amounts are [`rust_decimal::Decimal`]: never `f32`/`f64`.
//! * Every arithmetic operation is checked: overflow is [`MoneyError::Overflow`] and mixing currencies is
//!   [`MoneyError::CurrencyMismatch`], never a panic.
//! * A [`Money`] may carry more decimals than its currency's minor unit (unit prices often do); rounding to the
//!   minor unit is explicit ([`Money::round`]) and always names a [`Rounding`] mode.
//! * [`Money::allocate`] splits an amount across weights without losing or inventing a minor unit.
//!
//! ```
//! use erp_hub_core::money::{Currency, Money, Rounding};
//! use rust_decimal_macros::dec;
//!
//! let price = Money::new(dec!(100.00), Currency::from_code("USD")?);
//! let shares = price.allocate(&[dec!(1), dec!(1), dec!(1)])?;
//! let amounts: Vec<_> = shares.iter().map(|m| m.amount()).collect();
//! assert_eq!(amounts, [dec!(33.34), dec!(33.33), dec!(33.33)]);
//!
//! let pesos = price.convert(Currency::MXN, dec!(18.3456), Rounding::HalfUp)?;
//! assert_eq!(pesos.amount(), dec!(1834.56));
//! assert_eq!(pesos.to_string(), "1834.56 MXN");
//! # Ok::<(), erp_hub_core::money::MoneyError>(())
//! ```

mod allocate;
mod currency;
mod rounding;

use std::fmt;

use rust_decimal::Decimal;

pub use currency::Currency;
pub use rounding::Rounding;

/// Errors of money arithmetic. Variants may be added in minor releases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The result does not fit in a [`Decimal`] (about 7.9 × 10²⁸), or an intermediate value overflowed.
    #[error("arithmetic overflow")]
    Overflow,
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: expected {expected}, found {found}")]
    CurrencyMismatch {
        /// The currency the operation works in.
        expected: Currency,
        /// The currency that was given.
        found: Currency,
    },
    /// The alphabetic code is not in the ISO 4217 table (the offending input, cut to 16 characters).
    #[error("unknown ISO 4217 currency code {0:?}")]
    UnknownCurrency(String),
    /// The amount has more decimals than the currency's minor unit where a whole number of minor units is needed
    /// (e.g. [`Money::allocate`]); round it first.
    #[error("{amount} has more decimal places than the minor unit of {currency} allows")]
    ExcessPrecision {
        /// The amount.
        amount: Decimal,
        /// Its currency.
        currency: Currency,
    },
    /// [`Money::allocate`] was given no weights.
    #[error("no weights to allocate over")]
    EmptyWeights,
    /// [`Money::allocate`] was given a negative weight.
    #[error("weight #{index} is negative")]
    NegativeWeight {
        /// Position of the weight in the slice.
        index: usize,
    },
    /// [`Money::allocate`] was given weights that are all zero.
    #[error("all weights are zero")]
    ZeroWeights,
    /// An exchange rate was zero or negative.
    #[error("exchange rate must be positive, got {0}")]
    InvalidRate(Decimal),
}

/// An amount of a given currency.
///
/// The amount keeps the scale it was given (`10.5` stays `10.5` until rounded) and may carry more decimals than
/// the currency's minor unit. Equality is numeric (`10.5 MXN == 10.50 MXN`).
///
/// Serde: `{"amount": "12.30", "currency": "MXN"}`. The amount is a JSON **string** on output and must be one on
/// input, so no binary floating point is ever involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// An amount of `currency`, taken as is (not rounded).
    pub const fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Zero in `currency`, with the currency's number of decimals (`0.00` for MXN).
    pub fn zero(currency: Currency) -> Self {
        let mut amount = Decimal::ZERO;
        amount.rescale(currency.minor_units());
        Self { amount, currency }
    }

    /// An amount given as a whole number of minor units (`from_minor(1234, MXN)` is `12.34 MXN`).
    pub fn from_minor(minor_units: i64, currency: Currency) -> Self {
        // i64 always fits the 96-bit mantissa and minor units are at most 6, so this cannot fail.
        let amount =
            Decimal::try_from_i128_with_scale(i128::from(minor_units), currency.minor_units())
                .unwrap_or(Decimal::ZERO);
        Self { amount, currency }
    }

    /// The amount.
    pub const fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Whether the amount is strictly negative.
    pub fn is_negative(&self) -> bool {
        self.amount < Decimal::ZERO
    }

    /// Whether the amount is strictly positive.
    pub fn is_positive(&self) -> bool {
        self.amount > Decimal::ZERO
    }

    /// The absolute value.
    #[must_use]
    pub fn abs(&self) -> Self {
        Self::new(self.amount.abs(), self.currency)
    }

    /// Whether the amount is a whole number of minor units (at most `minor_units` significant decimals).
    pub fn is_rounded(&self) -> bool {
        self.amount.normalize().scale() <= self.currency.minor_units()
    }

    /// The amount as a whole number of minor units (`12.34 MXN` → `1234`).
    ///
    /// # Errors
    /// [`MoneyError::ExcessPrecision`] when the amount is not a whole number of minor units
    /// (see [`Money::round`]).
    pub fn to_minor_units(&self) -> Result<i128, MoneyError> {
        let normalized = self.amount.normalize();
        let minor = self.currency.minor_units();
        let scale = normalized.scale();
        if scale > minor {
            return Err(MoneyError::ExcessPrecision {
                amount: self.amount,
                currency: self.currency,
            });
        }
        // |mantissa| < 2^96 and the factor is at most 10^6, so this cannot overflow an i128.
        let factor = 10i128.pow(minor - scale);
        normalized
            .mantissa()
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)
    }

    /// Rounds the amount to the currency's minor unit with an explicit mode (`12.345 MXN` → `12.35 MXN` with
    /// [`Rounding::HalfUp`]). The result always has exactly `minor_units` decimals (`12 MXN` → `12.00 MXN`).
    #[must_use]
    pub fn round(&self, rounding: Rounding) -> Self {
        let minor = self.currency.minor_units();
        let mut amount = rounding.round(self.amount, minor);
        // Pad to exactly `minor` decimals without changing the value (`rescale` only rounds when lowering the
        // scale, and stops at the largest scale that fits when the mantissa would overflow).
        amount.rescale(minor);
        Self::new(amount, self.currency)
    }

    /// `self + other`.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self::new(amount, self.currency))
    }

    /// `self - other`.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self::new(amount, self.currency))
    }

    /// `self × factor` (a quantity, a percentage as a fraction, ...), not rounded.
    ///
    /// Like every [`Decimal`] product, the result keeps at most 28 decimals.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn checked_mul(&self, factor: Decimal) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self::new(amount, self.currency))
    }

    /// Splits the amount across `weights` by the largest-remainder method, in whole minor units.
    ///
    /// The shares add up exactly to `self`, and each share is within one minor unit of its exact proportional
    /// share `self × wᵢ / Σw` (it is that share rounded down or up, in magnitude). Every share starts as the
    /// proportional share truncated toward zero; the minor units left over go one each to the shares with the
    /// largest remainders. **Tie-break:** equal remainders are served in the order of the weights (lowest index
    /// first), so the result is deterministic. A zero weight always gets zero. A negative amount is split like
    /// its absolute value and every share negated.
    ///
    /// ```
    /// use erp_hub_core::money::{Currency, Money};
    /// use rust_decimal_macros::dec;
    ///
    /// let total = Money::new(dec!(10.00), Currency::MXN);
    /// let parts = total.allocate(&[dec!(0.5), dec!(0.25), dec!(0.25), dec!(0)])?;
    /// assert_eq!(parts.iter().map(|m| m.amount()).collect::<Vec<_>>(), [dec!(5), dec!(2.5), dec!(2.5), dec!(0)]);
    /// # Ok::<(), erp_hub_core::money::MoneyError>(())
    /// ```
    ///
    /// # Errors
    /// [`MoneyError::EmptyWeights`], [`MoneyError::NegativeWeight`], [`MoneyError::ZeroWeights`],
    /// [`MoneyError::ExcessPrecision`] when `self` is not a whole number of minor units, and
    /// [`MoneyError::Overflow`] when the weights cannot be brought to a common scale within 128 bits.
    pub fn allocate(&self, weights: &[Decimal]) -> Result<Vec<Money>, MoneyError> {
        let total = self.to_minor_units()?;
        let shares = allocate::largest_remainder(total, weights)?;
        shares
            .into_iter()
            .map(|minor| {
                Decimal::try_from_i128_with_scale(minor, self.currency.minor_units())
                    .map(|amount| Money::new(amount, self.currency))
                    .map_err(|_| MoneyError::Overflow)
            })
            .collect()
    }

    /// Converts to `to` at `rate` (**units of `to` per one unit of `self`'s currency**) and rounds the result to
    /// the minor unit of `to` with `rounding`.
    ///
    /// `Money::new(dec!(100), USD).convert(MXN, dec!(18.3456), Rounding::HalfUp)` is `1834.56 MXN`.
    ///
    /// # Errors
    /// [`MoneyError::InvalidRate`] when `rate <= 0`; [`MoneyError::Overflow`].
    pub fn convert(
        &self,
        to: Currency,
        rate: Decimal,
        rounding: Rounding,
    ) -> Result<Money, MoneyError> {
        if rate <= Decimal::ZERO {
            return Err(MoneyError::InvalidRate(rate));
        }
        let amount = self.amount.checked_mul(rate).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, to).round(rounding))
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                expected: self.currency,
                found: other.currency,
            })
        }
    }
}

impl std::ops::Neg for Money {
    type Output = Money;

    /// Negation never overflows (a [`Decimal`] stores its sign separately).
    fn neg(self) -> Money {
        Money::new(-self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    /// `12.30 MXN`: the amount as stored, a space, the code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// A typed exchange rate: `rate` units of `to` per one unit of `from`.
///
/// ```
/// use erp_hub_core::money::{Currency, ExchangeRate, Money, Rounding};
/// use rust_decimal_macros::dec;
///
/// let usd_mxn = ExchangeRate::new(Currency::USD, Currency::MXN, dec!(18.3456))?;
/// let pesos = usd_mxn.convert(&Money::new(dec!(250.00), Currency::USD), Rounding::HalfUp)?;
/// assert_eq!(pesos.amount(), dec!(4586.40));
/// # Ok::<(), erp_hub_core::money::MoneyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ExchangeRate {
    from: Currency,
    to: Currency,
    #[serde(with = "rust_decimal::serde::str")]
    rate: Decimal,
}

impl ExchangeRate {
    /// A rate of `rate` units of `to` per one unit of `from`.
    ///
    /// # Errors
    /// [`MoneyError::InvalidRate`] when `rate <= 0`.
    pub fn new(from: Currency, to: Currency, rate: Decimal) -> Result<Self, MoneyError> {
        if rate <= Decimal::ZERO {
            return Err(MoneyError::InvalidRate(rate));
        }
        Ok(Self { from, to, rate })
    }

    /// The source currency.
    pub const fn from(&self) -> Currency {
        self.from
    }

    /// The target currency.
    pub const fn to(&self) -> Currency {
        self.to
    }

    /// Units of [`to`](Self::to) per one unit of [`from`](Self::from).
    pub const fn rate(&self) -> Decimal {
        self.rate
    }

    /// Converts `money` (which must be in [`from`](Self::from)) and rounds to the minor unit of
    /// [`to`](Self::to).
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when `money` is not in `from`; [`MoneyError::Overflow`].
    pub fn convert(&self, money: &Money, rounding: Rounding) -> Result<Money, MoneyError> {
        if money.currency() != self.from {
            return Err(MoneyError::CurrencyMismatch {
                expected: self.from,
                found: money.currency(),
            });
        }
        money.convert(self.to, self.rate, rounding)
    }

    /// The reverse rate (`1 / rate`, at most 28 decimals).
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] when `1 / rate` does not fit.
    pub fn inverse(&self) -> Result<Self, MoneyError> {
        let rate = Decimal::ONE
            .checked_div(self.rate)
            .ok_or(MoneyError::Overflow)?;
        Self::new(self.to, self.from, rate)
    }
}
