//! Xero Accounting API JSON shapes: the typed request bodies the adapter sends (PascalCase names, amounts as
//! exact JSON numbers through [`Amount`]) and the typed records of the lookups it offers
//! ([`XeroAdapter::accounts`](crate::XeroAdapter::accounts), [`tax_rates`](crate::XeroAdapter::tax_rates),
//! [`find_contact_by_number`](crate::XeroAdapter::find_contact_by_number)). Entity reads go through the
//! unified model in [`mapping`](crate::mapping) and keep Xero's JSON in `RemoteRecord::raw`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use erp_hub_core::http::wire::Amount;

/// `{"ContactID": ...}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContactRef {
    #[serde(rename = "ContactID")]
    pub(crate) contact_id: String,
}

/// `{"InvoiceID": ...}`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InvoiceRef {
    #[serde(rename = "InvoiceID")]
    pub(crate) invoice_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AddressBody {
    pub(crate) address_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address_line3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address_line4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) country: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PhoneBody {
    pub(crate) phone_type: &'static str,
    pub(crate) phone_number: String,
}

/// A `Contact` request body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContactBody {
    #[serde(rename = "ContactID", skip_serializing_if = "Option::is_none")]
    pub(crate) contact_id: Option<String>,
    pub(crate) contact_number: String,
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) email_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tax_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tax_number_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) addresses: Vec<AddressBody>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) phones: Vec<PhoneBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) default_currency: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SalesDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unit_price: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) account_code: Option<String>,
}

/// An `Item` request body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ItemBody {
    #[serde(rename = "ItemID", skip_serializing_if = "Option::is_none")]
    pub(crate) item_id: Option<String>,
    pub(crate) code: String,
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    pub(crate) is_sold: bool,
    pub(crate) sales_details: SalesDetails,
}

/// A `LineItem` request body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LineItemBody {
    pub(crate) description: String,
    pub(crate) quantity: Amount,
    pub(crate) unit_amount: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) item_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) account_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tax_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tax_amount: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) discount_rate: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) discount_amount: Option<Amount>,
}

/// An `Invoice` (ACCREC) request body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InvoiceBody {
    #[serde(rename = "Type")]
    pub(crate) kind: &'static str,
    pub(crate) contact: ContactRef,
    pub(crate) date: String,
    pub(crate) due_date: String,
    pub(crate) line_amount_types: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invoice_number: Option<String>,
    pub(crate) reference: String,
    pub(crate) currency_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) currency_rate: Option<Amount>,
    pub(crate) status: &'static str,
    pub(crate) line_items: Vec<LineItemBody>,
}

/// A `CreditNote` (ACCRECCREDIT) request body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreditNoteBody {
    #[serde(rename = "Type")]
    pub(crate) kind: &'static str,
    pub(crate) contact: ContactRef,
    pub(crate) date: String,
    pub(crate) line_amount_types: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) credit_note_number: Option<String>,
    pub(crate) reference: String,
    pub(crate) currency_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) currency_rate: Option<Amount>,
    pub(crate) status: &'static str,
    pub(crate) line_items: Vec<LineItemBody>,
}

/// `{"Code": ...}` of an account.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AccountRef {
    #[serde(rename = "Code")]
    pub(crate) code: String,
}

/// A `Payment` request body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PaymentBody {
    pub(crate) invoice: InvoiceRef,
    pub(crate) account: AccountRef,
    pub(crate) date: String,
    pub(crate) amount: Amount,
    pub(crate) reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) currency_rate: Option<Amount>,
}

/// One payment inside a `BatchPayment` request body: the part applied to one invoice.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BatchLineBody {
    pub(crate) invoice: InvoiceRef,
    pub(crate) amount: Amount,
    pub(crate) reference: String,
}

/// A `BatchPayment` (`RECBATCH`) request body: one deposit applied to several invoices.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BatchPaymentBody {
    pub(crate) account: AccountRef,
    pub(crate) date: String,
    pub(crate) reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) details: Option<String>,
    pub(crate) payments: Vec<BatchLineBody>,
}

/// An `Allocation` request body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AllocationBody {
    pub(crate) invoice: InvoiceRef,
    pub(crate) amount: Amount,
    pub(crate) date: String,
}

/// An account of the chart of accounts (`GET /Accounts`, schema `Account`): what an
/// [`AccountMapping`](erp_hub_core::model::AccountMapping) refers to by `Code`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct Account {
    /// Xero's id of the account.
    #[serde(rename = "AccountID")]
    pub account_id: String,
    /// The code lines and payments name (`200`, `090`); bank accounts may have none.
    pub code: Option<String>,
    /// Name shown in the chart of accounts.
    pub name: String,
    /// `REVENUE`, `BANK`, `CURRLIAB`, `EXPENSE`, ...
    #[serde(rename = "Type")]
    pub account_type: String,
    /// `ACTIVE` or `ARCHIVED`.
    pub status: Option<String>,
    /// The account's default `TaxType`.
    pub tax_type: Option<String>,
    /// Whether payments may be made to it (bank accounts always accept them).
    pub enable_payments_to_account: Option<bool>,
    /// Currency of a bank account.
    pub currency_code: Option<String>,
}

/// One component of a [`TaxRate`] (Xero compounds them in order when `IsCompound` is set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct TaxComponent {
    /// Name of the component (`IEPS`, `IVA`).
    pub name: String,
    /// The rate in percent.
    pub rate: Option<Amount>,
    /// Whether it applies on top of the previous components.
    pub is_compound: Option<bool>,
    /// Whether it cannot be reclaimed.
    pub is_non_recoverable: Option<bool>,
}

/// A tax rate of the organisation (`GET /TaxRates`, schema `TaxRate`): its `TaxType` is what
/// [`AccountMapping::tax_codes`](erp_hub_core::model::AccountMapping::tax_codes) maps a tax key to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct TaxRate {
    /// The code lines carry (`OUTPUT`, `EXEMPTOUTPUT`, `TAX001`).
    pub tax_type: String,
    /// Name as shown in Xero.
    pub name: String,
    /// `ACTIVE`, `DELETED`, `ARCHIVED` or `PENDING`.
    pub status: Option<String>,
    /// The total effective rate in percent (compound components included).
    pub effective_rate: Option<Amount>,
    /// The components.
    pub tax_components: Vec<TaxComponent>,
    /// Whether it may be used on sales.
    pub can_apply_to_revenue: Option<bool>,
}

impl TaxRate {
    /// The effective rate in percent, zero when Xero sent none.
    pub fn rate(&self) -> Decimal {
        self.effective_rate.map(|a| a.0).unwrap_or_default()
    }
}

/// A contact as returned by the lookups ([`XeroAdapter::find_contact_by_number`](crate::XeroAdapter::find_contact_by_number),
/// [`find_contact_by_name`](crate::XeroAdapter::find_contact_by_name)); read the full record into the unified
/// model with `ErpAdapter::get`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct Contact {
    /// Xero's id of the contact (the `RemoteRef::id` of a customer).
    #[serde(rename = "ContactID")]
    pub contact_id: String,
    /// Our external reference, when the contact was written by erp-hub.
    pub contact_number: Option<String>,
    /// Name (unique per organisation, compared case-insensitively).
    pub name: String,
    /// `ACTIVE`, `ARCHIVED` or `GDPRREQUEST`.
    pub contact_status: Option<String>,
    /// E-mail address.
    pub email_address: Option<String>,
    /// Tax number (RFC in México).
    pub tax_number: Option<String>,
    /// Default currency.
    pub default_currency: Option<String>,
}
