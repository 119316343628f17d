use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RemoteRef;

/// Product or service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ItemKind {
    /// Goods.
    Product,
    /// A service.
    Service,
}

/// An item (product or service) in the provider's catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Item {
    /// Our stable reference; upserts match on it.
    pub external_ref: String,
    /// Item code / SKU (Xero `Code`, unique per organisation).
    pub code: String,
    /// Name (QuickBooks requires it unique).
    pub name: String,
    /// Product or service.
    pub kind: ItemKind,
    /// Sales description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Default unit price (tax-exclusive), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Decimal>,
    /// Income account code, overriding the mapping's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub income_account: Option<String>,
    /// Unit of measure (e.g. SAT `H87`, `E48`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The provider's reference, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteRef>,
    /// Provider-specific fields, passed through unchanged.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub passthrough: serde_json::Value,
}

impl Item {
    /// An item with only the required fields.
    pub fn new(
        external_ref: impl Into<String>,
        code: impl Into<String>,
        name: impl Into<String>,
        kind: ItemKind,
    ) -> Self {
        Self {
            external_ref: external_ref.into(),
            code: code.into(),
            name: name.into(),
            kind,
            description: None,
            unit_price: None,
            income_account: None,
            unit: None,
            remote: None,
            passthrough: serde_json::Value::Null,
        }
    }
}
