use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{PartyRef, RemoteRef};
use crate::money::Currency;
use crate::money::Money;
use crate::tax::{Discount, Line, PriceMode, Tax, TaxBreakdown, TaxCalculator};

/// Lifecycle of an invoice at the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InvoiceStatus {
    /// Not yet posted.
    Draft,
    /// Posted and open (may be partly paid).
    #[default]
    Open,
    /// Fully paid or credited.
    Paid,
    /// Voided.
    Voided,
}

/// One invoice (or credit note) line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InvoiceLine {
    /// Our reference of the item, when the line sells a catalog item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Line description.
    pub description: String,
    /// Quantity.
    pub quantity: Decimal,
    /// Unit price (tax-exclusive or inclusive per the document's [`PriceMode`]).
    pub unit_price: Decimal,
    /// Line discount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    /// Taxes applied to the line (transferred and withheld).
    #[serde(default)]
    pub taxes: Vec<Tax>,
    /// Income account code overriding the item's and the mapping's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl InvoiceLine {
    /// A line with no item, discount, taxes or account.
    pub fn new(description: impl Into<String>, quantity: Decimal, unit_price: Decimal) -> Self {
        Self {
            item: None,
            description: description.into(),
            quantity,
            unit_price,
            discount: None,
            taxes: Vec::new(),
            account: None,
        }
    }

    /// The same line with a tax added.
    #[must_use]
    pub fn with_tax(mut self, tax: Tax) -> Self {
        self.taxes.push(tax);
        self
    }

    /// The same line selling a catalog item.
    #[must_use]
    pub fn with_item(mut self, item_external_ref: impl Into<String>) -> Self {
        self.item = Some(item_external_ref.into());
        self
    }

    /// The same line with a discount.
    #[must_use]
    pub fn with_discount(mut self, discount: Discount) -> Self {
        self.discount = Some(discount);
        self
    }
}

/// A sales invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Invoice {
    /// Our stable reference; idempotent creation matches on it.
    pub external_ref: String,
    /// The customer billed.
    pub customer: PartyRef,
    /// Series (CFDI `Serie`, a prefix), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Number within the series (CFDI `Folio`, QuickBooks `DocNumber`, Xero `InvoiceNumber`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    /// Document currency.
    pub currency: Currency,
    /// Exchange rate to the company's home currency (home units per 1 document unit), when foreign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<Decimal>,
    /// Whether unit prices include taxes.
    #[serde(default = "exclusive")]
    pub price_mode: PriceMode,
    /// Lines (at least one).
    pub lines: Vec<InvoiceLine>,
    /// Free-text memo printed on the invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// The provider's reference, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteRef>,
    /// Provider-specific fields, passed through unchanged.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub passthrough: serde_json::Value,
}

impl Invoice {
    /// An invoice with no lines yet.
    pub fn new(
        external_ref: impl Into<String>,
        customer: PartyRef,
        issue_date: NaiveDate,
        currency: Currency,
    ) -> Self {
        Self {
            external_ref: external_ref.into(),
            customer,
            series: None,
            number: None,
            issue_date,
            due_date: None,
            currency,
            exchange_rate: None,
            price_mode: PriceMode::Exclusive,
            lines: Vec::new(),
            memo: None,
            remote: None,
            passthrough: serde_json::Value::Null,
        }
    }

    /// The same invoice with a line added.
    #[must_use]
    pub fn with_line(mut self, line: InvoiceLine) -> Self {
        self.lines.push(line);
        self
    }
}

pub(super) fn exclusive() -> PriceMode {
    PriceMode::Exclusive
}

/// Computes the tax breakdown of document lines (per-line rounding, half-up, as ERPs and CFDI do).
pub(super) fn breakdown(
    lines: &[InvoiceLine],
    currency: Currency,
    mode: PriceMode,
) -> crate::Result<TaxBreakdown> {
    let lines: Vec<Line> = lines
        .iter()
        .map(|l| {
            let mut line = Line::new(l.quantity, Money::new(l.unit_price, currency));
            line.discount = l.discount.clone();
            line.taxes = l.taxes.clone();
            line
        })
        .collect();
    Ok(TaxCalculator::new(currency)
        .price_mode(mode)
        .calculate(&lines)?)
}

impl Invoice {
    /// Per-line amounts, tax groups and document totals (per-line rounding, half-up).
    ///
    /// # Errors
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) for invalid lines (negative quantities, bad
    /// discounts, unknown compound taxes, overflow).
    pub fn breakdown(&self) -> crate::Result<TaxBreakdown> {
        if self.lines.is_empty() {
            return Err(crate::Error::invalid(
                "lines",
                "an invoice needs at least one line",
            ));
        }
        breakdown(&self.lines, self.currency, self.price_mode)
    }
}
