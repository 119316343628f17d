//! Typed request and response bodies, with Alegra's field names (`camelCase`). Amounts are
//! [`Amount`] (exact JSON numbers out, numbers or numeric strings in, never `f64`); ids are [`Id`] (Alegra sends
//! them as numbers or as strings, e.g. `"id": "12"` in `GET /invoices/1`).
//!
//! Field names follow developer.alegra.com and responses observed by public clients (alegra-cli). The Mexican
//! CFDI fields (`regime`, `cfdiUse`, `paymentForm`, `paymentMethod`, `productKey`, `unit`, `stamp`) are marked
//! in the Alegra MX documentation but were not checked against a live MX company.

use std::fmt;

pub use erp_hub_core::http::wire::Amount;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Alegra id: written as a JSON number when it is one, read from a number or a string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Id(pub String);

impl Id {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an integer, when it is one (Alegra's ids are increasing integers).
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.parse::<u64>() {
            Ok(n) => s.serialize_u64(n),
            Err(_) => s.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            I(i64),
            S(String),
        }
        Ok(Self(match Raw::deserialize(d)? {
            Raw::N(n) => n.to_string(),
            Raw::I(n) => n.to_string(),
            Raw::S(s) => s,
        }))
    }
}

/// `{"id": …}` (a reference to another record), with the name Alegra adds in responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdRef {
    /// The referenced record's id.
    pub id: Id,
    /// Its name (responses only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl IdRef {
    /// A reference to `id`.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: Id(id.into()),
            name: None,
        }
    }
}

/// `GET /company`: the connected company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Company {
    /// Company id, when sent.
    #[serde(default)]
    pub id: Option<Id>,
    /// Company name.
    pub name: String,
    /// Tax id (RFC in Mexico).
    #[serde(default)]
    pub identification: Option<String>,
    /// Fiscal regime (SAT code or Alegra's key, e.g. `GENERAL_LAW_MORAL_PERSON`).
    #[serde(default)]
    pub regime: Option<String>,
    /// Alegra's country edition (`mexico`, `colombia`, ...).
    #[serde(default)]
    pub application_version: Option<String>,
    /// Home currency.
    #[serde(default)]
    pub currency: Option<CurrencyRef>,
    /// Fiscal address.
    #[serde(default)]
    pub address: Option<ContactAddress>,
}

impl Company {
    /// The ISO 3166-1 alpha-2 country of the company's Alegra edition, when known.
    pub fn country(&self) -> Option<&'static str> {
        let edition = self.application_version.as_deref()?.to_ascii_lowercase();
        Some(match edition.as_str() {
            "mexico" | "méxico" => "MX",
            "colombia" => "CO",
            "peru" | "perú" => "PE",
            "costarica" | "costa rica" | "costa_rica" => "CR",
            "argentina" => "AR",
            "republicadominicana" | "dominicana" => "DO",
            "panama" | "panamá" => "PA",
            "chile" => "CL",
            "spain" | "españa" | "espana" => "ES",
            "usa" => "US",
            _ => return None,
        })
    }
}

/// `{"code": "MXN", "exchangeRate": 1}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CurrencyRef {
    /// ISO 4217 code.
    pub code: String,
    /// Exchange rate to the home currency (foreign-currency documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<Amount>,
}

/// A contact's address (MX: `zipCode` is the CFDI 4.0 `DomicilioFiscalReceptor`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContactAddress {
    /// Street and number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    /// Country (Alegra writes the name, e.g. `Mexico`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A contact's identification: the RFC string in Mexico, `{type, number}` in Colombia and elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Identification {
    /// Mexico: the RFC.
    Plain(String),
    /// Other editions: a typed document number.
    Typed {
        /// Document type (`NIT`, `CC`, ...).
        #[serde(rename = "type", default)]
        kind: Option<String>,
        /// The number.
        #[serde(default)]
        number: Option<String>,
    },
}

impl Identification {
    /// The number, whatever the shape.
    pub fn number(&self) -> Option<&str> {
        match self {
            Self::Plain(s) => Some(s),
            Self::Typed { number, .. } => number.as_deref(),
        }
    }
}

/// `/contacts` (clients and providers).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Contact {
    /// Id (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Name (legal name for CFDI).
    pub name: String,
    /// RFC (MX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identification: Option<Identification>,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_primary: Option<String>,
    /// `["client"]`, `["provider"]` or both.
    #[serde(rename = "type", default, skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<String>,
    /// Fiscal regime (MX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regime: Option<String>,
    /// Default CFDI use (MX, e.g. `G03`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfdi_use: Option<String>,
    /// Address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<ContactAddress>,
    /// Internal notes; erp-hub keeps its external-reference marker here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observations: Option<String>,
    /// `active` / `inactive` (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Last change (responses, `updated_at`); used as the record version.
    #[serde(
        rename = "updated_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<String>,
}

/// `{"id": 3}` in an item's or line's `tax` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaxRef {
    /// The Alegra tax id.
    pub id: Id,
}

/// One price of an item (`price[]`): a price list and the price on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ItemPrice {
    /// Price list id (1 is the general list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_price_list: Option<Id>,
    /// Price before taxes.
    pub price: Amount,
}

/// `/items` (products and services).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AlegraItem {
    /// Id (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Alegra's reference code; erp-hub keeps the item's external reference here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `product` or `service`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Prices per price list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub price: Vec<ItemPrice>,
    /// Taxes by Alegra id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tax: Vec<TaxRef>,
    /// SAT product key (MX, `ClaveProdServ`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_key: Option<String>,
    /// SAT unit key (MX, `ClaveUnidad`, e.g. `E48`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `active` / `inactive` (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// One line of an invoice or credit note: an item, its price and quantity, taxes by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DocItem {
    /// The item's Alegra id (required by Alegra).
    pub id: Id,
    /// Item name (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unit price before taxes.
    pub price: Amount,
    /// Quantity.
    pub quantity: Amount,
    /// Discount in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Amount>,
    /// Taxes by Alegra id.
    #[serde(default)]
    pub tax: Vec<TaxRef>,
}

/// The CFDI stamp of a document (`stamp` in responses; `{"generateStamp": false}` in create requests).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Stamp {
    /// Create requests: whether Alegra stamps on creation (erp-hub sends `false` and stamps explicitly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_stamp: Option<bool>,
    /// The SAT folio fiscal (UUID), once stamped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// When it was stamped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Alegra's legal status of the stamp (e.g. `STAMPED_AND_ACCEPTED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_status: Option<String>,
}

/// A document's numbering (`numberTemplate`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NumberTemplate {
    /// Numbering id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Series prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Number within the series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<Id>,
    /// Prefix and number (`FE341`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_number: Option<String>,
}

/// `/invoices` (sales invoices).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AlegraInvoice {
    /// Id (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Issue date, `yyyy-MM-dd`.
    pub date: String,
    /// Due date, `yyyy-MM-dd`.
    pub due_date: String,
    /// The client.
    pub client: Option<IdRef>,
    /// Lines.
    pub items: Vec<DocItem>,
    /// SAT `FormaPago` (`99` = to be defined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_form: Option<String>,
    /// SAT `MetodoPago`: `PUE` or `PPD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// CFDI use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfdi_use: Option<String>,
    /// Currency and exchange rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<CurrencyRef>,
    /// Internal notes (max 500); erp-hub keeps its external-reference marker here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observations: Option<String>,
    /// Notes printed on the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anotation: Option<String>,
    /// `draft`, `open`, `closed`, `void`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Numbering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_template: Option<NumberTemplate>,
    /// Stamp request (create) or stamp (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<Stamp>,
    /// Total (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Amount>,
    /// Paid so far (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_paid: Option<Amount>,
    /// Open balance (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<Amount>,
}

/// `{"id": 1, "amount": 580}`: a payment's or credit note's share of one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DocAmount {
    /// The invoice id.
    pub id: Id,
    /// The amount applied to it.
    pub amount: Amount,
}

/// `/payments` (`type: in` for money received).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AlegraPayment {
    /// Id (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Date, `yyyy-MM-dd`.
    pub date: String,
    /// `in` (received) or `out`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<IdRef>,
    /// The bank account the money went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account: Option<IdRef>,
    /// `transfer`, `cash`, `check`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// The invoices paid and how much of each.
    #[serde(default)]
    pub invoices: Vec<DocAmount>,
    /// Total (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// Currency and exchange rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<CurrencyRef>,
    /// Internal notes; erp-hub keeps its external-reference marker here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observations: Option<String>,
    /// `open` / `void` (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The payment complement's stamp (MX, responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<Stamp>,
}

/// `/credit-notes`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AlegraCreditNote {
    /// Id (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Date, `yyyy-MM-dd`.
    pub date: String,
    /// The client.
    pub client: Option<IdRef>,
    /// Lines.
    pub items: Vec<DocItem>,
    /// The invoices credited and by how much.
    #[serde(default)]
    pub invoices: Vec<DocAmount>,
    /// SAT reason code (`01` = nota de crédito de los documentos relacionados).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Currency and exchange rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<CurrencyRef>,
    /// Internal notes; erp-hub keeps its external-reference marker here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observations: Option<String>,
    /// `open`, `closed`, `void` (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Numbering (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_template: Option<NumberTemplate>,
    /// Stamp request (create) or stamp (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<Stamp>,
    /// Total (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Amount>,
}

/// `/taxes`: a tax as configured in the company, for building the `AccountMapping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AlegraTax {
    /// Id (what invoices reference).
    pub id: Id,
    /// Name (`IVA 16%`).
    pub name: String,
    /// Rate in percent.
    #[serde(default)]
    pub percentage: Option<Amount>,
    /// `IVA`, `IEPS`, `ISR`, ...
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// `active` / `inactive`.
    #[serde(default)]
    pub status: Option<String>,
}

/// A list response with `metadata=true`: `{"metadata": {"total": N}, "data": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// Totals.
    #[serde(default)]
    pub metadata: Option<PageMetadata>,
    /// The records of this page.
    pub data: Vec<T>,
}

/// `metadata` of a list response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PageMetadata {
    /// Records matching the query, all pages together.
    pub total: u64,
}

/// `POST /{documents}/stamp` body: the ids to stamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StampRequest {
    /// Document ids.
    pub ids: Vec<Id>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_from_numbers_and_strings() {
        let r: IdRef = serde_json::from_str(r#"{"id":"12","name":"X"}"#).unwrap();
        assert_eq!(r.id.as_str(), "12");
        let r: IdRef = serde_json::from_str(r#"{"id":12}"#).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"id":12}"#);
    }
}
