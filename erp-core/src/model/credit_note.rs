use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{DocRef, InvoiceLine, PartyRef, RemoteRef};
use crate::money::Currency;
use crate::tax::{PriceMode, TaxBreakdown};

/// A credit note (QuickBooks CreditMemo, Xero ACCRECCREDIT) referencing the invoice it corrects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreditNote {
    /// Our stable reference.
    pub external_ref: String,
    /// The customer credited.
    pub customer: PartyRef,
    /// The invoice this credit note corrects; its total is allocated against that invoice's balance.
    pub invoice: DocRef,
    /// Number, when we assign it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Currency (must equal the invoice's).
    pub currency: Currency,
    /// Exchange rate to the home currency, when foreign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<Decimal>,
    /// Whether unit prices include taxes.
    #[serde(default = "super::invoice::exclusive")]
    pub price_mode: PriceMode,
    /// Lines credited.
    pub lines: Vec<InvoiceLine>,
    /// Why the credit was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The provider's reference, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteRef>,
    /// Provider-specific fields, passed through unchanged.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub passthrough: serde_json::Value,
}

impl CreditNote {
    /// A credit note with no lines yet.
    pub fn new(
        external_ref: impl Into<String>,
        customer: PartyRef,
        invoice: DocRef,
        issue_date: NaiveDate,
        currency: Currency,
    ) -> Self {
        Self {
            external_ref: external_ref.into(),
            customer,
            invoice,
            number: None,
            issue_date,
            currency,
            exchange_rate: None,
            price_mode: PriceMode::Exclusive,
            lines: Vec::new(),
            reason: None,
            remote: None,
            passthrough: serde_json::Value::Null,
        }
    }

    /// The same credit note with a line added.
    #[must_use]
    pub fn with_line(mut self, line: InvoiceLine) -> Self {
        self.lines.push(line);
        self
    }
}

impl CreditNote {
    /// Per-line amounts, tax groups and totals of the credit (per-line rounding, half-up).
    ///
    /// # Errors
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation) for invalid lines.
    pub fn breakdown(&self) -> crate::Result<TaxBreakdown> {
        if self.lines.is_empty() {
            return Err(crate::Error::invalid(
                "lines",
                "a credit note needs at least one line",
            ));
        }
        super::invoice::breakdown(&self.lines, self.currency, self.price_mode)
    }
}
