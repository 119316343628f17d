//! Tax math for invoice lines: transferred and withheld taxes, compound bases, price-inclusive lines,
//! discounts and an explicit rounding policy.
//!
//! A [`Tax`] has a provider-neutral `code` (`"IVA"`, `"ISR"`, `"IEPS"`, `"VAT"`, ...), a [`TaxKind`]
//! (transferred, i.e. added to the total, or withheld, i.e. subtracted) and a [`TaxRate`] (a percentage, a fixed
//! amount per unit, zero or exempt). A tax whose base includes other taxes (Mexico's IVA computed over IEPS)
//! lists them in [`Tax::base_includes`]. A [`TaxCalculator`] turns [`Line`]s into a [`TaxBreakdown`]: one
//! [`LineBreakdown`] per line and document totals grouped by (code, kind, rate).
//!
//! All amounts are [`Decimal`]s; every operation is checked, so bad input gives a
//! [`TaxError`], never a panic.
//!
//! ```
//! use erp_hub_core::money::{Currency, Money, Rounding};
//! use erp_hub_core::tax::{Line, Tax, TaxCalculator, TaxRate};
//! use rust_decimal_macros::dec;
//!
//! // Professional services in Mexico: IVA 16 % transferred, ISR 10 % withheld by the corporate client.
//! let mxn = Currency::MXN;
//! let line = Line::new(dec!(1), Money::new(dec!(10000.00), mxn))
//!     .with_tax(Tax::transferred("IVA", TaxRate::Percent(dec!(16))))
//!     .with_tax(Tax::withheld("ISR", TaxRate::Percent(dec!(10))));
//! let result = TaxCalculator::new(mxn).calculate(&[line])?;
//! assert_eq!(result.subtotal.amount(), dec!(10000.00));
//! assert_eq!(result.transferred.amount(), dec!(1600.00));
//! assert_eq!(result.withheld.amount(), dec!(1000.00));
//! assert_eq!(result.total.amount(), dec!(10600.00));
//! assert_eq!(result.groups.len(), 2);
//! # Ok::<(), erp_hub_core::tax::TaxError>(())
//! ```
//!
//! # Price-inclusive lines
//! With [`PriceMode::Inclusive`], `quantity × unit_price − discount` is the amount the customer pays
//! **including** the transferred taxes (withheld taxes are never in the price). Every transferred tax is an affine
//! function of the net amount `N` (`IEPS = 0.08·N`, `IVA = 0.16·(N + IEPS)`, a per-unit tax is a constant), so the
//! calculator solves `N·(1 + Σa) + Σb = inclusive amount` exactly for `N` with a single division, then proceeds as
//! for an exclusive line. The discount is backed out by the same factor `1 + Σa` (per-unit taxes do not depend on
//! it).
//!
//! Under [`RoundingPolicy::PerLine`] the emitted net and taxes are each rounded, so `net + transferred` may differ
//! from the tax-inclusive amount by rounding: for rates up to 25 % with at most one tax compounded on another
//! (the domain of the property tests), by at most one minor unit. Very high compound rates (IEPS 160 % with IVA
//! over it) can amplify the net's rounding error beyond that. Under [`RoundingPolicy::PerDocument`] the line
//! values reproduce the inclusive amount to about 28 significant digits and only the document totals are rounded.
//!
//! # Rounding policy
//! * [`RoundingPolicy::PerLine`]: every emitted line value (gross, discount, each tax amount) is rounded to the
//!   currency's minor unit; a compound base is the emitted net plus the emitted amounts of the included taxes;
//!   every document total is the exact sum of the emitted line values.
//! * [`RoundingPolicy::PerDocument`]: line values are emitted unrounded; the subtotal, the discount and each
//!   group's base and amount are rounded once from the unrounded sums; transferred, withheld and total are then
//!   sums of those rounded group values, so the totals still add up.

mod compute;

use rust_decimal::Decimal;

use crate::money::{Currency, Money, MoneyError, Rounding};

/// Whether a tax is added to the amount due or withheld by the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaxKind {
    /// Charged to the customer on top of the net amount (CFDI *traslado*, VAT, sales tax).
    Transferred,
    /// Withheld by the customer and paid to the tax authority on the seller's behalf (CFDI *retención*).
    Withheld,
}

/// How a tax amount is computed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaxRate {
    /// A percentage of the base, **in percent**: `Percent(dec!(16))` is 16 % (CFDI writes it as `0.160000`).
    Percent(#[serde(with = "rust_decimal::serde::str")] Decimal),
    /// A fixed amount per unit of quantity (CFDI *cuota*, e.g. IEPS per litre), in the document currency.
    PerUnit(Money),
    /// Taxed at a zero rate (reported with its base and a zero amount; CFDI *Tasa 0.000000*).
    Zero,
    /// Exempt (reported with its base and no amount; CFDI *Exento*).
    Exempt,
}

/// A tax applied to a line. Build it with [`Tax::transferred`] or [`Tax::withheld`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Tax {
    /// Provider-neutral code, e.g. `"IVA"` (compared exactly, case-sensitive). Within a line, each (code, kind)
    /// pair may appear once.
    pub code: String,
    /// Transferred or withheld.
    pub kind: TaxKind,
    /// The rate.
    pub rate: TaxRate,
    /// Codes of **transferred** taxes of the same line whose amounts are added to this tax's base (IVA over IEPS:
    /// `["IEPS"]`). A set: duplicates count once. Unknown codes and cycles are errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_includes: Vec<String>,
}

impl Tax {
    /// A transferred tax (added to the total).
    pub fn transferred(code: impl Into<String>, rate: TaxRate) -> Self {
        Self {
            code: code.into(),
            kind: TaxKind::Transferred,
            rate,
            base_includes: Vec::new(),
        }
    }

    /// A withheld tax (subtracted from the total).
    pub fn withheld(code: impl Into<String>, rate: TaxRate) -> Self {
        Self {
            code: code.into(),
            kind: TaxKind::Withheld,
            rate,
            base_includes: Vec::new(),
        }
    }

    /// Adds the amount of the transferred tax `code` (of the same line) to this tax's base.
    #[must_use]
    pub fn with_base_including(mut self, code: impl Into<String>) -> Self {
        self.base_includes.push(code.into());
        self
    }
}

/// A line discount.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Discount {
    /// An amount off the whole line (not per unit), between zero and `quantity × unit_price`. On a
    /// price-inclusive line it includes the transferred taxes.
    Amount(Money),
    /// A percentage of `quantity × unit_price`, in percent (0–100).
    Percent(#[serde(with = "rust_decimal::serde::str")] Decimal),
}

/// One invoice line as input to the calculator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Line {
    /// Quantity (not negative).
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// Price of one unit (not negative), in the document currency; tax-inclusive under [`PriceMode::Inclusive`].
    pub unit_price: Money,
    /// Optional discount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    /// The taxes of the line, in the order they are reported.
    #[serde(default)]
    pub taxes: Vec<Tax>,
}

impl Line {
    /// A line without discount or taxes.
    pub fn new(quantity: Decimal, unit_price: Money) -> Self {
        Self {
            quantity,
            unit_price,
            discount: None,
            taxes: Vec::new(),
        }
    }

    /// Sets the discount.
    #[must_use]
    pub fn with_discount(mut self, discount: Discount) -> Self {
        self.discount = Some(discount);
        self
    }

    /// Adds a tax.
    #[must_use]
    pub fn with_tax(mut self, tax: Tax) -> Self {
        self.taxes.push(tax);
        self
    }
}

/// Whether unit prices exclude or include the transferred taxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PriceMode {
    /// Prices are net of tax (CFDI, Xero `Exclusive`).
    Exclusive,
    /// Prices include the transferred taxes (Xero `Inclusive`, retail). See the [module docs](self).
    Inclusive,
}

/// Where amounts are rounded to the currency's minor unit. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RoundingPolicy {
    /// Round every line value; totals are sums of the rounded line values.
    PerLine,
    /// Keep line values exact; round once per document total and per tax group.
    PerDocument,
}

/// Computes a [`TaxBreakdown`] for a document in one currency.
///
/// Defaults: [`PriceMode::Exclusive`], [`RoundingPolicy::PerLine`], [`Rounding::HalfUp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxCalculator {
    currency: Currency,
    price_mode: PriceMode,
    policy: RoundingPolicy,
    rounding: Rounding,
}

impl TaxCalculator {
    /// A calculator for documents in `currency`, with the defaults above.
    pub fn new(currency: Currency) -> Self {
        Self {
            currency,
            price_mode: PriceMode::Exclusive,
            policy: RoundingPolicy::PerLine,
            rounding: Rounding::HalfUp,
        }
    }

    /// Sets whether prices include the transferred taxes.
    #[must_use]
    pub fn price_mode(mut self, price_mode: PriceMode) -> Self {
        self.price_mode = price_mode;
        self
    }

    /// Sets where amounts are rounded.
    #[must_use]
    pub fn rounding_policy(mut self, policy: RoundingPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the rounding mode used wherever the policy rounds.
    #[must_use]
    pub fn rounding(mut self, rounding: Rounding) -> Self {
        self.rounding = rounding;
        self
    }

    /// The document currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Computes the per-line breakdown and the document totals.
    ///
    /// # Errors
    /// A [`TaxError`] naming the offending line (0-based) for negative quantities or prices, bad discounts,
    /// negative rates, amounts in another currency, duplicate taxes, unknown or circular compound bases, a
    /// price-inclusive amount smaller than its fixed per-unit taxes, and overflow.
    pub fn calculate(&self, lines: &[Line]) -> Result<TaxBreakdown, TaxError> {
        compute::calculate(self, lines)
    }
}

/// One tax of one line, as computed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct LineTax {
    /// The tax code.
    pub code: String,
    /// Transferred or withheld.
    pub kind: TaxKind,
    /// The rate.
    pub rate: TaxRate,
    /// The base: the line's net amount plus the amounts of the taxes in [`Tax::base_includes`]. For a
    /// [`TaxRate::PerUnit`] tax it is informational (the amount is `quantity × rate`).
    pub base: Money,
    /// The tax amount; `None` for an exempt tax.
    pub amount: Option<Money>,
}

/// The computed values of one line, in net (tax-exclusive) terms whatever the [`PriceMode`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct LineBreakdown {
    /// `quantity × unit_price`, net of transferred taxes.
    pub gross: Money,
    /// The discount, net of transferred taxes.
    pub discount: Money,
    /// `gross − discount`: the base of taxes that include no other tax.
    pub net: Money,
    /// The taxes, in the order of [`Line::taxes`].
    pub taxes: Vec<LineTax>,
    /// Sum of the transferred tax amounts.
    pub transferred: Money,
    /// Sum of the withheld tax amounts.
    pub withheld: Money,
    /// `net + transferred − withheld`.
    pub total: Money,
}

/// Document total of one (code, kind, rate) group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct TaxGroup {
    /// The tax code.
    pub code: String,
    /// Transferred or withheld.
    pub kind: TaxKind,
    /// The rate (`16` and `16.00` percent are the same group).
    pub rate: TaxRate,
    /// Sum of the bases.
    pub base: Money,
    /// Sum of the amounts; `None` for an exempt group.
    pub amount: Option<Money>,
}

/// The result of [`TaxCalculator::calculate`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct TaxBreakdown {
    /// The document currency.
    pub currency: Currency,
    /// One entry per input line, in order.
    pub lines: Vec<LineBreakdown>,
    /// Totals per (code, kind, rate), in order of first appearance.
    pub groups: Vec<TaxGroup>,
    /// Sum of the line gross amounts (before discounts; CFDI `SubTotal`).
    pub subtotal: Money,
    /// Sum of the line discounts (CFDI `Descuento`).
    pub discount: Money,
    /// `subtotal − discount`.
    pub net: Money,
    /// Sum of the transferred taxes (CFDI `TotalImpuestosTrasladados`).
    pub transferred: Money,
    /// Sum of the withheld taxes (CFDI `TotalImpuestosRetenidos`).
    pub withheld: Money,
    /// `net + transferred − withheld` (CFDI `Total`).
    pub total: Money,
}

/// Errors of the tax calculation. `line` is the 0-based index of the input line. Variants may be added in minor
/// releases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaxError {
    /// An amount does not fit in a `Decimal`.
    #[error("arithmetic overflow{}", line.map(|l| format!(" in line {l}")).unwrap_or_default())]
    Overflow {
        /// The line, when the overflow happened in one.
        line: Option<usize>,
    },
    /// An amount of the line is not in the document currency.
    #[error("line {line}: amount in {found}, document in {expected}")]
    CurrencyMismatch {
        /// The line.
        line: usize,
        /// The document currency.
        expected: Currency,
        /// The currency found.
        found: Currency,
    },
    /// The quantity is negative.
    #[error("line {line}: negative quantity")]
    NegativeQuantity {
        /// The line.
        line: usize,
    },
    /// The unit price is negative.
    #[error("line {line}: negative unit price")]
    NegativePrice {
        /// The line.
        line: usize,
    },
    /// The discount is negative, above 100 %, or larger than the line amount.
    #[error("line {line}: discount must be between zero and the line amount")]
    InvalidDiscount {
        /// The line.
        line: usize,
    },
    /// A tax rate (percentage or amount per unit) is negative.
    #[error("line {line}: tax {tax} has a negative rate")]
    NegativeRate {
        /// The line.
        line: usize,
        /// The tax code.
        tax: String,
    },
    /// The same (code, kind) pair appears twice in the line.
    #[error("line {line}: tax {tax} ({kind:?}) appears twice")]
    DuplicateTax {
        /// The line.
        line: usize,
        /// The tax code.
        tax: String,
        /// Its kind.
        kind: TaxKind,
    },
    /// [`Tax::base_includes`] names a code that is not a transferred tax of the line.
    #[error(
        "line {line}: tax {tax} includes {base} in its base, but the line has no transferred tax {base}"
    )]
    UnknownBaseTax {
        /// The line.
        line: usize,
        /// The tax whose base is wrong.
        tax: String,
        /// The code that was not found.
        base: String,
    },
    /// Compound bases form a cycle (including a tax in its own base).
    #[error("line {line}: tax {tax} is part of a circular compound base")]
    CircularCompound {
        /// The line.
        line: usize,
        /// A tax on the cycle.
        tax: String,
    },
    /// On a price-inclusive line, the fixed per-unit taxes exceed the tax-inclusive amount.
    #[error("line {line}: the tax-inclusive amount is smaller than its fixed per-unit taxes")]
    InclusivePriceTooLow {
        /// The line.
        line: usize,
    },
}

impl From<TaxError> for crate::Error {
    /// Overflow becomes [`crate::Error::Money`]; every other case a [`crate::Error::Validation`] whose field path
    /// names the line (`lines[2].quantity`).
    fn from(e: TaxError) -> Self {
        let field = match &e {
            TaxError::Overflow { .. } => return crate::Error::Money(MoneyError::Overflow),
            TaxError::CurrencyMismatch { line, .. } => format!("lines[{line}]"),
            TaxError::NegativeQuantity { line } => format!("lines[{line}].quantity"),
            TaxError::NegativePrice { line } | TaxError::InclusivePriceTooLow { line } => {
                format!("lines[{line}].unit_price")
            }
            TaxError::InvalidDiscount { line } => format!("lines[{line}].discount"),
            TaxError::NegativeRate { line, .. }
            | TaxError::DuplicateTax { line, .. }
            | TaxError::UnknownBaseTax { line, .. }
            | TaxError::CircularCompound { line, .. } => format!("lines[{line}].taxes"),
        };
        crate::Error::Validation {
            source: None,
            errors: vec![crate::FieldError::new(field, e.to_string())],
        }
    }
}
