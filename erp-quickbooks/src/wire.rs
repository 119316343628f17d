//! QuickBooks Online JSON shapes (field names as in the Intuit `Finance.xsd` entity definitions).
//!
//! Request types are `Serialize` only and carry a flattened `extra` map for passthrough fields; response
//! types are `Deserialize` only and ignore fields we do not map. Amounts are [`Amount`]: exact decimal JSON
//! numbers in both directions, never `f64` (the type is erp-hub-core's, shared by every adapter).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use erp_hub_core::http::wire::Amount;

/// A reference to another entity: `{"value": "58", "name": "Acme"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ref {
    /// The id (or code, for currencies and US tax pseudo codes).
    pub value: String,
    /// The display name, in responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Ref {
    /// A reference by value.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            name: None,
        }
    }
}

/// `MetaData` of an entity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct MetaData {
    /// Creation time (ISO 8601 with offset).
    pub create_time: Option<String>,
    /// Last update time.
    pub last_updated_time: Option<String>,
}

/// `EmailAddress`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct EmailAddress {
    /// The address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// `TelephoneNumber`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct TelephoneNumber {
    /// The number as typed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_form_number: Option<String>,
}

/// `PhysicalAddress`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct PhysicalAddress {
    /// Address line 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    /// Address line 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// Address line 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line3: Option<String>,
    /// Address line 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line4: Option<String>,
    /// Address line 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line5: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State / province code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_sub_division_code: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Customer create / sparse-update body.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CustomerBody {
    /// Entity id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Version for optimistic concurrency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_token: Option<String>,
    /// Sparse update flag.
    #[serde(rename = "sparse", skip_serializing_if = "Option::is_none")]
    pub sparse: Option<bool>,
    /// Display name (unique across customers, vendors and employees).
    pub display_name: String,
    /// Company (legal) name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Main e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_email_addr: Option<EmailAddress>,
    /// Main phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_phone: Option<TelephoneNumber>,
    /// Billing address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_addr: Option<PhysicalAddress>,
    /// Shipping address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_addr: Option<PhysicalAddress>,
    /// Free-form notes (holds the adapter's external-reference marker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_ref: Option<Ref>,
    /// Tax id (masked in responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_tax_identifier: Option<String>,
    /// Passthrough fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A customer as returned by QuickBooks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct CustomerResp {
    /// Entity id.
    pub id: String,
    /// Version for optimistic concurrency.
    pub sync_token: Option<String>,
    /// Display name (unique across customers, vendors and employees).
    pub display_name: Option<String>,
    /// Company (legal) name.
    pub company_name: Option<String>,
    /// Main e-mail address.
    pub primary_email_addr: Option<EmailAddress>,
    /// Main phone number.
    pub primary_phone: Option<TelephoneNumber>,
    /// Billing address.
    pub bill_addr: Option<PhysicalAddress>,
    /// Shipping address.
    pub ship_addr: Option<PhysicalAddress>,
    /// Free-form notes (holds the adapter's external-reference marker).
    pub notes: Option<String>,
    /// Currency.
    pub currency_ref: Option<Ref>,
    /// Tax id (masked in responses).
    pub primary_tax_identifier: Option<String>,
    /// Whether active.
    pub active: Option<bool>,
    /// Open balance.
    pub balance: Option<Amount>,
    /// Creation and update times.
    pub meta_data: Option<MetaData>,
}

/// Item create / sparse-update body.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ItemBody {
    /// Entity id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Version for optimistic concurrency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_token: Option<String>,
    /// Sparse update flag.
    #[serde(rename = "sparse", skip_serializing_if = "Option::is_none")]
    pub sparse: Option<bool>,
    /// Name (unique among the company's Item records).
    pub name: String,
    /// Stock keeping unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// `Service`, `NonInventory`, `Inventory`, ...
    #[serde(rename = "Type")]
    pub kind: String,
    /// Free-text description (printed on sales forms for items).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unit price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Amount>,
    /// Income account.
    pub income_account_ref: Ref,
    /// Passthrough fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An item as returned by QuickBooks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct ItemResp {
    /// Entity id.
    pub id: String,
    /// Version for optimistic concurrency.
    pub sync_token: Option<String>,
    /// Name (unique among the company's Item records).
    pub name: Option<String>,
    /// Stock keeping unit.
    pub sku: Option<String>,
    /// `Service`, `NonInventory`, `Inventory`, ...
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    /// Free-text description (printed on sales forms for items).
    pub description: Option<String>,
    /// Unit price.
    pub unit_price: Option<Amount>,
    /// Income account.
    pub income_account_ref: Option<Ref>,
    /// Whether active.
    pub active: Option<bool>,
    /// Creation and update times.
    pub meta_data: Option<MetaData>,
}

/// `SalesItemLineDetail`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct SalesItemLineDetail {
    /// The item sold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_ref: Option<Ref>,
    /// Quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qty: Option<Amount>,
    /// Unit price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Amount>,
    /// Tax code (`TAX`/`NON` in the US, a TaxCode id elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_code_ref: Option<Ref>,
}

/// `LinkedTxn`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct LinkedTxn {
    /// The linked transaction's id.
    pub txn_id: String,
    /// `Invoice`, `CreditMemo`, `Payment`, ...
    pub txn_type: String,
}

impl LinkedTxn {
    /// A link to `txn_type` `txn_id`.
    pub fn new(txn_id: impl Into<String>, txn_type: impl Into<String>) -> Self {
        Self {
            txn_id: txn_id.into(),
            txn_type: txn_type.into(),
        }
    }
}

/// A transaction line (`Line`), in requests and responses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct TxnLine {
    /// Entity id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The line text printed on the invoice or credit memo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Line amount (tax-exclusive).
    pub amount: Amount,
    /// `SalesItemLineDetail`, `SubTotalLineDetail`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail_type: Option<String>,
    /// Details of a sales line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sales_item_line_detail: Option<SalesItemLineDetail>,
    /// Transactions this line applies to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linked_txn: Vec<LinkedTxn>,
}

/// `TxnTaxDetail`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct TxnTaxDetail {
    /// Transaction-level tax code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txn_tax_code_ref: Option<Ref>,
    /// Total tax.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_tax: Option<Amount>,
}

/// `MemoRef` (customer memo).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MemoRef {
    /// The text.
    pub value: String,
}

/// Invoice or CreditMemo create body.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SalesTxnBody {
    /// The customer.
    pub customer_ref: Ref,
    /// Document number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_number: Option<String>,
    /// Transaction date (`YYYY-MM-DD`).
    pub txn_date: String,
    /// Due date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// Currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_ref: Option<Ref>,
    /// Home-currency units per document unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<Amount>,
    /// `TaxExcluded`, `TaxInclusive` or `NotApplicable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_tax_calculation: Option<String>,
    /// Lines.
    pub line: Vec<TxnLine>,
    /// Tax summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txn_tax_detail: Option<TxnTaxDetail>,
    /// Internal note (holds the adapter's external-reference marker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_note: Option<String>,
    /// Message printed for the customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_memo: Option<MemoRef>,
    /// Passthrough fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An invoice or credit memo as returned by QuickBooks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct SalesTxnResp {
    /// Entity id.
    pub id: String,
    /// Version for optimistic concurrency.
    pub sync_token: Option<String>,
    /// Document number.
    pub doc_number: Option<String>,
    /// Transaction date (`YYYY-MM-DD`).
    pub txn_date: Option<String>,
    /// Due date.
    pub due_date: Option<String>,
    /// The customer.
    pub customer_ref: Option<Ref>,
    /// Currency.
    pub currency_ref: Option<Ref>,
    /// Home-currency units per document unit.
    pub exchange_rate: Option<Amount>,
    /// `TaxExcluded`, `TaxInclusive` or `NotApplicable`.
    pub global_tax_calculation: Option<String>,
    /// Lines.
    pub line: Vec<TxnLine>,
    /// Tax summary.
    pub txn_tax_detail: Option<TxnTaxDetail>,
    /// Total amount.
    pub total_amt: Option<Amount>,
    /// Open balance.
    pub balance: Option<Amount>,
    /// Unapplied credit (credit memos).
    pub remaining_credit: Option<Amount>,
    /// Internal note (holds the adapter's external-reference marker).
    pub private_note: Option<String>,
    /// Message printed for the customer.
    pub customer_memo: Option<MemoRef>,
    /// Creation and update times.
    pub meta_data: Option<MetaData>,
}

/// Payment create body.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PaymentBody {
    /// The customer.
    pub customer_ref: Ref,
    /// Total amount.
    pub total_amt: Amount,
    /// Transaction date (`YYYY-MM-DD`).
    pub txn_date: String,
    /// Currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_ref: Option<Ref>,
    /// Home-currency units per document unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<Amount>,
    /// Payment reference number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_ref_num: Option<String>,
    /// Account the money is deposited into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deposit_to_account_ref: Option<Ref>,
    /// Internal note (holds the adapter's external-reference marker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_note: Option<String>,
    /// Lines.
    pub line: Vec<TxnLine>,
    /// Passthrough fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A payment as returned by QuickBooks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct PaymentResp {
    /// Entity id.
    pub id: String,
    /// Version for optimistic concurrency.
    pub sync_token: Option<String>,
    /// Transaction date (`YYYY-MM-DD`).
    pub txn_date: Option<String>,
    /// The customer.
    pub customer_ref: Option<Ref>,
    /// Currency.
    pub currency_ref: Option<Ref>,
    /// Home-currency units per document unit.
    pub exchange_rate: Option<Amount>,
    /// Total amount.
    pub total_amt: Option<Amount>,
    /// Amount not applied to any invoice.
    pub unapplied_amt: Option<Amount>,
    /// Payment reference number.
    pub payment_ref_num: Option<String>,
    /// Internal note (holds the adapter's external-reference marker).
    pub private_note: Option<String>,
    /// Lines.
    pub line: Vec<TxnLine>,
    /// Creation and update times.
    pub meta_data: Option<MetaData>,
}

/// `{"Id": ..., "SyncToken": ...}`: the body of `?operation=void` / `delete`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct IdToken {
    /// Entity id.
    pub id: String,
    /// Version for optimistic concurrency.
    pub sync_token: String,
}

/// The identity fields of any entity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct Identity {
    /// QuickBooks id (what the mapping refers to).
    pub id: String,
    /// SyncToken.
    pub sync_token: Option<String>,
    /// `Deleted` in CDC responses.
    #[serde(rename = "status")]
    pub status: Option<String>,
    /// Document number, for transactions.
    pub doc_number: Option<String>,
    /// Private note (where the adapter keeps its external reference on transactions).
    pub private_note: Option<String>,
    /// Customer notes (where the adapter keeps its external reference on customers).
    pub notes: Option<String>,
    /// MetaData.
    pub meta_data: Option<MetaData>,
}

/// `CompanyInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct CompanyInfoResp {
    /// Entity id.
    pub id: Option<String>,
    /// Company (legal) name.
    pub company_name: Option<String>,
    /// Legal name.
    pub legal_name: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Company address.
    pub company_addr: Option<PhysicalAddress>,
}

/// A serialized request body, checked and ready to send.
pub(crate) fn to_body<T: Serialize>(value: &T) -> erp_hub_core::Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| erp_hub_core::Error::invalid("body", e.to_string()))
}

/// Passthrough JSON as a map (non-objects are ignored).
pub(crate) fn extra(passthrough: &Value) -> Map<String, Value> {
    match passthrough {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    }
}

/// An account of the chart of accounts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct AccountInfo {
    /// Id (use in the mapping).
    pub id: String,
    /// Name (unique among the company's Account records).
    pub name: String,
    /// `Income`, `Bank`, `Accounts Receivable`, ...
    pub account_type: Option<String>,
    /// Account number, when the company uses them.
    pub acct_num: Option<String>,
    /// Whether active.
    pub active: Option<bool>,
}

/// A sales tax code.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct TaxCodeInfo {
    /// Id (use in [`AccountMapping::tax_codes`](erp_hub_core::model::AccountMapping::tax_codes)).
    pub id: String,
    /// Name (e.g. `IVA 16%`).
    pub name: String,
    /// What the tax code is for, as entered in QuickBooks.
    pub description: Option<String>,
    /// Whether taxable.
    pub taxable: Option<bool>,
    /// Whether active.
    pub active: Option<bool>,
}
