use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{DocRef, PartyRef, RemoteRef};
use crate::money::Currency;

/// The part of a payment applied to one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentApplication {
    /// The invoice paid.
    pub invoice: DocRef,
    /// Amount applied to it, in the payment currency (may be less than the open balance: partial payment).
    pub amount: Decimal,
    /// The same amount in the invoice's currency, when that differs from the payment's: what the invoice's
    /// balance goes down by, at the rate the payment was settled at (the ERP's applied amount; Mexico's
    /// Pagos 2.0 `ImpPagado`, from which `EquivalenciaDR` follows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_amount: Option<Decimal>,
}

impl PaymentApplication {
    /// Applies `amount` to `invoice`.
    pub fn new(invoice: DocRef, amount: Decimal) -> Self {
        Self {
            invoice,
            amount,
            invoice_amount: None,
        }
    }

    /// The same application, settling `invoice_amount` in the invoice's currency (see
    /// [`invoice_amount`](Self::invoice_amount)).
    #[must_use]
    pub fn with_invoice_amount(mut self, invoice_amount: Decimal) -> Self {
        self.invoice_amount = Some(invoice_amount);
        self
    }
}

/// A customer payment, applied to one or more invoices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Payment {
    /// Our stable reference.
    pub external_ref: String,
    /// The paying customer.
    pub customer: PartyRef,
    /// Payment date.
    pub date: NaiveDate,
    /// Payment currency.
    pub currency: Currency,
    /// Exchange rate to the home currency, when foreign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<Decimal>,
    /// Total amount received (≥ the sum of the applications).
    pub amount: Decimal,
    /// How the money arrived (provider-neutral, e.g. `transfer`, `card`, SAT c_FormaPago `03`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Account the money was deposited into, overriding the mapping's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_account: Option<String>,
    /// Bank reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Invoices paid and how much of each.
    pub applications: Vec<PaymentApplication>,
    /// The provider's reference, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteRef>,
    /// Provider-specific fields, passed through unchanged.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub passthrough: serde_json::Value,
}

impl Payment {
    /// A payment with no applications yet.
    pub fn new(
        external_ref: impl Into<String>,
        customer: PartyRef,
        date: NaiveDate,
        currency: Currency,
        amount: Decimal,
    ) -> Self {
        Self {
            external_ref: external_ref.into(),
            customer,
            date,
            currency,
            exchange_rate: None,
            amount,
            method: None,
            deposit_account: None,
            reference: None,
            applications: Vec::new(),
            remote: None,
            passthrough: serde_json::Value::Null,
        }
    }

    /// The same payment applied (partly) to an invoice.
    #[must_use]
    pub fn apply_to(mut self, invoice: DocRef, amount: Decimal) -> Self {
        self.applications
            .push(PaymentApplication::new(invoice, amount));
        self
    }

    /// The same payment applied (partly) to an invoice in another currency: `amount` in the payment's
    /// currency settles `invoice_amount` in the invoice's.
    #[must_use]
    pub fn apply_to_foreign(
        mut self,
        invoice: DocRef,
        amount: Decimal,
        invoice_amount: Decimal,
    ) -> Self {
        self.applications
            .push(PaymentApplication::new(invoice, amount).with_invoice_amount(invoice_amount));
        self
    }
}
